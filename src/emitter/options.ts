// The Emitter's options and counters, and the checks on what callers pass.
import { reasonError } from '../core/errors';

export interface EmitterOptions {
  /** `host:port`, `udp://…`, `tcp://…`, `unix:///path`, `unixstream:///path`; else from the environment. */
  endpoint?: string;
  /**
   * Several daemons instead of one `endpoint`: each key (name and tags) is
   * sent to one of them, the one `statsd-native relay` with the same nodes in
   * the same order would choose (jump consistent hash), so a sharded tier
   * needs no relay. UDP or TCP endpoints (`host:port`, `tcp://…`). Keys are
   * routed as `convention`'s daemons key them (etsy sanitizes names);
   * maxQueueBytes bounds all endpoints together.
   */
  endpoints?: string[];
  /** Prepended to every name, joined with '.' (`flux.0` → `flux.0.name`). */
  prefix?: string;
  /** Aggregation interval in ms (default 1000); 0 sends each batch of calls at once. */
  flushInterval?: number;
  /** Largest packet (default 1432 for UDP and TCP, 8192 for unix sockets). */
  maxPacketBytes?: number;
  /** `brubeck` (default): count() sends `C` totals; `etsy`: it sends `c` deltas. */
  convention?: 'brubeck' | 'etsy';
  /** Timings kept per key and interval; past it, a uniform sample with a matching `|@rate` (default 1000). */
  maxSamplesPerKey?: number;
  /** Tags added to every metric. */
  globalTags?: string[];
  /**
   * Bytes of packets queued: by a TCP/unix-stream emitter while the server is
   * away or slow, by a datagram emitter while a flush is being paced out
   * (default 64 MiB: a whole flush at the default limits, 1M timings and
   * 200k other keys, fits). Past it the oldest packets are dropped and counted.
   */
  maxQueueBytes?: number;
  /**
   * ms over which a datagram flush is spread (default: half the flush
   * interval, from 50 to 500 ms). A receiver with the kernel's default socket
   * buffer (212,992 bytes) keeps ~90 packets: a flush handed over at once
   * loses the rest. Pacing sends at least 2 packets a millisecond, and as
   * fast as needed to be done within the window, so a large flush to a fast
   * receiver is not held back.
   */
  sendWindow?: number;
  /** ms flush() and close() wait for the transport at most (default 5000); close() then drops and counts what is left. */
  flushTimeout?: number;
  /** Keys held at most (default 200,000); a call for a new key past it is dropped and counted (`keysDropped`). */
  maxKeys?: number;
  /**
   * Flush intervals (seconds when flushInterval is 0) a key may go unused
   * before it is forgotten and its memory reused (default 10; 0 = never).
   * Keys of handles, and etsy-convention count() totals, are kept.
   */
  idleIntervals?: number;
  /**
   * Timing samples stored per interval over all keys (default 1,000,000: 16 B
   * each, at most ~32 MB with storage growth). Past it keys that stored some
   * sample among them (with the matching `|@rate`); calls of keys that stored
   * none are dropped and counted.
   */
  maxIntervalSamples?: number;
  /**
   * The endpoint is a DogStatsD agent: send a key's timings, histograms and
   * distributions as multi-value lines (`a:1:2:3|ms`). brubeck and etsy statsd
   * do not read them, so the default is one line per value.
   */
  dogstatsd?: boolean;
  /** Environment to read the endpoint from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Every EmitterOptions key (checked at construction: a misspelt key is an error). */
export const EMITTER_OPTIONS: readonly (keyof EmitterOptions)[] = [
  'endpoint', 'endpoints', 'prefix', 'flushInterval', 'maxPacketBytes', 'convention', 'maxSamplesPerKey', 'globalTags', 'maxQueueBytes',
  'sendWindow', 'flushTimeout', 'maxKeys', 'idleIntervals', 'maxIntervalSamples', 'dogstatsd', 'env',
];

export interface EmitterStats {
  /** Lines handed to the kernel. */
  sent: number;
  /** Lines discarded: longer than a packet, or in a packet that could not be sent. */
  dropped: number;
  packets: number;
  bytes: number;
  /** Network errors seen (also emitted as 'error' events when listened to). */
  errors: number;
  /** Keys held now. */
  keys: number;
  /** Calls dropped because maxKeys keys were held (also in `dropped`). */
  keysDropped: number;
}

/** Tags of one call: `name:value` strings (or bare names). */
export type Tags = readonly string[] | undefined;

/** Text for an error message about any value (never throws: BigInt, cycles, symbols). */
export function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function checkTags(tags: unknown): void {
  if (tags !== undefined && !Array.isArray(tags)) throw reasonError('bad_tag', `tags must be a list of strings, not ${describe(tags)}`);
}

export function checkValue(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw reasonError('bad_value', `${describe(name)}: ${describe(value)} is not a finite number`);
  }
}

export function checkRate(rate: number): void {
  if (!(typeof rate === 'number' && rate > 0 && rate <= 1 && Number.isFinite(1 / rate))) {
    throw reasonError('bad_rate', describe(rate));
  }
}
