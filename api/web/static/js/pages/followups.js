// The follow-ups (整改, #/followups): notices, ledger entries, key supervision and referrals
// in the caller's scope (GET /api/v1/followups?with_findings=true), filtered by status,
// overdue and class, each with its deadline, its notice as PDF and its findings. A fix the
// manager reported is verified or rejected here (POST /api/v1/findings/{id}/verify|reject)
// by someone other than who reported it; the API's refusal is shown as it says. Key
// supervision shows its milestones and referrals their outcome history (js/milestones.js);
// a class 3 ledger entry its equipment manufacturer and the contacts made (js/makers.js).
// Officers and the city office first see the corrections waiting for their approval
// (js/corrections.js).

import { api, currentUser, download, query, request } from '../api.js';
import { correctionsView, DECIDERS } from '../corrections.js';
import { decision } from '../decisions.js';
import { classLabel, date, dateTime, deadline } from '../format.js';
import { extend, t } from '../i18n.js';
import { makerView, TRACKERS } from '../makers.js';
import { milestonesView, outcomeView } from '../milestones.js';
import { errorView, field, h, mount, notice } from '../ui.js';

extend({
  zh: {
    'fu.title': '整改跟踪',
    'fu.filters': '筛选',
    'fu.status': '状态',
    'fu.status.open': '进行中',
    'fu.status.escalated': '已升级',
    'fu.status.closed': '已关闭',
    'fu.status.all': '全部',
    'fu.class': '类别',
    'fu.class.all': '全部类别',
    'fu.overdue': '只看逾期',
    'fu.apply': '查看',
    'fu.count': '共 {n} 项',
    'fu.more': '只显示前 {n} 项，请用筛选缩小范围',
    'fu.none': '没有符合条件的整改事项',
    'fu.due': '整改期限',
    'fu.tracker': '跟踪人',
    'fu.pdf': '通知书（PDF）',
    'fu.referral_pdf': '移送函（PDF）',
    'fu.findings': '问题',
    'fu.reported': '{time} 报告已整改：{note}',
    'fu.verify': '核验通过',
    'fu.reject': '退回整改',
    'fu.verify.note': '核验意见',
    'fu.reject.note': '退回原因（必填）',
    'fu.verify.submit': '确认核验通过',
    'fu.reject.submit': '确认退回',
    'fu.verified': '已核验通过，问题已关闭。',
    'fu.rejected': '已退回，问题重新待整改。',
    'fu.same_person': '核验人必须是报告整改者以外的人：请由其他人员核验。',
    'fu.evidence': '整改照片 {n}',
    'fu.evidence.file': '整改材料 {n}（{name}）',
  },
  en: {
    'fu.title': 'Follow-ups',
    'fu.filters': 'Filter',
    'fu.status': 'Status',
    'fu.status.open': 'Open',
    'fu.status.escalated': 'Escalated',
    'fu.status.closed': 'Closed',
    'fu.status.all': 'All',
    'fu.class': 'Class',
    'fu.class.all': 'Every class',
    'fu.overdue': 'Overdue only',
    'fu.apply': 'Show',
    'fu.count': '{n} item(s)',
    'fu.more': 'Only the first {n} are shown; narrow the filter',
    'fu.none': 'Nothing matches',
    'fu.due': 'Deadline',
    'fu.tracker': 'Tracked by',
    'fu.pdf': 'Notice (PDF)',
    'fu.referral_pdf': 'Referral letter (PDF)',
    'fu.findings': 'Findings',
    'fu.reported': 'fix reported {time}: {note}',
    'fu.verify': 'Verify',
    'fu.reject': 'Reject',
    'fu.verify.note': 'Verification note',
    'fu.reject.note': 'Why it is rejected (required)',
    'fu.verify.submit': 'Confirm: the fix holds',
    'fu.reject.submit': 'Send it back',
    'fu.verified': 'Verified: the finding is closed.',
    'fu.rejected': 'Sent back: the finding is open again.',
    'fu.same_person': 'The verifier must be someone other than who reported the fix: ask a colleague to verify.',
    'fu.evidence': 'Photo of the fix {n}',
    'fu.evidence.file': 'Evidence {n} ({name})',
  },
});

