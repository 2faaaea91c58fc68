// One shelter: its facts, current class, open findings with their deadlines, recent
// inspections; an inspector starts an inspection here.

import { api, currentUser } from '../api.js';
import { classLabel, date, dateTime, deadline } from '../format.js';
import { extend, t } from '../i18n.js';
import { shelter } from '../inspector.js';
import { h, mount, notice } from '../ui.js';

extend({
  zh: {
    'shelter.inspect': '开始检查',
    'shelter.class.is': '当前类别：',
    'shelter.district': '区',
    'shelter.address': '地址',
    'shelter.manager': '工程长',
    'shelter.unit': '责任单位',
    'shelter.wartime': '战时功能',
    'shelter.peacetime': '平时用途',
    'shelter.open': '未关闭问题',
    'shelter.open.none': '没有未关闭的问题',
    'shelter.open.offline': '离线：未关闭问题需联网后查看',
    'shelter.inspections': '近期检查',
    'shelter.inspections.none': '尚无检查记录',
    'finding.due': '期限 {date}',
  },
  en: {
    'shelter.inspect': 'Start inspection',
    'shelter.class.is': 'Current class: ',
    'shelter.district': 'District',
    'shelter.address': 'Address',
    'shelter.manager': 'Manager (工程长)',
    'shelter.unit': 'Responsible unit',
    'shelter.wartime': 'Wartime function',
    'shelter.peacetime': 'Peacetime use',
    'shelter.open': 'Open findings',
    'shelter.open.none': 'No open findings',
    'shelter.open.offline': 'Offline: open findings need the network',
    'shelter.inspections': 'Recent inspections',
    'shelter.inspections.none': 'No inspection yet',
    'finding.due': 'due {date}',
  },
});

export function findingItem(f) {
  const due = f.due_at ? deadline(f.due_at) : null;
  return h(
    'li',
    h(
      'div.row',
      h('div.row-head', h('span.row-title', f.title), h(`span.pill.sev-${f.severity}`, f.severity)),
      f.note ? h('div.small', f.note) : null,
      due
        ? h('div.small', { class: due.overdue ? 'small overdue' : 'small' }, `${t('finding.due', { date: date(f.due_at) })} · ${due.text}`)
        : null,
    ),
  );
}

async function recent(code, box) {
  try {
    const page = await api.get(`/api/v1/shelters/${encodeURIComponent(code)}/inspections?limit=5`);
    mount(
      box,
      page.items.length
        ? h(
            'ul.list',
            page.items.map((i) =>
              h(
                'li',
                h(
                  'a',
                  { href: `#/inspections/${i.id}` },
                  h('div.row-head', h('span', dateTime(i.inspected_at)), h(`span.pill.class-${i.graded_class}`, classLabel(i.graded_class))),
                  h('div.small.muted', i.inspector),
                ),
              ),
            ),
          )
        : h('p.muted', t('shelter.inspections.none')),
    );
  } catch {
    box.remove();
  }
}

export async function render(root, params) {
  const s = await shelter(params.code);
  const user = currentUser();
  const canInspect = ['inspector', 'admin'].includes(user.role);
  const fact = (label, value) => (value ? [h('dt', label), h('dd', value)] : []);
  const history = h('div');
  mount(
    root,
    h('p', h('a', { href: '#/shelters' }, `← ${t('common.back')}`)),
    h('h1', s.name),
    h('p.muted', s.code),
    h('p', t('shelter.class.is'), h(`span.pill.class-${s.current_class || 0}`, classLabel(s.current_class))),
    canInspect
      ? h('div.actions', h('a.button.primary#start-inspection', { href: `#/shelters/${encodeURIComponent(s.code)}/inspect` }, t('shelter.inspect')))
      : null,
    h(
      'dl.facts',
      fact(t('shelter.district'), s.district),
      fact(t('shelter.address'), s.address),
      fact(t('shelter.manager'), [s.manager_name || s.manager, s.manager_phone].filter(Boolean).join(' · ')),
      fact(t('shelter.unit'), [s.responsible_unit, s.responsible_unit_contact, s.responsible_unit_phone].filter(Boolean).join(' · ')),
      fact(t('shelter.wartime'), s.wartime_function),
      fact(t('shelter.peacetime'), s.peacetime_use),
    ),
    h('h2', t('shelter.open')),
    s.open_findings === null
      ? notice('info', t('shelter.open.offline'))
      : s.open_findings.length
        ? h('ul.list', s.open_findings.map(findingItem))
        : h('p.muted', t('shelter.open.none')),
    h('h2', t('shelter.inspections')),
    history,
  );
  recent(s.code, history);
}
