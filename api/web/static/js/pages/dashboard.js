// The office dashboard (总览) of district and city officers: the compliance rate (达标率) by
// district and its monthly history, shelters by class, overdue follow-ups, referrals and their
// outcomes, the open alerts (kept live, polled with ETag) with the shelters with water now (水浸),
// and the shelters on a grid by district coloured by class and alert, or on the city's own map
// when one is configured.

import { api, download } from '../api.js';
import { draw } from '../chart-lib.js';
import { classLabel, dateTime, deadline, number, percent } from '../format.js';
import { extend, t } from '../i18n.js';
import { poll } from '../live.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'dash.title': '总览',
    'dash.report': '月报',
    'dash.report.text': '某月的达标率及走势、工程分类、整改督办、执法移送和监测告警，供领导阅读',
    'dash.report.month': '月份',
    'dash.rate': '维护管理达标率',
    'dash.rate.city': '全市',
    'dash.districts': '各区达标率',
    'dash.district': '区',
    'dash.active': '工程数',
    'dash.class1': '一类',
    'dash.history': '月度达标率',
    'dash.history.none': '尚无月度记录',
    'dash.classes': '工程分类',
    'dash.overdue': '逾期整改',
    'dash.overdue.none': '没有逾期整改',
    'dash.referrals': '移交执法',
    'dash.referrals.open': '未结 {n} 件，共 {total} 件',
    'dash.fines': '罚款合计 {n} 元',
    'dash.alerts': '当前告警',
    'dash.alerts.none': '没有未处理的告警',
    'dash.alerts.count': '{n} 条未处理',
    'dash.water': '水浸工程 {n} 处',
    'dash.fixes': '待核验整改 {n} 项',
    'dash.grid': '工程分布',
    'dash.legend': '颜色表示类别，边框表示告警',
    'dash.grid.alerts': '告警 {n}',
    'dash.grid.late': '逾期 {n}',
    'dash.map': '工程地图',
    'dash.sev.critical': '严重',
    'dash.sev.warning': '警告',
    'dash.sev.info': '提示',
    'dash.acked': '已确认（{who}）',
    'dash.outcome.none': '待结果',
    'dash.outcome.referred': '已移交',
    'dash.outcome.warning': '警告',
    'dash.outcome.fined': '罚款',
    'dash.outcome.dismissed': '不予处罚',
    'dash.outcome.other': '其他',
  },
  en: {
    'dash.title': 'Overview',
    'dash.report': 'Monthly report',
    'dash.report.text': 'A month of compliance and its trend, classes, follow-up, referrals, sensors and alerts, for leadership',
    'dash.report.month': 'Month',
    'dash.rate': 'Maintenance compliance',
    'dash.rate.city': 'City',
    'dash.districts': 'Compliance by district',
    'dash.district': 'District',
    'dash.active': 'Shelters',
    'dash.class1': 'Class 1',
    'dash.history': 'Monthly compliance',
    'dash.history.none': 'No monthly record yet',
    'dash.classes': 'Shelters by class',
    'dash.overdue': 'Overdue follow-ups',
    'dash.overdue.none': 'Nothing overdue',
    'dash.referrals': 'Referrals to law enforcement',
    'dash.referrals.open': '{n} open of {total}',
    'dash.fines': 'fines recorded: {n} yuan',
    'dash.alerts': 'Open alerts',
    'dash.alerts.none': 'No open alert',
    'dash.alerts.count': '{n} open',
    'dash.water': 'Shelters with water: {n}',
    'dash.fixes': '{n} fix(es) to verify',
    'dash.grid': 'Shelters',
    'dash.legend': 'Colour: class; outline: alert',
    'dash.grid.alerts': '{n} alerting',
    'dash.grid.late': '{n} overdue',
    'dash.map': 'Map of shelters',
    'dash.sev.critical': 'critical',
    'dash.sev.warning': 'warning',
    'dash.sev.info': 'info',
    'dash.acked': 'acknowledged ({who})',
    'dash.outcome.none': 'awaiting',
    'dash.outcome.referred': 'referred',
    'dash.outcome.warning': 'warning',
    'dash.outcome.fined': 'fined',
    'dash.outcome.dismissed': 'dismissed',
    'dash.outcome.other': 'other',
  },
});

