// Differential: the native parser against the TypeScript reference (src/codec/reference.ts)
// on seeded random lines, valid and mutated, in both dialects.
import { describe, expect, test } from 'vitest';

import { type Dialect, type Metric, type ParseReason, parse } from '../src';
import { parseLineReference } from '../src/codec/reference';
import { Random, randomLine, randomValidLine } from './helpers/random';

const LINES_PER_DIALECT = 100_000;
const LINES_PER_PACKET = 1000;
const SINGLE_LINES_PER_DIALECT = 20_000;
const MAX_REPORTED = 15;

interface Expected {
  metrics: Metric[];
  bad: { line: string; reason: ParseReason }[];
}

/** The lines of a packet as the native walker sees them: split at '\n', empty and lone '\r' skipped. */
function linesOf(packet: string): string[] {
  return packet.split('\n').filter((l) => l !== '' && l !== '\r');
}

function reference(packet: string, dialect: Dialect, maxLineBytes: number): Expected {
  const expected: Expected = { metrics: [], bad: [] };
  for (const line of linesOf(packet)) {
    const result = parseLineReference(line, dialect, maxLineBytes);
    if (result.ok) expected.metrics.push(...result.metrics);
    else expected.bad.push({ line, reason: result.reason });
  }
  return expected;
}

function show(m: Metric | undefined): string {
  if (m === undefined) return 'none';
  const value = Object.is(m.value, -0) ? '-0' : JSON.stringify(m.value);
  return `{name:${JSON.stringify(m.name)} type:${m.type} value:${value} relative:${m.relative} rate:${m.sampleRate} tags:${JSON.stringify(m.tags)} ts:${m.timestamp}}`;
}

function sameMetric(a: Metric, b: Metric): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    Object.is(a.value, b.value) &&
    a.relative === b.relative &&
    Object.is(a.sampleRate, b.sampleRate) &&
    a.tags.length === b.tags.length &&
    a.tags.every((t, i) => t === b.tags[i]) &&
    a.timestamp === b.timestamp
  );
}

/** What the native parser makes of one line alone, in the reference's terms. */
function nativeOne(line: string, dialect: Dialect, maxLineBytes: number): Expected {
  const batch = parse(Buffer.from(line, 'utf8'), { dialect, maxLineBytes });
  return { metrics: batch.toArray(), bad: batch.errors.examples.map((e) => ({ line: e.line, reason: e.reason })) };
}

/** "" when the native and reference outcomes of one line agree, else a description. */
function compareOne(line: string, dialect: Dialect, maxLineBytes: number): string {
  const ref = parseLineReference(line, dialect, maxLineBytes);
  const got = nativeOne(line, dialect, maxLineBytes);
  const where = `line ${JSON.stringify(line)} (${dialect}, maxLineBytes ${maxLineBytes}):`;
  if (!ref.ok) {
    if (got.bad.length === 1 && got.metrics.length === 0 && got.bad[0]!.reason === ref.reason) return '';
    return `${where} reference rejects with ${ref.reason}, native gives ${
      got.bad.length ? `reject ${got.bad[0]!.reason}` : `accept ${got.metrics.map(show).join(' ')}`
    }`;
  }
  if (got.bad.length > 0) return `${where} reference accepts ${ref.metrics.map(show).join(' ')}, native rejects with ${got.bad[0]!.reason}`;
  if (got.metrics.length !== ref.metrics.length || !got.metrics.every((m, i) => sameMetric(m, ref.metrics[i]!))) {
    return `${where} reference ${ref.metrics.map(show).join(' ')}, native ${got.metrics.map(show).join(' ')}`;
  }
  return '';
}

