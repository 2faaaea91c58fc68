// The hash routes of the app, the page module each one loads (js/pages/<page>.js), the roles
// that may open it, and the ones that appear in the navigation (in this order).

export const PEOPLE = ['admin', 'district_officer', 'inspector', 'manager'];

export const ROUTES = [
  { path: '/login', page: 'login', public: true },
  { path: '/shelters', page: 'shelters', roles: ['inspector', 'district_officer', 'admin'], nav: 'nav.shelters' },
  { path: '/shelters/:code', page: 'shelter', roles: PEOPLE },
  { path: '/shelters/:code/inspect', page: 'inspect', roles: ['inspector', 'admin'] },
  { path: '/shelters/:code/charts', page: 'charts', roles: PEOPLE },
  { path: '/inspections/:id', page: 'inspection', roles: PEOPLE },
  { path: '/outbox', page: 'outbox', roles: ['inspector', 'admin'], nav: 'nav.outbox' },
  { path: '/my', page: 'my', roles: ['manager'], nav: 'nav.my' },
  { path: '/my/:code', page: 'my', roles: ['manager', 'admin'] },
  { path: '/dashboard', page: 'dashboard', roles: ['district_officer', 'admin'], nav: 'nav.dashboard' },
  { path: '/sweeps', page: 'sweeps', roles: ['district_officer', 'admin'], nav: 'nav.sweeps' },
  { path: '/exchange', page: 'exchange', roles: ['district_officer'], nav: 'nav.exchange' },
  { path: '/followups', page: 'followups', roles: ['district_officer', 'admin', 'inspector'], nav: 'nav.followups' },
  { path: '/manufacturers', page: 'manufacturers', roles: ['district_officer', 'admin'] },
  { path: '/admin', page: 'admin', roles: ['admin'], nav: 'nav.admin' },
  { path: '/admin/users', page: 'admin-users', roles: ['admin'] },
  { path: '/admin/shelters', page: 'admin-shelters', roles: ['admin'] },
  { path: '/admin/new-shelter', page: 'admin-shelter', roles: ['admin'] },
  { path: '/admin/shelters/:code', page: 'admin-shelter', roles: ['admin'] },
  { path: '/admin/rules', page: 'admin-rules', roles: ['admin'] },
];

/** The route matching `path` and its parameters, or null. */
export function match(path) {
  const parts = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pattern.length; i += 1) {
      if (pattern[i].startsWith(':')) {
        try {
          params[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (pattern[i] !== parts[i]) {
        ok = false;
      }
      if (!ok) break;
    }
    if (ok) return { route, params };
  }
  return null;
}

export function allowed(route, role) {
  return Boolean(route.public || (role && route.roles && route.roles.includes(role)));
}

/** The navigation entries of a role. */
export function navFor(role) {
  return ROUTES.filter((r) => r.nav && allowed(r, role));
}

/** Where a role lands after logging in. */
export function homeFor(role) {
  const first = navFor(role)[0];
  return first ? first.path : '/login';
}
