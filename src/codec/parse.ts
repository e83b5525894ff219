// Bulk and single-line parsing over the native parser, with lazily built Metrics.
/// <reference types="node" preserve="true" />
import { PARSE_REASONS, type ParseReason, StatsdError, reasonError } from '../core/errors';
import { DIALECTS, type Dialect, METRIC_TYPES, type Metric } from './metric';
import { fieldIndex, flagValues, native } from '../core/native';
import { choiceOption, integerOption } from '../core/options';

export interface ParseOptions {
  /** `full` (default): DESIGN §4. `brubeck`: only what brubeck accepts. */
  dialect?: Dialect;
  /** Lines longer than this many bytes are rejected as `too_long` (default 8192). */
  maxLineBytes?: number;
}

export interface ParseErrors {
  /** Bad lines in the input. */
  total: number;
  /** Bad lines per reason; reasons that did not occur are 0. */
  byReason: Record<ParseReason, number>;
  /** The first few bad lines, as text, with their reason. */
  examples: { line: string; reason: ParseReason }[];
}

// Record layout written by native/records.h: per sample, 8-byte slots (a
// double, or two uint32 words: start and length, or flags and value index).
const RECORD = fieldIndex('records', ['value', 'sampleRate', 'timestamp', 'name', 'tags', 'text', 'flags', 'line']);
const RECORD_DOUBLES = native.layout.records.length;
const D_VALUE = RECORD.value;
const D_RATE = RECORD.sampleRate;
const D_TIMESTAMP = RECORD.timestamp;
const U_NAME = 2 * RECORD.name;
const U_TAGS = 2 * RECORD.tags;
const U_TEXT = 2 * RECORD.text;
const U_FLAGS = 2 * RECORD.flags;
// A record's flag word (native/records.h kParseFlag*; not LineBatch's LINE_FLAG_*).
const PARSE_FLAGS = flagValues('parseFlags', ['typeMask', 'relative', 'timestamp']);
const PARSE_TYPE_MASK = PARSE_FLAGS.typeMask;
const PARSE_FLAG_RELATIVE = PARSE_FLAGS.relative;
const PARSE_FLAG_TIMESTAMP = PARSE_FLAGS.timestamp;
// Summary layout (native/records.h InfoSlot), then kept bad lines from INFO.first on.
const INFO = fieldIndex('parseInfo', [
  'resume',
  'records',
  'lines',
  'errors',
  ...PARSE_REASONS.map((r) => `byReason.${r}` as const),
  'firstCount',
  'first',
]);
const EXAMPLE = fieldIndex('parseExample', ['start', 'length', 'status']);
const EXAMPLE_SLOTS = native.layout.parseExample.length;
/** Each bad-line reason's slot in INFO. */
const INFO_BY_REASON = PARSE_REASONS.slice(1).map((r) => [r as ParseReason, INFO[`byReason.${r}`]] as const);
// The codes the records' types and statuses are given in.
fieldIndex('metricTypes', METRIC_TYPES);
fieldIndex('parseStatuses', PARSE_REASONS);

const DIALECT_CODE = fieldIndex('dialects', DIALECTS);

interface ResolvedParseOptions {
  dialect: number;
  maxLineBytes: number;
}

const DEFAULTS: ResolvedParseOptions = { dialect: DIALECT_CODE.full, maxLineBytes: 8192 };

function resolve(opts: ParseOptions | undefined): ResolvedParseOptions {
  if (opts === undefined) return DEFAULTS;
  return {
    dialect: DIALECT_CODE[choiceOption('dialect', opts.dialect, 'full', DIALECTS)],
    maxLineBytes: integerOption('maxLineBytes', opts.maxLineBytes, 8192, 1, 0xffffffff),
  };
}

// Scratch the native parser fills; a batch copies out what it needs, so the
// scratch is reused across calls (grown, never shrunk).
let scratch = new Float64Array(RECORD_DOUBLES * 4096);
const info = new Uint32Array(native.layout.infoSize);
const NO_ERRORS = new Uint32Array(native.layout.infoSize);

/** Where a batch's records live: a slab shared by small batches, or its own copy. */
interface RecordSlice {
  doubles: Float64Array;
  words: Uint32Array;
  base: number;
}

// Small batches (a datagram's worth) copy their records into a shared 1 MiB
// slab instead of allocating each time, as Node's Buffer pool does: a typed
// array allocation costs more than parsing a short packet. A batch keeps its
// slab alive; a new slab starts when one is full.
const SLAB_DOUBLES = 1 << 17;
let slab = new Float64Array(SLAB_DOUBLES);
let slabWords = new Uint32Array(slab.buffer);
let slabUsed = 0;

function keepRecords(count: number): RecordSlice {
  const n = count * RECORD_DOUBLES;
  if (n > SLAB_DOUBLES / 8) {
    const own = scratch.slice(0, n);
    return { doubles: own, words: new Uint32Array(own.buffer), base: 0 };
  }
  if (slabUsed + n > SLAB_DOUBLES) {
    slab = new Float64Array(SLAB_DOUBLES);
    slabWords = new Uint32Array(slab.buffer);
    slabUsed = 0;
  }
  const base = slabUsed;
  slab.set(scratch.subarray(0, n), base);
  slabUsed += n;
  return { doubles: slab, words: slabWords, base };
}

/**
 * The samples of one parsed input. Metrics are built only when asked for;
 * the batch keeps a reference to the input bytes to decode names from.
 */
