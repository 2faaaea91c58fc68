// A shelter's charts (#/shelters/:code/charts): temperature, humidity and fire risk over a
// day, a week or a month (GET /api/v1/shelters/{code}/telemetry), and how complete the data
// is (GET .../telemetry/completeness). Apache ECharts is loaded here, and only here, from
// /static/vendor; every chart also says in words what it shows (min, mean, max per sensor).

import { api, currentUser, query } from '../api.js';
import { clock, dayKey, dayMonth, number, percent, timeZone } from '../format.js';
import { extend, t } from '../i18n.js';
import { riskLevel } from '../monitoring.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'charts.title': '监测曲线',
    'charts.range': '时间范围',
    'charts.day': '一天',
    'charts.week': '一周',
    'charts.month': '一个月',
    'charts.temperature': '温度（°C）',
    'charts.humidity': '相对湿度（%）',
    'charts.fire_risk': '火险指数（每段最高值，按等级着色）',
    'charts.completeness': '数据完整率',
    'charts.nodata': '该时段没有数据',
    'charts.summary': '传感器 {id}：最低 {min}，平均 {mean}，最高 {max}',
    'charts.risk.summary': '该时段最高火险 {level}',
    'charts.sensor.ratio': '传感器 {id}：收到 {received} / 应收 {expected}（{ratio}）',
    'charts.sensor.noexpect': '传感器 {id}：该时段无应收数据',
    'charts.loading': '正在加载图表…',
    'charts.failed': '图表组件无法加载；下面的文字仍然有效。',
    'charts.legend': '图例',
  },
  en: {
    'charts.title': 'Charts',
    'charts.range': 'Period',
    'charts.day': 'Day',
    'charts.week': 'Week',
    'charts.month': 'Month',
    'charts.temperature': 'Temperature (°C)',
    'charts.humidity': 'Relative humidity (%)',
    'charts.fire_risk': 'Fire-risk index (highest per bucket, coloured by level)',
    'charts.completeness': 'Data completeness',
    'charts.nodata': 'No data in this period',
    'charts.summary': 'Sensor {id}: min {min}, mean {mean}, max {max}',
    'charts.risk.summary': 'Highest fire risk in the period: {level}',
    'charts.sensor.ratio': 'Sensor {id}: {received} of {expected} received ({ratio})',
    'charts.sensor.noexpect': 'Sensor {id}: nothing expected in this period',
    'charts.loading': 'Loading the charts…',
    'charts.failed': 'The chart library could not be loaded; the text below still holds.',
    'charts.legend': 'Legend',
  },
});

const ECHARTS = '/static/vendor/echarts/echarts.simple.min.js';
const RANGES = {
  day: { ms: 86400000, every: '15m' },
  week: { ms: 7 * 86400000, every: '1h' },
  month: { ms: 30 * 86400000, every: '6h' },
};
// AA against white, one per sensor
const PALETTE = ['#0b4f8a', '#a14000', '#1b6e36', '#6a1b9a', '#5c4400', '#b3261e'];
const RISK_COLOURS = { 1: '#1b6e36', 2: '#0b4f8a', 3: '#b08800', 4: '#d35400', 5: '#b3261e' };

let loading = null;

/** The ECharts global, loading its file once (a classic script: the package's UMD build). */
function echartsLib() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = ECHARTS;
      script.onload = () => resolve(window.echarts);
      script.onerror = () => {
        loading = null;
        script.remove();
        reject(new Error('echarts'));
      };
      document.head.append(script);
    });
  }
  return loading;
}

function bySensor(points) {
  const out = new Map();
  for (const p of points) {
    if (p.value == null) continue;
    if (!out.has(p.sensor_id)) out.set(p.sensor_id, []);
    out.get(p.sensor_id).push([new Date(p.ts).getTime(), p.value]);
  }
  return out;
}

function stats(values) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / values.length };
}

