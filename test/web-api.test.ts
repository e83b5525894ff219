// The live page's JSON API and static files (src/daemon/web): keys and series
// as the flushes wrote them, every series of a flush charted under exactly one
// key in both conventions, caps refused and counted, bad input answered 400,
// nothing served outside the fixed file set.
import { afterEach, describe, expect, it } from 'vitest';

import { type ServerOptions, StatsdServer } from '../src';
import { HttpServer } from '../src/daemon/http/http-server';
import { MAX_KEYS_PER_REQUEST, MAX_POINTS_PER_SERIES, MAX_SERIES_PER_REQUEST } from '../src/daemon/web/api';
import { registerAssets, WEB_FILES } from '../src/daemon/web/assets';
import { MAX_LISTED_KEYS } from '../src/daemon/web/key-list';
import { SeriesNames } from '../src/daemon/web/series-names';
import { httpGet } from './helpers/daemon-cli';

const T = 1_700_000_000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A daemon with HTTP and history whose flushes the test makes (the schedule's are a minute away). */
async function daemon(options: ServerOptions = {}): Promise<StatsdServer> {
  const server = new StatsdServer({ http: { port: 0 }, history: {}, flushInterval: 60_000, ...options });
  await server.start();
  cleanups.push(() => server.stop(0));
  return server;
}

const get = (server: StatsdServer, path: string) => httpGet(server.httpPort, path);
const series = (server: StatsdServer, query: Record<string, string>) => get(server, `/api/series?${new URLSearchParams(query)}`);

describe('/api/status', () => {
  it('tells the convention, the flush interval and the last flush, for the page to follow', async () => {
    const server = await daemon();
    const before = (await get(server, '/api/status')).json;
    expect(before).toMatchObject({ convention: 'brubeck', flushInterval: 60_000, flushes: 0, lastFlush: null, sinceFlushMs: null });
    expect(before.limits).toEqual({ keysPerRequest: MAX_KEYS_PER_REQUEST, seriesPerRequest: MAX_SERIES_PER_REQUEST, pointsPerSeries: MAX_POINTS_PER_SERIES, listedKeys: MAX_LISTED_KEYS });
    server.aggregator.ingest('a:1|c\nb:2|g');
    server.flush(T);
    const after = (await get(server, '/api/status')).json;
    expect(after).toMatchObject({ flushes: 1, lastFlush: T, keys: 2, history: { series: 5, flushes: 1 } }); // a, b, brubeck.{metrics,errors,unique_keys}
    expect(after.sinceFlushMs).toBeGreaterThanOrEqual(0);
    expect(after.sinceFlushMs).toBeLessThan(10_000);
  });
});

describe('/api/keys', () => {
  it('lists the live keys with their kind, sorted; search is case-blind, every term must match', async () => {
    const server = await daemon();
    server.aggregator.ingest(['api.Latency:1|ms', 'api.requests:1|c', 'db.latency:2|ms', 'mem:3|g', 'users:x|s', 'req:1|c|#env:prod'].join('\n'));
    server.flush(T);
    const all = (await get(server, '/api/keys')).json;
    expect(all).toEqual({
      keys: [
        { key: 'api.Latency', kind: 'timer' },
        { key: 'api.requests', kind: 'counter' },
        { key: 'db.latency', kind: 'timer' },
        { key: 'mem', kind: 'gauge' },
        { key: 'req;env=prod', kind: 'counter' },
        { key: 'users', kind: 'set' },
      ],
      matched: 6,
      total: 6,
      flush: T,
    });
    const latency = (await get(server, '/api/keys?q=LATENCY')).json;
    expect(latency.keys.map((k: { key: string }) => k.key)).toEqual(['api.Latency', 'db.latency']);
    const both = (await get(server, '/api/keys?q=latency%20%20api')).json;
    expect(both).toMatchObject({ keys: [{ key: 'api.Latency' }], matched: 1, total: 6 });
    const first = (await get(server, '/api/keys?limit=2')).json;
    expect(first).toMatchObject({ keys: [{ key: 'api.Latency' }, { key: 'api.requests' }], matched: 6, total: 6 });
    expect((await get(server, '/api/keys?q=nothing')).json).toMatchObject({ keys: [], matched: 0 });
  });

  it('is read once per flush: a key first seen after a flush is listed from the next one on', async () => {
    const server = await daemon();
    server.aggregator.ingest('old:1|c');
    server.flush(T);
    expect((await get(server, '/api/keys')).json.total).toBe(1);
    server.aggregator.ingest('new:1|c');
    expect((await get(server, '/api/keys')).json.keys).toEqual([{ key: 'old', kind: 'counter' }]);
    server.flush(T + 60);
    expect((await get(server, '/api/keys')).json.keys).toEqual([{ key: 'new', kind: 'counter' }, { key: 'old', kind: 'counter' }]);
  });

  it(`past ${MAX_LISTED_KEYS} keys the list is not read: refused with 503, counted`, async () => {
    const server = await daemon();
    const lines = Array.from({ length: MAX_LISTED_KEYS + 1 }, (_, i) => `k${i}:1|c`).join('\n');
    server.aggregator.ingest(lines);
    const answer = await get(server, '/api/keys');
    expect(answer.status).toBe(503);
    expect(answer.json.error).toBe(`the daemon holds ${MAX_LISTED_KEYS + 1} keys, more than the ${MAX_LISTED_KEYS} the key list reads`);
    expect((await get(server, '/api/status')).json.api).toMatchObject({ refused: 1, badRequests: 0 });
  });
});

describe('/api/series', () => {
  it("gives a key's series as the flushes wrote them, the latest `points` of them", async () => {
    const server = await daemon();
    for (let i = 0; i < 5; i++) {
      server.aggregator.ingest(`x:5|c\nx:5|c\nx:${5 + i}|c\nt:10|ms\nt:20|ms\nt:30|ms`);
      server.flush(T + 10 * i);
    }
    const x = (await series(server, { key: 'x', kind: 'counter' })).json;
    expect(x).toEqual({
      key: 'x',
      kind: 'counter',
      times: [T, T + 10, T + 20, T + 30, T + 40],
      series: [{ field: 'count', name: 'x', values: [15, 16, 17, 18, 19] }],
      seriesLeftOut: 0,
    });
    const last2 = (await series(server, { key: 'x', kind: 'counter', points: '2' })).json;
    expect(last2).toMatchObject({ times: [T + 30, T + 40], series: [{ values: [18, 19] }] });
    const range = (await series(server, { key: 'x', kind: 'counter', from: String(T + 5), until: String(T + 25) })).json;
    expect(range).toMatchObject({ times: [T + 10, T + 20], series: [{ values: [16, 17] }] });

    const t = (await series(server, { key: 't', kind: 'timer', points: '1' })).json;
    const fields = Object.fromEntries(t.series.map((s: { field: string; values: number[] }) => [s.field, s.values]));
    expect(fields).toEqual({
      count: [3], count_ps: [0.05], min: [10], max: [30], sum: [60], mean: [20], median: [20],
      'percentile.75': [20], 'percentile.95': [30], 'percentile.98': [30], 'percentile.99': [30], 'percentile.999': [30],
    });
    expect(t.series[0]).toMatchObject({ field: 'count', name: 't.count' });
  });

  it('series by Graphite name; an unknown key or name has none (200, not an error)', async () => {
    const server = await daemon();
    server.aggregator.ingest('a:1|c\nb:2|g');
    server.flush(T);
    const named = (await get(server, '/api/series?name=b&name=brubeck.metrics&name=nope')).json;
    expect(named).toEqual({
      times: [T],
      series: [{ field: 'b', name: 'b', values: [2] }, { field: 'brubeck.metrics', name: 'brubeck.metrics', values: [2] }],
      seriesLeftOut: 0,
    });
    expect((await series(server, { key: 'nope', kind: 'gauge' })).json).toMatchObject({ times: [], series: [] });
  });

  // Differential against the native flush: each series it wrote is charted
  // under exactly one key, or is the daemon's own (brubeck.*, statsd.*).
  it.each<[string, ServerOptions['aggregator'], RegExp]>([
    ['brubeck', {}, /^brubeck\./],
    ['brubeck, its own percentiles', { percentiles: [0.5, 0.9, 0.999] }, /^brubeck\./],
    ['etsy, legacy namespace', { convention: 'etsy' }, /^(stats\.|stats_counts\.|stats\.gauges\.)?statsd\./],
    [
      'etsy, new namespace with a suffix, thresholds and histogram',
      { convention: 'etsy', legacyNamespace: false, globalPrefix: 'p', prefixCounter: 'c', globalSuffix: 'sfx', percentThreshold: [90, -10, 99.9], histogram: [{ metric: 'lat', bins: [10, 'inf'] }] },
      /^p\.(c\.)?statsd\./,
    ],
  ])('%s: every flushed series belongs to one key', async (_name, aggregator, own) => {
    const server = await daemon({ aggregator });
    server.aggregator.ingest(
      ['c1:1|c', 'mono:2|C', 'g:3|g', 's:a|s', 'lat:5|ms', 'api.lat:7|ms|#env:prod,az:1', 'weird;x:1|c|#a:b', 'semi;t:4|ms|#k:v', 'g2:-1|g|#z:1'].join('\n'),
    );
    const flushed = server.flush(T).carbon.toString().trim().split('\n').map((line) => line.split(' ')[0]!);
    const claimed = new Map<string, string>();
    const keys = (await get(server, '/api/keys')).json.keys as { key: string; kind: string }[];
    expect(keys.length).toBe(9);
    for (const { key, kind } of keys) {
      const answer = (await series(server, { key, kind })).json;
      expect(answer.series.length, `${kind} ${key}`).toBeGreaterThan(0);
      for (const s of answer.series as { name: string; values: number[] }[]) {
        expect(claimed.get(s.name), `${s.name} claimed twice`).toBeUndefined();
        claimed.set(s.name, key);
        expect(s.values).toHaveLength(1);
      }
    }
    const unclaimed = flushed.filter((name) => !claimed.has(name));
    expect(unclaimed.filter((name) => !own.test(name))).toEqual([]);
    expect([...claimed.keys()].filter((name) => !flushed.includes(name))).toEqual([]);
  });
});

describe('caps: refused with 400 and counted', () => {
  it(`more than ${MAX_KEYS_PER_REQUEST} keys, ${MAX_POINTS_PER_SERIES} points or ${MAX_SERIES_PER_REQUEST} names a request; a long search`, async () => {
    const server = await daemon();
    server.aggregator.ingest('a:1|c');
    server.flush(T);
    const refusals: [string, string][] = [
      [`/api/keys?limit=${MAX_KEYS_PER_REQUEST + 1}`, `Expected an integer between 1 and ${MAX_KEYS_PER_REQUEST} for limit but received string "${MAX_KEYS_PER_REQUEST + 1}"`],
      [`/api/series?key=a&kind=counter&points=${MAX_POINTS_PER_SERIES + 1}`, `Expected an integer between 1 and ${MAX_POINTS_PER_SERIES} for points but received string "${MAX_POINTS_PER_SERIES + 1}"`],
      [`/api/series?${'name=a&'.repeat(MAX_SERIES_PER_REQUEST + 1)}`, `Expected at most ${MAX_SERIES_PER_REQUEST} names but received ${MAX_SERIES_PER_REQUEST + 1}`],
      [`/api/keys?q=${'a'.repeat(257)}`, 'Expected at most 256 characters for q but received 257'],
    ];
    for (const [path, error] of refusals) {
      const answer = await get(server, path);
      expect({ path, status: answer.status, error: answer.json?.error }).toEqual({ path, status: 400, error });
    }
    expect((await get(server, '/api/status')).json.api).toMatchObject({ badRequests: 4, refused: 4, seriesLeftOut: 0 });
    // at the caps: answered
    expect((await get(server, `/api/keys?limit=${MAX_KEYS_PER_REQUEST}`)).status).toBe(200);
    expect((await get(server, `/api/series?${'name=a&'.repeat(MAX_SERIES_PER_REQUEST)}`)).status).toBe(200);
  });

  it(`a key with more than ${MAX_SERIES_PER_REQUEST} series: the first ${MAX_SERIES_PER_REQUEST} are sent, the rest counted`, async () => {
    // etsy: 5 series per threshold, 13 thresholds, and 9 more: 74 series.
    const thresholds = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99, 99.9];
    const server = await daemon({ aggregator: { convention: 'etsy', percentThreshold: thresholds } });
    server.aggregator.ingest(Array.from({ length: 10 }, (_, i) => `t:${i}|ms`).join('\n')); // every threshold holds one
    const written = server.flush(T).carbon.toString().split('\n').filter((l) => l.startsWith('stats.timers.t.')).length;
    expect(written).toBe(74);
    const answer = (await series(server, { key: 't', kind: 'timer' })).json;
    expect(answer.series).toHaveLength(MAX_SERIES_PER_REQUEST);
    expect(answer.seriesLeftOut).toBe(74 - MAX_SERIES_PER_REQUEST);
    expect((await get(server, '/api/status')).json.api.seriesLeftOut).toBe(74 - MAX_SERIES_PER_REQUEST);
  });
});

