// Formatting Metrics as statsd lines and packing them into packets, natively per batch.
import { PARSE_REASONS, type ParseReason, StatsdError, reasonError } from './errors';
import { METRIC_TYPE_CODE, type MetricInput } from './metric';
import { native } from './native';
import { booleanOption, choiceOption, integerOption } from './options';

export interface PackOptions {
  /** Largest packet in bytes (default 1432: a 1500-byte MTU less IP/UDP headers). */
  maxPacketBytes?: number;
  /** Replace bytes that would corrupt a line with '_' instead of throwing. */
  sanitize?: boolean;
  /** End every packet with '\n' (stream transports). Default false. */
  trailingNewline?: boolean;
  /** A line longer than maxPacketBytes: 'throw' (default) or 'drop' and count it. */
  oversize?: 'throw' | 'drop';
}

/** Packets, in order; `dropped` counts lines that alone exceeded the limit. */
export type Packets = Buffer[] & { dropped: number };

// Batch encoding read by native/serializer.h PackBatch.
const STRIDE = 4;
const FLAG_RELATIVE = 1 << 4;
const FLAG_TEXT = 1 << 5;
const FLAG_TAGS = 1 << 6;
const FLAG_TIMESTAMP = 1 << 7;
const TAG_SEPARATOR = '\x1f';

if (native.layout.batchStride !== STRIDE) {
  throw new StatsdError('ERR_STATSD_NATIVE', 'statsd-native: addon and TypeScript layouts differ; run `npm rebuild`');
}

let columns = new Float64Array(STRIDE * 1024);
let ends = new Uint32Array(1025);
const result = new Uint32Array(5);

function describe(metric: MetricInput, index: number): string {
  return `metric ${index} (${JSON.stringify(metric?.name)})`;
}

// Encodes one metric into `columns` at `index` and returns its strings segment.
function encode(metric: MetricInput, index: number): string {
  if (metric === null || typeof metric !== 'object' || typeof metric.name !== 'string') {
    throw reasonError('bad_name', `${describe(metric, index)}: name must be a string`);
  }
  const type = METRIC_TYPE_CODE[metric.type];
  if (type === undefined) throw reasonError('bad_type', describe(metric, index));
  let flags = type;
  let strings = metric.name + '\n';
  let value = 0;
  const raw = metric.value;
  if (typeof raw === 'number') {
    value = raw;
  } else if (typeof raw === 'string' && metric.type === 's') {
    flags |= FLAG_TEXT;
    strings += raw + '\n';
  } else {
    throw reasonError('bad_value', `${describe(metric, index)}: ${String(raw)}`);
  }
  if (metric.relative === true) flags |= FLAG_RELATIVE;
  const tags = metric.tags;
  if (tags !== undefined && tags.length > 0) {
    for (const tag of tags) {
      if (typeof tag !== 'string' || tag.includes(TAG_SEPARATOR)) {
        throw reasonError('bad_tag', `${describe(metric, index)}: ${JSON.stringify(tag)}`);
      }
    }
    flags |= FLAG_TAGS;
    strings += tags.join(TAG_SEPARATOR) + '\n';
  }
  const at = index * STRIDE;
  columns[at] = value;
  const rate = metric.sampleRate;
  columns[at + 1] = rate === undefined ? 1 : typeof rate === 'number' ? rate : NaN;
  if (metric.timestamp !== undefined) {
    flags |= FLAG_TIMESTAMP;
    columns[at + 2] = typeof metric.timestamp === 'number' ? metric.timestamp : NaN;
  } else {
    columns[at + 2] = 0;
  }
  columns[at + 3] = flags;
  return strings;
}

// The first metric whose strings hold '\n' (which would shift the segments).
function findNewline(metrics: readonly MetricInput[]): { index: number; reason: ParseReason } {
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i]!;
    if (m.name.includes('\n')) return { index: i, reason: 'bad_name' };
    if (typeof m.value === 'string' && m.value.includes('\n')) return { index: i, reason: 'bad_value' };
    if (m.tags?.some((t) => t.includes('\n'))) return { index: i, reason: 'bad_tag' };
  }
  return { index: -1, reason: 'bad_name' };
}

