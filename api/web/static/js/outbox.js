// Inspections finished on the phone wait here (IndexedDB, photos as Blobs) until they are
// sent; every inspection goes through it, online or not.
//
// Sending one item: POST /api/v1/shelters/{code}/inspections with the item's
// Idempotency-Key (made once, when the inspection was finished), then each photo not yet
// sent to POST /api/v1/inspections/{id}/photos: a finding's photo with the id of the finding
// the inspection recorded for its item, a re-inspection's photo with the id of the earlier
// finding it judged. The server answers a repeated submission
// with the inspection it already stored and a repeated photo with the attachment it already
// stored, so an answer lost on the way back costs nothing but the retry.
//
// When: right after an inspection is finished, when the app starts, when the browser
// reports the network back ('online'), when the app comes back to the foreground, and on a
// timer with exponential backoff (2 s doubling to 5 min) after a failure. A refusal by the
// server (4xx other than 401/408/429) is not retried: the item stays, marked, for the
// inspector to read and discard.

import { ApiError, NetworkError, currentUser, request } from './api.js';

const DB_NAME = 'shelterwatch';
const DB_VERSION = 1;
const OUTBOX = 'outbox';
const SENT = 'sent';
const SENT_KEPT = 20;
const BACKOFF_FIRST_MS = 2000;
const BACKOFF_MAX_MS = 5 * 60 * 1000;

let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'key' });
        if (!db.objectStoreNames.contains(SENT)) db.createObjectStore(SENT, { keyPath: 'key' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const s = t.objectStore(store);
    let result;
    Promise.resolve(work(s)).then((value) => {
      result = value;
    });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

function all(store) {
  return tx(store, 'readonly', (s) => new Promise((resolve) => {
    const req = s.getAll();
    req.onsuccess = () => resolve(req.result);
  }));
}

function put(store, value) {
  return tx(store, 'readwrite', (s) => {
    s.put(value);
  });
}

function remove(store, key) {
  return tx(store, 'readwrite', (s) => {
    s.delete(key);
  });
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function mine(items) {
  const user = currentUser();
  return items
    .filter((i) => user && i.user === user.username)
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** The current user's inspections waiting to be sent, oldest first. */
export async function waiting() {
  return mine(await all(OUTBOX));
}

/** The current user's last sent inspections, newest first. */
export async function sent() {
  return mine(await all(SENT)).reverse();
}

async function announce() {
  const items = await waiting();
  window.dispatchEvent(new CustomEvent('outboxchange', { detail: { count: items.length, items } }));
}

/**
 * Keep a finished inspection on the phone. `photos`: [{blob, name, item, finding}] where item
 * is the catalogue code of the new finding it shows, finding the id of the earlier finding
 * it shows judged (复查), both null for the inspection as a whole.
 */
export async function enqueue({ shelter, shelterName, body, photos }) {
  const user = currentUser();
  const item = {
    key: newKey(),
    user: user.username,
    shelter,
    shelterName,
    body,
    photos: photos.map((p) => ({ id: newKey(), blob: p.blob, name: p.name, item: p.item || null, finding: p.finding || null, sent: false, error: null })),
    createdAt: Date.now(),
    attempts: 0,
    nextAttemptAt: 0,
    state: 'waiting',
    error: null,
    inspection: null,
  };
  await put(OUTBOX, item);
  await announce();
  return item.key;
}

export async function discard(key) {
  await remove(OUTBOX, key);
  await announce();
}

function retryable(err) {
  if (err instanceof NetworkError) return true;
  return err instanceof ApiError && (err.status >= 500 || [401, 408, 429].includes(err.status));
}

async function sendPhotos(item) {
  const findings = item.inspection.findings || [];
  for (const photo of item.photos) {
    if (photo.sent || photo.error) continue;
    const form = new FormData();
    form.append('files', photo.blob, photo.name);
    const finding = photo.item && findings.find((f) => f.item === photo.item);
    if (photo.finding) form.append('finding_id', String(photo.finding));
    else if (finding) form.append('finding_id', String(finding.id));
    try {
      await request('POST', `/api/v1/inspections/${item.inspection.id}/photos`, { form });
      photo.sent = true;
    } catch (err) {
      if (retryable(err)) throw err;
      photo.error = err.message; // refused (type, size): the inspection stands without it
    }
    await put(OUTBOX, item);
  }
}

async function sendOne(item) {
  if (!item.inspection) {
    item.inspection = await request('POST', `/api/v1/shelters/${encodeURIComponent(item.shelter)}/inspections`, {
      json: item.body,
      headers: { 'Idempotency-Key': item.key },
    });
    await put(OUTBOX, item);
  }
  await sendPhotos(item);
  const done = { key: item.key, user: item.user, shelter: item.shelter, shelterName: item.shelterName, sentAt: Date.now(), inspection: item.inspection, photoErrors: item.photos.filter((p) => p.error).length };
  await put(SENT, done);
  await remove(OUTBOX, item.key);
  const kept = await sent();
  for (const old of kept.slice(SENT_KEPT)) await remove(SENT, old.key);
  window.dispatchEvent(new CustomEvent('outboxsent', { detail: done }));
  return done;
}

let running = null;
let timer = null;

function schedule(items) {
  clearTimeout(timer);
  const next = items.filter((i) => i.state === 'waiting').map((i) => i.nextAttemptAt);
  if (!next.length) return;
  const delay = Math.max(0, Math.min(...next) - Date.now());
  timer = setTimeout(() => flush(), delay);
}

async function flushNow({ force }) {
  const results = [];
  let items = await waiting();
  for (const item of items) {
    if (item.state !== 'waiting') continue;
    if (!force && item.nextAttemptAt > Date.now()) continue;
    try {
      results.push(await sendOne(item));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) break; // logged out: wait for a login
      item.attempts += 1;
      item.error = { code: err.code || 'network', message: err.message, at: Date.now() };
      if (retryable(err)) {
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (item.attempts - 1));
        item.nextAttemptAt = Date.now() + backoff * (0.75 + Math.random() * 0.5);
      } else {
        item.state = 'refused';
      }
      await put(OUTBOX, item);
      if (err instanceof NetworkError) break; // the others would fail the same way now
    }
  }
  items = await waiting();
  schedule(items);
  await announce();
  return results;
}

/**
 * Send what is due (everything when `force`); one run at a time per page, and across tabs
 * where the browser has Web Locks. Resolves to the items sent by this run.
 */
export function flush({ force = false } = {}) {
  if (!currentUser()) return Promise.resolve([]);
  if (running) return running.then(() => flush({ force }));
  const run = () => flushNow({ force });
  running = (navigator.locks ? navigator.locks.request('shelterwatch-outbox', run) : run()).finally(() => {
    running = null;
  });
  return running;
}

/** Start sending: now, whenever the network returns and whenever the app is shown again. */
export function startOutbox() {
  window.addEventListener('online', () => flush({ force: true }));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') flush();
  });
  window.addEventListener('sessionchange', () => {
    announce();
    flush({ force: true });
  });
  announce();
  flush({ force: true });
}
