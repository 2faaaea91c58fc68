// Logging in: the OAuth2 password form of POST /api/v1/auth/token, then GET /api/v1/me.

import { ApiError, NetworkError, request, saveSession } from '../api.js';
import { go } from '../app.js';
import { setZone } from '../format.js';
import { t } from '../i18n.js';
import { homeFor, match, allowed } from '../routes.js';
import { field, h, mount, notice } from '../ui.js';

export async function render(root, params) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div');
  const submit = h('button.primary', { type: 'submit' }, t('login.submit'));

  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    mount(message);
    try {
      const form = new URLSearchParams({ username: username.value.trim(), password: password.value });
      const tokens = await request('POST', '/api/v1/auth/token', { form, quiet401: true });
      const me = await request('GET', '/api/v1/me', {
        headers: { Authorization: `Bearer ${tokens.access_token}` },
        quiet401: true,
      });
      saveSession(tokens.access_token, me);
      setZone(me.timezone);
      window.dispatchEvent(new CustomEvent('sessionchange'));
      const next = params.query.get('next');
      const wanted = next && match(next);
      go(wanted && allowed(wanted.route, me.role) && !wanted.route.public ? next : homeFor(me.role));
    } catch (err) {
      let text = t('error.generic', { message: err.message });
      if (err instanceof ApiError && err.status === 401) text = t('login.failed');
      if (err instanceof NetworkError) text = t('login.offline');
      mount(message, notice('error', text));
      submit.disabled = false;
      password.focus();
    }
  }

  mount(
    root,
    h(
      'section.card.login',
      h('h1', t('login.title')),
      h(
        'form',
        { onsubmit: onSubmit, novalidate: false },
        field(t('login.username'), username),
        field(t('login.password'), password),
        message,
        h('div.actions', submit),
      ),
    ),
  );
  username.focus();
}
