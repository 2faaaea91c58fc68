// Sweeps (巡查, #/sweeps) of the city office and district officers: each sweep with its
// progress (GET /api/v1/sweeps), its figures by district and inspector on opening
// (GET /api/v1/sweeps/{id}); the city office plans one (POST /api/v1/sweeps); both assign
// shelters of a district to an inspector (…/shelters, …/assign, …/unassign). The city office
// also renames a sweep or moves its period (PATCH /api/v1/sweeps/{id}), adds shelters by
// district or code to a planned or running one (POST …/shelters) and takes out those not
// yet inspected (POST …/shelters/remove).

import { api, currentUser } from '../api.js';
import { date } from '../format.js';
import { extend, has, t } from '../i18n.js';
import { fieldsForm, h, mount, notice, sendingForm } from '../ui.js';
import { refusal } from './admin-users.js';

extend({
  zh: {
    'sweeps.title': '巡查',
    'sweeps.none': '尚无巡查计划',
    'sweeps.period': '{from} 至 {to}',
    'sweeps.status.planned': '未开始',
    'sweeps.status.running': '进行中',
    'sweeps.status.ended': '已结束',
    'sweeps.bar': '已查 {done} / {all} 处',
    'sweeps.figures': '已查 {done}，未查 {left}，逾期 {late}，7 天内到期 {soon}，已分配 {assigned}',
    'sweeps.details': '按区和检查员',
    'sweeps.district': '区',
    'sweeps.inspector': '检查员',
    'sweeps.unassigned': '未分配',
    'sweeps.shelters': '工程',
    'sweeps.done': '已查',
    'sweeps.left': '未查',
    'sweeps.late': '逾期',
    'sweeps.new': '新建巡查',
    'sweeps.name': '名称',
    'sweeps.starts_on': '开始日期',
    'sweeps.ends_on': '结束日期',
    'sweeps.districts': '覆盖的区',
    'sweeps.codes': '另加工程编号（以逗号或空格分隔）',
    'sweeps.create': '创建巡查',
    'sweeps.created': '已创建巡查“{name}”，共 {n} 处工程。',
    'sweeps.assign': '分配工程',
    'sweeps.sweep': '巡查',
    'sweeps.pick': '工程（可多选）',
    'sweeps.to': '分配给检查员（用户名）',
    'sweeps.do_assign': '分配',
    'sweeps.do_unassign': '取消分配',
    'sweeps.changed': '已更新 {n} 处工程。',
    'sweeps.failed': '未能完成：{message}',
    'sweeps.more': '只显示前 {n} 处',
    'sweeps.edit': '修改巡查',
    'sweeps.save': '保存修改',
    'sweeps.saved': '已保存“{name}”。',
    'sweeps.add': '加入工程',
    'sweeps.add_districts': '加入整个区',
    'sweeps.add_codes': '加入工程编号（以逗号或空格分隔）',
    'sweeps.do_add': '加入巡查',
    'sweeps.added': '已加入 {n} 处工程。',
    'sweeps.do_remove': '移出巡查',
    'sweeps.removed': '已移出 {n} 处工程。',
    'sweeps.err.invalid_period': '结束日期不能早于开始日期，且巡查期不能超过规定天数',
    'sweeps.err.ends_in_past': '结束日期不能早于今天',
    'sweeps.err.sweep_started': '巡查已开始，开始日期不能改到今天以后',
    'sweeps.err.sweep_ended': '巡查已结束，不能再增减工程',
    'sweeps.err.already_inspected': '以下工程本轮已检查，不能移出',
    'sweeps.err.unknown_shelters': '以下工程编号不存在、已停用或不在本巡查内',
    'sweeps.err.empty_sweep': '巡查至少要保留一处工程',
    'sweeps.err.nothing_named': '请选择区或填写工程编号',
  },
  en: {
    'sweeps.title': 'Sweeps',
    'sweeps.none': 'No sweep is planned yet',
    'sweeps.period': '{from} to {to}',
    'sweeps.status.planned': 'planned',
    'sweeps.status.running': 'running',
    'sweeps.status.ended': 'ended',
    'sweeps.bar': '{done} of {all} inspected',
    'sweeps.figures': '{done} inspected, {left} not yet, {late} overdue, {soon} due within 7 days, {assigned} assigned',
    'sweeps.details': 'By district and inspector',
    'sweeps.district': 'District',
    'sweeps.inspector': 'Inspector',
    'sweeps.unassigned': 'not assigned',
    'sweeps.shelters': 'Shelters',
    'sweeps.done': 'Inspected',
    'sweeps.left': 'Not yet',
    'sweeps.late': 'Overdue',
    'sweeps.new': 'New sweep',
    'sweeps.name': 'Name',
    'sweeps.starts_on': 'First day',
    'sweeps.ends_on': 'Last day',
    'sweeps.districts': 'Districts covered',
    'sweeps.codes': 'More shelters by code (comma or space separated)',
    'sweeps.create': 'Create the sweep',
    'sweeps.created': 'Sweep “{name}” created with {n} shelter(s).',
    'sweeps.assign': 'Assign shelters',
    'sweeps.sweep': 'Sweep',
    'sweeps.pick': 'Shelters (several may be chosen)',
    'sweeps.to': 'To the inspector (username)',
    'sweeps.do_assign': 'Assign',
    'sweeps.do_unassign': 'Unassign',
    'sweeps.changed': '{n} shelter(s) updated.',
    'sweeps.failed': 'Not done: {message}',
    'sweeps.more': 'Only the first {n} are shown',
    'sweeps.edit': 'Change the sweep',
    'sweeps.save': 'Save changes',
    'sweeps.saved': '“{name}” saved.',
    'sweeps.add': 'Add shelters',
    'sweeps.add_districts': 'Add whole districts',
    'sweeps.add_codes': 'Add shelters by code (comma or space separated)',
    'sweeps.do_add': 'Add to the sweep',
    'sweeps.added': '{n} shelter(s) added.',
    'sweeps.do_remove': 'Take out of the sweep',
    'sweeps.removed': '{n} shelter(s) taken out.',
    'sweeps.err.invalid_period': 'The last day may not be before the first, and a sweep may not last longer than allowed',
    'sweeps.err.ends_in_past': 'The last day may not be before today',
    'sweeps.err.sweep_started': 'The sweep has started: its first day may not move after today',
    'sweeps.err.sweep_ended': 'The sweep has ended: its shelters stay as they were',
    'sweeps.err.already_inspected': 'These shelters are inspected in the sweep and stay in it',
    'sweeps.err.unknown_shelters': 'These codes are unknown, retired or not in this sweep',
    'sweeps.err.empty_sweep': 'A sweep keeps at least one shelter',
    'sweeps.err.nothing_named': 'Choose districts or give shelter codes',
  },
});

