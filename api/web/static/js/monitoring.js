// What the monitoring shows of a shelter, shared by the manager's and the officers' screens:
// the fire-risk level (colour and words, never colour alone), live values per sensor (水浸 in
// red, with words, while a water-leak sensor reports water), and alerts with their acknowledge
// and resolve actions.

import { api, ApiError } from './api.js';
import { dateTime, number } from './format.js';
import { extend, t } from './i18n.js';
import { field, h, mount, notice } from './ui.js';

extend({
  zh: {
    'risk.label': '火险',
    'risk.level': '{n}级',
    'risk.1': '绿 · 低',
    'risk.2': '蓝 · 较低',
    'risk.3': '黄 · 中',
    'risk.4': '橙 · 高',
    'risk.5': '红 · 极高',
    'live.title': '实时数据',
    'live.sensor': '传感器 {id}',
    'live.temperature': '温度',
    'live.humidity': '湿度',
    'live.water': '水浸',
    'live.water.wet': '有积水',
    'live.water.dry': '无积水',
    'live.seen': '更新于 {time}',
    'live.never': '尚未收到数据',
    'live.offline': '离线',
    'live.online': '在线',
    'live.none': '未安装传感器',
    'alerts.title': '告警',
    'alerts.none': '没有未处理的告警',
    'alert.status.active': '未确认',
    'alert.status.acknowledged': '已确认',
    'alert.raised': '发生于 {time}',
    'alert.value': '读数 {value}（阈值 {threshold}）',
    'alert.acked': '{who} 于 {time} 确认',
    'alert.ack': '确认告警',
    'alert.resolve': '解除告警',
    'alert.resolve.note': '处理情况（必填）',
    'alert.resolve.submit': '提交并解除',
    'alert.done.ack': '告警已确认',
    'alert.done.resolve': '告警已解除',
    'alert.gone': '此告警已被他人处理，已刷新。',
  },
  en: {
    'risk.label': 'Fire risk',
    'risk.level': 'level {n}',
    'risk.1': 'green · low',
    'risk.2': 'blue · moderate',
    'risk.3': 'yellow · high',
    'risk.4': 'orange · very high',
    'risk.5': 'red · extreme',
    'live.title': 'Live readings',
    'live.sensor': 'Sensor {id}',
    'live.temperature': 'Temperature',
    'live.humidity': 'Humidity',
    'live.water': 'Water leak',
    'live.water.wet': 'water detected',
    'live.water.dry': 'dry',
    'live.seen': 'updated {time}',
    'live.never': 'nothing received yet',
    'live.offline': 'offline',
    'live.online': 'online',
    'live.none': 'No sensor installed',
    'alerts.title': 'Alerts',
    'alerts.none': 'No open alert',
    'alert.status.active': 'not acknowledged',
    'alert.status.acknowledged': 'acknowledged',
    'alert.raised': 'raised {time}',
    'alert.value': 'reading {value} (threshold {threshold})',
    'alert.acked': 'acknowledged by {who}, {time}',
    'alert.ack': 'Acknowledge',
    'alert.resolve': 'Resolve',
    'alert.resolve.note': 'What was done (required)',
    'alert.resolve.submit': 'Resolve the alert',
    'alert.done.ack': 'Alert acknowledged',
    'alert.done.resolve': 'Alert resolved',
    'alert.gone': 'Someone else has dealt with this alert; refreshed.',
  },
});

/** The fire-risk level 1-5 of an index as a badge: colour, level number and its words. */
export function riskBadge(risk) {
  if (!risk) return h('span.muted', '–');
  const lvl = Math.min(5, Math.max(1, Number(risk.level) || 1));
  return h(
    `span.risk.risk-${lvl}`,
    { dataset: { level: String(lvl) } },
    `${t('risk.level', { n: lvl })} ${t(`risk.${lvl}`)}`,
  );
}

/** The level 1-5 of a fire-risk index (the bands of telemetry/fire_risk.py). */
export function riskLevel(index) {
  if (index < 20) return 1;
  if (index < 40) return 2;
  if (index < 60) return 3;
  if (index < 80) return 4;
  return 5;
}