function axisLabel(range) {
  return (value) => (range === 'day' ? clock(value) : dayMonth(value));
}

function baseOption(range, description) {
  return {
    animation: false,
    aria: { enabled: true, label: { description } },
    grid: { left: 44, right: 12, top: 16, bottom: 28 },
    xAxis: { type: 'time', axisLabel: { formatter: axisLabel(range), hideOverlap: true, color: '#1a1a1a' } },
    yAxis: { type: 'value', scale: true, axisLabel: { color: '#1a1a1a' } },
  };
}

function lineChart(range, series, description) {
  const option = baseOption(range, description);
  option.series = [...series.entries()].map(([id, data], i) => ({
    name: id,
    type: 'line',
    data,
    showSymbol: data.length < 40,
    connectNulls: false,
    lineStyle: { width: 2, color: PALETTE[i % PALETTE.length] },
    itemStyle: { color: PALETTE[i % PALETTE.length] },
  }));
  return option;
}

function riskChart(range, points, description) {
  const worst = new Map();
  for (const p of points) {
    if (p.value == null) continue;
    const at = new Date(p.ts).getTime();
    worst.set(at, Math.max(worst.get(at) ?? -Infinity, p.value));
  }
  const option = baseOption(range, description);
  option.yAxis = { type: 'value', min: 0, max: 100, interval: 20, axisLabel: { color: '#1a1a1a' } };
  option.series = [
    {
      type: 'bar',
      barMaxWidth: 12,
      data: [...worst.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([at, v]) => ({ value: [at, v], itemStyle: { color: RISK_COLOURS[riskLevel(v)] } })),
    },
  ];
  return { option, worst: worst.size ? Math.max(...worst.values()) : null };
}

function completenessChart(range, data) {
  const buckets = new Map();
  for (const sensor of data.sensors) {
    for (const row of sensor.hours) {
      if (!row.expected) continue;
      const key = range === 'day' ? row.hour : dayKey(row.hour);
      const b = buckets.get(key) || { at: new Date(row.hour).getTime(), expected: 0, received: 0 };
      b.expected += row.expected;
      b.received += Math.min(row.received, row.expected);
      buckets.set(key, b);
    }
  }
  const option = baseOption(range, t('charts.completeness'));
  option.yAxis = { type: 'value', min: 0, max: 100, axisLabel: { color: '#1a1a1a', formatter: '{value}%' } };
  option.series = [
    {
      type: 'bar',
      barMaxWidth: 12,
      itemStyle: { color: '#0b4f8a' },
      data: [...buckets.values()].map((b) => [b.at, Math.round((1000 * b.received) / b.expected) / 10]),
    },
  ];
  return { option, empty: buckets.size === 0 };
}

function legend(ids) {
  return h(
    'ul.legend',
    { 'aria-label': t('charts.legend') },
    ids.map((id, i) => h('li', h('span.swatch', { dataset: { i: String(i % PALETTE.length) } }), id)),
  );
}

function riskLegend() {
  return h(
    'ul.legend',
    { 'aria-label': t('charts.legend') },
    [1, 2, 3, 4, 5].map((n) => h('li', h(`span.swatch.risk-${n}`), `${t('risk.level', { n })} ${t(`risk.${n}`)}`)),
  );
}

