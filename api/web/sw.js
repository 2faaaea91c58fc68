// The service worker (served at /sw.js with VERSION, SHELL and NETWORK_TIMEOUT_MS prepended
// by api/web).
//
// - The app shell (SHELL) is cached at install, one cache per VERSION, served cache first.
// - Vendored libraries are cached the first time a page uses them.
// - The reads an inspector needs underground (who they are, the checklist catalogue, their
//   shelters and a shelter's detail) go to the network first and fall back to the last
//   answer kept when the network fails or is slow; with none kept, a slow network is waited
//   for. The page clears these on logout.
// - Only GET is handled: POSTs (inspections, photos, logins) never pass through here, so
//   they meet the page's real network state and the page's own outbox handles them.

/* global VERSION, SHELL, NETWORK_TIMEOUT_MS */
const SHELL_CACHE = `sw-shell-${VERSION}`;
const VENDOR_CACHE = 'sw-vendor';
const DATA_CACHE = 'sw-data';
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

const TIMED_OUT = Symbol('timed out');

function timer(ms) {
  let handle;
  const promise = new Promise((resolve) => {
    handle = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return { promise, cancel: () => clearTimeout(handle) };
}

/** The network's answer, or the last one kept when the network fails or is slower than
 *  NETWORK_TIMEOUT_MS (a phone underground). With nothing kept, a slow network is waited
 *  for: a slow answer is better than none. */
async function networkFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  const answer = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(request, response.clone());
    else if (response.status === 401 || response.status === 404) await cache.delete(request);
    return response;
  });
  const clock = timer(NETWORK_TIMEOUT_MS);
  try {
    const first = await Promise.race([answer, clock.promise]);
    if (first !== TIMED_OUT) return first;
  } catch (err) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw err;
  } finally {
    clock.cancel();
  }
  const kept = await cache.match(request);
  if (!kept) return answer;
  answer.catch(() => {}); // the kept copy answered; a late failure changes nothing
  return kept;
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
