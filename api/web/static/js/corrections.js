// Corrections waiting for approval, shown to district officers and the city office on the
// follow-ups page (#/followups), and their count beside 整改 in the navigation. A correction
// that removes or lowers findings changes nothing until an officer other than its author
// approves it (POST /api/v1/inspections/{id}/approve, optional note) or rejects it (…/reject,
// note required); the list is GET /api/v1/corrections?status=pending, oldest first, in the
// caller's scope. Its author is offered no decision; the API's refusal is shown if it comes.

import { api, query } from './api.js';
import { classLabel, dateTime } from './format.js';
import { extend, t } from './i18n.js';
import { decision } from './decisions.js';
import { h } from './ui.js';

extend({
  zh: {
    'corr.title': '待审批的更正',
    'corr.count': '{n} 项更正删除或降低了问题，须由更正人以外的官员审批后生效。',
    'corr.more': '只显示最早的 {n} 项',
    'corr.pending': '待审批',
    'corr.author': '更正人',
    'corr.submitted': '提交时间',
    'corr.reason': '理由',
    'corr.corrects': '所更正的记录',
    'corr.inspection': '检查记录 {id}',
    'corr.class': '更正后等级',
    'corr.changes': '删除或降低的问题',
    'corr.removed': '{before} → 删除',
    'corr.lowered': '{before} → {after}',
    'corr.proposed': '更正后的问题',
    'corr.proposed.none': '无（全部删除）',
    'corr.fixed_on_spot': '当场整改',
    'corr.own': '这是您提交的更正，须由其他官员审批。',
    'corr.approve': '批准更正',
    'corr.reject': '不予批准',
    'corr.approve.note': '审批意见',
    'corr.reject.note': '不予批准的原因（必填）',
    'corr.approve.submit': '确认批准',
    'corr.reject.submit': '确认不予批准',
    'corr.approved': '已批准：更正生效，工程等级已重新评定。',
    'corr.rejected': '已不予批准：原检查记录继续有效。',
    'corr.same_person': '更正须由更正人以外的官员审批：请由其他官员审批。',
  },
  en: {
    'corr.title': 'Corrections awaiting approval',
    'corr.count': '{n} correction(s) remove or lower findings; an officer other than the author must approve before they take effect.',
    'corr.more': 'Only the oldest {n} are shown',
    'corr.pending': 'Awaiting approval',
    'corr.author': 'Corrected by',
    'corr.submitted': 'Submitted',
    'corr.reason': 'Reason',
    'corr.corrects': 'Corrects',
    'corr.inspection': 'Inspection {id}',
    'corr.class': 'Class after',
    'corr.changes': 'Findings removed or lowered',
    'corr.removed': '{before} → removed',
    'corr.lowered': '{before} → {after}',
    'corr.proposed': 'Findings after the correction',
    'corr.proposed.none': 'None (all removed)',
    'corr.fixed_on_spot': 'fixed on the spot',
    'corr.own': 'You made this correction: another officer approves it.',
    'corr.approve': 'Approve',
    'corr.reject': 'Reject',
    'corr.approve.note': 'Approval note',
    'corr.reject.note': 'Why it is rejected (required)',
    'corr.approve.submit': 'Confirm approval',
    'corr.reject.submit': 'Confirm rejection',
    'corr.approved': 'Approved: the correction is in effect and the class recomputed.',
    'corr.rejected': 'Rejected: the corrected inspection stays in force.',
    'corr.same_person': 'A correction is decided by an officer other than its author: ask a colleague.',
  },
});

/** The roles that decide on corrections. */
export const DECIDERS = ['district_officer', 'admin'];
const LIMIT = 50;

/** Tell the navigation how many corrections wait. */
function announce(count) {
  window.dispatchEvent(new CustomEvent('correctionschange', { detail: { count } }));
}

