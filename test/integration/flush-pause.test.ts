// While a flush holds the aggregator, the receiving thread reads on and holds
// the datagrams (native/held_datagrams.h), so a socket buffer far smaller than
// a flush pause (what an unprivileged daemon gets) loses nothing. Real UDP from
// the load generator in a child process; flushes of 1M keys on this thread.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { StatsdServer } from '../../src/daemon/server';
import type { Sink } from '../../src';
import { CLI, sendUdp } from '../helpers/daemon-cli';
import { sleep, until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A sink that keeps nothing: the flush itself is what is measured here. */
const nullSink: Sink = {
  name: 'null',
  write: () => {},
  drain: () => Promise.resolve(),
  close: () => Promise.resolve(),
  stats: () => ({ type: 'null', connected: true, flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0, backlog: 0 }),
};

/** Floods for 3 s at 1M lines/s while this thread flushes 1M keys over and over. */
async function floodDuringFlushes(heldBytes: number) {
  const server = new StatsdServer({
    udp: { port: 0, receiveBuffer: 256 << 10, heldBytes }, // the kernel doubles it: ~15 ms of this flood
    aggregator: { maxKeys: 2_000_000, reportIdle: true }, // every flush walks and writes all 1M keys
    sinks: [nullSink],
    flushInterval: 3_600_000, // flushes are made by the test
  });
  await server.start();
  cleanups.push(() => server.stop(100));
  let keys = '';
  for (let i = 0; i < 1_000_000; i++) keys += `pause.k${i}:1|g\n`;
  server.aggregator.ingest(keys);

  const load = spawn(process.execPath, [CLI, 'load', '--target', `127.0.0.1:${server.udpPort}`, '--rate', '1000000', '--duration', '3', '--json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  cleanups.push(() => void load.kill('SIGKILL'));
  let out = '';
  load.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise((resolve) => load.once('exit', resolve));
  const pauses: number[] = [];
  while (load.exitCode === null) {
    const t = performance.now();
    server.flush();
    pauses.push(performance.now() - t);
    await sleep(20);
  }
  await exited;
  const sent = JSON.parse(out) as { packetsSent: number; linesSent: number };
  // the kernel's drop count rides on the next datagram: send markers until all is counted
  let markers = 0;
  await until(
    async () => {
      await sendUdp(server.udpPort, ['pause.marker:1|c']);
      markers++;
      await sleep(20);
      const u = server.stats.udp;
      return u.datagrams + u.kernelDrops === sent.packetsSent + markers;
    },
    10_000,
    () => `datagrams counted: ${JSON.stringify(server.stats.udp)}, sent ${sent.packetsSent} + ${markers}`,
  );
  // held datagrams reach the aggregator within a poll of the socket going quiet:
  // one ingest per datagram, after the one of the keys
  await until(async () => server.aggregator.stats.packets === 1 + server.stats.udp.datagrams, 10_000, () => 'the held datagrams aggregated');
  const aggregated = server.stats.aggregator;
  return { udp: server.stats.udp, lines: aggregated.lines - 1_000_000, packets: aggregated.packets - 1, sent, markers, pauses };
}

describe('flush pauses and a small socket buffer', () => {
  // How much is lost depends on whether the receiving thread gets a core while
  // the load generator and these flushes take both (2 cores): on a quiet AMD
  // EPYC box 0-321 of 44,191 datagrams with holding and ~18,000 without, but
  // 8,717 with holding on a busy one before held datagrams were aggregated a
  // slice at a time (F12). So the tests check what holds on any machine — the
  // path is taken, every datagram is read or counted as dropped, every read
  // one is aggregated — and bench/flush-pause.bench.js measures the loss.
  it('datagrams that arrive during flushes are read on, held and aggregated', { timeout: 60_000 }, async () => {
    const r = await floodDuringFlushes(64 << 20);
    expect(Math.max(...r.pauses)).toBeGreaterThan(25); // longer than the buffer lasts
    expect(r.udp.heldWhileBusy).toBeGreaterThan(0);
    expect(r.udp.datagrams + r.udp.kernelDrops).toBe(r.sent.packetsSent + r.markers);
    expect(r.packets).toBe(r.udp.datagrams); // every datagram read, held or not, was aggregated
    if (r.udp.kernelDrops === 0) expect(r.lines).toBe(r.sent.linesSent + r.markers);
  });

  it('without holding (heldBytes 0) nothing is held, and what the kernel drops is counted', { timeout: 60_000 }, async () => {
    const r = await floodDuringFlushes(0);
    expect(r.udp.heldWhileBusy).toBe(0);
    expect(r.udp.datagrams + r.udp.kernelDrops).toBe(r.sent.packetsSent + r.markers);
    expect(r.packets).toBe(r.udp.datagrams);
  });
});
