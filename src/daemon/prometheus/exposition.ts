// Prometheus exposition at /metrics (text format 0.0.4): the latest flush's
// statsd metrics (SeriesTable) and the daemon's own (statsd_native_*).
/// <reference types="node" preserve="true" />
import type { FlushResult } from '../../aggregator/aggregator';
import type { HttpServer } from '../http/http-server';
import type { StatsdServer } from '../server';
import { type CarbonNaming, carbonNaming } from './carbon-names';
import { renderDaemonMetrics } from './daemon-metrics';
import { readFlush } from './flush-reader';
import type { ResolvedPrometheusOptions } from './options';
import { SeriesTable } from './series-table';
import { TEXT_FORMAT_CONTENT_TYPE } from './text-format';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/**
 * Reads each flush into a SeriesTable and renders it with the daemon's
 * metrics. It reads flushes only while something scrapes: from the first
 * scrape (counters count from there, as from any exporter's start) until
 * `idleTimeout` passes without one, when it frees its state; so a daemon
 * nobody scrapes pays nothing for it. Reading a flush costs a snapshot of
 * the aggregator's keys (O(keys), right after the flush, when timers hold no
 * samples) and one pass over its lines, on this thread: ~150 ms for 100k
 * keys once warm (the first flushes of new keys take a few times that).
 */
export class PrometheusExposition {
  readonly #server: StatsdServer;
  readonly #options: ResolvedPrometheusOptions;
  readonly #naming: CarbonNaming;
  #table: SeriesTable;
  #active = false;
  #scrapedAt = 0;

  constructor(server: StatsdServer, options: ResolvedPrometheusOptions) {
    this.#server = server;
    this.#options = options;
    this.#naming = carbonNaming(server.aggregator.convention, server.options.aggregator);
    this.#table = this.#newTable();
  }

  #newTable(): SeriesTable {
    const { maxSeries, idleTimeout } = this.#options;
    return new SeriesTable({ maxSeries, idleMs: idleTimeout * 1000, quantiles: this.#naming.quantiles.length });
  }

  /** Reads one flush of the server (its 'flush' event), if scraped lately. */
  read(flush: FlushResult, now = Date.now()): void {
    if (!this.#active) return;
    if (now - this.#scrapedAt > this.#options.idleTimeout * 1000) {
      this.#active = false;
      this.#table = this.#newTable();
      return;
    }
    const aggregator = this.#server.aggregator;
    const keys = aggregator.snapshot(undefined, { samples: false });
    // etsy writes its timestamp_lag line in every flush after its first.
    const { readings, unresolved } = readFlush(flush.carbon, keys, this.#naming, aggregator.stats.flushes > 1);
    this.#table.apply(readings, unresolved, now);
  }

  /** The exposition text now; the first call starts the reading of flushes. */
  scrape(now = Date.now()): string {
    this.#active = true;
    this.#scrapedAt = now;
    const out: string[] = [];
    this.#table.render(out);
    const info = { version: VERSION, convention: this.#server.aggregator.convention };
    renderDaemonMetrics(out, this.#server.stats, { ...this.#table.stats, maxSeries: this.#options.maxSeries }, info);
    out.push('');
    return out.join('\n');
  }
}

/** Serves `server`'s exposition at /metrics on `http`, reading each of its flushes. */
export function registerPrometheusRoute(http: HttpServer, server: StatsdServer, options: ResolvedPrometheusOptions): PrometheusExposition {
  const exposition = new PrometheusExposition(server, options);
  server.on('flush', (flush: FlushResult) => exposition.read(flush));
  http.route('/metrics', (_req, res) => {
    res.writeHead(200, { 'content-type': TEXT_FORMAT_CONTENT_TYPE });
    res.end(exposition.scrape());
  });
  return exposition;
}