/** A water-leak sensor's state: red with words while it reports water, plain when dry. */
export function waterBadge(wet) {
  return wet
    ? h('span.pill.sev-critical.water-wet', t('live.water.wet'))
    : h('span.water-dry', t('live.water.dry'));
}

function sensorCard(s) {
  const fact = (label, value) => [h('dt', label), h('dd', value)];
  return h(
    'li.sensor',
    h(
      'div.row-head',
      h('span.row-title', t('live.sensor', { id: s.sensor_id }), s.zone ? h('span.muted', ` · ${s.zone}`) : null),
      h(`span.state.${s.online ? 'state-ok' : 'state-bad'}`, s.online ? t('live.online') : t('live.offline')),
    ),
    h(
      'dl.facts',
      fact(t('live.temperature'), s.temperature == null ? '–' : `${number(s.temperature, 1)} °C`),
      fact(t('live.humidity'), s.humidity == null ? '–' : `${number(s.humidity, 0)}%`),
      fact(t('risk.label'), riskBadge(s.fire_risk)),
      s.water_leak == null ? null : fact(t('live.water'), waterBadge(s.water_leak)),
    ),
    h('p.small.muted', s.last_seen ? t('live.seen', { time: dateTime(s.last_seen) }) : t('live.never')),
  );
}

/** The live values of a shelter's sensors (ShelterSummary.sensors). */
export function liveView(sensors) {
  return sensors.length ? h('ul.list.sensors', sensors.map(sensorCard)) : h('p.muted', t('live.none'));
}

function alertItem(a, canResolve, done) {
  const message = h('div');
  const actions = h('div.actions');
  async function act(call, okKey, button) {
    button.disabled = true;
    try {
      await call();
      done(t(okKey));
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 409) done(t('alert.gone'));
      else mount(message, notice('error', err.message));
    }
  }
  if (a.status === 'active') {
    const ack = h('button.primary.ack', { type: 'button', dataset: { alert: String(a.id) } }, t('alert.ack'));
    ack.addEventListener('click', () => act(() => api.post(`/api/v1/alerts/${a.id}/ack`), 'alert.done.ack', ack));
    actions.append(ack);
  }
  let form = null;
  if (canResolve) {
    const open = h('button.resolve', { type: 'button', 'aria-expanded': 'false' }, t('alert.resolve'));
    const note = h('textarea', { maxlength: 4000, rows: 2, required: true });
    const submit = h('button.primary', { type: 'submit' }, t('alert.resolve.submit'));
    form = h('form.resolve-form', { hidden: true }, field(t('alert.resolve.note'), note), h('div.actions', submit));
    open.addEventListener('click', () => {
      form.hidden = !form.hidden;
      open.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) note.focus();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      act(() => api.post(`/api/v1/alerts/${a.id}/resolve`, { note: note.value.trim() }), 'alert.done.resolve', submit);
    });
    actions.append(open);
  }
  return h(
    `li.alert.alert-${a.severity}`,
    { dataset: { alert: String(a.id), status: a.status } },
    alertHead(a),
    actions,
    form,
    message,
  );
}

function alertHead(a) {
  return [
    h(
      'div.row-head',
      h('span.row-title', a.message || a.rule),
      h(`span.pill.sev-${a.severity}`, t(`alert.severity.${a.severity}`)),
    ),
    h(
      'p.small',
      `${t(`alert.status.${a.status}`)} · ${t('alert.raised', { time: dateTime(a.raised_at) })}`,
      a.zone ? ` · ${a.zone}` : '',
    ),
    a.value != null && a.threshold != null && a.condition !== 'water_leak'
      ? h('p.small', t('alert.value', { value: number(a.value, 1), threshold: number(a.threshold, 1) }))
      : null,
    a.acknowledged_at ? h('p.small.muted', t('alert.acked', { who: a.acknowledged_by, time: dateTime(a.acknowledged_at) })) : null,
  ];
}

/**
 * The open alerts of a shelter, each with "acknowledge" while active and, when the user may
 * resolve, "resolve" with a required note. done(message) runs after an action succeeded.
 */
export function alertsView(alerts, { canResolve, done }) {
  return alerts.length
    ? h('ul.list.alerts', alerts.map((a) => alertItem(a, canResolve, done)))
    : h('p.muted', t('alerts.none'));
}