export class MetricBatch implements Iterable<Metric> {
  /** Number of samples (a multi-value line counts once per value). */
  readonly length: number;
  /** Number of good lines. */
  readonly lines: number;
  readonly #input: Buffer;
  /** The parse summary, kept only when there were bad lines. */
  readonly #summary: Uint32Array | undefined;
  #errors: ParseErrors | undefined;
  readonly #doubles: Float64Array;
  readonly #words: Uint32Array;
  /** Index of this batch's first record double in #doubles. */
  readonly #base: number;

  /** @internal */
  constructor(input: Buffer, slice: RecordSlice, length: number, lines: number, summary: Uint32Array | undefined) {
    this.#input = input;
    this.#doubles = slice.doubles;
    this.#words = slice.words;
    this.#base = slice.base;
    this.length = length;
    this.lines = lines;
    this.#summary = summary;
  }

  /** Bad lines: a count per reason and the first few as examples. */
  get errors(): ParseErrors {
    this.#errors ??= readErrors(this.#input, this.#summary ?? NO_ERRORS);
    return this.#errors;
  }

  /** The sample at `index` as a new Metric, or undefined when out of range. */
  at(index: number): Metric | undefined {
    if (index < 0) index += this.length;
    if (!(index >= 0 && index < this.length)) return undefined;
    const d = this.#base + index * RECORD_DOUBLES;
    const u = d * 2;
    const words = this.#words;
    const flags = words[u + U_FLAGS]!;
    const type = METRIC_TYPES[flags & PARSE_TYPE_MASK]!;
    const tagsLength = words[u + U_TAGS + 1]!;
    const metric: Metric = {
      name: this.#text(words[u + U_NAME]!, words[u + U_NAME + 1]!),
      type,
      value: type === 's' ? this.#text(words[u + U_TEXT]!, words[u + U_TEXT + 1]!) : this.#doubles[d + D_VALUE]!,
      relative: (flags & PARSE_FLAG_RELATIVE) !== 0,
      sampleRate: this.#doubles[d + D_RATE]!,
      tags: tagsLength === 0 ? [] : splitTags(this.#text(words[u + U_TAGS]!, tagsLength)),
    };
    if (flags & PARSE_FLAG_TIMESTAMP) metric.timestamp = this.#doubles[d + D_TIMESTAMP]!;
    return metric;
  }

  *[Symbol.iterator](): Iterator<Metric> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  toArray(): Metric[] {
    return Array.from(this);
  }

  #text(start: number, length: number): string {
    return this.#input.toString('utf8', start, start + length);
  }
}

function readErrors(input: Buffer, summary: Uint32Array): ParseErrors {
  const byReason = {} as Record<ParseReason, number>;
  for (const [reason, slot] of INFO_BY_REASON) byReason[reason] = summary[slot]!;
  const examples: ParseErrors['examples'] = [];
  for (let i = 0; i < summary[INFO.firstCount]!; i++) {
    const at = INFO.first + EXAMPLE_SLOTS * i;
    const start = summary[at + EXAMPLE.start]!;
    const length = summary[at + EXAMPLE.length]!;
    examples.push({
      line: input.toString('utf8', start, start + Math.min(length, 200)),
      reason: PARSE_REASONS[summary[at + EXAMPLE.status]!] as ParseReason,
    });
  }
  return { total: summary[INFO.errors]!, byReason, examples };
}

function toBuffer(input: Buffer | Uint8Array | string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (Buffer.isBuffer(input)) return input;
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError(`Expected a Buffer, Uint8Array or string for input but received ${typeof input}`);
}

/**
 * Parses a datagram, a stream chunk of whole lines, or any text of
 * '\n'-separated statsd lines. One native call walks the whole input; bad
 * lines are counted in `errors` and never hide the good lines beside them.
 */
export function parse(input: Buffer | Uint8Array | string, opts?: ParseOptions): MetricBatch {
  const bytes = toBuffer(input);
  const { dialect, maxLineBytes } = resolve(opts);
  info.fill(0);
  let start = 0;
  for (;;) {
    native.parse(bytes, start, scratch, info, dialect, maxLineBytes);
    const resume = info[INFO.resume]!;
    if (resume >= bytes.length) break;
    // The records ran out at a line boundary: grow them and go on from there.
    const grown = new Float64Array(scratch.length * 2);
    grown.set(scratch);
    scratch = grown;
    start = resume;
  }
  const count = info[INFO.records]!;
  return new MetricBatch(bytes, keepRecords(count), count, info[INFO.lines]!, info[INFO.errors]! > 0 ? info.slice() : undefined);
}

/**
 * Parses exactly one line (a trailing '\n' is allowed) into a Metric, or
 * throws a StatsdError whose `code` names the reason (ERR_STATSD_BAD_VALUE …).
 * A multi-value line (`a:1:2|ms`) throws ERR_STATSD_MULTI_VALUE: use parse().
 */
export function parseLine(line: string, opts?: ParseOptions): Metric {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (text.includes('\n')) {
    throw new StatsdError('ERR_STATSD_BAD_VALUE', `parseLine takes one line: ${JSON.stringify(line)}`);
  }
  const batch = parse(text, opts);
  if (batch.errors.total > 0) {
    throw reasonError(batch.errors.examples[0]!.reason, JSON.stringify(line));
  }
  if (batch.length === 0) throw reasonError('bad_name', 'empty line');
  if (batch.length > 1) {
    throw new StatsdError(
      'ERR_STATSD_MULTI_VALUE',
      `line holds ${batch.length} values; parse() returns one Metric per value: ${JSON.stringify(line)}`,
    );
  }
  return batch.at(0)!;
}

/** A tag list as parsed: empty tags (`a,,b`) are dropped. */
function splitTags(text: string): string[] {
  const tags = text.split(',');
  return tags.includes('') ? tags.filter((t) => t !== '') : tags;
}
