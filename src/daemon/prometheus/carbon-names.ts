// How each convention names a key's carbon lines (native/flush_brubeck.cc,
// native/flush_etsy.cc), read backwards: for one carbon name, which live
// (key, kind, field) could have written it, and what its value is to a
// Prometheus metric. A name alone can be more than one (brubeck's counter
// `x.count` and timer `x`'s count are both `x.count`); readFlush settles that
// with the shape and order of a flush. Contract: claims() proposes only keys
// that `has` confirms with their kind, never a kind guessed from the name.
import { toNativeOptions } from '../../aggregator/options';
import type { AggregatorOptions, Convention } from '../../aggregator/aggregator';
import { etsyNamespaces } from '../../aggregator/etsy-namespaces';

export type StatsdKind = 'counter' | 'monotonic' | 'gauge' | 'set' | 'timer';

/** What a line's value is to the exposition. */
export type Use =
  /** A gauge's or set's value in the interval. */
  | { as: 'value' }
  /** A counter's increment in the interval: value × scale (etsy's rate × seconds when counts are not flushed). */
  | { as: 'increment'; scale: number }
  /** A timer's count or sum in the interval (its summary's _count and _sum add them up). */
  | { as: 'count' }
  | { as: 'sum' }
  /** One quantile of a timer in the interval ("0.5" from its median …). */
  | { as: 'quantile'; q: string }
  /** A field a summary has no place for (count_ps, mean, std, histogram bins …), or the rate beside etsy's flushed count. */
  | { as: 'none' };

/** A (key, kind, field) that could have written a line. */
export interface Claim {
  /** The stored key (path, then ";k=v" tags); '' for the daemon's own line. */
  key: string;
  /** 'internal': the daemon's own line (etsy's timestamp_lag), not a key's. */
  kind: StatsdKind | 'internal';
  path: string;
  tags: string;
  /** Which of the key's lines ('' for a key's only line, else the name's field: '.count', 'upper_90' …). */
  field: string;
  /** Where its kind's lines come in a flush (etsy: counters, timers, the lag, gauges, sets). */
  section: number;
  /** Where the field comes among its key's lines (0 for a key's only line). */
  order: number;
  use: Use;
  /** The key was freed by the flush that wrote the line (etsy's deleteGauges): not in the aggregator's keys. */
  freed?: boolean;
}

/** Whether the flush's aggregator holds `key` as `kind`. */
export type KeyLookup = (key: string, kind: StatsdKind) => boolean;

export interface CarbonNaming {
  /** Lines that start every flush and are the daemon's own (etsy's statsd.* counters). */
  readonly head: number;
  /** Lines that end every flush and are the daemon's own (brubeck.metrics …, etsy's numStats …). */
  readonly tail: number;
  /** The distinct quantiles a timer's summary can carry. */
  readonly quantiles: readonly string[];
  /**
   * Who could have written the line `name`. `lagWritten`: the flush has
   * etsy's timestamp_lag line (every flush after the first).
   */
  claims(name: string, has: KeyLookup, lagWritten: boolean): Claim[];
  /**
   * When a timer's lines have a fixed shape: for its first line (`field`,
   * `value`), the fields its next lines must be, and a group that may follow
   * them whole; undefined for a field that does not begin its lines. Absent
   * when the shape varies (etsy: calculatedTimerMetrics, thresholds).
   */
  block?(field: string, value: number): { next: string[]; then: string[] } | undefined;
}

/** The naming of `convention` with these aggregator options. */
export function carbonNaming(convention: Convention, options: AggregatorOptions): CarbonNaming {
  const resolved = toNativeOptions(options) as NativeNames;
  return convention === 'brubeck' ? new BrubeckNaming(resolved) : new EtsyNaming(resolved);
}

/** The fields of the native options (src/aggregator/options.ts) that decide names. */
interface NativeNames {
  flushInterval: number;
  maxSamplesPerKey: number;
  percentiles: { value: number; name: string }[];
  percentThreshold: { value: number; name: string }[];
  histogram: { names: string[] }[];
  legacyNamespace: boolean;
  flushCounts: boolean;
  globalPrefix: string;
  prefixCounter: string;
  prefixTimer: string;
  prefixGauge: string;
  prefixSet: string;
  prefixStats: string;
  globalSuffix: string;
  deleteGauges: boolean;
}

const NONE: Use = { as: 'none' };
const VALUE: Use = { as: 'value' };
const INCREMENT: Use = { as: 'increment', scale: 1 };

/**
 * A timer's fields (in the order written) with each quantile once: of two
 * fields for one quantile, the one in `first`, else the one written first,
 * keeps it; the other is 'none'.
 */
function timerFields(fields: [string, Use][], first: string[] = []): { fields: [string, Use][]; quantiles: string[] } {
  const owner = new Map<string, string>(); // quantile → field
  for (const [field, use] of [...fields.filter(([f]) => first.includes(f)), ...fields]) {
    if (use.as === 'quantile' && !owner.has(use.q)) owner.set(use.q, field);
  }
  const out = fields.map(([field, use]): [string, Use] => (use.as === 'quantile' && owner.get(use.q) !== field ? [field, NONE] : [field, use]));
  return { fields: out, quantiles: [...owner.keys()] };
}

