// Robustness of the bulk parser: hostile bytes, huge and tiny lines, views into
// larger buffers, and record growth; every line counted, nothing crashes.
import { describe, expect, test } from 'vitest';

import { type Dialect, type MetricBatch, type ParseReason, METRIC_TYPES, PARSE_REASONS, parse } from '../src';
import { parseLineReference } from '../src/codec/reference';
import { Random, mutate, randomValidLine } from './helpers/random';

/** Lines the walker counts: split at '\n', empty and lone-'\r' lines skipped. */
function countLines(bytes: Uint8Array): number {
  let count = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const length = i - start;
      if (length > 0 && !(length === 1 && bytes[start] === 0x0d)) count++;
      start = i + 1;
    }
  }
  return count;
}

function reasons(batch: MetricBatch): Partial<Record<ParseReason, number>> {
  const out: Partial<Record<ParseReason, number>> = {};
  for (const [k, v] of Object.entries(batch.errors.byReason)) if (v > 0) out[k as ParseReason] = v;
  return out;
}

/** Checks the invariants every batch must hold, whatever its input. */
function checkBatch(batch: MetricBatch, input: Uint8Array, label: string): void {
  expect(batch.lines + batch.errors.total, `${label}: lines + errors`).toBe(countLines(input));
  expect(batch.length, label).toBeGreaterThanOrEqual(batch.lines);
  let byReason = 0;
  for (const n of Object.values(batch.errors.byReason)) byReason += n;
  expect(byReason, `${label}: byReason sums to total`).toBe(batch.errors.total);
  expect(batch.errors.examples.length).toBe(Math.min(8, batch.errors.total));
  const odd: string[] = [];
  for (const m of batch) {
    const ok =
      typeof m.name === 'string' &&
      m.name.length > 0 &&
      (METRIC_TYPES as readonly string[]).includes(m.type) &&
      m.sampleRate > 0 &&
      m.sampleRate <= 1 &&
      (m.type === 's' ? typeof m.value === 'string' && m.value !== '' : Number.isFinite(m.value));
    if (!ok && odd.length < 5) odd.push(JSON.stringify(m));
  }
  expect(odd, `${label}: malformed metrics`).toEqual([]);
}

describe('bad lines never hide good ones', () => {
  test('a good line between two bad ones is returned', () => {
    for (const [before, after] of [
      ['bad', 'bad'],
      ['a b:1|c', 'x:1|zz'],
      ['\0', '\xff:|c'],
      [':1|c', 'a.:1|c'],
      ['a:1|c|@2', 'a:1|c|'],
      ['a:1|c|#a b', 'a:1|c|T0'],
    ]) {
      for (const packet of [`${before}\ngood:7|ms\n${after}`, `${before}\r\ngood:7|ms\r\n${after}\r\n`]) {
        const batch = parse(Buffer.from(packet, 'latin1'));
        expect(batch.toArray(), packet).toEqual([
          { name: 'good', type: 'ms', value: 7, relative: false, sampleRate: 1, tags: [] },
        ]);
        expect(batch.errors.total, packet).toBe(2);
        expect(batch.lines).toBe(1);
      }
    }
  });

  // Runs first in this file, while the shared records are still at their
  // initial size, so the parse resumes several times mid-packet.
  test('20k alternating bad/good/multi-value lines across record growth', () => {
    const lines: string[] = [];
    const wantNames: string[] = [];
    const wantBad: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      switch (i % 4) {
        case 0:
          lines.push(`bad ${i}:1|c`);
          wantBad.push(lines[i]!);
          break;
        case 1:
          lines.push(`g${i}:${i}|c`);
          wantNames.push(`g${i}`);
          break;
        case 2:
          lines.push(`m${i}:1:2:3:4:5|ms`);
          for (let k = 0; k < 5; k++) wantNames.push(`m${i}`);
          break;
        default:
          lines.push(`b${i}:1|q`);
          wantBad.push(lines[i]!);
      }
    }
    const input = Buffer.from(lines.join('\n'));
    const batch = parse(input);
    checkBatch(batch, input, 'alternating');
    expect(batch.length).toBe(wantNames.length);
    expect(batch.lines).toBe(10_000);
    expect(batch.errors.total).toBe(10_000);
    expect(reasons(batch)).toEqual({ bad_name: 5000, bad_type: 5000 });
    expect(batch.errors.examples.map((e) => e.line)).toEqual(wantBad.slice(0, 8));
    const names = batch.toArray().map((m) => m.name);
    expect(names).toEqual(wantNames);
    // values survive the resume: the multi-value runs stay 1..5 in order
    const values = batch.toArray().filter((m) => m.type === 'ms').map((m) => m.value);
    expect(values.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
    expect(values.length).toBe(25_000);
  });

  test('an earlier batch stays intact after later parses grow and reuse the records', () => {
    const first = parse('keep.me:42|g|@0.5|#a:b\nx:1|c');
    const big = Buffer.from('z:1:2:3:4:5:6:7:8|h\n'.repeat(30_000));
    const second = parse(big);
    expect(second.length).toBe(240_000);
    expect(first.at(0)).toEqual({ name: 'keep.me', type: 'g', value: 42, relative: false, sampleRate: 0.5, tags: ['a:b'] });
    expect(first.at(1)).toEqual({ name: 'x', type: 'c', value: 1, relative: false, sampleRate: 1, tags: [] });
    expect(first.length).toBe(2);
  });
});