function withoutNewlines(m: MetricInput): MetricInput {
  return {
    ...m,
    name: m.name.replace(/\n/g, '_'),
    value: typeof m.value === 'string' ? m.value.replace(/\n/g, '_') : m.value,
    tags: m.tags?.map((t) => t.replace(/\n/g, '_')),
  };
}

interface ResolvedPackOptions {
  maxPacketBytes: number;
  flags: number;
  oversize: 'throw' | 'drop';
}

function resolve(opts: PackOptions | undefined): ResolvedPackOptions {
  const o = opts ?? {};
  const sanitize = booleanOption('sanitize', o.sanitize, false);
  const trailing = booleanOption('trailingNewline', o.trailingNewline, false);
  return {
    maxPacketBytes: integerOption('maxPacketBytes', o.maxPacketBytes, 1432, 1, 0xffffffff),
    flags: (sanitize ? 1 : 0) | (trailing ? 2 : 0),
    oversize: choiceOption('oversize', o.oversize, 'throw', ['throw', 'drop'] as const),
  };
}

function packResolved(metrics: readonly MetricInput[], o: ResolvedPackOptions): Packets {
  const count = metrics.length;
  if (columns.length < count * STRIDE) columns = new Float64Array(count * STRIDE * 2);
  if (ends.length < count + 1) ends = new Uint32Array(count * 2 + 1);
  let strings = '';
  for (let i = 0; i < count; i++) strings += encode(metrics[i]!, i);

  const bytes = native.pack(strings, columns, count, o.maxPacketBytes, o.flags, ends, result);
  if (result[3] === 1 || result[2] !== 0) {
    // A '\n' in a string shifts the segments native reads: find it first, so
    // the metric that holds it is named (or sanitized), not its neighbour.
    const bad = findNewline(metrics);
    if (bad.index >= 0) {
      if (o.flags & 1) return packResolved(metrics.map(withoutNewlines), o);
      throw reasonError(bad.reason, `${describe(metrics[bad.index]!, bad.index)} holds a newline`);
    }
  }
  if (result[2] !== 0) {
    const index = result[4]!;
    throw reasonError(PARSE_REASONS[result[2]!] as ParseReason, describe(metrics[index]!, index));
  }
  const dropped = result[1]!;
  if (dropped > 0 && o.oversize === 'throw') {
    throw reasonError('too_long', `${dropped} line(s) longer than maxPacketBytes ${o.maxPacketBytes}`);
  }
  const packetCount = result[0]!;
  const packets = new Array<Buffer>(packetCount) as Packets;
  let start = 0;
  for (let i = 0; i < packetCount; i++) {
    const end = ends[i]!;
    packets[i] = bytes.subarray(start, end);
    start = end;
  }
  packets.dropped = dropped;
  return packets;
}

/**
 * Formats metrics and packs the lines into packets of at most maxPacketBytes,
 * split only between lines, in one native call. Invalid metrics throw a
 * StatsdError naming the metric; nothing is sent half-formed.
 */
export function pack(metrics: readonly MetricInput[], opts?: PackOptions): Packets {
  return packResolved(metrics, resolve(opts));
}

const FORMAT_ONE: ResolvedPackOptions = { maxPacketBytes: 0xffffffff, flags: 0, oversize: 'throw' };
const FORMAT_ONE_SANITIZED: ResolvedPackOptions = { ...FORMAT_ONE, flags: 1 };

/**
 * The statsd text of one metric, without a trailing newline. A negative
 * absolute gauge gives two lines ("x:0|g\nx:-5|g") so no server reads it as
 * a decrement.
 */
export function formatLine(metric: MetricInput, opts?: { sanitize?: boolean }): string {
  const sanitize = booleanOption('sanitize', opts?.sanitize, false);
  const packets = packResolved([metric], sanitize ? FORMAT_ONE_SANITIZED : FORMAT_ONE);
  return packets[0]!.toString('utf8');
}
