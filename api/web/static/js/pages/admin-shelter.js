// One shelter for the city office: registering it (#/admin/new-shelter, POST
// /api/v1/shelters) or editing it (#/admin/shelters/:code, PATCH, only the fields changed),
// its sensors (GET/POST /api/v1/shelters/{code}/sensors) and its printable sign
// (GET /api/v1/shelters/{code}/sign.pdf, fetched with the token).

import { api, download } from '../api.js';
import { go } from '../app.js';
import { dateTime } from '../format.js';
import { extend, t } from '../i18n.js';
import { field, h, mount, notice } from '../ui.js';
import { refusal } from './admin-users.js';

extend({
  zh: {
    'ashelter.new': '登记新工程',
    'ashelter.edit': '修改工程',
    'ashelter.back': '工程登记',
    'ashelter.code': '工程编号（字母、数字、- 或 _）',
    'ashelter.name': '工程名称',
    'ashelter.district': '所在区',
    'ashelter.address': '地址',
    'ashelter.manager': '工程长（用户名）',
    'ashelter.manager_name': '工程长姓名',
    'ashelter.manager_phone': '工程长电话',
    'ashelter.unit_contact': '责任单位联系人',
    'ashelter.unit_phone': '责任单位电话',
    'ashelter.inspector': '负责检查员（用户名）',
    'ashelter.unit': '责任单位',
    'ashelter.wartime': '战时功能',
    'ashelter.peacetime': '平时用途',
    'ashelter.type': '工程类型',
    'ashelter.protection': '防护等级',
    'ashelter.area': '面积（平方米）',
    'ashelter.latitude': '纬度（WGS-84）',
    'ashelter.longitude': '经度（WGS-84）',
    'ashelter.signage': '已设置标识牌',
    'ashelter.active': '在用',
    'ashelter.create': '登记',
    'ashelter.save': '保存修改',
    'ashelter.saved': '已保存。',
    'ashelter.unchanged': '没有修改。',
    'ashelter.failed': '未能保存：{message}',
    'ashelter.sign': '下载标识牌（PDF）',
    'ashelter.sensors': '传感器',
    'ashelter.sensors.none': '尚未登记传感器',
    'ashelter.sensor.id': '传感器编号',
    'ashelter.sensor.zone': '安装区域',
    'ashelter.sensor.interval': '上报周期（秒）',
    'ashelter.sensor.add': '登记传感器',
    'ashelter.sensor.added': '已登记传感器 {id}。',
    'ashelter.sensor.line': '区域 {zone} · 每 {s} 秒 · 登记于 {time}',
    'ashelter.sensor.inactive': '已停用',
  },
  en: {
    'ashelter.new': 'Register a shelter',
    'ashelter.edit': 'Edit shelter',
    'ashelter.back': 'Shelter register',
    'ashelter.code': 'Code (letters, digits, - or _)',
    'ashelter.name': 'Name',
    'ashelter.district': 'District',
    'ashelter.address': 'Address',
    'ashelter.manager': 'Manager (工程长, username)',
    'ashelter.manager_name': 'Manager (工程长): name',
    'ashelter.manager_phone': 'Manager (工程长): phone',
    'ashelter.unit_contact': 'Responsible unit: contact person',
    'ashelter.unit_phone': 'Responsible unit: phone',
    'ashelter.inspector': 'Assigned inspector (username)',
    'ashelter.unit': 'Responsible unit',
    'ashelter.wartime': 'Wartime function',
    'ashelter.peacetime': 'Peacetime use',
    'ashelter.type': 'Type',
    'ashelter.protection': 'Protection level',
    'ashelter.area': 'Area (m²)',
    'ashelter.latitude': 'Latitude (WGS-84)',
    'ashelter.longitude': 'Longitude (WGS-84)',
    'ashelter.signage': 'Sign installed',
    'ashelter.active': 'In use',
    'ashelter.create': 'Register',
    'ashelter.save': 'Save changes',
    'ashelter.saved': 'Saved.',
    'ashelter.unchanged': 'Nothing changed.',
    'ashelter.failed': 'Not saved: {message}',
    'ashelter.sign': 'Download the sign (PDF)',
    'ashelter.sensors': 'Sensors',
    'ashelter.sensors.none': 'No sensor registered',
    'ashelter.sensor.id': 'Sensor id',
    'ashelter.sensor.zone': 'Zone',
    'ashelter.sensor.interval': 'Reporting interval (s)',
    'ashelter.sensor.add': 'Register the sensor',
    'ashelter.sensor.added': 'Sensor {id} registered.',
    'ashelter.sensor.line': 'zone {zone} · every {s} s · registered {time}',
    'ashelter.sensor.inactive': 'inactive',
  },
});