/** The API's refusal in the reader's language where the page knows its code. */
function why(err) {
  const key = `sweeps.err.${err.code}`;
  if (!has(key)) return refusal(err);
  const codes = Array.isArray(err.details) && err.details.every((d) => typeof d === 'string') ? err.details : [];
  return codes.length ? `${t(key)}：${codes.join('、')}` : t(key);
}

const codesOf = (input) => input.value.split(/[\s,，、]+/).filter(Boolean);

let pickers = 0;

/** Districts to tick (easier on a phone than a list of several choices): the fieldset and
 * a function giving those ticked. */
function districtPicker(legend, districts) {
  pickers += 1;
  const boxes = districts.map((d, i) => h('input', { type: 'checkbox', name: 'districts', value: d, id: `districts-${pickers}-${i}` }));
  const el = h(
    'fieldset.districts',
    h('legend', legend),
    h(
      'div.choices',
      boxes.map((box) => h('label.check', { for: box.id }, box, h('span', box.value))),
    ),
  );
  return { el, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

/** Rename the sweep or move its period (city office). */
function editForm(s, done) {
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', value: s.name });
  const startsOn = h('input', { name: 'starts_on', type: 'date', required: true, value: s.starts_on });
  const endsOn = h('input', { name: 'ends_on', type: 'date', required: true, value: s.ends_on });
  return sendingForm({
    tag: 'form.sweep-edit-form',
    attrs: { dataset: { sweep: String(s.id) } },
    fields: [
      [t('sweeps.name'), name],
      [t('sweeps.starts_on'), startsOn],
      [t('sweeps.ends_on'), endsOn],
    ],
    submit: t('sweeps.save'),
    send: async () => {
      const saved = await api.patch(`/api/v1/sweeps/${s.id}`, { name: name.value.trim(), starts_on: startsOn.value, ends_on: endsOn.value });
      done(notice('ok', t('sweeps.saved', { name: saved.name })));
    },
    failed: (err) => t('sweeps.failed', { message: why(err) }),
  });
}

/** Add shelters, by district or code, to a planned or running sweep (city office). */
function addForm(s, districts, done) {
  const chosen = districtPicker(t('sweeps.add_districts'), districts);
  const codes = h('input', { name: 'shelters', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' });
  return sendingForm({
    tag: 'form.sweep-add-form',
    attrs: { dataset: { sweep: String(s.id) } },
    fields: [h('h3', t('sweeps.add')), chosen.el, [t('sweeps.add_codes'), codes]],
    submit: t('sweeps.do_add'),
    send: async () => {
      const r = await api.post(`/api/v1/sweeps/${s.id}/shelters`, { districts: chosen.chosen(), shelters: codesOf(codes) });
      done(notice('ok', t('sweeps.added', { n: r.changed })));
    },
    failed: (err) => t('sweeps.failed', { message: why(err) }),
  });
}

function figures(p) {
  return t('sweeps.figures', { done: p.inspected, left: p.not_yet, late: p.overdue, soon: p.due_soon, assigned: p.assigned });
}

function table(caption, rows, label) {
  return h(
    'table.sweep-table',
    h('caption', caption),
    h('thead', h('tr', [label, 'sweeps.shelters', 'sweeps.done', 'sweeps.left', 'sweeps.late'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h(
      'tbody',
      rows.map((r) =>
        h('tr', h('th', { scope: 'row' }, r.name), h('td', String(r.shelters)), h('td', String(r.inspected)), h('td', String(r.not_yet)), h('td', String(r.overdue))),
      ),
    ),
  );
}

function sweepItem(s, office, done) {
  const p = s.progress;
  const body = h('div');
  const more = h(
    'details',
    {
      ontoggle: async (event) => {
        if (!event.target.open || body.childElementCount) return;
        try {
          const d = await api.get(`/api/v1/sweeps/${s.id}`);
          mount(
            body,
            table(t('sweeps.district'), d.districts.map((r) => ({ ...r, name: r.district })), 'sweeps.district'),
            table(t('sweeps.inspector'), d.inspectors.map((r) => ({ ...r, name: r.inspector || t('sweeps.unassigned') })), 'sweeps.inspector'),
          );
        } catch (err) {
          mount(body, notice('error', err.message));
        }
      },
    },
    h('summary', t('sweeps.details')),
    body,
  );
  return h(
    'li',
    { dataset: { sweep: String(s.id) } },
    h('div.row-head', h('span.row-title', s.name), h('span.small', t(`sweeps.status.${s.status}`))),
    h('div.small.muted', t('sweeps.period', { from: date(`${s.starts_on}T12:00:00Z`), to: date(`${s.ends_on}T12:00:00Z`) })),
    h('progress', { max: Math.max(p.shelters, 1), value: p.inspected, 'aria-label': `${s.name}：${t('sweeps.bar', { done: p.inspected, all: p.shelters })}` }),
    h('div.small', figures(p)),
    more,
    office
      ? h(
          'details.sweep-edit',
          h('summary', t('sweeps.edit')),
          editForm(s, done),
          s.status === 'ended' ? null : addForm(s, office.districts, done),
        )
      : null,
  );
}

function createForm(districts, done) {
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  const startsOn = h('input', { name: 'starts_on', type: 'date', required: true });
  const endsOn = h('input', { name: 'ends_on', type: 'date', required: true });
  const chosen = districtPicker(t('sweeps.districts'), districts);
  const codes = h('input', { name: 'shelters', autocomplete: 'off', spellcheck: 'false' });
  const form = sendingForm({
    tag: 'form#sweep-form',
    fields: [
      [t('sweeps.name'), name],
      [t('sweeps.starts_on'), startsOn],
      [t('sweeps.ends_on'), endsOn],
      chosen.el,
      [t('sweeps.codes'), codes],
    ],
    submit: t('sweeps.create'),
    send: async () => {
      const created = await api.post('/api/v1/sweeps', {
        name: name.value.trim(),
        starts_on: startsOn.value,
        ends_on: endsOn.value,
        districts: chosen.chosen(),
        shelters: codesOf(codes),
      });
      form.reset();
      done(notice('ok', t('sweeps.created', { name: created.name, n: created.progress.shelters })));
    },
    failed: (err) => t('sweeps.failed', { message: why(err) }),
  });
  return form;
}

function assignForm(sweeps, districts, inspectors, isAdmin, done) {
  const sweep = h('select', { name: 'sweep' }, sweeps.map((s) => h('option', { value: String(s.id) }, s.name)));
  const district = h('select', { name: 'district' }, districts.map((d) => h('option', { value: d }, d)));
  const shelters = h('select', { name: 'shelters', multiple: true, size: 8 });
  const inspector = h('input', { name: 'inspector', list: 'sweep-inspectors', maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const options = h('datalist#sweep-inspectors');
  const message = h('div', { 'aria-live': 'polite' });
  const more = h('div');

  async function loadShelters() {
    if (!sweep.value || !district.value) return;
    const page = await api.get(`/api/v1/sweeps/${sweep.value}/shelters?limit=500&district=${encodeURIComponent(district.value)}`);
    mount(
      shelters,
      page.items.map((s) =>
        h('option', { value: s.code }, `${s.code} ${s.name}${s.inspector ? ` · ${s.inspector}` : ''}${s.inspected ? ` · ${t('sweeps.done')}` : ''}`),
      ),
    );
    mount(more, page.total > page.items.length ? notice('info', t('sweeps.more', { n: page.items.length })) : null);
    mount(options, inspectors.filter((u) => u.district === district.value).map((u) => h('option', { value: u.username }, u.display_name || u.username)));
  }

  async function send(path, body, said = 'sweeps.changed') {
    mount(message);
    try {
      const r = await api.post(`/api/v1/sweeps/${sweep.value}/${path}`, body);
      mount(message, notice('ok', t(said, { n: r.changed })));
      await loadShelters();
      done();
    } catch (err) {
      mount(message, notice('error', t('sweeps.failed', { message: why(err) })));
    }
  }

  const codes = () => [...shelters.selectedOptions].map((o) => o.value);
  sweep.addEventListener('change', () => loadShelters().catch(() => {}));
  district.addEventListener('change', () => loadShelters().catch(() => {}));
  loadShelters().catch(() => {});
  return fieldsForm(
    'form#assign-form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        send('assign', { inspector: inspector.value.trim(), shelters: codes() });
      },
    },
    [[t('sweeps.sweep'), sweep], [t('sweeps.district'), district], [t('sweeps.pick'), shelters], more, [t('sweeps.to'), inspector], options],
    message,
    h('button.primary', { type: 'submit' }, t('sweeps.do_assign')),
    h('button.secondary', { type: 'button', onclick: () => send('unassign', { shelters: codes() }) }, t('sweeps.do_unassign')),
    isAdmin
      ? h('button.secondary#remove-shelters', { type: 'button', onclick: () => send('shelters/remove', { shelters: codes() }, 'sweeps.removed') }, t('sweeps.do_remove'))
      : null,
  );
}

export async function render(root) {
  const user = currentUser();
  const isAdmin = user && user.role === 'admin';
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });
  const list = h('div');
  const forms = h('div');
  const [compliance, users] = await Promise.all([
    api.get('/api/v1/stats/compliance'),
    isAdmin ? api.get('/api/v1/users?limit=500') : Promise.resolve({ items: [] }),
  ]);
  const districts = compliance.districts.map((d) => d.district);
  const inspectors = users.items.filter((u) => u.role === 'inspector' && u.active);

  const changed = (m) => {
    mount(flash, m);
    load().catch(() => {});
  };
  const office = isAdmin ? { districts } : null;

  async function loadList() {
    const page = await api.get('/api/v1/sweeps?limit=100');
    mount(list, page.items.length ? h('ul.list#sweep-list', page.items.map((s) => sweepItem(s, office, changed))) : notice('info', t('sweeps.none')));
    return page.items;
  }
  async function load() {
    const sweeps = await loadList();
    mount(
      forms,
      isAdmin ? h('details.card', h('summary', t('sweeps.new')), createForm(districts, changed)) : null,
      sweeps.length ? h('details.card', h('summary', t('sweeps.assign')), assignForm(sweeps, districts, inspectors, isAdmin, () => loadList().catch(() => {}))) : null,
    );
  }
  await load();
  mount(root, h('h1', t('sweeps.title')), flash, list, forms);
}
