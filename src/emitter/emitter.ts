// Emitter: a typed statsd client that aggregates locally and sends packets
// that never exceed the limit; it never throws on network trouble (DESIGN §6).
// Options and checks are in options.ts, handles in handles.ts, storage in
// metric-store.ts; this class is the public methods and the flush cycle.
// Over 300 lines: the public methods each check and then write one slot, and
// share the flush cycle's state; moving either out would split that state.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';

import { LineBatch, PACK_TRAILING_NEWLINE, splitPackets } from '../codec/line-batch';
import { type Endpoint, parseEndpoint, resolveEndpoint } from '../net/endpoint';
import { StatsdError, reasonError } from '../core/errors';
import { CounterHandle, GaugeHandle, TimerHandle } from './handles';
import { Kind, MetricStore, lookupIndex } from './metric-store';
import { EMITTER_OPTIONS, type EmitterOptions, type EmitterStats, type Tags, checkRate, checkTags, checkValue, describe } from './options';

export { CounterHandle, GaugeHandle, TimerHandle } from './handles';
export type { EmitterOptions, EmitterStats } from './options';
import type { MetricType } from '../codec/metric';
import { booleanOption, choiceOption, integerOption, invalidOption, knownKeys } from '../core/options';
import { formatLine } from '../codec/serialize';
import { type Transport, type TransportEvents, countLines, createTransport } from '../net/transport';
import { ShardedTransport } from '../scale/sharded-transport';

const SET_MEMBER_BAD = /[|\n\r\x00-\x1f\x7f]/;

/**
 * A statsd client. Calls aggregate into typed arrays; every flushInterval one
 * native call formats and packs the interval's lines, which the transport sends.
 * Without an endpoint (option or environment) it is disabled: calls are checked
 * and ignored.
 */
export class Emitter extends EventEmitter {
  readonly enabled: boolean;
  readonly endpoint: Endpoint | undefined;
  /** Every endpoint keys are sent to: `endpoints`, or the one `endpoint`. */
  readonly endpoints: readonly Endpoint[];
  readonly #prefix: string;
  readonly #globalTags: readonly string[];
  readonly #store: MetricStore;
  readonly #batch = new LineBatch();
  readonly #transport: Transport | undefined;
  readonly #maxPacketBytes: number;
  readonly #flushInterval: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #flushTimeout: number;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  /** Per frozen tags array, per lookup table: name → slot (see #slot). */
  readonly #byTags = new WeakMap<readonly string[], Map<string, number>[]>();
  readonly #stats = { sent: 0, dropped: 0, packets: 0, bytes: 0, errors: 0, keysDropped: 0 };
  /** store.samplesDropped already counted in #stats.dropped. */
  #samplesDropped = 0;

