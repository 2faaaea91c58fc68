// Class 4 milestones and referral outcomes of a follow-up, shown wherever follow-ups are:
// the follow-ups page (#/followups) and the manager's shelter (#/my/:code).
// milestonesView(): containment, plan and completion with their deadlines and done state; the
// shelter's manager, a district officer or the city office records containment or the plan
// with a note and photos (POST /api/v1/followups/{id}/milestones/{containment|plan}).
// outcomeView(): a referral's outcome history; an officer records the outcome
// (POST …/outcome) or, once the referral is closed, a correction with its reason
// (POST …/outcome/corrections). The API's refusal is shown as it says.

import { api } from './api.js';
import { date, dateTime, deadline, number } from './format.js';
import { t } from './i18n.js';
import { evidenceForm } from './photos.js';
import { field, h, mount, notice, toggler } from './ui.js';

const RECORDERS = ['manager', 'district_officer', 'admin'];
const OFFICERS = ['district_officer', 'admin'];
const STATUSES = ['referred', 'warning', 'fined', 'dismissed', 'other'];
const PARTIES = ['unit', 'individual'];

function recordForm(fu, milestone, done) {
  return evidenceForm({
    className: 'milestone-form',
    submitClass: 'milestone-submit',
    noteId: `ms-note-${fu.id}-${milestone}`,
    url: `/api/v1/followups/${fu.id}/milestones/${milestone}`,
    dataset: { milestone },
    text: {
      note: t('ms.note'),
      photos: t('ms.photos'),
      submit: t('ms.submit'),
      needPhoto: t('ms.need_photo'),
      sent: t('ms.sent', { what: t(`ms.${milestone}`) }),
      error: (message) => t('ms.error', { message }),
    },
    done,
  });
}

function milestoneItem(fu, m, canRecord, done) {
  const recordable = canRecord && fu.status === 'open' && !m.done_at && m.milestone !== 'completion';
  const form = recordable ? recordForm(fu, m.milestone, done) : null;
  let state;
  if (m.done_at) state = h('span.pill.ms-done', t('ms.done', { time: dateTime(m.done_at) }));
  else if (m.overdue) state = h('span.pill.sev-critical.ms-overdue', deadline(m.due_at).text);
  else state = h('span.pill.ms-pending', t('ms.pending'));
  return h(
    'li.milestone',
    { dataset: { milestone: m.milestone, done: m.done_at ? 'true' : 'false' } },
    h('div.row-head', h('span.row-title', t(`ms.${m.milestone}`)), state),
    h('div.small', t('ms.due', { time: m.milestone === 'containment' ? dateTime(m.due_at) : date(m.due_at) })),
    m.recorded_by
      ? h('div.small.muted.ms-record', t('ms.recorded', { who: m.recorded_by_name || m.recorded_by, time: dateTime(m.recorded_at), note: m.note || '–' }))
      : null,
    m.evidence && m.evidence.length ? h('div.small.muted', t('ms.evidence', { n: m.evidence.length })) : null,
    form ? h('div.actions', toggler(t('ms.record', { what: t(`ms.${m.milestone}`) }), 'record-milestone', form)) : null,
    form,
  );
}

/** The three milestones of a key-supervision follow-up; null for other kinds. */
export function milestonesView(fu, role, done) {
  if (fu.kind !== 'key_supervision' || !fu.milestones || !fu.milestones.length) return null;
  const canRecord = RECORDERS.includes(role);
  return [
    h('h3', t('ms.title')),
    h('ul.list.milestones', fu.milestones.map((m) => milestoneItem(fu, m, canRecord, done))),
  ];
}

function outcomeForm(fu, correcting, done) {
  const key = `${fu.id}-${correcting ? 'c' : 'o'}`;
  const status = h('select', { id: `oc-status-${key}`, name: 'status' }, STATUSES.map((s) => h('option', { value: s }, t(`oc.status.${s}`))));
  const party = h('select', { id: `oc-party-${key}`, name: 'party_type' }, PARTIES.map((p) => h('option', { value: p }, t(`oc.party.${p}`))));
  const fine = h('input', { id: `oc-fine-${key}`, name: 'fine_yuan', type: 'number', min: 0, step: 1, inputmode: 'numeric' });
  const note = h('textarea', { id: `oc-note-${key}`, name: 'note', maxlength: 4000, rows: 2 });
  const reason = correcting ? h('textarea', { id: `oc-reason-${key}`, name: 'reason', maxlength: 4000, rows: 2, required: true }) : null;
  const message = h('div');
  const submit = h('button.primary.outcome-submit', { type: 'submit' }, t(correcting ? 'oc.correct.submit' : 'oc.submit'));
  async function onSubmit(event) {
    event.preventDefault();
    const body = { status: status.value, party_type: party.value, note: note.value.trim() };
    if (fine.value !== '') body.fine_yuan = Number(fine.value);
    if (correcting) body.reason = reason.value.trim();
    submit.disabled = true;
    try {
      await api.post(`/api/v1/followups/${fu.id}/outcome${correcting ? '/corrections' : ''}`, body);
      done(t(correcting ? 'oc.corrected' : 'oc.recorded'));
    } catch (err) {
      submit.disabled = false;
      const text = err.code === 'fine_out_of_range' ? t('oc.out_of_range', { message: err.message }) : t('ms.error', { message: err.message });
      mount(message, notice('error', text));
    }
  }
  return h(
    `form.outcome-form${correcting ? '.correction-form' : ''}`,
    { hidden: true, onsubmit: onSubmit },
    h('div.filter-row', field(t('oc.status'), status), field(t('oc.party'), party)),
    field(t('oc.fine'), fine, t('oc.fine.hint')),
    field(t('oc.note'), note),
    reason ? field(t('oc.reason'), reason) : null,
    message,
    h('div.actions', submit),
  );
}

function historyItem(r) {
  const fine = r.fine_yuan !== null && r.fine_yuan !== undefined ? ` · ${t('oc.fine.value', { n: number(r.fine_yuan) })}` : '';
  const party = r.party_type ? ` · ${t(`oc.party.${r.party_type}`)}` : '';
  return h(
    'li.outcome-record',
    { dataset: { kind: r.kind } },
    h('div.row-head', h('span.row-title', `${t(`oc.status.${r.status}`)}${party}${fine}`), h('span.pill', t(`oc.kind.${r.kind}`))),
    h('div.small.muted', t('oc.by', { who: r.recorded_by_name || r.recorded_by || '–', time: dateTime(r.recorded_at) })),
    r.note ? h('div.small', r.note) : null,
    r.reason ? h('div.small', t('oc.reason.value', { reason: r.reason })) : null,
  );
}

/** A referral's outcome history and, for an officer, the form to record or correct it. */
export function outcomeView(fu, role, done) {
  if (fu.kind !== 'referral') return null;
  const history = fu.outcome_history || [];
  const canRecord = OFFICERS.includes(role);
  const correcting = fu.status === 'closed';
  const form = canRecord ? outcomeForm(fu, correcting, done) : null;
  const label = t(correcting ? 'oc.correct' : 'oc.record');
  return [
    h('h3', t('oc.title')),
    history.length ? h('ul.list.outcomes', history.map(historyItem)) : h('p.muted', t('oc.none')),
    form ? h('div.actions', toggler(label, correcting ? 'correct-outcome' : 'record-outcome', form)) : null,
    form,
  ];
}
