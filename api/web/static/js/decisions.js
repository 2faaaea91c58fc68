// A decision a second person takes on someone else's record: a reported fix verified or
// rejected (#/followups, findings), a correction approved or rejected (js/corrections.js).
// A button opens a small form with a note, posted as {note}; the API's refusal is shown as it
// says, explained in words when the decider is the person who made the record (same_person).

import { api, ApiError } from './api.js';
import { extend, t } from './i18n.js';
import { field, h, mount, notice } from './ui.js';

extend({
  zh: { 'decision.error': '未能完成：{message}' },
  en: { 'decision.error': 'Not done: {message}' },
});

/** The API's refusal in words; `samePerson` says who must decide instead. */
export function refusal(err, samePerson) {
  if (err instanceof ApiError && err.code === 'same_person') return `${samePerson}（${err.message}）`;
  return t('decision.error', { message: err.message });
}

/**
 * One decision: {open, form}, the button that shows the form and the form itself.
 * spec: key (unique on the page, for the note's id), cls (the opener's class; the submit
 * button gets `${cls}-submit`), formCls, path (POSTed with {note}), required (the note),
 * labels {open, note, submit, done, samePerson}, dataset (on the opener), done(text).
 */
export function decision(spec) {
  const { key, cls, formCls, path, required, labels, dataset, done } = spec;
  const note = h('textarea', { id: `${cls}-note-${key}`, maxlength: 4000, rows: 2, required });
  const message = h('div');
  const submit = h(`button.primary.${cls}-submit`, { type: 'submit' }, labels.submit);
  const form = h(
    `form.decision-form.${formCls}`,
    {
      hidden: true,
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        mount(message);
        try {
          await api.post(path, { note: note.value.trim() });
          done(labels.done);
        } catch (err) {
          submit.disabled = false;
          mount(message, notice('error', refusal(err, labels.samePerson)));
        }
      },
    },
    field(labels.note, note),
    message,
    h('div.actions', submit),
  );
  const open = h(`button.${cls}`, { type: 'button', 'aria-expanded': 'false', dataset }, labels.open);
  open.addEventListener('click', () => {
    form.hidden = !form.hidden;
    open.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) note.focus();
  });
  return { open, form };
}