const LIMIT = 100;
const VERIFIERS = ['admin', 'district_officer', 'inspector'];
const OFFICERS = ['admin', 'district_officer'];

/** The printable document of a follow-up: a referral's letter (移送函), else its notice. */
function pdfPath(fu) {
  return fu.kind === 'referral' ? `/api/v1/referrals/${fu.id}.pdf` : `/api/v1/notices/${fu.id}.pdf`;
}

function findingDecision(f, kind, done) {
  return decision({
    key: f.id,
    cls: kind,
    formCls: 'verify-form',
    path: `/api/v1/findings/${f.id}/${kind}`,
    required: kind === 'reject',
    dataset: { finding: String(f.id) },
    labels: {
      open: t(`fu.${kind}`),
      note: t(`fu.${kind}.note`),
      submit: t(`fu.${kind}.submit`),
      done: t(kind === 'verify' ? 'fu.verified' : 'fu.rejected'),
      samePerson: t('fu.same_person'),
    },
    done,
  });
}

/** The files sent with the fix: photos shown (fetched with the token), other files saved. */
// The files sent with a finding's reported fixes (its attachments of purpose "fix").
function fixEvidence(finding) {
  return (finding.attachments || []).filter((a) => a.purpose === 'fix');
}

function evidenceView(files) {
  return h(
    'div.previews.evidence',
    files.map((a, i) => {
      const path = `/api/v1/attachments/${a.id}`;
      if (!a.content_type.startsWith('image/')) {
        return h(
          'a.button',
          {
            href: path,
            onclick: (event) => {
              event.preventDefault();
              download(path, a.filename).catch(() => {});
            },
          },
          t('fu.evidence.file', { n: i + 1, name: a.filename }),
        );
      }
      const img = h('img', { alt: t('fu.evidence', { n: i + 1 }) });
      request('GET', path, { raw: true, headers: { Accept: a.content_type } })
        .then((r) => r.blob())
        .then((blob) => {
          img.src = URL.createObjectURL(blob);
        })
        .catch(() => {});
      return h('figure.preview', img);
    }),
  );
}

function findingItem(f, canVerify, done) {
  const verifying = canVerify && f.status === 'fix_reported';
  const verify = verifying ? findingDecision(f, 'verify', done) : null;
  const reject = verifying ? findingDecision(f, 'reject', done) : null;
  return h(
    'li.finding',
    { dataset: { finding: String(f.id), status: f.status } },
    h('div.row-head', h('span.row-title', f.title), h(`span.pill.sev-${f.severity}`, f.severity)),
    f.note ? h('div.small', f.note) : null,
    h('div.small', t(`finding.status.${f.status}`)),
    f.fix_reported_at && f.status === 'fix_reported'
      ? h('div.small.muted', t('fu.reported', { time: dateTime(f.fix_reported_at), note: f.fix_note || '–' }))
      : null,
    f.status === 'fix_reported' && fixEvidence(f).length ? evidenceView(fixEvidence(f)) : null,
    verifying ? h('div.actions', verify.open, reject.open) : null,
    verify ? verify.form : null,
    reject ? reject.form : null,
  );
}

