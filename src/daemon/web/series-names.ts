// The Graphite series a statsd key is flushed to, so the page can chart a key
// as one thing (a timer's fields together, a counter's rate and total).
// Contract: the names the native flush writes (native/aggregator.cc Name(),
// flush_brubeck.cc, flush_etsy.cc, etsy_names.cc) for the same options; a
// superset is fine, since the caller keeps only the series the history knows.
import { type AggregatorOptions, CONVENTION_CODE, toNativeOptions } from '../../aggregator/options';
import { etsyNamespaces } from '../../aggregator/etsy-namespaces';

export type KeyKind = 'counter' | 'monotonic' | 'gauge' | 'timer' | 'set';
export const KEY_KINDS: readonly KeyKind[] = ['counter', 'monotonic', 'gauge', 'timer', 'set'];

/** One series of a key: `field` is what it is of the key ('count', 'percentile.90', 'rate'). */
export interface KeySeries {
  field: string;
  name: string;
}

/** The option values naming depends on, as the native aggregator receives them. */
interface NamingOptions {
  convention: number;
  percentiles: { name: string }[];
  percentThreshold: { value: number; name: string }[];
  histogram: { metric: string; names: string[] }[];
  legacyNamespace: boolean;
  globalPrefix: string;
  prefixCounter: string;
  prefixTimer: string;
  prefixGauge: string;
  prefixSet: string;
  globalSuffix: string;
}

const BRUBECK_TIMER = ['count', 'count_ps', 'min', 'max', 'sum', 'mean', 'median'];
const ETSY_TIMER = ['std', 'upper', 'lower', 'count', 'count_ps', 'sum', 'sum_squares', 'mean', 'median'];

/** Names a convention's series; built once from the aggregator's options. */
/** Graphite tags as a key ends with them: `;k=v` or `;flag`, none empty. */
const TAG_LIST = /^(;[^;]+)+$/;
/** Places a brubeck key's tags are tried at (a name may hold ';' itself). */
const MAX_TAG_STARTS = 4;

export class SeriesNames {
  readonly #o: NamingOptions;
  readonly #etsy: boolean;
  /** etsy's namespaces (etsy_names.cc EtsyNamespaces::Resolve), each ending in '.' when not empty. */
  readonly #ns: Record<'counter' | 'timer' | 'gauge' | 'set', string>;
  readonly #suffix: string;

  constructor(options: AggregatorOptions) {
    const o = toNativeOptions(options) as NamingOptions;
    this.#o = o;
    this.#etsy = o.convention === CONVENTION_CODE.etsy;
    ({ ns: this.#ns, suffix: this.#suffix } = etsyNamespaces(o));
  }

  /**
   * The series `key` (as snapshot() gives it: path, then `;k=v` tags) of
   * `kind` may be flushed to, each name once. etsy's path ends at the first
   * ';'; brubeck keeps the name as sent, which may hold ';' too, so each
   * place the tags could start is tried.
   */
  of(key: string, kind: KeyKind): KeySeries[] {
    // Where the tags may start: a ';' followed by tags (`;k=v` or `;flag`,
    // none empty), at most MAX_TAG_STARTS of them, so a key of many ';' costs
    // a few candidates, not one per ';'.
    const starts: number[] = [];
    for (let i = key.indexOf(';'); i >= 0 && starts.length < MAX_TAG_STARTS; i = this.#etsy ? -1 : key.indexOf(';', i + 1)) {
      if (this.#etsy || TAG_LIST.test(key.slice(i))) starts.push(i);
    }
    if (!this.#etsy || starts.length === 0) starts.push(key.length);
    const seen = new Set<string>();
    const out: KeySeries[] = [];
    for (const at of starts) {
      for (const s of this.#named(key.slice(0, at), key.slice(at), kind)) {
        if (!seen.has(s.name)) out.push(s);
        seen.add(s.name);
      }
    }
    return out;
  }

  #named(path: string, tags: string, kind: KeyKind): KeySeries[] {
    // prefix + path + field + (etsy) globalSuffix + tags, as Aggregator::Name
    const name = (prefix: string, field: string) => `${prefix}${path}${field}${this.#suffix}${tags}`;
    const out: KeySeries[] = [];
    const add = (f: string, prefix: string, field: string) => out.push({ field: f, name: name(prefix, field) });
    if (!this.#etsy) {
      if (kind !== 'timer') {
        add(kind === 'counter' || kind === 'set' ? 'count' : 'value', '', '');
        return out;
      }
      for (const f of BRUBECK_TIMER) add(f, '', `.${f}`);
      for (const p of this.#o.percentiles) add(p.name.slice(1), '', p.name); // ".percentile.95"
      return out;
    }
    const ns = this.#ns;
    switch (kind) {
      case 'counter':
      case 'monotonic': // etsy aggregates C as c
        if (this.#o.legacyNamespace) {
          add('rate', ns.counter, '');
          add('count', 'stats_counts.', '');
        } else {
          add('rate', ns.counter, '.rate');
          add('count', ns.counter, '.count');
        }
        break;
      case 'gauge':
        add('value', ns.gauge, '');
        break;
      case 'set':
        add('count', ns.set, '.count');
        break;
      case 'timer': {
        for (const t of this.#o.percentThreshold) {
          for (const stat of ['count', 'mean', t.value > 0 ? 'upper' : 'lower', 'sum', 'sum_squares']) {
            add(`${stat}_${t.name}`, ns.timer, `.${stat}_${t.name}`);
          }
        }
        for (const f of ETSY_TIMER) add(f, ns.timer, `.${f}`);
        // the first histogram whose metric the key contains (flush_etsy.cc)
        const bins = this.#o.histogram.find((h) => (path + tags).includes(h.metric));
        for (const bin of bins?.names ?? []) add(`histogram.${bin}`, ns.timer, `.histogram.${bin}`);
        break;
      }
    }
    return out;
  }
}
