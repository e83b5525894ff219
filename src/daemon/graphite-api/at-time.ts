// graphite-web's time arguments (render/attime.py): `from`/`until` as unix
// seconds, `now`, a time of day and a date, with an offset (`-1h`,
// `now-10min`); and the interval strings of summarize ("1min", "1h"). Times
// are UTC (graphite-web uses its TIME_ZONE setting; Grafana sends unix
// seconds or offsets, which do not depend on it).
import { StatsdError } from '../../core/errors';

const UNIT_SECONDS: [prefix: string, seconds: number][] = [
  // Checked in graphite-web's order: 's' before 'min', 'min' before 'mon'.
  ['s', 1],
  ['min', 60],
  ['h', 3600],
  ['d', 86_400],
  ['w', 7 * 86_400],
  ['mon', 30 * 86_400],
  ['y', 365 * 86_400],
];

function badTime(what: string, text: string, why: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', `bad ${what} ${JSON.stringify(text.slice(0, 100))}: ${why}`);
}

/**
 * Seconds in an offset: an optional sign, then number-unit pairs (`-1h30min`,
 * `5min`); units s, min, h, d, w, mon (30 days), y (365 days), matched by
 * prefix as graphite-web does (`seconds`, `hours`). Throws on anything else.
 */
export function parseOffset(text: string, what = 'offset'): number {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '') return 0;
  let seconds = 0;
  while (rest !== '') {
    const m = /^(\d+)([a-z]*)/.exec(rest);
    if (!m) throw badTime(what, text, 'expected a number and a unit');
    const unit = UNIT_SECONDS.find(([prefix]) => m[2]!.startsWith(prefix));
    if (!unit) throw badTime(what, text, `unknown unit ${JSON.stringify(m[2])} (s, min, h, d, w, mon, y)`);
    seconds += Number(m[1]) * unit[1];
    rest = rest.slice(m[0].length);
  }
  if (!Number.isSafeInteger(seconds)) throw badTime(what, text, 'too large');
  return sign * seconds;
}

/** Seconds of a summarize interval ("1min", "1h", "30s"): positive. */
export function parseInterval(text: string): number {
  const seconds = parseOffset(text.trim().toLowerCase().replace(/[_ ,]/g, ''), 'interval');
  if (seconds <= 0) throw badTime('interval', text, 'must be positive');
  return seconds;
}

/**
 * Unix seconds for a graphite-web time: `1700000000`; `now`; `-1h`,
 * `now-10min`; `HH:MM_YYYYMMDD`, `YYYYMMDD`, `HH:MM` (today), `midnight`,
 * `noon`, `today`, `yesterday`, `tomorrow`, each with an optional offset.
 * `now` is unix seconds. Throws a StatsdError naming what is not understood.
 */
export function parseAtTime(text: string, now: number, what = 'time'): number {
  const s = text.trim().toLowerCase().replace(/[_ ,]/g, '');
  if (/^\d+$/.test(s) && !isDate(s)) {
    const t = Number(s);
    if (!Number.isSafeInteger(t)) throw badTime(what, text, 'too large');
    return t;
  }
  const sign = s.search(/[+-]/);
  const ref = sign < 0 ? s : s.slice(0, sign);
  const offset = sign < 0 ? '' : s.slice(sign);
  return reference(ref, now, text, what) + parseOffset(offset, what);
}

function isDate(s: string): boolean {
  return s.length === 8 && Number(s.slice(0, 4)) > 1900 && Number(s.slice(4, 6)) < 13 && Number(s.slice(6)) < 32;
}

/** The time a reference names: now, a time of day, a date, or both. */
function reference(ref: string, now: number, text: string, what: string): number {
  if (ref === '' || ref === 'now') return now;
  let rest = ref;
  let dayOffset = -1; // seconds into the day, when a time of day is given
  const clock = /^(\d{1,2}):(\d{2})/.exec(rest);
  if (clock) {
    dayOffset = Number(clock[1]) * 3600 + Number(clock[2]) * 60;
    rest = rest.slice(clock[0].length);
  } else if (rest.startsWith('midnight') || rest.startsWith('noon') || rest.startsWith('teatime')) {
    const word = /^(midnight|noon|teatime)/.exec(rest)![1]!;
    dayOffset = { midnight: 0, noon: 12 * 3600, teatime: 16 * 3600 }[word]!;
    rest = rest.slice(word.length);
  }
  const today = now - (((now % 86_400) + 86_400) % 86_400);
  let day = today;
  if (rest === '' || rest === 'today') day = today;
  else if (rest === 'yesterday') day = today - 86_400;
  else if (rest === 'tomorrow') day = today + 86_400;
  else if (isDate(rest)) day = Date.UTC(Number(rest.slice(0, 4)), Number(rest.slice(4, 6)) - 1, Number(rest.slice(6))) / 1000;
  else throw badTime(what, text, 'not a time graphite-web reads here (unix seconds, now, -1h, HH:MM_YYYYMMDD, YYYYMMDD, midnight, today …)');
  if (dayOffset < 0) return rest === '' ? now : day;
  return day + dayOffset;
}
