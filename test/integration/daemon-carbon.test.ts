// The daemon in front of a real Graphite (DESIGN §7-8): traffic from hot-shots
// (a real peer client) and our Emitter → StatsdServer (in-process, and the
// real CLI as a child process) → Debian's carbon-cache (plaintext and pickle)
// → values read back from whisper with /usr/bin/whisper-fetch. Also: carbon
// stopped and restarted on the same port while the daemon keeps flushing,
// and malformed datagrams mixed into good traffic.
import * as dgram from 'node:dgram';

import StatsDClient, { type StatsD } from 'hot-shots';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// carbon writes in ~1 s cycles and slows down on a loaded machine: generous limits.
vi.setConfig({ testTimeout: 60_000 });

import { Emitter } from '../../src/emitter/emitter';
import { StatsdServer } from '../../src/daemon/server';
import { GraphiteSink } from '../../src';
import { Carbon, carbonMissing, points, valueAt } from '../helpers/carbon';
import { DaemonProcess } from '../helpers/daemon-cli';
import { sleep } from '../helpers/receivers';

const missing = carbonMissing();

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Waits until the wall clock is past unix second `t` (so the next flush gets a new timestamp). */
async function nextSecondAfter(t: number): Promise<void> {
  while (nowSeconds() <= t) await sleep(1000 - (Date.now() % 1000) + 5);
}

/** Errors hot-shots reported (checked after each test). */
const clientErrors: Error[] = [];

function hotShots(port: number): StatsD {
  return new StatsDClient({
    host: '127.0.0.1',
    port,
    protocol: 'udp',
    maxBufferSize: 0,
    errorHandler: (error) => clientErrors.push(error),
  });
}

function closeClient(client: StatsD): Promise<void> {
  return new Promise((resolve) => client.close(() => resolve()));
}

