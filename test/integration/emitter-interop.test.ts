// The emitter against servers: the real etsy statsd 0.9.0 (npm `statsd`, its
// graphite backend writing into a CarbonSink) and our own Aggregator fed the
// datagrams a receiver got. What the server reports must be what was emitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Aggregator, Emitter } from '../../src';
import { type CarbonFlush, CarbonSink } from '../helpers/carbon-sink';
import { EtsyStatsd, etsyStatsdVersion } from '../helpers/etsy-statsd';
import { UdpReceiver, sleep, waitFor } from '../helpers/receivers';

/** The emitter's calls, in two intervals (the second one moves gauges and totals). */
function phase1(e: Emitter): void {
  for (let i = 0; i < 5; i++) e.increment('hits');
  e.increment('hits', 10);
  e.decrement('errors', 3);
  e.gauge('temp', 21.5);
  e.gauge('neg', 10);
  e.gaugeAdd('conns', 5);
  for (let i = 1; i <= 10; i++) e.timing('lat', i);
  e.count('jobs', 10);
  e.set('users', 'alice');
  e.set('users', 'bob');
  e.set('users', 'alice');
}

function phase2(e: Emitter): void {
  e.increment('hits', 4);
  // brubeck and etsy read a bare "-7|g" on an existing gauge as "10 - 7"
  e.gauge('neg', -7);
  e.gaugeAdd('conns', -2);
  for (let i = 0; i < 100; i++) e.timing('capped', 1); // over maxSamplesPerKey: sampled with |@rate
  e.count('jobs', 25);
  e.count('jobs', 30); // the last total of the interval counts
}

// After both phases: hits 19, errors -3, temp 21.5, neg -7, conns 3,
// lat: 10 timings 1..10, capped: 100 timings, users 2 members, jobs total 30.

describe(`emitter → etsy statsd ${etsyStatsdVersion()} → carbon`, () => {
  let sink: CarbonSink;
  let statsd: EtsyStatsd;

  beforeAll(async () => {
    sink = await CarbonSink.start();
    statsd = await EtsyStatsd.start({ graphitePort: sink.port, flushInterval: 300 });
  });

  afterAll(async () => {
    await statsd?.stop();
    await sink?.close();
  });

  /** The first flush from `from` on whose lines satisfy `done`. */
  async function flushWhere(from: number, done: (f: CarbonFlush) => boolean, what: string): Promise<number> {
    await waitFor(() => sink.flushes.slice(from).some(done), 5000, `${what}\nstatsd output:\n${statsd.output}`);
    return from + sink.flushes.slice(from).findIndex(done);
  }

  const value = (f: CarbonFlush, name: string): number | undefined => {
    const line = f.lines.find((l) => l.name === name);
    return line === undefined ? undefined : Number(line.value);
  };

  it('counters, gauges (a negative one too), timer counts, sets and etsy-mode totals arrive', async () => {
    const e = new Emitter({
      endpoint: `127.0.0.1:${statsd.udpPort}`,
      convention: 'etsy',
      flushInterval: 60_000,
      maxSamplesPerKey: 16,
      env: {},
    });
    try {
      phase1(e);
      await e.flush();
      const first = await flushWhere(0, (f) => value(f, 'stats.gauges.neg') === 10, 'phase 1 in a carbon flush');
      phase2(e);
      await e.flush();
      const second = await flushWhere(first, (f) => value(f, 'stats.gauges.conns') === 3, 'phase 2 in a carbon flush');
      // one more flush so that nothing sent is still waiting in statsd
      await sink.flush(second + 1, 3000);
      const flushes = sink.flushes.slice(0, second + 2);
      const total = (name: string) => flushes.reduce((s, f) => s + (value(f, name) ?? 0), 0);
      const last = flushes.at(-1)!;

      expect(total('stats_counts.hits')).toBe(19);
      expect(total('stats_counts.errors')).toBe(-3);
      expect(total('stats_counts.jobs')).toBe(30); // etsy mode: deltas 10, then 20
      expect(value(last, 'stats.gauges.temp')).toBe(21.5);
      expect(value(last, 'stats.gauges.neg')).toBe(-7);
      expect(value(last, 'stats.gauges.conns')).toBe(3);
      expect(total('stats.timers.lat.count')).toBe(10);
      expect(value(flushes[first]!, 'stats.timers.lat.sum')).toBe(55);
      expect(value(flushes[first]!, 'stats.timers.lat.upper')).toBe(10);
      expect(value(flushes[first]!, 'stats.timers.lat.lower')).toBe(1);
      expect(total('stats.timers.capped.count')).toBeCloseTo(100, 9);
      expect(value(flushes[first]!, 'stats.sets.users.count')).toBe(2);
      expect(total('stats_counts.statsd.bad_lines_seen')).toBe(0);
      expect(statsd.output).not.toMatch(/Bad line/i);
    } finally {
      await e.close();
    }
  });
});

