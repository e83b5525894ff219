// The emitter's local aggregation: one slot per (type, name, tags), values in
// typed arrays, drained into a LineBatch at each flush (DESIGN §6). Memory
// follows use: timing samples and set members are held only while a key has
// them, slots of keys idle for `idleIntervals` flushes are freed for reuse,
// and `maxKeys` and `maxIntervalSamples` bound the rest.
//
// Over 300 lines on purpose: one structure of parallel typed-array columns
// indexed by slot. Its write methods are the hot path of every Emitter call
// and its drain reads the same columns; split apart, each half would have to
// know the other's layout.
import {
  LINE_FLAG_RELATIVE,
  LINE_FLAG_TAGS,
  LINE_FLAG_TEXT,
  LINE_TYPE_MASK,
  type LineBatch,
  TAG_SEPARATOR,
} from '../codec/line-batch';
import { METRIC_TYPE_CODE, type MetricType } from '../codec/metric';

export enum Kind {
  Counter,
  Monotonic,
  Gauge,
  Timing,
  Set,
}

/** Lookup tables, one per kind, and per type for timings (ms, h and d are separate keys). */
const LOOKUPS = 7;
export function lookupIndex(kind: Kind, type: MetricType): number {
  return type === 'h' ? 5 : type === 'd' ? 6 : kind;
}

const GAUGE_UNCHANGED = 0;
const GAUGE_ABSOLUTE = 1;
const GAUGE_RELATIVE = 2;

/** Ages saturate here; a slot older than idleIntervals (at most 254) is freed. */
const AGE_MAX = 255;

/**
 * Timings of one key for one interval: all of them up to the key's cap, then a
 * uniform sample. Storage grows by doubling from 8, and only while the store's
 * interval budget lasts.
 */
class TimingSamples {
  values: Float64Array;
  rates: Float64Array;
  length = 0;
  /** Calls recorded this interval (kept or not). */
  seen = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
    this.rates = new Float64Array(capacity);
  }

  get capacity(): number {
    return this.values.length;
  }

  grow(capacity: number): void {
    const values = new Float64Array(capacity);
    const rates = new Float64Array(capacity);
    values.set(this.values.subarray(0, this.length));
    rates.set(this.rates.subarray(0, this.length));
    this.values = values;
    this.rates = rates;
  }
}

