// The emitter's local aggregation: one slot per (type, name, tags), values in
// typed arrays, drained into a LineBatch at each flush (DESIGN §6).
import { FLAG_RELATIVE, FLAG_TAGS, FLAG_TEXT, type LineBatch, TAG_SEPARATOR } from './batch';
import { METRIC_TYPE_CODE, type MetricType } from './metric';

export enum Kind {
  Counter,
  Monotonic,
  Gauge,
  Timing,
  Set,
}

const GAUGE_UNCHANGED = 0;
const GAUGE_ABSOLUTE = 1;
const GAUGE_RELATIVE = 2;

/** Timings of one key for one interval: all of them up to `cap`, then a uniform sample. */
class TimingSamples {
  readonly values: Float64Array;
  readonly rates: Float64Array;
  length = 0;
  /** Calls recorded this interval (kept or not). */
  seen = 0;

  constructor(cap: number) {
    this.values = new Float64Array(cap);
    this.rates = new Float64Array(cap);
  }

  add(value: number, rate: number): void {
    const cap = this.values.length;
    this.seen++;
    let at = this.length;
    if (at < cap) {
      this.length++;
    } else {
      at = Math.floor(Math.random() * this.seen); // reservoir (algorithm R)
      if (at >= cap) return;
    }
    this.values[at] = value;
    this.rates[at] = rate;
  }
}

export interface StoreOptions {
  /** `etsy`: monotonic totals are sent as `c` deltas; `brubeck`: as `C` totals. */
  etsy: boolean;
  maxSamplesPerKey: number;
  /** Called when the first slot of an interval changes (schedules a flush). */
  onFirstChange: () => void;
  /**
   * Send a key's timings as multi-value lines (`a:1:2:3|ms`, DogStatsD v1.1),
   * each no longer than `maxPacketBytes`. Only DogStatsD agents read them.
   */
  packValues: boolean;
  maxPacketBytes: number;
}

export class MetricStore {
  values = new Float64Array(64);
  /** Monotonic (etsy): the total already sent as deltas. */
  previous = new Float64Array(64);
  gaugeMode = new Uint8Array(64);
  dirty = new Uint8Array(64);
  #dirtyList = new Uint32Array(64);
  #dirtyCount = 0;
  readonly #kinds: Kind[] = [];
  readonly #flags: number[] = [];
  /** "name\n" and "tags\n" ('' when untagged) of each slot. */
  readonly #names: string[] = [];
  readonly #tags: string[] = [];
  /** Bytes of a slot's line besides its values (name, type, rate, tags), for packValues. */
  readonly #overheads: number[] = [];
  readonly #timings: (TimingSamples | undefined)[] = [];
  readonly #sets: (Set<string> | undefined)[] = [];
  readonly #index = new Map<string, number>();
  readonly #options: StoreOptions;

  constructor(options: StoreOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#kinds.length;
  }

  /** The slot of `key`, or -1. Keys are built by the emitter (type + name + tags). */
  find(key: string): number {
    return this.#index.get(key) ?? -1;
  }

  /** Adds a slot for a validated name and tag list. */
  register(key: string, kind: Kind, type: MetricType, name: string, tags: readonly string[]): number {
    const slot = this.#kinds.length;
    if (slot === this.values.length) this.#grow();
    this.#index.set(key, slot);
    this.#kinds.push(kind);
    this.#flags.push(METRIC_TYPE_CODE[type]! | (tags.length ? FLAG_TAGS : 0));
    this.#names.push(`${name}\n`);
    this.#tags.push(tags.length ? `${tags.join(TAG_SEPARATOR)}\n` : '');
    this.#overheads.push(Buffer.byteLength(name) + (tags.length ? Buffer.byteLength(tags.join(',')) + 2 : 0) + 32);
    this.#timings.push(kind === Kind.Timing ? new TimingSamples(this.#options.maxSamplesPerKey) : undefined);
    this.#sets.push(kind === Kind.Set ? new Set<string>() : undefined);
    return slot;
  }