/** Compares one packet as a whole; on a difference, finds the offending lines one by one. */
function comparePacket(packet: string, dialect: Dialect, maxLineBytes: number, problems: string[]): void {
  const expected = reference(packet, dialect, maxLineBytes);
  const batch = parse(Buffer.from(packet, 'utf8'), { dialect, maxLineBytes });
  let agree =
    batch.length === expected.metrics.length &&
    batch.errors.total === expected.bad.length &&
    batch.lines === linesOf(packet).length - expected.bad.length;
  for (let i = 0; agree && i < batch.length; i++) agree = sameMetric(batch.at(i)!, expected.metrics[i]!);
  if (agree) {
    const counts: Partial<Record<ParseReason, number>> = {};
    for (const b of expected.bad) counts[b.reason] = (counts[b.reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(batch.errors.byReason)) {
      if (n !== (counts[reason as ParseReason] ?? 0)) agree = false;
    }
    // the kept examples are the first bad lines, in order, as text (cut at 200 bytes)
    const examples = batch.errors.examples;
    if (examples.length !== Math.min(8, expected.bad.length)) agree = false;
    examples.forEach((e, i) => {
      const want = expected.bad[i]!;
      const text = Buffer.from(want.line, 'utf8').subarray(0, 200).toString('utf8');
      if (e.reason !== want.reason || e.line !== text) agree = false;
    });
  }
  if (agree) return;
  let found = false;
  for (const line of linesOf(packet)) {
    const problem = compareOne(line, dialect, maxLineBytes);
    if (problem !== '') {
      found = true;
      if (problems.length < MAX_REPORTED) problems.push(problem);
    }
  }
  if (!found && problems.length < MAX_REPORTED) {
    problems.push(
      `packet of ${linesOf(packet).length} lines (${dialect}): every line agrees alone but the packet differs: ` +
        `native ${batch.length} samples/${batch.lines} lines/${batch.errors.total} errors, ` +
        `reference ${expected.metrics.length} samples/${expected.bad.length} errors; packet ${JSON.stringify(packet.slice(0, 300))}`,
    );
  }
}

describe.each(['full', 'brubeck'] as const)('native parse equals parseLineReference (%s)', (dialect) => {
  const seed = dialect === 'full' ? 0x5eed_0001 : 0x5eed_0002;

  test(`${LINES_PER_DIALECT} random lines in packets of ${LINES_PER_PACKET}`, () => {
    const r = new Random(seed);
    const problems: string[] = [];
    const tally = { accepted: 0, rejected: 0, packets: 0 };
    for (let done = 0; done < LINES_PER_DIALECT; done += LINES_PER_PACKET) {
      const lines: string[] = [];
      for (let i = 0; i < LINES_PER_PACKET; i++) lines.push(randomLine(r, dialect, 0.5));
      // one packet in eight gets a small line limit so too_long meets every rule
      const maxLineBytes = r.bool(0.125) ? r.int(1, 64) : 8192;
      const packet = lines.join(r.pick(['\n', '\n', '\r\n'])) + r.pick(['', '\n', '\r\n']);
      comparePacket(packet, dialect, maxLineBytes, problems);
      const batch = parse(packet, { dialect, maxLineBytes });
      tally.accepted += batch.lines;
      tally.rejected += batch.errors.total;
      tally.packets++;
    }
    expect(problems, problems.join('\n')).toEqual([]);
    // the generator must exercise both outcomes in earnest
    expect(tally.accepted).toBeGreaterThan(LINES_PER_DIALECT / 4);
    expect(tally.rejected).toBeGreaterThan(LINES_PER_DIALECT / 4);
  });

  test(`${SINGLE_LINES_PER_DIALECT} random lines one parse call each`, () => {
    const r = new Random(seed ^ 0xabcdef);
    const problems: string[] = [];
    const reasons = new Set<string>();
    for (let i = 0; i < SINGLE_LINES_PER_DIALECT; i++) {
      const line = randomLine(r, dialect, 0.6).replace(/\n/g, '');
      if (line === '' || line === '\r') continue;
      const maxLineBytes = r.bool(0.05) ? r.int(1, 40) : 8192;
      const problem = compareOne(line, dialect, maxLineBytes);
      if (problem !== '' && problems.length < MAX_REPORTED) problems.push(problem);
      const ref = parseLineReference(line, dialect, maxLineBytes);
      reasons.add(ref.ok ? 'ok' : ref.reason);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    const wanted =
      dialect === 'full'
        ? ['ok', 'bad_name', 'bad_value', 'bad_type', 'bad_rate', 'bad_tag', 'bad_timestamp', 'bad_field', 'too_long']
        : ['ok', 'bad_name', 'bad_value', 'bad_type', 'bad_rate', 'bad_field', 'too_long'];
    expect([...reasons].sort()).toEqual(expect.arrayContaining(wanted));
  });

  test('valid lines of the dialect are all accepted by both (generator sanity)', () => {
    const r = new Random(seed ^ 0x77);
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const line = randomValidLine(r, dialect);
      const ref = parseLineReference(line, dialect);
      // only numbers out of double range may make a well-formed line bad
      if (!ref.ok) {
        expect(ref.reason, line).toBe('bad_value');
        rejected++;
      }
      expect(compareOne(line, dialect, 8192)).toBe('');
    }
    expect(rejected).toBeLessThan(500);
  });
});

describe('number edge cases, native vs reference', () => {
  const numbers = [
    '5e-324', '-5e-324', '4.9406564584124654e-324', '2.4703282292062327e-324', '2.4703282292062328e-324',
    '2.2250738585072011e-308', '2.2250738585072012e-308', '2.2250738585072014e-308', '1e-320',
    '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1e309', '-1e309',
    '1e-400', '-1e-400', '-0', '+0', '0e999999', '9007199254740993', '9007199254740995',
    '1.00000000000000011102230246251565404236316680908203125', '1.000000000000000111022302462515654042363166809082031250001',
    '123456789012345678901234567890e-20', '0.0000000000000000000000000000000000000001e40', '1e22', '1e23',
    '8.41e21', '3.0e-22', '1.', '.5', '1.e3', '-.5e-1', '00000000000000000000000000001.5',
  ];
  test.each(numbers)('a:%s|g and |@ forms agree', (n) => {
    for (const dialect of ['full', 'brubeck'] as const) {
      expect(compareOne(`a:${n}|g`, dialect, 8192)).toBe('');
      expect(compareOne(`a:1|c|@${n}`, dialect, 8192)).toBe('');
    }
  });
});
