// Two-tier aggregation (issue [7/7] item 3): local daemons forward their
// flush upstream as statsd lines (flush format 'statsd'), and the global tier
// computes each key once from every host's share. The global result must be
// what one daemon seeing every line would report: counters and set
// cardinalities exact (members seen by several hosts counted once), timer
// counts exact and percentiles from all the samples, a sampled timer's count
// kept by its rate.
import * as dgram from 'node:dgram';

import { afterEach, describe, expect, it } from 'vitest';

import { Aggregator } from '../../src/aggregator/aggregator';
import { StatsdServer } from '../../src/daemon/server';
import { Relay } from '../../src/scale/relay';
import { parseCarbon } from '../helpers/carbon-sink';

/** A workload: counters with rates, sets whose members overlap across hosts, timers, tags. */
function hostLines(host: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    lines.push(`req.k${i}:${host + i}|c`, `req.k${i}:2|c|@0.5`);
    lines.push(`users.s${i % 5}:u${(i * 7 + host * 3) % 40}|s`);
    lines.push(`lat.t${i % 4}:${(i * 13 + host * 5) % 97}|ms`, `lat.t${i % 4}:${(i * 3 + host) % 31}|ms|@0.25`);
    lines.push(`tagged.c:1|c|#host:h${host % 2},az:a`);
  }
  if (host === 0) lines.push('mem.g:42|g', 'neg.g:-7|g');
  return lines.join('\n');
}

/** Carbon name → value, with the daemon's own metrics left out. */
function values(carbon: Buffer): Map<string, number> {
  return new Map(parseCarbon(carbon.toString()).filter((l) => !l.name.startsWith('brubeck.')).map((l) => [l.name, Number(l.value)]));
}

describe('two tiers ≡ one daemon', () => {
  it('three local aggregators forwarding into one global aggregator give the flush one aggregator of every line gives', () => {
    const hosts = [0, 1, 2].map((h) => hostLines(h));
    const one = new Aggregator({ memberSeed: 99 });
    for (const text of hosts) one.ingest(text);
    const global = new Aggregator();
    for (const text of hosts) {
      const local = new Aggregator({ memberSeed: 99 }); // the fleet's seed: a member hashes alike on every host
      local.ingest(text);
      const forwarded = local.flush({ format: 'statsd', timestamp: 1 });
      expect(forwarded.metrics).toBeGreaterThan(0);
      const r = global.ingest(forwarded.carbon);
      expect(r.errors).toBe(0); // every forwarded line parses
    }
    const want = values(one.flush({ timestamp: 2 }).carbon);
    const got = values(global.flush({ timestamp: 2 }).carbon);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, v] of want) expect(got.get(name), name).toBeCloseTo(v, 9);
  });

  it('past maxSamplesPerKey a timer forwards a uniform sample whose rate keeps its count exact', () => {
    const local = new Aggregator({ maxSamplesPerKey: 100, memberSeed: 1 });
    local.ingest(Array.from({ length: 1000 }, (_, i) => `big:${i}|ms`).join('\n'));
    const forwarded = local.flush({ format: 'statsd', timestamp: 1 });
    const global = new Aggregator();
    global.ingest(forwarded.carbon);
    const got = values(global.flush({ timestamp: 2 }).carbon);
    expect(got.get('big.count')).toBe(1000);
    expect(got.get('big.max')).toBeLessThanOrEqual(999);
    expect(forwarded.carbon.toString()).toMatch(/\|h\|@0\.1\n/);
  });

  it("a key etsy's sanitizing leaves nameless, or a sum past the largest double, is not forwarded but counted; the rest is", () => {
    const local = new Aggregator({ convention: 'etsy', memberSeed: 1 });
    local.ingest(`~:+2|g\nok:1|c\nbig:1e308|c\nbig:1e308|c`);
    const forwarded = local.flush({ format: 'statsd', timestamp: 1 });
    expect(forwarded.carbon.toString()).toBe('ok:1|c\n');
    expect(local.stats).toMatchObject({ notForwarded: 1, nonfiniteDropped: 1 });
    expect(new Aggregator().ingest(forwarded.carbon)).toEqual({ lines: 1, errors: 0 });
  });

  it('forwarded timer counts are exact: a reservoir past its cap, rates above 1 (etsy), a timer that stored nothing is counted', () => {
    const forward = (options: object, lines: string, upstream: object = {}) => {
      const local = new Aggregator({ memberSeed: 1, ...options });
      local.ingest(lines);
      const forwarded = local.flush({ format: 'statsd', timestamp: 1 });
      const global = new Aggregator(upstream);
      expect(global.ingest(forwarded.carbon).errors).toBe(0);
      return { got: values(global.flush({ timestamp: 2 }).carbon), local };
    };
    const many = (n: number) => Array.from({ length: n }, (_, i) => `t:${i}|ms`).join('\n');
    expect(forward({ maxSamplesPerKey: 65535 }, many(100_000)).got.get('t.count')).toBe(100_000);
    expect(forward({ maxSamplesPerKey: 1000 }, many(1001)).got.get('t.count')).toBe(1001);
    const etsy = { convention: 'etsy' };
    expect(forward(etsy, 't:5|ms|@2\nt:5|ms|@2', etsy).got.get('stats.timers.t.count')).toBe(1);
    // maxIntervalSamples reached: t2 stored nothing; it is counted, not silently missing
    const { got, local } = forward({ maxIntervalSamples: 10 }, `${many(10)}\n${Array.from({ length: 5 }, () => 't2:1|ms').join('\n')}`);
    expect(got.get('t2.count')).toBeUndefined();
    expect(local.stats.notForwarded).toBe(5);
  });

  it('a forwarded line longer than maxLineBytes is counted, never sent; empty etsy tags are left out', () => {
    const local = new Aggregator({ memberSeed: 1, maxLineBytes: 200 });
    local.ingest(`${'s'.repeat(185)}:x|s\nok:1|c`); // 189 bytes in, 205 forwarded (h + 16 hex digits)
    const forwarded = local.flush({ format: 'statsd', timestamp: 1 });
    expect(forwarded.carbon.toString()).toBe('ok:1|c\n');
    expect(local.stats.notForwarded).toBe(1);
    const etsy = new Aggregator({ convention: 'etsy', memberSeed: 1 });
    etsy.ingest('a:1|c|#x:1,!!,y:2');
    expect(etsy.flush({ format: 'statsd', timestamp: 1 }).carbon.toString()).toBe('a:1|c|#x:1,y:2\n');
  });

  it('a set member seen on two hosts counts once only when the hosts share a member seed', () => {
    const forwardFrom = (seed: number | undefined) => {
      const global = new Aggregator();
      for (const host of [0, 1]) {
        const local = new Aggregator(seed === undefined ? {} : { memberSeed: seed });
        local.ingest('s:alice|s\ns:bob|s');
        global.ingest(local.flush({ format: 'statsd', timestamp: 1 }).carbon);
      }
      return values(global.flush({ timestamp: 2 }).carbon).get('s');
    };
    expect(forwardFrom(7)).toBe(2);
    expect(forwardFrom(undefined)).toBe(4); // random seeds per aggregator: why a forwarding fleet shares one
  });
});

