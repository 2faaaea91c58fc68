// One inspection: the graded class and what follows from it (notice number, deadline, the
// notice as PDF), its findings, a re-inspection's verdicts on earlier findings with the
// photos showing them, and its photos. An inspection just sent from the outbox is shown
// from the phone when the network is gone again.

import { download, api, request, NetworkError } from '../api.js';
import { classLabel, date, dateTime, deadline } from '../format.js';
import { extend, t } from '../i18n.js';
import { sent } from '../outbox.js';
import { h, mount } from '../ui.js';

extend({
  zh: {
    'result.title': '检查结果',
    'result.class': '评定类别',
    'result.next.1': '维护管理达标，纳入日常监管',
    'result.next.2': '现场下达整改通知书，限期整改',
    'result.next.3': '列入问题台账，专人跟踪督导',
    'result.next.4': '列为重点督导检查，全面整改；涉嫌违法的移交执法部门',
    'result.followups': '后续处理',
    'result.followups.none': '无需整改',
    'result.number': '编号',
    'result.due': '整改期限',
    'result.checkpoint': '中期检查',
    'result.containment': '控制措施期限',
    'result.pdf': '下载通知书（PDF）',
    'result.findings': '检查发现',
    'result.findings.none': '未发现问题',
    'result.closed': '现场已整改',
    'result.photos': '照片 {n} 张',
    'result.inspector': '检查人',
    'result.verdicts': '复查结论',
    'result.verdict.fixed': '已整改',
    'result.verdict.open': '仍未整改',
    'result.verdict.worse': '加重',
    'result.verdict.photo': '{item} 复查照片 {n}',
  },
  en: {
    'result.title': 'Inspection result',
    'result.class': 'Graded class',
    'result.next.1': 'Compliant: routine supervision',
    'result.next.2': 'Rectification notice issued on the spot, fix by the deadline',
    'result.next.3': 'Problem ledger entry, tracked by a named person',
    'result.next.4': 'Key supervision, full rectification; suspected illegal acts go to law enforcement',
    'result.followups': 'Follow-up',
    'result.followups.none': 'Nothing to fix',
    'result.number': 'Number',
    'result.due': 'Deadline',
    'result.checkpoint': 'Checkpoint',
    'result.containment': 'Containment by',
    'result.pdf': 'Download the notice (PDF)',
    'result.findings': 'Findings',
    'result.findings.none': 'No findings',
    'result.closed': 'fixed on the spot',
    'result.photos': '{n} photo(s)',
    'result.inspector': 'Inspector',
    'result.verdicts': 'Re-inspection',
    'result.verdict.fixed': 'Fixed',
    'result.verdict.open': 'Still open',
    'result.verdict.worse': 'Worse',
    'result.verdict.photo': '{item} re-inspection photo {n}',
  },
});

async function load(id) {
  try {
    return await api.get(`/api/v1/inspections/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    const kept = (await sent()).find((s) => String(s.inspection.id) === String(id));
    if (!kept) throw err;
    return kept.inspection;
  }
}

/** Thumbnails of attachments, fetched with the session's credentials. */
function thumbnails(photos, alt) {
  return h(
    'div.previews',
    photos.map((a, n) => {
      const img = h('img', { alt: alt(n + 1) });
      if (a.thumbnail_url) {
        request('GET', a.thumbnail_url, { raw: true, headers: { Accept: 'image/jpeg' } })
          .then((r) => r.blob())
          .then((blob) => {
            img.src = URL.createObjectURL(blob);
          })
          .catch(() => {});
      }
      return h('figure.preview', { dataset: { attachment: String(a.id) } }, img);
    }),
  );
}

/** A re-inspection's verdict on an earlier finding, with the photos the visit took of it. */
function verdictItem(v, photos) {
  const mine = photos.filter((a) => a.finding_id === v.finding_id);
  return h(
    'li.verdict-result',
    { dataset: { finding: String(v.finding_id) } },
    h('div.row-head', h('span.row-title', v.title || v.item), h('span.pill', t(`result.verdict.${v.verdict}`))),
    v.note ? h('div.small', v.note) : null,
    mine.length ? thumbnails(mine, (n) => t('result.verdict.photo', { item: v.title || v.item, n })) : null,
  );
}

function followup(f) {
  const due = deadline(f.due_at);
  const fact = (label, value, cls) => [h('dt', label), h('dd', { class: cls || false }, value)];
  return h(
    'li.card.followup',
    { dataset: { kind: f.kind } },
    h('h3', t(`kind.${f.kind}`)),
    h(
      'dl.facts',
      fact(t('result.number'), h('strong.notice-number', f.number)),
      fact(t('result.due'), `${date(f.due_at)}（${due.text}）`, due.overdue ? 'overdue' : ''),
      f.containment_due_at ? fact(t('result.containment'), dateTime(f.containment_due_at)) : [],
      f.checkpoint_at ? fact(t('result.checkpoint'), date(f.checkpoint_at)) : [],
    ),
    f.kind === 'referral'
      ? null
      : h(
          'p',
          h(
            'a.button.pdf-link',
            {
              href: `/api/v1/notices/${f.id}.pdf`,
              onclick: (event) => {
                event.preventDefault();
                download(`/api/v1/notices/${f.id}.pdf`, `${f.number}.pdf`).catch(() => {});
              },
            },
            t('result.pdf'),
          ),
        ),
  );
}

export async function render(root, params) {
  const i = await load(params.id);
  mount(
    root,
    h('p', h('a', { href: `#/shelters/${encodeURIComponent(i.shelter_code)}` }, `← ${i.shelter_code}`)),
    h('h1', t('result.title')),
    h('p.muted', `${i.shelter_code} · ${dateTime(i.inspected_at)} · ${t('result.inspector')} ${i.inspector}`),
    h(
      'section.card.grade',
      h('p.label', t('result.class')),
      h(`p.grade-class.class-${i.graded_class}#graded-class`, classLabel(i.graded_class)),
      h('p', t(`result.next.${i.graded_class}`)),
    ),
    h('h2', t('result.followups')),
    i.followups.length ? h('ul.list.followups', i.followups.map(followup)) : h('p.muted', t('result.followups.none')),
    h('h2', t('result.findings')),
    i.findings.length
      ? h(
          'ul.list',
          i.findings.map((f) =>
            h(
              'li',
              h(
                'div.row',
                h('div.row-head', h('span.row-title', f.title), h(`span.pill.sev-${f.severity}`, f.severity)),
                f.note ? h('div.small', f.note) : null,
                f.fixed_on_spot ? h('div.small', t('result.closed')) : null,
              ),
            ),
          ),
        )
      : h('p.muted', t('result.findings.none')),
    i.verdicts && i.verdicts.length
      ? [h('h2', t('result.verdicts')), h('ul.list#verdicts', i.verdicts.map((v) => verdictItem(v, i.photos || [])))]
      : null,
    i.photos && i.photos.length ? h('p.muted', t('result.photos', { n: i.photos.length })) : null,
  );
}
