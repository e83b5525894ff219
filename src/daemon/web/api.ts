// The page's read-only JSON API under /api/: the daemon's flush state, the
// live keys, and a key's series from the history. What one request may cost
// is capped (keys, series and points per request); a request over a cap is
// refused with 400 and counted, as is any bad parameter.
import { MAX_TIMESTAMP } from '../../aggregator/aggregator';
import { StatsdError } from '../../core/errors';
import { choiceOption, invalidOption } from '../../core/options';
import { type HttpServer, sendJson } from '../http/http-server';
import type { StatsdServer } from '../server';
import { KeyList, MAX_LISTED_KEYS } from './key-list';
import { KEY_KINDS, type KeyKind, type KeySeries, SeriesNames } from './series-names';

/** Keys one /api/keys answer lists at most (`limit`; default 200). */
export const MAX_KEYS_PER_REQUEST = 1000;
/** Series one /api/series answer holds at most: `name`s asked, or a key's series (the rest left out, counted). */
export const MAX_SERIES_PER_REQUEST = 64;
/** Points per series one /api/series answer holds at most (`points`; default 360): 64 × 2000 values ≈ 1.5 MB of JSON. */
export const MAX_POINTS_PER_SERIES = 2000;
/** Longest search text and series name taken. */
const MAX_QUERY_CHARS = 256;
const MAX_NAME_CHARS = 8192;

export interface WebApiStats {
  requests: number;
  /** Answered 400: a bad parameter, or one over a cap (then also in `refused`). */
  badRequests: number;
  /** Refused for their cost: over a cap, or a key list past MAX_LISTED_KEYS. */
  refused: number;
  /** A key's series past MAX_SERIES_PER_REQUEST, left out of answers. */
  seriesLeftOut: number;
}

