// Graphite's query API on the daemon (issue [6/7] items 2 and 6): time
// arguments as graphite-web reads them, scale's %g names as Python writes
// them, and every way a request is refused for its input or its cost, each
// answered with a clear error and counted. The datapoints themselves are held
// to a real graphite-web in test/integration/render-graphite-web.test.ts.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { parseAtTime, parseInterval, parseOffset } from '../src/daemon/graphite-api/at-time';
import { RenderRefused } from '../src/daemon/graphite-api/evaluate';
import { formatG } from '../src/daemon/graphite-api/functions';
import { GraphiteApi } from '../src/daemon/graphite-api/graphite-api';
import { History } from '../src/daemon/history/history';
import { StatsdServer } from '../src/daemon/server';

const NOW = 1_700_000_000; // 2023-11-14T22:13:20Z

describe('graphite-web time arguments', () => {
  it('unix seconds, now, offsets, times of day and dates (UTC)', () => {
    expect(parseAtTime('1699990000', NOW)).toBe(1699990000);
    expect(parseAtTime('now', NOW)).toBe(NOW);
    expect(parseAtTime('-1h', NOW)).toBe(NOW - 3600);
    expect(parseAtTime('now-10min', NOW)).toBe(NOW - 600);
    expect(parseAtTime('-1d2h', NOW)).toBe(NOW - 86_400 - 7200);
    expect(parseAtTime('-2w', NOW)).toBe(NOW - 14 * 86_400);
    expect(parseAtTime('-1mon', NOW)).toBe(NOW - 30 * 86_400);
    expect(parseAtTime('+30s', NOW)).toBe(NOW + 30);
    expect(parseAtTime('20231114', NOW)).toBe(Date.UTC(2023, 10, 14) / 1000);
    expect(parseAtTime('22:00_20231114', NOW)).toBe(Date.UTC(2023, 10, 14, 22) / 1000);
    expect(parseAtTime('midnight', NOW)).toBe(Date.UTC(2023, 10, 14) / 1000);
    expect(parseAtTime('yesterday', NOW)).toBe(Date.UTC(2023, 10, 13) / 1000);
    expect(parseAtTime('noon-1h', NOW)).toBe(Date.UTC(2023, 10, 14, 11) / 1000);
    expect(parseOffset('-1hours30minutes')).toBe(-5400);
    expect(parseInterval('1min')).toBe(60);
    expect(parseInterval('30s')).toBe(30);
  });

  it('refuses what it cannot read, naming it', () => {
    expect(() => parseAtTime('-1x', NOW, 'from')).toThrow(/bad from "-1x": unknown unit "x"/);
    expect(() => parseAtTime('last tuesday', NOW)).toThrow(/not a time graphite-web reads here/);
    expect(() => parseAtTime('-h', NOW)).toThrow(/expected a number and a unit/);
    expect(() => parseInterval('0s')).toThrow(/must be positive/);
    expect(() => parseAtTime('-99999999999999999y', NOW)).toThrow(/too large/);
  });
});

describe('scale() names its series with Python\'s %g', () => {
  const python = '/usr/bin/python3';
  it.skipIf(!fs.existsSync(python))('as /usr/bin/python3 formats them', () => {
    const values = [0.5, 2, -3, 1e-7, 0.0001, 0.00001, 123456, 1234567, 1e21, -2.5e-5, 3.14159265, 100, 1 / 3, 999999.5, 0];
    const theirs = execFileSync(python, ['-c', `import sys\nfor v in sys.argv[1:]: print("%g" % float(v))`, ...values.map(String)], { encoding: 'utf8' }).trim().split('\n');
    expect(values.map(formatG)).toEqual(theirs);
  });
});