describe('local daemons → relay → sharded global daemons', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('every key is aggregated once at the global tier, with the totals of every host', async () => {
    const globals = await Promise.all(
      [0, 1].map(async () => {
        const s = new StatsdServer({ udp: { address: '127.0.0.1', port: 0 }, http: { address: '127.0.0.1', port: 0 }, flushInterval: 3_600_000 });
        await s.start();
        closers.push(() => s.stop(100));
        return s;
      }),
    );
    const relay = new Relay({ nodes: globals.map((s) => ({ host: '127.0.0.1', port: s.udpPort, httpPort: s.httpPort })), udp: { port: 0 } });
    await relay.start();
    closers.unshift(() => relay.stop(100));
    const locals = await Promise.all(
      [0, 1, 2].map(async () => {
        const s = new StatsdServer({ udp: { address: '127.0.0.1', port: 0 }, upstream: { endpoint: `127.0.0.1:${relay.udpPort}` }, flushInterval: 3_600_000 });
        await s.start();
        closers.unshift(() => s.stop(100));
        return s;
      }),
    );
    expect(locals[0]!.sinks.map((s) => s.name)).toEqual(['upstream']);
    const socket = dgram.createSocket('udp4');
    for (const [h, s] of locals.entries()) {
      await new Promise<void>((resolve, reject) => socket.send(hostLines(h), s.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    }
    socket.close();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const deadline = Date.now() + 15_000;
    while (locals.reduce((a, s) => a + s.aggregator.stats.lines, 0) < 3 * 252 && Date.now() < deadline) await sleep(20);
    let forwarded = 0;
    for (const s of locals) forwarded += s.flush().metrics;
    while (globals.reduce((a, s) => a + s.aggregator.stats.lines, 0) < forwarded && Date.now() < deadline) await sleep(20);
    expect(globals.reduce((a, s) => a + s.aggregator.stats.lines, 0)).toBe(forwarded);

    const one = new Aggregator({ memberSeed: 1, flushInterval: 3_600_000 }); // count_ps is per the daemons' interval
    for (const h of [0, 1, 2]) one.ingest(hostLines(h));
    const want = values(one.flush({ timestamp: 5 }).carbon);
    const got = new Map<string, number>();
    for (const s of globals) {
      for (const [name, v] of values(s.flush(5).carbon)) {
        expect(got.has(name), `${name} at two global daemons`).toBe(false);
        got.set(name, v);
      }
    }
    for (const [name, v] of want) expect(got.get(name), name).toBeCloseTo(v, 9);
    expect(relay.stats.router.errors).toBe(0);
  });

  it('upstream with graphite, stdout, history, sinks or prometheus is refused, naming them, and so is a random member seed', () => {
    expect(() => new StatsdServer({ udp: {}, upstream: { endpoint: '127.0.0.1:1' }, stdout: 'carbon' })).toThrow(/cannot go with stdout/);
    expect(() => new StatsdServer({ udp: {}, upstream: { endpoint: '127.0.0.1:1' }, history: {} })).toThrow(/cannot go with history/);
    expect(() => new StatsdServer({ udp: {}, upstream: { endpoint: '127.0.0.1:1' }, sinks: [] })).toThrow(/cannot go with sinks/);
    expect(() => new StatsdServer({ udp: {}, upstream: { endpoint: '127.0.0.1:1' }, prometheus: {} })).toThrow(/cannot go with prometheus/);
    expect(() => new StatsdServer({ udp: {}, upstream: { endpoint: '127.0.0.1:1' }, aggregator: { memberSeed: 0 } })).toThrow(/memberSeed 0/);
  });

  it('an upstream that is down: lines are counted dropped, never sent', async () => {
    const server = new StatsdServer({ udp: { address: '127.0.0.1', port: 0 }, upstream: { endpoint: 'tcp://127.0.0.1:1' }, flushInterval: 3_600_000 });
    await server.start();
    server.aggregator.ingest('a:1|c\nb:2|c');
    server.flush();
    await server.stop(200);
    const s = server.stats.sinks[0]!;
    expect(s).toMatchObject({ name: 'upstream', metricsSent: 0, metricsDropped: 2 });
  });
});
