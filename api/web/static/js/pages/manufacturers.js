// The office's directory of protective-equipment manufacturers (防护设备厂家名录,
// #/manufacturers), for district officers and the city office: searched by name or product
// (GET /api/v1/manufacturers?q=), a page at a time, each with its products, region and
// contact. The city office adds a manufacturer (POST /api/v1/manufacturers) and edits one
// in place (PATCH /api/v1/manufacturers/{id}); a name already listed is refused as the API
// says. A class 3 ledger entry names one of them on the follow-ups page (js/makers.js).

import { api, currentUser, query } from '../api.js';
import { go } from '../app.js';
import { extend, t } from '../i18n.js';
import { makerContact } from '../makers.js';
import { field, h, mount, notice, sendingForm, toggler } from '../ui.js';
import { refusal } from './admin-users.js';

extend({
  zh: {
    'mkdir.back': '整改跟踪',
    'mkdir.intro': '问题台账（三类）需要更换或维修防护设备时，协助工程联系这些厂家。',
    'mkdir.search': '按名称或产品查找',
    'mkdir.find': '查找',
    'mkdir.count': '共 {n} 家',
    'mkdir.page': '第 {from}–{to} 家',
    'mkdir.prev': '上一页',
    'mkdir.next': '下一页',
    'mkdir.none': '没有符合的厂家',
    'mkdir.all': '显示全部厂家',
    'mkdir.empty': '名录中还没有厂家',
    'mkdir.new': '添加厂家',
    'mkdir.create': '添加到名录',
    'mkdir.created': '已添加厂家 {name}。',
    'mkdir.edit': '编辑',
    'mkdir.save': '保存修改',
    'mkdir.saved': '已保存 {name} 的修改。',
    'mkdir.exists': '名录中已有名为“{name}”的厂家。',
    'mkdir.failed': '未能保存：{message}',
    'mkdir.products.hint': '例如：防护密闭门、密闭阀门、过滤吸收器',
  },
  en: {
    'mkdir.back': 'Follow-ups',
    'mkdir.intro': 'When a ledger entry (class 3) needs protective equipment replaced or repaired, the office helps the shelter reach these makers.',
    'mkdir.search': 'Find by name or product',
    'mkdir.find': 'Find',
    'mkdir.count': '{n} manufacturer(s)',
    'mkdir.page': '{from}–{to}',
    'mkdir.prev': 'Previous',
    'mkdir.next': 'Next',
    'mkdir.none': 'No manufacturer matches',
    'mkdir.all': 'Show every manufacturer',
    'mkdir.empty': 'The directory is empty',
    'mkdir.new': 'Add a manufacturer',
    'mkdir.create': 'Add to the directory',
    'mkdir.created': 'Manufacturer {name} added.',
    'mkdir.edit': 'Edit',
    'mkdir.save': 'Save the changes',
    'mkdir.saved': 'Changes to {name} saved.',
    'mkdir.exists': 'The directory already lists a manufacturer named “{name}”.',
    'mkdir.failed': 'Not saved: {message}',
    'mkdir.products.hint': 'e.g. blast doors, airtight valves, filter absorbers',
  },
});

const LIMIT = 50;
const KEEPERS = ['admin'];
const FIELDS = [
  ['name', { required: true, maxlength: 200 }],
  ['products', { maxlength: 4000, rows: 2 }, 'mkdir.products.hint'],
  ['region', { maxlength: 64 }],
  ['contact_name', { maxlength: 128, autocomplete: 'off' }],
  ['contact_phone', { type: 'tel', maxlength: 32, autocomplete: 'off' }],
];

