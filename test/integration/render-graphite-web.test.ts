// Issue [6/7] item 2: the daemon's /metrics/find and /render against a real
// graphite-web. One daemon flushes every second both into its own history
// and to a real carbon-cache (whisper at 1 s); graphite-web (Debian's, as the
// seed runs it) reads those whisper files. The same targets, functions and
// time range asked of both must give the same series names and datapoints.
import * as dgram from 'node:dgram';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StatsdServer } from '../../src/daemon/server';
import { Carbon, carbonMissing } from '../helpers/carbon';
import { GraphiteWeb, graphiteWebMissing } from '../helpers/graphite-web';

const missing = carbonMissing() ?? graphiteWebMissing();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Rendered = { target: string; datapoints: [number | null, number][] }[];

// Values of each second's lines: counters with varying sums, a gauge with
// gaps (a key idle for a while goes silent after one more flush), a total
// that grows and is once reset (for the derivatives), a timer.
function secondLines(i: number): string {
  const lines = [`api.a:${i + 1}|c`, `api.a:${2 * i}|c`, `api.b:${(i * 7) % 5}|c`, `total:${i === 6 ? 3 : 10 * i * i}|g`];
  if (i % 4 !== 2 && i % 4 !== 3) lines.push(`mem.used:${100 + i * 1.5}|g`);
  for (let k = 0; k <= i; k++) lines.push(`lat:${(k * 13) % 29}|ms`);
  return lines.join('\n');
}
const SECONDS = 12;

const TARGETS = [
  'api.*',
  '{api,mem}.*',
  'api.[ab]',
  'a?i.b',
  'sumSeries(api.*)',
  'sumSeries(api.a, api.b, mem.used)',
  'averageSeries(api.*)',
  'averageSeries(api.a,mem.used)',
  'scale(api.*, 0.5)',
  'scale(api.a,-3)',
  'keepLastValue(mem.used)',
  'keepLastValue(mem.used, 1)',
  'alias(sumSeries(api.*), "all requests")',
  'nonNegativeDerivative(total)',
  'perSecond(total)',
  'perSecond(lat.count)',
  'summarize(api.a, "3s")',
  'summarize(api.a, "4s", "max")',
  'summarize(mem.used, "5s", "avg", true)',
  'summarize(lat.percentile.99, "3s", "last")',
  'sumSeries(scale(api.*, 2))',
  'sum(perSecond(lat.count), api.a)',
  'lat.{min,max,median}',
  'no.such.metric',
];

const FINDS = ['*', 'api.*', 'lat.*', 'lat.percentile.*', '{api,mem}.*', 'api.[a-b]', 'a?i.*', 'no.*', 'brubeck.*'];

describe.skipIf(missing !== undefined)('/render and /metrics/find ≡ graphite-web over carbon', () => {
  let carbon: Carbon;
  let web: GraphiteWeb;
  let server: StatsdServer;
  const stamps: number[] = [];

  beforeAll(async () => {
    carbon = await Carbon.start();
    const webStarting = GraphiteWeb.start(path.join(carbon.dir, 'storage', 'whisper'));
    server = new StatsdServer({
      udp: { address: '127.0.0.1', port: 0 },
      http: { address: '127.0.0.1', port: 0 },
      graphite: { host: '127.0.0.1', port: carbon.ports.line },
      history: {},
      flushInterval: 1000,
    });
    server.on('flush', (f) => stamps.push(f.timestamp));
    await server.start();
    const socket = dgram.createSocket('udp4');
    // One datagram a second; each flush holds one second's lines (or none, if a flush came late).
    for (let i = 0; i < SECONDS; i++) {
      await new Promise<void>((resolve, reject) => socket.send(secondLines(i), server.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      await sleep(1000);
    }
    socket.close();
    await sleep(1500); // two more flushes: the idle ones
    web = await webStarting;
    // Wait until whisper has the last flush graphite-web will be asked about.
    const last = stamps[stamps.length - 1]!;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = (await web.get(`/render?target=brubeck.metrics&from=${last - 1}&until=${last}&format=json&noCache=1`)) as Rendered;
      if (r[0]?.datapoints.some(([v, t]) => t === last && v !== null)) break;
      if (Date.now() > deadline) throw new Error(`whisper never got the flush stamped ${last}\n${carbon.log}\n${web.log}`);
      await sleep(250);
    }
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await web?.stop();
    await carbon?.stop();
  });

  async function ours(urlPath: string): Promise<unknown> {
    const r = await fetch(`http://127.0.0.1:${server.httpPort}${urlPath}`);
    expect(r.status, `${urlPath}: ${await r.clone().text()}`).toBe(200);
    return r.json();
  }

  const range = () => ({ from: stamps[0]! - 3, until: stamps[stamps.length - 1]! });

  it.each(TARGETS)('render %s: the same series and datapoints', async (target) => {
    const { from, until } = range();
    const q = `/render?target=${encodeURIComponent(target)}&from=${from}&until=${until}&format=json&noCache=1`;
    const theirs = (await web.get(q)) as Rendered;
    const mine = (await ours(q)) as Rendered;
    const shape = (r: Rendered) => r.map((s) => ({ target: s.target, datapoints: s.datapoints.map(([v, t]) => [v === null ? null : Number(v.toPrecision(12)), t]) }));
    expect(shape(mine)).toEqual(shape(theirs));
    if (target !== 'no.such.metric') expect(theirs.length).toBeGreaterThan(0); // the comparison had something in it
  });

  it('render with maxDataPoints and with noNullPoints, by POST as Grafana sends it', async () => {
    const { from, until } = range();
    for (const extra of ['maxDataPoints=4', 'maxDataPoints=1', 'noNullPoints=1']) {
      const body = `target=${encodeURIComponent('api.a')}&target=${encodeURIComponent('sumSeries(api.*)')}&from=${from}&until=${until}&format=json&${extra}`;
      const post = async (port: number) => {
        const r = await fetch(`http://127.0.0.1:${port}/render`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
        expect(r.status).toBe(200);
        return r.json();
      };
      expect(await post(server.httpPort), extra).toEqual(
        ((await post(web.port)) as Rendered).map((s) => ({ ...s, tags: expect.anything() })),
      );
    }
  });

  it.each(FINDS)('find %s: the same nodes in the same order', async (query) => {
    const q = `/metrics/find?query=${encodeURIComponent(query)}`;
    expect(await ours(q)).toEqual(await web.get(q));
  });

  it('the daemon counted what it answered', () => {
    const stats = server.graphiteApi!.stats;
    expect(stats.renders).toBeGreaterThanOrEqual(TARGETS.length + 3);
    expect(stats.finds).toBe(FINDS.length);
    expect(stats.badRequests + stats.refusedSeries + stats.refusedPoints + stats.timeouts).toBe(0);
  });
});
