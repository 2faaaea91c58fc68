// Dates, times and numbers as the city writes them: in the city's time zone (from GET
// /api/v1/me), Chinese style in Chinese (2026年12月2日 14:05), and deadlines as days left or
// days overdue.

import { lang, t } from './i18n.js';

let zone = 'Asia/Shanghai';
const DAY = 86400000;

export function setZone(name) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    zone = name;
  } catch {
    // an unknown zone keeps the default
  }
}

export function timeZone() {
  return zone;
}

function parts(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const out = {};
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 2026年12月2日 (zh) or 2 Dec 2026 (en); '' for a missing value. */
export function date(value) {
  if (value == null || value === '') return '';
  const p = parts(value);
  if (!p) return '';
  return lang() === 'zh'
    ? `${p.year}年${Number(p.month)}月${Number(p.day)}日`
    : `${Number(p.day)} ${MONTHS[Number(p.month) - 1]} ${p.year}`;
}

const pad = (n) => String(n).padStart(2, '0');

/** The value of a datetime-local input (2026-06-02T10:00) showing `value` in the city's zone. */
export function localInput(value = new Date()) {
  const p = parts(value);
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}T${p.hour}:${p.minute}` : '';
}

/** A datetime-local input's value read as the city's wall time: the instant as ISO text
 * (with its offset, Z), or null for an empty or malformed value. */
export function fromLocalInput(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text || '');
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0));
  // the zone's offset at an instant: its wall time there, read as if UTC, minus the instant
  const offset = (at) => {
    const p = parts(new Date(at));
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute)) - Math.floor(at / 60000) * 60000;
  };
  let at = wall - offset(wall);
  at = wall - offset(at); // once more, for a wall time across a change of offset
  return new Date(at).toISOString();
}

/** 2026年12月2日 14:05 (zh) or 2 Dec 2026, 14:05 (en). */
export function dateTime(value) {
  if (value == null || value === '') return '';
  const p = parts(value);
  if (!p) return '';
  const time = `${p.hour}:${p.minute}`;
  return lang() === 'zh' ? `${date(value)} ${time}` : `${date(value)}, ${time}`;
}

/** A number with grouping, at most `digits` decimals. */
export function number(value, digits = 0) {
  if (value == null || Number.isNaN(Number(value))) return '–';
  return new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en', {
    maximumFractionDigits: digits,
  }).format(Number(value));
}

/** A ratio 0..1 as a percentage. */
export function percent(ratio, digits = 1) {
  if (ratio == null) return '–';
  return `${number(ratio * 100, digits)}%`;
}

/** Days until a deadline: {days, overdue, text}; overdue counts whole days past it. */
export function deadline(due, now = new Date()) {
  const diff = new Date(due).getTime() - now.getTime();
  if (diff < 0) {
    const days = Math.max(1, Math.floor(-diff / DAY));
    return { days: -days, overdue: true, text: t('days.overdue', { n: days }) };
  }
  const days = Math.floor(diff / DAY);
  return { days, overdue: false, text: days === 0 ? t('days.today') : t('days.left', { n: days }) };
}

/** The label of a shelter class 1-4 (null: ungraded). */
export function classLabel(value) {
  return value ? t(`class.${value}`) : t('class.ungraded');
}

/** 14:05 in the city's zone (chart axes of a day). */
export function clock(value) {
  const p = parts(value);
  return p ? `${p.hour}:${p.minute}` : '';
}

/** 12月2日 (zh) or 2 Dec (en) in the city's zone (chart axes of a week or a month). */
export function dayMonth(value) {
  const p = parts(value);
  if (!p) return '';
  return lang() === 'zh' ? `${Number(p.month)}月${Number(p.day)}日` : `${Number(p.day)} ${MONTHS[Number(p.month) - 1]}`;
}

/** The city's calendar day of an instant, as YYYY-MM-DD (to group hours by day). */
export function dayKey(value) {
  const p = parts(value);
  return p ? `${p.year}-${p.month.padStart(2, '0')}-${p.day.padStart(2, '0')}` : '';
}
