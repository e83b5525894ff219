// Properties of the public codec (DESIGN.md §4) on fast-check arbitraries:
// formatLine writes the canonical text and parsing it gives the metric back,
// pack keeps every packet within its limit and loses nothing silently, and the
// native parser survives any bytes and agrees with the reference parser.

import * as fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import {
  type Dialect,
  METRIC_TYPES,
  type Metric,
  type MetricInput,
  type ParseReason,
  StatsdError,
  formatLine,
  pack,
  parse,
  parseLine,
} from '../src';
import { type ReferenceResult, parseLineReference } from '../src/codec/reference';
import { expectedParse, metricKey } from './helpers/expected-metrics';

// ---------------------------------------------------------------- arbitraries

// Name bytes (DESIGN §4): printable ASCII but ':' and '|' (no space, no
// control), any UTF-8 character beyond ASCII; a name must not end in '.'.
// Alternatives are picked evenly, so ASCII, '.' and wide characters all show up.
const ASCII = '[\\x21-\\x39\\x3b-\\x7b\\x7d\\x7e]';
const ASCII_NOT_DOT = '[\\x21-\\x2d\\x2f-\\x39\\x3b-\\x7b\\x7d\\x7e]';
/** Every character beyond ASCII but lone surrogates (which have no UTF-8). */
const WIDE = `[\\u0080-\\ud7ff\\ue000-\\uffff${String.fromCodePoint(0x10000)}-${String.fromCodePoint(0x10ffff)}]`;
const nameArb = fc.stringMatching(
  new RegExp(`^(?:${ASCII}|${ASCII}|\\.|${WIDE}){0,30}(?:${ASCII_NOT_DOT}|${WIDE})$`, 'u'),
);
// A tag: no control, space, ',' or '|'; ':' is common (`env:prod`).
const TAG_ASCII = '[\\x21-\\x2b\\x2d-\\x7b\\x7d\\x7e]';
const tagArb = fc.stringMatching(new RegExp(`^(?:${TAG_ASCII}|${TAG_ASCII}|:|${WIDE}){1,12}$`, 'u'));
// A set member: raw text up to '|', so spaces and ':' are fine; no control.
const MEMBER_ASCII = '[\\x20-\\x7b\\x7d\\x7e]';
const memberArb = fc.stringMatching(new RegExp(`^(?:${MEMBER_ASCII}|${MEMBER_ASCII}|${WIDE}){1,16}$`, 'u'));

/** Finite doubles: any bit pattern (subnormals, huge), whole numbers, decimals and edge values. */
const valueArb = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
  fc.constantFrom(0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-7, 1e-6, 0.1, 1 / 3, 2 ** 53, 2 ** 53 + 2,
    1.2345678901234567e20, 1e21, -1e21, 1.7976931348623157e308, -1.7976931348623157e308),
);
/** Sample rates in (0, 1], 1 often (it is left off the wire). */
const rateArb = fc.oneof(
  fc.constant(1),
  fc.double({ min: 1e-308, max: 1, noNaN: true }), // smaller ones' reciprocals overflow: bad_rate
  fc.constantFrom(0.5, 0.1, 0.01, 1 / 3, 1e-308, 0.9999999999999999),
);
const timestampArb = fc.integer({ min: 1, max: 999_999_999_999 });

/** A metric the serializer must accept; optional parts are left out at random. */
const metricArb: fc.Arbitrary<MetricInput> = fc.constantFrom(...METRIC_TYPES).chain((type) =>
  fc.record(
    {
      name: nameArb,
      type: fc.constant(type),
      value: type === 's' ? memberArb : valueArb,
      // `relative` means something for gauges only (a '+'/'-' change)
      ...(type === 'g' ? { relative: fc.boolean() } : {}),
      sampleRate: rateArb,
      tags: fc.array(tagArb, { maxLength: 4 }),
      timestamp: timestampArb,
    },
    { requiredKeys: ['name', 'type', 'value'] },
  ),
);

