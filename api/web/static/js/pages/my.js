// The manager's (工程长) screens: "my shelters" (#/my, GET /api/v1/me/shelters) and one of
// them (#/my/:code, GET /api/v1/shelters/{code}/overview): class and readiness, active alerts
// to acknowledge or resolve, open findings with their deadlines and a fix to report with
// photos, key supervision's milestones to record (containment, plan: js/milestones.js; from
// GET /api/v1/followups?shelter=…&kind=key_supervision), live readings with the fire-risk
// level, shelters where a water-leak sensor reports water now (水浸), and the way to the charts.

import { api, currentUser } from '../api.js';
import { classLabel, date, dateTime, deadline } from '../format.js';
import { extend, t } from '../i18n.js';
import { milestonesView } from '../milestones.js';
import { alertsView, liveView } from '../monitoring.js';
import { evidenceForm } from '../photos.js';
import { errorView, h, mount, notice } from '../ui.js';

extend({
  zh: {
    'my.title': '我的工程',
    'my.none': '您名下没有工程',
    'my.count': '共 {n} 处工程',
    'my.wet': '{n} 处工程有水浸',
    'my.open': '查看详情',
    'my.charts': '温湿度与火险曲线',
    'my.findings': '待整改问题',
    'my.findings.none': '没有待整改的问题',
    'readiness.ready': '战备就绪',
    'readiness.degraded': '部分就绪',
    'readiness.not_ready': '未就绪',
    'finding.deadline': '期限 {date}',
    'finding.reported': '{time} 报告整改：{note}',
    'fix.report': '报告整改',
    'fix.note': '整改说明',
    'fix.photos': '拍摄整改照片',
    'fix.submit': '提交整改',
    'fix.need_photo': '请至少拍一张整改后的照片。',
    'fix.sent': '整改已提交，等待核验。',
  },
  en: {
    'my.title': 'My shelters',
    'my.none': 'No shelter is in your charge',
    'my.count': '{n} shelter(s)',
    'my.wet': 'Water detected in {n} shelter(s)',
    'my.open': 'Details',
    'my.charts': 'Charts',
    'my.findings': 'Findings to fix',
    'my.findings.none': 'Nothing to fix',
    'readiness.ready': 'Ready',
    'readiness.degraded': 'Partly ready',
    'readiness.not_ready': 'Not ready',
    'finding.deadline': 'due {date}',
    'finding.reported': 'fix reported {time}: {note}',
    'fix.report': 'Report the fix',
    'fix.note': 'What was done',
    'fix.photos': 'Photograph the fix',
    'fix.submit': 'Send the fix',
    'fix.need_photo': 'Take at least one photo of the fix.',
    'fix.sent': 'Fix sent; it awaits verification.',
  },
});

function fixForm(f, done) {
  return evidenceForm({
    className: 'fix-form',
    submitClass: 'fix-submit',
    noteId: `fix-note-${f.id}`,
    url: `/api/v1/findings/${f.id}/fix`,
    text: {
      note: t('fix.note'),
      photos: t('fix.photos'),
      submit: t('fix.submit'),
      needPhoto: t('fix.need_photo'),
      sent: t('fix.sent'),
      error: (message) => message,
    },
    done,
  });
}

function findingItem(f, canFix, done) {
  const due = f.due_at ? deadline(f.due_at) : null;
  let form = null;
  let toggle = null;
  if (canFix && f.status === 'open') {
    form = fixForm(f, done);
    toggle = h('button.report-fix', { type: 'button', 'aria-expanded': 'false' }, t('fix.report'));
    toggle.addEventListener('click', () => {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
    });
  }
  return h(
    'li.finding',
    { dataset: { finding: String(f.id), status: f.status } },
    h(
      'div.row',
      h('div.row-head', h('span.row-title', f.title), h(`span.pill.sev-${f.severity}`, f.severity)),
      f.note ? h('div.small', f.note) : null,
      h('div.small', t(`finding.status.${f.status}`)),
      due
        ? h(due.overdue ? 'div.small.overdue' : 'div.small', `${t('finding.deadline', { date: date(f.due_at) })} · ${due.text}`)
        : null,
      f.status === 'fix_reported' && f.fix_reported_at
        ? h('div.small.muted', t('finding.reported', { time: dateTime(f.fix_reported_at), note: f.fix_note || '–' }))
        : null,
      toggle ? h('div.actions', toggle) : null,
      form,
    ),
  );
}

