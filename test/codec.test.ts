// Table tests for the native parser: shared vectors, one row per grammar rule and reason.
import { describe, expect, it } from 'vitest';

import vectors from './fixtures/parse-brubeck.json';
import { type Dialect, type Metric, type ParseReason, StatsdError, parse, parseLine } from '../src';

function mustParse(line: string, expected: Partial<Metric>[], dialect: Dialect = 'full'): void {
  const batch = parse(line, { dialect });
  expect(batch.errors.total, `${line}: ${JSON.stringify(batch.errors.examples)}`).toBe(0);
  expect(batch.toArray()).toEqual(expected.map((e) => expect.objectContaining(e)));
}

function mustNotParse(line: string, reason: ParseReason, dialect: Dialect = 'full'): void {
  const batch = parse(line, { dialect });
  expect(batch.length, line).toBe(0);
  expect(batch.errors.total, line).toBe(1);
  expect(batch.errors.examples[0]?.reason, line).toBe(reason);
}

describe('shared vectors (parse-brubeck.json)', () => {
  for (const dialect of ['full', 'brubeck'] as const) {
    describe(dialect, () => {
      it.each(vectors.accept)('accepts $line', (v) => {
        mustParse(
          v.line,
          [{ name: v.name, type: v.type as Metric['type'], value: v.value, sampleRate: v.sampleRate, relative: v.relative }],
          dialect,
        );
      });
      it.each(vectors.reject)('rejects %s', (line) => {
        const batch = parse(line, { dialect });
        expect(batch.length).toBe(0);
        expect(batch.errors.total).toBe(1);
      });
    });
  }
});

describe('grammar rules (DESIGN §4)', () => {
  it.each([
    ['c', 'c'], ['C', 'C'], ['g', 'g'], ['ms', 'ms'], ['h', 'h'], ['d', 'd'],
  ] as const)('type %s', (wire, type) => {
    mustParse(`api.x:2|${wire}`, [{ name: 'api.x', type, value: 2 }]);
  });

  it.each([
    ['1e3', 1000, false], ['1E-2', 0.01, false], ['-1.5e+2', -150, true], ['+4', 4, true],
    ['.5', 0.5, false], ['1.', 1, false], ['0012', 12, false], ['-0', -0, true],
    ['123456789012345678901234', 1.2345678901234568e23, false], ['1e-400', 0, false],
    ['0.30000000000000004', 0.30000000000000004, false], ['5e-324', 5e-324, false],
  ] as const)('value %s reads as %d', (text, value, relative) => {
    const m = parseLine(`v:${text}|g`);
    expect(Object.is(m.value, value)).toBe(true);
    expect(m.relative).toBe(relative);
  });

  it.each(['0x10', 'inf', 'nan', 'Infinity', '1e', '1e+', '.', '+', '-', '', ' 1', '1 ', '1_000', '1e400', '--1', '1..2'])(
    'value %j is bad_value',
    (text) => mustNotParse(`v:${text}|g`, 'bad_value'),
  );

  it('keeps set members raw, colons included', () => {
    mustParse('users:alice:42|s', [{ name: 'users', type: 's', value: 'alice:42', relative: false }]);
    mustParse('users:-7|s', [{ type: 's', value: '-7', relative: false }]);
  });

  it('gives one Metric per value of a multi-value line', () => {
    mustParse('lat:1:2.5:-3|ms|@0.5', [
      { value: 1, sampleRate: 0.5 }, { value: 2.5, sampleRate: 0.5 }, { value: -3, relative: true },
    ]);
  });

  it('reads tags, timestamps and ignores extension fields, in any order', () => {
    mustParse('a.b:1|c|#env:prod,az|@0.25|T1700000000|c:abc123|card:low', [
      { name: 'a.b', sampleRate: 0.25, tags: ['env:prod', 'az'], timestamp: 1700000000 },
    ]);
    mustParse('a.b:1|c|T1700000000|#k:v', [{ tags: ['k:v'], timestamp: 1700000000 }]);
  });

  it('accepts \\r\\n endings and skips empty lines without counting them', () => {
    const batch = parse('a:1|c\r\n\r\n\nb:2|g\r\n');
    expect(batch.errors.total).toBe(0);
    expect(batch.toArray().map((m) => m.name)).toEqual(['a', 'b']);
  });

  it.each([
    [':1|c', 'bad_name'], ['a b:1|c', 'bad_name'], ['a.:1|c', 'bad_name'], ['a\tb:1|c', 'bad_name'],
    ['a\x00:1|c', 'bad_name'], ['noval|c', 'bad_value'], ['novalue', 'bad_value'],
    ['a:1|x', 'bad_type'], ['a:1|', 'bad_type'], ['a:1', 'bad_type'], ['a:1|cc', 'bad_type'],
    ['a:1|c|@0', 'bad_rate'], ['a:1|c|@1.5', 'bad_rate'], ['a:1|c|@', 'bad_rate'], ['a:1|c|@x', 'bad_rate'],
    ['a:1|c|#a b', 'bad_tag'], ['a:1|c|#a\x01', 'bad_tag'], ['a:1|c|f-2:x', 'bad_field'],
    ['a:1|c|T', 'bad_timestamp'], ['a:1|c|T0', 'bad_timestamp'], ['a:1|c|T12x', 'bad_timestamp'],
    ['a:1|c|T1234567890123', 'bad_timestamp'],
    ['a:1|c|', 'bad_field'], ['a:1|c||@0.5', 'bad_field'], ['a:1|c|0.1', 'bad_field'],
    ['a:1|c|@0.5|@0.5', 'bad_field'], ['a:1|c|#a|#b', 'bad_field'], ['a:1|c|T1|T2', 'bad_field'],
    ['a:1|c|what', 'bad_field'], ['a:1|c|:x', 'bad_field'],
    ['s:|s', 'bad_value'], ['s:a\x01b|s', 'bad_value'], ['a:|ms', 'bad_value'], ['a::|ms', 'bad_value'],
  ] as const)('%j is %s', (line, reason) => mustNotParse(line, reason));

  // Liberal where every peer is (the DogStatsD agent, gostatsd, statsd_exporter;
  // test/peers-table.test.ts): empty tags and entries are dropped, unknown
  // DogStatsD fields of letters and digits ignored.
  it('drops empty tags and an empty tag list, skips empty values, ignores f2:-style fields', () => {
    mustParse('a:1|g|#', [{ name: 'a', type: 'g', value: 1, tags: [] }]);
    mustParse('a:1|c|#a,,b', [{ tags: ['a', 'b'] }]);
    mustParse('a:1|c|#tag:value,,', [{ tags: ['tag:value'] }]);
    mustParse('x:1.5:41:|d', [{ value: 1.5 }, { value: 41 }]);
    mustParse('x::2|ms', [{ value: 2 }]);
    mustParse('a:1|c|f:x|f2:omgthisoneiscooler|e_2:y', [{ name: 'a', value: 1 }]);
  });

  it('rejects lines over maxLineBytes as too_long and accepts the line at the limit', () => {
    const line = `${'n'.repeat(96)}:1|c`; // 100 bytes
    expect(parse(line, { maxLineBytes: 100 }).length).toBe(1);
    const over = `n${line}`; // 101 bytes
    expect(parse(over, { maxLineBytes: 100 }).errors.byReason.too_long).toBe(1);
    expect(parse(over, { maxLineBytes: 100 }).length).toBe(0);
    mustNotParse(`${'n'.repeat(8192)}:1|c`, 'too_long');
  });
});

