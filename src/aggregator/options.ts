// The Aggregator's options: their meaning (TSDoc), their checks and
// defaults, and the native form they are handed over in.
import { DIALECTS, type Dialect } from '../codec/metric';
import { fieldIndex } from '../core/native';
import { booleanOption, choiceOption, integerOption, invalidOption, knownKeys } from '../core/options';

export type Convention = 'brubeck' | 'etsy';

export interface AggregatorOptions {
  /** Meaning and names of the output: `brubeck` (default) or `etsy` (statsd 0.9). */
  convention?: Convention;
  /** Parser dialect (default `full`). */
  dialect?: Dialect;
  /** Longest accepted line in bytes (default 8192). */
  maxLineBytes?: number;
  /** Flush interval in ms, used for `count_ps` and counter rates (default 10000). */
  flushInterval?: number;
  /** Samples stored per timer key and interval; past it, reservoir sampling (default 65535). */
  maxSamplesPerKey?: number;
  /** Most keys held; samples for new keys past it are dropped and counted (default 1e6). */
  maxKeys?: number;
  /**
   * Most bytes of key names held (name + tags; default 256 MiB). Like maxKeys,
   * samples for new keys past it are dropped and counted in `keysDropped`.
   */
  maxKeyBytes?: number;
  /** Distinct members counted per set key and interval; past it new members are dropped and counted in `membersDropped` (default 1e6). */
  maxSetMembers?: number;
  /**
   * Timer samples stored per interval over all keys (default 16,777,216: 128 MiB
   * of samples). Past it timers store no more samples this interval but still
   * count every one in count/sum/min/max and sample among what they stored;
   * each such sample counts in `samplesNotStored`.
   */
  maxIntervalSamples?: number;
  /**
   * Set members stored per interval over all keys (default 2,097,152, ~64 B
   * each); past it new members are dropped and counted in `membersDropped`.
   */
  maxIntervalMembers?: number;
  /** Seconds a key may stay idle before it is no longer reported and is freed (0 = never). */
  expire?: number;
  /**
   * brubeck: report a key every flush, idle or not (upstream brubeck without
   * `expire`). Default false: a key is reported in the flush where it was
   * updated and in one more, then it is silent until its next update (its
   * state kept), as the lukepalmer fork of brubeck that the seed runs.
   */
  reportIdle?: boolean;
  /** Seed for reservoir sampling (default 1), for reproducible percentiles. */
  seed?: number;
  /**
   * Set members are kept as 64-bit hashes. By default (0) under a random
   * seed per aggregator (crafted members cannot collide); with a seed (a safe
   * integer ≥ 1) under that one, so daemons forwarding their sets upstream
   * (flush format 'statsd') name each member alike: give every daemon of a
   * tier the same seed, kept secret if senders are not trusted.
   */
  memberSeed?: number;
  /**
   * Partitions of the keys by hash (1 to 64; default 1, or the environment's
   * `STATSD_NATIVE_SHARDS`). In the daemon each shard is applied to by its own
   * thread while the receiving threads parse, so one sender's datagrams use
   * more than one core; the output is the same keys and values, in the order
   * keys were first seen.
   * The limits hold over all shards. Past maxSamplesPerKey each shard samples
   * from its own random stream (seed + shard index), so a sampled timer's
   * percentiles differ from one shard's.
   */
  shards?: number;
  /** brubeck: percentiles as fractions (default [0.75, 0.95, 0.98, 0.99, 0.999]). */
  percentiles?: number[];
  /** brubeck: prefix of the internal metrics `.metrics .errors .unique_keys` (default 'brubeck'). */
  serverName?: string;
  /** etsy: percentThreshold, a number or list; negative = top (default [90]). */
  percentThreshold?: number | number[];
  /** etsy: histogram bins for timers whose key contains `metric`. */
  histogram?: { metric: string; bins: (number | 'inf')[] }[];
  /**
   * etsy: the timer fields to write, as statsd 0.9's `calculatedTimerMetrics`
   * (e.g. `['count', 'count_ps', 'mean_percent', 'histogram']`): `count`,
   * `count_ps`, `lower`, `upper`, `mean`, `median`, `std`, `sum`,
   * `sum_squares`; `histogram` for all of a timer's `histogram.bin_*`; and per
   * percentThreshold `<field>_percent` for `count_90`, `mean_90`, `upper_90`
   * (`lower_top10`), `sum_90`, `sum_squares_90`. A name ending in `_<digits>`
   * or `_top<digits>` matches as if that ending were `_percent`, so a
   * threshold of 99.9 (`mean_99_9`) matches `mean_99_percent`, not
   * `mean_percent`, as in etsy. Absent or empty: every field.
   */
  calculatedTimerMetrics?: string[];
  /** etsy graphite options (same names and defaults as statsd 0.9). */
  legacyNamespace?: boolean;
  flushCounts?: boolean;
  keyNameSanitize?: boolean;
  globalPrefix?: string;
  prefixCounter?: string;
  prefixTimer?: string;
  prefixGauge?: string;
  prefixSet?: string;
  globalSuffix?: string;
  prefixStats?: string;
  deleteIdleStats?: boolean;
  deleteCounters?: boolean;
  deleteTimers?: boolean;
  deleteSets?: boolean;
  deleteGauges?: boolean;
  gaugesMaxTTL?: number;
}

