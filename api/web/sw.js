// The service worker (served at /sw.js with VERSION and SHELL prepended by api/web).
//
// - The app shell (SHELL) is cached at install, one cache per VERSION, served cache first.
// - Vendored libraries are cached the first time a page uses them.
// - The reads an inspector needs underground (who they are, the checklist catalogue, their
//   shelters and a shelter's detail) go to the network first and fall back to the last
//   answer kept; the page clears these on logout.
// - Only GET is handled: POSTs (inspections, photos, logins) never pass through here, so
//   they meet the page's real network state and the page's own outbox handles them.

/* global VERSION, SHELL */
const SHELL_CACHE = `sw-shell-${VERSION}`;
const VENDOR_CACHE = 'sw-vendor';
const DATA_CACHE = 'sw-data';
const NETWORK_TIMEOUT_MS = 8000;
const DATA_PATHS = /^\/api\/v1\/(me|me\/shelters|checklist|shelters|shelters\/[^/]+)$/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      // no-cache: what the page has just loaded is revalidated (304), not downloaded again
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith('sw-shell-') && name !== SHELL_CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function cacheFirst(request, cacheName, key = request) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

async function networkFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok) await cache.put(request, response.clone());
    else if (response.status === 401 || response.status === 404) await cache.delete(request);
    return response;
  } catch (err) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/') {
    event.respondWith(cacheFirst(request, SHELL_CACHE, '/'));
  } else if (url.pathname.startsWith('/static/vendor/')) {
    event.respondWith(cacheFirst(request, VENDOR_CACHE));
  } else if (SHELL.includes(url.pathname) && !url.search) {
    event.respondWith(cacheFirst(request, SHELL_CACHE));
  } else if (DATA_PATHS.test(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});
