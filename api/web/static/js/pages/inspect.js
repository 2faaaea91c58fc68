// Walking the checklist of one shelter: first the findings still open from earlier visits,
// each judged fixed, still open or worse (复查; one left unjudged keeps its state), with
// photos of what the visit found (sent with the finding judged); then the
// catalogue by area with its Chinese titles, an item already open taken out of it; each new
// finding with its severity (never below the item's default), a note, "fixed on the spot"
// and photos from the phone's camera. Finishing puts the inspection in the outbox, which
// sends it now or when the network returns.

import { currentUser } from '../api.js';
import { go } from '../app.js';
import { date, dateTime } from '../format.js';
import { extend, lang, t } from '../i18n.js';
import { catalogue, shelter } from '../inspector.js';
import { enqueue, flush } from '../outbox.js';
import { picker } from '../photos.js';
import { field, h, mount, notice } from '../ui.js';

extend({
  zh: {
    'inspect.title': '现场检查',
    'inspect.started': '开始于 {time}',
    'inspect.found': '存在此问题',
    'inspect.severity': '严重程度',
    'inspect.note': '问题说明',
    'inspect.fixed': '现场已整改',
    'inspect.fixed.hint': '一般问题（S1）现场整改并拍照后视为已关闭',
    'inspect.photos': '拍照',
    'inspect.illegal': '违法行为',
    'inspect.review': '复查：尚未整改的问题',
    'inspect.review.hint': '逐项确认整改情况；未确认的保持原状态',
    'inspect.review.due': '整改期限 {date}',
    'inspect.verdict.none': '未查看',
    'inspect.verdict.fixed': '已整改',
    'inspect.verdict.open': '仍未整改',
    'inspect.verdict.worse': '加重',
    'inspect.verdict.photos': '拍照（复查）',
    'inspect.open_already': '已在整改中，见上方复查',
    'inspect.summary.review': '复查 {n} 项',
    'inspect.general': '整体情况',
    'inspect.general.note': '检查说明',
    'inspect.general.photos': '现场照片',
    'inspect.summary': '已标记 {n} 项问题',
    'inspect.summary.none': '未标记问题：提交后评为一类',
    'inspect.submit': '提交检查',
    'inspect.sending': '正在提交…',
    'inspect.kept': '检查已保存在本机，联网后自动发送。',
    'severity.S1': 'S1 一般问题（日常维护）',
    'severity.S2': 'S2 较重问题（责任未落实、设备功能问题）',
    'severity.S3': 'S3 严重问题（责任不明、设备损毁、结构损坏、违法行为）',
  },
  en: {
    'inspect.title': 'Inspection',
    'inspect.started': 'started {time}',
    'inspect.found': 'Found',
    'inspect.severity': 'Severity',
    'inspect.note': 'Note',
    'inspect.fixed': 'Fixed on the spot',
    'inspect.fixed.hint': 'An S1 fixed on the spot, with a photo, counts as closed',
    'inspect.photos': 'Take photo',
    'inspect.illegal': 'illegal act',
    'inspect.review': 'Re-inspection: findings still open',
    'inspect.review.hint': 'Judge each one; one left unjudged keeps its state',
    'inspect.review.due': 'due {date}',
    'inspect.verdict.none': 'Not checked',
    'inspect.verdict.fixed': 'Fixed',
    'inspect.verdict.open': 'Still open',
    'inspect.verdict.worse': 'Worse',
    'inspect.verdict.photos': 'Take photo (re-inspection)',
    'inspect.open_already': 'Open already: judge it above',
    'inspect.summary.review': '{n} judged',
    'inspect.general': 'Overall',
    'inspect.general.note': 'Inspection note',
    'inspect.general.photos': 'Site photos',
    'inspect.summary': '{n} finding(s) marked',
    'inspect.summary.none': 'Nothing marked: the shelter will be class 1',
    'inspect.submit': 'Submit inspection',
    'inspect.sending': 'Submitting…',
    'inspect.kept': 'The inspection is kept on this phone and sent when the network returns.',
    'severity.S1': 'S1 ordinary upkeep',
    'severity.S2': 'S2 responsibility not carried out, equipment function',
    'severity.S3': 'S3 unclear responsibility, destroyed equipment, structure, illegal act',
  },
});