function rates(d) {
  const rows = d.compliance.districts;
  return h(
    'section',
    h('h2', t('dash.districts')),
    h(
      'div.table-wrap',
      h(
        'table.rates',
        h('thead', h('tr', h('th', t('dash.district')), h('th', t('dash.rate')), h('th', t('dash.active')))),
        h(
          'tbody',
          rows.map((r) =>
            h(
              'tr',
              h('td', r.district),
              h('td', h('meter', { min: 0, max: 1, value: r.rate ?? 0, 'aria-hidden': 'true' }), ` ${percent(r.rate)}`),
              h('td', number(r.active_shelters)),
            ),
          ),
        ),
      ),
    ),
  );
}

async function history(d, el) {
  const city = d.district === null;
  const rows = d.compliance.history.filter((r) => (city ? r.district === '' : r.district === d.district));
  if (!rows.length) {
    el.className = '';
    el.removeAttribute('role');
    el.removeAttribute('aria-label');
    mount(el, h('p.muted', t('dash.history.none')));
    return;
  }
  try {
    await draw(el, {
      animation: false,
      grid: { left: 40, right: 12, top: 12, bottom: 24 },
      xAxis: { type: 'category', data: rows.map((r) => r.month) },
      yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      series: [{ type: 'line', data: rows.map((r) => r.rate), areaStyle: { opacity: 0.15 } }],
    });
  } catch {
    mount(el, h('ul', rows.map((r) => h('li', `${r.month}: ${percent(r.rate)}`))));
  }
}

function classes(d) {
  const by = d.compliance.city.by_class;
  return h(
    'section',
    h('h2', t('dash.classes')),
    h(
      'ul.class-counts',
      ['1', '2', '3', '4', 'ungraded'].map((k) =>
        h('li', h(`span.pill.class-${k === 'ungraded' ? 0 : k}`, classLabel(k === 'ungraded' ? null : Number(k))), ` ${number(by[k])}`),
      ),
    ),
  );
}

function overdue(d) {
  return h(
    'section',
    h('h2', `${t('dash.overdue')} (${number(d.overdue.total)})`),
    d.overdue.items.length
      ? h(
          'ul.list',
          d.overdue.items.map((f) =>
            h(
              'li',
              h(
                'a',
                { href: `#/shelters/${encodeURIComponent(f.shelter_code)}` },
                h('div.row-head', h('span.row-title', `${f.number} · ${f.shelter_code}`), h(`span.pill.class-${f.class_level}`, classLabel(f.class_level))),
                h('div.small.overdue', deadline(f.due_at).text),
              ),
            ),
          ),
        )
      : h('p.muted', t('dash.overdue.none')),
    h('p', h('a', { href: '#/followups?overdue=true' }, t('nav.followups'))),
  );
}

function referrals(d) {
  const r = d.referrals;
  return h(
    'section',
    h('h2', t('dash.referrals')),
    h('p', t('dash.referrals.open', { n: number(r.open), total: number(r.total) }), ' · ', t('dash.fines', { n: number(r.fines_yuan) })),
    h(
      'ul.class-counts',
      Object.entries(r.by_outcome).map(([k, n]) => h('li', `${t(`dash.outcome.${k}`)} ${number(n)}`)),
    ),
  );
}

