// A plain TypeScript parser for one statsd line: the readable statement of the
// grammar (DESIGN.md §4) and the oracle the native parser is tested against.
// It is deliberately simple, not fast.
import { isUtf8 } from 'node:buffer';

import type { ParseReason } from '../core/errors';
import type { Dialect, Metric, MetricType } from './metric';

export type ReferenceResult = { ok: true; metrics: Metric[] } | { ok: false; reason: ParseReason };

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

const FULL_TYPES: readonly string[] = ['c', 'C', 'g', 'ms', 'h', 's', 'd'];
const BRUBECK_TYPES: readonly string[] = ['c', 'C', 'g', 'ms', 'h'];

function fail(reason: ParseReason): ReferenceResult {
  return { ok: false, reason };
}

/** A decimal per the grammar, finite; underflow reads as zero. */
function decimal(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Parses one line (no '\n'; a trailing '\r' is dropped). `maxLineBytes`
 * counts UTF-8 bytes of the line as given, like the native parser. Bytes that
 * are not UTF-8 are read one character per byte (latin1: every rule but the
 * encoding's is about ASCII) and the strings returned decoded as UTF-8.
 */
export function parseLineReference(
  input: string | Uint8Array,
  dialect: Dialect = 'full',
  maxLineBytes = 8192,
): ReferenceResult {
  let line: string;
  if (typeof input !== 'string') {
    if (input.length > maxLineBytes) return fail('too_long');
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
    if (!isUtf8(bytes)) return parseLatin1(bytes.toString('latin1'), dialect);
    line = bytes.toString('utf8');
  } else {
    line = input;
  }
  if (Buffer.byteLength(line, 'utf8') > maxLineBytes) return fail('too_long');
  return parseText(line, dialect, (text) => text);
}

/** A line that is not UTF-8, as latin1 text; see parseLineReference. */
function parseLatin1(line: string, dialect: Dialect): ReferenceResult {
  const utf8 = (text: string) => Buffer.from(text, 'latin1').toString('utf8');
  const result = parseText(line, dialect, (text) => (isUtf8(Buffer.from(text, 'latin1')) ? utf8(text) : undefined));
  if (!result.ok) return result;
  return {
    ok: true,
    metrics: result.metrics.map((m) => ({ ...m, value: typeof m.value === 'string' ? utf8(m.value) : m.value })),
  };
}

/**
 * The grammar over text. `decode` gives a name's or tag's characters as
 * carbon would read them, or undefined when they are not UTF-8.
 */
function parseText(line: string, dialect: Dialect, decode: (text: string) => string | undefined): ReferenceResult {
  if (line.endsWith('\r')) line = line.slice(0, -1);

  // name: up to the first ':'; a '|' first means there is no value
  let nameEnd = 0;
  for (; nameEnd < line.length; nameEnd++) {
    const c = line[nameEnd]!;
    if (c === ':') break;
    if (c === '|') return fail('bad_value');
    if (c === ' ' || CONTROL.test(c)) return fail('bad_name');
  }
  if (nameEnd === line.length) return fail('bad_value');
  const rawName = line.slice(0, nameEnd);
  if (rawName === '' || rawName.endsWith('.')) return fail('bad_name');
  const name = decode(rawName);
  if (name === undefined) return fail('bad_encoding');

  const parts = line.slice(nameEnd + 1).split('|');
  if (parts.length < 2) return fail('bad_type');
  const [valueText, typeText, ...fields] = parts as [string, string, ...string[]];
  const types = dialect === 'brubeck' ? BRUBECK_TYPES : FULL_TYPES;
  if (!types.includes(typeText)) return fail('bad_type');
  const type = typeText as MetricType;

  let sampleRate = 1;
  let tags: string[] = [];
  let timestamp: number | undefined;
  let seenRate = false;
  let seenTags = false;
  for (const field of fields) {
    if (field === '') return fail('bad_field');
    if (field[0] === '@') {
      if (seenRate) return fail('bad_field');
      seenRate = true;
      const rate = decimal(field.slice(1));
      if (rate === undefined || !(rate > 0 && rate <= 1 && Number.isFinite(1 / rate))) return fail('bad_rate');
      sampleRate = rate;
    } else if (dialect === 'brubeck') {
      return fail('bad_field');
    } else if (field[0] === '#') {
      if (seenTags) return fail('bad_field');
      seenTags = true;
      // empty tags, and an empty list, are dropped (as the DogStatsD agent,
      // gostatsd and statsd_exporter do)
      const raw = field.slice(1);
      if (raw.includes(' ') || CONTROL.test(raw)) return fail('bad_tag');
      const decoded = decode(raw);
      if (decoded === undefined) return fail('bad_encoding');
      tags = decoded.split(',').filter((t) => t !== '');
    } else if (field[0] === 'T' && !/^T[A-Za-z]/.test(field)) {
      if (timestamp !== undefined) return fail('bad_field');
      if (!/^T\d{1,12}$/.test(field) || Number(field.slice(1)) === 0) return fail('bad_timestamp');
      timestamp = Number(field.slice(1));
    } else if (!/^[A-Za-z0-9_]+:/.test(field)) {
      return fail('bad_field');
    }
  }

  const make = (value: number | string, relative: boolean): Metric => {
    const m: Metric = { name, type, value, relative, sampleRate, tags: [...tags] };
    if (timestamp !== undefined) m.timestamp = timestamp;
    return m;
  };
  if (type === 's') {
    if (valueText === '' || CONTROL.test(valueText)) return fail('bad_value');
    return { ok: true, metrics: [make(valueText, false)] };
  }
  const values = valueText.split(':');
  if (dialect === 'brubeck' && values.length > 1) return fail('bad_value');
  if (dialect === 'full') {
    // empty entries (`1.5:41:`) are skipped, as the DogStatsD agent and gostatsd do
    const given = values.filter((v) => v !== '');
    if (given.length === 0) return fail('bad_value');
    values.splice(0, values.length, ...given);
  }
  const metrics: Metric[] = [];
  for (const text of values) {
    const value = decimal(text);
    if (value === undefined) return fail('bad_value');
    metrics.push(make(value, text[0] === '+' || text[0] === '-'));
  }
  return { ok: true, metrics };
}
