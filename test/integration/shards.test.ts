// Aggregation shards (issue [5/7] item 2): keys partitioned by hash, each
// shard applied to by its own thread in the daemon. What must not change
// with the shard count: the flush (same keys, values, order), the limits
// (maxKeys, maxKeyBytes, the per-interval bounds hold over all shards), and
// every datagram read is aggregated or counted, the last ones included.
// The whole suite also runs with STATSD_NATIVE_SHARDS=2 and 4 in CI.
import * as dgram from 'node:dgram';

import { afterEach, describe, expect, it } from 'vitest';

import { Aggregator, type AggregatorOptions, StatsdServer } from '../../src';
import { keeper } from '../helpers/keeper-sink';
import { Random, randomValidLine } from '../helpers/random';
import { until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T = 1_700_000_000;

/** Datagrams of random valid lines (every type, tags, rates, multi-values) over `keys` names. */
function corpus(seed: number, datagrams: number, keys: number): string[] {
  const r = new Random(seed);
  const out: string[] = [];
  for (let d = 0; d < datagrams; d++) {
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Random grammar, but names from a fixed pool so keys repeat.
      const line = randomValidLine(r);
      lines.push(line.replace(/^[^:]*/, `k${r.int(0, keys - 1)}`));
    }
    out.push(lines.join('\n'));
  }
  return out;
}

/** Every flush's text and the totals, for a run of intervals over `packets`. */
function run(options: AggregatorOptions, packets: string[], intervals: number) {
  const agg = new Aggregator(options);
  const flushes: string[] = [];
  const per = Math.ceil(packets.length / intervals);
  for (let i = 0; i < intervals; i++) {
    for (const p of packets.slice(i * per, (i + 1) * per)) agg.ingest(p);
    // etsy's processing_time and calculationtime are the flush's own duration in ms: left out
    flushes.push(agg.flush({ timestamp: T + 10 * i }).carbon.toString().replace(/^.*(processing_time|calculationtime) .*\n/gm, ''));
  }
  return { flushes, stats: agg.stats };
}

describe('an Aggregator with 1, 2 and 4 shards', () => {
  const packets = corpus(7, 600, 300);
  const cases: [string, AggregatorOptions][] = [
    ['brubeck', { shards: 1, maxSamplesPerKey: 1000 }],
    ['etsy', { shards: 1, convention: 'etsy', maxSamplesPerKey: 1000, deleteIdleStats: true }],
    ['brubeck, expiring, reporting idle keys', { shards: 1, expire: 20, reportIdle: true }],
    ['brubeck at its limits', { shards: 1, maxKeys: 150, maxKeyBytes: 2000, maxIntervalSamples: 500, maxIntervalMembers: 40 }],
    ['etsy at its limits', { shards: 1, convention: 'etsy', maxKeys: 200, maxIntervalSamples: 300, maxIntervalMembers: 25 }],
  ];
  for (const [name, options] of cases) {
    it(`gives the same flushes and totals (${name})`, () => {
      const one = run(options, packets, 6);
      expect(one.flushes.join('').length).toBeGreaterThan(10_000);
      for (const shards of [2, 4]) {
        const many = run({ ...options, shards }, packets, 6);
        expect(many.flushes).toEqual(one.flushes);
        expect(many.stats).toEqual(one.stats);
      }
    });
  }

  it('the per-interval bounds hold over all shards: stored never passes them, and what is refused is counted', () => {
    const agg = new Aggregator({ shards: 4, maxIntervalSamples: 1000, maxIntervalMembers: 1000 });
    let text = '';
    for (let i = 0; i < 5000; i++) text += `t${i % 97}:${i}|ms\ns${i % 89}:m${i}|s\n`;
    agg.ingest(text);
    const snapshot = agg.snapshot();
    const stored = snapshot.reduce((n, k) => n + (k.kind === 'timer' ? k.samples.length : 0), 0);
    const members = snapshot.reduce((n, k) => n + (k.kind === 'set' ? k.value : 0), 0);
    expect(stored).toBe(1000);
    expect(agg.stats.samplesNotStored).toBe(4000);
    expect(members).toBe(1000);
    expect(agg.stats.membersDropped).toBe(4000);
  });

  it('a shard whose keys go quiet does not keep the interval room the others need', () => {
    for (const shards of [1, 8]) {
      const agg = new Aggregator({ shards, maxIntervalSamples: 1000, maxSamplesPerKey: 100_000 });
      let text = '';
      for (let i = 0; i < 64; i++) text += `one${i}:1|ms\n`;
      for (let i = 0; i < 2000; i++) text += `b:${i}|ms\n`;
      agg.ingest(text);
      const stored = agg.snapshot().reduce((n, k) => n + (k.kind === 'timer' ? k.samples.length : 0), 0);
      expect({ shards, stored, notStored: agg.stats.samplesNotStored }).toEqual({ shards, stored: 1000, notStored: 1064 });
    }
  });

  it("brubeck's one namespace: a number on a set key counts as the member its shortest text is", () => {
    for (const shards of [1, 2]) {
      const agg = new Aggregator({ shards });
      agg.ingest('x:1|s\nx:1|c\nx:1.0|c\nx:2|s\nx:2|g\nx:3|ms');
      expect(agg.snapshot('x')).toEqual([{ key: 'x', kind: 'set', updated: true, value: 3 }]); // "1" (1.0 too), "2", "3"
    }
  });

  it('refuses a shard count it cannot take, naming the option', () => {
    expect(() => new Aggregator({ shards: 0 })).toThrow(/shards/);
    expect(() => new Aggregator({ shards: 65 })).toThrow(/shards/);
    expect(() => new Aggregator({ shards: 1.5 })).toThrow(/shards/);
  });
});

