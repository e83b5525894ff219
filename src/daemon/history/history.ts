// Recent history (issue [6/7] item 1): every series the daemon flushed, at
// flush resolution over a window, in memory with a stated bound, so graphs
// and the Graphite query API need no Graphite. It is a sink: it takes each
// flush as the carbon sink does, and never fails to.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';

import type { FlushResult } from '../../aggregator/aggregator';
import { type HistoryScan, type NativeHistory, native } from '../../core/native';
import { StatsdError } from '../../core/errors';
import { integerOption, knownKeys } from '../../core/options';
import { type Sink, type SinkStats, sinkCounters } from '../sinks/sink';

export interface HistoryOptions {
  /** Seconds of history kept (default 3600: one hour). */
  window?: number;
  /** ms between flushes: the resolution (the daemon passes its flushInterval; default 10000). */
  flushInterval?: number;
  /**
   * Most bytes the series may hold (default 256 MiB). Each series costs its
   * points (8 bytes each: window ÷ flush interval of them) plus its name and
   * HISTORY_SERIES_OVERHEAD; past the bound new series are refused and counted.
   */
  maxBytes?: number;
}

/** Bytes a series holds besides its points and its name (native HistoryStore::kSeriesOverhead). */
export const HISTORY_SERIES_OVERHEAD = 68;
export const DEFAULT_HISTORY_WINDOW_S = 3600;
export const DEFAULT_HISTORY_MAX_BYTES = 256 * 2 ** 20;
/** Most points one series keeps, whatever the window and interval ask (1 day at 1 s). */
export const MAX_HISTORY_POINTS = 86_400;

export interface HistoryStats {
  /** Series held now, and their bytes (bounded by maxBytes). */
  series: number;
  bytes: number;
  maxBytes: number;
  /** Points per series: the window at flush resolution. */
  points: number;
  flushes: number;
  /** Datapoints recorded. */
  datapoints: number;
  /** Datapoints of new series refused: maxBytes was reached. */
  seriesRefused: number;
  /** Series freed: none of the window's flushes wrote them. */
  seriesExpired: number;
}

/** One series over a time range: the flushes' timestamps and its values (null: no value). */
export interface SeriesData {
  name: string;
  times: number[];
  values: (number | null)[];
}

/** A limit or a time for native: Infinity (or none) as the largest safe integer. */
const count = (n: number | undefined): number => (n === undefined || !Number.isFinite(n) ? Number.MAX_SAFE_INTEGER : Math.max(0, n));

/** A path found by findNodes: a series (leaf), the start of longer ones (branch), or both. */
export interface HistoryNode {
  path: string;
  leaf: boolean;
  branch: boolean;
}

export class History extends EventEmitter implements Sink {
  readonly name = 'history';
  readonly window: number;
  readonly flushInterval: number;
  readonly #store: NativeHistory;
  readonly #points: number;
  #counters = sinkCounters();

  constructor(options: HistoryOptions = {}) {
    super();
    knownKeys('History', options, ['window', 'flushInterval', 'maxBytes']);
    this.window = integerOption('window', options.window, DEFAULT_HISTORY_WINDOW_S, 1, 366 * 86_400);
    this.flushInterval = integerOption('flushInterval', options.flushInterval, 10_000, 1, 2 ** 31 - 1);
    const maxBytes = integerOption('maxBytes', options.maxBytes, DEFAULT_HISTORY_MAX_BYTES, 0, Number.MAX_SAFE_INTEGER);
    const points = Math.min(MAX_HISTORY_POINTS, Math.max(1, Math.ceil((this.window * 1000) / this.flushInterval)));
    this.#points = points;
    this.#store = new native.History(points, maxBytes);
  }

  /**
   * Seconds between points on the render API's grid: the flush interval when
   * it is whole seconds, else 1 (flush stamps are distinct seconds, so none
   * share a step; a 1.5 s interval on a 2 s grid would).
   */
  get step(): number {
    return this.flushInterval % 1000 === 0 ? this.flushInterval / 1000 : 1;
  }

  /** Seconds of history kept: the window, or less when MAX_HISTORY_POINTS caps it. */
  get retained(): number {
    return Math.min(this.window, Math.floor((this.#points * this.flushInterval) / 1000));
  }

  /** Records a flush (Sink.write): its carbon plaintext, at its timestamp. */
  write(flush: FlushResult): void {
    this.#store.add(flush.carbon, flush.timestamp);
    this.#counters.flushesSent++;
    this.#counters.metricsSent += flush.metrics;
    this.#counters.bytesSent += flush.carbon.length;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): SinkStats {
    return { type: 'history', connected: true, ...this.#counters, backlog: 0, backlogBytes: 0 };
  }

  /** What the history holds and what it refused. */
  get history(): HistoryStats {
    const { linesSkipped: _skipped, ...s } = this.#store.stats();
    return s;
  }

  /**
   * The series names matching a Graphite pattern (`a.*.c`, `a.{b,c}`,
   * `a.b[0-9]`; PathPattern in native/path_pattern.h), at most `limit`.
   * Throws a StatsdError for a pattern past its bounds (4096 bytes, 256
   * alternatives a node, braces nested 8 deep).
   */
  find(pattern: string, limit = Infinity): string[] {
    return this.search(pattern, { limit }).names;
  }

  /** find() that also says how the scan ended: `limited` (more than `limit` matched) or `timeout` (past `timeoutMs`). */
  search(pattern: string, options: { limit?: number; timeoutMs?: number } = {}): { names: string[]; scan: HistoryScan } {
    return this.#native(() => this.#store.find(pattern, count(options.limit), count(options.timeoutMs)));
  }

  /**
   * graphite-web's find: the distinct paths with as many nodes as `pattern`
   * that match it, each a series (leaf), the first nodes of longer series
   * (branch) or both; sorted; at most `limit`, scanning for at most `timeoutMs`.
   */
  findNodes(pattern: string, limit: number, timeoutMs = Infinity): { nodes: HistoryNode[]; scan: HistoryScan } {
    const r = this.#native(() => this.#store.findNodes(pattern, count(limit), count(timeoutMs)));
    const nodes = r.paths.map((path, i) => ({ path, leaf: (r.flags[i]! & 1) !== 0, branch: (r.flags[i]! & 2) !== 0 }));
    nodes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { nodes, scan: r.scan };
  }

  /** Runs a native pattern call; its "bad pattern" error becomes a StatsdError. */
  #native<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', (error as Error).message);
    }
  }

  /** `name`'s values for the flushes stamped in [from, until] (unix seconds), or undefined when unknown. */
  fetch(name: string, from: number, until: number): SeriesData | undefined {
    // Whole seconds within what native takes; NaN selects nothing.
    const clamp = (t: number, nan: number) =>
      Number.isNaN(t) ? nan : Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.floor(t)));
    const r = this.#store.fetch(name, clamp(from, Number.MAX_SAFE_INTEGER), clamp(until, Number.MIN_SAFE_INTEGER));
    if (!r.known) return undefined;
    return { name, times: Array.from(r.times), values: Array.from(r.values, (v) => (Number.isNaN(v) ? null : v)) };
  }
}
