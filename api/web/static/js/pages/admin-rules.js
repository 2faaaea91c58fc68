// Alert rules (#/admin/rules, city office): the default rules, and the overrides per shelter,
// zone, sensor or class (GET /api/v1/alert-rules), edited as a list and saved whole (PUT).
// A field left empty keeps the value of the broader scope; the API's objections are shown
// next to the override they name.

import { api, ApiError } from '../api.js';
import { number } from '../format.js';
import { extend, has, t } from '../i18n.js';
import { field, h, mount, notice } from '../ui.js';
import { refusal } from './admin-users.js';

extend({
  zh: {
    'rules.title': '告警规则',
    'rules.back': '系统管理',
    'rules.defaults': '默认规则',
    'rules.default.line': '{metric} {op} {enter}（恢复 {clear}）· 持续 {sustain} · {severity}',
    'rules.disabled': '默认不启用',
    'rules.offline': '离线：超过 {n} 个上报周期无数据',
    'rules.overrides': '调整（覆盖默认值）',
    'rules.overrides.none': '尚无调整，全部使用默认规则。',
    'rules.override': '调整 {n}',
    'rules.rule': '规则',
    'rules.scope': '适用范围',
    'rules.scope.shelter': '工程（编号）',
    'rules.scope.zone': '区域（名称）',
    'rules.scope.sensor': '传感器（编号）',
    'rules.scope.class': '工程类别（1–4）',
    'rules.scope_value': '范围值',
    'rules.enter': '触发阈值',
    'rules.clear': '恢复阈值',
    'rules.sustain': '持续时间（秒）',
    'rules.severity': '级别',
    'rules.enabled': '启用',
    'rules.inherit': '沿用默认',
    'rules.yes': '启用',
    'rules.no': '停用',
    'rules.remove': '删除此调整',
    'rules.add': '添加调整',
    'rules.save': '保存全部调整',
    'rules.saved': '已保存 {n} 项调整，约一分钟内生效。',
    'rules.failed': '未能保存：{message}',
    'rules.hint': '留空的项沿用更大范围的值。',
    'rules.metric.humidity': '湿度（%）',
    'rules.metric.temperature': '温度（°C）',
    'rules.metric.dew_margin': '温度与露点差（°C）',
    'rules.metric.fire_level': '火险等级',
    'rules.metric.water_leak': '水浸（1 有积水，0 干燥）',
  },
  en: {
    'rules.title': 'Alert rules',
    'rules.back': 'Administration',
    'rules.defaults': 'Default rules',
    'rules.default.line': '{metric} {op} {enter} (clears at {clear}) · for {sustain} · {severity}',
    'rules.disabled': 'off by default',
    'rules.offline': 'Offline: nothing for more than {n} reporting intervals',
    'rules.overrides': 'Overrides',
    'rules.overrides.none': 'No override: every default applies.',
    'rules.override': 'Override {n}',
    'rules.rule': 'Rule',
    'rules.scope': 'Applies to',
    'rules.scope.shelter': 'Shelter (code)',
    'rules.scope.zone': 'Zone (name)',
    'rules.scope.sensor': 'Sensor (id)',
    'rules.scope.class': 'Shelter class (1–4)',
    'rules.scope_value': 'Which one',
    'rules.enter': 'Raise at',
    'rules.clear': 'Clear at',
    'rules.sustain': 'Sustained for (s)',
    'rules.severity': 'Severity',
    'rules.enabled': 'Enabled',
    'rules.inherit': 'as the default',
    'rules.yes': 'on',
    'rules.no': 'off',
    'rules.remove': 'Remove this override',
    'rules.add': 'Add an override',
    'rules.save': 'Save every override',
    'rules.saved': '{n} override(s) saved; they apply within about a minute.',
    'rules.failed': 'Not saved: {message}',
    'rules.hint': 'An empty field keeps the value of the broader scope.',
    'rules.metric.humidity': 'humidity (%)',
    'rules.metric.temperature': 'temperature (°C)',
    'rules.metric.dew_margin': 'temperature above dew point (°C)',
    'rules.metric.fire_level': 'fire-risk level',
    'rules.metric.water_leak': 'water leak (1 water, 0 dry)',
  },
});

const SCOPES = ['shelter', 'zone', 'sensor', 'class'];
const OPS = { ge: '≥', gt: '>', le: '≤', lt: '<' };
const SEVERITIES = ['info', 'warning', 'critical'];