describe('random bytes', () => {
  // statsd-ish tokens make lines that get deep into the grammar before failing
  const TOKENS = [
    'a', 'b.c', 'x', '.', ':', ':', ':', '1', '-2', '.5', '1e3', '|', '|', '|', 'c', 'ms', 'g', 's', 'C', 'h', 'd',
    '@0.5', '@1', '#t:1', '#a,b', 'T1700000000', 'c:x', ',', ' ', '\r', '\n', '\n', '\n', '\0', '\x7f', '\xc3\xa9', '\xff',
  ].map((t) => Buffer.from(t, 'latin1'));

  test('10k seeded buffers up to 2 KiB: counted exactly as the reference counts them, no crash', () => {
    const r = new Random(0xb17e5);
    let lines = 0;
    let good = 0;
    for (let n = 0; n < 10_000; n++) {
      const length = r.int(0, 2048);
      let input: Buffer;
      if (n % 2 === 0) {
        input = r.bytes(length);
      } else {
        // lines that are valid, mutated, or token soup, cut anywhere
        const parts: Buffer[] = [];
        let size = 0;
        while (size < length) {
          const kind = r.int(0, 2);
          let line: Buffer;
          if (kind === 0) line = Buffer.from(randomValidLine(r, r.pick(['full', 'brubeck'] as const)));
          else if (kind === 1) line = mutate(r, Buffer.from(randomValidLine(r)));
          else line = Buffer.concat(Array.from({ length: r.int(1, 12) }, () => r.pick(TOKENS)));
          parts.push(line, Buffer.from([0x0a]));
          size += line.length + 1;
        }
        input = Buffer.concat(parts).subarray(0, length);
      }
      const dialect: Dialect = n % 3 === 0 ? 'brubeck' : 'full';
      const maxLineBytes = n % 5 === 0 ? r.int(1, 64) : 8192;
      const batch = parse(input, { dialect, maxLineBytes });
      const label = `buffer ${n} (${dialect}, max ${maxLineBytes}) ${input.toString('hex').slice(0, 120)}`;
      expect(batch.lines + batch.errors.total, label).toBe(countLines(input));
      // The reference, given each line's bytes, reaches the same counts per reason.
      const want: Partial<Record<ParseReason, number>> = {};
      let wantSamples = 0;
      for (let start = 0; start <= input.length; ) {
        let end = input.indexOf(0x0a, start);
        if (end < 0) end = input.length;
        const line = input.subarray(start, end);
        start = end + 1;
        if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) continue;
        const ref = parseLineReference(line, dialect, maxLineBytes);
        if (ref.ok) wantSamples += ref.metrics.length;
        else want[ref.reason] = (want[ref.reason] ?? 0) + 1;
      }
      expect(reasons(batch), label).toEqual(want);
      expect(batch.length, label).toBe(wantSamples);
      if (n % 10 === 0) checkBatch(batch, input, label);
      lines += batch.lines + batch.errors.total;
      good += batch.lines;
    }
    expect(lines).toBeGreaterThan(20_000);
    expect(good).toBeGreaterThan(1000); // the token half does produce good lines
  });
});