export async function render(root, params) {
  const code = params.code;
  const range = RANGES[params.query.get('range')] ? params.query.get('range') : 'day';
  const shelter = await api.get(`/api/v1/shelters/${encodeURIComponent(code)}`);
  const end = new Date();
  const start = new Date(end.getTime() - RANGES[range].ms);
  const span = { start: start.toISOString(), end: end.toISOString() };
  const base = `/api/v1/shelters/${encodeURIComponent(code)}/telemetry`;
  const read = (metric, agg) =>
    api.get(`${base}${query({ metric, agg, every: RANGES[range].every, tz: timeZone(), ...span })}`);
  const [temperature, humidity, risk, completeness] = await Promise.all([
    read('temperature', 'mean'),
    read('humidity', 'mean'),
    read('fire_risk', 'max'),
    api.get(`${base}/completeness${query(span)}`),
  ]);

  const status = h('p.muted', { role: 'status' }, t('charts.loading'));
  const charts = [];
  const block = (id, titleKey, option, text, extra) => {
    const box = h(`div.chart#chart-${id}`, { role: 'img', 'aria-label': t(titleKey) });
    if (option) charts.push([box, option]);
    return h(
      'section.card.chart-card',
      h('h2', t(titleKey)),
      option ? box : null,
      extra,
      text.map((line) => h('p.small', line)),
    );
  };

  const lineBlock = (id, titleKey, data, digits) => {
    const series = bySensor(data.points);
    if (!series.size) return block(id, titleKey, null, [t('charts.nodata')]);
    const text = [...series.entries()].map(([sensor, values]) => {
      const s = stats(values.map((v) => v[1]));
      return t('charts.summary', { id: sensor, min: number(s.min, digits), mean: number(s.mean, digits), max: number(s.max, digits) });
    });
    return block(id, titleKey, lineChart(range, series, `${t(titleKey)}. ${text.join('; ')}`), text, legend([...series.keys()]));
  };

  const riskData = riskChart(range, risk.points, t('charts.fire_risk'));
  const riskText = riskData.worst == null
    ? [t('charts.nodata')]
    : [t('charts.risk.summary', { level: `${t('risk.level', { n: riskLevel(riskData.worst) })} ${t(`risk.${riskLevel(riskData.worst)}`)}（${number(riskData.worst, 0)}）` })];
  const done = completenessChart(range, completeness);
  const ratios = completeness.sensors.map((s) =>
    s.expected
      ? t('charts.sensor.ratio', { id: s.sensor_id, received: number(Math.min(s.received, s.expected)), expected: number(s.expected), ratio: percent(s.ratio) })
      : t('charts.sensor.noexpect', { id: s.sensor_id }),
  );

  const tabs = h(
    'div.segmented',
    { role: 'group', 'aria-label': t('charts.range') },
    Object.keys(RANGES).map((key) =>
      h(
        'a.button',
        {
          href: `#/shelters/${encodeURIComponent(code)}/charts?range=${key}`,
          'aria-current': key === range ? 'true' : false,
          class: key === range ? 'button primary' : 'button',
        },
        t(`charts.${key}`),
      ),
    ),
  );

  mount(
    root,
    h('p', h('a', { href: currentUser().role === 'manager' ? `#/my/${encodeURIComponent(code)}` : `#/shelters/${encodeURIComponent(code)}` }, `← ${shelter.name}`)),
    h('h1', `${t('charts.title')}：${shelter.name}`),
    h('p.muted', shelter.code),
    tabs,
    status,
    lineBlock('temperature', 'charts.temperature', temperature, 1),
    lineBlock('humidity', 'charts.humidity', humidity, 0),
    block('fire_risk', 'charts.fire_risk', riskData.worst == null ? null : riskData.option, riskText, riskData.worst == null ? null : riskLegend()),
    block('completeness', 'charts.completeness', done.empty ? null : done.option, ratios.length ? ratios : [t('charts.nodata')]),
  );

  let lib;
  try {
    lib = await echartsLib();
  } catch {
    mount(status, notice('error', t('charts.failed')));
    return;
  }
  if (!root.isConnected) return;
  for (const [box, option] of charts) {
    const chart = lib.init(box, null, { renderer: 'canvas' });
    chart.setOption(option);
    box.dataset.ready = 'true';
  }
  const resize = () => {
    if (!root.isConnected) {
      window.removeEventListener('resize', resize);
      return;
    }
    for (const [box] of charts) lib.getInstanceByDom(box)?.resize();
  };
  window.addEventListener('resize', resize);
  status.remove();
}
