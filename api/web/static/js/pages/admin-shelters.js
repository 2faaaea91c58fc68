// The shelter register for the city office (#/admin/shelters): search by name or code
// (GET /api/v1/shelters?q=), a page at a time; each opens its edit page, with its sensors
// and its sign.

import { api, query } from '../api.js';
import { classLabel } from '../format.js';
import { go } from '../app.js';
import { extend, t } from '../i18n.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'ashelters.title': '工程登记',
    'ashelters.back': '系统管理',
    'ashelters.new': '登记新工程',
    'ashelters.search': '按名称或编号查找',
    'ashelters.find': '查找',
    'ashelters.count': '共 {n} 处',
    'ashelters.page': '第 {from}–{to} 处',
    'ashelters.prev': '上一页',
    'ashelters.next': '下一页',
    'ashelters.none': '没有符合的工程',
    'ashelters.inactive': '已停用',
  },
  en: {
    'ashelters.title': 'Shelter register',
    'ashelters.back': 'Administration',
    'ashelters.new': 'Register a shelter',
    'ashelters.search': 'Find by name or code',
    'ashelters.find': 'Find',
    'ashelters.count': '{n} shelter(s)',
    'ashelters.page': '{from}–{to}',
    'ashelters.prev': 'Previous',
    'ashelters.next': 'Next',
    'ashelters.none': 'No shelter matches',
    'ashelters.inactive': 'inactive',
  },
});

const LIMIT = 50;

export async function render(root, params) {
  const q = params.query.get('q') || '';
  const offset = Math.max(0, Number(params.query.get('offset')) || 0);
  const page = await api.get(`/api/v1/shelters${query({ q, limit: LIMIT, offset })}`);
  const search = h('input', { type: 'search', id: 'admin-shelter-search', name: 'q', value: q, maxlength: 100, autocomplete: 'off' });
  const at = (o) => `/admin/shelters${query({ q, offset: o || null })}`;
  const item = (s) =>
    h(
      'li',
      h(
        'a',
        { href: `#/admin/shelters/${encodeURIComponent(s.code)}` },
        h('div.row-head', h('span.row-title', s.name), h(`span.pill.class-${s.current_class || 0}`, classLabel(s.current_class))),
        h('div.small.muted', [s.code, s.district, s.manager_name || s.manager, s.active ? null : t('ashelters.inactive')].filter(Boolean).join(' · ')),
      ),
    );
  mount(
    root,
    h('p', h('a', { href: '#/admin' }, `← ${t('ashelters.back')}`)),
    h('h1', t('ashelters.title')),
    h('div.actions', h('a.button.primary#new-shelter', { href: '#/admin/new-shelter' }, t('ashelters.new'))),
    h(
      'form.search-form',
      {
        role: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          go(`/admin/shelters${query({ q: search.value.trim() })}`);
        },
      },
      h('label', { for: search.id }, t('ashelters.search')),
      h('div.inline', search, h('button', { type: 'submit' }, t('ashelters.find'))),
    ),
    h(
      'p.muted',
      t('ashelters.count', { n: page.total }),
      page.total > LIMIT ? ` · ${t('ashelters.page', { from: offset + 1, to: offset + page.items.length })}` : '',
    ),
    page.items.length ? h('ul.list#admin-shelter-list', page.items.map(item)) : notice('info', t('ashelters.none')),
    page.total > LIMIT
      ? h(
          'div.actions',
          offset > 0 ? h('a.button', { href: `#${at(Math.max(0, offset - LIMIT))}` }, t('ashelters.prev')) : null,
          offset + LIMIT < page.total ? h('a.button', { href: `#${at(offset + LIMIT)}` }, t('ashelters.next')) : null,
        )
      : null,
  );
}
