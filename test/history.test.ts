// The daemon's recent history (issue [6/7] item 1): what a flush wrote is
// kept at flush resolution for the window, gaps read as null, the bytes
// stay within maxBytes with refusals counted, idle series are freed, and
// Graphite patterns find names as graphite-web's find does.
import { describe, expect, it } from 'vitest';

import { StatsdServer } from '../src';
import { HISTORY_SERIES_OVERHEAD, History } from '../src/daemon/history/history';

const T = 1_700_000_000;

/** A flush as the aggregator hands it to sinks: carbon plaintext at one timestamp. */
function flush(lines: Record<string, number>, timestamp: number) {
  const carbon = Buffer.from(Object.entries(lines).map(([n, v]) => `${n} ${v} ${timestamp}\n`).join(''));
  return { carbon, metrics: Object.keys(lines).length, timestamp };
}

describe('History', () => {
  it('keeps each series at flush resolution; a flush that did not write it is a gap (null)', () => {
    const h = new History({ window: 60, flushInterval: 10_000 });
    h.write(flush({ 'a.b': 1, 'a.c': 2.5 }, T));
    h.write(flush({ 'a.b': 2 }, T + 10));
    h.write(flush({ 'a.b': -3e21, 'a.c': 4 }, T + 20));
    expect(h.fetch('a.b', 0, Infinity)).toEqual({ name: 'a.b', times: [T, T + 10, T + 20], values: [1, 2, -3e21] });
    expect(h.fetch('a.c', T + 5, T + 20)).toEqual({ name: 'a.c', times: [T + 10, T + 20], values: [null, 4] });
    expect(h.fetch('nope', 0, Infinity)).toBeUndefined();
    expect(h.fetch('a.b', NaN, Infinity)).toEqual({ name: 'a.b', times: [], values: [] });
    expect(h.history).toMatchObject({ series: 2, points: 6, flushes: 3, datapoints: 5, seriesRefused: 0 });
  });

  it('keeps the window only: older flushes fall out, and a series no flush in the window wrote is freed with its bytes', () => {
    const h = new History({ window: 30, flushInterval: 10_000 }); // 3 points
    h.write(flush({ old: 1, live: 1 }, T));
    for (let i = 1; i <= 3; i++) h.write(flush({ live: i + 1 }, T + 10 * i));
    expect(h.fetch('live', 0, Infinity)).toEqual({ name: 'live', times: [T + 10, T + 20, T + 30], values: [2, 3, 4] });
    expect(h.fetch('old', 0, Infinity)).toBeUndefined();
    expect(h.history).toMatchObject({ series: 1, seriesExpired: 1, bytes: 3 * 8 + 'live'.length + HISTORY_SERIES_OVERHEAD });
    // A name freed and written again starts empty: no value of its old life shows.
    h.write(flush({ old: 9 }, T + 40));
    expect(h.fetch('old', 0, Infinity)).toEqual({ name: 'old', times: [T + 20, T + 30, T + 40], values: [null, null, 9] });
  });

  it('holds at most maxBytes: new series past it are refused and counted, the ones it holds go on', () => {
    const perSeries = 360 * 8 + 'k000'.length + HISTORY_SERIES_OVERHEAD; // 2,952 bytes for 360 points
    expect(perSeries).toBeLessThanOrEqual(3 * 1024); // the target: <= 3 KB a series at 360 points
    const h = new History({ window: 3600, flushInterval: 10_000, maxBytes: perSeries * 10 });
    const lines = (n: number, v: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(3, '0')}`, v]));
    h.write(flush(lines(25, 1), T));
    expect(h.history).toMatchObject({ series: 10, bytes: perSeries * 10, seriesRefused: 15 });
    h.write(flush(lines(25, 2), T + 10));
    expect(h.history).toMatchObject({ series: 10, seriesRefused: 30, datapoints: 20 });
    expect(h.fetch('k009', 0, Infinity)?.values).toEqual([1, 2]);
    expect(h.fetch('k010', 0, Infinity)).toBeUndefined();
  });

  it('skips a line that is not "name value timestamp" and keeps the others', () => {
    const h = new History({ window: 60, flushInterval: 10_000 });
    h.write({ carbon: Buffer.from(`good 1 ${T}\nbad\nworse x ${T}\nalso.good 2 ${T}\n`), metrics: 2, timestamp: T });
    expect(h.find('*good')).toEqual(['good']);
    expect(h.find('also.*')).toEqual(['also.good']);
    expect(h.history.datapoints).toBe(2);
  });

  it('finds names by Graphite patterns, node by node', () => {
    const h = new History({ window: 60, flushInterval: 10_000 });
    const names = ['api.a.count', 'api.b.count', 'api.c1.count', 'api.c2.mean', 'web.a.count', 'api.a', 'api.ab.count'];
    h.write(flush(Object.fromEntries(names.map((n) => [n, 1])), T));
    const find = (p: string) => h.find(p).sort();
    expect(find('api.*.count')).toEqual(['api.a.count', 'api.ab.count', 'api.b.count', 'api.c1.count']);
    expect(find('api.?.count')).toEqual(['api.a.count', 'api.b.count']);
    expect(find('api.c[0-1].*')).toEqual(['api.c1.count']);
    expect(find('api.c[12].mean')).toEqual(['api.c2.mean']);
    expect(find('{api,web}.a.count')).toEqual(['api.a.count', 'web.a.count']);
    expect(find('api.{a,b}*.count')).toEqual(['api.a.count', 'api.ab.count', 'api.b.count']);
    expect(find('*')).toEqual([]); // one node: no name is a single node here
    expect(find('api.*')).toEqual(['api.a']); // the same number of nodes, never across a '.'
    expect(find('*.*.*')).toHaveLength(6);
    expect(h.find('*.*.*', 2)).toHaveLength(2); // the limit
  });

  it('patterns match UTF-8 characters, sets negate with ! and nest braces; past their bounds they are refused, not matched to nothing', () => {
    const h = new History({ window: 60, flushInterval: 10_000 });
    h.write(flush({ 'café.x': 1, 'cafe.x': 2, 'api.a1.x': 3, 'api.b2.x': 4 }, T));
    const find = (p: string) => h.find(p).sort();
    expect(find('caf?.x')).toEqual(['cafe.x', 'café.x']);
    expect(find('caf[é].x')).toEqual(['café.x']);
    expect(find('caf[!é].x')).toEqual(['cafe.x']);
    expect(find('api.{a{1,2},b2}.x')).toEqual(['api.a1.x', 'api.b2.x']);
    expect(find('api.[a-b][0-9].x')).toEqual(['api.a1.x', 'api.b2.x']);
    expect(() => h.find(`${'{a,b}'.repeat(9)}.x`)).toThrow(/bad pattern: braces that expand to more than 256 alternatives/);
    expect(() => h.find(`${'{'.repeat(9)}a${'}'.repeat(9)}`)).toThrow(/bad pattern: braces nested deeper than 8/);
    expect(() => h.find('a.'.repeat(2100))).toThrow(/bad pattern: a pattern longer than 4096 bytes/);
    // One that is costly but within bounds is answered (once compiled, not per name)
    expect(find(`${'{a,b}'.repeat(8)}${'{}'.repeat(2027)}.*`)).toEqual([]);
  });

  it('a scan stops at its deadline and says so', () => {
    const h = new History({ window: 60, flushInterval: 10_000 });
    h.write(flush(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`s.n${i}`, i])), T));
    expect(h.search('s.*', { timeoutMs: 0 }).scan).toBe('timeout');
    expect(h.findNodes('s.*', 10, 0).scan).toBe('timeout');
    expect(h.search('s.*', { limit: 5 })).toMatchObject({ scan: 'limited' });
    expect(h.search('s.*').names).toHaveLength(2000);
  });

  it('memory past maxBytes is less than one row block: a long window with a small bound allocates little', () => {
    const before = process.memoryUsage().rss;
    // 86,400 points a series (691 KB): before blocks were sized by the bound, one series took 256 rows (177 MB).
    const h = new History({ window: 86_400, flushInterval: 1000, maxBytes: 1_000_000 });
    h.write(flush({ one: 1 }, T));
    expect(h.history.series).toBe(1);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  it('refuses options it cannot take, naming them', () => {
    expect(() => new History({ window: 0 })).toThrow(/window/);
    expect(() => new History({ flushInterval: 0.5 })).toThrow(/flushInterval/);
    expect(() => new History({ maxBytes: -1 })).toThrow(/maxBytes/);
    expect(() => new History({ windows: 5 } as never)).toThrow(/windows/);
  });

  it("is a daemon sink: `history` keeps what each flush wrote, at the daemon's flush interval", () => {
    const server = new StatsdServer({ flushInterval: 1000, history: { window: 60 }, sinks: [] });
    expect(server.history?.window).toBe(60);
    expect(server.history?.history.points).toBe(60);
    server.aggregator.ingest('api.hits:2|c\napi.hits:3|c\nq:7|g');
    server.flush(T);
    server.aggregator.ingest('api.hits:1|c');
    server.flush(T + 1);
    expect(server.history?.fetch('api.hits', 0, Infinity)).toEqual({ name: 'api.hits', times: [T, T + 1], values: [5, 1] });
    expect(server.history?.fetch('q', 0, Infinity)?.values).toEqual([7, 7]); // brubeck reports a gauge once more when idle
    expect(server.history?.find('brubeck.*').sort()).toEqual(['brubeck.errors', 'brubeck.metrics', 'brubeck.unique_keys']);
    expect(() => new StatsdServer({ history: { flushInterval: 5 } as never })).toThrow(/top-level flushInterval/);
    expect(new StatsdServer({}).history).toBeUndefined();
  });
});
