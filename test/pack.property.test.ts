// Properties of pack and formatLine on seeded random metrics: packets within the
// limit, split only at '\n', nothing lost; format -> parse gives the metric back.
import { describe, expect, test } from 'vitest';

import { type Metric, type MetricInput, StatsdError, formatLine, pack, parse, parseLine } from '../src';
import { expectedParse, metricKey } from './helpers/expected-metrics';
import { Random, randomMetric } from './helpers/random';

/**
 * A random metric for the packing properties. Relative gauges of -0 are left
 * out here: they hit a known formatting bug pinned on its own below.
 */
function metricForPacking(r: Random): MetricInput {
  for (;;) {
    const m = randomMetric(r);
    if (!(m.type === 'g' && m.relative === true && Object.is(m.value, -0))) return m;
  }
}

describe('pack', () => {
  const RUNS = 600;

  test(`${RUNS} random metric sets: within maxPacketBytes, split at '\\n', nothing lost`, () => {
    const r = new Random(0x9ac4);
    const stats = { metrics: 0, packets: 0, dropped: 0, multiPacket: 0 };
    for (let run = 0; run < RUNS; run++) {
      const count = r.int(1, 80);
      const metrics = Array.from({ length: count }, () => metricForPacking(r));
      // small limits split often; large ones keep many lines per packet
      const maxPacketBytes = r.bool(0.7) ? r.int(20, 200) : r.int(20, 9000);
      const trailingNewline = r.bool(0.3);
      const tail = trailingNewline ? 1 : 0;
      const label = `run ${run}: maxPacketBytes ${maxPacketBytes}, trailingNewline ${trailingNewline}`;

      const units = metrics.map((m) => formatLine(m));
      const fits = units.map((u) => Buffer.byteLength(u) + tail <= maxPacketBytes);
      // dropped counts lines: a negative gauge that cannot fit is two
      const wantDropped = units.reduce((n, u, i) => (fits[i] ? n : n + u.split('\n').length), 0);

      const packets = pack(metrics, { maxPacketBytes, trailingNewline, oversize: 'drop' });
      expect(packets.dropped, label).toBe(wantDropped);

      // every packet within the limit, non-empty, and (with trailingNewline) ending in '\n'
      for (const p of packets) {
        expect(p.length, label).toBeLessThanOrEqual(maxPacketBytes);
        expect(p.length, label).toBeGreaterThan(tail);
        if (trailingNewline) expect(p[p.length - 1], label).toBe(0x0a);
        else expect(p[p.length - 1], label).not.toBe(0x0a);
      }
      // split only at '\n': the packets put back together are the kept lines, in order
      const kept = units.filter((_, i) => fits[i]);
      const joined = trailingNewline
        ? Buffer.concat(packets).toString('utf8')
        : packets.map((p) => p.toString('utf8')).join('\n');
      expect(joined, label).toBe(trailingNewline ? kept.map((u) => u + '\n').join('') : kept.join('\n'));
      // each packet holds whole lines, and none was closed while the next line still fitted
      let next = 0;
      packets.forEach((p, i) => {
        const text = trailingNewline ? p.toString('utf8').slice(0, -1) : p.toString('utf8');
        let acc = kept[next++]!;
        while (Buffer.byteLength(acc) < Buffer.byteLength(text) && next < kept.length) acc += '\n' + kept[next++];
        expect(acc, `${label}: packet ${i}`).toBe(text);
        if (next < kept.length) {
          const room = p.length + 1 + Buffer.byteLength(kept[next]!);
          expect(room, `${label}: packet ${i} closed before a line that fitted`).toBeGreaterThan(maxPacketBytes);
        }
      });
      expect(next, label).toBe(kept.length);

      // parse back every packet: no bad line, and the same multiset of metrics
      const got: Metric[] = [];
      for (const p of packets) {
        const batch = parse(p);
        expect(batch.errors.examples, label).toEqual([]);
        got.push(...batch);
      }
      const want = metrics.filter((_, i) => fits[i]).flatMap(expectedParse);
      expect(got.map(metricKey).sort(), label).toEqual(want.map(metricKey).sort());
      expect(got.map(metricKey), `${label}: order`).toEqual(want.map(metricKey));

      // oversize 'throw' (the default) throws exactly when a line was dropped
      if (wantDropped > 0) {
        expect(() => pack(metrics, { maxPacketBytes, trailingNewline }), label).toThrowError(
          expect.objectContaining({ code: 'ERR_STATSD_TOO_LONG' }),
        );
      } else {
        expect(pack(metrics, { maxPacketBytes, trailingNewline }).length, label).toBe(packets.length);
      }
      stats.metrics += count;
      stats.packets += packets.length;
      stats.dropped += packets.dropped;
      if (packets.length > 1) stats.multiPacket++;
    }
    // the random limits must really split, drop and keep
    expect(stats.multiPacket).toBeGreaterThan(RUNS / 2);
    expect(stats.dropped).toBeGreaterThan(100);
    expect(stats.dropped).toBeLessThan(stats.metrics / 2);
  });

  test('5000 metrics in one call (the shared columns grow) and none at all', () => {
    const r = new Random(0x5000);
    const metrics = Array.from({ length: 5000 }, () => metricForPacking(r));
    const packets = pack(metrics, { oversize: 'drop' });
    expect(packets.dropped).toBe(0);
    expect(packets.every((p) => p.length <= 1432)).toBe(true);
    const got = packets.flatMap((p) => parse(p).toArray());
    expect(got.map(metricKey)).toEqual(metrics.flatMap(expectedParse).map(metricKey));
    // a smaller call after the big one reuses the grown columns correctly
    expect(pack([{ name: 'after', type: 'c', value: 2 }]).map(String)).toEqual(['after:2|c']);
    const none = pack([]);
    expect([none.length, none.dropped]).toEqual([0, 0]);
  });

  test('a line exactly at the limit is kept, one byte over is dropped', () => {
    const m: MetricInput = { name: 'abc', type: 'c', value: 1 }; // "abc:1|c" = 7 bytes
    expect(pack([m], { maxPacketBytes: 7 }).map(String)).toEqual(['abc:1|c']);
    const over = pack([m], { maxPacketBytes: 6, oversize: 'drop' });
    expect([over.length, over.dropped]).toEqual([0, 1]);
    expect(pack([m], { maxPacketBytes: 8, trailingNewline: true }).map(String)).toEqual(['abc:1|c\n']);
    expect(pack([m], { maxPacketBytes: 7, trailingNewline: true, oversize: 'drop' }).dropped).toBe(1);
    // two lines of 7 need 15 bytes in one packet
    expect(pack([m, m], { maxPacketBytes: 15 }).map(String)).toEqual(['abc:1|c\nabc:1|c']);
    expect(pack([m, m], { maxPacketBytes: 14 }).map(String)).toEqual(['abc:1|c', 'abc:1|c']);
  });

  test('the 0 and -N lines of a negative gauge stay in one packet or are dropped together', () => {
    const g: MetricInput = { name: 'g', type: 'g', value: -5 }; // "g:0|g\ng:-5|g" = 12 bytes
    expect(pack([g], { maxPacketBytes: 12 }).map(String)).toEqual(['g:0|g\ng:-5|g']);
    const cut = pack([g], { maxPacketBytes: 11, oversize: 'drop' });
    expect([cut.length, cut.dropped]).toEqual([0, 2]); // two lines, dropped together
  });

  test('multi-byte names count in bytes', () => {
    const m: MetricInput = { name: '日本', type: 'c', value: 1 }; // 6 + 4 = 10 bytes, 6 characters
    expect(pack([m], { maxPacketBytes: 10 }).length).toBe(1);
    expect(pack([m], { maxPacketBytes: 9, oversize: 'drop' }).dropped).toBe(1);
  });
});