function followupCard(fu, canVerify, role, makers, done) {
  const due = deadline(fu.due_at);
  const open = fu.status === 'open';
  const fact = (label, value, cls) => [h('dt', label), h('dd', { class: cls || false }, value)];
  return h(
    'li.card.followup',
    { dataset: { followup: String(fu.id), number: fu.number } },
    h('div.row-head', h('h2', t(`kind.${fu.kind}`)), h(`span.pill.class-${fu.class_level}`, classLabel(fu.class_level))),
    h('p', h('strong.notice-number', fu.number)),
    h('p', h('a', { href: `#/shelters/${encodeURIComponent(fu.shelter_code)}` }, fu.shelter_name), h('span.muted', ` · ${fu.shelter_code} · ${fu.district}`)),
    h(
      'dl.facts',
      fact(t('fu.status'), t(`fu.status.${fu.status}`)),
      fact(t('fu.due'), open ? `${date(fu.due_at)}（${due.text}）` : date(fu.due_at), open && due.overdue ? 'overdue' : ''),
      fu.tracker ? fact(t('fu.tracker'), fu.tracker_name || fu.tracker) : [],
    ),
    fu.kind === 'referral' && !OFFICERS.includes(role)
      ? null
      : h(
          'p',
          h(
            'a.button.pdf-link',
            {
              href: pdfPath(fu),
              onclick: (event) => {
                event.preventDefault();
                download(pdfPath(fu), `${fu.number}.pdf`).catch(() => {});
              },
            },
            t(fu.kind === 'referral' ? 'fu.referral_pdf' : 'fu.pdf'),
          ),
        ),
    milestonesView(fu, role, done),
    outcomeView(fu, role, done),
    makerView(fu, role, makers, done),
    fu.findings && fu.findings.length
      ? [h('h3', t('fu.findings')), h('ul.list.findings', fu.findings.map((f) => findingItem(f, canVerify, done)))]
      : null,
  );
}

function filters(q) {
  const status = h(
    'select',
    { name: 'status' },
    ['open', 'escalated', 'closed', 'all'].map((v) => h('option', { value: v, selected: v === (q.get('status') || 'open') }, t(`fu.status.${v}`))),
  );
  const cls = h(
    'select',
    { name: 'class' },
    h('option', { value: '' }, t('fu.class.all')),
    [2, 3, 4].map((v) => h('option', { value: String(v), selected: q.get('class') === String(v) }, classLabel(v))),
  );
  const overdue = h('input', { type: 'checkbox', name: 'overdue', id: 'fu-overdue', checked: q.get('overdue') === 'true' });
  const form = h(
    'form.filters',
    {
      'aria-label': t('fu.filters'),
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        next.set('status', status.value);
        if (cls.value) next.set('class', cls.value);
        if (overdue.checked) next.set('overdue', 'true');
        location.hash = `#/followups?${next}`;
      },
    },
    h('div.filter-row', field(t('fu.status'), status), field(t('fu.class'), cls)),
    h('div.field', h('label.check', { for: overdue.id }, overdue, h('span', t('fu.overdue')))),
    h('div.actions', h('button', { type: 'submit' }, t('fu.apply'))),
  );
  return form;
}

export async function render(root, params) {
  const q = params.query;
  const role = currentUser().role;
  const canVerify = VERIFIERS.includes(role);
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });
  const waiting = h('div');
  const list = h('div');

  async function load(message) {
    const status = q.get('status') || 'open';
    const done = (text) => load(text).catch((err) => mount(list, errorView(err, () => load())));
    const [page, corrections] = await Promise.all([
      api.get(
        `/api/v1/followups${query({
          with_findings: 'true',
          status: status === 'all' ? null : status,
          class: q.get('class'),
          overdue: q.get('overdue') === 'true' ? 'true' : null,
          limit: LIMIT,
        })}`,
      ),
      DECIDERS.includes(role) ? correctionsView(currentUser(), done) : null,
    ]);
    // the directory, for naming a ledger entry's manufacturer (only when one is listed)
    const makers =
      TRACKERS.includes(role) && page.items.some((fu) => fu.kind === 'ledger')
        ? (await api.get('/api/v1/manufacturers?limit=500')).items
        : null;
    mount(flash, message ? notice('ok', message) : null);
    mount(waiting, corrections);
    mount(
      list,
      h('p.muted', t('fu.count', { n: page.total })),
      page.total > page.items.length ? notice('info', t('fu.more', { n: page.items.length })) : null,
      page.items.length
        ? h('ul.list.followups#followup-list', page.items.map((fu) => followupCard(fu, canVerify, role, makers, done)))
        : notice('info', t('fu.none')),
    );
  }

  await load();
  mount(
    root,
    h('h1', t('fu.title')),
    OFFICERS.includes(role) ? h('p', h('a#maker-directory', { href: '#/manufacturers' }, `${t('mk.directory')} →`)) : null,
    flash,
    waiting,
    filters(q),
    list,
  );
}
