// The aggregation engine under the attacks of issue [1/7] (docs/reliability.md
// F13-F16): whatever the lines, no value carbon cannot store leaves a flush,
// no name carbon cannot read reaches one, tags never split a series, and one
// interval's memory is bounded over all keys. Each loss is counted.
import { describe, expect, it } from 'vitest';

import { Aggregator, StatsdError } from '../src';

const T = 1_700_000_000;

function lines(agg: Aggregator, timestamp = T): string[] {
  return agg.flush({ timestamp }).carbon.toString().split('\n').filter(Boolean);
}

function values(agg: Aggregator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines(agg)) {
    const [name, value] = line.split(' ');
    out[name!] = Number(value);
  }
  return out;
}

describe('no NaN or infinity leaves a flush (F14)', () => {
  it.each(['brubeck', 'etsy'] as const)('rates whose reciprocal overflows are bad_rate (%s)', (convention) => {
    const agg = new Aggregator({ convention });
    const r = agg.ingest('x:0|c|@5e-324\nx:1|c|@1e-320\nt:1|ms|@5e-324\nok:1|c|@1e-308');
    expect(r).toEqual({ lines: 1, errors: 3 });
    expect(agg.stats.byReason.bad_rate).toBe(3);
    for (const line of lines(agg)) expect(line, line).not.toMatch(/NaN|Infinity/);
  });

  it.each(['brubeck', 'etsy'] as const)('aggregates that overflow are not written but counted (%s)', (convention) => {
    const agg = new Aggregator({ convention });
    // each value is finite; their sum, a scaled count or a square is not
    agg.ingest('sum:1e308|c\nsum:1e308|c\nscaled:1e300|c|@1e-10\nsq:1e200|ms\nfine:1|c');
    const out = lines(agg);
    for (const line of out) expect(line, line).not.toMatch(/NaN|Infinity|inf/i);
    expect(out.some((l) => /(^|\.)fine(\.count)? 1 /.test(l) || /stats_counts\.fine 1 /.test(l))).toBe(true);
    expect(agg.stats.nonfiniteDropped).toBeGreaterThanOrEqual(convention === 'brubeck' ? 2 : 4);
  });

  it('a flush timestamp past what whisper stores is a StatsdError, not a wrapped number', () => {
    const agg = new Aggregator();
    for (const timestamp of [1e300, 2 ** 32, -1, 1.5]) {
      expect(() => agg.flush({ timestamp }), String(timestamp)).toThrow(StatsdError);
    }
    agg.ingest('a:1|c');
    expect(agg.flush({ timestamp: 2 ** 32 - 1 }).carbon.toString()).toContain('a 1 4294967295\n');
  });

  it('pickle writes timestamps after 2038 as whole numbers, not wrapped to negative', () => {
    const agg = new Aggregator();
    agg.ingest('a:1|c');
    const late = 2 ** 31 + 5; // 2038-01-19T03:14:13Z
    const pickle = agg.flush({ timestamp: late, format: 'pickle' }).carbon;
    // LONG1 (0x8a), 8 bytes little-endian
    const at = pickle.indexOf(Buffer.from([0x8a, 0x08]));
    expect(at).toBeGreaterThan(0);
    expect(pickle.readBigInt64LE(at + 2)).toBe(BigInt(late));
    // and before 2038 the 4-byte BININT as before
    agg.ingest('a:1|c');
    const early = agg.flush({ timestamp: T, format: 'pickle' }).carbon;
    expect(early.indexOf(Buffer.from([0x4a, ...Buffer.from(new Int32Array([T]).buffer)]))).toBeGreaterThan(0);
  });
});

describe('names carbon cannot read never reach a carbon line (F13)', () => {
  const bad = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(':1|c\n')]);

  it.each(['brubeck', 'etsy'] as const)('a name that is not UTF-8 is bad_encoding and the keys beside it flush (%s)', (convention) => {
    const agg = new Aggregator({ convention });
    agg.ingest(Buffer.concat([Buffer.from('before:1|c\n'), bad, Buffer.from('after:1|c\nt:1|c|#k:'), Buffer.from([0xff]), Buffer.from('\n')]));
    expect(agg.stats.byReason.bad_encoding).toBe(2);
    const out = lines(agg).join('\n');
    expect(out).toMatch(/before/);
    expect(out).toMatch(/after/);
    expect(Buffer.from(out).equals(Buffer.from(Buffer.from(out).toString('utf8')))).toBe(true);
  });

  it('brubeck refuses a name or tag holding a Unicode space carbon would split the line at', () => {
    const agg = new Aggregator();
    agg.ingest('a\u00a0b:1|c\nc\u3000d:1|c\ne:1|c|#k:v\u2028w\nok\u00e9:1|c');
    expect(agg.stats.byReason.bad_name).toBe(3);
    expect(Object.keys(values(agg))).toContain('ok\u00e9');
  });

  it('etsy turns the same Unicode spaces into "_" as etsy statsd does, so nothing is lost', () => {
    const agg = new Aggregator({ convention: 'etsy' });
    agg.ingest('a\u00a0b:1|c');
    expect(agg.stats.errors).toBe(0);
    expect(values(agg)['stats_counts.a_b']).toBe(1);
  });
});

describe('tags are one series whatever their order (F15)', () => {
  it.each([
    ['brubeck', 'a;az=1;env=prod'],
    ['etsy', 'stats_counts.a;az=1;env=prod'],
  ] as const)('order and repeats of tags make one key (%s)', (convention, name) => {
    const agg = new Aggregator({ convention });
    agg.ingest('a:5|c|#az:1,env:prod\na:7|c|#env:prod,az:1\na:1|c|#env:prod,az:1,env:prod');
    expect(agg.stats.keys).toBe(1);
    expect(values(agg)[name]).toBe(13);
  });

  it('a tag name given twice keeps its last value, as Graphite does', () => {
    const agg = new Aggregator();
    agg.ingest('a:1|c|#env:dev,env:prod\na:2|c|#env:prod');
    expect(values(agg)).toMatchObject({ 'a;env=prod': 3 });
  });
});

describe('one interval stores a bounded number of samples and members over all keys (F16)', () => {
  it('past maxIntervalSamples timers stop storing, keep exact totals and count what was not stored', () => {
    const agg = new Aggregator({ maxIntervalSamples: 1000 });
    // 21 keys of multi-value lines, 100 samples each per line, 10 lines each
    const samples = Array.from({ length: 100 }, () => '1').join(':');
    for (let round = 0; round < 10; round++) {
      agg.ingest(Array.from({ length: 21 }, (_, k) => `t${k}:${samples}|ms`).join('\n'));
    }
    const stored = agg.snapshot().reduce((n, e) => n + (e.kind === 'timer' ? e.samples.length : 0), 0);
    expect(stored).toBe(1000);
    expect(agg.stats.samplesNotStored).toBe(21 * 1000 - 1000);
    const out = values(agg);
    for (let k = 0; k < 21; k++) expect(out[`t${k}.count`]).toBe(1000); // every sample counted
    expect(out['t0.sum']).toBe(1000);
    // the next interval stores again
    agg.ingest('t0:2|ms');
    expect(values(agg)['t0.median']).toBe(2);
  });

  it('past maxIntervalMembers new set members are dropped and counted', () => {
    const agg = new Aggregator({ maxIntervalMembers: 50 });
    agg.ingest(Array.from({ length: 40 }, (_, i) => `s1:m${i}|s\ns2:m${i}|s`).join('\n'));
    expect(agg.stats.membersDropped).toBe(30);
    const out = values(agg);
    expect(out.s1! + out.s2!).toBe(50);
  });
});