describe('emitter → UDP → our Aggregator', () => {
  const carbonValues = (carbon: Buffer): Map<string, number> =>
    new Map(
      carbon
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [name, v] = l.split(' ');
          return [name!, Number(v)] as const;
        }),
    );

  async function run(convention: 'brubeck' | 'etsy'): Promise<Map<string, number>> {
    const rx = await UdpReceiver.start('udp4');
    const e = new Emitter({ endpoint: rx.endpoint, convention, flushInterval: 60_000, maxSamplesPerKey: 16, env: {} });
    const agg = new Aggregator({ convention, flushInterval: 1000 });
    try {
      phase1(e);
      await e.flush();
      await waitFor(() => rx.datagrams.length >= 1, 2000, 'phase 1');
      phase2(e);
      await e.flush();
      await waitFor(() => rx.datagrams.length >= 2, 2000, 'phase 2');
      // a third interval: one more total, so brubeck's first-report priming is visible
      e.count('jobs', 31);
      await e.flush();
      await waitFor(() => rx.datagrams.length >= 3, 2000, 'phase 3');
      await sleep(20);
      for (const d of rx.datagrams) expect(agg.ingest(d).errors).toBe(0);
      return carbonValues(agg.flush({ timestamp: 1_700_000_000 }).carbon);
    } finally {
      await e.close();
      await rx.close();
    }
  }

  it('brubeck convention: flushed values equal what was emitted', async () => {
    const v = await run('brubeck');
    expect(v.get('hits')).toBe(19);
    expect(v.get('errors')).toBe(-3);
    expect(v.get('temp')).toBe(21.5);
    expect(v.get('neg')).toBe(-7);
    expect(v.get('conns')).toBe(3);
    expect(v.get('lat.count')).toBe(10);
    expect(v.get('lat.sum')).toBe(55);
    expect(v.get('lat.min')).toBe(1);
    expect(v.get('lat.max')).toBe(10);
    expect(v.get('capped.count')).toBeCloseTo(100, 9);
    expect(v.get('users')).toBe(2);
    // "C" totals 10, 30, 31: the first primes, then the increases count
    expect(v.get('jobs')).toBe(21);
    expect(v.get('brubeck.errors')).toBe(0);
  });

  it('etsy convention: flushed values equal what was emitted', async () => {
    const v = await run('etsy');
    expect(v.get('stats_counts.hits')).toBe(19);
    expect(v.get('stats_counts.errors')).toBe(-3);
    expect(v.get('stats.gauges.temp')).toBe(21.5);
    expect(v.get('stats.gauges.neg')).toBe(-7);
    expect(v.get('stats.gauges.conns')).toBe(3);
    expect(v.get('stats.timers.lat.count')).toBe(10);
    expect(v.get('stats.timers.lat.sum')).toBe(55);
    expect(v.get('stats.timers.capped.count')).toBeCloseTo(100, 9);
    expect(v.get('stats.sets.users.count')).toBe(2);
    // deltas 10, 20, 1
    expect(v.get('stats_counts.jobs')).toBe(31);
    expect(v.get('stats_counts.statsd.bad_lines_seen')).toBe(0);
  });
});
