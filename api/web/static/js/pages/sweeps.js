// Sweeps (巡查, #/sweeps) of the city office and district officers: each sweep with its
// progress (GET /api/v1/sweeps), its figures by district and inspector on opening
// (GET /api/v1/sweeps/{id}); the city office plans one (POST /api/v1/sweeps); both assign
// shelters of a district to an inspector (…/shelters, …/assign, …/unassign).

import { api, currentUser } from '../api.js';
import { date } from '../format.js';
import { extend, t } from '../i18n.js';
import { field, h, mount, notice } from '../ui.js';
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
  },
});

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

function sweepItem(s) {
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
  );
}

function createForm(districts, done) {
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  const startsOn = h('input', { name: 'starts_on', type: 'date', required: true });
  const endsOn = h('input', { name: 'ends_on', type: 'date', required: true });
  const chosen = h('select', { name: 'districts', multiple: true, size: Math.min(Math.max(districts.length, 2), 8) }, districts.map((d) => h('option', { value: d }, d)));
  const codes = h('input', { name: 'shelters', autocomplete: 'off', spellcheck: 'false' });
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary', { type: 'submit' }, t('sweeps.create'));
  const form = h(
    'form#sweep-form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        mount(message);
        try {
          const created = await api.post('/api/v1/sweeps', {
            name: name.value.trim(),
            starts_on: startsOn.value,
            ends_on: endsOn.value,
            districts: [...chosen.selectedOptions].map((o) => o.value),
            shelters: codes.value.split(/[\s,，]+/).filter(Boolean),
          });
          form.reset();
          done(notice('ok', t('sweeps.created', { name: created.name, n: created.progress.shelters })));
        } catch (err) {
          mount(message, notice('error', t('sweeps.failed', { message: refusal(err) })));
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t('sweeps.name'), name),
    field(t('sweeps.starts_on'), startsOn),
    field(t('sweeps.ends_on'), endsOn),
    field(t('sweeps.districts'), chosen),
    field(t('sweeps.codes'), codes),
    message,
    h('div.actions', submit),
  );
  return form;
}

function assignForm(sweeps, districts, inspectors, done) {
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

  async function send(path, body) {
    mount(message);
    try {
      const r = await api.post(`/api/v1/sweeps/${sweep.value}/${path}`, body);
      mount(message, notice('ok', t('sweeps.changed', { n: r.changed })));
      await loadShelters();
      done();
    } catch (err) {
      mount(message, notice('error', t('sweeps.failed', { message: refusal(err) })));
    }
  }

  const codes = () => [...shelters.selectedOptions].map((o) => o.value);
  sweep.addEventListener('change', () => loadShelters().catch(() => {}));
  district.addEventListener('change', () => loadShelters().catch(() => {}));
  loadShelters().catch(() => {});
  return h(
    'form#assign-form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        send('assign', { inspector: inspector.value.trim(), shelters: codes() });
      },
    },
    field(t('sweeps.sweep'), sweep),
    field(t('sweeps.district'), district),
    field(t('sweeps.pick'), shelters),
    more,
    field(t('sweeps.to'), inspector),
    options,
    message,
    h(
      'div.actions',
      h('button.primary', { type: 'submit' }, t('sweeps.do_assign')),
      h('button.secondary', { type: 'button', onclick: () => send('unassign', { shelters: codes() }) }, t('sweeps.do_unassign')),
    ),
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

  async function loadList() {
    const page = await api.get('/api/v1/sweeps?limit=100');
    mount(list, page.items.length ? h('ul.list#sweep-list', page.items.map(sweepItem)) : notice('info', t('sweeps.none')));
    return page.items;
  }
  async function load() {
    const sweeps = await loadList();
    const created = (m) => {
      mount(flash, m);
      load().catch(() => {});
    };
    mount(
      forms,
      isAdmin ? h('details.card', h('summary', t('sweeps.new')), createForm(districts, created)) : null,
      sweeps.length ? h('details.card', h('summary', t('sweeps.assign')), assignForm(sweeps, districts, inspectors, () => loadList().catch(() => {}))) : null,
    );
  }
  await load();
  mount(root, h('h1', t('sweeps.title')), flash, list, forms);
}