  constructor(options: EmitterOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw invalidOption('options', 'an object', options);
    knownKeys('Emitter', options, EMITTER_OPTIONS);
    const env = options.env ?? process.env;
    if (env === null || typeof env !== 'object') throw invalidOption('env', 'an object', env);
    const endpoints = shardEndpoints(options);
    const endpoint = endpoints?.[0] ?? resolveEndpoint(options.endpoint, env);
    this.endpoint = endpoint;
    this.endpoints = endpoints ?? (endpoint ? [endpoint] : []);
    this.enabled = endpoint !== undefined;
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string') throw invalidOption('prefix', 'a string', prefix);
    this.#prefix = prefix === '' || prefix.endsWith('.') ? prefix : `${prefix}.`;
    const tags = options.globalTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      throw invalidOption('globalTags', 'a list of strings', tags);
    }
    this.#globalTags = [...tags];
    const unix = endpoint?.transport === 'unix' || endpoint?.transport === 'unixstream';
    this.#maxPacketBytes = integerOption('maxPacketBytes', options.maxPacketBytes, unix ? 8192 : 1432, 16, 65507);
    this.#flushInterval = integerOption('flushInterval', options.flushInterval, 1000, 0, 2 ** 31 - 1);
    const convention = choiceOption('convention', options.convention, 'brubeck', ['brubeck', 'etsy'] as const);
    this.#store = new MetricStore({
      etsy: convention === 'etsy',
      maxSamplesPerKey: integerOption('maxSamplesPerKey', options.maxSamplesPerKey, 1000, 1, 1 << 24),
      maxKeys: integerOption('maxKeys', options.maxKeys, 200_000, 0, 2 ** 31 - 1),
      maxIntervalSamples: integerOption('maxIntervalSamples', options.maxIntervalSamples, 1_000_000, 0, 2 ** 31 - 1),
      idleIntervals: integerOption('idleIntervals', options.idleIntervals, 10, 0, 254),
      agePeriod: this.#flushInterval || 1000,
      onFirstChange: () => this.#scheduleImmediate(),
      packValues: booleanOption('dogstatsd', options.dogstatsd, false),
      maxPacketBytes: this.#maxPacketBytes,
    });
    this.#flushTimeout = integerOption('flushTimeout', options.flushTimeout, 5000, 0, 2 ** 31 - 1);
    // Names and tags are checked once here and once per new key, never per call.
    if (this.#prefix !== '') this.#check(`${this.#prefix}x`, 'prefix');
    if (this.#globalTags.length) this.#check('x', 'globalTags', this.#globalTags);
    const maxQueueBytes = integerOption('maxQueueBytes', options.maxQueueBytes, 64 << 20, 0, 2 ** 31 - 1);
    const sendWindow = integerOption(
      'sendWindow',
      options.sendWindow,
      Math.min(500, Math.max(50, Math.floor(this.#flushInterval / 2))),
      0,
      2 ** 31 - 1,
    );
    if (endpoint === undefined) {
      // Disabled: calls are still checked (so keys are still held); forget
      // them on the same schedule, so memory is the same as enabled.
      this.#timer = setInterval(() => this.#store.drain(undefined), this.#flushInterval || 1000);
      this.#timer.unref();
    } else {
      const events: TransportEvents = {
        error: (error) => this.#networkError(error),
        dropped: (packets) => {
          for (const p of packets) this.#stats.dropped += countLines(p);
        },
        sent: (packet) => {
          this.#stats.sent += countLines(packet);
          this.#stats.packets++;
          this.#stats.bytes += packet.length;
        },
      };
      this.#transport =
        endpoints && endpoints.length > 1
          ? new ShardedTransport(endpoints, events, { maxQueueBytes, sendWindow }, this.#maxPacketBytes, { convention }, (lines) => (this.#stats.dropped += lines))
          : createTransport(endpoint, events, { maxQueueBytes, sendWindow });
      // Immediate flushes (flushInterval 0) still need this timer: keys idle
      // for idleIntervals seconds are forgotten at a flush.
      this.#timer = setInterval(() => this.#flushNow(), this.#flushInterval || 1000);
      this.#timer.unref();
    }
  }

  // --- calls -------------------------------------------------------------

  /** Adds `by` (default 1) to a counter (`c`). */
  increment(name: string, by = 1, sampleRate = 1, tags?: Tags): void {
    checkValue(name, by);
    if (sampleRate !== 1) {
      checkRate(sampleRate);
      if (Math.random() >= sampleRate) return;
      by /= sampleRate;
    }
    const slot = this.#slot(Kind.Counter, 'c', name, tags);
    if (slot >= 0) this.#store.add(slot, by);
  }

  decrement(name: string, by = 1, sampleRate = 1, tags?: Tags): void {
    checkValue(name, by);
    this.increment(name, -by, sampleRate, tags);
  }

  /** Reports a running total (brubeck `C`; with convention 'etsy', the change as `c`). */
  count(name: string, total: number, tags?: Tags): void {
    checkValue(name, total);
    const slot = this.#slot(Kind.Monotonic, 'C', name, tags);
    if (slot >= 0) this.#store.set(slot, total);
  }

  /** Sets a gauge. A negative value is sent as `0|g` then `-N|g`, never as a decrement. */
  gauge(name: string, value: number, tags?: Tags): void {
    checkValue(name, value);
    const slot = this.#slot(Kind.Gauge, 'g', name, tags);
    if (slot >= 0) this.#store.set(slot, value);
  }

  /** Changes a gauge by `delta` (sent as `+N|g` / `-N|g`). */
  gaugeAdd(name: string, delta: number, tags?: Tags): void {
    checkValue(name, delta);
    const slot = this.#slot(Kind.Gauge, 'g', name, tags);
    if (slot >= 0) this.#store.addGauge(slot, delta);
  }

  timing(name: string, ms: number, sampleRate = 1, tags?: Tags): void {
    this.#sample(Kind.Timing, 'ms', name, ms, sampleRate, tags);
  }

  histogram(name: string, value: number, sampleRate = 1, tags?: Tags): void {
    this.#sample(Kind.Timing, 'h', name, value, sampleRate, tags);
  }

  distribution(name: string, value: number, sampleRate = 1, tags?: Tags): void {
    this.#sample(Kind.Timing, 'd', name, value, sampleRate, tags);
  }

  /** Adds a member to a set (`s`): the server counts unique members. */
  set(name: string, member: string | number, tags?: Tags): void {
    const text = typeof member === 'number' ? String(member) : member;
    if (typeof text !== 'string' || text === '' || SET_MEMBER_BAD.test(text) || text === 'NaN') {
      throw reasonError('bad_value', `${describe(name)}: set member ${describe(member)}`);
    }
    const slot = this.#slot(Kind.Set, 's', name, tags);
    if (slot >= 0) this.#store.addMember(slot, text);
  }

  // --- handles -----------------------------------------------------------

  /**
   * A counter handle for hot loops: `add()` is a typed-array write. A
   * handle's key is never forgotten (idleIntervals); past maxKeys, creating
   * one throws a StatsdError (ERR_STATSD_MAX_KEYS).
   */
  counter(name: string, tags?: Tags): CounterHandle {
    return new CounterHandle(this.#store, this.#handleSlot(Kind.Counter, 'c', name, tags), name);
  }

  gaugeHandle(name: string, tags?: Tags): GaugeHandle {
    return new GaugeHandle(this.#store, this.#handleSlot(Kind.Gauge, 'g', name, tags), name);
  }

  timer(name: string, tags?: Tags): TimerHandle {
    return new TimerHandle(this.#store, this.#handleSlot(Kind.Timing, 'ms', name, tags), name);
  }

  // --- delivery ----------------------------------------------------------

  /**
   * Sends what was recorded so far and waits until the transport wrote it, or
   * flushTimeout ms at most (what is still queued then stays queued).
   */
  async flush(): Promise<void> {
    this.#flushNow();
    await this.#transport?.flush(this.#flushTimeout);
  }

  /**
   * Flushes, then closes the socket, within about flushTimeout ms: what could
   * not be written by then is dropped and counted. Later calls are ignored.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#flushNow(true);
    await this.#transport?.close(this.#flushTimeout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get stats(): EmitterStats {
    this.#countSamplesDropped();
    return { ...this.#stats, keys: this.#store.size };
  }

  // --- internals ---------------------------------------------------------

  #sample(kind: Kind, type: MetricType, name: string, value: number, sampleRate: number, tags: Tags): void {
    checkValue(name, value);
    if (sampleRate !== 1) {
      checkRate(sampleRate);
      if (Math.random() >= sampleRate) return;
    }
    const slot = this.#slot(kind, type, name, tags);
    if (slot >= 0) this.#store.addTiming(slot, value, sampleRate);
  }

  #handleSlot(kind: Kind, type: MetricType, name: string, tags: Tags): number {
    const slot = this.#slot(kind, type, name, tags);
    if (slot < 0) throw new StatsdError('ERR_STATSD_MAX_KEYS', `${describe(name)}: maxKeys keys are held already`);
    this.#store.pin(slot);
    return slot;
  }

  #countSamplesDropped(): void {
    const dropped = this.#store.samplesDropped;
    this.#stats.dropped += dropped - this.#samplesDropped;
    this.#samplesDropped = dropped;
  }

  /**
   * The slot of a key, registered (and checked) on first use; -1 (counted)
   * when maxKeys keys are held. A disabled emitter keeps slots too, so it
   * checks names exactly as an enabled one; they are just never sent.
   */
  #slot(kind: Kind, type: MetricType, name: string, tags: Tags): number {
    const index = lookupIndex(kind, type);
    if (tags == null || (Array.isArray(tags) && tags.length === 0)) {
      const slot = this.#store.find(index, name);
      return slot >= 0 ? slot : this.#register(index, name, kind, type, name, []);
    }
    checkTags(tags);
    // A frozen tags array (Object.freeze, e.g. a module constant) cannot change,
    // so its slots are remembered by the array's identity: no key text is built.
    // A remembered slot carries its generation (slot * 2^16 + generation): a
    // slot freed and reused for another key no longer matches.
    const frozen = Object.isFrozen(tags);
    let byName: Map<string, number> | undefined;
    if (frozen) {
      let perLookup = this.#byTags.get(tags);
      if (perLookup === undefined) {
        perLookup = Array.from({ length: 7 }, () => new Map<string, number>());
        this.#byTags.set(tags, perLookup);
      }
      byName = perLookup[index]!;
      const cached = byName.get(name);
      if (cached !== undefined) {
        const slot = Math.floor(cached / 0x10000);
        if (this.#store.generation(slot) === (cached & 0xffff)) return slot;
      }
    }
    if (typeof name !== 'string' || !tags.every((t) => typeof t === 'string')) {
      throw reasonError(typeof name !== 'string' ? 'bad_name' : 'bad_tag', `${describe(name)} ${describe(tags)}`);
    }
    const key = `${type}\x1f${name}\x1f${tags.join('\x1f')}`;
    const found = this.#store.find(index, key);
    const slot = found >= 0 ? found : this.#register(index, key, kind, type, name, tags);
    if (slot >= 0 && byName !== undefined) byName.set(name, slot * 0x10000 + this.#store.generation(slot));
    return slot;
  }

  #check(name: string, what: string, tags: readonly string[] = []): void {
    try {
      formatLine({ name, type: 'c', value: 0, tags });
    } catch (error) {
      throw invalidOption(what, 'text that is valid in a statsd line', (error as Error).message);
    }
  }

  // Validates a new key once (the same checks the serializer makes) and adds it.
  #register(index: number, key: string, kind: Kind, type: MetricType, name: string, tags: readonly string[]): number {
    if (typeof name !== 'string') throw reasonError('bad_name', describe(name));
    const allTags = this.#globalTags.length ? [...tags, ...this.#globalTags] : tags;
    const fullName = this.#prefix === '' ? name : this.#prefix + name;
    formatLine({ name: fullName, type, value: type === 's' ? 'x' : 0, tags: allTags });
    const slot = this.#store.register(index, key, kind, type, fullName, allTags);
    if (slot < 0) {
      this.#stats.keysDropped++;
      this.#stats.dropped++;
    }
    return slot;
  }

  #scheduleImmediate(): void {
    if (this.#flushInterval === 0 && this.#immediate === undefined && this.enabled && !this.#closed) {
      // Ref'd on purpose: a script that records a metric and ends still sends
      // it (fripp sends at the call in this mode); the socket stays unref'd.
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#flushNow();
      });
    }
  }

  #flushNow(closing = false): void {
    const transport = this.#transport;
    this.#countSamplesDropped();
    if (transport === undefined || (this.#closed && !closing)) return;
    const batch = this.#batch;
    batch.clear();
    this.#stats.dropped += this.#store.drain(batch);
    if (batch.count === 0) return;
    const lines = batch.count;
    const r = batch.pack(this.#maxPacketBytes, transport.stream ? PACK_TRAILING_NEWLINE : 0);
    batch.clear();
    this.#stats.dropped += r.dropped;
    if (r.status !== 0 || r.mismatch) {
      // Every key was validated when registered, so this is a bug; count, never throw.
      this.#stats.dropped += lines - r.dropped;
      this.#networkError(new StatsdError('ERR_STATSD_NATIVE', `pack failed with status ${r.status}`));
      return;
    }
    transport.send(splitPackets(r));
  }

  #networkError(error: Error): void {
    this.#stats.errors++;
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** `endpoints`, parsed: UDP or TCP, at least one; undefined when not given. Refuses it beside `endpoint`. */
function shardEndpoints(options: EmitterOptions): Endpoint[] | undefined {
  const list = options.endpoints;
  if (list === undefined) return undefined;
  if (options.endpoint !== undefined) throw invalidOption('endpoints', 'either endpoint or endpoints, not both', list);
  if (!Array.isArray(list) || list.length === 0) throw invalidOption('endpoints', 'a non-empty list of host:port or tcp:// endpoints', list);
  return list.map((text, i) => {
    const e = parseEndpoint(text, `endpoints[${i}]`);
    if (e.transport !== 'udp' && e.transport !== 'tcp') throw invalidOption(`endpoints[${i}]`, 'a UDP or TCP endpoint', text);
    return e;
  });
}