function alertList(box, count) {
  return (page) => {
    count.textContent = t('dash.alerts.count', { n: number(page.total) });
    mount(
      box,
      page.items.length
        ? h(
            'ul.list#live-alerts',
            page.items.map((a) =>
              h(
                `li.alert.alert-${a.severity}`,
                { dataset: { alert: String(a.id) } },
                h(
                  'a',
                  { href: `#/shelters/${encodeURIComponent(a.shelter_code)}/monitor` },
                  h('div.row-head', h('span.row-title', `${a.shelter_code} · ${a.message || a.rule}`), h(`span.pill.sev-${a.severity}`, t(`dash.sev.${a.severity}`))),
                  h(
                    'div.small.muted',
                    [a.district, dateTime(a.raised_at), a.status === 'acknowledged' ? t('dash.acked', { who: a.acknowledged_by || '' }) : null]
                      .filter(Boolean)
                      .join(' · '),
                  ),
                ),
              ),
            ),
          )
        : h('p.muted', t('dash.alerts.none')),
    );
  };
}

/** Up to this many shelters, every district's cells show at once; past it, each district is
 * a line with its counts that opens to its cells (5,000 cells of 24 px, the smallest target
 * WCAG 2.2 asks for, would be a page 10,000 px long on a phone). */
const GRID_OPEN_MAX = 600;

function gridView(box) {
  return (grid) => {
    const total = grid.districts.reduce((n, d) => n + d.codes.length, 0);
    const drawn = box.querySelectorAll('details.grid-district');
    const opened = new Set([...drawn].filter((el) => el.open).map((el) => el.dataset.district));
    mount(
      box,
      grid.districts.map((d) => {
        const alerts = d.alerts.filter(Boolean).length;
        const late = d.overdue.filter(Boolean).length;
        const counts = [
          alerts ? t('dash.grid.alerts', { n: number(alerts) }) : null,
          late ? t('dash.grid.late', { n: number(late) }) : null,
        ].filter(Boolean);
        return h(
          'details.grid-district',
          { open: drawn.length ? opened.has(d.district) : total <= GRID_OPEN_MAX, dataset: { district: d.district } },
          h('summary', h('h3', `${d.district} (${number(d.codes.length)})`), counts.length ? h('span.small', counts.join(' · ')) : null),
          h(
            'ul.grid',
            d.codes.map((code, i) => {
              const label = `${code} · ${classLabel(d.classes[i])}${d.alerts[i] ? ` · ${t(`dash.sev.${d.alerts[i]}`)}` : ''}${d.overdue[i] ? ` · ${t('dash.overdue')}` : ''}`;
              return h(
                'li',
                h('a', {
                  href: `#/shelters/${encodeURIComponent(code)}`,
                  class: `cell class-${d.classes[i] || 0}${d.alerts[i] ? ` alert-${d.alerts[i]}` : ''}${d.overdue[i] ? ' late' : ''}`,
                  title: label,
                  'aria-label': label,
                }),
              );
            }),
          ),
        );
      }),
    );
  };
}

async function mapView(box, settings, district) {
  const css = h('link', { rel: 'stylesheet', href: '/static/vendor/leaflet/leaflet.css' });
  document.head.append(css);
  await new Promise((resolve, reject) => {
    if (window.L) return resolve();
    const script = h('script', { src: '/static/vendor/leaflet/leaflet.js', onload: resolve, onerror: reject });
    document.head.append(script);
    return undefined;
  });
  const el = h('div.map', { role: 'region', 'aria-label': t('dash.map') });
  mount(box, el);
  const map = window.L.map(el, { attributionControl: true });
  map.attributionControl.setPrefix(false);
  window.L.tileLayer(settings.tile_url, { attribution: settings.attribution, maxZoom: 18 }).addTo(map);
  const colours = { 0: '#595959', 1: '#1b6e36', 2: '#0b4f8a', 3: '#a14000', 4: '#b3261e' };
  const layer = window.L.layerGroup().addTo(map);
  const q = district ? `&district=${encodeURIComponent(district)}` : '';
  poll(box, `/api/v1/dashboard/shelters?coordinates=true${q}`, (grid) => {
    layer.clearLayers();
    const points = [];
    for (const d of grid.districts) {
      d.codes.forEach((code, i) => {
        if (d.latitudes[i] == null || d.longitudes[i] == null) return;
        const at = [d.latitudes[i], d.longitudes[i]];
        points.push(at);
        window.L.circleMarker(at, {
          radius: d.alerts[i] ? 8 : 6,
          color: d.alerts[i] === 'critical' ? '#b3261e' : d.alerts[i] ? '#c25400' : '#ffffff',
          weight: d.alerts[i] ? 3 : 1,
          fillColor: colours[d.classes[i] || 0],
          fillOpacity: 0.9,
        })
          .bindTooltip(`${code} · ${classLabel(d.classes[i])}`)
          .addTo(layer);
      });
    }
    if (points.length) map.fitBounds(points, { maxZoom: 14 });
  });
}

