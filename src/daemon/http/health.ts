// brubeck's health routes: /ping (/_ping), /stats and /metric/<key>, with
// brubeck's field names (snake_case) and our counters beside them.
/// <reference types="node" preserve="true" />
import type { StatsdServer } from '../server';
import { type HttpServer, sendJson } from './http-server';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** Registers the health routes of `server` on `http`. */
export function registerHealthRoutes(http: HttpServer, server: StatsdServer): void {
  const ping: Parameters<HttpServer['route']>[1] = (_req, res) => {
    const stats = server.stats;
    const connected = stats.sinks.every((s) => s.connected);
    sendJson(res, connected ? 200 : 503, {
      version: VERSION,
      pid: process.pid,
      status: connected ? 'OK' : 'ERROR (backend disconnected)',
      metrics_per_second: stats.perSecond.metrics,
      errors_per_second: stats.perSecond.errors,
      unique_keys: stats.aggregator.keys,
    });
  };
  http.route('/ping', ping);
  http.route('/_ping', ping);

  http.route('/stats', (_req, res) => {
    const stats = server.stats;
    const udp = server.options.udp;
    sendJson(res, 200, {
      version: VERSION,
      metrics: stats.aggregator.lines,
      errors: stats.aggregator.errors,
      unique_keys: stats.aggregator.keys,
      backends: stats.sinks.map((s) => ({
        type: s.type,
        name: s.name,
        address: s.address,
        port: s.port,
        sample_freq: server.options.flushInterval / 1000,
        connected: s.connected,
        bytes_sent: s.bytesSent,
        flushes_sent: s.flushesSent,
        metrics_sent: s.metricsSent,
        flushes_replayed: s.flushesReplayed,
        replays_dropped: s.replaysDropped,
        flushes_dropped: s.flushesDropped,
        metrics_dropped: s.metricsDropped,
        metrics_poisoned: s.metricsPoisoned ?? 0,
        backlog: s.backlog,
        backlog_bytes: s.backlogBytes ?? 0,
      })),
      samplers: udp
        ? [{ type: 'statsd', sample_freq: stats.perSecond.metrics, address: udp.address, port: server.udpPort, ...snakeCase(stats.udp) }]
        : [],
      tcp: snakeCase(stats.tcp),
      http: snakeCase(stats.http),
      errors_by_reason: stats.aggregator.byReason,
      keys_dropped: stats.aggregator.keysDropped,
      key_bytes: stats.aggregator.keyBytes,
      members_dropped: stats.aggregator.membersDropped,
      samples_not_stored: stats.aggregator.samplesNotStored,
      nonfinite_dropped: stats.aggregator.nonfiniteDropped,
      not_forwarded: stats.aggregator.notForwarded,
      flushes: stats.aggregator.flushes,
      datapoints_flushed: stats.datapointsFlushed,
      ...(server.history && { history: snakeCase(server.history.history) }),
      ...(server.graphiteApi && { graphite_api: snakeCase(server.graphiteApi.stats) }),
    });
  });

  // One key's type and whether it was updated this interval. O(1): one lookup
  // per type, samples left out. Waits while a flush holds the aggregator.
  http.route('/metric/', (_req, res, path) => {
    let key: string;
    try {
      key = decodeURIComponent(path.slice('/metric/'.length));
    } catch {
      return sendJson(res, 400, { error: 'bad key encoding' });
    }
    const found = server.aggregator.snapshot(key, { samples: false })[0];
    if (found) sendJson(res, 200, { key, type: typeName(server.aggregator.convention, found.kind), expire: found.updated ? 'active' : 'inactive' });
    else sendJson(res, 404, { error: 'not found', key });
  });
}

// brubeck's /metric type names (meter for c, counter for C); etsy's own words.
function typeName(convention: 'brubeck' | 'etsy', kind: string): string {
  if (convention === 'brubeck') {
    if (kind === 'counter') return 'meter';
    if (kind === 'monotonic') return 'counter';
  }
  return kind;
}

/** brubeck's /stats spells fields in snake_case: `kernelDrops` → `kernel_drops`. */
function snakeCase(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v as number;
  return out;
}