describe('a key of many ";"', () => {
  it('is tried at a few places its tags could start, not at every ";" (one GET of 8k ";" once cost ~1 GB)', () => {
    const names = new SeriesNames(new StatsdServer({}).options.aggregator);
    expect(names.of(';'.repeat(8192), 'timer').length).toBeLessThanOrEqual(20);
    // a real tag list is still found after a name holding ';'
    expect(names.of('a;b;env=prod', 'counter').map((s) => s.name)).toEqual(expect.arrayContaining(['a;b;env=prod']));
  });
});

describe('bad input: 400 with what was expected', () => {
  it.each([
    ['/api/keys?limit=abc', 'Expected an integer for limit but received string "abc"'],
    ['/api/keys?limit=0', 'Expected an integer between 1 and 1000 for limit but received string "0"'],
    ['/api/keys?qq=a', 'unknown parameter "qq": expected q, limit'],
    ['/api/status?x=1', 'unknown parameter "x"'],
    ['/api/series', 'Expected exactly one of key (with kind) or name'],
    ['/api/series?key=a&name=a', 'Expected exactly one of key (with kind) or name'],
    ['/api/series?key=a', "Expected one of 'counter', 'monotonic', 'gauge', 'timer', 'set' for kind but received null"],
    ['/api/series?key=a&kind=meter', "Expected one of 'counter', 'monotonic', 'gauge', 'timer', 'set' for kind but received string \"meter\""],
    ['/api/series?key=&kind=counter', 'Expected a statsd key for key but received string ""'],
    ['/api/series?name=a&kind=timer', 'Expected kind only with key'],
    ['/api/series?name=a&from=-1', 'Expected an integer between 0 and 4294967295 for from but received string "-1"'],
    ['/api/series?name=a&until=1.5', 'Expected an integer for until but received string "1.5"'],
    ['/api/series?name=a&points=1e3', 'Expected an integer for points but received string "1e3"'],
  ])('%s', async (path, error) => {
    const server = await daemon();
    const answer = await get(server, path);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error });
    expect((await get(server, '/api/status')).json.api).toMatchObject({ badRequests: 1, refused: 0 });
  });

  it('read-only: other methods are refused (405)', async () => {
    const server = await daemon();
    for (const path of ['/api/keys', '/api/status', '/', '/web/app.js']) {
      expect((await httpGet(server.httpPort, path, 'POST')).status, path).toBe(405);
    }
  });

  it('without the history option, keys are listed and series say why there are none (404)', async () => {
    const server = new StatsdServer({ http: { port: 0 }, flushInterval: 60_000 });
    await server.start();
    cleanups.push(() => server.stop(0));
    server.aggregator.ingest('a:1|c');
    server.flush(T);
    expect((await get(server, '/api/keys')).json.keys).toEqual([{ key: 'a', kind: 'counter' }]);
    expect((await get(server, '/api/status')).json.history).toBeNull();
    const answer = await series(server, { key: 'a', kind: 'counter' });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe('the daemon keeps no history: start it with the history option');
  });
});