// field name, label key, kind: text (string, '' when empty), number (null when empty), bool
const FIELDS = [
  ['name', 'ashelter.name', 'text', { required: true, maxlength: 200 }],
  ['district', 'ashelter.district', 'text', { required: true, maxlength: 200, list: 'district-options' }],
  ['address', 'ashelter.address', 'text', { maxlength: 300 }],
  ['manager', 'ashelter.manager', 'user', { list: 'manager-options', maxlength: 64 }],
  ['manager_contact_name', 'ashelter.manager_name', 'text', { maxlength: 128 }],
  ['manager_contact_phone', 'ashelter.manager_phone', 'text', { maxlength: 32 }],
  ['inspector', 'ashelter.inspector', 'user', { list: 'inspector-options', maxlength: 64 }],
  ['responsible_unit', 'ashelter.unit', 'text', { maxlength: 200 }],
  ['responsible_unit_contact', 'ashelter.unit_contact', 'text', { maxlength: 128 }],
  ['responsible_unit_phone', 'ashelter.unit_phone', 'text', { maxlength: 32 }],
  ['wartime_function', 'ashelter.wartime', 'text', { maxlength: 64 }],
  ['peacetime_use', 'ashelter.peacetime', 'text', { maxlength: 128 }],
  ['shelter_type', 'ashelter.type', 'text', { maxlength: 64 }],
  ['protection_level', 'ashelter.protection', 'text', { maxlength: 32 }],
  ['area_m2', 'ashelter.area', 'number', { min: 0, step: 'any' }],
  ['latitude', 'ashelter.latitude', 'number', { min: -90, max: 90, step: 'any' }],
  ['longitude', 'ashelter.longitude', 'number', { min: -180, max: 180, step: 'any' }],
  ['signage_installed', 'ashelter.signage', 'bool', {}],
  ['active', 'ashelter.active', 'bool', {}],
];

function control(name, kind, attrs, value) {
  const id = `shelter-${name}`;
  if (kind === 'bool') return h('input', { type: 'checkbox', id, name, checked: Boolean(value) });
  const input = h('input', { id, name, type: kind === 'number' ? 'number' : 'text', inputmode: kind === 'number' ? 'decimal' : false, autocomplete: 'off', ...attrs });
  input.value = value == null ? '' : String(value);
  return input;
}

function valueOf(input, kind) {
  if (kind === 'bool') return input.checked;
  const text = input.value.trim();
  if (kind === 'number') return text === '' ? null : Number(text);
  if (kind === 'user') return text || null;
  return text;
}

function datalists(users, districts) {
  const opts = (id, values) => h(`datalist#${id}`, values.map((v) => h('option', { value: v })));
  return [
    opts('manager-options', users.filter((u) => u.role === 'manager' && u.active).map((u) => u.username)),
    opts('inspector-options', users.filter((u) => u.role === 'inspector' && u.active).map((u) => u.username)),
    opts('district-options', districts),
  ];
}