// ---------------------------------------------------------------- expectations

/** JavaScript's shortest notation, which the serializer promises (native/number.h); -0 prints "0". */
function numberText(v: number): string {
  return v === 0 ? '0' : String(v);
}

/** The line(s) formatLine must write for `m`, built from DESIGN §4 alone. */
function canonicalText(m: MetricInput): string {
  const suffix =
    `|${m.type}` +
    (m.sampleRate !== undefined && m.sampleRate !== 1 ? `|@${numberText(m.sampleRate)}` : '') +
    (m.tags !== undefined && m.tags.length > 0 ? `|#${m.tags.join(',')}` : '') +
    (m.timestamp !== undefined ? `|T${m.timestamp}` : '');
  const v = m.value;
  if (typeof v === 'string') return `${m.name}:${v}${suffix}`;
  // a relative gauge always carries a sign, "+0" for a change of -0 too
  if (m.type === 'g' && m.relative === true) return `${m.name}:${v < 0 ? '' : '+'}${numberText(v)}${suffix}`;
  // a negative absolute gauge: "0" first, so "-N" is not read as a decrement
  if (m.type === 'g' && v < 0) return `${m.name}:0${suffix}\n${m.name}:${numberText(v)}${suffix}`;
  return `${m.name}:${numberText(v)}${suffix}`;
}

// ---------------------------------------------------------------- a. format -> parse

describe('formatLine -> parseLine', () => {
  // Every metric is written as DESIGN §4's canonical text (shortest numbers, a
  // sign on relative gauges, `0|g` before a negative absolute gauge), and each
  // line reads back, natively and by the reference parser, bit for bit.
  test('gives the metric back, as the canonical text', () => {
    const seen = { types: new Set<string>(), twoLines: 0, relative: 0, tagged: 0, rated: 0, stamped: 0 };
    fc.assert(
      fc.property(metricArb, (m) => {
        const text = formatLine(m);
        expect(text).toBe(canonicalText(m));
        const lines = text.split('\n');
        const want = expectedParse(m);
        expect(lines.length).toBe(want.length);
        lines.forEach((line, i) => {
          expect(metricKey(parseLine(line))).toBe(metricKey(want[i]!));
          const ref = parseLineReference(line);
          expect(ref.ok ? ref.metrics.map(metricKey) : ref.reason).toEqual([metricKey(want[i]!)]);
          // what brubeck understands reads the same in the brubeck dialect
          if (!['s', 'd'].includes(m.type) && !m.tags?.length && m.timestamp === undefined) {
            expect(metricKey(parseLine(line, { dialect: 'brubeck' }))).toBe(metricKey(want[i]!));
          }
        });
        seen.types.add(m.type);
        if (lines.length === 2) seen.twoLines++;
        if (m.relative) seen.relative++;
        if (m.tags?.length) seen.tagged++;
        if ((m.sampleRate ?? 1) !== 1) seen.rated++;
        if (m.timestamp !== undefined) seen.stamped++;
      }),
      { seed: 0x0c0de1, numRuns: 3000 },
    );
    // the arbitrary reached every shape
    expect([...seen.types].sort()).toEqual(['C', 'c', 'd', 'g', 'h', 'ms', 's']);
    for (const n of [seen.twoLines, seen.relative, seen.tagged, seen.rated, seen.stamped]) expect(n).toBeGreaterThan(20);
  });
});

// ---------------------------------------------------------------- b. pack