/** Longest line accepted by default, in bytes (statsd lines are short; a longer one is `too_long`). */
export const DEFAULT_MAX_LINE_BYTES = 8192;

/** Most shards an aggregator takes (a thread each in the daemon). */
export const MAX_SHARDS = 64;

/**
 * Shards when none are given: `STATSD_NATIVE_SHARDS` from the environment,
 * else 1. CI runs the suite with 2 and 4 through it, without a test knowing.
 */
export function defaultShards(): number {
  const text = process.env.STATSD_NATIVE_SHARDS;
  if (text === undefined || text === '') return 1;
  return integerOption('STATSD_NATIVE_SHARDS', /^\d+$/.test(text) ? Number(text) : text, 1, 1, MAX_SHARDS);
}

/** The native codes of conventions and dialects. */
export const CONVENTION_CODE = fieldIndex('conventions', ['brubeck', 'etsy']);
const DIALECT_CODE = fieldIndex('dialects', DIALECTS);

function stringOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidOption(name, 'a string', value);
  return value;
}

function numberList(name: string, value: unknown, fallback: number[], valid: (n: number) => boolean): number[] {
  if (value === undefined) return fallback;
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'number' && valid(n))) {
    throw invalidOption(name, 'a list of valid numbers', value);
  }
  return list as number[];
}

// brubeck names 0.75 → ".percentile.75", 0.999 → ".percentile.999".
function brubeckPercentileName(p: number): string {
  const digits = String(p).slice(2).padEnd(2, '0');
  return `.percentile.${digits}`;
}

// etsy names 90 → "90", 99.9 → "99_9", -10 → "top10" (process_metrics.js).
function etsyThresholdName(pct: number): string {
  return String(pct).replace('.', '_').replace('-', 'top');
}

/**
 * etsy's calculatedTimerMetrics as the exact timer field names to write (see
 * AggregatorOptions), or undefined for all of them. etsy keeps a field when
 * its name with a trailing `_<digits>` / `_top<digits>` turned into
 * `_percent` is in the list (lib/process_metrics.js filter_timer_metrics).
 */
function timerFields(value: unknown, thresholds: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidOption('calculatedTimerMetrics', 'a list of timer field names', value);
  }
  if (value.length === 0) return undefined;
  const fields = ['count', 'count_ps', 'lower', 'upper', 'mean', 'median', 'std', 'sum', 'sum_squares', 'histogram'];
  for (const name of thresholds) {
    const bound = name.startsWith('top') ? 'lower' : 'upper';
    for (const stat of ['count', 'mean', bound, 'sum', 'sum_squares']) fields.push(`${stat}_${name}`);
  }
  return fields.filter((f) => value.includes(f.replace(/_(top)?\d+$/, '_percent')));
}

/** Throws the StatsdError `new Aggregator(options)` would throw, without building one. */
export function checkAggregatorOptions(options: AggregatorOptions): void {
  toNativeOptions(options);
}

/** Every AggregatorOptions key (checked at construction: a misspelt key is an error). */
const AGGREGATOR_OPTIONS: readonly (keyof AggregatorOptions)[] = [
  'convention', 'dialect', 'maxLineBytes', 'flushInterval', 'maxSamplesPerKey', 'maxKeys', 'maxKeyBytes', 'maxSetMembers',
  'maxIntervalSamples', 'maxIntervalMembers', 'expire', 'reportIdle', 'seed', 'memberSeed', 'shards', 'percentiles', 'serverName',
  'percentThreshold', 'histogram', 'calculatedTimerMetrics', 'legacyNamespace', 'flushCounts', 'keyNameSanitize',
  'globalPrefix', 'prefixCounter', 'prefixTimer', 'prefixGauge', 'prefixSet', 'globalSuffix', 'prefixStats',
  'deleteIdleStats', 'deleteCounters', 'deleteTimers', 'deleteSets', 'deleteGauges', 'gaugesMaxTTL',
];