export interface StoreOptions {
  /** `etsy`: monotonic totals are sent as `c` deltas; `brubeck`: as `C` totals. */
  etsy: boolean;
  maxSamplesPerKey: number;
  /** Slots at most; a new key past it is refused (register returns -1). */
  maxKeys: number;
  /** Timing samples stored per interval over all keys (16 B each, storage grown by doubling). */
  maxIntervalSamples: number;
  /** Intervals of `agePeriod` ms a key may stay unused before its slot is freed (0: never). */
  idleIntervals: number;
  /** ms per idle interval: the flush interval (1000 when flushes are immediate). */
  agePeriod: number;
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
  #kinds = new Uint8Array(64);
  #flags = new Uint16Array(64);
  /** Flushes since the slot last changed (saturating). */
  #age = new Uint8Array(64);
  /** 1: never freed (a handle holds the slot, or an etsy monotonic total must be kept). */
  #pinned = new Uint8Array(64);
  /** 1: the slot is in use. */
  #live = new Uint8Array(64);
  #lookup = new Uint8Array(64);
  #generation = new Uint16Array(64);
  /** Samples the key stored last interval: the next interval's storage starts that large. */
  #hint = new Uint32Array(64);
  #dirtyList = new Uint32Array(64);
  #dirtyCount = 0;
  /** Full name (prefix included) and tags joined by TAG_SEPARATOR ('' untagged), per slot. */
  readonly #names: string[] = [];
  readonly #tags: string[] = [];
  /** The text the slot is found by in its lookup map, to forget it when freed. */
  readonly #keys: string[] = [];
  /** A timing slot's samples or a set slot's members, while the interval has any. */
  readonly #held: (TimingSamples | Set<string> | undefined)[] = [];
  /** Untagged keys by name, and tagged keys by "type\x1fname\x1ftags", per lookup index. */
  readonly #maps: Map<string, number>[] = Array.from({ length: LOOKUPS }, () => new Map<string, number>());
  readonly #free: number[] = [];
  #size = 0;
  #end = 0;
  /** When the slots were last aged (Date.now()). */
  #agedAt = Date.now();
  /** Timing samples that may still be stored this interval (storage is at most about twice that). */
  #sampleBudget: number;
  readonly #options: StoreOptions;
  /** Timing calls not stored because the interval budget was used up (never sent). */
  samplesDropped = 0;
  keysFreed = 0;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.#sampleBudget = options.maxIntervalSamples;
  }

  /** Keys held now. */
  get size(): number {
    return this.#size;
  }

  /** The slot of `key` in lookup table `index`, or -1. */
  find(index: number, key: string): number {
    return this.#maps[index]!.get(key) ?? -1;
  }

  /**
   * Adds a slot for a validated name and tag list, found by `key` in lookup
   * table `index`; -1 when maxKeys slots are in use.
   */
  register(index: number, key: string, kind: Kind, type: MetricType, name: string, tags: readonly string[]): number {
    if (this.#size >= this.#options.maxKeys) return -1;
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#end++;
      if (slot === this.values.length) this.#grow();
    }
    this.#size++;
    this.#maps[index]!.set(key, slot);
    this.#live[slot] = 1;
    this.#lookup[slot] = index;
    this.#kinds[slot] = kind;
    this.#flags[slot] = METRIC_TYPE_CODE[type]! | (tags.length ? LINE_FLAG_TAGS : 0);
    this.#age[slot] = 0;
    this.#pinned[slot] = kind === Kind.Monotonic && this.#options.etsy ? 1 : 0;
    this.values[slot] = 0;
    this.previous[slot] = 0;
    this.gaugeMode[slot] = GAUGE_UNCHANGED;
    this.#hint[slot] = 0;
    this.#names[slot] = name;
    this.#tags[slot] = tags.length ? tags.join(TAG_SEPARATOR) : '';
    this.#keys[slot] = key;
    return slot;
  }

  /** Keeps the slot for good: a handle writes to it by number. */
  pin(slot: number): void {
    this.#pinned[slot] = 1;
  }

  /**
   * The slot's generation (16 bits): it changes when the slot is freed, so a
   * cache that remembered a slot number can tell it was reused for another key.
   */
  generation(slot: number): number {
    return this.#generation[slot]!;
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
    let t = this.#held[slot] as TimingSamples | undefined;
    if (t === undefined) {
      if (this.#sampleBudget <= 0) {
        this.samplesDropped++;
        return;
      }
      // Sized for what the key stored last interval (at least 8).
      t = new TimingSamples(Math.min(this.#options.maxSamplesPerKey, Math.max(8, this.#hint[slot]!)));
      this.#held[slot] = t;
    }
    t.seen++;
    const cap = this.#options.maxSamplesPerKey;
    if (t.length === t.capacity && t.capacity < cap && this.#sampleBudget > 0) t.grow(Math.min(cap, t.capacity * 2));
    if (t.length < t.capacity && this.#sampleBudget > 0) {
      t.values[t.length] = value;
      t.rates[t.length] = rate;
      t.length++;
      this.#sampleBudget--;
    } else if (t.length > 0) {
      const at = Math.floor(Math.random() * t.seen); // reservoir (algorithm R): each kept sample stands for seen/length
      if (at < t.length) {
        t.values[at] = value;
        t.rates[at] = rate;
      }
    } else {
      this.samplesDropped++; // the interval's budget went to other keys before this one stored any
    }
    this.touch(slot);
  }

  addMember(slot: number, member: string): void {
    let members = this.#held[slot] as Set<string> | undefined;
    if (members === undefined) {
      members = new Set<string>();
      this.#held[slot] = members;
    }
    members.add(member);
    this.touch(slot);
  }

  get pending(): number {
    return this.#dirtyCount;
  }

  /**
   * Moves every changed slot's lines into `batch` (none when `batch` is
   * undefined: a disabled emitter) and starts a new interval; once per
   * agePeriod, ages the slots and frees those idle too long. Call it every
   * agePeriod at least, changes or not. Returns the lines left out because a
   * sum overflowed.
   */
  drain(batch: LineBatch | undefined): number {
    let overflowed = 0;
    const list = this.#dirtyList;
    for (let i = 0; i < this.#dirtyCount; i++) {
      const slot = list[i]!;
      this.dirty[slot] = 0;
      this.#age[slot] = 0;
      if (batch === undefined) {
        this.#reset(slot);
        continue;
      }
      const name = this.#names[slot]!;
      const tags = this.#tags[slot]!;
      const tail = tags === '' ? '' : `${tags}\n`;
      const segment = `${name}\n${tail}`;
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
            batch.push(segment, delta, 1, 0, (flags & ~LINE_TYPE_MASK) | METRIC_TYPE_CODE.c!);
          } else {
            batch.push(segment, this.values[slot]!, 1, 0, flags);
          }
          break;
        case Kind.Gauge: {
          const mode = this.gaugeMode[slot];
          if (mode !== GAUGE_UNCHANGED) {
            batch.push(segment, this.values[slot]!, 1, 0, mode === GAUGE_RELATIVE ? flags | LINE_FLAG_RELATIVE : flags);
          }
          this.gaugeMode[slot] = GAUGE_UNCHANGED;
          this.values[slot] = 0;
          break;
        }
        case Kind.Timing: {
          const t = this.#held[slot] as TimingSamples | undefined;
          if (t === undefined) break; // every call was past the interval budget
          // Each kept sample stands for seen/length calls: its rate says so.
          const kept = t.length / t.seen;
          if (this.#options.packValues) {
            this.#packTimings(batch, name, tail, flags, t, kept);
          } else {
            for (let j = 0; j < t.length; j++) batch.push(segment, t.values[j]!, t.rates[j]! * kept, 0, flags);
          }
          this.#releaseTimings(slot);
          break;
        }
        case Kind.Set: {
          const members = this.#held[slot] as Set<string> | undefined;
          if (members !== undefined) {
            for (const m of members) batch.push(`${name}\n${m}\n${tail}`, 0, 1, 0, flags | LINE_FLAG_TEXT);
          }
          this.#held[slot] = undefined;
          break;
        }
      }
    }
    this.#dirtyCount = 0;
    this.#sampleBudget = this.#options.maxIntervalSamples;
    const now = Date.now();
    if (now - this.#agedAt >= this.#options.agePeriod) {
      this.#agedAt = now;
      this.#ageSlots();
    }
    return overflowed;
  }

  /** A disabled emitter's drain: forgets the interval's values. */
  #reset(slot: number): void {
    this.values[slot] = 0;
    this.gaugeMode[slot] = GAUGE_UNCHANGED;
    if (this.#kinds[slot] === Kind.Timing && this.#held[slot] !== undefined) this.#releaseTimings(slot);
    this.#held[slot] = undefined;
  }

  // Samples are held only within an interval; the next one starts with room
  // for as many as this one stored.
  #releaseTimings(slot: number): void {
    this.#hint[slot] = (this.#held[slot] as TimingSamples).length;
    this.#held[slot] = undefined;
  }

  // One pass over the slots per flush: ages them and frees the idle ones.
  #ageSlots(): void {
    const limit = this.#options.idleIntervals;
    if (limit === 0) return;
    const age = this.#age;
    for (let slot = 0; slot < this.#end; slot++) {
      if (this.#live[slot] === 0) continue;
      if (age[slot]! < AGE_MAX) age[slot]!++;
      if (age[slot]! > limit && this.#pinned[slot] === 0) this.#freeSlot(slot);
    }
  }

  #freeSlot(slot: number): void {
    this.#maps[this.#lookup[slot]!]!.delete(this.#keys[slot]!);
    this.#generation[slot] = (this.#generation[slot]! + 1) & 0xffff;
    this.#live[slot] = 0;
    this.#names[slot] = '';
    this.#tags[slot] = '';
    this.#keys[slot] = '';
    this.#held[slot] = undefined;
    this.#free.push(slot);
    this.#size--;
    this.keysFreed++;
  }

  // Multi-value lines: runs of samples with the same rate, cut so that a line
  // fits a packet. String(v) prints exactly what the native formatter would.
  #packTimings(batch: LineBatch, name: string, tail: string, flags: number, t: TimingSamples, kept: number): void {
    const overhead = Buffer.byteLength(name) + (tail === '' ? 0 : Buffer.byteLength(tail) + 1) + 32;
    const room = Math.max(16, this.#options.maxPacketBytes - overhead);
    let j = 0;
    while (j < t.length) {
      const rate = t.rates[j]!;
      let text = String(t.values[j]!);
      for (j++; j < t.length && t.rates[j] === rate; j++) {
        const next = String(t.values[j]!);
        if (text.length + 1 + next.length > room) break;
        text += `:${next}`;
      }
      batch.push(`${name}\n${text}\n${tail}`, 0, rate * kept, 0, flags | LINE_FLAG_TEXT);
    }
  }

  #grow(): void {
    const n = this.values.length * 2;
    const grow = <T extends Float64Array | Uint8Array | Uint16Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.values = grow(this.values, (k) => new Float64Array(k));
    this.previous = grow(this.previous, (k) => new Float64Array(k));
    this.gaugeMode = grow(this.gaugeMode, (k) => new Uint8Array(k));
    this.dirty = grow(this.dirty, (k) => new Uint8Array(k));
    this.#kinds = grow(this.#kinds, (k) => new Uint8Array(k));
    this.#flags = grow(this.#flags, (k) => new Uint16Array(k));
    this.#age = grow(this.#age, (k) => new Uint8Array(k));
    this.#pinned = grow(this.#pinned, (k) => new Uint8Array(k));
    this.#live = grow(this.#live, (k) => new Uint8Array(k));
    this.#lookup = grow(this.#lookup, (k) => new Uint8Array(k));
    this.#generation = grow(this.#generation, (k) => new Uint16Array(k));
    this.#hint = grow(this.#hint, (k) => new Uint32Array(k));
    this.#dirtyList = grow(this.#dirtyList, (k) => new Uint32Array(k));
  }
}
