// Reads a screen keeps fresh without a reload: polled with the ETag of the last answer, so the
// server answers 304 (no body) until something changed, and only while the page is shown.

import { request } from './api.js';

/**
 * Call onData(data) with the answer of GET `path` now and whenever it changes, every `every`
 * ms while `root` is in the page and the tab is visible. Returns a function that stops it.
 */
export function poll(root, path, onData, { every = 15000, onError = () => {} } = {}) {
  let etag = null;
  let timer = null;
  let stopped = false;

  async function once() {
    if (stopped) return;
    if (!root.isConnected) {
      stop();
      return;
    }
    if (document.visibilityState === 'visible') {
      try {
        const headers = etag ? { 'If-None-Match': etag } : {};
        const response = await request('GET', path, { raw: true, headers });
        if (response.status !== 304) {
          etag = response.headers.get('ETag');
          const data = await response.json();
          if (!stopped && root.isConnected) onData(data);
        }
      } catch (err) {
        onError(err);
      }
    }
    if (!stopped) timer = setTimeout(once, every);
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
  }

  once();
  return stop;
}