/** A refused request: its status and the message the client is sent. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly overCap = false,
  ) {
    super(message);
  }
}

/** Registers /api/status, /api/keys and /api/series for `server` on `http`. */
export function registerApiRoutes(http: HttpServer, server: StatsdServer): void {
  const stats: WebApiStats = { requests: 0, badRequests: 0, refused: 0, seriesLeftOut: 0 };
  const keyList = new KeyList(server.aggregator);
  const names = new SeriesNames(server.options.aggregator);
  const lastFlush = { count: 0, timestamp: null as number | null, at: 0 };
  server.on('flush', (result: { timestamp: number }) => {
    lastFlush.count++;
    lastFlush.timestamp = result.timestamp;
    lastFlush.at = Date.now();
    keyList.flushed();
  });

  const route = (path: string, answer: (query: URLSearchParams) => unknown) =>
    http.route(path, (req, res, _path, query) => {
      stats.requests++;
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'read-only: GET only' });
      let body: unknown;
      try {
        body = answer(query);
      } catch (error) {
        if (!(error instanceof Refusal || error instanceof StatsdError)) throw error;
        const refusal = error instanceof Refusal ? error : new Refusal(400, error.message);
        if (refusal.status === 400) stats.badRequests++;
        if (refusal.overCap) stats.refused++;
        return sendJson(res, refusal.status, { error: refusal.message });
      }
      sendJson(res, 200, body);
    });

  // What the page needs to follow the flushes: it asks again just after the next one is due.
  route('/api/status', (query) => {
    known(query, []);
    const history = server.history;
    return {
      convention: server.aggregator.convention,
      flushInterval: server.options.flushInterval,
      flushes: lastFlush.count,
      lastFlush: lastFlush.timestamp,
      sinceFlushMs: lastFlush.count > 0 ? Date.now() - lastFlush.at : null,
      keys: server.aggregator.stats.keys,
      history: history ? { window: history.window, ...history.history } : null,
      limits: {
        keysPerRequest: MAX_KEYS_PER_REQUEST,
        seriesPerRequest: MAX_SERIES_PER_REQUEST,
        pointsPerSeries: MAX_POINTS_PER_SERIES,
        listedKeys: MAX_LISTED_KEYS,
      },
      api: { ...stats },
    };
  });

  // /api/keys?q=api%20latency&limit=200: live keys containing every term.
  route('/api/keys', (query) => {
    known(query, ['q', 'limit']);
    const q = text(query, 'q', MAX_QUERY_CHARS) ?? '';
    const limit = capped(query, 'limit', 200, MAX_KEYS_PER_REQUEST);
    const found = keyList.search(q, limit);
    if (!found) {
      const keys = server.aggregator.stats.keys;
      throw new Refusal(503, `the daemon holds ${keys} keys, more than the ${MAX_LISTED_KEYS} the key list reads`, true);
    }
    return { ...found, flush: lastFlush.timestamp };
  });

  // /api/series?key=api.latency&kind=timer&points=360 (a key's series), or
  // /api/series?name=a.b&name=c.d (series by Graphite name); from/until in unix seconds.
  route('/api/series', (query) => {
    known(query, ['key', 'kind', 'name', 'points', 'from', 'until']);
    const key = text(query, 'key', MAX_NAME_CHARS);
    const named = query.getAll('name');
    if ((key === undefined) === (named.length === 0)) throw new Refusal(400, 'Expected exactly one of key (with kind) or name');
    const points = capped(query, 'points', 360, MAX_POINTS_PER_SERIES);
    const from = time(query, 'from') ?? 0;
    const until = time(query, 'until') ?? MAX_TIMESTAMP;
    let wanted: KeySeries[];
    let kind: KeyKind | undefined;
    if (key !== undefined) {
      if (key === '') throw invalidOption('key', 'a statsd key', key);
      kind = choiceOption('kind', query.get('kind') ?? null, 'counter', KEY_KINDS);
      wanted = names.of(key, kind);
    } else {
      if (query.has('kind')) throw new Refusal(400, 'Expected kind only with key');
      if (named.length > MAX_SERIES_PER_REQUEST) {
        throw new Refusal(400, `Expected at most ${MAX_SERIES_PER_REQUEST} names but received ${named.length}`, true);
      }
      named.forEach((n) => text(query, 'name', MAX_NAME_CHARS, n));
      wanted = named.map((name) => ({ field: name, name }));
    }
    const history = server.history;
    if (!history) throw new Refusal(404, 'the daemon keeps no history: start it with the history option');
    // The first known series gives the flushes in range (every series has the
    // same columns); the others are read from the first of the last `points`.
    let times: number[] | undefined;
    let since = from;
    const series: { field: string; name: string; values: (number | null)[] }[] = [];
    let leftOut = 0;
    for (const s of wanted) {
      if (series.length === MAX_SERIES_PER_REQUEST) {
        leftOut++; // a series of the key's not fetched (whether the history holds it is not asked)
        continue;
      }
      const data = history.fetch(s.name, since, until);
      if (!data) continue;
      if (!times) {
        times = data.times.slice(-points);
        since = times[0] ?? from;
      }
      series.push({ field: s.field, name: s.name, values: data.values.slice(-times.length) });
    }
    stats.seriesLeftOut += leftOut;
    return { key, kind, times: times ?? [], series, seriesLeftOut: leftOut };
  });
}

/** Refuses a parameter not in `names` (a misspelt one would be ignored without a word). */
function known(query: URLSearchParams, names: readonly string[]): void {
  for (const name of query.keys()) {
    if (!names.includes(name)) throw new Refusal(400, `unknown parameter ${JSON.stringify(name)}${names.length ? `: expected ${names.join(', ')}` : ''}`);
  }
}

/** A text parameter of at most `max` characters, or undefined. */
function text(query: URLSearchParams, name: string, max: number, value = query.get(name)): string | undefined {
  if (value === null) return undefined;
  if (value.length > max) throw new Refusal(400, `Expected at most ${max} characters for ${name} but received ${value.length}`, true);
  return value;
}

/** An integer parameter from 1 to `cap`, or `fallback`. Over the cap is refused (counted). */
function capped(query: URLSearchParams, name: string, fallback: number, cap: number): number {
  return integer(query, name, 1, cap, true) ?? fallback;
}

/** Unix seconds, or undefined. */
function time(query: URLSearchParams, name: string): number | undefined {
  return integer(query, name, 0, MAX_TIMESTAMP, false);
}

/** An integer parameter in [min, max], or undefined; past `max` a refusal for cost when `overCap`. */
function integer(query: URLSearchParams, name: string, min: number, max: number, overCap: boolean): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  if (!/^-?\d{1,16}$/.test(text)) throw invalidOption(name, 'an integer', text);
  const value = Number(text);
  if (value >= min && value <= max) return value;
  throw new Refusal(400, invalidOption(name, `an integer between ${min} and ${max}`, text).message, overCap && value > max);
}