describe('pack', () => {
  // Packets never exceed maxPacketBytes, hold whole formatted metrics (a negative
  // gauge's two lines together), are filled greedily, and parse back to exactly
  // the metrics that fitted, in order; every line that did not fit is counted in
  // `dropped`, and with oversize 'throw' (the default) pack throws too_long instead.
  test('packets within maxPacketBytes, split at line ends, nothing lost uncounted', () => {
    const seen = { multiPacket: 0, dropping: 0, keeping: 0 };
    const packArb = fc.record({
      metrics: fc.array(metricArb, { maxLength: 30 }),
      maxPacketBytes: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 5000 })),
      trailingNewline: fc.boolean(),
    });
    fc.assert(
      fc.property(packArb, ({ metrics, maxPacketBytes, trailingNewline }) => {
        const tail = trailingNewline ? 1 : 0;
        const units = metrics.map(canonicalText);
        const fits = units.map((u) => Buffer.byteLength(u) + tail <= maxPacketBytes);
        const kept = units.filter((_, i) => fits[i]);
        // dropped counts lines: a negative gauge that cannot fit is two
        const wantDropped = units.reduce((n, u, i) => (fits[i] ? n : n + u.split('\n').length), 0);

        const packets = pack(metrics, { maxPacketBytes, trailingNewline, oversize: 'drop' });
        expect(packets.dropped).toBe(wantDropped);

        let next = 0;
        for (const p of packets) {
          expect(p.length).toBeLessThanOrEqual(maxPacketBytes);
          if (trailingNewline) expect(p[p.length - 1]).toBe(0x0a);
          const text = p.subarray(0, p.length - tail).toString('utf8');
          // the packet is the next few whole units, at least one, joined by '\n'
          let count = 0;
          let acc = '';
          while (next < kept.length && Buffer.byteLength(acc) < Buffer.byteLength(text)) {
            acc += (count++ > 0 ? '\n' : '') + kept[next++];
          }
          expect(count).toBeGreaterThan(0);
          expect(acc).toBe(text);
          // greedy: it was closed only because the next unit did not fit
          if (next < kept.length) {
            expect(p.length + 1 + Buffer.byteLength(kept[next]!)).toBeGreaterThan(maxPacketBytes);
          }
        }
        expect(next).toBe(kept.length);

        // parsing every packet gives exactly the metrics that fitted, in order
        const got: Metric[] = [];
        for (const p of packets) {
          const batch = parse(p);
          expect(batch.errors.total).toBe(0);
          got.push(...batch);
        }
        expect(got.map(metricKey)).toEqual(metrics.filter((_, i) => fits[i]).flatMap(expectedParse).map(metricKey));

        // oversize 'throw' throws exactly when a line would be dropped
        if (wantDropped > 0) {
          let error: unknown;
          try {
            pack(metrics, { maxPacketBytes, trailingNewline });
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(StatsdError);
          expect((error as StatsdError).code).toBe('ERR_STATSD_TOO_LONG');
        } else {
          const again = pack(metrics, { maxPacketBytes, trailingNewline });
          expect(again.map(String)).toEqual(packets.map(String));
          expect(again.dropped).toBe(0);
        }
        if (packets.length > 1) seen.multiPacket++;
        if (wantDropped > 0) seen.dropping++;
        if (kept.length > 0) seen.keeping++;
      }),
      { seed: 0x9ac4e, numRuns: 1000 },
    );
    // the limits really split, drop and keep
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(40);
  });
});

// ---------------------------------------------------------------- c. parse any bytes