/** The quantile of a percentage: 90 → "0.9", 99.9 → "0.999" (not 0.9990000000000001). */
function quantileOf(percent: number): string {
  return String(Number((percent / 100).toPrecision(15)));
}

// brubeck: no namespace; a counter, gauge or set under its own name; a
// timer's fields after its path, before its tags. The path is the name as
// sent and may hold ';' itself, so each ';' is tried as where tags begin.
//   api.latency.percentile.99;env=prod
//   ^^^^^^^^^^^               path
//              ^^^^^^^^^^^^^^ field
//                            ^^^^^^^^^ tags
class BrubeckNaming implements CarbonNaming {
  readonly head = 0;
  readonly tail = 3; // <serverName>.metrics .errors .unique_keys
  readonly quantiles: readonly string[];
  readonly #fields: [string, Use][];
  /** .median and the percentiles: written together when samples were stored. */
  readonly #quantileFields: string[];

  constructor(o: NativeNames) {
    const { fields, quantiles } = timerFields([
      ['.count', { as: 'count' }],
      ['.count_ps', NONE],
      ['.min', { as: 'quantile', q: '0' }],
      ['.max', { as: 'quantile', q: '1' }],
      ['.sum', { as: 'sum' }],
      ['.mean', NONE],
      ['.median', { as: 'quantile', q: '0.5' }],
      ...o.percentiles.map((p): [string, Use] => [p.name, { as: 'quantile', q: String(p.value) }]),
    ]);
    this.#fields = fields;
    this.quantiles = quantiles;
    // none when no samples are stored (maxSamplesPerKey 0)
    this.#quantileFields = o.maxSamplesPerKey > 0 ? fields.slice(fields.findIndex(([f]) => f === '.median')).map(([f]) => f) : [];
  }

  // FlushBrubeck: .count .count_ps, then if it had samples .min .max .sum
  // .mean, then if any were stored .median and each percentile.
  block(field: string, value: number): { next: string[]; then: string[] } | undefined {
    if (field !== '.count') return undefined;
    return value > 0 ? { next: ['.count_ps', '.min', '.max', '.sum', '.mean'], then: this.#quantileFields } : { next: ['.count_ps'], then: [] };
  }

  claims(name: string, has: KeyLookup): Claim[] {
    const claims: Claim[] = [];
    for (const kind of ['counter', 'monotonic', 'gauge', 'set'] as const) {
      if (!has(name, kind)) continue;
      const semi = name.indexOf(';');
      const path = semi < 0 ? name : name.slice(0, semi); // as Graphite reads the name
      claims.push({ key: name, kind, path, tags: name.slice(path.length), field: '', section: 0, order: 0, use: kind === 'gauge' || kind === 'set' ? VALUE : INCREMENT });
    }
    for (let end = name.indexOf(';'); ; end = name.indexOf(';', end + 1)) {
      const at = end < 0 ? name.length : end; // where the tags would begin
      const head = name.slice(0, at);
      for (let order = 0; order < this.#fields.length; order++) {
        const [field, use] = this.#fields[order]!;
        if (!head.endsWith(field)) continue;
        const path = head.slice(0, head.length - field.length);
        const key = path + name.slice(at);
        if (has(key, 'timer')) claims.push({ key, kind: 'timer', path, tags: name.slice(at), field, section: 0, order, use });
        break; // no field ends another: one field a split
      }
      if (end < 0) return claims;
    }
  }
}

// etsy: each kind under its namespace, in sections (counters, timers, the
// timestamp_lag gauge, gauges, sets); the path ends at the key's first ';'.
//   stats.timers.api.latency.upper_90.sfx;env=prod
//   ^^^^^^^^^^^^^                                timer namespace
//                ^^^^^^^^^^^                     path
//                           ^^^^^^^^^            field
//                                    ^^^^        globalSuffix
//                                        ^^^^^^^^^ tags
class EtsyNaming implements CarbonNaming {
  readonly head: number;
  readonly tail = 3; // numStats, graphiteStats.calculationtime, processing_time
  readonly quantiles: readonly string[];
  readonly #o: NativeNames;
  readonly #ns: { counter: string; timer: string; gauge: string; set: string };
  readonly #suffix: string;
  readonly #lag: string;
  /** Timer fields by name (without their '.'), with their place in a timer's lines. */
  readonly #fields = new Map<string, { use: Use; order: number }>();
  readonly #counterRate: Use;
  readonly #counterCount: Use;