function keySupervision(items, role, done, part) {
  if (!items || !items.length) return null;
  return items.map((fu) =>
    h(
      'div.key-supervision',
      { dataset: { followup: String(fu.id), number: fu.number } },
      h(`${part}.part`, `${t('kind.key_supervision')} ${fu.number}`),
      milestonesView(fu, role, done),
    ),
  );
}

function shelterView(s, { single, canFix, canResolve, done, supervision, role }) {
  const path = `#/my/${encodeURIComponent(s.code)}`;
  const title = single ? h('h1', s.name) : h('h2', h('a', { href: path }, s.name));
  const part = single ? 'h2' : 'h3';
  const active = s.open_alerts.filter((a) => a.status === 'active').length;
  return h(
    `section.card.shelter-card`,
    { dataset: { code: s.code } },
    title,
    h('p.muted', `${s.code} · ${s.district}`),
    h(
      'p.badges',
      h(`span.pill.class-${s.current_class || 0}`, classLabel(s.current_class)),
      ' ',
      h(`span.readiness.readiness-${s.readiness}`, t(`readiness.${s.readiness}`)),
      active ? h('span.pill.sev-critical', `${t('alerts.title')} ${active}`) : null,
      s.sensors_wet ? [' ', h('span.pill.sev-critical.water-wet', t('live.water'))] : null,
    ),
    h(`${part}.part`, t('alerts.title')),
    alertsView(s.open_alerts, { canResolve, done }),
    keySupervision(supervision, role, done, part),
    h(`${part}.part`, t('my.findings')),
    s.open_findings.length
      ? h('ul.list.findings', s.open_findings.map((f) => findingItem(f, canFix, done)))
      : h('p.muted', t('my.findings.none')),
    h(`${part}.part`, t('live.title')),
    liveView(s.sensors),
    h(
      'p.links',
      h('a.button', { href: `#/shelters/${encodeURIComponent(s.code)}/charts` }, t('my.charts')),
      single ? null : h('a.button', { href: path }, t('my.open')),
    ),
  );
}

export async function render(root, params) {
  const user = currentUser();
  const canFix = ['manager', 'admin'].includes(user.role);
  const canResolve = ['manager', 'admin', 'district_officer'].includes(user.role);
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });

  async function show(message) {
    const opts = {
      canFix,
      canResolve,
      done: (text) => show(text).catch((err) => mount(root, errorView(err, () => show()))),
    };
    let body;
    if (params.code) {
      const code = encodeURIComponent(params.code);
      const [s, supervision] = await Promise.all([
        api.get(`/api/v1/shelters/${code}/overview`),
        api.get(`/api/v1/followups?shelter=${code}&kind=key_supervision&status=open`),
      ]);
      body = [
        h('p', h('a', { href: '#/my' }, `← ${t('my.title')}`)),
        shelterView(s, { ...opts, single: true, supervision: supervision.items, role: user.role }),
      ];
    } else {
      const page = await api.get('/api/v1/me/shelters?limit=100');
      const wet = page.items.filter((s) => s.sensors_wet > 0).length;
      body = [
        h('h1', t('my.title')),
        h('p.muted', t('my.count', { n: page.total })),
        wet ? h('p.water-count', h('span.pill.sev-critical.water-wet', t('my.wet', { n: wet }))) : null,
        page.items.length ? page.items.map((s) => shelterView(s, { ...opts, single: false })) : notice('info', t('my.none')),
      ];
    }
    mount(flash, message ? notice('ok', message) : null);
    mount(root, flash, body);
    if (message) flash.scrollIntoView({ block: 'nearest' });
  }

  await show();
}
