// StatsD: hot-shots 17's client — its options, methods, flexible arguments and wire
// lines — over this package's transports, so a hot-shots user changes one import.
//
// Over 300 lines on purpose: hot-shots' surface is one class of some twenty
// public methods whose calls all funnel into one hot path (#sendAllOrThrow
// with its name and tag caches). Options are in options.ts, line text in
// format.ts, delivery in sender.ts; what is left shares private state per
// call, and moving methods to helper objects would add a hop to every call
// (bench/emitter.bench.js measures that per-call cost against hot-shots).
/// <reference types="node" preserve="true" />

import { StatsdError, reasonError } from '../core/errors';
import { formatDate, formatTags, lineName, lineTags, normalizePrefix, normalizeSuffix, overrideTags,
  sanitizeMetricName, type Tags, withDatadogEnvTags } from './format';
import { type ErrorHandler, Sender, type StatsCb, type StatsDStats, report, resolveTarget } from './sender';

export type { Tags } from './format';
export type { StatsCb, StatsDStats } from './sender';
export type { CheckOptions, ChildClientOptions, ClientOptions, EventOptions, MetricOptions, TimerContext } from './options';
import type { CheckOptions, ChildClientOptions, ClientOptions, EventOptions, MetricOptions, TimerContext } from './options';

type Stat = string | string[];
type Rate = number | Tags | MetricOptions | StatsCb | null;
type TagsArg = Tags | StatsCb | null;

// A line is the name's head (`name:`), the value, then this tail (`|c|@0.5|#a:b`).
interface Head {
  /** The name as sent (prefix, name, suffix; sanitized). */
  readonly name: string;
  /** `name:` */
  readonly text: string;
  /** UTF-8 bytes of text. */
  readonly bytes: number;
}

interface TagTail {
  /** `|#a,b` (or `,a=b` with telegraf); '' for none. */
  readonly text: string;
  readonly bytes: number;
}

// caches of validated names and tag lists are per client and cleared when full
// (a name or tag with unbounded values then costs a recheck, not memory).
// 10,000 entries of ~100-byte names bound each cache near 1 MiB: a memory
// bound chosen by reason (an application's distinct names are usually far
// fewer), not measured by a bench.
const CACHE_LIMIT = 10_000;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MEMBER_BAD = /[\x00-\x1f\x7f|]/g;
const FIELD_BAD = /[|\n\r]/g;
const NO_TAGS: TagTail = { text: '', bytes: 0 };

const kParent = Symbol('parent');
interface InternalOptions extends ClientOptions {
  [kParent]?: StatsD;
}

function warnOption(name: string, value: unknown, expected: string): undefined {
  console.error(`statsd-native StatsD: '${name}' should be ${expected}, got ${String(value)} — using default`);
  return undefined;
}

function escapeNewlines(text: string): string {
  return text.includes('\n') ? text.replace(/\n/g, '\\n') : text;
}

function field(value: unknown): string {
  return String(value).replace(FIELD_BAD, '_');
}

// hot-shots statsFunctions createTimerContext / mergeTags
function timerContext(): TimerContext & { tags: string[] } {
  const tags: string[] = [];
  return {
    tags,
    addTags(added: Tags): void {
      if (!added) return;
      if (Array.isArray(added)) tags.push(...added);
      else if (typeof added === 'object') for (const key of Object.keys(added)) tags.push(`${key}:${added[key]}`);
    },
  };
}

function mergeTimerTags(original: unknown, dynamic: string[], telegraf: boolean): unknown {
  if (dynamic.length === 0) return original;
  if (!original) return dynamic;
  return formatTags(original as Tags, telegraf).concat(dynamic);
}

/**
 * A hot-shots 17 compatible client. Every call is one line (no local
 * aggregation), sent as its own packet or, with maxBufferSize, packed into
 * packets exactly as hot-shots packs them. Nothing here throws on a metric
 * call: a line that cannot be made valid is refused and counted, and the error
 * goes to the callback, else errorHandler (as hot-shots routes send errors).
 */
