// Aggregator: the native engine behind a validated, typed API (DESIGN.md §5).
/// <reference types="node" preserve="true" />
import { PARSE_REASONS, type ParseReason } from '../core/errors';
import { fieldIndex, native } from '../core/native';
import { choiceOption, invalidOption } from '../core/options';
import { type AggregatorOptions, CONVENTION_CODE, type Convention, toNativeOptions } from './options';

export { DEFAULT_MAX_LINE_BYTES, checkAggregatorOptions } from './options';
export type { AggregatorOptions, Convention } from './options';

/** What a flush writes: carbon plaintext, carbon pickle, or statsd lines for a daemon upstream (native format codes 0, 1, 2). */
const FLUSH_FORMATS = ['plaintext', 'pickle', 'statsd'] as const;
export type FlushFormat = (typeof FLUSH_FORMATS)[number];

export interface FlushResult {
  /** Graphite plaintext lines, or pickle messages, ready to write to carbon. */
  carbon: Buffer;
  /** Datapoints in `carbon`. */
  metrics: number;
  /** The timestamp every datapoint carries (unix seconds). */
  timestamp: number;
}

export interface AggregatorStats {
  packets: number;
  lines: number;
  samples: number;
  errors: number;
  byReason: Record<ParseReason, number>;
  keys: number;
  /** Samples refused because maxKeys or maxKeyBytes was reached (each line also counts in errors). */
  keysDropped: number;
  /** Bytes of key names held now (bounded by maxKeyBytes). */
  keyBytes: number;
  /** Set members refused: their key had maxSetMembers members, or all sets maxIntervalMembers, this interval. */
  membersDropped: number;
  /** Timer samples counted but not stored for percentiles because maxIntervalSamples was reached. */
  samplesNotStored: number;
  /** Datapoints not written because their value was NaN or infinite (e.g. a sum past 1.8e308). */
  nonfiniteDropped: number;
  /** Keys not forwarded by a flush in format 'statsd' because etsy's sanitizing left them no name. */
  notForwarded: number;
  keysExpired: number;
  flushes: number;
}

/** The last second a flush may be stamped with: whisper's unsigned 32-bit time (2106-02-07). */
export const MAX_TIMESTAMP = 2 ** 32 - 1;

/** One key's live state, from snapshot(). */
export type KeySnapshot =
  /** `value` is null when it is not finite: a sum past the largest double (flushes drop it, counted in nonfiniteDropped). */
  | { key: string; kind: 'counter' | 'monotonic' | 'gauge'; updated: boolean; value: number | null }
  | { key: string; kind: 'set'; updated: boolean; value: number }
  | { key: string; kind: 'timer'; updated: boolean; count: number; samples: number[] };

interface NativeAggregator {
  ingest(input: Uint8Array): void;
  flush(timestamp: number, format: number): Buffer;
  flushAsync(timestamp: number, format: number): Promise<{ carbon: Buffer; metrics: number }>;
  stats(out: Float64Array): void;
  snapshot(key?: string, samples?: boolean): string;
}

type NativeAggregatorClass = new (options: object, results: Float64Array) => NativeAggregator;
const NativeAggregatorCtor = (native as unknown as { Aggregator: NativeAggregatorClass }).Aggregator;

/** Slots of the native aggregator's stats (native/layout.h AggregatorStat). */
const STATS = fieldIndex('aggregatorStats', [
  'packets',
  'lines',
  'samples',
  'errors',
  'keysDropped',
  'keysExpired',
  'flushes',
  'keys',
  ...PARSE_REASONS.map((r) => `byReason.${r}` as const),
  'membersDropped',
  'keyBytes',
  'samplesNotStored',
  'nonfiniteDropped',
  'notForwarded',
]);
/** Each reason's slot in STATS (the reasons of bad lines: not 'ok'). */
const STATS_BY_REASON = PARSE_REASONS.slice(1).map((r) => [r as ParseReason, STATS[`byReason.${r}`]] as const);
/** Slots of what the native aggregator's last ingest and flush did (native/layout.h AggregatorResult). */
const RESULTS = fieldIndex('aggregatorResults', ['ingestLines', 'ingestErrors', 'flushMetrics']);
/**
 * The key of the native object behind an Aggregator, for the daemon's native
 * datagram input (src/daemon/inputs/datagram.ts), whose receiving threads
 * ingest into it directly. Not exported from the package.
 * @internal
 */
export const kNativeAggregator: unique symbol = Symbol('statsd-native aggregator');

/**
 * The unix second a flush at `ms` is stamped with, as each peer stamps it:
 * brubeck floors the second, etsy statsd rounds it (Math.round(Date.now() / 1000)).
 */
export function flushSecond(convention: Convention, ms: number): number {
  return convention === 'etsy' ? Math.round(ms / 1000) : Math.floor(ms / 1000);
}