/** The add form (`m` null) or the edit form of manufacturer `m`; done(text) reloads the page. */
function makerForm(m, done) {
  const key = m ? m.id : 'new';
  const inputs = Object.fromEntries(
    FIELDS.map(([name, attrs]) => {
      const value = m ? m[name] : '';
      const id = `mk-${name}-${key}`;
      // a textarea's text is its content (reset() returns to it), an input's its value attribute
      return [name, name === 'products' ? h('textarea', { id, name, ...attrs }, value) : h('input', { id, name, ...attrs, value })];
    }),
  );
  const form = sendingForm({
    tag: `form.maker-form${m ? '.maker-edit-form' : '#maker-form'}`,
    attrs: m ? { hidden: true } : null,
    fields: FIELDS.map(([name, , hint]) => field(t(`mk.${name}`), inputs[name], hint ? t(hint) : null)),
    submit: t(m ? 'mkdir.save' : 'mkdir.create'),
    submitCls: '.maker-submit',
    send: async () => {
      const body = Object.fromEntries(FIELDS.map(([name]) => [name, inputs[name].value.trim()]));
      const saved = m ? await api.patch(`/api/v1/manufacturers/${m.id}`, body) : await api.post('/api/v1/manufacturers', body);
      if (!m) form.reset();
      done(t(m ? 'mkdir.saved' : 'mkdir.created', { name: saved.name }));
    },
    failed: (err) =>
      err.code === 'manufacturer_exists'
        ? t('mkdir.exists', { name: inputs.name.value.trim() })
        : t('mkdir.failed', { message: refusal(err) }),
  });
  return { form, focus: inputs.name };
}

function makerItem(m, editable, done) {
  const edit = editable ? makerForm(m, done) : null;
  return h(
    'li.maker-entry',
    { dataset: { maker: String(m.id) } },
    h('div.row-head', h('span.row-title', m.name), m.region ? h('span.pill', m.region) : null),
    m.products ? h('div.small', m.products) : null,
    makerContact(m) ? h('div.small.muted', makerContact(m)) : null,
    edit ? h('div.actions', toggler(t('mkdir.edit'), 'edit-maker', edit.form, edit.focus)) : null,
    edit ? edit.form : null,
  );
}

export async function render(root, params) {
  const q = params.query.get('q') || '';
  const offset = Math.max(0, Number(params.query.get('offset')) || 0);
  const editable = KEEPERS.includes(currentUser().role);
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });
  const list = h('div');
  const at = (o) => `/manufacturers${query({ q: q || null, offset: o || null })}`;

  async function load(message) {
    const done = (text) => load(text).catch(() => {});
    const page = await api.get(`/api/v1/manufacturers${query({ q: q || null, limit: LIMIT, offset })}`);
    mount(flash, message ? notice('ok', message) : null);
    mount(
      list,
      h(
        'p.muted#maker-count',
        t('mkdir.count', { n: page.total }),
        page.total > LIMIT ? ` · ${t('mkdir.page', { from: offset + 1, to: offset + page.items.length })}` : '',
        q ? [' · ', h('a', { href: '#/manufacturers' }, t('mkdir.all'))] : null,
      ),
      page.items.length
        ? h('ul.list#maker-list', page.items.map((m) => makerItem(m, editable, done)))
        : notice('info', t(q ? 'mkdir.none' : 'mkdir.empty')),
      page.total > LIMIT
        ? h(
            'div.actions',
            offset > 0 ? h('a.button', { href: `#${at(Math.max(0, offset - LIMIT))}` }, t('mkdir.prev')) : null,
            offset + LIMIT < page.total ? h('a.button', { href: `#${at(offset + LIMIT)}` }, t('mkdir.next')) : null,
          )
        : null,
    );
  }

  await load();
  const search = h('input', { type: 'search', id: 'maker-search', name: 'q', value: q, maxlength: 200, autocomplete: 'off', enterkeyhint: 'search' });
  mount(
    root,
    h('p', h('a', { href: '#/followups' }, `← ${t('mkdir.back')}`)),
    h('h1', t('mk.directory')),
    h('p.muted', t('mkdir.intro')),
    flash,
    editable
      ? h(
          'details.card.new-maker',
          h('summary', t('mkdir.new')),
          makerForm(null, (text) => {
            load(text).catch(() => {});
          }).form,
        )
      : null,
    h(
      'form.search-form',
      {
        role: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          go(`/manufacturers${query({ q: search.value.trim() || null })}`);
        },
      },
      h('label', { for: search.id }, t('mkdir.search')),
      h('div.inline', search, h('button', { type: 'submit' }, t('mkdir.find'))),
    ),
    list,
  );
}
