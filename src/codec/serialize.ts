// Formatting Metrics as statsd lines and packing them into packets, natively per batch.
/// <reference types="node" preserve="true" />
import {
  LINE_FLAG_RELATIVE,
  LINE_FLAG_TAGS,
  LINE_FLAG_TEXT,
  LINE_FLAG_TIMESTAMP,
  LineBatch,
  PACK_SANITIZE,
  PACK_TRAILING_NEWLINE,
  TAG_SEPARATOR,
  splitPackets,
} from './line-batch';
import { PARSE_REASONS, type ParseReason, reasonError } from '../core/errors';
import { METRIC_TYPE_CODE, type MetricInput } from './metric';
import { booleanOption, choiceOption, integerOption } from '../core/options';

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

const batch = new LineBatch();

function describe(metric: MetricInput, index: number): string {
  return `metric ${index} (${JSON.stringify(metric?.name)})`;
}

// Appends one metric to `batch`, checking what native cannot (types of values).
function encode(metric: MetricInput, index: number): void {
  if (metric === null || typeof metric !== 'object' || typeof metric.name !== 'string') {
    throw reasonError('bad_name', `${describe(metric, index)}: name must be a string`);
  }
  const type = METRIC_TYPE_CODE[metric.type];
  if (type === undefined) throw reasonError('bad_type', describe(metric, index));
  let flags = type;
  let segment = metric.name + '\n';
  let value = 0;
  const raw = metric.value;
  if (typeof raw === 'number') {
    value = raw;
  } else if (typeof raw === 'string' && metric.type === 's') {
    flags |= LINE_FLAG_TEXT;
    segment += raw + '\n';
  } else {
    throw reasonError('bad_value', `${describe(metric, index)}: ${String(raw)}`);
  }
  if (metric.relative === true) flags |= LINE_FLAG_RELATIVE;
  const tags = metric.tags;
  if (tags !== undefined && tags.length > 0) {
    for (const tag of tags) {
      if (typeof tag !== 'string' || tag.includes(TAG_SEPARATOR)) {
        throw reasonError('bad_tag', `${describe(metric, index)}: ${JSON.stringify(tag)}`);
      }
    }
    flags |= LINE_FLAG_TAGS;
    segment += tags.join(TAG_SEPARATOR) + '\n';
  }
  const rate = metric.sampleRate;
  let timestamp = 0;
  if (metric.timestamp !== undefined) {
    flags |= LINE_FLAG_TIMESTAMP;
    timestamp = typeof metric.timestamp === 'number' ? metric.timestamp : NaN;
  }
  batch.push(segment, value, rate === undefined ? 1 : typeof rate === 'number' ? rate : NaN, timestamp, flags);
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
    flags: (sanitize ? PACK_SANITIZE : 0) | (trailing ? PACK_TRAILING_NEWLINE : 0),
    oversize: choiceOption('oversize', o.oversize, 'throw', ['throw', 'drop'] as const),
  };
}

function packResolved(metrics: readonly MetricInput[], o: ResolvedPackOptions): Packets {
  batch.clear();
  for (let i = 0; i < metrics.length; i++) encode(metrics[i]!, i);
  const r = batch.pack(o.maxPacketBytes, o.flags);
  batch.clear();
  if (r.mismatch || r.status !== 0) {
    // A '\n' in a string shifts the segments native reads: find it first, so
    // the metric that holds it is named (or sanitized), not its neighbour.
    const bad = findNewline(metrics);
    if (bad.index >= 0) {
      if (o.flags & PACK_SANITIZE) return packResolved(metrics.map(withoutNewlines), o);
      throw reasonError(bad.reason, `${describe(metrics[bad.index]!, bad.index)} holds a newline`);
    }
  }
  if (r.status !== 0) {
    throw reasonError(PARSE_REASONS[r.status] as ParseReason, describe(metrics[r.failedIndex]!, r.failedIndex));
  }
  if (r.dropped > 0 && o.oversize === 'throw') {
    throw reasonError('too_long', `${r.dropped} line(s) longer than maxPacketBytes ${o.maxPacketBytes}`);
  }
  const packets = splitPackets(r) as Packets;
  packets.dropped = r.dropped;
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
const FORMAT_ONE_SANITIZED: ResolvedPackOptions = { ...FORMAT_ONE, flags: PACK_SANITIZE };

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