export function toNativeOptions(o: AggregatorOptions): object {
  if (o === null || typeof o !== 'object') throw invalidOption('options', 'an object', o);
  knownKeys('Aggregator', o, AGGREGATOR_OPTIONS, {
    graphite: "etsy statsd's nested graphite: { … } goes to the top level here (legacyNamespace, globalPrefix, …)",
  });
  const convention = choiceOption('convention', o.convention, 'brubeck', ['brubeck', 'etsy'] as const);
  const deleteIdle = booleanOption('deleteIdleStats', o.deleteIdleStats, false);
  const percentiles = numberList('percentiles', o.percentiles, [0.75, 0.95, 0.98, 0.99, 0.999], (p) => p > 0 && p < 1);
  const thresholds = numberList('percentThreshold', o.percentThreshold, [90], (p) => p !== 0 && Math.abs(p) <= 100);
  const histogram = (o.histogram ?? []).map((h, i) => {
    if (typeof h?.metric !== 'string' || !Array.isArray(h.bins)) {
      throw invalidOption(`histogram[${i}]`, '{ metric: string, bins: (number | "inf")[] }', h);
    }
    return {
      metric: h.metric,
      bounds: h.bins.map((b) => (b === 'inf' ? Infinity : b)),
      names: h.bins.map((b) => `bin_${String(b).replace('.', '_')}`),
    };
  });
  // Absent from the native options when every field is written.
  const timerFilter = timerFields(o.calculatedTimerMetrics, thresholds.map(etsyThresholdName));
  const expire = o.expire ?? 0;
  if (typeof expire !== 'number' || !(expire >= 0)) throw invalidOption('expire', 'a number of seconds >= 0', expire);
  return {
    convention: CONVENTION_CODE[convention],
    dialect: DIALECT_CODE[choiceOption('dialect', o.dialect, 'full', DIALECTS)],
    maxLineBytes: integerOption('maxLineBytes', o.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 0xffffffff),
    flushInterval: integerOption('flushInterval', o.flushInterval, 10000, 1, 2 ** 31),
    maxSamplesPerKey: integerOption('maxSamplesPerKey', o.maxSamplesPerKey, 65535, 0, 0xffffffff),
    maxKeys: integerOption('maxKeys', o.maxKeys, 1_000_000, 0, 0xffffffff),
    maxKeyBytes: integerOption('maxKeyBytes', o.maxKeyBytes, 256 * 2 ** 20, 0, Number.MAX_SAFE_INTEGER),
    maxSetMembers: integerOption('maxSetMembers', o.maxSetMembers, 1_000_000, 0, 0xffffffff),
    maxIntervalSamples: integerOption('maxIntervalSamples', o.maxIntervalSamples, 16 * 2 ** 20, 0, Number.MAX_SAFE_INTEGER),
    maxIntervalMembers: integerOption('maxIntervalMembers', o.maxIntervalMembers, 2 * 2 ** 20, 0, Number.MAX_SAFE_INTEGER),
    expire,
    reportIdle: booleanOption('reportIdle', o.reportIdle, false),
    seed: integerOption('seed', o.seed, 1, 0, Number.MAX_SAFE_INTEGER),
    memberSeed: integerOption('memberSeed', o.memberSeed, 0, 0, Number.MAX_SAFE_INTEGER),
    shards: integerOption('shards', o.shards, defaultShards(), 1, MAX_SHARDS),
    percentiles: percentiles.map((value) => ({ value, name: brubeckPercentileName(value) })),
    serverName: stringOption('serverName', o.serverName, 'brubeck'),
    percentThreshold: thresholds.map((value) => ({ value, name: etsyThresholdName(value) })),
    histogram,
    legacyNamespace: booleanOption('legacyNamespace', o.legacyNamespace, true),
    flushCounts: booleanOption('flushCounts', o.flushCounts, true),
    keyNameSanitize: booleanOption('keyNameSanitize', o.keyNameSanitize, true),
    globalPrefix: stringOption('globalPrefix', o.globalPrefix, 'stats'),
    prefixCounter: stringOption('prefixCounter', o.prefixCounter, 'counters'),
    prefixTimer: stringOption('prefixTimer', o.prefixTimer, 'timers'),
    prefixGauge: stringOption('prefixGauge', o.prefixGauge, 'gauges'),
    prefixSet: stringOption('prefixSet', o.prefixSet, 'sets'),
    globalSuffix: stringOption('globalSuffix', o.globalSuffix, ''),
    prefixStats: stringOption('prefixStats', o.prefixStats, 'statsd'),
    deleteCounters: booleanOption('deleteCounters', o.deleteCounters, deleteIdle),
    deleteTimers: booleanOption('deleteTimers', o.deleteTimers, deleteIdle),
    deleteSets: booleanOption('deleteSets', o.deleteSets, deleteIdle),
    deleteGauges: booleanOption('deleteGauges', o.deleteGauges, deleteIdle),
    gaugesMaxTTL: integerOption('gaugesMaxTTL', o.gaugesMaxTTL, 1, 1, 0xffffffff),
    ...(timerFilter && { calculatedTimerMetrics: timerFilter }),
  };
}
