// Seeded randomness for property and differential tests: a PRNG, statsd line
// generators over every rule of DESIGN.md §4, and byte-level mutators.
import type { Dialect, MetricInput, MetricType } from '../../src';
import { mulberry32 } from '../../src/load/prng';

/** Seeded generators over the package's PRNG (src/load/prng.ts, mulberry32): the same seed gives the same sequence. */
export class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Random byte values (0..255). */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

// ---------------------------------------------------------------- names

// Characters a name may hold (no space, ':', '|', '\n', control); UTF-8 of every
// width, and bytes that mean something elsewhere in a line ('@', '#', ',', 'T').
const NAME_CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  '.', '.', '.', '_', '-', '@', '#', ',', '=', ';', '/', '+', '%', '*', '!', '~', '[', ']',
  'é', 'ß', 'ü', '日', '本', '中', '€', '\u00a0', '\u0085', '😀', '🚀', '\ufeff',
];

/** A valid metric name: non-empty, no forbidden bytes, not ending in '.'. */
export function randomName(r: Random, maxLength = 24): string {
  const length = r.int(1, maxLength);
  let name = '';
  for (let i = 0; i < length; i++) name += r.pick(NAME_CHARS);
  if (name.endsWith('.')) name = name.slice(0, -1) + r.pick(['x', '_', '9', 'é']);
  return name;
}

// ---------------------------------------------------------------- numbers

const SPECIAL_NUMBERS = [
  '0', '-0', '+0', '0.0', '00', '1', '1.', '.5', '-.5', '+.5', '1e3', '1E3', '1e+3', '1e-3', '1.e5',
  '.5e-2', '0012', '5e-324', '4.9406564584124654e-324', '2.4703282292062327e-324',
  '2.4703282292062328e-324', '2.2250738585072014e-308', '2.225073858507201e-308', '1e-310',
  '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1e308', '1e309',
  '1e-400', '-1e-400', '1e21', '1e+21', '1e22', '1e23', '9007199254740992', '9007199254740993',
  '18446744073709551615', '18446744073709551616', '123456789012345678901234567890',
  '0.000000000000000000000000000001', '1e99999999999', '1e-99999999999', '0e99999', '12345678901234567890e-10',
  '0.1', '0.2', '0.3', '3.14159', '-273.15', '1234567.89', '0.232030', '23.23', '199812',
];

