// The external engines of issue [7/7] (scale-out) run under their test
// helpers: carbon-c-relay's jump_fnv1a_ch spreads a key space over three real
// carbon-caches, each key to exactly one, where the relay's hash says; and
// VictoriaMetrics stores Graphite plaintext with its names, values and
// timestamps, readable right after flush().
import * as fs from 'node:fs';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Carbon, carbonMissing } from '../helpers/carbon';
import { CarbonCRelay, carbonCRelayMissing } from '../helpers/carbon-c-relay';
import { type Point, VictoriaMetrics, victoriaMetricsMissing } from '../helpers/victoria-metrics';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects to 127.0.0.1:port; `write` resolves once the kernel has the bytes. */
async function connect(port: number): Promise<{ write(lines: string[]): Promise<void>; close(): Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    write: (lines) => new Promise((resolve, reject) => socket.write(lines.map((l) => `${l}\n`).join(''), (e) => (e ? reject(e) : resolve()))),
    close: () => new Promise((resolve) => socket.end(resolve)),
  };
}

async function sendLines(port: number, lines: string[]): Promise<void> {
  const conn = await connect(port);
  await conn.write(lines);
  await conn.close();
}

/**
 * carbon-c-relay 3.7's jump_fnv1a_ch bucket (consistent-hash.c): 64-bit
 * FNV-1a of the cleansed name (ASCII; tags excluded), then Lamping and
 * Veach's jump hash. Bucket i is the i-th destination in config order (none
 * has an =instance).
 */
function jumpFnv1aBucket(name: string, buckets: number): number {
  const mask = (1n << 64n) - 1n;
  let key = 14695981039346656037n;
  for (const byte of Buffer.from(name)) key = ((key ^ BigInt(byte)) * 1099511628211n) & mask;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & mask;
    j = Math.trunc((b + 1) * (2 ** 31 / Number((key >> 33n) + 1n)));
  }
  return b;
}

/** Runs `task` over `items`, `limit` at a time (whisper-fetch is a Python process each). */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const relayMissing = carbonCRelayMissing() ?? carbonMissing();
const vmMissing = victoriaMetricsMissing();
const skipped = (reason: string | undefined) => (reason ? ` (skipped: ${reason})` : '');

describe.skipIf(relayMissing !== undefined)(`carbon-c-relay (jump_fnv1a_ch) → three carbon-caches${skipped(relayMissing)}`, () => {
  it('jump_fnv1a_ch sends every key to exactly one cache, the one its hash names, and spreads them over all three', { timeout: 180_000 }, async () => {
    const started = await Promise.allSettled([Carbon.start(), Carbon.start(), Carbon.start()]);
    const caches: Carbon[] = [];
    for (const s of started) if (s.status === 'fulfilled') caches.push(s.value);
    for (const c of caches) cleanups.push(() => c.stop({ kill: true }));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const relay = await CarbonCRelay.start({ destinations: caches.map((c) => `127.0.0.1:${c.ports.line}`) });
    cleanups.push(() => relay.stop({ kill: true }));
    expect(relay.hash).toBe('jump_fnv1a_ch');

    const t = Math.floor(Date.now() / 1000);
    const keys = Array.from({ length: 300 }, (_, i) => `cluster.k${i}`);
    await sendLines(relay.port, keys.map((k, i) => `${k} ${i} ${t}`));

    // Every key's whisper file appears in some cache (carbon creates them as it drains its cache).
    const owners = (key: string) => caches.filter((c) => fs.existsSync(c.whisperFile(key)));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const missing = keys.filter((k) => owners(k).length === 0);
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`${missing.length} keys never reached a cache, e.g. ${missing.slice(0, 5).join(' ')}\nrelay log:\n${relay.log}\n${caches.map((c) => c.log).join('\n')}`);
      }
      await sleep(200);
    }

    const home = new Map<string, number>();
    await eachLimited(keys, 3, async (key) => {
      const [cache] = owners(key);
      expect(await cache!.valueAt(key, t, 60_000)).toBe(keys.indexOf(key));
      home.set(key, caches.indexOf(cache!));
    });
    // Checked after the reads, so a copy arriving late at a second cache would be seen.
    for (const key of keys) expect(owners(key).map((c) => caches.indexOf(c)), key).toEqual([home.get(key)]);
    for (const key of keys) expect(home.get(key), key).toBe(jumpFnv1aBucket(key, caches.length));
    const perCache = caches.map((_, i) => keys.filter((k) => home.get(k) === i).length);
    for (const n of perCache) expect(n, `keys per cache ${perCache.join('/')}`).toBeGreaterThan(keys.length / 10);
  });
});

describe.skipIf(vmMissing !== undefined)(`VictoriaMetrics Graphite plaintext → /api/v1/export${skipped(vmMissing)}`, () => {
  it('stores names, tags, values and timestamps as written, readable after flush()', { timeout: 120_000 }, async () => {
    const vm = await VictoriaMetrics.start();
    cleanups.push(() => vm.stop({ kill: true }));
    const t = Math.floor(Date.now() / 1000) - 60;
    const values = [0, 1, -2.25, 0.1, 1.5e-3, 123456.789, 1e15, 42];
    const expected = new Map<string, Point[]>();
    const lines: string[] = [];
    values.forEach((v, i) => {
      const name = `scale.vm.k${i}`;
      expected.set(name, [[t - 10, v * 2], [t, v]]);
      lines.push(`${name} ${v * 2} ${t - 10}`, `${name} ${v} ${t}`);
    });
    expected.set('scale.vm.tagged;dc=east;host=a.b', [[t, 7]]);
    lines.push('scale.vm.tagged;dc=east;host=a.b 7 ' + t);
    await sendLines(vm.graphitePort, lines);

    await vm.flush();
    for (const [name, points] of expected) expect(await vm.series(name), name).toEqual(points);
    expect(await vm.series('scale.vm.tagged'), 'the untagged name is another series').toEqual([]);
    const labels = (await vm.query('/api/v1/series', { 'match[]': '{__name__="scale.vm.tagged"}' })) as { data: Record<string, string>[] };
    expect(labels.data).toEqual([{ __name__: 'scale.vm.tagged', dc: 'east', host: 'a.b' }]);

    // A connection kept open (as a sink keeps it) and a burst VictoriaMetrics
    // is still parsing when the write returns (a bare /internal/force_flush
    // here showed ~2,500 of 50,000): all written before flush() is read after it.
    const conn = await connect(vm.graphitePort);
    cleanups.push(() => conn.close());
    const burst = Array.from({ length: 20_000 }, (_, i) => `scale.vm.burst ${i} ${t - 86_400 + i}`);
    await conn.write(['scale.vm.k0 5 ' + (t + 10), 'scale.vm.new 3 ' + t, ...burst]);
    await vm.flush();
    expect(await vm.series('scale.vm.k0')).toEqual([[t - 10, 0], [t, 0], [t + 10, 5]]);
    expect(await vm.series('scale.vm.new')).toEqual([[t, 3]]);
    const points = await vm.series('scale.vm.burst');
    expect(points.length).toBe(burst.length);
    expect(points.every(([ts, v], i) => ts === t - 86_400 + i && v === i)).toBe(true);
  });
});