describe('bounds and refusals', () => {
  const servers: StatsdServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  // A daemon whose history holds `keys` counters over `flushes` flushes, one a second up to now.
  async function daemon(keys: number, flushes: number, graphiteApi = {}): Promise<{ server: StatsdServer; get: (p: string, init?: RequestInit) => Promise<{ status: number; body: any }> }> {
    const server = new StatsdServer({ http: { address: '127.0.0.1', port: 0 }, history: {}, graphiteApi, flushInterval: 1000, udp: { address: '127.0.0.1', port: 0 } });
    servers.push(server);
    await server.start();
    const now = Math.floor(Date.now() / 1000);
    for (let f = flushes - 1; f >= 0; f--) {
      server.aggregator.ingest(Array.from({ length: keys }, (_, i) => `k.n${i}:${f + 1}|c`).join('\n'));
      server.flush(now - f - 2);
    }
    const get = async (p: string, init?: RequestInit) => {
      const r = await fetch(`http://127.0.0.1:${server.httpPort}${p}`, init);
      return { status: r.status, body: await r.json() };
    };
    return { server, get };
  }

  it('a render of more series than maxSeries, or more points than maxPoints, is refused (422) and counted', async () => {
    const { server, get } = await daemon(6, 3, { maxSeries: 5, maxPoints: 100 });
    const ok = await get('/render?target=k.n%7B0,1,2,3,4%7D&from=-10s');
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(5);
    const tooMany = await get('/render?target=k.*&from=-10s');
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error).toMatch(/more than 5 series/);
    // two targets share one budget
    const shared = await get('/render?target=k.n%7B0,1,2%7D&target=k.n%7B3,4,5%7D&from=-10s');
    expect(shared.status).toBe(422);
    const points = await get('/render?target=k.n0&target=k.n1&from=-1min');
    expect(points.status).toBe(422);
    expect(points.body.error).toMatch(/more than 100 points/);
    expect(server.graphiteApi!.stats).toMatchObject({ renders: 4, refusedSeries: 2, refusedPoints: 1, badRequests: 0 });
    const stats = (await get('/stats')).body;
    expect(stats.graphite_api).toMatchObject({ refused_series: 2, refused_points: 1 });
  });

  it('a render past its time is refused and counted as a timeout', async () => {
    const history = new History({ flushInterval: 1000 });
    const now = Math.floor(Date.now() / 1000);
    history.write({ carbon: Buffer.from(Array.from({ length: 50 }, (_, i) => `t.n${i} 1 ${now - 1}\n`).join('')), metrics: 50, timestamp: now - 1 });
    const api = new GraphiteApi(history, { timeout: 10 });
    let t = 0;
    const clock = () => (t += 1); // one ms per check: the 11th check is past 10 ms
    expect(() => api.render(new URLSearchParams('target=t.*&from=-1min'), now, clock)).toThrow(RenderRefused);
    t = 0;
    expect((api.render(new URLSearchParams('target=t.n1&from=-1min'), now, clock) as unknown[]).length).toBe(1);
  });

  it('bad input gets 400 with what is wrong; other methods 405; a huge form 413; all counted', async () => {
    const { server, get } = await daemon(2, 2);
    const cases: [string, RegExp][] = [
      ['/render?target=sumSeries(k.*&from=-10s', /expected ',' or '\)'/],
      ['/render?target=k.*&from=yesterdayish', /bad from/],
      ['/render?target=k.*&from=-1min&until=-2min', /from .* must be before until/],
      ['/render?target=k.*&format=png', /renders json only/],
      ['/render?target=nosuch(k.*)', /not a function this daemon answers \(alias, averageSeries/],
      ['/render?target=scale(k.*,"x")', /scale: argument 2 must be a number/],
      ['/render?target=summarize(k.*,"1x")', /unknown unit/],
      ['/render?target=42', /must be a path or a function/],
      ['/metrics/find', /missing required parameter 'query'/],
      ['/metrics/find?query=*&format=pickle', /treejson and completer/],
    ];
    for (const [p, error] of cases) {
      const r = await get(p);
      expect(r.status, p).toBe(400);
      expect(r.body.error, p).toMatch(error);
    }
    expect((await get('/render', { method: 'DELETE' })).status).toBe(405);
    const huge = await get('/render', { method: 'POST', body: `target=${'k'.repeat(70_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(huge.status).toBe(413);
    expect(server.graphiteApi!.stats.badRequests).toBe(cases.length + 1);
    // the daemon is unharmed
    expect((await get('/render?target=k.n0&from=-10s')).body[0].datapoints.filter(([v]: [number | null]) => v !== null).map(([v]: [number]) => v)).toEqual([2, 1]);
  });

  it('find answers at most maxFindResults nodes and counts the cut', async () => {
    const { server, get } = await daemon(30, 1, { maxFindResults: 10 });
    const r = await get('/metrics/find?query=k.*');
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(10);
    expect(server.graphiteApi!.stats.findsCut).toBe(1);
    const completer = await get('/metrics/find?query=k.n1&format=completer');
    expect(completer.body.metrics.map((m: { path: string }) => m.path)).toEqual(expect.arrayContaining(['k.n1', 'k.n10']));
    expect(completer.body.metrics.length).toBeLessThanOrEqual(10);
  });

  it('points a function makes count against maxPoints (summarize to a finer step than fetched)', async () => {
    const { server, get } = await daemon(1, 3, { maxPoints: 700 });
    expect((await get('/render?target=k.n0&from=-5min')).status).toBe(200); // 300 points fetched
    expect((await get(`/render?target=${encodeURIComponent('summarize(k.n0, "1s")')}&from=-5min`)).status).toBe(200); // + 301 made
    const r = await get(`/render?target=${encodeURIComponent('summarize(summarize(k.n0, "1s"), "1s")')}&from=-5min`); // + 301 more
    expect(r.status).toBe(422);
    expect(r.body.error).toMatch(/more than 700 points/);
    expect(server.graphiteApi!.stats.refusedPoints).toBe(1);
  });

  it('steps with no common multiple under a year, maxDataPoints=0: 400, never a 500', async () => {
    const { server, get } = await daemon(1, 2);
    const odd = Array.from({ length: 12 }, (_, i) => `summarize(k.n0,"${1_000_003 + 2 * i}s")`).join(',');
    const r = await get(`/render?target=${encodeURIComponent(`sumSeries(${odd})`)}&from=-10s`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/no common step under a year/);
    expect((await get('/render?target=k.n0&from=-10s&maxDataPoints=0')).status).toBe(400);
    expect((await get('/render?target=k.n0&from=-10s&maxDataPoints=-3')).status).toBe(400);
    expect(server.graphiteApi!.stats.badRequests).toBe(3);
  });

  it('infinite values are null in JSON, and noNullPoints leaves them out', async () => {
    const { get } = await daemon(1, 2);
    const infinite = encodeURIComponent('scale(scale(k.n0,1e308),10)');
    const all = await get(`/render?target=${infinite}&from=-10s`);
    expect(all.status).toBe(200);
    expect(all.body[0].datapoints.filter(([v]: [number | null]) => v !== null)).toEqual([]);
    const r = await get(`/render?target=${infinite}&from=-10s&noNullPoints=1`);
    expect(r.body).toEqual([]);
  });

  it('a flush interval not in whole seconds keeps every flush on a 1 s grid', async () => {
    const history = new History({ flushInterval: 1500 });
    const now = Math.floor(Date.now() / 1000);
    // flushes 1.5 s apart, stamped with distinct seconds as FlushSchedule stamps them
    for (let i = 0; i < 12; i++) {
      const t = now - 20 + Math.floor(i * 1.5);
      history.write({ carbon: Buffer.from(`c ${i + 1} ${t}\n`), metrics: 1, timestamp: t });
    }
    const api = new GraphiteApi(history);
    const out = api.render(new URLSearchParams('target=c&from=-1min'), now) as { datapoints: [number | null, number][] }[];
    const values = out[0]!.datapoints.map(([v]) => v).filter((v): v is number => v !== null);
    expect(values.reduce((a, b) => a + b, 0)).toBe(78);
    expect(api.stats.pointsOverwritten).toBe(0);
  });

  it('on loopback it answers only requests addressed to loopback (DNS rebinding), and counts the others', async () => {
    const { server } = await daemon(1, 1);
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: server.httpPort, path: '/render?target=k.n0', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await ask('evil.example:80')).toBe(403);
    expect(await ask(`localhost:${server.httpPort}`)).toBe(200);
    expect(await ask(`[::1]:${server.httpPort}`)).toBe(200);
    expect(await ask(`127.0.0.1:${server.httpPort}`)).toBe(200);
    expect(server.stats.http.foreignHosts).toBe(1);
  });

  it('without history there are no Graphite routes', async () => {
    const server = new StatsdServer({ http: { address: '127.0.0.1', port: 0 }, udp: { address: '127.0.0.1', port: 0 } });
    servers.push(server);
    await server.start();
    expect(server.graphiteApi).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/render?target=a`)).status).toBe(404);
  });
});