const AREAS_EN = {
  管理: 'Management',
  标识: 'Signage',
  防护设备: 'Protective equipment',
  机电设备: 'Mechanical and electrical',
  环境: 'Environment',
  土建: 'Civil works',
  结构: 'Structure',
  使用: 'Use',
  安全保护: 'Safety zone',
};
const LEVELS = ['S1', 'S2', 'S3'];

/** Work in progress per shelter, kept while the app is open (leaving the page keeps it). */
const drafts = new Map();

function draftFor(code) {
  if (!drafts.has(code)) drafts.set(code, { startedAt: new Date(), findings: {}, verdicts: {}, verdictPhotos: {}, note: '', photos: [] });
  return drafts.get(code);
}

const VERDICTS = ['none', 'fixed', 'open', 'worse'];

/** One finding still open: a group of four choices (a verdict, or none). */
function verdictBlock(finding, draft, onChange) {
  const name = `verdict-${finding.id}`;
  const chosen = draft.verdicts[finding.id] || 'none';
  const choices = VERDICTS.filter((v) => v !== 'worse' || finding.severity !== 'S3').map((v) => {
    const input = h('input', { type: 'radio', name, id: `${name}-${v}`, value: v, checked: v === chosen });
    input.addEventListener('change', () => {
      if (v === 'none') delete draft.verdicts[finding.id];
      else draft.verdicts[finding.id] = v;
      onChange();
    });
    return h('label.check', { for: input.id }, input, h('span', t(`inspect.verdict.${v}`)));
  });
  return h(
    'fieldset.verdict',
    { dataset: { finding: String(finding.id) } },
    h(
      'legend',
      h('span.item-title', finding.title),
      ' ',
      h(`span.pill.sev-${finding.severity}`, finding.severity),
    ),
    finding.due_at ? h('p.small.muted', t('inspect.review.due', { date: date(finding.due_at) })) : null,
    finding.note ? h('p.small', finding.note) : null,
    h('div.choices', choices),
    picker(t('inspect.verdict.photos'), (draft.verdictPhotos[finding.id] ||= []), onChange),
  );
}