/** The monthly report (月报) of a month, as PDF or xlsx, in the dashboard's scope. */
function monthlyReport(district) {
  const now = new Date();
  const last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  const month = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  const input = h('input#report-month', { type: 'month', value: month(last), max: month(now), required: true });
  const get = (fmt) => () => {
    if (!input.value) return;
    const q = new URLSearchParams({ month: input.value });
    if (district) q.set('district', district);
    download(`/api/v1/reports/monthly.${fmt}?${q}`, `monthly-${input.value}.${fmt}`).catch(() => {});
  };
  return h(
    'section',
    h('h2', t('dash.report')),
    h('p.small.muted', t('dash.report.text')),
    h(
      'p',
      h('label', { for: input.id }, t('dash.report.month')),
      ' ',
      input,
      ' ',
      h('button.button#report-pdf', { type: 'button', onclick: get('pdf') }, 'PDF'),
      ' ',
      h('button.button#report-xlsx', { type: 'button', onclick: get('xlsx') }, 'Excel'),
    ),
  );
}

export async function render(root, params) {
  const district = params.query.get('district') || null;
  const q = district ? `?district=${encodeURIComponent(district)}` : '';
  const d = await api.get(`/api/v1/dashboard${q}`);
  const historyBox = h('div.chart.chart-small', { role: 'img', 'aria-label': t('dash.history') });
  const alertsBox = h('div');
  const alertCount = h('span.small.muted');
  const gridBox = h('div#shelter-grid');
  mount(
    root,
    h('h1', `${t('dash.title')}${d.district ? ` · ${d.district}` : ''}`),
    h(
      'section.kpi',
      h('p.label', d.district ? `${t('dash.rate')} · ${d.district}` : `${t('dash.rate')} · ${t('dash.rate.city')}`),
      h('p.kpi-value#compliance-rate', percent(d.compliance.city.rate)),
      h('p.small.muted', `${number(d.compliance.city.class1_shelters)} / ${number(d.compliance.city.active_shelters)}`),
      d.fixes_to_verify ? h('p', h('a', { href: '#/followups' }, t('dash.fixes', { n: number(d.fixes_to_verify) }))) : null,
    ),
    h(
      'section',
      h('h2', h('span', t('dash.alerts')), ' ', alertCount),
      h(`p${d.shelters_with_water ? '.state.state-bad' : '.muted'}#shelters-with-water`, t('dash.water', { n: number(d.shelters_with_water) })),
      alertsBox,
    ),
    rates(d),
    h('section', h('h2', t('dash.history')), historyBox),
    classes(d),
    overdue(d),
    referrals(d),
    monthlyReport(district),
    h('section', h('h2', d.map.tile_url ? t('dash.map') : t('dash.grid')), h('p.small.muted', t('dash.legend')), gridBox),
  );
  poll(alertsBox, `/api/v1/alerts?status=open&limit=20${district ? `&district=${encodeURIComponent(district)}` : ''}`, alertList(alertsBox, alertCount), {
    every: 10000,
    onError: () => {},
  });
  if (d.map.tile_url) {
    mapView(gridBox, d.map, district).catch(() => mount(gridBox, notice('error', t('error.offline'))));
  } else {
    poll(gridBox, `/api/v1/dashboard/shelters${q}`, gridView(gridBox), { every: 30000 });
  }
  history(d, historyBox);
}
