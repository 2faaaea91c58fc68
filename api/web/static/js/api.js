// The JSON API under /api/v1: the bearer token and the logged-in user kept in localStorage,
// errors as ApiError (the API's {"error": {"code", "message", "details"}}) or NetworkError
// (no answer at all), and a 401 sends the user to the login page.

const TOKEN = 'sw.token';
const USER = 'sw.me';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super('network unreachable');
    this.cause = cause;
  }
}

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function token() {
  return read(TOKEN);
}

/** The logged-in user as GET /api/v1/me answered it, or null. */
export function currentUser() {
  const raw = read(USER);
  if (!raw || !token()) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

export function saveSession(accessToken, me) {
  localStorage.setItem(TOKEN, accessToken);
  localStorage.setItem(USER, JSON.stringify(me));
}

export function saveUser(me) {
  localStorage.setItem(USER, JSON.stringify(me));
}

/** Forget the login and the API answers the service worker kept for it (sw-data*). */
export function clearSession() {
  localStorage.removeItem(TOKEN);
  localStorage.removeItem(USER);
  if ('caches' in window) {
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('sw-data')).map((n) => caches.delete(n))))
      .catch(() => {});
  }
  window.dispatchEvent(new CustomEvent('sessionchange'));
}

let onUnauthorized = () => {};

/** What to do when the API answers 401 (the app sends the user to the login page). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * One API call. opts: json (a body sent as JSON), form (FormData or URLSearchParams),
 * headers, raw (return the Response, a 304 included), quiet401 (do not log out on 401), signal.
 */
export async function request(method, path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  const bearer = token();
  if (bearer && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${bearer}`);
  let body;
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    body = opts.form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal: opts.signal, credentials: 'omit' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new NetworkError(err);
  }
  if (!response.ok && !(opts.raw && response.status === 304)) {
    let code = `http_${response.status}`;
    let message = response.statusText;
    let details = null;
    try {
      const data = await response.json();
      if (data && data.error) ({ code, message, details } = data.error);
    } catch {
      // not JSON: keep the status
    }
    if (response.status === 401 && !opts.quiet401) {
      clearSession();
      onUnauthorized();
    }
    throw new ApiError(response.status, code, message, details);
  }
  if (opts.raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, json, opts = {}) => request('POST', path, { ...opts, json }),
  put: (path, json, opts = {}) => request('PUT', path, { ...opts, json }),
  patch: (path, json, opts = {}) => request('PATCH', path, { ...opts, json }),
  del: (path, opts) => request('DELETE', path, opts),
  upload: (path, form, opts = {}) => request('POST', path, { ...opts, form }),
};

/** Query string from an object, leaving out null, undefined and ''. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * Download a file the API serves only to a logged-in user (a notice PDF, an export): fetched
 * with the token, then saved from a blob: URL under `filename`. Returns the Response (its
 * headers, e.g. X-Total-Count).
 */
export async function download(path, filename) {
  const response = await request('GET', path, { raw: true, headers: { Accept: '*/*' } });
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return response;
}
