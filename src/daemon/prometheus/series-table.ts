// The statsd side of the exposition: one Prometheus series per statsd key
// (and kind), updated from each flush, bounded in samples, rendered in the
// 0.0.4 text format with each family's samples together.
import type { StatsdKind } from './carbon-names';
import type { Reading } from './flush-reader';
import { helpText, metricName, sampleValue, tagLabels } from './text-format';

type FamilyType = 'counter' | 'gauge' | 'summary';

interface Family {
  name: string;
  type: FamilyType;
  /** Of the key that made it: its HELP is "statsd <kind> <path>". */
  kind: StatsdKind;
  path: string;
  /** Its series by label text, in the order made. */
  series: Map<string, Series>;
}

interface Series {
  /** The stored key that owns it (of `kind`). */
  key: string;
  kind: StatsdKind;
  family: Family;
  /** `a="x",b="y"`, '' for none. */
  labels: string;
  /** Samples it may expose: 1, or a summary's 2 + quantiles. */
  cost: number;
  /** The flush (of this table) that last wrote it, and when (ms). */
  flush: number;
  seenAt: number;
  /** Counter: the increments summed since it was first seen; gauge or set: the interval's value. */
  value: number;
  /** Summary: counts and sums summed since it was first seen; quantiles of the last flush that wrote it. */
  count: number;
  sum: number;
  quantiles: [string, number][] | undefined;
  /** Made in the flush being applied, not admitted yet. */
  fresh: boolean;
  /** Tags its labels left out (counted when it is admitted). */
  tagsDropped: number;
}

/** Why samples were left out (statsd_native_prometheus_series_dropped_total{reason}). */
export interface DroppedSamples {
  /** maxSeries was reached. */
  limit: number;
  /** Another key took the same name and labels, or the name as another type (or a `statsd_native_` name). */
  duplicate: number;
  /** Lines no live key could have written (FlushReading.unresolved). */
  unresolved: number;
}

export interface SeriesTableStats {
  /** Samples held now (at most maxSeries). */
  samples: number;
  /** Statsd series (keys) held now. */
  series: number;
  dropped: DroppedSamples;
  /** Tags left out of the labels of the series admitted (no value, an empty name, or a name taken by another tag). */
  labelsDropped: number;
  /** Flushes applied. */
  flushes: number;
}

/** Family names reserved for the daemon's own metrics. */
export const OWN_PREFIX = 'statsd_native_';

/**
 * A copy of `text` that holds only itself: a name sliced from a flush's text
 * would keep that whole text alive as long as its series lives.
 */