describe('line length', () => {
  test('a 64 KiB line is too_long by default, parsed with a higher limit, and hides no neighbour', () => {
    const name = 'n'.repeat(64 * 1024);
    const input = Buffer.from(`a:1|c\n${name}:5|g\nb:2|c\n`);
    const batch = parse(input);
    expect(batch.toArray().map((m) => m.name)).toEqual(['a', 'b']);
    expect(reasons(batch)).toEqual({ too_long: 1 });
    expect(batch.errors.examples[0]!.line).toBe('n'.repeat(200)); // example text is cut at 200 bytes

    const wide = parse(input, { maxLineBytes: 70_000 });
    expect(wide.errors.total).toBe(0);
    expect(wide.length).toBe(3);
    expect(wide.at(1)!.name).toBe(name);
    expect(wide.at(1)!.value).toBe(5);
  });

  test('64 KiB set member and 64 KiB tag list', () => {
    const member = 'm:'.repeat(32 * 1024);
    const tags = 'k:v,'.repeat(16 * 1024) + 'z';
    const input = `s:${member}|s\nt:1|c|#${tags}`;
    const batch = parse(input, { maxLineBytes: 1 << 20 });
    expect(batch.errors.total).toBe(0);
    expect(batch.at(0)!.value).toBe(member);
    expect(batch.at(1)!.tags.length).toBe(16 * 1024 + 1);
    expect(parse(input).errors.byReason.too_long).toBe(2);
  });

  test.each([1, 5, 6, 7, 31, 100, 8192, 65_536])('lines at and one past maxLineBytes %i', (max) => {
    const at = (size: number, cr = false) => {
      const tail = ':1|c' + (cr ? '\r' : '');
      return 'a'.repeat(Math.max(1, size - tail.length)) + tail;
    };
    const opts = max === 8192 ? undefined : { maxLineBytes: max };
    const fits = at(max);
    const over = at(max + 1);
    if (fits.length === max && max >= 6) {
      const batch = parse(`${fits}\n${over}\n${fits}`, opts);
      expect(batch.length).toBe(2);
      expect(reasons(batch)).toEqual({ too_long: 1 });
      // a line of exactly max bytes whose last byte is the '\r' of "\r\n" fits
      const cr = at(max, true);
      expect(Buffer.byteLength(cr)).toBe(max);
      expect(parse(cr + '\n', opts).length).toBe(1);
      expect(parseLineReference(cr, 'full', max).ok).toBe(true);
    } else {
      // too short for any good line: everything non-empty is too_long
      expect(reasons(parse(`${over}\n${over}`, opts))).toEqual({ too_long: 2 });
    }
    expect(parseLineReference(over, 'full', max)).toEqual({ ok: false, reason: 'too_long' });
  });

  test('the limit counts UTF-8 bytes, not characters', () => {
    const line = 'é'.repeat(10) + ':1|c'; // 24 bytes, 14 characters
    expect(parse(line, { maxLineBytes: 24 }).length).toBe(1);
    expect(parse(line, { maxLineBytes: 23 }).errors.byReason.too_long).toBe(1);
  });
});