function duration(seconds) {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${number(seconds / 3600)} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${number(seconds / 60)} min`;
  return `${number(seconds)} s`;
}

function defaultsView(data) {
  return h(
    'section.card',
    h('h2', t('rules.defaults')),
    h(
      'ul.list',
      data.defaults.map((r) =>
        h(
          'li',
          h(
            'div.row',
            h('div.row-title', r.title),
            h('div.small.muted', r.code),
            h(
              'div.small',
              t('rules.default.line', {
                metric: has(`rules.metric.${r.metric}`) ? t(`rules.metric.${r.metric}`) : r.metric,
                op: OPS[r.op] || r.op,
                enter: number(r.enter, 2),
                clear: number(r.clear, 2),
                sustain: duration(r.sustain_s),
                severity: t(`alert.severity.${r.severity}`),
              }),
              r.enabled ? '' : ` · ${t('rules.disabled')}`,
            ),
          ),
        ),
      ),
    ),
    h('p.small', t('rules.offline', { n: data.offline.factor })),
  );
}

let rows = 0;

function overrideBlock(o, defaults, index, onRemove) {
  rows += 1;
  const id = (name) => `ov-${rows}-${name}`;
  const select = (name, options, value) =>
    h('select', { id: id(name), name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
  const num = (name, value, attrs = {}) => {
    const input = h('input', { id: id(name), name, type: 'number', step: 'any', inputmode: 'decimal', ...attrs });
    input.value = value == null ? '' : String(value);
    return input;
  };
  const rule = select('rule', defaults.map((r) => [r.code, `${r.title}（${r.code}）`]), o.rule);
  const scope = select('scope', SCOPES.map((s) => [s, t(`rules.scope.${s}`)]), o.scope);
  const value = h('input', { id: id('scope_value'), name: 'scope_value', required: true, maxlength: 64, autocomplete: 'off' });
  value.value = o.scope_value || '';
  const enter = num('enter', o.enter);
  const clear = num('clear', o.clear);
  const sustain = num('sustain_s', o.sustain_s, { step: 1, min: 0, max: 2592000, inputmode: 'numeric' });
  const severity = select('severity', [['', t('rules.inherit')], ...SEVERITIES.map((s) => [s, t(`alert.severity.${s}`)])], o.severity || '');
  const enabled = select(
    'enabled',
    [['', t('rules.inherit')], ['true', t('rules.yes')], ['false', t('rules.no')]],
    o.enabled == null ? '' : String(o.enabled),
  );
  const problems = h('div.problems');
  const remove = h('button.danger', { type: 'button' }, t('rules.remove'));
  const box = h(
    'fieldset.area.override',
    h('legend', t('rules.override', { n: index + 1 })),
    field(t('rules.rule'), rule),
    h('div.filter-row', field(t('rules.scope'), scope), field(t('rules.scope_value'), value)),
    h('div.filter-row', field(t('rules.enter'), enter), field(t('rules.clear'), clear)),
    h('div.filter-row', field(t('rules.sustain'), sustain), field(t('rules.severity'), severity)),
    field(t('rules.enabled'), enabled),
    problems,
    h('div.actions', remove),
  );
  remove.addEventListener('click', () => onRemove(box));
  const numberOrNull = (input) => (input.value.trim() === '' ? null : Number(input.value));
  box.read = () => ({
    rule: rule.value,
    scope: scope.value,
    scope_value: value.value.trim(),
    enter: numberOrNull(enter),
    clear: numberOrNull(clear),
    sustain_s: sustain.value.trim() === '' ? null : Math.round(Number(sustain.value)),
    severity: severity.value || null,
    enabled: enabled.value === '' ? null : enabled.value === 'true',
  });
  box.problems = problems;
  return box;
}

export async function render(root) {
  const data = await api.get('/api/v1/alert-rules');
  const list = h('div#override-list');
  const message = h('div', { 'aria-live': 'polite' });
  const blocks = [];

  function renumber() {
    blocks.forEach((b, i) => {
      b.querySelector('legend').textContent = t('rules.override', { n: i + 1 });
    });
    mount(list, blocks.length ? blocks : h('p.muted', t('rules.overrides.none')));
  }
  function add(o) {
    const box = overrideBlock(o, data.defaults, blocks.length, (gone) => {
      blocks.splice(blocks.indexOf(gone), 1);
      renumber();
    });
    blocks.push(box);
    renumber();
    return box;
  }
  for (const o of data.overrides) add(o);
  renumber();

  const save = h('button.primary#save-rules', { type: 'submit' }, t('rules.save'));
  async function onSubmit(event) {
    event.preventDefault();
    save.disabled = true;
    mount(message);
    for (const b of blocks) mount(b.problems);
    try {
      const saved = await api.put('/api/v1/alert-rules', blocks.map((b) => b.read()));
      mount(message, notice('ok', t('rules.saved', { n: saved.overrides.length })));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_overrides' && Array.isArray(err.details)) {
        for (const d of err.details) {
          const b = blocks[d.index];
          if (b) b.problems.append(notice('error', d.error));
        }
      }
      mount(message, notice('error', t('rules.failed', { message: refusal(err) })));
    } finally {
      save.disabled = false;
    }
  }

  const addButton = h('button#add-override', { type: 'button' }, t('rules.add'));
  addButton.addEventListener('click', () => {
    const box = add({ rule: data.defaults[0] && data.defaults[0].code, scope: 'shelter', scope_value: '' });
    box.querySelector('select').focus();
  });

  mount(
    root,
    h('p', h('a', { href: '#/admin' }, `← ${t('rules.back')}`)),
    h('h1', t('rules.title')),
    h(
      'form#rules-form',
      { onsubmit: onSubmit },
      h('h2', t('rules.overrides')),
      h('p.hint', t('rules.hint')),
      list,
      h('div.actions', addButton),
      message,
      h('div.actions.sticky', save),
    ),
    defaultsView(data),
  );
}