function own(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

const byQuantile = (a: [string, number], b: [string, number]) => Number(a[0]) - Number(b[0]);

const TYPE_OF: Record<StatsdKind, FamilyType> = { counter: 'counter', monotonic: 'counter', gauge: 'gauge', set: 'gauge', timer: 'summary' };

/**
 * What each flush said, as Prometheus series. Semantics: a counter (c, C) is
 * the sum of its flushed increments since it was first seen, so rate()
 * works; a gauge the flushed value; a set the members counted in the
 * interval; a timer a summary: its quantiles of the interval ("0" min, "0.5"
 * median, each percentile, "1" max), its _count and _sum summed over flushes.
 * Gauges, sets and quantiles are exposed only from the latest flush; a
 * counter's or summary's totals stay exposed until `idleMs` passes without
 * a flush writing them (a total without a flush is still true), then freed.
 *
 * Bound: at most `maxSeries` samples. A series keeps its place while it
 * lives; a new one takes room left, else the room of series the latest flush
 * did not write (the first made first), else is left out for that flush,
 * counted.
 * Memory (measured with --expose-gc, 40-byte keys): about 800 bytes a
 * counter, gauge or set, 1.8 KB a timer's summary (10 samples); so at most
 * ~80 MB at the default 100k samples, all counters. Names are copied out of
 * the flush's text, which would otherwise stay alive with them.
 */
export class SeriesTable {
  readonly #maxSeries: number;
  readonly #idleMs: number;
  readonly #quantiles: number;
  /** Series by owner: kind, then stored key. */
  readonly #byKey: Record<StatsdKind, Map<string, Series>> = { counter: new Map(), monotonic: new Map(), gauge: new Map(), set: new Map(), timer: new Map() };
  /** Families by name, in the order made. */
  readonly #families = new Map<string, Family>();
  /** The other names a summary takes: name_sum, name_count. */
  readonly #reserved = new Map<string, Family>();
  #series = 0;
  #samples = 0;
  #flush = 0;
  #labelsDropped = 0;
  readonly #dropped: DroppedSamples = { limit: 0, duplicate: 0, unresolved: 0 };

  /** `quantiles`: the most quantiles a summary can carry (CarbonNaming.quantiles). */
  constructor(options: { maxSeries: number; idleMs: number; quantiles: number }) {
    this.#maxSeries = options.maxSeries;
    this.#idleMs = options.idleMs;
    this.#quantiles = options.quantiles;
  }

  /** Applies one flush's readings (and counts its unresolved lines), at `now` (ms). */
  apply(readings: readonly Reading[], unresolved: number, now: number): void {
    const flush = ++this.#flush;
    this.#dropped.unresolved += unresolved;
    const refused = new Set<string>(); // keys left out this flush (of a kind), counted once
    const fresh: Series[] = [];
    for (const r of readings) {
      let s = this.#byKey[r.kind].get(r.key);
      if (!s) {
        if (refused.has(`${r.kind}\n${r.key}`)) continue;
        s = this.#make(r);
        if (!s) {
          refused.add(`${r.kind}\n${r.key}`);
          this.#dropped.duplicate += this.#costOf(r.kind);
          continue;
        }
        fresh.push(s);
      }
      if (s.flush !== flush) {
        s.flush = flush;
        s.seenAt = now;
        if (s.quantiles) s.quantiles.length = 0;
      }
      switch (r.use.as) {
        case 'value': s.value = r.value; break;
        case 'increment': s.value += r.value * r.use.scale; break;
        case 'count': s.count += r.value; break;
        case 'sum': s.sum += r.value; break;
        case 'quantile': s.quantiles?.push([r.use.q, r.value]); break;
      }
    }
    this.#admit(fresh, flush);
    for (const family of this.#families.values()) {
      for (const s of family.series.values()) {
        // A gauge's value is only ever the latest flush's; a total waits idleMs.
        if (s.flush !== flush && (family.type === 'gauge' || now - s.seenAt > this.#idleMs)) this.#remove(s);
      }
    }
  }

  #costOf(kind: StatsdKind): number {
    return kind === 'timer' ? 2 + this.#quantiles : 1;
  }

  /** Room for `fresh` (made this flush, in flush order): what fits is kept, the rest left out and counted. */
  #admit(fresh: Series[], flush: number): void {
    const need = fresh.reduce((n, s) => n + s.cost, 0);
    for (const family of this.#families.values()) {
      if (this.#samples + need <= this.#maxSeries) break;
      for (const s of family.series.values()) {
        if (this.#samples + need <= this.#maxSeries) break;
        if (s.flush !== flush) this.#remove(s);
      }
    }
    for (const s of fresh) {
      if (this.#samples + s.cost <= this.#maxSeries) {
        s.fresh = false;
        this.#samples += s.cost;
        this.#labelsDropped += s.tagsDropped;
      } else {
        this.#dropped.limit += s.cost;
        this.#remove(s);
      }
    }
  }

  /** A new series for `r`'s key, or undefined when its name and labels, or its name as another type, are taken. */
  #make(r: Reading): Series | undefined {
    const type = TYPE_OF[r.kind];
    const name = own(metricName(r.path));
    if (name.startsWith(OWN_PREFIX)) return undefined;
    const labels = tagLabels(r.tags, type === 'summary' ? 'quantile' : undefined);
    let family = this.#families.get(name);
    if (family) {
      if (family.type !== type || family.series.has(labels.text)) return undefined;
    } else {
      const others = type === 'summary' ? [`${name}_sum`, `${name}_count`] : [];
      if (this.#reserved.has(name) || others.some((n) => this.#families.has(n) || this.#reserved.has(n))) return undefined;
      family = { name, type, kind: r.kind, path: own(r.path), series: new Map() };
      this.#families.set(name, family);
      for (const n of others) this.#reserved.set(n, family);
    }
    const s: Series = {
      key: own(r.key), kind: r.kind, family, labels: own(labels.text), cost: this.#costOf(r.kind),
      flush: 0, seenAt: 0, value: 0, count: 0, sum: 0, quantiles: type === 'summary' ? [] : undefined, fresh: true, tagsDropped: labels.dropped,
    };
    family.series.set(s.labels, s);
    this.#byKey[r.kind].set(s.key, s);
    this.#series++;
    return s;
  }

  #remove(s: Series): void {
    this.#byKey[s.kind].delete(s.key);
    this.#series--;
    if (!s.fresh) this.#samples -= s.cost;
    const family = s.family;
    family.series.delete(s.labels);
    if (family.series.size > 0) return;
    this.#families.delete(family.name);
    if (family.type === 'summary') for (const n of [`${family.name}_sum`, `${family.name}_count`]) this.#reserved.delete(n);
  }

  /** The series as 0.0.4 text lines, appended to `out`: one HELP and TYPE a family, its samples together. */
  render(out: string[]): void {
    const latest = this.#flush;
    for (const family of this.#families.values()) {
      const lines: string[] = [];
      for (const s of family.series.values()) {
        if (family.type === 'gauge' && s.flush !== latest) continue;
        const braces = s.labels === '' ? '' : `{${s.labels}}`;
        if (family.type !== 'summary') {
          lines.push(`${family.name}${braces} ${sampleValue(s.value)}`);
          continue;
        }
        if (s.flush === latest && s.quantiles) {
          const comma = s.labels === '' ? '' : `${s.labels},`;
          for (const [q, v] of s.quantiles.sort(byQuantile)) lines.push(`${family.name}{${comma}quantile="${q}"} ${sampleValue(v)}`);
        }
        lines.push(`${family.name}_sum${braces} ${sampleValue(s.sum)}`, `${family.name}_count${braces} ${sampleValue(s.count)}`);
      }
      if (lines.length === 0) continue;
      out.push(`# HELP ${family.name} ${helpText(`statsd ${family.kind} ${family.path}`)}`, `# TYPE ${family.name} ${family.type}`, ...lines);
    }
  }

  get stats(): SeriesTableStats {
    return { samples: this.#samples, series: this.#series, dropped: { ...this.#dropped }, labelsDropped: this.#labelsDropped, flushes: this.#flush };
  }
}