describe('bytes that must not break the walk', () => {
  test('NUL bytes in each part of a line', () => {
    const cases: [string, ParseReason][] = [
      ['\0', 'bad_name'],
      ['a\0b:1|c', 'bad_name'],
      ['\0a:1|c', 'bad_name'],
      ['a:1\0|c', 'bad_value'],
      ['a:\0|s', 'bad_value'],
      ['a:1|c\0', 'bad_type'],
      ['a:1|c|@0.5\0', 'bad_rate'],
      ['a:1|c|#t\0', 'bad_tag'],
      ['a:1|c|T17\0', 'bad_timestamp'],
      ['a:1|c|\0', 'bad_field'],
    ];
    for (const [line, reason] of cases) {
      const input = Buffer.from(`ok1:1|c\n${line}\nok2:2|c`, 'latin1');
      const batch = parse(input);
      expect(batch.toArray().map((m) => m.name), JSON.stringify(line)).toEqual(['ok1', 'ok2']);
      expect(reasons(batch), JSON.stringify(line)).toEqual({ [reason]: 1 });
      expect(parseLineReference(line)).toEqual({ ok: false, reason });
    }
    const nuls = Buffer.alloc(4096);
    expect(reasons(parse(nuls))).toEqual({ bad_name: 1 });
  });

  // Carbon decodes each line as UTF-8 outside its error handling: one such
  // name closed the connection and cut every flush at that key (F13). A set
  // member is only counted, never written, so it may hold any bytes.
  test('a name or tag that is not UTF-8 is refused as bad_encoding; a set member is kept and decoded with U+FFFD', () => {
    const bad = [
      Buffer.from([0xff, 0xfe, 0x2e, 0x61]), // bytes that never start UTF-8
      Buffer.from([0x61, 0x2e, 0xc3]), // a cut 2-byte sequence
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
      Buffer.from([0xc0, 0xaf]), // an overlong '/'
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
      Buffer.from('caf\xe9', 'latin1'),
    ];
    const lines = [
      ...bad.map((name) => Buffer.concat([name, Buffer.from(':1|c')])),
      Buffer.concat([Buffer.from('tagged:1|c|#k:'), Buffer.from([0xe6, 0x97])]), // a cut 3-byte sequence
      Buffer.concat([Buffer.from('set:'), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from('|s')]),
      Buffer.from('caf\u00e9.ok:2|g|#\u65e5:\u00fc'), // well-formed: kept
    ];
    const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const batch = parse(input);
    checkBatch(batch, input, 'invalid utf-8');
    expect(reasons(batch)).toEqual({ bad_encoding: bad.length + 1 });
    for (const line of lines.slice(0, -2)) expect(parseLineReference(line)).toEqual({ ok: false, reason: 'bad_encoding' });
    const [member, good] = batch.toArray();
    expect(member!.value).toBe('\ufffd');
    expect(good).toMatchObject({ name: 'caf\u00e9.ok', value: 2, tags: ['\u65e5:\u00fc'] });
  });

  test('control bytes and DEL are bad in names, tags and set members', () => {
    for (let byte = 0; byte < 0x20; byte++) {
      if (byte === 0x0a) continue;
      const c = String.fromCharCode(byte);
      const lines = [`a${c}:1|c`, `a:1|c|#x${c}`, `a:x${c}|s`];
      const batch = parse(Buffer.from(lines.join('\n'), 'latin1'));
      // only "\r" ending a line ("a:1|c|#x\r" before its '\n') is dropped, making that line good
      expect(batch.length, `byte ${byte}`).toBe(byte === 0x0d ? 1 : 0);
      expect(batch.errors.total, `byte ${byte}`).toBe(byte === 0x0d ? 2 : 3);
    }
    expect(reasons(parse('a\x7f:1|c\na:1|c|#\x7f\na:\x7f|s'))).toEqual({ bad_name: 1, bad_tag: 1, bad_value: 1 });
  });
});

describe('empty and newline-only input', () => {
  test.each([
    ['empty Buffer', Buffer.alloc(0)],
    ['empty string', ''],
    ['empty Uint8Array', new Uint8Array(0)],
    ['lone \\n', '\n'],
    ['\\n\\n\\n', '\n\n\n'],
    ['lone \\r', '\r'],
    ['\\r\\n', '\r\n'],
    ['\\r\\n\\r\\n\\n', '\r\n\r\n\n'],
  ])('%s gives no lines and no errors', (_label, input) => {
    const batch = parse(input);
    expect([batch.length, batch.lines, batch.errors.total]).toEqual([0, 0, 0]);
    expect(batch.at(0)).toBeUndefined();
    expect(batch.toArray()).toEqual([]);
  });

  test('"\\r\\n" lines lose their "\\r"; a second "\\r" is part of the line', () => {
    const batch = parse('a:1|c\r\nb:2|g\r\nc:x|s\r\nd:1|c|#t\r\n');
    expect(batch.errors.total).toBe(0);
    expect(batch.toArray().map((m) => [m.name, m.value, m.tags])).toEqual([
      ['a', 1, []],
      ['b', 2, []],
      ['c', 'x', []],
      ['d', 1, ['t']],
    ]);
    expect(reasons(parse('a:1|c\r\r\n'))).toEqual({ bad_type: 1 });
    expect(reasons(parse('\r\r\n'))).toEqual({ bad_name: 1 });
  });
});