  /** Marks a slot changed this interval. */
  touch(slot: number): void {
    if (this.dirty[slot] === 0) {
      this.dirty[slot] = 1;
      this.#dirtyList[this.#dirtyCount++] = slot;
      if (this.#dirtyCount === 1) this.#options.onFirstChange();
    }
  }

  /** Counter: adds `by`. */
  add(slot: number, by: number): void {
    this.values[slot] = this.values[slot]! + by;
    if (this.dirty[slot] === 0) this.touch(slot);
  }

  /** Monotonic total or absolute gauge: sets the value. */
  set(slot: number, value: number): void {
    this.values[slot] = value;
    this.gaugeMode[slot] = GAUGE_ABSOLUTE;
    if (this.dirty[slot] === 0) this.touch(slot);
  }

  /** Gauge change: relative unless the gauge was set this interval. */
  addGauge(slot: number, delta: number): void {
    this.values[slot] = this.values[slot]! + delta;
    if (this.gaugeMode[slot] !== GAUGE_ABSOLUTE) this.gaugeMode[slot] = GAUGE_RELATIVE;
    if (this.dirty[slot] === 0) this.touch(slot);
  }

  addTiming(slot: number, value: number, rate: number): void {
    this.#timings[slot]!.add(value, rate);
    this.touch(slot);
  }

  addMember(slot: number, member: string): void {
    this.#sets[slot]!.add(member);
    this.touch(slot);
  }

  get pending(): number {
    return this.#dirtyCount;
  }

  /**
   * Moves every changed slot's lines into `batch` and starts a new interval.
   * Returns the lines left out because a sum overflowed to ±Infinity.
   */
  drain(batch: LineBatch): number {
    let overflowed = 0;
    const list = this.#dirtyList;
    for (let i = 0; i < this.#dirtyCount; i++) {
      const slot = list[i]!;
      this.dirty[slot] = 0;
      const segment = this.#names[slot]! + this.#tags[slot]!;
      const flags = this.#flags[slot]!;
      if (!Number.isFinite(this.values[slot]!)) {
        // Finite inputs can still sum past 1.8e308; such a line cannot be sent.
        overflowed++;
        this.values[slot] = 0;
        this.gaugeMode[slot] = GAUGE_UNCHANGED;
        continue;
      }
      switch (this.#kinds[slot]) {
        case Kind.Counter:
          batch.push(segment, this.values[slot]!, 1, 0, flags);
          this.values[slot] = 0;
          break;
        case Kind.Monotonic:
          if (this.#options.etsy) {
            const total = this.values[slot]!;
            const previous = this.previous[slot]!;
            // A drop means the source restarted its count: the new total is the delta.
            const delta = total >= previous ? total - previous : total;
            this.previous[slot] = total;
            batch.push(segment, delta, 1, 0, (flags & ~0xf) | METRIC_TYPE_CODE.c!);
          } else {
            batch.push(segment, this.values[slot]!, 1, 0, flags);
          }
          break;
        case Kind.Gauge: {
          const mode = this.gaugeMode[slot];
          if (mode !== GAUGE_UNCHANGED) {
            batch.push(segment, this.values[slot]!, 1, 0, mode === GAUGE_RELATIVE ? flags | FLAG_RELATIVE : flags);
          }
          this.gaugeMode[slot] = GAUGE_UNCHANGED;
          this.values[slot] = 0;
          break;
        }
        case Kind.Timing: {
          const t = this.#timings[slot]!;
          // Each kept sample stands for seen/length calls: its rate says so.
          const kept = t.length / t.seen;
          if (this.#options.packValues) {
            this.#packTimings(batch, slot, t, kept);
          } else {
            for (let j = 0; j < t.length; j++) batch.push(segment, t.values[j]!, t.rates[j]! * kept, 0, flags);
          }
          t.length = 0;
          t.seen = 0;
          break;
        }
        case Kind.Set: {
          const members = this.#sets[slot]!;
          const name = this.#names[slot]!;
          const tags = this.#tags[slot]!;
          for (const m of members) batch.push(`${name}${m}\n${tags}`, 0, 1, 0, flags | FLAG_TEXT);
          members.clear();
          break;
        }
      }
    }
    this.#dirtyCount = 0;
    return overflowed;
  }

  // Multi-value lines: runs of samples with the same rate, cut so that a line
  // fits a packet. String(v) prints exactly what the native formatter would.
  #packTimings(batch: LineBatch, slot: number, t: TimingSamples, kept: number): void {
    const name = this.#names[slot]!;
    const tags = this.#tags[slot]!;
    const flags = this.#flags[slot]! | FLAG_TEXT;
    const room = Math.max(16, this.#options.maxPacketBytes - this.#overheads[slot]!);
    let j = 0;
    while (j < t.length) {
      const rate = t.rates[j]!;
      let text = String(t.values[j]!);
      for (j++; j < t.length && t.rates[j] === rate; j++) {
        const next = String(t.values[j]!);
        if (text.length + 1 + next.length > room) break;
        text += `:${next}`;
      }
      batch.push(`${name}${text}\n${tags}`, 0, rate * kept, 0, flags);
    }
  }

  #grow(): void {
    const n = this.values.length * 2;
    const grow64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const grow8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.values = grow64(this.values);
    this.previous = grow64(this.previous);
    this.gaugeMode = grow8(this.gaugeMode);
    this.dirty = grow8(this.dirty);
    const list = new Uint32Array(n);
    list.set(this.#dirtyList);
    this.#dirtyList = list;
  }
}