function itemBlock(entry, draft, onChange, open) {
  if (open) {
    return h(
      'div.item.item-open',
      { dataset: { code: entry.code } },
      h('div.item-head', h('span.item-title', entry.title), h(`span.pill.sev-${entry.default_severity}`, entry.default_severity)),
      h('p.hint', t('inspect.open_already')),
    );
  }
  const state = draft.findings[entry.code];
  const found = h('input', { type: 'checkbox', id: `found-${entry.code}`, name: entry.code, checked: Boolean(state) });
  const detail = h('div.item-detail');

  function showDetail() {
    const f = draft.findings[entry.code];
    if (!f) {
      mount(detail);
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const allowed = LEVELS.slice(LEVELS.indexOf(entry.default_severity));
    const severity = h('select', { id: `sev-${entry.code}`, name: `severity-${entry.code}` }, allowed.map((s) => h('option', { value: s, selected: s === f.severity }, t(`severity.${s}`))));
    severity.addEventListener('change', () => {
      f.severity = severity.value;
      showDetail();
      // the redraw replaced the select: keep a keyboard user where they were
      document.getElementById(severity.id).focus();
    });
    const note = h('textarea', { id: `note-${entry.code}`, name: `note-${entry.code}`, maxlength: 4000, rows: 2 });
    note.value = f.note;
    note.addEventListener('input', () => {
      f.note = note.value;
    });
    const fixed = h('input', { type: 'checkbox', id: `fixed-${entry.code}`, checked: f.fixed });
    fixed.addEventListener('change', () => {
      f.fixed = fixed.checked;
    });
    mount(
      detail,
      field(t('inspect.severity'), severity),
      field(t('inspect.note'), note),
      f.severity === 'S1'
        ? h('div.field', h('label.check', { for: fixed.id }, fixed, h('span', t('inspect.fixed'))), h('p.hint', t('inspect.fixed.hint')))
        : null,
      picker(t('inspect.photos'), f.photos, onChange),
    );
  }

  found.addEventListener('change', () => {
    if (found.checked) draft.findings[entry.code] = { severity: entry.default_severity, note: '', fixed: false, photos: [] };
    else delete draft.findings[entry.code];
    showDetail();
    onChange();
  });
  showDetail();
  return h(
    'div.item',
    { dataset: { code: entry.code } },
    h(
      'label.check.item-head',
      { for: found.id },
      found,
      h('span.item-title', entry.title, entry.illegal_act ? h('span.tag', t('inspect.illegal')) : null),
      h(`span.pill.sev-${entry.default_severity}`, entry.default_severity),
    ),
    detail,
  );
}

function areas(items) {
  const out = new Map();
  for (const item of items) {
    if (!out.has(item.category)) out.set(item.category, []);
    out.get(item.category).push(item);
  }
  return out;
}

export async function render(root, params) {
  const [s, cat] = await Promise.all([shelter(params.code), catalogue()]);
  const draft = draftFor(s.code);
  const summary = h('p.summary', { 'aria-live': 'polite' });
  const message = h('div');
  const submit = h('button.primary#submit-inspection', { type: 'submit' }, t('inspect.submit'));
  const openFindings = s.open_findings || [];
  const openItems = new Set(openFindings.map((f) => f.item));
  const update = () => {
    const n = Object.keys(draft.findings).length;
    const judged = Object.keys(draft.verdicts).length;
    // with findings still open, nothing new marked does not mean class 1
    const parts = [n || openFindings.length ? t('inspect.summary', { n }) : t('inspect.summary.none')];
    if (judged) parts.push(t('inspect.summary.review', { n: judged }));
    summary.textContent = parts.join(' · ');
  };
  const note = h('textarea', { id: 'inspection-note', maxlength: 4000, rows: 3 });
  note.value = draft.note;
  note.addEventListener('input', () => {
    draft.note = note.value;
  });

  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    submit.textContent = t('inspect.sending');
    const photos = [];
    const findings = Object.entries(draft.findings).map(([item, f]) => {
      for (const p of f.photos) photos.push({ blob: p.blob, name: p.name, item });
      return { item, severity: f.severity, note: f.note.trim(), fixed_on_spot: f.severity === 'S1' && f.fixed };
    });
    for (const p of draft.photos) photos.push({ blob: p.blob, name: p.name, item: null });
    const verdicts = Object.entries(draft.verdicts).map(([finding, verdict]) => {
      // a photo shows the finding judged; one of a finding left unjudged is not sent
      for (const p of draft.verdictPhotos[finding] || []) photos.push({ blob: p.blob, name: p.name, item: null, finding: Number(finding) });
      return { finding: Number(finding), verdict };
    });
    const body = { inspected_at: draft.startedAt.toISOString(), findings, note: draft.note.trim() };
    if (verdicts.length) body.verdicts = verdicts;
    const key = await enqueue({
      shelter: s.code,
      shelterName: s.name,
      body,
      photos,
    });
    drafts.delete(s.code);
    const done = (await flush({ force: true })).find((r) => r.key === key);
    if (done) go(`/inspections/${done.inspection.id}`);
    else go('/outbox');
  }

  const groups = [];
  for (const [area, entries] of areas(cat.items)) {
    groups.push(
      h(
        'fieldset.area',
        h('legend', lang() === 'zh' ? area : `${AREAS_EN[area] || area} · ${area}`),
        entries.map((e) => itemBlock(e, draft, update, openItems.has(e.code))),
      ),
    );
  }
  mount(
    root,
    h('p', h('a', { href: `#/shelters/${encodeURIComponent(s.code)}` }, `← ${s.name}`)),
    h('h1', `${t('inspect.title')}：${s.name}`),
    h('p.muted', `${s.code} · ${t('inspect.started', { time: dateTime(draft.startedAt) })} · ${currentUser().display_name}`),
    h(
      'form#inspect-form',
      { onsubmit: onSubmit },
      openFindings.length
        ? h(
            'section.review',
            h('h2', t('inspect.review')),
            h('p.hint', t('inspect.review.hint')),
            openFindings.map((f) => verdictBlock(f, draft, update)),
          )
        : null,
      groups,
      h(
        'fieldset.area',
        h('legend', t('inspect.general')),
        field(t('inspect.general.note'), note),
        picker(t('inspect.general.photos'), draft.photos, update),
      ),
      summary,
      message,
      h('div.actions.sticky', submit),
    ),
  );
  update();
  if (!navigator.onLine) mount(message, notice('info', t('inspect.kept')));
}