function digits(r: Random, min: number, max: number): string {
  const n = r.int(min, max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(48 + r.int(0, 9));
  return s;
}

/** Decimal text the grammar accepts (it may still overflow to a bad value). */
export function randomNumberText(r: Random): string {
  if (r.bool(0.25)) return r.pick(SPECIAL_NUMBERS);
  let text = r.pick(['', '', '', '+', '-']);
  const form = r.int(0, 3);
  if (form === 0) text += digits(r, 1, r.bool(0.1) ? 30 : 8);
  else if (form === 1) text += digits(r, 1, 8) + '.';
  else if (form === 2) text += '.' + digits(r, 1, 8);
  else text += digits(r, 1, r.bool(0.2) ? 25 : 8) + '.' + digits(r, 1, r.bool(0.2) ? 25 : 8);
  if (r.bool(0.3)) {
    text += r.pick(['e', 'E']) + r.pick(['', '+', '-']) + String(r.bool(0.8) ? r.int(0, 30) : r.int(0, 400));
  }
  return text;
}

const RATE_TEXTS = [
  '1', '1.', '1.0', '1.00000', '000.0100', '0.5', '.5', '0.1', '0.01', '0.025', '0.25', '1e-2', '5E-1',
  '+0.5', '0.0001', '1e-300', '1e-308', '0.999999999999999999999', '1.0000000000000001', '100e-2',
];

// ---------------------------------------------------------------- lines

const FULL_TYPES: readonly MetricType[] = ['c', 'C', 'g', 'ms', 'h', 's', 'd'];
const BRUBECK_TYPES: readonly MetricType[] = ['c', 'C', 'g', 'ms', 'h'];

const TAG_CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789', ':', ':', '_', '-', '.', '/', '=', '@', 'é', '日'];
const MEMBER_CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789', ':', ' ', '@', '#', ',', '.', '-', 'é', '😀'];

function text(r: Random, chars: readonly string[], min: number, max: number): string {
  const n = r.int(min, max);
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(chars);
  return s;
}

export function randomTags(r: Random): string {
  const count = r.int(1, 4);
  const tags: string[] = [];
  for (let i = 0; i < count; i++) tags.push(text(r, TAG_CHARS, 1, 12));
  return '#' + tags.join(',');
}

function randomExtension(r: Random): string {
  const key = r.pick(['c', 'e', 'card', 'X', 'Tag', 'Tz', 'abc']);
  return key + ':' + text(r, [...TAG_CHARS, '#', ' ', ','], 0, 16);
}

/**
 * A line that satisfies the grammar of `dialect` (no trailing '\n'). A few
 * have numbers that overflow, so "valid" means well-formed, not always accepted.
 */
export function randomValidLine(r: Random, dialect: Dialect = 'full'): string {
  const type = r.pick(dialect === 'brubeck' ? BRUBECK_TYPES : FULL_TYPES);
  let value: string;
  if (type === 's') {
    value = text(r, MEMBER_CHARS, 1, 16);
  } else {
    value = randomNumberText(r);
    if (dialect === 'full' && r.bool(0.15)) {
      const more = r.int(1, 4);
      for (let i = 0; i < more; i++) value += ':' + randomNumberText(r);
    }
  }
  const fields: string[] = [];
  if (r.bool(0.4)) fields.push('@' + r.pick(RATE_TEXTS));
  if (dialect === 'full') {
    if (r.bool(0.35)) fields.push(randomTags(r));
    if (r.bool(0.2)) fields.push('T' + String(r.bool(0.7) ? r.int(1_600_000_000, 1_800_000_000) : r.int(1, 999_999_999_999)));
    if (r.bool(0.15)) fields.push('c:' + text(r, TAG_CHARS, 0, 20));
    if (r.bool(0.1)) fields.push(randomExtension(r));
    r.shuffle(fields);
  }
  let line = randomName(r) + ':' + value + '|' + type;
  for (const field of fields) line += '|' + field;
  if (r.bool(0.05)) line += '\r';
  return line;
}

// ---------------------------------------------------------------- mutators

// Bytes a mutator inserts: separators, field markers, number bytes, space,
// NUL and other controls, DEL, '\r', and bytes of (possibly broken) UTF-8.
const INTERESTING_BYTES = [
  0x3a, 0x3a, 0x7c, 0x7c, 0x40, 0x23, 0x2c, 0x2e, 0x20, 0x00, 0x0d, 0x09, 0x01, 0x1f, 0x7f, 0x65, 0x45,
  0x2d, 0x2b, 0x30, 0x31, 0x39, 0x54, 0x63, 0x73, 0x67, 0x6d, 0x68, 0x64, 0x43, 0xc3, 0xa9, 0xe6, 0xff, 0x80,
];

function byteAt(r: Random, line: Buffer): number {
  return r.int(0, Math.max(0, line.length - 1));
}

function splice(line: Buffer, at: number, remove: number, insert: Buffer | number[]): Buffer {
  return Buffer.concat([line.subarray(0, at), Buffer.from(insert), line.subarray(at + remove)]);
}

export type Mutator = (r: Random, line: Buffer) => Buffer;

export const MUTATORS: Record<string, Mutator> = {
  deleteByte: (r, line) => (line.length === 0 ? line : splice(line, byteAt(r, line), 1, [])),
  insertByte: (r, line) => splice(line, r.int(0, line.length), 0, [r.pick(INTERESTING_BYTES)]),
  insertRandomByte: (r, line) => splice(line, r.int(0, line.length), 0, [r.int(0, 255)]),
  replaceByte: (r, line) =>
    line.length === 0 ? line : splice(line, byteAt(r, line), 1, [r.pick(INTERESTING_BYTES)]),
  insertSpace: (r, line) => splice(line, r.int(0, line.length), 0, [0x20]),
  insertNul: (r, line) => splice(line, r.int(0, line.length), 0, [0x00]),
  insertControl: (r, line) => splice(line, r.int(0, line.length), 0, [r.pick([0x01, 0x08, 0x09, 0x0b, 0x0d, 0x1b, 0x7f])]),
  truncate: (r, line) => line.subarray(0, r.int(0, line.length)),
  // "a:1|c|@0.5" -> "a:1|c|@0.5|@0.5" (or the type or the value field again)
  duplicateField: (r, line) => {
    const fields = line.toString('latin1').split('|');
    const i = r.int(0, fields.length - 1);
    fields.splice(r.int(1, fields.length), 0, fields[i]!);
    return Buffer.from(fields.join('|'), 'latin1');
  },
  // exchange one separator for another (':' '|' ',' '@' '#')
  swapSeparator: (r, line) => {
    const at: number[] = [];
    for (let i = 0; i < line.length; i++) if (':|,@#'.includes(String.fromCharCode(line[i]!))) at.push(i);
    if (at.length === 0) return line;
    const out = Buffer.from(line);
    out[r.pick(at)] = r.pick([0x3a, 0x7c, 0x2c, 0x40, 0x23]);
    return out;
  },
  // append a field of a random shape, valid or not
  addField: (r, line) =>
    Buffer.concat([
      line,
      Buffer.from(
        '|' +
          r.pick([
            '', '@', '@0', '@1.5', '@-0.5', '@0.5', '#', '#a,,b', '#a b', '#ok', 'T', 'T0', 'T1700000000',
            'T1234567890123', 'Tx', 'c:', 'c:abc', 'x', '1.0', '0.1', ':', 'a:b', 'é:x', '_:x',
          ]),
      ),
    ]),
  empty: () => Buffer.alloc(0),
};

const MUTATOR_LIST = Object.values(MUTATORS);

/** Applies 1..3 random mutators to `line`. */
export function mutate(r: Random, line: Buffer): Buffer {
  const times = r.int(1, 3);
  for (let i = 0; i < times; i++) line = r.pick(MUTATOR_LIST)(r, line);
  return line;
}

/**
 * A line as text, valid or mutated. Mutated bytes are decoded as UTF-8 (broken
 * sequences become U+FFFD), so the text and its UTF-8 bytes say the same thing.
 * The result may hold '\n' when a mutator inserted one (it never does here).
 */
export function randomLine(r: Random, dialect: Dialect, mutateRatio = 0.5): string {
  const line = randomValidLine(r, r.bool(0.8) ? dialect : r.pick(['full', 'brubeck'] as const));
  if (!r.bool(mutateRatio)) return line;
  return mutate(r, Buffer.from(line, 'utf8')).toString('utf8');
}

// ---------------------------------------------------------------- metrics (serializer input)

/** A finite double that formatting must round-trip bit for bit. */
export function randomDouble(r: Random): number {
  switch (r.int(0, 7)) {
    case 0:
      return r.pick([0, -0, 5e-324, -5e-324, 1e21, 1e-7, 1e-6, 1e20, 1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 0.3, 1 / 3, 9007199254740993, 123456789.123]);
    case 1:
      return r.int(-1000, 1000);
    case 2:
      return (r.next() - 0.5) * 10 ** r.int(-10, 25);
    case 3: {
      // any finite bit pattern
      const view = new DataView(new ArrayBuffer(8));
      let v: number;
      do {
        view.setUint32(0, r.int(0, 0xffffffff));
        view.setUint32(4, r.int(0, 0xffffffff));
        v = view.getFloat64(0);
      } while (!Number.isFinite(v));
      return v;
    }
    case 4:
      return Number((r.next() * 1000).toFixed(r.int(0, 6)));
    default:
      return Number(randomNumberText(r).replace(/e.*$/i, '')) || 1;
  }
}

export function randomSampleRate(r: Random): number {
  return r.pick([1, 1, 1, 0.5, 0.1, 0.01, 0.025, 1 / 3, 1e-308, 0.9999999999999999, r.next() || 0.5]);
}

/** A metric the serializer accepts, with a round-trippable shape. */
export function randomMetric(r: Random): MetricInput {
  const type = r.pick(FULL_TYPES);
  const metric: MetricInput = { name: randomName(r, 40), type, value: 0 };
  if (type === 's') {
    metric.value = text(r, MEMBER_CHARS, 1, 20);
  } else {
    metric.value = randomDouble(r);
    if (type === 'g') metric.relative = r.bool(0.3);
  }
  if (r.bool(0.4)) metric.sampleRate = randomSampleRate(r);
  if (r.bool(0.3)) {
    const tags: string[] = [];
    const n = r.int(1, 4);
    for (let i = 0; i < n; i++) tags.push(text(r, TAG_CHARS, 1, 12));
    metric.tags = tags;
  }
  if (r.bool(0.2)) metric.timestamp = r.bool(0.7) ? r.int(1_600_000_000, 1_800_000_000) : r.int(1, 999_999_999_999);
  return metric;
}
