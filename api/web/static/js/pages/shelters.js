// The inspector's shelters: those assigned to them or in their district, searchable by name,
// code or address (in the phone, so it works underground). Those assigned to them in a
// running sweep come first (本轮巡查), each with the sweep's last day.

import { classLabel, date } from '../format.js';
import { extend, t } from '../i18n.js';
import { shelters } from '../inspector.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'shelters.title': '检查工程',
    'shelters.search': '搜索名称、编号或地址',
    'shelters.count': '共 {n} 处',
    'shelters.none': '没有分配给您的工程',
    'shelters.nomatch': '没有符合“{q}”的工程',
    'shelters.truncated': '只显示前 {n} 处，请用搜索缩小范围',
    'shelters.sweep': '本轮巡查',
    'shelters.others': '其他工程',
    'shelters.due': '{sweep}，{date} 前完成',
    'shelters.done': '{sweep}，已检查',
  },
  en: {
    'shelters.title': 'Shelters to inspect',
    'shelters.search': 'Search name, code or address',
    'shelters.count': '{n} shelter(s)',
    'shelters.none': 'No shelter is assigned to you',
    'shelters.nomatch': 'No shelter matches “{q}”',
    'shelters.truncated': 'Only the first {n} are shown; narrow the search',
    'shelters.sweep': 'This sweep',
    'shelters.others': 'Other shelters',
    'shelters.due': '{sweep}, due by {date}',
    'shelters.done': '{sweep}, inspected',
  },
});

function matches(s, q) {
  return [s.name, s.code, s.address, s.district].some((v) => v && v.toLowerCase().includes(q));
}

function item(s) {
  return h(
    'li',
    h(
      'a',
      { href: `#/shelters/${encodeURIComponent(s.code)}` },
      h('div.row-head', h('span.row-title', s.name), h(`span.pill.class-${s.current_class || 0}`, classLabel(s.current_class))),
      h('div.small.muted', `${s.code} · ${s.district}`),
      s.address ? h('div.small', s.address) : null,
      s.sweep
        ? h(
            'div.small.sweep-due',
            s.sweep.inspected
              ? t('shelters.done', { sweep: s.sweep.sweep })
              : t('shelters.due', { sweep: s.sweep.sweep, date: date(`${s.sweep.ends_on}T12:00:00Z`) }),
          )
        : null,
    ),
  );
}

/** The list's items, the sweep's assignments first under their own heading. */
function grouped(items) {
  const assigned = items.filter((s) => s.sweep);
  if (!assigned.length) return items.map(item);
  const rest = items.filter((s) => !s.sweep);
  return [
    h('li.list-heading', h('h2#sweep-heading', t('shelters.sweep'))),
    ...assigned.map(item),
    rest.length ? h('li.list-heading', h('h2', t('shelters.others'))) : null,
    ...rest.map(item),
  ];
}

export async function render(root, params) {
  const data = await shelters();
  const q0 = params.query.get('q') || '';
  const search = h('input', { type: 'search', id: 'shelter-search', value: q0, autocomplete: 'off', enterkeyhint: 'search' });
  const summary = h('p.small.muted', { 'aria-live': 'polite' });
  const list = h('ul.list#shelter-list');

  function show() {
    const q = search.value.trim().toLowerCase();
    const shown = q ? data.items.filter((s) => matches(s, q)) : data.items;
    mount(list, grouped(shown));
    summary.textContent = t('shelters.count', { n: shown.length });
    if (!data.items.length) mount(list, h('li', notice('info', t('shelters.none'))));
    else if (!shown.length) mount(list, h('li', notice('info', t('shelters.nomatch', { q: search.value.trim() }))));
  }

  search.addEventListener('input', show);
  mount(
    root,
    h('h1', t('shelters.title')),
    h('div.field', h('label', { for: search.id }, t('shelters.search')), search),
    data.total > data.items.length ? notice('info', t('shelters.truncated', { n: data.items.length })) : null,
    summary,
    list,
  );
  show();
}