function shelterForm(s, users, districts, onSaved) {
  const creating = !s;
  const code = creating ? control('code', 'text', { required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}', autocapitalize: 'characters', spellcheck: 'false' }, '') : null;
  const inputs = FIELDS.map(([name, label, kind, attrs]) => {
    const initial = s ? s[name] : name === 'active' ? true : null;
    return { name, label, kind, input: control(name, kind, attrs, initial), initial: s ? initial : undefined };
  });
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary#save-shelter', { type: 'submit' }, t(creating ? 'ashelter.create' : 'ashelter.save'));
  async function onSubmit(event) {
    event.preventDefault();
    mount(message);
    const body = {};
    for (const f of inputs) {
      const value = valueOf(f.input, f.kind);
      if (creating) {
        if (value !== null && value !== '') body[f.name] = value;
        if (f.kind === 'bool') body[f.name] = value;
      } else if (value !== (f.initial ?? (f.kind === 'text' ? '' : null))) {
        body[f.name] = f.kind === 'user' ? value || '' : value;
      }
    }
    if (!creating && !Object.keys(body).length) {
      mount(message, notice('info', t('ashelter.unchanged')));
      return;
    }
    submit.disabled = true;
    try {
      const saved = creating
        ? await api.post('/api/v1/shelters', { code: code.value.trim(), ...body })
        : await api.patch(`/api/v1/shelters/${encodeURIComponent(s.code)}`, body);
      onSaved(saved);
    } catch (err) {
      mount(message, notice('error', t('ashelter.failed', { message: refusal(err) })));
      submit.disabled = false;
    }
  }
  return h(
    'form#shelter-form',
    { onsubmit: onSubmit },
    code ? field(t('ashelter.code'), code) : null,
    inputs.map((f) =>
      f.kind === 'bool'
        ? h('div.field', h('label.check', { for: f.input.id }, f.input, h('span', t(f.label))))
        : field(t(f.label), f.input),
    ),
    datalists(users, districts),
    message,
    h('div.actions', submit),
  );
}

function sensorsSection(s, onAdded) {
  const id = h('input', { id: 'sensor-id', name: 'sensor_id', required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' });
  const zone = h('input', { id: 'sensor-zone', name: 'zone', maxlength: 64, autocomplete: 'off' });
  const interval = h('input', { id: 'sensor-interval', name: 'expected_interval_s', type: 'number', min: 1, max: 604800, step: 1, inputmode: 'numeric' });
  interval.value = '600';
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary#add-sensor', { type: 'submit' }, t('ashelter.sensor.add'));
  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    mount(message);
    try {
      const added = await api.post(`/api/v1/shelters/${encodeURIComponent(s.code)}/sensors`, {
        sensor_id: id.value.trim(),
        zone: zone.value.trim(),
        expected_interval_s: Number(interval.value) || 600,
      });
      onAdded(t('ashelter.sensor.added', { id: added.sensor_id }));
    } catch (err) {
      mount(message, notice('error', t('ashelter.failed', { message: refusal(err) })));
      submit.disabled = false;
    }
  }
  return h(
    'section.card#sensors',
    h('h2', t('ashelter.sensors')),
    s.sensors.length
      ? h(
          'ul.list#sensor-list',
          s.sensors.map((x) =>
            h(
              'li',
              h(
                'div.row',
                h('div.row-head', h('span.row-title', x.sensor_id), x.active ? null : h('span.small', t('ashelter.sensor.inactive'))),
                h('div.small.muted', t('ashelter.sensor.line', { zone: x.zone || '–', s: x.expected_interval_s, time: dateTime(x.created_at) })),
              ),
            ),
          ),
        )
      : h('p.muted', t('ashelter.sensors.none')),
    h(
      'form#sensor-form',
      { onsubmit: onSubmit },
      field(t('ashelter.sensor.id'), id),
      field(t('ashelter.sensor.zone'), zone),
      field(t('ashelter.sensor.interval'), interval),
      message,
      h('div.actions', submit),
    ),
  );
}

function signButton(s) {
  const message = h('div');
  const button = h('button#download-sign', { type: 'button' }, t('ashelter.sign'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    mount(message);
    try {
      await download(`/api/v1/shelters/${encodeURIComponent(s.code)}/sign.pdf`, `sign-${s.code}.pdf`);
    } catch (err) {
      mount(message, notice('error', err.message));
    } finally {
      button.disabled = false;
    }
  });
  return h('div', h('div.actions', button), message);
}

export async function render(root, params) {
  const [users, shelters, s] = await Promise.all([
    api.get('/api/v1/users?limit=500'),
    api.get('/api/v1/shelters?limit=500'),
    params.code ? api.get(`/api/v1/shelters/${encodeURIComponent(params.code)}`) : null,
  ]);
  const districts = [...new Set(shelters.items.map((x) => x.district))].sort();
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });
  const again = (text) =>
    render(root, params).then(() => {
      const box = root.querySelector('[role=status]');
      if (box) mount(box, notice('ok', text));
    });
  mount(
    root,
    h('p', h('a', { href: '#/admin/shelters' }, `← ${t('ashelter.back')}`)),
    h('h1', s ? `${t('ashelter.edit')}：${s.name}` : t('ashelter.new')),
    s ? h('p.muted', s.code) : null,
    flash,
    s ? signButton(s) : null,
    h(
      'section.card',
      shelterForm(s, users.items, districts, (saved) => {
        if (s) again(t('ashelter.saved'));
        else go(`/admin/shelters/${encodeURIComponent(saved.code)}`);
      }),
    ),
    s ? sensorsSection(s, again) : null,
  );
}
