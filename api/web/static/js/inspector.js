// The reads of the inspector's screens. The service worker keeps the last answer of each,
// so they also answer underground; a shelter never opened online is taken from the list.

import { api, NetworkError } from './api.js';

export const SHELTER_LIST = '/api/v1/shelters?limit=500';
export const CATALOGUE = '/api/v1/checklist';

export function shelterPath(code) {
  return `/api/v1/shelters/${encodeURIComponent(code)}`;
}

/** Every shelter the caller may see (assigned to them or in their district), by code. */
export function shelters() {
  return api.get(SHELTER_LIST);
}

export function catalogue() {
  return api.get(CATALOGUE);
}

/** A shelter's detail; offline and never opened before: its entry in the list. */
export async function shelter(code) {
  try {
    return await api.get(shelterPath(code));
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    const list = await shelters();
    const found = list.items.find((s) => s.code === code);
    if (!found) throw err;
    return { ...found, open_findings: null, sensors: [] };
  }
}

/** Fetch what an inspector needs underground, so the service worker keeps it. */
export function warm() {
  return Promise.allSettled([shelters(), catalogue()]);
}