export class StatsD {
  readonly CHECKS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
  /** Lines recorded in mock mode, in call order. */
  readonly mockBuffer: string[] | undefined;
  readonly mock: boolean;
  readonly prefix: string;
  readonly suffix: string;
  readonly globalTags: string[];
  readonly telegraf: boolean;
  readonly sampleRate: number;
  readonly maxBufferSize: number;
  readonly bufferFlushInterval: number;
  readonly protocol: string;
  readonly isChild: boolean;
  readonly errorHandler: ErrorHandler | undefined;
  readonly #includeDataDogTags: boolean;
  readonly #tagPrefix: string;
  readonly #tagSeparator: string;
  readonly #sender: Sender;
  readonly #heads = new Map<unknown, Head | null>();
  readonly #arrayTails = new Map<string, TagTail>();
  #lastTags: { array: unknown[] | undefined; items: unknown[]; tail: TagTail } = { array: undefined, items: [], tail: NO_TAGS };
  readonly #objectTails = new Map<string, TagTail>();
  readonly #globalTail: TagTail;

  constructor(options?: ClientOptions) {
    // hot-shots' deprecated positional form: (host, port, prefix, suffix, globalize, cacheDns, mock, …)
    if (arguments.length > 1 || typeof options === 'string') {
      const [host, port, prefix, suffix, globalize, cacheDns, mock, globalTags, maxBufferSize,
        bufferFlushInterval, telegraf, sampleRate, protocol] = arguments as unknown as unknown[];
      options = { host, port, prefix, suffix, globalize, cacheDns, mock: mock === true, globalTags, maxBufferSize,
        bufferFlushInterval, telegraf, sampleRate, protocol } as ClientOptions;
    }
    const o: InternalOptions = { ...(options ?? {}) };
    const parent = o[kParent];
    const env = parent ? undefined : o.env ?? process.env;
    if (o.port !== undefined && o.port !== null) {
      const p = o.port;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) o.port = warnOption('port', p, 'an integer in [1, 65535]');
    }
    if (o.sampleRate !== undefined && o.sampleRate !== null) {
      const s = o.sampleRate;
      if (typeof s !== 'number' || Number.isNaN(s) || s <= 0 || s > 1) o.sampleRate = warnOption('sampleRate', s, 'a number in (0, 1]');
    }
    const interval = o.bufferFlushInterval;
    if (interval !== undefined && interval !== null &&
        (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0 || interval > 2147483647)) {
      o.bufferFlushInterval = warnOption('bufferFlushInterval', interval, 'a finite positive number <= 2147483647');
    }
    const globalTags = (o.globalTags || o.global_tags) as Tags | undefined;