describe('views into larger buffers', () => {
  test('a Buffer that is a subarray: offsets are relative to the view', () => {
    const big = Buffer.from('GARBAGE:1|c\nfirst:1|c\nbad line\nsecond:2|ms|#t:1\nTAIL:9|c');
    const start = big.indexOf('first');
    const end = big.indexOf('\nTAIL');
    const view = big.subarray(start, end);
    const batch = parse(view);
    expect(batch.toArray().map((m) => [m.name, m.value, m.tags])).toEqual([
      ['first', 1, []],
      ['second', 2, ['t:1']],
    ]);
    expect(batch.errors.examples).toEqual([{ line: 'bad line', reason: 'bad_name' }]);
  });

  test('a Uint8Array over an ArrayBuffer with an offset', () => {
    const text = Buffer.from('xx\nalpha:3|g\nbeta:4|g');
    const ab = new ArrayBuffer(text.length + 64);
    new Uint8Array(ab).set(text, 32);
    new Uint8Array(ab).fill(0x7c, 0, 32); // '|' bytes before the view
    new Uint8Array(ab).fill(0x7c, 32 + text.length); // and after it
    const view = new Uint8Array(ab, 32 + 3, text.length - 3);
    const batch = parse(view);
    expect(batch.toArray().map((m) => [m.name, m.value])).toEqual([
      ['alpha', 3],
      ['beta', 4],
    ]);
    expect(batch.errors.total).toBe(0);
  });

  test('the parser reads nothing past the end of the view', () => {
    // the bytes after the view would make every cut line bad if they were read
    const big = Buffer.from('a:1|cXYZ\nb:2|c|@0.5XYZ\nc:3|c|#tagXYZ\nd:12XYZ');
    const cases: [string, number, unknown][] = [
      ['a:1|c', 1, 'a'],
      ['b:2|c|@0.5', 0.5, 'b'],
      ['c:3|c|#tag', 1, 'c'],
    ];
    for (const [prefix, rate, name] of cases) {
      const at = big.indexOf(prefix);
      const view = big.subarray(at, at + prefix.length);
      const batch = parse(view);
      expect(batch.errors.total, prefix).toBe(0);
      expect(batch.at(0)!.name).toBe(name);
      expect(batch.at(0)!.sampleRate).toBe(rate);
    }
    const at = big.indexOf('c:3|c|#tag');
    expect(parse(big.subarray(at, at + 'c:3|c|#tag'.length)).at(0)!.tags).toEqual(['tag']);
    // "d:12" without its type: the walker must not run into "XYZ"
    const d = big.indexOf('d:12');
    expect(reasons(parse(big.subarray(d, d + 4)))).toEqual({ bad_type: 1 });
  });
});

describe('many lines', () => {
  test('200k "a:1|c" lines in one buffer', () => {
    const input = Buffer.from('a:1|c\n'.repeat(200_000));
    const batch = parse(input);
    expect([batch.length, batch.lines, batch.errors.total]).toEqual([200_000, 200_000, 0]);
    for (let i = 0; i < batch.length; i += 997) {
      expect(batch.at(i)).toEqual({ name: 'a', type: 'c', value: 1, relative: false, sampleRate: 1, tags: [] });
    }
    expect(batch.at(-1)!.name).toBe('a');
    expect(batch.at(200_000)).toBeUndefined();
  });

  test('one line with 300k values', () => {
    const values = Array.from({ length: 300_000 }, (_, i) => String(i));
    const input = `big:${values.join(':')}|ms\nafter:1|c`;
    const batch = parse(input, { maxLineBytes: 1 << 22 });
    expect(batch.errors.total).toBe(0);
    expect(batch.lines).toBe(2);
    expect(batch.length).toBe(300_001);
    expect(batch.at(0)!.value).toBe(0);
    expect(batch.at(123_456)!.value).toBe(123_456);
    expect(batch.at(299_999)!.value).toBe(299_999);
    expect(batch.at(300_000)!.name).toBe('after');
    expect(parse(input, { maxLineBytes: 1 << 22, dialect: 'brubeck' }).errors.byReason.bad_value).toBe(1);
  });

  test('100k empty lines around 3 good ones', () => {
    const input = '\n'.repeat(50_000) + 'a:1|c\r\n\r\n\nb:2|c' + '\r\n'.repeat(50_000) + 'c:3|c';
    const batch = parse(input);
    expect(batch.toArray().map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(batch.errors.total).toBe(0);
  });
});

test('every reason index maps to a reason name', () => {
  expect(PARSE_REASONS[0]).toBe('ok');
  expect(PARSE_REASONS.length).toBe(10);
  expect(PARSE_REASONS[9]).toBe('bad_encoding');
});
