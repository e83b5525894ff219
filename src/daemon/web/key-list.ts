// The live statsd keys for the page's key browser: read from the aggregator
// once per flush at most, however many pages search them.
// Reading every key is O(keys) and waits while a flush holds the aggregator,
// so it is done right after a flush (the aggregator is free then) while a page
// is watching, and never for a daemon holding more than MAX_LISTED_KEYS keys.
import type { Aggregator } from '../../aggregator/aggregator';
import type { KeyKind } from './series-names';

/** Most keys the list reads (~60 B of JSON each: ~6 MB, tens of ms); past it searches are refused. */
export const MAX_LISTED_KEYS = 100_000;
/** ms after its last search that a page counts as watching (the list is then read at each flush). */
const WATCH_MS = 60_000;

export interface ListedKey {
  key: string;
  kind: KeyKind;
}

export interface KeySearch {
  keys: ListedKey[];
  /** Keys matching, of which `keys` are the first `limit`. */
  matched: number;
  /** Keys in the list. */
  total: number;
}

export class KeyList {
  readonly #aggregator: Aggregator;
  #keys: ListedKey[] = [];
  /** Each key lower-cased, for case-blind search. */
  #folded: string[] = [];
  /** False until the first read, and again after each flush until the next read. */
  #fresh = false;
  #watchedAt = -Infinity;

  constructor(aggregator: Aggregator) {
    this.#aggregator = aggregator;
  }

  /** After a flush: the list is read again now while a page watches, else at the next search. */
  flushed(): void {
    this.#fresh = false;
    if (Date.now() - this.#watchedAt < WATCH_MS && this.#aggregator.stats.keys <= MAX_LISTED_KEYS) this.#read();
  }

  /**
   * The keys containing every space-separated term of `query` (case-blind),
   * sorted, the first `limit` of them; undefined when the daemon holds more
   * than MAX_LISTED_KEYS keys.
   */
  search(query: string, limit: number): KeySearch | undefined {
    this.#watchedAt = Date.now();
    if (!this.#fresh) {
      if (this.#aggregator.stats.keys > MAX_LISTED_KEYS) return undefined;
      this.#read();
    }
    const terms = query.toLowerCase().split(/\s+/).filter((t) => t !== '');
    const keys: ListedKey[] = [];
    let matched = 0;
    for (let i = 0; i < this.#keys.length; i++) {
      const folded = this.#folded[i]!;
      if (!terms.every((t) => folded.includes(t))) continue;
      if (matched++ < limit) keys.push(this.#keys[i]!);
    }
    return { keys, matched, total: this.#keys.length };
  }

  #read(): void {
    const keys = this.#aggregator.snapshot(undefined, { samples: false }).map(({ key, kind }) => ({ key, kind }));
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    this.#keys = keys;
    this.#folded = keys.map((k) => k.key.toLowerCase());
    this.#fresh = true;
  }
}