  constructor(o: NativeNames) {
    this.#o = o;
    // statsd.bad_lines_seen, packets_received, metrics_received: a rate and a count each.
    this.head = 3 * (o.flushCounts ? 2 : 1);
    ({ ns: this.#ns, suffix: this.#suffix } = etsyNamespaces(o));
    this.#lag = `${this.#ns.gauge}${o.prefixStats}.timestamp_lag${this.#suffix}`;
    // The count is the interval's increment; without it, the rate × the interval's seconds.
    this.#counterCount = INCREMENT;
    this.#counterRate = o.flushCounts ? NONE : { as: 'increment', scale: o.flushInterval / 1000 };
    // As WriteEtsyTimer writes them: per threshold count_90 mean_90 upper_90
    // (lower_top10) sum_90 sum_squares_90, then the whole interval's, then bins.
    const fields: [string, Use][] = [];
    for (const t of o.percentThreshold) {
      // upper_90 is the largest of the lowest 90%: the 0.9 quantile. lower_top10
      // (the smallest of the top 10%) is another estimate: left out.
      fields.push([`count_${t.name}`, NONE], [`mean_${t.name}`, NONE]);
      fields.push(t.value > 0 ? [`upper_${t.name}`, { as: 'quantile', q: quantileOf(t.value) }] : [`lower_${t.name}`, NONE]);
      fields.push([`sum_${t.name}`, NONE], [`sum_squares_${t.name}`, NONE]);
    }
    fields.push(
      ['std', NONE],
      ['upper', { as: 'quantile', q: '1' }],
      ['lower', { as: 'quantile', q: '0' }],
      ['count', { as: 'count' }],
      ['count_ps', NONE],
      ['sum', { as: 'sum' }],
      ['sum_squares', NONE],
      ['mean', NONE],
      ['median', { as: 'quantile', q: '0.5' }],
    );
    for (const bins of o.histogram) for (const bin of bins.names) fields.push([`histogram.${bin}`, NONE]);
    // min, max and median over a threshold's bound for the same quantile (upper_100, upper_50).
    const { fields: unique, quantiles } = timerFields(fields, ['lower', 'upper', 'median']);
    unique.forEach(([field, use], order) => {
      if (!this.#fields.has(field)) this.#fields.set(field, { use, order });
    });
    this.quantiles = quantiles;
  }

  claims(name: string, has: KeyLookup, lagWritten: boolean): Claim[] {
    const claims: Claim[] = [];
    const semi = name.indexOf(';');
    const tags = semi < 0 ? '' : name.slice(semi);
    let head = semi < 0 ? name : name.slice(0, semi);
    if (lagWritten && head === this.#lag && tags === '') {
      claims.push({ key: '', kind: 'internal', path: head, tags, field: 'timestamp_lag', section: 3, order: 0, use: NONE });
    }
    if (!head.endsWith(this.#suffix)) return claims;
    head = head.slice(0, head.length - this.#suffix.length);
    const ns = this.#ns;
    const claim = (kind: StatsdKind, path: string, field: string, section: number, use: Use, order = 0) => {
      if (has(path + tags, kind)) claims.push({ key: path + tags, kind, path, tags, field, section, order, use });
    };
    if (this.#o.legacyNamespace) {
      if (head.startsWith('stats_counts.')) claim('counter', head.slice('stats_counts.'.length), 'count', 1, this.#counterCount);
      if (head.startsWith(ns.counter)) claim('counter', head.slice(ns.counter.length), 'rate', 1, this.#counterRate);
    } else if (head.startsWith(ns.counter)) {
      const rest = head.slice(ns.counter.length);
      if (rest.endsWith('.count')) claim('counter', rest.slice(0, -'.count'.length), 'count', 1, this.#counterCount);
      if (rest.endsWith('.rate')) claim('counter', rest.slice(0, -'.rate'.length), 'rate', 1, this.#counterRate);
    }
    if (head.startsWith(ns.timer)) {
      const rest = head.slice(ns.timer.length);
      // The field is after the last '.', or is "histogram.bin_…".
      let dot = rest.lastIndexOf('.');
      let field = dot > 0 ? this.#fields.get(rest.slice(dot + 1)) : undefined;
      if (!field) {
        dot = rest.lastIndexOf('.histogram.');
        field = dot > 0 ? this.#fields.get(rest.slice(dot + 1)) : undefined;
      }
      if (field) claim('timer', rest.slice(0, dot), rest.slice(dot + 1), 2, field.use, field.order);
    }
    if (head.startsWith(ns.gauge)) {
      const path = head.slice(ns.gauge.length);
      const before = claims.length;
      claim('gauge', path, '', 4, VALUE);
      // deleteGauges frees a gauge in the flush that reports it for the last
      // time (gaugesMaxTTL): only a gauge writes under this namespace but a
      // legacy counter `gauges.…`, which is live if it wrote the line.
      if (claims.length === before && this.#o.deleteGauges && !claims.some((c) => c.kind === 'counter')) {
        claims.push({ key: path + tags, kind: 'gauge', path, tags, field: '', section: 4, order: 0, use: VALUE, freed: true });
      }
    }
    if (head.startsWith(ns.set) && head.endsWith('.count')) claim('set', head.slice(ns.set.length, -'.count'.length), '', 5, VALUE);
    return claims;
  }
}