async function sendUdp(port: number, payloads: (string | Buffer)[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  for (const p of payloads) {
    await new Promise<void>((resolve, reject) => socket.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

/** Polls until the server has aggregated `lines` good lines in total. */
async function ingested(server: StatsdServer, lines: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.stats.aggregator.lines < lines) {
    if (Date.now() > deadline) {
      throw new Error(`server aggregated ${server.stats.aggregator.lines} of ${lines} lines: ${JSON.stringify(server.stats)}`);
    }
    await sleep(10);
  }
}

describe.skipIf(missing !== undefined)('daemon → carbon-cache → whisper', () => {
  let carbon: Carbon;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    carbon = await Carbon.start();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    expect(clientErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    // The data is no longer needed: SIGKILL spares the 2 s cache write-out.
    await carbon?.stop({ kill: true });
  });

  function server(format: 'plaintext' | 'pickle', maxBacklog?: number): { server: StatsdServer; sink: GraphiteSink } {
    const sink = new GraphiteSink({
      host: '127.0.0.1',
      port: format === 'pickle' ? carbon.ports.pickle : carbon.ports.line,
      format,
      maxBacklog,
    });
    const s = new StatsdServer({
      udp: { address: '127.0.0.1', port: 0 },
      http: { port: 0 },
      sinks: [sink],
      flushInterval: 60_000, // flushes are made by the test
    });
    s.on('error', () => {}); // refused connections while carbon is down are expected
    cleanups.push(() => s.stop(2000));
    return { server: s, sink };
  }

  it('plaintext, in-process: hot-shots and the Emitter over two intervals → counters, gauges (negative too), timer count and percentiles', async () => {
    const { server: s } = server('plaintext');
    await s.start();
    const hs = hotShots(s.udpPort);
    cleanups.push(() => closeClient(hs));
    const em = new Emitter({ endpoint: `127.0.0.1:${s.udpPort}`, flushInterval: 60_000, env: {} });
    cleanups.push(() => em.close());

    // interval 1
    hs.increment('pt.hs.req', 3);
    hs.increment('pt.hs.req', 2);
    hs.decrement('pt.hs.req', 1);
    hs.gauge('pt.hs.temp', 21.5);
    hs.gauge('pt.hs.neg', -4); // "-4|g" on a new gauge: 0 - 4
    for (let i = 1; i <= 20; i++) hs.timing('pt.hs.lat', i);
    em.increment('pt.em.hits', 5);
    em.decrement('pt.em.hits', 2);
    em.gauge('pt.em.neg', -12.5); // sent as 0|g then -12.5|g
    em.gaugeAdd('pt.em.conns', 7);
    for (let i = 100; i >= 1; i--) em.timing('pt.em.lat', i);
    await em.flush();
    // hot-shots: 3 + 1 + 1 + 20 lines; emitter: hits, 2 neg, conns, 100 timings
    await ingested(s, 25 + 104);
    const t1 = s.flush().timestamp;

    await nextSecondAfter(t1);
    // interval 2: counters restart, gauges move
    hs.increment('pt.hs.req', 10);
    hs.gaugeDelta('pt.hs.temp', -1.5);
    hs.timing('pt.hs.lat', 0.25);
    em.gauge('pt.em.neg', -3); // absolute, not "previous - 3"
    em.gaugeAdd('pt.em.conns', -9);
    await em.flush();
    await ingested(s, 25 + 104 + 3 + 3);
    const t2 = s.flush().timestamp;
    expect(t2).toBeGreaterThan(t1);

    const at = async (metric: string, t: number) => carbon.valueAt(metric, t);
    // interval 1
    expect(await at('pt.hs.req', t1)).toBe(4);
    expect(await at('pt.hs.temp', t1)).toBe(21.5);
    expect(await at('pt.hs.neg', t1)).toBe(-4);
    expect(await at('pt.hs.lat.count', t1)).toBe(20);
    expect(await at('pt.hs.lat.min', t1)).toBe(1);
    expect(await at('pt.hs.lat.max', t1)).toBe(20);
    expect(await at('pt.hs.lat.sum', t1)).toBe(210);
    expect(await at('pt.hs.lat.median', t1)).toBe(10); // v[floor(0.5*20+0.5)-1]
    expect(await at('pt.hs.lat.percentile.95', t1)).toBe(19); // v[floor(19.5)-1]
    expect(await at('pt.em.hits', t1)).toBe(3);
    expect(await at('pt.em.neg', t1)).toBe(-12.5);
    expect(await at('pt.em.conns', t1)).toBe(7);
    expect(await at('pt.em.lat.count', t1)).toBe(100);
    expect(await at('pt.em.lat.mean', t1)).toBe(50.5);
    expect(await at('pt.em.lat.percentile.75', t1)).toBe(75);
    expect(await at('pt.em.lat.percentile.99', t1)).toBe(99);
    expect(await at('pt.em.lat.percentile.999', t1)).toBe(100);
    expect(await at('brubeck.errors', t1)).toBe(0);
    // interval 2
    expect(await at('pt.hs.req', t2)).toBe(10);
    expect(await at('pt.hs.temp', t2)).toBe(20);
    expect(await at('pt.hs.lat.count', t2)).toBe(1);
    expect(await at('pt.hs.lat.max', t2)).toBe(0.25);
    expect(await at('pt.em.neg', t2)).toBe(-3);
    expect(await at('pt.em.conns', t2)).toBe(-2);
    expect(await at('pt.em.hits', t2)).toBe(0); // a meter reports 0 until it expires
    // nothing else was written around the two flushes
    const series = await carbon.fetch('pt.hs.req', t1 - 5, t2 + 1);
    expect(points(series)).toEqual([
      [t1, 4],
      [t2, 10],
    ]);
  });

  it('pickle through the real CLI (--pickle, 1 s flushes): totals across flushes, last gauges, timer counts', async () => {
    const d = await DaemonProcess.start([
      'serve',
      '--port', '0',
      '--http', '0',
      '--graphite', `127.0.0.1:${carbon.ports.pickle}`,
      '--pickle',
      '--flush-interval', '1000',
    ]);
    cleanups.push(async () => void (await d.stop('SIGKILL')));
    expect(d.stderr).toMatch(/flushing every 1000 ms to graphite pickle 127\.0\.0\.1:\d+/);
    const from = nowSeconds() - 1;
    const hs = hotShots(d.listening.udp!);
    cleanups.push(() => closeClient(hs));
    const em = new Emitter({ endpoint: `127.0.0.1:${d.listening.udp}`, flushInterval: 60_000, env: {} });
    cleanups.push(() => em.close());
    for (let i = 0; i < 50; i++) hs.increment('pk.hs.req');
    for (let i = 0; i < 30; i++) hs.timing('pk.hs.lat', i + 0.5);
    hs.gauge('pk.hs.neg', -7.25);
    em.increment('pk.em.hits', 41);
    em.gauge('pk.em.pi', Math.PI); // pickle carries full doubles
    em.gauge('pk.em.neg', -1e-7);
    await em.flush();
    // wait until the daemon has it all, then for a flush after that
    const deadline = Date.now() + 5000;
    while ((await d.stats()).metrics < 50 + 30 + 1 + 1 + 1 + 2) {
      if (Date.now() > deadline) throw new Error(`daemon did not aggregate the traffic\n${d.output}`);
      await sleep(20);
    }
    // the data may straddle a flush boundary: sum counters over the window, take the last gauge
    const sum = (s: { values: (number | null)[] }) => s.values.reduce<number>((a, v) => a + (v ?? 0), 0);
    const until = () => nowSeconds() + 1;
    const total = async (metric: string, expected: number) =>
      sum(await carbon.fetch(metric, from, until(), { timeoutMs: 15000, ready: (s) => sum(s) === expected }));
    expect(await total('pk.hs.req', 50)).toBe(50);
    expect(await total('pk.hs.lat.count', 30)).toBe(30);
    expect(await total('pk.em.hits', 41)).toBe(41);
    const last = async (metric: string) => {
      const s = await carbon.fetch(metric, from, until());
      const p = points(s);
      return p[p.length - 1]![1];
    };
    expect(await last('pk.hs.neg')).toBe(-7.25);
    expect(await last('pk.em.pi')).toBe(Math.PI);
    expect(await last('pk.em.neg')).toBe(-1e-7);
    // several flushes reached carbon: the meter shows 0 in the later ones
    const req = await carbon.fetch('pk.hs.req', from, until(), { ready: (s) => points(s).length >= 2 && points(s).at(-1)![1] === 0 });
    expect(points(req).length).toBeGreaterThanOrEqual(2);
    expect(points(req).at(-1)![1]).toBe(0);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('plaintext through the real CLI: malformed datagrams mixed in are counted in /stats, good lines intact; SIGTERM delivers the last flush', async () => {
    const d = await DaemonProcess.start([
      'serve',
      '--port', '0',
      '--http', '0',
      '--graphite', `127.0.0.1:${carbon.ports.line}`,
      '--flush-interval', '60000', // only the final flush, on SIGTERM
      '--server-name', 'mxtest', // internal metrics of its own: other tests write brubeck.*
    ]);
    cleanups.push(async () => void (await d.stop('SIGKILL')));
    const port = d.listening.udp!;
    const from = nowSeconds() - 1;
    const hs = hotShots(port);
    cleanups.push(() => closeClient(hs));
    hs.increment('mx.hs.req', 2);
    await sendUdp(port, [
      'mx.good:1|c\nthis is not statsd\nmx.good:2|c', // 1 bad line between good ones
      Buffer.from([0xff, 0xfe, 0x00, 0x3a, 0x7c]), // binary junk: 1 bad line
      'mx.badtype:1|q', // 1 bad type
      'mx.badrate:1|c|@2', // 1 bad rate
      'mx.gauge:-2.5|g\nmx.badvalue:abc|ms\nmx.timer:4|ms\n\n', // 1 bad value (empty lines are not errors)
      ':5|c', // 1 empty name
      'mx.timer:6|ms|@0.5',
    ]);
    hs.increment('mx.hs.req', 3);
    hs.timing('mx.hs.lat', 15);
    const good = 8; // mx.good ×2, mx.gauge, mx.timer ×2, hot-shots req ×2 and lat
    const deadline = Date.now() + 5000;
    let stats = (await d.stats());
    while (stats.metrics < good || stats.errors < 6) {
      if (Date.now() > deadline) throw new Error(`/stats: ${JSON.stringify(stats)}\n${d.output}`);
      await sleep(20);
      stats = (await d.stats());
    }
    await sleep(50);
    stats = (await d.stats());
    expect(stats.metrics).toBe(good);
    expect(stats.errors).toBe(6);
    expect(stats.errors_by_reason).toMatchObject({ bad_type: 1, bad_rate: 1, bad_value: 1 });
    expect(stats.samplers[0].datagrams).toBe(7 + 3);

    const stoppedAt = nowSeconds();
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const only = async (metric: string) => {
      const p = points(await carbon.fetch(metric, from, stoppedAt + 1));
      expect(p, metric).toHaveLength(1);
      return p[0]![1];
    };
    expect(await only('mx.good')).toBe(3);
    expect(await only('mx.gauge')).toBe(-2.5);
    expect(await only('mx.timer.count')).toBe(3); // 1 + 1/0.5
    expect(await only('mx.timer.min')).toBe(4);
    expect(await only('mx.timer.max')).toBe(6);
    expect(await only('mx.hs.req')).toBe(5);
    expect(await only('mx.hs.lat.count')).toBe(1);
    expect(await only('mxtest.errors')).toBe(6);
    for (const bad of ['mx.badtype', 'mx.badrate', 'mx.badvalue']) expect(await carbon.fetchOnce(bad, from, stoppedAt + 1)).toBeUndefined();
  });

  it('carbon stopped and restarted on the same port: flushes made while it was down arrive, oldest past maxBacklog dropped and counted', async () => {
    const { server: s, sink } = server('plaintext', 2);
    await s.start();
    let lines = 0;
    const send = async (payload: string) => {
      await sendUdp(s.udpPort, [payload]);
      lines += payload.split('\n').length;
      await ingested(s, lines);
    };

    await send('rs.c:1|c\nrs.g:0|g\nrs.g:-1.5|g');
    const t0 = s.flush().timestamp;
    expect(await carbon.valueAt('rs.c', t0)).toBe(1);
    expect(sink.stats().connected).toBe(true);

    await carbon.stop({ keepDir: true });
    const deadline = Date.now() + 3000;
    while (sink.stats().connected) {
      if (Date.now() > deadline) throw new Error('the sink did not notice carbon going away');
      await sleep(10);
    }

    // three flushes while carbon is down; the backlog keeps two
    const down: { t: number; metrics: number }[] = [];
    let last = t0;
    for (let k = 1; k <= 3; k++) {
      await nextSecondAfter(last);
      await send(`rs.c:${10 * k}|c\nrs.g:0|g\nrs.g:-${k}.5|g\nrs.t:${k}|ms`);
      const r = s.flush();
      down.push({ t: r.timestamp, metrics: r.metrics });
      last = r.timestamp;
    }
    expect(sink.stats()).toMatchObject({ connected: false, backlog: 2, flushesDropped: 1, metricsDropped: down[0]!.metrics });
    const sentBefore = sink.stats().flushesSent;

    await carbon.restart();
    const redeliver = Date.now() + 8000; // the sink's backoff has grown to a few seconds
    while (sink.stats().backlog > 0 || !sink.stats().connected) {
      if (Date.now() > redeliver) throw new Error(`backlog not delivered after restart: ${JSON.stringify(sink.stats())}`);
      await sleep(50);
    }
    expect(sink.stats().flushesSent).toBe(sentBefore + 2);

    // the two kept flushes, in whisper at their own timestamps
    expect(await carbon.valueAt('rs.c', down[1]!.t)).toBe(20);
    expect(await carbon.valueAt('rs.g', down[1]!.t)).toBe(-2.5);
    expect(await carbon.valueAt('rs.t.max', down[1]!.t)).toBe(2);
    expect(await carbon.valueAt('rs.c', down[2]!.t)).toBe(30);
    expect(await carbon.valueAt('rs.g', down[2]!.t)).toBe(-3.5);
    expect(await carbon.valueAt('rs.t.count', down[2]!.t)).toBe(1);
    // the dropped one is absent; the one from before the outage survived the restart
    const series = await carbon.fetch('rs.c', t0 - 1, down[2]!.t, { ready: (x) => points(x).length >= 3 });
    expect(valueAt(series, down[0]!.t)).toBeNull();
    expect(points(series)).toEqual([
      [t0, 1],
      [down[1]!.t, 20],
      [down[2]!.t, 30],
    ]);

    // and the connection works on: a new flush goes straight through
    await nextSecondAfter(last);
    await send('rs.c:7|c');
    const t4 = s.flush().timestamp;
    expect(await carbon.valueAt('rs.c', t4)).toBe(7);
  });
});

if (missing !== undefined) {
  describe('daemon → carbon-cache (not installed)', () => {
    it('needs Debian graphite-carbon and python3-whisper', (ctx) => {
      ctx.skip(missing);
    });
  });
}