// Decimal texts: the grammar's shapes (signs, '.5', '1.', exponents, some
// overflowing) and the shortest text of any double.
const numberTextArb = fc.oneof(
  fc.stringMatching(/^[+-]?(\d{1,6}(\.\d{0,6})?|\.\d{1,6})([eE][+-]?\d{1,3})?$/),
  valueArb.map(String),
);
const fieldArb = fc.oneof(
  rateArb.map((r) => `@${r}`),
  fc.stringMatching(/^@(0?\.\d{1,4}|1(\.0{0,3})?|\d(\.\d)?)$/), // some are 0 or over 1: bad_rate
  fc.array(tagArb, { minLength: 1, maxLength: 3 }).map((tags) => `#${tags.join(',')}`),
  timestampArb.map((t) => `T${t}`),
  fc.stringMatching(/^[A-Za-z]{1,4}:[a-z0-9:#]{0,8}$/), // extension fields (`c:abc`), ignored
);
/** A line of the full grammar (a few overflow, repeat a field or are not brubeck's). */
const fullLineArb = fc
  .record({
    name: nameArb,
    type: fc.constantFrom('c', 'C', 'g', 'ms', 'h', 's', 'd'),
    values: fc.oneof(
      { arbitrary: fc.array(numberTextArb, { minLength: 1, maxLength: 1 }), weight: 4 },
      { arbitrary: fc.array(numberTextArb, { minLength: 2, maxLength: 4 }), weight: 1 },
    ),
    member: memberArb,
    fields: fc.array(fieldArb, { maxLength: 3 }),
    cr: fc.boolean(),
  })
  .map(({ name, type, values, member, fields, cr }) => {
    const value = type === 's' ? member : values.join(':');
    return `${name}:${value}|${[type, ...fields].join('|')}${cr ? '\r' : ''}`;
  });
/** A line brubeck accepts too: one number, a type of its own, at most a rate. */
const brubeckLineArb = fc
  .record({
    name: nameArb,
    value: numberTextArb,
    type: fc.constantFrom('c', 'C', 'g', 'ms', 'h'),
    rate: fc.option(rateArb.map((r) => `|@${r}`), { nil: '' }),
  })
  .map(({ name, value, type, rate }) => `${name}:${value}|${type}${rate}`);
const validLineArb = fc.oneof(fullLineArb, brubeckLineArb).map((line) => Buffer.from(line, 'utf8'));

// Mutations insert, delete or replace a byte, mostly one that means something
// in a line (separators, field markers, number bytes), sometimes a control, a
// '\r' or a byte of (broken) UTF-8; a '\n' splits the line in two.
const MUTATION_BYTES = [
  ...[...':|@#,\n0123456789.+-eET \r'].map((c) => c.charCodeAt(0)),
  0x00, 0x7f, 0x80, 0xc3, 0xff,
];
const mutationArb = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  byte: fc.constantFrom(...MUTATION_BYTES),
});
const nearValidLineArb = fc
  .tuple(
    validLineArb,
    fc.oneof(
      { arbitrary: fc.constant([]), weight: 1 },
      { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), weight: 2 },
    ),
  )
  .map(([line, mutations]) => {
    let bytes = line;
    for (const { op, at, byte } of mutations) {
      const i = at % (bytes.length + (op === 'insert' ? 1 : 0) || 1);
      const insert = op === 'delete' ? [] : [byte];
      const remove = op === 'insert' ? 0 : 1;
      bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i + remove)]);
    }
    return bytes;
  });
/** Near-valid lines (and some random ones) joined by '\n' or '\r\n', maybe with empty lines between and after. */
const linesPacketArb = fc
  .tuple(
    fc.array(
      fc.oneof({ arbitrary: nearValidLineArb, weight: 5 }, { arbitrary: fc.uint8Array({ maxLength: 30 }), weight: 1 }),
      { minLength: 1, maxLength: 10, size: 'max' },
    ),
    fc.constantFrom('\n', '\r\n', '\n\n'),
    fc.constantFrom('', '\n', '\r\n'),
  )
  .map(([lines, separator, end]) => {
    const parts = lines.flatMap((line, i) => (i > 0 ? [Buffer.from(separator), line] : [line]));
    return Buffer.concat([...parts, Buffer.from(end)]);
  });
/** Packets: random bytes (mostly rejected at once, some '\n' in them), or lines that nearly parse. */
const packetArb = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), weight: 1 },
  { arbitrary: linesPacketArb, weight: 3 },
);

/** The lines of a packet as the parser counts them: split at '\n', empty and lone '\r' skipped. */
function linesOf(packet: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0; start <= packet.length; ) {
    let end = packet.indexOf(0x0a, start);
    if (end < 0) end = packet.length;
    const line = packet.subarray(start, end);
    if (line.length > 0 && !(line.length === 1 && line[0] === 0x0d)) lines.push(line);
    start = end + 1;
  }
  return lines;
}

