// The protective-equipment manufacturer of a class 3 ledger entry (协助联系防护设备厂家), on the
// follow-ups page (#/followups): the manufacturer named, with its contact person and phone,
// and the contacts made with it (when, who recorded it, what came of it), oldest first.
// Those who track ledger entries (inspectors, district officers, the city office) name the
// manufacturer from the office's directory (PUT /api/v1/followups/{id}/manufacturer) and
// record each contact (POST …/manufacturer-contacts; who: the caller). The directory itself
// is kept on #/manufacturers (js/pages/manufacturers.js).

import { api, currentUser } from './api.js';
import { dateTime, fromLocalInput, localInput } from './format.js';
import { t } from './i18n.js';
import { field, h, sendingForm, toggler } from './ui.js';

export const TRACKERS = ['admin', 'district_officer', 'inspector'];
const KEEPERS = ['admin', 'district_officer'];

/** A manufacturer's contact person and phone (the phone a link to call it); null for none. */
export function makerContact(m) {
  if (!m.contact_name && !m.contact_phone) return null;
  return h(
    'span.maker-contact',
    m.contact_name || null,
    m.contact_name && m.contact_phone ? ' ' : null,
    m.contact_phone ? h('a', { href: `tel:${m.contact_phone.replace(/[^0-9+]/g, '')}` }, m.contact_phone) : null,
  );
}

function chooseForm(fu, makers, done) {
  const select = h(
    'select',
    { id: `mk-choice-${fu.id}`, name: 'manufacturer_id' },
    h('option', { value: '' }, t('mk.choice.none')),
    makers.map((m) =>
      h('option', { value: String(m.id), selected: fu.manufacturer && fu.manufacturer.id === m.id }, m.region ? `${m.name}（${m.region}）` : m.name),
    ),
  );
  const form = sendingForm({
    tag: 'form.maker-choice-form',
    attrs: { hidden: true },
    fields: field(t('mk.choice'), select),
    submit: t('mk.choose.submit'),
    submitCls: '.maker-choice-submit',
    send: async () => {
      const id = select.value ? Number(select.value) : null;
      await api.put(`/api/v1/followups/${fu.id}/manufacturer`, { manufacturer_id: id });
      const chosen = makers.find((m) => m.id === id);
      done(chosen ? t('mk.named', { name: chosen.name }) : t('mk.unnamed'));
    },
    failed: (err) => t('mk.error', { message: err.message }),
  });
  return { form, focus: select };
}

function contactForm(fu, done) {
  const me = currentUser();
  const when = h('input', { id: `mk-when-${fu.id}`, name: 'contacted_at', type: 'datetime-local', required: true, value: localInput(), max: localInput() });
  const outcome = h('textarea', { id: `mk-outcome-${fu.id}`, name: 'outcome', maxlength: 4000, rows: 3, required: true });
  const form = sendingForm({
    tag: 'form.maker-contact-form',
    attrs: { hidden: true },
    fields: [
      field(t('mk.contacted_at'), when),
      field(t('mk.outcome'), outcome, t('mk.outcome.hint')),
      h('p.small.muted', t('mk.recorder', { who: (me && (me.display_name || me.username)) || '–' })),
    ],
    submit: t('mk.contact.submit'),
    submitCls: '.maker-contact-submit',
    send: async () => {
      await api.post(`/api/v1/followups/${fu.id}/manufacturer-contacts`, {
        contacted_at: fromLocalInput(when.value),
        outcome: outcome.value.trim(),
      });
      done(t('mk.contact.recorded'));
    },
    failed: (err) => t('mk.error', { message: err.message }),
  });
  return { form, focus: outcome };
}

function contactItem(c) {
  return h(
    'li.maker-contact-record',
    h('div.small.muted', t('mk.by', { who: c.recorded_by_name || c.recorded_by || '–', time: dateTime(c.contacted_at) })),
    h('div', c.outcome),
  );
}

/**
 * A ledger entry's manufacturer section; null for other kinds. `makers` is the directory (for
 * the choice; null when the caller may not track the entry), done(text) reloads the page.
 */
export function makerView(fu, role, makers, done) {
  if (fu.kind !== 'ledger') return null;
  const m = fu.manufacturer;
  const contacts = fu.manufacturer_contacts || [];
  const tracking = TRACKERS.includes(role) && makers !== null && fu.status !== 'closed';
  const choose = tracking && makers.length ? chooseForm(fu, makers, done) : null;
  const contact = tracking && m ? contactForm(fu, done) : null;
  return h(
    'section.maker',
    { 'aria-labelledby': `mk-title-${fu.id}` },
    h('h3', { id: `mk-title-${fu.id}` }, t('mk.title')),
    m
      ? h(
          'div.maker-named',
          h('div.row-title', m.name),
          m.products ? h('div.small', m.products) : null,
          h('div.small.muted', [m.region || null, makerContact(m)].filter(Boolean).flatMap((x, i) => (i ? [' · ', x] : [x]))),
        )
      : h('p.muted', t('mk.none_named')),
    m || contacts.length
      ? [
          h('h4', t('mk.contacts')),
          contacts.length ? h('ul.list.maker-contacts', contacts.map(contactItem)) : h('p.muted', t('mk.no_contacts')),
        ]
      : null,
    tracking && !makers.length
      ? h('p.small', t('mk.empty_directory'), ' ', KEEPERS.includes(role) ? h('a', { href: '#/manufacturers' }, t('mk.directory')) : null)
      : null,
    choose || contact
      ? h(
          'div.actions',
          choose ? toggler(t(m ? 'mk.change' : 'mk.choose'), 'choose-maker', choose.form, choose.focus) : null,
          contact ? toggler(t('mk.contact'), 'record-contact', contact.form, contact.focus) : null,
        )
      : null,
    choose ? choose.form : null,
    contact ? contact.form : null,
  );
}
