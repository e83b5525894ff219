// Aggregator tables per type and convention: golden Graphite lines, shared
// histogram vectors, expiry, caps, type clashes and bad input.
import { describe, expect, it } from 'vitest';

import vectors from './fixtures/histogram-brubeck.json';
import { Aggregator, type AggregatorOptions } from '../src';

const T = 1_700_000_000;

/** Flushes and returns `{ name: value }` for the lines of that flush. */
function flushed(agg: Aggregator, timestamp = T): Record<string, number> {
  const { carbon, metrics } = agg.flush({ timestamp });
  const lines = carbon.toString().split('\n').filter(Boolean);
  expect(lines.length).toBe(metrics);
  const out: Record<string, number> = {};
  for (const line of lines) {
    const [name, value, ts] = line.split(' ');
    expect(ts).toBe(String(timestamp));
    out[name!] = Number(value);
  }
  return out;
}

function brubeck(packets: string[], options: AggregatorOptions = {}): Record<string, number> {
  const agg = new Aggregator(options);
  for (const p of packets) agg.ingest(p);
  return flushed(agg);
}

function range(spec: number[] | string): number[] {
  if (Array.isArray(spec)) return spec;
  const [from, to] = spec.split('..').map(Number) as [number, number];
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('brubeck timers: shared vectors (histogram-brubeck.json)', () => {
  it.each(vectors.cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    const values = range(c.values as number[] | string);
    const rate = c.sampleRate === 1 ? '' : `|@${c.sampleRate}`;
    const out = brubeck([values.map((v) => `t:${v}|ms${rate}`).join('\n')]);
    for (const [stat, expected] of Object.entries(c.expect)) {
      expect(out[`t.${stat}`], stat).toBe(expected);
    }
  });
});

describe('brubeck convention', () => {
  it('meters sum value/rate and reset each flush, reporting 0 while idle', () => {
    const agg = new Aggregator();
    agg.ingest('hits:1|c\nhits:2|c|@0.5\nhits:-1|c');
    expect(flushed(agg).hits).toBe(4);
    expect(flushed(agg, T + 10).hits).toBe(0);
  });

  it('monotonic counters: first total primes, increases add, a drop is a reset', () => {
    const agg = new Aggregator();
    agg.ingest('n:100|C');
    expect(flushed(agg).n).toBe(0);
    agg.ingest('n:110|C\nn:115|C');
    expect(flushed(agg).n).toBe(15);
    agg.ingest('n:4|C\nn:6|C');
    expect(flushed(agg).n).toBe(6);
  });

  it('gauges keep their value; a signed value is relative', () => {
    const agg = new Aggregator();
    agg.ingest('g:10|g\ng:+5|g\ng:-3|g\nnew:-4|g');
    expect(flushed(agg)).toMatchObject({ g: 12, new: -4 });
    expect(flushed(agg)).toMatchObject({ g: 12, new: -4 });
    agg.ingest('g:7|g|@0.1');
    expect(flushed(agg).g).toBe(7);
  });

  it('sets count unique members per interval', () => {
    const out = brubeck(['u:alice|s\nu:bob|s\nu:alice|s\nu:al:ice|s']);
    expect(out.u).toBe(3);
  });

  it('timers with no samples report only count and count_ps', () => {
    const agg = new Aggregator({ flushInterval: 2000 });
    agg.ingest('t:5|ms|@0.25');
    expect(flushed(agg)).toMatchObject({ 't.count': 4, 't.count_ps': 2, 't.min': 5 });
    const idle = flushed(agg);
    expect(Object.keys(idle).filter((k) => k.startsWith('t.'))).toEqual(['t.count', 't.count_ps']);
  });

  it('h and d aggregate like ms; multi-values are several samples', () => {
    const out = brubeck(['lat:1:2:3|h\ndist:4|d']);
    expect(out).toMatchObject({ 'lat.count': 3, 'lat.sum': 6, 'dist.max': 4 });
  });

  it('the first type seen for a key wins', () => {
    const out = brubeck(['k:5|g\nk:1|c\nk:+2|g']);
    expect(out.k).toBe(3); // gauge: set to 5, set to 1, +2
  });

  it('tags become Graphite tags after the stat suffix', () => {
    const out = brubeck(['api:1|c|#env:prod,az\napi:2|c\nlat:3|ms|#env:prod']);
    expect(out).toMatchObject({ 'api;az;env=prod': 1, api: 2, 'lat.count;env=prod': 1 }); // tags sorted, as Graphite stores them
  });

  it('reports internal stats under serverName', () => {
    const out = brubeck(['a:1|c\nb:2|g\nbad line\nc:x|c'], { serverName: 'agg' });
    expect(out).toMatchObject({ 'agg.metrics': 2, 'agg.errors': 2, 'agg.unique_keys': 2 });
  });

  it('keeps full precision and counts beyond 2^32 (brubeck truncates both)', () => {
    const out = brubeck(['big:5000000000|c\npi:3.14159265358979|g']);
    expect(out).toMatchObject({ big: 5e9, pi: 3.14159265358979 });
  });

  it('custom percentiles name themselves like brubeck', () => {
    const out = brubeck([range('1..100').map((v) => `t:${v}|ms`).join('\n')], { percentiles: [0.5, 0.9] });
    expect(out).toMatchObject({ 't.percentile.50': 50, 't.percentile.90': 90 });
    expect(out['t.percentile.99']).toBeUndefined();
  });
});