/** The reference outcome for one line of bytes (it reads bytes that are not UTF-8 too). */
function referenceFor(line: Buffer, dialect: Dialect, maxLineBytes: number): ReferenceResult {
  return parseLineReference(line, dialect, maxLineBytes);
}

/** A one-line description of an outcome, for comparing native and reference. */
function outcome(r: ReferenceResult): string {
  return r.ok ? r.metrics.map(metricKey).join(' ') : `error ${r.reason}`;
}

describe('parse of arbitrary bytes', () => {
  // For any bytes, in both dialects, parse does not throw; every non-empty line
  // is either a good line or a counted error; each line alone gives what the
  // reference parser gives (the same metrics or the same reason); and the whole
  // packet gives the reference's metrics in order, its reasons counted, and its
  // first bad lines as examples.
  test.each([
    ['full', 0x5eed1],
    ['brubeck', 0x5eed2],
  ] as const)('never throws, counts every line and agrees with parseLineReference (%s)', (dialect, seed) => {
    const seen = { good: 0, bad: 0, reasons: new Set<string>() };
    // mostly the default limit; sometimes a small one, so too_long meets every rule
    const maxLineBytesArb = fc.oneof(
      { arbitrary: fc.constant(8192), weight: 4 },
      { arbitrary: fc.integer({ min: 1, max: 64 }), weight: 1 },
    );
    fc.assert(
      fc.property(packetArb, maxLineBytesArb, (packet, maxLineBytes) => {
        const batch = parse(packet, { dialect, maxLineBytes });
        const lines = linesOf(packet);
        expect(batch.lines + batch.errors.total).toBe(lines.length);

        const metrics: Metric[] = [];
        const bad: { line: Buffer; reason: ParseReason }[] = [];
        for (const line of lines) {
          const ref = referenceFor(line, dialect, maxLineBytes);
          const alone = parse(line, { dialect, maxLineBytes });
          const native: ReferenceResult =
            alone.errors.total > 0
              ? { ok: false, reason: alone.errors.examples[0]!.reason }
              : { ok: true, metrics: alone.toArray() };
          expect(alone.lines + alone.errors.total).toBe(1);
          expect(outcome(native), JSON.stringify(line.toString('latin1'))).toBe(outcome(ref));
          if (ref.ok) metrics.push(...ref.metrics);
          else bad.push({ line, reason: ref.reason });
        }

        expect(batch.toArray().map(metricKey)).toEqual(metrics.map(metricKey));
        expect(batch.length).toBe(metrics.length);
        expect(batch.errors.total).toBe(bad.length);
        const counts = Object.fromEntries(Object.keys(batch.errors.byReason).map((r) => [r, 0]));
        for (const b of bad) counts[b.reason]!++;
        expect(batch.errors.byReason).toEqual(counts);
        // the examples are the first bad lines (cut at 200 bytes), with their reasons
        expect(batch.errors.examples).toEqual(
          bad.slice(0, 8).map((b) => ({ line: b.line.subarray(0, 200).toString('utf8'), reason: b.reason })),
        );
        seen.good += batch.lines;
        seen.bad += batch.errors.total;
        for (const b of bad) seen.reasons.add(b.reason);
      }),
      { seed, numRuns: 1500 },
    );
    // both outcomes, and every reason, really occurred
    expect(seen.good).toBeGreaterThan(700);
    expect(seen.bad).toBeGreaterThan(2000);
    expect([...seen.reasons].sort()).toEqual(
      ['bad_encoding', 'bad_field', 'bad_name', 'bad_rate', 'bad_tag', 'bad_timestamp', 'bad_type', 'bad_value', 'too_long'].filter(
        (r) => dialect === 'full' || !['bad_tag', 'bad_timestamp'].includes(r),
      ),
    );
  });
});