describe('brubeck dialect', () => {
  it.each([
    ['s:x|s', 'bad_type'], ['d:1|d', 'bad_type'], ['a:1|c|#k:v', 'bad_field'],
    ['a:1|c|T1700000000', 'bad_field'], ['a:1|c|c:abc', 'bad_field'], ['a:1:2|ms', 'bad_value'],
    ['a:1:|ms', 'bad_value'], ['a::1|ms', 'bad_value'],
  ] as const)('%j is %s', (line, reason) => mustNotParse(line, reason, 'brubeck'));

  it('accepts what brubeck accepts', () => {
    mustParse('a:1|C|@0.5', [{ type: 'C', sampleRate: 0.5 }], 'brubeck');
    mustParse('a:-1|g', [{ type: 'g', value: -1, relative: true }], 'brubeck');
  });
});

describe('bad lines never hide good ones', () => {
  it('counts each bad line by reason and keeps every good line', () => {
    const batch = parse('good.1:1|c\nbad 1:1|c\ngood.2:2|g\nbad.2:x|c\nbad.3:1|q\ngood.3:3|ms');
    expect(batch.toArray().map((m) => m.name)).toEqual(['good.1', 'good.2', 'good.3']);
    expect(batch.lines).toBe(3);
    expect(batch.errors.total).toBe(3);
    expect(batch.errors.byReason).toMatchObject({ bad_name: 1, bad_value: 1, bad_type: 1 });
    expect(batch.errors.examples.map((e) => e.line)).toEqual(['bad 1:1|c', 'bad.2:x|c', 'bad.3:1|q']);
  });
});

describe('parseLine', () => {
  it('throws a StatsdError with a stable code per reason', () => {
    expect(() => parseLine('a:1|c|@2')).toThrow(StatsdError);
    expect(() => parseLine('a:1|c|@2')).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_RATE' }));
    expect(() => parseLine('a:1|zz')).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_TYPE' }));
  });

  it('refuses multi-value lines and several lines, pointing to parse()', () => {
    expect(() => parseLine('a:1:2|ms')).toThrow(expect.objectContaining({ code: 'ERR_STATSD_MULTI_VALUE' }));
    expect(() => parseLine('a:1|c\nb:1|c')).toThrow(StatsdError);
    expect(parseLine('a:1|c\n')).toMatchObject({ name: 'a', value: 1 });
  });

  it('validates options once with a clear message', () => {
    expect(() => parse('a:1|c', { dialect: 'etsy' as Dialect })).toThrow(
      "Expected one of 'full', 'brubeck' for dialect but received string \"etsy\"",
    );
    expect(() => parse('a:1|c', { maxLineBytes: 0 })).toThrow(/maxLineBytes/);
  });
});

describe('MetricBatch', () => {
  it('builds Metrics lazily by index, from the end with negative indexes', () => {
    const batch = parse('a:1|c\nb:2|g');
    expect(batch.at(-1)?.name).toBe('b');
    expect(batch.at(2)).toBeUndefined();
    expect([...batch].length).toBe(2);
  });

  it('decodes UTF-8 names and reads Buffers and Uint8Array views in place', () => {
    const bytes = Buffer.from('xxxxcafé.latency:4|ms');
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 4, bytes.length - 4);
    expect(parse(view).at(0)).toMatchObject({ name: 'café.latency', value: 4 });
  });
});