describe('caps and expiry', () => {
  it('reservoir-samples past maxSamplesPerKey: counts, min, max and sum stay exact', () => {
    const agg = new Aggregator({ maxSamplesPerKey: 100 });
    const values = range('1..10000');
    agg.ingest(values.map((v) => `t:${v}|ms`).join('\n'));
    const [entry] = agg.snapshot();
    expect(entry).toMatchObject({ kind: 'timer', count: 10000 });
    expect(entry?.kind === 'timer' && entry.samples.length).toBe(100);
    const out = flushed(agg);
    expect(out).toMatchObject({ 't.count': 10000, 't.min': 1, 't.max': 10000, 't.sum': 50005000, 't.mean': 5000.5 });
    // An unbiased sample of 1..10000: the median lands near 5000, not near 100.
    expect(Math.abs(out['t.median']! - 5000)).toBeLessThan(1500);
  });

  it('drops and counts samples for new keys past maxKeys, keeps existing keys working', () => {
    const agg = new Aggregator({ maxKeys: 2 });
    const r = agg.ingest('a:1|c\nb:1|c\nc:1|c\na:1|c');
    expect(r).toEqual({ lines: 3, errors: 1 });
    expect(agg.stats).toMatchObject({ keys: 2, keysDropped: 1 });
    expect(flushed(agg)).toMatchObject({ a: 2, b: 1 });
  });

  it('drops and counts samples for new keys past maxKeyBytes, and frees the bytes of expired keys', () => {
    // Each key costs its name and tags plus one byte (the kind).
    const agg = new Aggregator({ maxKeyBytes: 12, expire: 20 });
    const r = agg.ingest('aaaaa:1|c\nbbbbb:1|c\nc:1|c\naaaaa:2|c');
    expect(r).toEqual({ lines: 3, errors: 1 });
    expect(agg.stats).toMatchObject({ keys: 2, keyBytes: 12, keysDropped: 1 });
    expect(flushed(agg, T)).toMatchObject({ aaaaa: 3, bbbbb: 1 });
    flushed(agg, T + 10);
    flushed(agg, T + 20); // both idle for 20 s: expired, their bytes freed
    expect(agg.stats).toMatchObject({ keys: 0, keyBytes: 0, keysExpired: 2 });
    expect(agg.ingest('c:1|c|#env:prod')).toEqual({ lines: 1, errors: 0 });
    expect(agg.stats.keyBytes).toBe('c;env=prod'.length + 1);
  });

  it('counts one long hostile name against maxKeyBytes, not just one key slot', () => {
    const agg = new Aggregator({ maxKeyBytes: 64 * 1024 });
    const long = (i: number) => `${'x'.repeat(8000)}${i}:1|ms`;
    for (let i = 0; i < 20; i++) agg.ingest(long(i));
    // 8 names of ~8 KB fit in 64 KiB; the other 12 are refused and counted.
    expect(agg.stats).toMatchObject({ keys: 8, keysDropped: 12, errors: 12 });
    expect(agg.stats.keyBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('caps distinct set members per interval at maxSetMembers and counts the rest', () => {
    const agg = new Aggregator({ maxSetMembers: 3 });
    agg.ingest(['u:a|s', 'u:b|s', 'u:c|s', 'u:d|s', 'u:a|s', 'u:e|s', 'v:z|s'].join('\n'));
    expect(agg.stats.membersDropped).toBe(2); // d and e; a was already counted
    expect(flushed(agg)).toMatchObject({ u: 3, v: 1 });
    agg.ingest('u:d|s'); // a new interval starts empty
    expect(flushed(agg)).toMatchObject({ u: 1 });
    expect(agg.stats.membersDropped).toBe(2);
  });

  it('rejects limits that are not integers >= 0', () => {
    expect(() => new Aggregator({ maxKeyBytes: -1 })).toThrow(/maxKeyBytes/);
    expect(() => new Aggregator({ maxSetMembers: 1.5 })).toThrow(/maxSetMembers/);
  });

  it('snapshot(key) gives the state of that stored key alone, as the full snapshot has it', () => {
    const agg = new Aggregator();
    agg.ingest('a:1|c\nt:5|ms\nt:7|ms\nc:2|g|#env:prod\nu:x|s');
    const all = agg.snapshot();
    for (const key of ['a', 't', 'c;env=prod', 'u']) expect(agg.snapshot(key)).toEqual(all.filter((k) => k.key === key));
    expect(agg.snapshot('t')).toEqual([{ key: 't', kind: 'timer', updated: true, count: 2, samples: [5, 7] }]);
    expect(agg.snapshot('t', { samples: false })).toEqual([{ key: 't', kind: 'timer', updated: true, count: 2, samples: [] }]);
    expect(agg.snapshot('c')).toEqual([]); // stored with its tags
    expect(agg.snapshot('missing')).toEqual([]);
    expect(() => agg.snapshot(5 as unknown as string)).toThrow(/key/);

    // etsy keeps one namespace per type: one entry per type of that name
    const etsy = new Aggregator({ convention: 'etsy' });
    etsy.ingest('x:1|c\nx:3|g\nx:4|ms');
    expect(etsy.snapshot('x').map((k) => k.kind)).toEqual(['counter', 'gauge', 'timer']);
  });

  it('expires idle keys after `expire` seconds and frees them', () => {
    const agg = new Aggregator({ expire: 20 });
    agg.ingest('idle:1|c\ngauge:5|g');
    flushed(agg, T);
    expect(flushed(agg, T + 10)).toMatchObject({ idle: 0, gauge: 5 });
    const later = flushed(agg, T + 20);
    expect(later.idle).toBeUndefined();
    expect(later.gauge).toBeUndefined();
    expect(agg.stats).toMatchObject({ keys: 0, keysExpired: 2 });
    agg.ingest('idle:3|c');
    expect(flushed(agg, T + 30).idle).toBe(3);
  });

  it('keeps other keys intact when expired keys are removed from the middle', () => {
    const agg = new Aggregator({ expire: 15 });
    agg.ingest(range('0..99').map((i) => `k${i}:1|c`).join('\n'));
    flushed(agg, T);
    agg.ingest(range('0..99').filter((i) => i % 3 === 0).map((i) => `k${i}:${i}|c`).join('\n'));
    flushed(agg, T + 10);
    const out = flushed(agg, T + 20);
    // keys not touched since T are gone; the rest report 0, then their updates land.
    expect(Object.keys(out).filter((k) => k.startsWith('k')).length).toBe(34);
    agg.ingest('k99:7|c\nk3:1|c');
    const after = flushed(agg, T + 21);
    expect(after.k99).toBe(7);
    expect(after.k3).toBe(1);
  });
});

describe('etsy convention', () => {
  const etsy = (packets: string[], options: AggregatorOptions = {}) =>
    brubeck(packets, { convention: 'etsy', flushInterval: 10000, ...options });

  it('counters: rate and count, C counted like c, sample rates scale', () => {
    const out = etsy(['a:1|c\na:2|c|@0.5\nb:10|C']);
    expect(out).toMatchObject({ 'stats.a': 0.5, 'stats_counts.a': 5, 'stats.b': 1, 'stats_counts.b': 10 });
  });

  it('timers: etsy stats and percentThreshold names, including top thresholds', () => {
    const out = etsy([range('1..10').map((v) => `t:${v}|ms`).join('\n')], { percentThreshold: [90, -20, 99.9] });
    expect(out).toMatchObject({
      'stats.timers.t.count': 10,
      'stats.timers.t.upper_90': 9,
      'stats.timers.t.mean_90': 5,
      'stats.timers.t.sum_90': 45,
      'stats.timers.t.lower_top20': 9,
      'stats.timers.t.sum_top20': 19,
      'stats.timers.t.count_99_9': 10,
      'stats.timers.t.median': 5.5,
      'stats.timers.t.lower': 1,
      'stats.timers.t.upper': 10,
      'stats.timers.t.sum_squares': 385,
    });
    expect(out['stats.timers.t.std']).toBeCloseTo(2.8722813232690143, 12);
  });

  it('histogram bins for matching timers, values above the last bin ignored', () => {
    const out = etsy(['api.lat:1:5:10:50:500|ms\nother:1|ms'], {
      histogram: [{ metric: 'api', bins: [2, 10.5, 100] }],
    });
    expect(out).toMatchObject({
      'stats.timers.api.lat.histogram.bin_2': 1,
      'stats.timers.api.lat.histogram.bin_10_5': 2,
      'stats.timers.api.lat.histogram.bin_100': 1,
    });
    expect(Object.keys(out).some((k) => k.startsWith('stats.timers.other.histogram'))).toBe(false);
  });

  it('rejects negative timings as bad lines, as statsd does', () => {
    const agg = new Aggregator({ convention: 'etsy' });
    expect(agg.ingest('t:-1|ms\nt:1|ms')).toEqual({ lines: 1, errors: 1 });
  });

  it('gauges, sets, separate namespaces per type and sanitized keys', () => {
    const out = etsy(['k:5|g\nk:1|c\nk:x|s\nk:+2|g\npath/with-dash.é:1|c']);
    expect(out).toMatchObject({
      'stats.gauges.k': 7,
      'stats_counts.k': 1,
      'stats.sets.k.count': 1,
      'stats_counts.path-with-dash.': 1,
    });
  });

  it('non-legacy namespace with prefixes and global suffix before tags', () => {
    const out = etsy(['c:2|c|#env:prod\ng:1|g\ns:a|s\nt:1|ms'], {
      legacyNamespace: false,
      globalPrefix: 'gp',
      prefixCounter: 'cnt',
      prefixGauge: 'gg',
      prefixSet: 'st',
      prefixTimer: 'tm',
      globalSuffix: 'sfx',
    });
    expect(out).toMatchObject({
      'gp.cnt.c.rate.sfx;env=prod': 0.2,
      'gp.cnt.c.count.sfx;env=prod': 2,
      'gp.gg.g.sfx': 1,
      'gp.st.s.count.sfx': 1,
      'gp.tm.t.count.sfx': 1,
      'gp.statsd.numStats.sfx': 7,
    });
  });

  it('internal counters and numStats', () => {
    const agg = new Aggregator({ convention: 'etsy' });
    agg.ingest('a:1|c\nbad');
    agg.ingest('b:1|g');
    const out = flushed(agg);
    expect(out).toMatchObject({
      'stats_counts.statsd.bad_lines_seen': 1,
      'stats_counts.statsd.packets_received': 2,
      'stats_counts.statsd.metrics_received': 3,
      'statsd.numStats': 5,
    });
    expect(flushed(agg, T + 10)['stats.gauges.statsd.timestamp_lag']).toBe(0);
  });

  it('deleteIdleStats drops idle keys after one report; gauges live gaugesMaxTTL flushes', () => {
    const agg = new Aggregator({ convention: 'etsy', deleteIdleStats: true, gaugesMaxTTL: 2 });
    agg.ingest('c:1|c\nt:1|ms\ns:a|s\ng:1|g');
    expect(Object.keys(flushed(agg))).toEqual(expect.arrayContaining(['stats_counts.c', 'stats.timers.t.count', 'stats.sets.s.count', 'stats.gauges.g']));
    const second = flushed(agg, T + 10);
    expect(second['stats_counts.c']).toBeUndefined();
    expect(second['stats.timers.t.count']).toBeUndefined();
    expect(second['stats.sets.s.count']).toBeUndefined();
    expect(second['stats.gauges.g']).toBe(1);
    expect(flushed(agg, T + 20)['stats.gauges.g']).toBeUndefined();
    expect(second['stats_counts.statsd.packets_received']).toBe(0);
  });
});

describe('output formats and options', () => {
  it('pickle: length-prefixed protocol-2 messages with the same datapoints', () => {
    const agg = new Aggregator();
    agg.ingest('a:1|c\nb:2.5|g');
    const { carbon, metrics } = agg.flush({ timestamp: T, format: 'pickle' });
    expect(metrics).toBe(5);
    expect(carbon.readUInt32BE(0)).toBe(carbon.length - 4);
    expect(carbon.subarray(4, 6)).toEqual(Buffer.from([0x80, 0x02]));
    expect(carbon.includes(Buffer.from('Xb'))).toBe(false); // names are length-prefixed
    expect(carbon.indexOf('a')).toBeGreaterThan(0);
    expect(carbon.at(-1)).toBe(0x2e); // STOP
  });

  it('validates options in one message format', () => {
    expect(() => new Aggregator({ convention: 'graphite' as 'etsy' })).toThrow(
      "Expected one of 'brubeck', 'etsy' for convention but received string \"graphite\"",
    );
    expect(() => new Aggregator({ percentiles: [1.5] })).toThrow(/percentiles/);
    expect(() => new Aggregator({ expire: -1 })).toThrow(/expire/);
  });

  it('counts bad lines by reason and keeps the good ones', () => {
    const agg = new Aggregator();
    expect(agg.ingest('a:1|c\na b:1|c\nb:1|q\nc:2|g')).toEqual({ lines: 2, errors: 2 });
    expect(agg.stats).toMatchObject({ packets: 1, lines: 2, errors: 2, byReason: { bad_name: 1, bad_type: 1 } });
  });
});