/**
 * Aggregates statsd packets and flushes Graphite datapoints. Ingest and flush
 * are synchronous native calls: one per packet, one per flush.
 */
export class Aggregator {
  readonly convention: Convention;
  readonly #native: NativeAggregator;

  /** @internal the native object, for the daemon's datagram input */
  get [kNativeAggregator](): object {
    return this.#native;
  }
  readonly #results = new Float64Array(native.layout.aggregatorResults.length);
  readonly #stats = new Float64Array(native.layout.aggregatorStats.length);

  constructor(options: AggregatorOptions = {}) {
    const resolved = toNativeOptions(options);
    this.convention = (resolved as { convention: number }).convention === CONVENTION_CODE.brubeck ? 'brubeck' : 'etsy';
    this.#native = new NativeAggregatorCtor(resolved, this.#results);
  }

  /** Parses and aggregates one datagram or chunk of whole lines. */
  ingest(input: Buffer | Uint8Array | string): { lines: number; errors: number } {
    this.#native.ingest(typeof input === 'string' ? Buffer.from(input) : input);
    return { lines: this.#results[RESULTS.ingestLines]!, errors: this.#results[RESULTS.ingestErrors]! };
  }

  /**
   * Reports every live key and starts a new interval. `timestamp` defaults to
   * now (unix seconds); `format: 'pickle'` gives carbon pickle messages;
   * `format: 'statsd'` gives statsd lines for a daemon upstream instead of
   * Graphite (native/flush_statsd.cc: counters as sums, gauges, sets as
   * members, timers as samples; `metrics` counts lines).
   */
  flush(opts: { timestamp?: number; format?: FlushFormat } = {}): FlushResult {
    const { timestamp, format } = this.#flushOptions(opts);
    const carbon = this.#native.flush(timestamp, format);
    return { carbon, metrics: this.#results[RESULTS.flushMetrics]!, timestamp };
  }

  /**
   * The same flush on a worker thread: the JS thread goes on meanwhile (a
   * flush of 1M timers takes seconds). While it runs, `ingest`, `flush` and
   * `snapshot` wait for it; `stats` gives the totals of its last read.
   */
  async flushAsync(opts: { timestamp?: number; format?: FlushFormat } = {}): Promise<FlushResult> {
    const { timestamp, format } = this.#flushOptions(opts);
    const { carbon, metrics } = await this.#native.flushAsync(timestamp, format);
    return { carbon, metrics, timestamp };
  }

  #flushOptions(opts: { timestamp?: number; format?: FlushFormat }): { timestamp: number; format: number } {
    const timestamp = opts.timestamp ?? flushSecond(this.convention, Date.now());
    // Whisper stores unsigned 32-bit seconds: later ones cannot be kept anyway.
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP) {
      throw invalidOption('timestamp', `unix seconds from 0 to ${MAX_TIMESTAMP}`, timestamp);
    }
    const format = choiceOption('format', opts.format, 'plaintext', FLUSH_FORMATS);
    return { timestamp, format: FLUSH_FORMATS.indexOf(format) };
  }

  /**
   * Every key's current state as plain objects (slow: O(keys); for tools and
   * tests), or with `key` (the stored key: path, then `;k=v` tags) just that
   * key's state, in O(1): one entry, or one per type in the etsy convention.
   * `samples: false` leaves a timer's samples out (`samples: []`), for a
   * lookup that must not cost O(samples), as the daemon's /metric/<key>.
   */
  snapshot(key?: string, opts: { samples?: boolean } = {}): KeySnapshot[] {
    if (key !== undefined && typeof key !== 'string') throw invalidOption('key', 'a string', key);
    return JSON.parse(this.#native.snapshot(key, opts.samples ?? true)) as KeySnapshot[];
  }

  /** Totals since construction. */
  get stats(): AggregatorStats {
    const s = this.#stats;
    this.#native.stats(s);
    const byReason = {} as Record<ParseReason, number>;
    for (const [reason, slot] of STATS_BY_REASON) byReason[reason] = s[slot]!;
    return {
      packets: s[STATS.packets]!,
      lines: s[STATS.lines]!,
      samples: s[STATS.samples]!,
      errors: s[STATS.errors]!,
      keysDropped: s[STATS.keysDropped]!,
      keyBytes: s[STATS.keyBytes]!,
      membersDropped: s[STATS.membersDropped]!,
      samplesNotStored: s[STATS.samplesNotStored]!,
      nonfiniteDropped: s[STATS.nonfiniteDropped]!,
      notForwarded: s[STATS.notForwarded]!,
      keysExpired: s[STATS.keysExpired]!,
      flushes: s[STATS.flushes]!,
      keys: s[STATS.keys]!,
      byReason,
    };
  }
}