/** Fetch how many corrections wait in the caller's scope and announce it. */
export async function countWaiting() {
  const page = await api.get(`/api/v1/corrections${query({ status: 'pending', limit: 1 })}`);
  announce(page.total);
}

function correctionDecision(c, kind, done) {
  return decision({
    key: c.inspection_id,
    cls: `${kind}-correction`,
    formCls: 'correction-decision',
    path: `/api/v1/inspections/${c.inspection_id}/${kind}`,
    required: kind === 'reject',
    dataset: { correction: String(c.inspection_id) },
    labels: {
      open: t(`corr.${kind}`),
      note: t(`corr.${kind}.note`),
      submit: t(`corr.${kind}.submit`),
      done: t(kind === 'approve' ? 'corr.approved' : 'corr.rejected'),
      samePerson: t('corr.same_person'),
    },
    done,
  });
}

function changeItem(change) {
  const text = change.after
    ? t('corr.lowered', { before: change.before, after: change.after })
    : t('corr.removed', { before: change.before });
  return h(
    'li.change',
    { dataset: { finding: String(change.finding_id), item: change.item } },
    h('div.row-head', h('span.row-title', change.title), h(`span.pill.sev-${change.before}`, text)),
  );
}

function proposedItem(p) {
  return h(
    'li',
    h('div.row-head', h('span.row-title', p.title), h(`span.pill.sev-${p.severity}`, p.severity)),
    p.fixed_on_spot ? h('div.small.muted', t('corr.fixed_on_spot')) : null,
    p.note ? h('div.small', p.note) : null,
  );
}

function correctionCard(c, me, done) {
  const own = c.author === me.username;
  const approve = own ? null : correctionDecision(c, 'approve', done);
  const reject = own ? null : correctionDecision(c, 'reject', done);
  const fact = (label, value) => [h('dt', label), h('dd', value)];
  return h(
    'li.card.correction',
    { dataset: { correction: String(c.inspection_id), shelter: c.shelter_code } },
    h(
      'div.row-head',
      h('h3', h('a', { href: `#/shelters/${encodeURIComponent(c.shelter_code)}` }, c.shelter_name)),
      h('span.pill.corr-pending', t('corr.pending')),
    ),
    h('p.muted', `${c.shelter_code} · ${c.district}`),
    h(
      'dl.facts',
      fact(t('corr.author'), c.author_name || c.author),
      fact(t('corr.submitted'), dateTime(c.submitted_at)),
      fact(t('corr.reason'), h('span.corr-reason', c.reason)),
      fact(t('corr.corrects'), h('a', { href: `#/inspections/${c.corrects}` }, t('corr.inspection', { id: c.corrects }))),
      fact(t('corr.class'), classLabel(c.graded_class)),
    ),
    h('h4', t('corr.changes')),
    h('ul.list.changes', c.changes.map(changeItem)),
    h('h4', t('corr.proposed')),
    c.proposed_findings.length ? h('ul.list.proposed', c.proposed_findings.map(proposedItem)) : h('p.muted', t('corr.proposed.none')),
    own ? h('p.notice.notice-info.corr-own', t('corr.own')) : h('div.actions', approve.open, reject.open),
    approve ? approve.form : null,
    reject ? reject.form : null,
  );
}

/**
 * The section of corrections waiting in the caller's scope, or null when none waits;
 * `done(text)` after a decision. Announces the count to the navigation.
 */
export async function correctionsView(me, done) {
  const page = await api.get(`/api/v1/corrections${query({ status: 'pending', limit: LIMIT })}`);
  announce(page.total);
  if (!page.total) return null;
  return h(
    'section.corrections#corrections',
    { 'aria-labelledby': 'corrections-title' },
    h('h2#corrections-title', t('corr.title')),
    h('p.muted', t('corr.count', { n: page.total })),
    page.total > page.items.length ? h('p.muted', t('corr.more', { n: page.items.length })) : null,
    h('ul.list.corrections#correction-list', page.items.map((c) => correctionCard(c, me, done))),
  );
}