/** Sends `packets` to 127.0.0.1:port, pausing so a default socket buffer keeps up. */
async function send(port: number, packets: string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  for (let i = 0; i < packets.length; i++) {
    await new Promise<void>((resolve, reject) => socket.send(packets[i]!, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
  }
  socket.close();
}

describe('a daemon whose shards run on their own threads', () => {
  for (const shards of [2, 4]) {
    it(`${shards} shards: every datagram is aggregated or counted, and stop() flushes the last ones (same result as 1 shard)`, { timeout: 60_000 }, async () => {
      const packets = corpus(11, 2000, 500);
      const results: { lines: string[]; datagrams: number; kernelDrops: number; aggregated: number }[] = [];
      for (const n of [1, shards]) {
        const { sink, texts } = keeper();
        const server = new StatsdServer({ udp: { port: 0 }, sinks: [sink], flushInterval: 3_600_000, aggregator: { shards: n, maxSamplesPerKey: 100_000 } });
        await server.start();
        cleanups.push(() => server.stop(0));
        await send(server.udpPort, packets);
        const read = () => server.stats.udp.datagrams + server.stats.udp.kernelDrops;
        await until(async () => read() === packets.length, 10_000, () => `${packets.length} datagrams read or dropped, not ${read()}`);
        const udp = server.stats.udp;
        await server.stop(0); // the only flush: whatever the shards' queues held must be in it
        results.push({
          // sorted: keys arrive in an order that datagrams' interleaving decides
          lines: texts.join('').split('\n').filter(Boolean).map((l) => l.slice(0, l.lastIndexOf(' '))).sort(), // without the flush's timestamp
          datagrams: udp.datagrams,
          kernelDrops: udp.kernelDrops,
          aggregated: server.aggregator.stats.packets,
        });
      }
      for (const r of results) {
        expect(r.datagrams + r.kernelDrops).toBe(packets.length);
        expect(r.aggregated).toBe(r.datagrams); // every datagram read was aggregated
      }
      // Equal flushes when nothing was dropped by the kernel (a busy machine may drop some: counted above).
      // The first line that differs (a deep diff of 80k lines would take a minute to print).
      if (results.every((r) => r.kernelDrops === 0)) {
        const [one, many] = [results[0]!.lines, results[1]!.lines];
        const at = one.findIndex((line, i) => line !== many[i]);
        expect(at === -1 ? undefined : { at, one: one[at], many: many[at] }).toBeUndefined();
        expect(many.length).toBe(one.length);
      }
    });
  }

  it('a flush has whole datagrams: every key of a datagram is in the same flush, under flushes every 20 ms', { timeout: 60_000 }, async () => {
    const { sink, texts } = keeper();
    const server = new StatsdServer({ udp: { port: 0 }, sinks: [sink], flushInterval: 20, aggregator: { shards: 4, reportIdle: true } });
    await server.start();
    cleanups.push(() => server.stop(0));
    // Each datagram adds 1 to each of 16 counters, which hash to all 4 shards.
    const datagram = Array.from({ length: 16 }, (_, i) => `whole.k${i}:1|c`).join('\n');
    await send(server.udpPort, Array.from({ length: 4000 }, () => datagram));
    await until(async () => server.stats.udp.datagrams + server.stats.udp.kernelDrops === 4000, 10_000, 'every datagram read');
    const read = server.stats.udp.datagrams;
    await server.stop(0);
    let flushesWithData = 0;
    let total = 0;
    for (const text of texts) {
      const values = Array.from({ length: 16 }, (_, i) => Number(/^whole\.k\d+ (\S+)/m.exec(text.split('\n').filter((l) => l.startsWith(`whole.k${i} `)).join('\n'))?.[1] ?? 0));
      expect(new Set(values).size).toBe(1); // the same count for every key of the datagrams in this flush
      if (values[0]! > 0) flushesWithData++;
      total += values[0]!;
    }
    expect(total).toBe(read);
    expect(flushesWithData).toBeGreaterThan(3); // the datagrams were spread over several flushes
  });

  it('maxKeys holds over 4 shards filling at once: the keys past it are refused and counted, not one more kept', { timeout: 60_000 }, async () => {
    const { sink } = keeper();
    const server = new StatsdServer({ udp: { port: 0 }, sinks: [sink], flushInterval: 3_600_000, aggregator: { shards: 4, maxKeys: 100 } });
    await server.start();
    cleanups.push(() => server.stop(0));
    const packets = Array.from({ length: 200 }, (_, d) => Array.from({ length: 20 }, (_, i) => `key${d * 20 + i}:1|c`).join('\n'));
    await send(server.udpPort, packets);
    await until(async () => server.stats.udp.datagrams + server.stats.udp.kernelDrops === packets.length, 10_000, 'every datagram read');
    expect(server.stats.udp.kernelDrops).toBe(0);
    await server.stop(0);
    const a = server.aggregator.stats;
    expect(a.keys).toBe(100);
    expect(a.lines).toBe(100);
    expect(a.keysDropped).toBe(3900);
    expect(a.lines + a.errors).toBe(4000);
  });
});