describe('formatLine -> parse round trip', () => {
  /** Formats `m`, parses the text back and compares with expectedParse; "" when equal. */
  function roundTrip(m: MetricInput): string {
    const text = formatLine(m);
    const want = expectedParse(m);
    const got = want.length === 1 ? [parseLine(text)] : parse(text).toArray();
    if (got.length === want.length && got.every((g, i) => metricKey(g) === metricKey(want[i]!))) return '';
    return `${JSON.stringify(text)}: want ${want.map(metricKey).join(' ')} got ${got.map(metricKey).join(' ')}`;
  }

  test('20k random metrics of every type come back bit for bit', () => {
    const r = new Random(0xf0a7);
    const problems: string[] = [];
    const types = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const m = metricForPacking(r);
      types.add(m.type);
      const problem = roundTrip(m);
      if (problem !== '' && problems.length < 10) problems.push(problem);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect([...types].sort()).toEqual(['C', 'c', 'd', 'g', 'h', 'ms', 's']);
  });

  const EDGE_VALUES = [
    5e-324, -5e-324, 1e21, -1e21, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
    2.225073858507201e-308, 1e-7, 1e-6, 9.999999999999999e-7, 1e20, 999999999999999900000, 0.1, 0.30000000000000004,
    1 / 3, 2 ** 53, 2 ** 53 + 2, 1.2345678901234567e20, 2 ** 60, 123456789, 1.5, -273.15, 0, -0,
  ];

  test.each(['c', 'C', 'g', 'ms', 'h', 'd'] as const)('edge values of type %s', (type) => {
    for (const value of EDGE_VALUES) {
      expect(roundTrip({ name: 'edge.value', type, value }), String(value)).toBe('');
      expect(roundTrip({ name: 'edge.rate', type, value, sampleRate: 1 / 3, tags: ['a:b'], timestamp: 999_999_999_999 })).toBe('');
      if (type === 'g' && !Object.is(value, -0)) {
        expect(roundTrip({ name: 'edge.rel', type, value, relative: true }), String(value)).toBe('');
      }
    }
  });

  test('-0 comes back as 0, and 5e-324 / 1e21 / MAX_VALUE bit-identical', () => {
    expect(Object.is(parseLine(formatLine({ name: 'z', type: 'ms', value: -0 })).value, 0)).toBe(true);
    expect(Object.is(parseLine(formatLine({ name: 'z', type: 'g', value: -0 })).value, 0)).toBe(true);
    for (const v of [5e-324, 1e21, 1.7976931348623157e308]) {
      expect(Object.is(parseLine(formatLine({ name: 'z', type: 'h', value: v })).value, v)).toBe(true);
    }
    // the smallest rates whose reciprocal is finite come back too; smaller ones
    // would scale a count to Infinity (or 0 to NaN), so neither side takes them
    expect(Object.is(parseLine(formatLine({ name: 'z', type: 'c', value: 1, sampleRate: 1e-308 })).sampleRate, 1e-308)).toBe(true);
    expect(() => formatLine({ name: 'z', type: 'c', value: 1, sampleRate: 5e-324 })).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_RATE' }));
    expect(() => parseLine('z:0|c|@5e-324')).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_RATE' }));
  });

  test('set members come back as written, ":" and spaces included', () => {
    for (const member of ['a', 'a:b:c', 'user 42', '😀', '@x', '#y', '-5', '1e3', '0']) {
      expect(parseLine(formatLine({ name: 'users', type: 's', value: member }))).toEqual({
        name: 'users', type: 's', value: member, relative: false, sampleRate: 1, tags: [],
      });
    }
  });

  // Regression: a relative gauge of -0 (a no-op change) was written "x:0|g",
  // which every server reads as "set the gauge to 0".
  test('a relative gauge of -0 stays relative', () => {
    const text = formatLine({ name: 'x', type: 'g', value: -0, relative: true });
    expect(text).toMatch(/^x:[+-]0\|g$/);
    const back = parseLine(text);
    expect(back.relative).toBe(true);
    expect(back.value).toBe(0);
  });

  // Regression: numbers from about 2^54 to 1e21 printed their exact binary
  // expansion (123456789012345667584), not JavaScript's shortest text
  // (123456789012345670000), as printf("%.0f") does (DESIGN §4).
  test('numbers print as JavaScript prints them (shortest digits)', () => {
    const r = new Random(0x57);
    const values = [...EDGE_VALUES];
    for (let i = 0; i < 5000; i++) {
      const m = randomMetric(r);
      if (typeof m.value === 'number') values.push(m.value);
    }
    const wrong: string[] = [];
    for (const value of values) {
      const text = formatLine({ name: 'n', type: 'c', value }).slice('n:'.length, -'|c'.length);
      if (text !== String(value) && wrong.length < 8) wrong.push(`${String(value)} printed as ${text}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});

// Regression: a '\n' that ends a tag or a name shifted the '\n'-separated string
// segments src/codec/serialize.ts hands to native, so the error named the next,
// valid metric, and sanitize: true threw instead of replacing the newline.
describe('a newline at the end of a tag or a name', () => {
  const ok: MetricInput = { name: 'ok', type: 'c', value: 1 };

  test('is blamed on the metric that holds it', () => {
    expect(() => pack([{ name: 'a', type: 'c', value: 1, tags: ['x\n'] }, ok])).toThrowError(
      expect.objectContaining({ code: 'ERR_STATSD_BAD_TAG', message: expect.stringContaining('metric 0 ("a")') }),
    );
    expect(() => pack([{ name: 'a\n', type: 'c', value: 1 }, ok])).toThrowError(
      expect.objectContaining({ code: 'ERR_STATSD_BAD_NAME', message: expect.stringContaining('metric 0') }),
    );
  });

  test('is replaced by "_" with sanitize: true, as a newline inside one is', () => {
    expect(pack([{ name: 'a', type: 'c', value: 1, tags: ['x\ny'] }, ok], { sanitize: true }).map(String)).toEqual([
      'a:1|c|#x_y\nok:1|c',
    ]);
    expect(pack([{ name: 'a', type: 'c', value: 1, tags: ['x\n'] }, ok], { sanitize: true }).map(String)).toEqual([
      'a:1|c|#x_\nok:1|c',
    ]);
    expect(pack([{ name: 'a\n', type: 'c', value: 1 }, ok], { sanitize: true }).map(String)).toEqual(['a_:1|c\nok:1|c']);
  });
});

test('pack rejects what it cannot write instead of sending it half-formed', () => {
  expect(() => pack([{ name: 'a b', type: 'c', value: 1 }])).toThrow(StatsdError);
  expect(() => pack([{ name: 'a', type: 'c', value: Number.NaN }])).toThrow(StatsdError);
  expect(() => pack([{ name: 'a', type: 'c', value: 1, sampleRate: 0 }])).toThrow(StatsdError);
  expect(() => pack([{ name: 'a', type: 'c', value: 1, tags: ['x,y'] }])).toThrow(StatsdError);
});
