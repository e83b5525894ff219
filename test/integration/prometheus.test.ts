// The daemon's /metrics scraped by a real Prometheus (DESIGN §7-8): Debian's
// /usr/bin/prometheus with a private config and TSDB, scraping every second
// over loopback; statsd lines sent over UDP to an in-process StatsdServer;
// values read back through Prometheus's query API and compared with what was
// sent (and, for percentiles, with the flush's carbon lines).
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { FlushResult } from '../../src/aggregator/aggregator';
import { carbonLines } from '../../src/daemon/prometheus/flush-reader';
import { StatsdServer } from '../../src/daemon/server';
import { sendUdp } from '../helpers/daemon-cli';
import { Prometheus, type VectorSample, prometheusMissing } from '../helpers/prometheus';
import { until } from '../helpers/receivers';

// Prometheus starts in seconds and the machine may be busy: generous limits, polled.
vi.setConfig({ testTimeout: 120_000 });

const missing = prometheusMissing();

/** Our labels of a sample: Prometheus's own (__name__, job, instance) left out. */
function labelsOf(sample: VectorSample): Record<string, string> {
  const { __name__: _name, job: _job, instance: _instance, ...rest } = sample.metric;
  return rest;
}

/** Where each convention writes what the test compares quantiles with. */
const CONVENTIONS = [
  { convention: 'brubeck', count: 'pi.latency.count 20 ', median: 'pi.latency.median', p90: 'pi.latency.percentile.90', p99: 'pi.latency.percentile.99' },
  { convention: 'etsy', count: 'stats.timers.pi.latency.count 20 ', median: 'stats.timers.pi.latency.median', p90: 'stats.timers.pi.latency.upper_90', p99: 'stats.timers.pi.latency.upper_99' },
] as const;

describe.skipIf(missing !== undefined)(`daemon /metrics → Prometheus (scrape 1 s) → /api/v1/query${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it.each(CONVENTIONS)('$convention: counters, a gauge, a set, a timer as a summary and tagged metrics arrive as sent; the daemon\'s own counters too', async (names) => {
    const server = new StatsdServer({
      udp: { address: '127.0.0.1', port: 0 },
      http: { address: '127.0.0.1', port: 0 },
      flushInterval: 3000, // a timer's quantiles stay exposed for 3 scrapes
      aggregator: { convention: names.convention, percentiles: [0.5, 0.9, 0.99], percentThreshold: [90, 99] },
    });
    const flushes: FlushResult[] = [];
    server.on('flush', (f: FlushResult) => flushes.push(f));
    await server.start();
    cleanups.push(() => server.stop(1000));
    const prometheus = await Prometheus.start(`127.0.0.1:${server.httpPort}`);
    cleanups.push(() => prometheus.stop());

    /** Polls `expr` until `ok` holds for its vector; returns that vector. */
    const eventually = async (expr: string, ok: (v: VectorSample[]) => boolean): Promise<VectorSample[]> => {
      let last: VectorSample[] = [];
      await until(
        async () => ok((last = await prometheus.query(expr))),
        60_000,
        () => `${expr}: last ${JSON.stringify(last)} after ${flushes.length} flushes\n${prometheus.log}`,
      );
      return last;
    };
    const single = async (expr: string, value: number) => {
      const v = await eventually(expr, (r) => r.length === 1 && r[0]!.value === value);
      expect(v.map((s) => s.value)).toEqual([value]);
    };

    // The first scrape starts the exposition's reading of flushes.
    await eventually('up{job="statsd"}', (r) => r[0]?.value === 1);

    const timings = Array.from({ length: 20 }, (_, i) => `pi.latency:${i + 1}|ms`);
    const datagrams = [
      'pi.requests:5|c\npi.requests:5|c\npi.requests:5|c\npi.requests:10|c|@0.5',
      'pi.temperature:21.5|g\npi.temperature:-3|g',
      'pi.users:a|s\npi.users:b|s\npi.users:c|s\npi.users:a|s',
      timings.slice(0, 10).join('\n'),
      timings.slice(10).join('\n'),
      'pi.tagged:3|c|#env:prod,region:eu-1\npi.tagged:4|c|#env:dev\npi.db:7|ms|#db:main',
    ];
    const lines = datagrams.join('\n').split('\n').length;
    await sendUdp(server.udpPort, datagrams);
    await until(async () => server.stats.aggregator.lines >= lines, 10_000, () => `the daemon to take ${lines} lines: ${server.stats.aggregator.lines}`);
    await until(async () => flushes.some((f) => f.carbon.includes(names.count)), 30_000, 'the flush of the timer');
    const carbon = carbonLines(flushes.find((f) => f.carbon.includes(names.count))!.carbon);
    const line = (name: string) => carbon.find(([n]) => n === name)![1];

    await single('pi_requests', 35);
    expect(await prometheus.metadataType('pi_requests')).toBe('counter');
    // gauges, sets and quantiles are the flush's: read back over the window, whether or not still exposed
    await single('last_over_time(pi_temperature[5m])', 18.5);
    expect(await prometheus.metadataType('pi_temperature')).toBe('gauge');
    await single('last_over_time(pi_users[5m])', 3);
    expect(await prometheus.metadataType('pi_latency')).toBe('summary');
    await single('last_over_time(pi_latency{quantile="0"}[5m])', 1);
    await single('last_over_time(pi_latency{quantile="1"}[5m])', 20);
    await single('last_over_time(pi_latency{quantile="0.5"}[5m])', line(names.median));
    await single('last_over_time(pi_latency{quantile="0.9"}[5m])', line(names.p90));
    await single('last_over_time(pi_latency{quantile="0.99"}[5m])', line(names.p99));
    expect([line(names.p90), line(names.p99)]).toEqual([18, 20]);
    await single('pi_latency_sum', 210);
    await single('pi_latency_count', 20);
    const tagged = await eventually('pi_tagged', (r) => r.length === 2);
    expect(tagged.map((s) => [labelsOf(s), s.value]).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([
      [{ env: 'prod', region: 'eu-1' }, 3],
      [{ env: 'dev' }, 4],
    ]);
    await single('pi_db_count{db="main"}', 1);

    // a second interval: the counter's total goes on through the next flushes
    await sendUdp(server.udpPort, ['pi.requests:5|c']);
    await single('pi_requests', 40);

    // the daemon's own, and nothing left out
    const own = await eventually('statsd_native_lines_total', (r) => r[0]!.value >= lines + 1);
    expect(own[0]!.value).toBeLessThanOrEqual(server.stats.aggregator.lines);
    const dropped = await eventually('statsd_native_prometheus_series_dropped_total', (r) => r.length === 3);
    expect(dropped.map((s) => [s.metric.reason, s.value]).sort()).toEqual([['duplicate', 0], ['limit', 0], ['unresolved', 0]]);
    const targets = await prometheus.targets();
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
  });
});