describe('static files', () => {
  it('serves the fixed set from memory with its content type', async () => {
    const server = await daemon();
    const types: Record<string, RegExp> = { html: /^text\/html; charset=utf-8$/, js: /^text\/javascript; charset=utf-8$/, css: /^text\/css; charset=utf-8$/ };
    for (const [path, { file }] of Object.entries(WEB_FILES)) {
      const answer = await get(server, path);
      expect(answer.status, `${path} (run npm run build first)`).toBe(200);
      expect(answer.headers['content-type'], path).toMatch(types[file.split('.').pop()!]!);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    }
    expect((await get(server, '/')).body).toContain('<script type="module" src="/web/app.js">');
    expect((await get(server, '/web/uPlot.iife.min.js')).body).toMatch(/^\/\*! https:\/\/github.com\/leeoniya\/uPlot/);
    const head = await httpGet(server.httpPort, '/web/app.js', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it.each([
    '/web/../stats',
    '/web/..%2f..%2fpackage.json',
    '/web/%2e%2e/%2e%2e/package.json',
    '/../package.json',
    '/web/',
    '/web',
    '/index.html',
    '/web/index.html',
    '/web/uPlot.LICENSE',
    '/web/app.js/..',
    '/web//app.js',
    '/web/APP.JS',
    '/api/',
    '/api/keys/..',
  ])('%s is not found (404)', async (path) => {
    const server = await daemon();
    const answer = await get(server, path);
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: 'not found' });
  });

  it('an unbuilt page: / says what is missing (503), the daemon runs on', async () => {
    const http = new HttpServer({ address: '127.0.0.1', port: 0, maxConnections: 8, timeout: 5000 }, () => {});
    registerAssets(http, '/nonexistent/web');
    await http.start();
    cleanups.push(() => http.stop());
    const answer = await httpGet(http.port, '/');
    expect(answer.status).toBe(503);
    expect(answer.json.error).toMatch(/^the web page is not built: index\.html, app\.js, .* missing in \/nonexistent\/web \(run `npm run build`\)$/);
    expect((await httpGet(http.port, '/web/app.js')).status).toBe(404);
  });
});
