// A flush runs off the JS thread (issue [4/7] item 6): the scheduled flush of
// a large aggregator computes on a worker, so /ping answers and TCP lines keep
// arriving meanwhile. Before, a 1M-timer flush held the event loop for ~4 s.
// Bounds are relative to the flush's own duration, so machine speed does not
// matter: /ping must answer many times within one flush.
import * as http from 'node:http';
import * as net from 'node:net';

import { afterEach, expect, it } from 'vitest';

import { StatsdServer } from '../../src/daemon/server';
import type { Sink } from '../../src';
import { until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ping(port: number): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/ping' }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t));
      })
      .on('error', reject);
  });
}

async function timers(server: StatsdServer, keys: number): Promise<void> {
  for (let chunk = 0; chunk < keys / 10_000; chunk++) {
    let text = '';
    for (let i = 0; i < 10_000; i++) text += `big.t${chunk * 10_000 + i}:1:2:3|ms\n`;
    server.aggregator.ingest(text);
  }
}

it('/ping answers and TCP lines are taken while a scheduled flush of 400k timers runs', { timeout: 120_000 }, async () => {
  const flushes: { at: number; metrics: number }[] = [];
  const sink: Sink = {
    name: 'count',
    write: (f) => void flushes.push({ at: performance.now(), metrics: f.metrics }),
    drain: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({ type: 'count', connected: true, flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0, backlog: 0 }),
  };
  const server = new StatsdServer({ tcp: { port: 0 }, http: { port: 0 }, sinks: [sink], flushInterval: 1000, aggregator: { reportIdle: true } });
  await server.start();
  cleanups.push(() => server.stop(100));

  // How long such a flush holds the thread when it runs on it (the old way).
  await timers(server, 400_000);
  const t0 = performance.now();
  server.flush();
  const onThreadMs = performance.now() - t0;

  // The same again, for the next scheduled flush: ping in a loop until it has
  // come out, sending TCP lines meanwhile.
  await timers(server, 400_000);
  const linesBefore = server.stats.aggregator.lines;
  const sock = net.connect(server.tcpPort, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const before = flushes.length;
  const pings: { at: number; ms: number }[] = [];
  const started = performance.now();
  while (flushes.length === before) {
    sock.write('tcp.during:1|c\n');
    pings.push({ at: performance.now(), ms: await ping(server.httpPort) });
    if (performance.now() - started > 60_000) throw new Error('no scheduled flush within 60 s');
  }
  sock.end();
  const big = flushes[before]!;
  expect(big.metrics).toBeGreaterThan(1_000_000);
  // the pings sent while it ran (its start is not known exactly: those in the
  // last on-thread flush time before it came out)
  const during = pings.filter((p) => p.at > big.at - onThreadMs && p.at < big.at);
  if (process.env.MEASURE) console.log(`flush on the thread ${onThreadMs.toFixed(0)} ms; ${during.length} pings during the scheduled one, longest ${Math.max(...during.map((p) => p.ms)).toFixed(1)} ms`);
  expect(during.length).toBeGreaterThanOrEqual(3);
  expect(Math.max(...during.map((p) => p.ms))).toBeLessThan(onThreadMs / 2);
  // every TCP line sent meanwhile was taken (after the flush, in order)
  await until(async () => server.stats.aggregator.lines - linesBefore === pings.length, 30_000, () => `TCP lines: ${server.stats.aggregator.lines - linesBefore} of ${pings.length}`);
  expect(server.stats.tcp.truncatedLines).toBe(0);
});

it('flushes slower than the interval are not queued one behind another: stop() settles after the one under way', { timeout: 120_000 }, async () => {
  let flushes = 0;
  const sink: Sink = {
    name: 'count',
    write: () => void flushes++,
    drain: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({ type: 'count', connected: true, flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0, backlog: 0 }),
  };
  // every flush walks 400k timer keys (reportIdle); the interval is far shorter
  const server = new StatsdServer({ sinks: [sink], flushInterval: 10, aggregator: { reportIdle: true } });
  await timers(server, 400_000);
  const t0 = performance.now();
  server.flush();
  const flushMs = performance.now() - t0;
  await server.start();
  await new Promise((resolve) => setTimeout(resolve, Math.max(1000, 5 * flushMs))); // ~100+ intervals due
  const stopping = performance.now();
  await server.stop(100);
  const stopMs = performance.now() - stopping;
  if (process.env.MEASURE) console.log(`flush ${flushMs.toFixed(0)} ms, ${flushes} flushes, stop ${stopMs.toFixed(0)} ms`);
  // queued, stop() waited for every flush due meanwhile (~100 of them)
  expect(stopMs).toBeLessThan(5 * flushMs + 2000);
});
