// Small DOM helpers: elements built from data (never HTML strings), so names and notes
// from the database are always text.

import { ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';

/**
 * h('a.button', {href: '#/x', onclick}, 'text', child, [more]) -> HTMLElement.
 * The tag may carry .classes and one #id; attributes starting with "on" are listeners;
 * false/null/undefined attributes and children are left out.
 */
export function h(tag, attrs, ...children) {
  const [, name = 'div', rest = ''] = /^([a-z0-9-]*)(.*)$/i.exec(tag);
  const el = document.createElement(name || 'div');
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== 'string') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A message block: kind is 'info', 'error' or 'ok'. */
export function notice(kind, ...children) {
  return h(`div.notice.notice-${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** A labelled form field; `input` is the control, given an id if it has none. */
let ids = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++ids}`;
  return h(
    'div.field',
    h('label', { for: input.id }, label),
    input,
    hint ? h('p.hint', hint) : null,
  );
}

/**
 * A form laid out as every form of the app: its fields one under another, then the area for
 * its message, then its buttons. Each of `fields` is [label, control, hint?] (made a
 * labelled field) or an element placed as it is (a datalist, a note).
 */
export function fieldsForm(tag, attrs, fields, message, ...actions) {
  return h(
    tag,
    attrs,
    fields.map((f) => (Array.isArray(f) ? field(...f) : f)),
    message,
    h('div.actions', ...actions),
  );
}

/**
 * A form that sends itself with fetch (never a page load), laid out by fieldsForm (the submit
 * button first among the actions).
 * spec: tag (the form's tag with its .classes/#id, default 'form'), fields (as fieldsForm's:
 * [label, control, hint?] or elements; one element alone is enough), submit (the button's label), submitCls ('.classes' of the button),
 * send(form) (a promise; the button is disabled while it runs), failed(err) (the words shown
 * as an error notice when send() throws), extra (more buttons after the submit), attrs (on
 * the form, e.g. {hidden: true}).
 */
export function sendingForm(spec) {
  const { tag = 'form', fields, submit, submitCls = '', send, failed, extra, attrs } = spec;
  const message = h('div', { 'aria-live': 'polite' });
  const button = h(`button.primary${submitCls}`, { type: 'submit' }, submit);
  const form = fieldsForm(
    tag,
    {
      ...attrs,
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        mount(message);
        try {
          await send(form);
        } catch (err) {
          mount(message, notice('error', failed(err)));
        } finally {
          button.disabled = false;
        }
      },
    },
    Array.isArray(fields) ? fields : [fields],
    message,
    button,
    extra,
  );
  return form;
}

/**
 * A button (class `cls`) that shows and hides `form` (which starts hidden), saying so to
 * screen readers; `focus`, if given, gets the focus when the form opens.
 */
export function toggler(label, cls, form, focus) {
  const open = h(`button.${cls}`, { type: 'button', 'aria-expanded': 'false' }, label);
  open.addEventListener('click', () => {
    form.hidden = !form.hidden;
    open.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden && focus) focus.focus();
  });
  return open;
}

/** What a page shows when its data cannot be loaded. */
export function errorView(err, retry) {
  if (err instanceof ApiError && (err.status === 404 || err.status === 403)) return notFoundView();
  const text = err instanceof NetworkError ? t('error.offline') : t('error.generic', { message: err.message });
  return notice(
    'error',
    h('p', text),
    retry ? h('button.secondary', { type: 'button', onclick: retry }, t('error.retry')) : null,
  );
}

/** Out of scope looks the same as missing. */
export function notFoundView() {
  return h(
    'section.not-found',
    h('h1', t('error.not_found')),
    h('p', t('error.not_found.text')),
    h('p', h('a', { href: '#/' }, t('common.home'))),
  );
}
