// The shell: hash router, navigation by role, language switch, login state, network and
// outbox status, service worker registration. Pages live in js/pages/<name>.js and export
// `async function render(root, params)`; params holds the route's :names and `query`.

import { api, clearSession, currentUser, NetworkError, saveUser, setUnauthorizedHandler } from './api.js';
import { countWaiting, DECIDERS } from './corrections.js';
import { setZone } from './format.js';
import { lang, setLang, t } from './i18n.js';
import { warm } from './inspector.js';
import { startOutbox } from './outbox.js';
import { allowed, homeFor, match, navFor } from './routes.js';
import { errorView, h, mount, notFoundView } from './ui.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const netstate = document.getElementById('netstate');
const logoutButton = document.getElementById('logout');
const langButton = document.getElementById('lang-switch');

let navigation = 0;
let pending = 0;
let waiting = 0;

/** Go to a hash route, e.g. go('/shelters/A-001'). */
export function go(path) {
  const target = `#${path}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function currentPath() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const at = hash.indexOf('?');
  return at < 0 ? { path: hash, query: new URLSearchParams() } : { path: hash.slice(0, at), query: new URLSearchParams(hash.slice(at + 1)) };
}

function renderChrome() {
  const user = currentUser();
  document.title = t('app.name');
  document.getElementById('brand').textContent = t('app.name');
  nav.setAttribute('aria-label', t('nav.label'));
  langButton.textContent = t('lang.other');
  langButton.lang = lang() === 'zh' ? 'en' : 'zh-CN';
  logoutButton.textContent = t('logout');
  logoutButton.hidden = !user;
  const here = currentPath().path;
  mount(
    nav,
    user
      ? h(
          'ul',
          navFor(user.role).map((r) =>
            h(
              'li',
              h(
                'a',
                { href: `#${r.path}`, 'aria-current': here === r.path || here.startsWith(`${r.path}/`) ? 'page' : false },
                t(r.nav),
                r.page === 'outbox' && pending ? h('span.badge', ` ${pending}`) : null,
                r.page === 'followups' && waiting ? h('span.badge.corrections-waiting', ` ${waiting}`) : null,
              ),
            ),
          ),
        )
      : null,
  );
  renderNetstate();
}

function renderNetstate() {
  const parts = [];
  if (!navigator.onLine) parts.push(h('span', t('net.offline')));
  if (pending) parts.push(h('a', { href: '#/outbox' }, t('net.pending', { n: pending })));
  mount(netstate, ...parts);
  netstate.hidden = parts.length === 0;
}

async function route() {
  const seq = ++navigation;
  const { path, query } = currentPath();
  const user = currentUser();
  if (path === '/' || path === '') {
    go(user ? homeFor(user.role) : '/login');
    return;
  }
  const found = match(path);
  renderChrome();
  if (!found) {
    mount(main, notFoundView());
    return;
  }
  const { route: r, params } = found;
  if (!r.public && !user) {
    location.replace(`#/login?next=${encodeURIComponent(path)}`);
    return;
  }
  if (r.page === 'login' && user) {
    go(homeFor(user.role));
    return;
  }
  if (!allowed(r, user && user.role)) {
    mount(main, notFoundView());
    return;
  }
  const view = h(`div.page.page-${r.page}`);
  mount(main, h('p.muted', t('app.loading')));
  let module;
  try {
    module = await import(`./pages/${r.page}.js`);
  } catch (err) {
    if (seq !== navigation) return;
    mount(main, err instanceof TypeError && !navigator.onLine ? errorView(new NetworkError(err), route) : notFoundView());
    return;
  }
  if (seq !== navigation) return;
  mount(main, view);
  try {
    await module.render(view, { ...params, query });
  } catch (err) {
    if (seq !== navigation) return;
    mount(view, errorView(err, route));
  }
  if (seq === navigation && document.activeElement === document.body) main.focus({ preventScroll: true });
}

async function refreshUser() {
  if (!currentUser()) return;
  try {
    const me = await api.get('/api/v1/me');
    saveUser(me);
    setZone(me.timezone);
  } catch {
    // offline: the user kept from the last login stands
  }
}

async function logout() {
  if (pending && !window.confirm(t('logout.pending', { n: pending }))) return;
  clearSession();
  go('/login');
}

function start() {
  setUnauthorizedHandler(() => {
    const { path } = currentPath();
    if (path !== '/login') location.replace(`#/login?next=${encodeURIComponent(path)}`);
  });
  const user = currentUser();
  if (user && user.timezone) setZone(user.timezone);
  window.addEventListener('hashchange', route);
  window.addEventListener('langchange', route);
  window.addEventListener('sessionchange', renderChrome);
  window.addEventListener('online', renderNetstate);
  window.addEventListener('offline', renderNetstate);
  window.addEventListener('outboxchange', (event) => {
    pending = event.detail.count;
    renderChrome();
  });
  window.addEventListener('correctionschange', (event) => {
    waiting = event.detail.count;
    renderChrome();
  });
  langButton.addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  logoutButton.addEventListener('click', logout);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  }
  route();
  refreshUser().then(renderChrome);
  startOutbox();
  window.addEventListener('sessionchange', prepareOffline);
  prepareOffline();
  window.addEventListener('sessionchange', countCorrections);
  countCorrections();
}

/** Officers see beside 整改 how many corrections wait for their approval. */
function countCorrections() {
  const user = currentUser();
  waiting = 0;
  if (user && DECIDERS.includes(user.role)) countWaiting().catch(() => {});
}

/** An inspector's shelters and the catalogue are fetched at once, so the service worker
 *  has them before the inspector goes underground. */
function prepareOffline() {
  const user = currentUser();
  if (user && ['inspector', 'admin'].includes(user.role)) warm();
}

start();