    if (parent) {
      this.isChild = true;
      this.telegraf = parent.telegraf;
      this.prefix = normalizePrefix(o.prefix) + parent.prefix;
      this.suffix = parent.suffix + normalizeSuffix(o.suffix);
      let tags = globalTags && typeof globalTags === 'object' ? overrideTags(parent.globalTags, globalTags, this.telegraf) : parent.globalTags;
      this.#includeDataDogTags = parent.#includeDataDogTags;
      if (this.#includeDataDogTags) tags = withDatadogEnvTags(tags, process.env, this.telegraf, true);
      this.globalTags = tags;
      this.protocol = parent.protocol;
      this.mock = parent.mock;
      this.sampleRate = 1; // as hot-shots: a child does not inherit the default rate
      this.maxBufferSize = parent.maxBufferSize;
      this.bufferFlushInterval = parent.bufferFlushInterval;
      this.#tagPrefix = parent.#tagPrefix;
      this.#tagSeparator = parent.#tagSeparator;
      this.errorHandler = o.errorHandler || parent.errorHandler;
      this.#sender = parent.#sender;
    } else {
      this.isChild = false;
      this.telegraf = o.telegraf === true;
      this.prefix = normalizePrefix(o.prefix);
      this.suffix = normalizeSuffix(o.suffix);
      let tags = globalTags && typeof globalTags === 'object' ? formatTags(globalTags, this.telegraf) : [];
      this.#includeDataDogTags = o.includeDataDogTags !== false;
      if (this.#includeDataDogTags) tags = withDatadogEnvTags(tags, env!, this.telegraf, false);
      this.globalTags = tags;
      this.protocol = String(o.protocol || 'udp').toLowerCase();
      this.mock = o.mock === true;
      this.sampleRate = o.sampleRate || 1;
      let max = o.maxBufferSize;
      if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0)) {
        max = warnOption('maxBufferSize', max, 'a whole number of bytes');
      }
      if (max === undefined) max = this.protocol === 'uds' ? 8192 : 0;
      else if (this.protocol === 'uds' && max > 8192) max = 8192; // hot-shots' UDS cap (Datadog's advice)
      this.maxBufferSize = max;
      this.bufferFlushInterval = o.bufferFlushInterval || 1000;
      this.#tagPrefix = o.tagPrefix || '#';
      this.#tagSeparator = o.tagSeparator || ',';
      this.errorHandler = o.errorHandler;
      const maxQueueBytes = typeof o.maxQueueBytes === 'number' ? o.maxQueueBytes : 4 << 20;
      const target = this.mock ? undefined : resolveTarget({ ...o, telegraf: this.telegraf }, env!);
      this.#sender = new Sender(target, {
        maxBufferSize: this.maxBufferSize,
        bufferFlushInterval: this.bufferFlushInterval,
        errorHandler: this.errorHandler,
        maxQueueBytes,
      });
      if (o.globalize) (globalThis as { statsd?: StatsD }).statsd = this;
      if (o.aggregation) {
        console.error("statsd-native StatsD: 'aggregation' is not supported, every call is sent as a line " +
          '(maxBufferSize packs lines into packets; Emitter aggregates locally)');
      }
    }
    this.mockBuffer = this.mock ? [] : undefined;
    this.#globalTail = this.#makeTail(undefined);
  }

  /** Lines sent, dropped and refused, packets, bytes and socket errors, shared with children. */
  get stats(): StatsDStats {
    return { ...this.#sender.stats };
  }

  // --- metrics -------------------------------------------------------------

  increment(stat: Stat, tags?: Tags): void;
  increment(stat: Stat, value?: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  increment(stat: Stat, value?: number | Tags | StatsCb, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  increment(stat: unknown, value?: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#count(arguments.length, 1, stat, value, sampleRate, tags, callback);
  }

  decrement(stat: Stat, tags?: Tags): void;
  decrement(stat: Stat, value?: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  decrement(stat: Stat, value?: number | Tags | StatsCb, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  decrement(stat: unknown, value?: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#count(arguments.length, -1, stat, value, sampleRate, tags, callback);
  }

  /**
   * increment (sign 1) and decrement (-1). hot-shots: tags (or a callback)
   * may stand in the value's place; a missing value is 1.
   */
  #count(args: number, sign: number, stat: unknown, value: unknown, sampleRate: unknown, tags: unknown, callback: unknown): void {
    if (typeof value !== 'number' && (args < 3 || (typeof sampleRate === 'function' && tags === undefined))) {
      callback = sampleRate;
      tags = value;
      sampleRate = undefined;
      value = undefined;
    }
    if (value === undefined || value === null) value = 1;
    // as hot-shots, -value (`decrement('x', '5')` sends -5); but -value of an
    // object or symbol may throw (a null-prototype object): it is refused as is
    const negatable = typeof value !== 'object' && typeof value !== 'symbol' && typeof value !== 'function';
    this.#sendAll(stat, sign === 1 || !negatable ? value : -(value as number), '|c', sampleRate, tags, callback);
  }

  /** A duration in ms, or the ms since a Date. */
  timing(stat: Stat, time: number | Date, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  timing(stat: unknown, time: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    const t = time instanceof Date ? Date.now() - time.getTime() : time;
    this.#sendAll(stat, t, '|ms', sampleRate, tags, callback);
  }

  histogram(stat: Stat, value: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  histogram(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#sendAll(stat, value, '|h', sampleRate, tags, callback);
  }

  distribution(stat: Stat, value: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  distribution(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#sendAll(stat, value, '|d', sampleRate, tags, callback);
  }

  /** An absolute gauge; a negative value is sent as `0|g` then `-N|g` (never read as a decrement). */
  gauge(stat: Stat, value: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  gauge(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#sendAll(stat, value, '|g', sampleRate, tags, callback);
  }

  /** A relative gauge change, sent as `+N|g` or `-N|g`. */
  gaugeDelta(stat: Stat, value: number, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  gaugeDelta(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    // a non-finite delta stays a number, so it is refused like any other; a
    // value that is no number at all (Math.abs would throw on some) too
    const v = typeof value === 'number' ? value : NaN;
    const abs = Math.abs(v);
    this.#sendAll(stat, Number.isFinite(abs) ? `${v >= 0 ? '+' : '-'}${abs}` : typeof value === 'number' ? abs : value, '|g', sampleRate, tags, callback);
  }

  set(stat: Stat, value: number | string, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  set(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#sendAll(stat, value, '|s', sampleRate, tags, callback);
  }

  unique(stat: Stat, value: number | string, sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): void;
  unique(stat: unknown, value: unknown, sampleRate?: unknown, tags?: unknown, callback?: unknown): void {
    this.#sendAll(stat, value, '|s', sampleRate, tags, callback);
  }

  // --- timers ----------------------------------------------------------------

  /** Wraps `func`: each call sends its duration in ms as a timing; `func` gets a TimerContext last. */
  timer<P extends unknown[], R>(func: (...args: [...P, TimerContext]) => R, stat: Stat, sampleRate?: Rate,
    tags?: TagsArg, callback?: StatsCb): (...args: P) => R {
    return (...args: P): R => {
      const ctx = timerContext();
      const start = process.hrtime.bigint();
      try {
        return func(...args, ctx);
      } finally {
        const duration = Number(process.hrtime.bigint() - start) / 1e6;
        this.timing(stat, duration, sampleRate, mergeTimerTags(tags, ctx.tags, this.telegraf) as TagsArg, callback);
      }
    };
  }

  /** Wraps an async `func`: the timing covers the promise, settled either way. */
  asyncTimer<P extends unknown[], R>(func: (...args: [...P, TimerContext]) => Promise<R>, stat: Stat,
    sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): (...args: P) => Promise<R> {
    return this.#timeAsync(func, stat, sampleRate, tags, callback, false);
  }

  /** asyncTimer sent as a distribution (`|d`). */
  asyncDistTimer<P extends unknown[], R>(func: (...args: [...P, TimerContext]) => Promise<R>, stat: Stat,
    sampleRate?: Rate, tags?: TagsArg, callback?: StatsCb): (...args: P) => Promise<R> {
    return this.#timeAsync(func, stat, sampleRate, tags, callback, true);
  }

  #timeAsync<P extends unknown[], R>(func: (...args: [...P, TimerContext]) => Promise<R>, stat: Stat,
    sampleRate: Rate | undefined, tags: TagsArg | undefined, callback: StatsCb | undefined, dist: boolean): (...args: P) => Promise<R> {
    return (...args: P): Promise<R> => {
      const ctx = timerContext();
      const start = process.hrtime.bigint();
      const p = func(...args, ctx);
      const record = (): void => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        const finalTags = mergeTimerTags(tags, ctx.tags, this.telegraf) as TagsArg;
        if (dist) this.distribution(stat, ms, sampleRate, finalTags, callback);
        else this.timing(stat, ms, sampleRate, finalTags, callback);
      };
      p.then(record, record);
      return p;
    };
  }

  // --- DogStatsD events and service checks -----------------------------------

  /** `_e{title bytes,text bytes}:title|text|d:…|h:…|k:…|p:…|s:…|t:…|#tags`; text defaults to the title. */
  event(title: string, text?: string, options?: EventOptions | null, tags?: TagsArg, callback?: StatsCb): void;
  event(title: unknown, text?: unknown, options?: EventOptions | null, tags?: unknown, callback?: unknown): void {
    if (typeof tags === 'function' && callback === undefined) callback = tags;
    try {
      this.#event(title, text, options, tags, callback);
    } catch (error) {
      this.#refuse(unwritable(error), typeof callback === 'function' ? callback : undefined);
    }
  }

  #event(title: unknown, text: unknown, options: EventOptions | null | undefined, tags: unknown, callback: unknown): void {
    if (this.telegraf) {
      report(new Error('Not supported by Telegraf / InfluxDB'), this.errorHandler, callback);
      return;
    }
    const rawTitle = String(title ? title : '');
    const t = escapeNewlines(this.prefix + rawTitle + this.suffix);
    const body = escapeNewlines(String(text ? text : rawTitle));
    let message = `_e{${Buffer.byteLength(t)},${Buffer.byteLength(body)}}:${t}|${body}`;
    if (options) {
      if (options.date_happened) {
        const ts = formatDate(options.date_happened);
        if (ts) message += `|d:${ts}`;
      }
      if (options.hostname) message += `|h:${field(options.hostname)}`;
      if (options.aggregation_key) message += `|k:${field(options.aggregation_key)}`;
      if (options.priority) message += `|p:${field(options.priority)}`;
      if (options.source_type_name) message += `|s:${field(options.source_type_name)}`;
      if (options.alert_type) message += `|t:${field(options.alert_type)}`;
    }
    this.#sendText(message + this.#tailFor(tags).text, callback);
  }

  /** `_sc|name|status|d:…|h:…|#tags|m:message` (the message last, as DogStatsD requires). */
  check(name: string, status: number, options?: CheckOptions | null, tags?: TagsArg, callback?: StatsCb): void;
  check(name: unknown, status: unknown, options?: CheckOptions | null, tags?: unknown, callback?: unknown): void {
    if (typeof tags === 'function' && callback === undefined) callback = tags;
    try {
      this.#check(name, status, options, tags, callback);
    } catch (error) {
      this.#refuse(unwritable(error), typeof callback === 'function' ? callback : undefined);
    }
  }

  #check(name: unknown, status: unknown, options: CheckOptions | null | undefined, tags: unknown, callback: unknown): void {
    if (this.telegraf) {
      report(new Error('Not supported by Telegraf / InfluxDB'), this.errorHandler, callback);
      return;
    }
    const parts: unknown[] = ['_sc', field(this.prefix + String(name) + this.suffix), status];
    const metadata = options || {};
    if (metadata.date_happened) {
      const ts = formatDate(metadata.date_happened);
      if (ts) parts.push(`d:${ts}`);
    }
    if (metadata.hostname) parts.push(`h:${field(metadata.hostname)}`);
    const merged = tags && typeof tags === 'object' ? overrideTags(this.globalTags, tags as Tags, false) : this.globalTags;
    const list = lineTags(merged);
    if (list.length > 0) parts.push(`#${list.join(',')}`);
    if (metadata.message) parts.push(`m:${escapeNewlines(String(metadata.message))}`);
    this.#sendText(parts.join('|'), callback);
  }

  // --- lifecycle -------------------------------------------------------------

  /** A client that shares this one's socket and buffer, with its prefix, suffix and tags added. */
  childClient(options: ChildClientOptions = {}): StatsD {
    return new StatsD({ ...options, [kParent]: this } as InternalOptions);
  }

  /** Sends the buffer now; the callback runs once the socket has written it. */
  flush(callback?: StatsCb): void {
    this.#sender.flush().then(
      () => (typeof callback === 'function' ? callback() : undefined),
      (error: Error) => report(error, this.errorHandler, callback),
    );
  }

  /** Sends the buffer and closes the socket (shared with children, as in hot-shots). */
  close(callback?: (error?: Error) => void): void {
    this.#sender.close().then(
      () => (typeof callback === 'function' ? callback() : undefined),
      (error: Error) => report(error, this.errorHandler, callback),
    );
  }

  // --- internals ---------------------------------------------------------------

  // Every metric call: nothing it is given may make it throw (a tag value or
  // name whose String() throws, a null-prototype object): what cannot be
  // written is refused, counted and reported, as a bad value is.
  #sendAll(stat: unknown, value: unknown, suffix: string, sampleRate: unknown, tags: unknown, callback: unknown): void {
    try {
      this.#sendAllOrThrow(stat, value, suffix, sampleRate, tags, callback);
    } catch (error) {
      this.#refuse(unwritable(error), typeof callback === 'function' ? callback : undefined);
    }
  }

  // hot-shots sendAll: an options object, tags or a callback may stand in the rate's place
  #sendAllOrThrow(stat: unknown, value: unknown, suffix: string, sampleRate: unknown, tags: unknown, callback: unknown): void {
    let timestamp: unknown;
    if (sampleRate && typeof sampleRate === 'object' && !Array.isArray(sampleRate) &&
        ('sampleRate' in sampleRate || 'tags' in sampleRate || 'timestamp' in sampleRate || 'cardinality' in sampleRate)) {
      const o = sampleRate as MetricOptions;
      callback = tags;
      timestamp = o.timestamp;
      tags = o.tags;
      sampleRate = o.sampleRate;
    }
    if (sampleRate && typeof sampleRate !== 'number') {
      if (tags !== undefined && tags !== null && typeof tags === 'object') {
        sampleRate = undefined;
      } else {
        callback = tags;
        tags = sampleRate;
        sampleRate = undefined;
      }
    }
    if (tags && typeof tags !== 'object') {
      callback = tags;
      tags = undefined;
    }
    if (!Array.isArray(stat)) {
      this.#sendStat(stat, value, suffix, sampleRate, tags, timestamp, callback);
      return;
    }
    // several stats: one callback once all are sent, or with the first error
    let completed = 0;
    let calledBack = false;
    let sentBytes = 0;
    const onSend: StatsCb = (error, bytes) => {
      completed++;
      if (calledBack) return;
      if (error) {
        if (typeof callback === 'function') {
          calledBack = true;
          (callback as StatsCb)(error);
        } else if (this.errorHandler) {
          calledBack = true;
          this.errorHandler(error);
        }
        return;
      }
      if (bytes) sentBytes += bytes;
      if (completed === stat.length && typeof callback === 'function') (callback as StatsCb)(null, sentBytes);
    };
    for (const item of stat) this.#sendStat(item, value, suffix, sampleRate, tags, timestamp, onSend);
  }

  // hot-shots sendStat, building the line from cached validated parts
  #sendStat(stat: unknown, value: unknown, suffix: string, sampleRate: unknown, tags: unknown, timestamp: unknown,
    callback: unknown): void {
    const rate = sampleRate || this.sampleRate;
    let fields = '';
    if (rate && (rate as number) < 1) {
      if (Math.random() >= (rate as number)) {
        if (typeof callback === 'function') callback();
        return;
      }
      fields = '|@' + (rate as number);
    }
    if (timestamp !== undefined && !this.telegraf) {
      const ts = formatDate(timestamp);
      if (ts) fields += '|T' + ts;
    }
    let head = this.#heads.get(stat);
    if (head === undefined) head = this.#makeHead(stat);
    if (head === null) {
      this.#refuse(reasonError('bad_name', `${JSON.stringify(String(stat))} leaves no valid name`), callback);
      return;
    }
    let text: string;
    let valueBytes: number;
    if (typeof value === 'number') {
      if (value - value !== 0) {
        this.#refuse(reasonError('bad_value', `${head.name}: ${value} is not a finite number`), callback);
        return;
      }
      text = '' + value;
      valueBytes = text.length;
    } else {
      const t = this.#valueText(value, suffix);
      if (t === undefined) {
        this.#refuse(reasonError('bad_value', `${head.name}: ${typeof value} ${String(value)}`), callback);
        return;
      }
      text = t;
      valueBytes = Buffer.byteLength(t);
    }
    const tail = this.#tailFor(tags);
    let line: string;
    let bytes: number;
    if (this.telegraf) {
      const rest = suffix + fields;
      line = head.name + tail.text + ':' + text + rest;
      bytes = head.bytes + tail.bytes + valueBytes + rest.length;
    } else {
      const rest = suffix + fields + tail.text;
      line = head.text + text + rest;
      bytes = head.bytes + valueBytes + suffix.length + fields.length + tail.bytes;
    }
    if (suffix === '|g' && typeof value === 'number' && value < 0) {
      // "x:-5|g" is a decrement to statsd, brubeck and Telegraf: set 0 first
      const zero = this.telegraf ? head.name + tail.text + ':0' + suffix + fields : head.text + '0' + suffix + fields + tail.text;
      this.#sendLines(zero, line, bytes + 1 + bytes - valueBytes + 1, callback);
      return;
    }
    if (this.mockBuffer) {
      this.mockBuffer.push(line);
      if (typeof callback === 'function') callback(null, 0);
      return;
    }
    this.#sender.deliver(line, bytes, 1, callback, this.errorHandler);
  }

  // Two lines that go in one packet, in order (a negative gauge).
  #sendLines(first: string, second: string, bytes: number, callback: unknown): void {
    if (this.mockBuffer) {
      this.mockBuffer.push(first, second);
      if (typeof callback === 'function') callback(null, 0);
      return;
    }
    this.#sender.deliver(first + '\n' + second, bytes, 2, callback, this.errorHandler);
  }

  #sendText(message: string, callback: unknown): void {
    if (this.mockBuffer) {
      this.mockBuffer.push(message);
      if (typeof callback === 'function') callback(null, 0);
      return;
    }
    this.#sender.deliver(message, Buffer.byteLength(message), 1, callback, this.errorHandler);
  }

  #refuse(error: Error, callback: unknown): void {
    this.#sender.stats.refused++;
    report(error, this.errorHandler, callback);
  }

  // A value that is not a number: a set member, a signed text from gaugeDelta,
  // or what hot-shots would write with `${value}` when the server can read it.
  #valueText(value: unknown, suffix: string): string | undefined {
    if (typeof value === 'bigint') return String(value);
    if (suffix === '|s') {
      if (typeof value !== 'string' || value === '') return undefined;
      return value.replace(MEMBER_BAD, '_');
    }
    return typeof value === 'string' && NUMBER_TEXT.test(value) ? value : undefined;
  }

  #makeHead(stat: unknown): Head | null {
    const name = lineName(this.prefix + sanitizeMetricName(stat) + this.suffix);
    const head = name === undefined ? null : { name, text: name + ':', bytes: Buffer.byteLength(name) + 1 };
    if (this.#heads.size >= CACHE_LIMIT) this.#heads.clear();
    this.#heads.set(stat, head);
    return head;
  }

  // The tag tail for a call's tags, merged with the global tags; cached by the
  // tags' text (a tag holding the key separator is not cached).
  #tailFor(tags: unknown): TagTail {
    if (tags === undefined || tags === null || typeof tags !== 'object') return this.#globalTail;
    let key: string;
    let cache: Map<string, TagTail>;
    if (Array.isArray(tags)) {
      if (tags.length === 0) return this.#globalTail;
      // The same array as the last call, holding the same strings (a module
      // constant, say): no key text to build.
      const last = this.#lastTags;
      if (tags === last.array && tags.length === last.items.length && tags.every((t, i) => t === last.items[i])) return last.tail;
      for (let i = 0; i < tags.length; i++) {
        const t: unknown = tags[i];
        if (typeof t !== 'string' || t.includes('\x1f')) return this.#makeTail(tags);
      }
      key = tags.length === 1 ? (tags[0] as string) : tags.join('\x1f');
      cache = this.#arrayTails;
    } else {
      const keys = Object.keys(tags);
      if (keys.length === 0) return this.#globalTail;
      key = '';
      for (const k of keys) {
        const v = String((tags as Record<string, unknown>)[k]);
        if (k.includes('\x1f') || v.includes('\x1f')) return this.#makeTail(tags);
        key += k + '\x1f' + v + '\x1f';
      }
      cache = this.#objectTails;
    }
    let tail = cache.get(key);
    if (tail === undefined) {
      tail = this.#makeTail(tags);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(key, tail);
    }
    if (Array.isArray(tags)) {
      // remembered in place: a caller that builds a new array per call costs no allocation here
      const last = this.#lastTags;
      last.array = tags;
      last.items.length = 0;
      for (const t of tags as unknown[]) last.items.push(t);
      last.tail = tail;
    }
    return tail;
  }

  #makeTail(tags: unknown): TagTail {
    const merged = tags && typeof tags === 'object' ? overrideTags(this.globalTags, tags as Tags, this.telegraf) : this.globalTags;
    if (merged.length === 0) return NO_TAGS;
    let text: string;
    if (this.telegraf) {
      text = ',' + merged.map((tag) => {
        const colon = tag.indexOf(':');
        return colon < 1 ? tag : `${tag.substring(0, colon)}=${tag.substring(colon + 1)}`;
      }).join(',');
    } else {
      const list = lineTags(merged);
      if (list.length === 0) return NO_TAGS;
      text = '|' + this.#tagPrefix + list.join(this.#tagSeparator);
    }
    return { text, bytes: Buffer.byteLength(text) };
  }
}

/** A call's argument that could not be written (its String() threw, say), as a StatsdError. */
function unwritable(error: unknown): StatsdError {
  if (error instanceof StatsdError) return error;
  let why: string;
  try {
    why = String((error as Error)?.message ?? error);
  } catch {
    why = 'an argument could not be read';
  }
  return new StatsdError('ERR_STATSD_BAD_VALUE', `not written: ${why}`);
}
