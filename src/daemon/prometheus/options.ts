// The Prometheus exposition's options: their meaning, checks and defaults.
import { integerOption, invalidOption, knownKeys } from '../../core/options';

export interface PrometheusOptions {
  /**
   * Most samples of statsd metrics one exposition holds (default
   * DEFAULT_PROMETHEUS_MAX_SERIES): a counter or gauge is one, a timer's
   * summary 2 + its quantiles. Series past it are left out, counted in
   * `statsd_native_prometheus_series_dropped_total{reason="limit"}`; the
   * daemon's own `statsd_native_*` metrics come on top (about 70 + 11 a sink).
   */
  maxSeries?: number;
  /**
   * Seconds a counter or timer no longer flushed keeps (and exposes) its
   * cumulative value before it is freed, and seconds without a scrape after
   * which the exposition stops reading flushes and frees everything (default
   * DEFAULT_PROMETHEUS_IDLE_TIMEOUT_S).
   */
  idleTimeout?: number;
}

export type ResolvedPrometheusOptions = Required<PrometheusOptions>;

/** 100k samples: at most ~80 MB of state (all counters; see SeriesTable) and a scrape of ~6 MB. */
export const DEFAULT_PROMETHEUS_MAX_SERIES = 100_000;
/** 10 minutes: past Prometheus's 5-minute lookback, so a counter updated every few minutes never resets. */
export const DEFAULT_PROMETHEUS_IDLE_TIMEOUT_S = 600;

/**
 * The `prometheus` server option resolved: undefined for `false` (no
 * /metrics route); `{}` or absent for the defaults.
 */
export function resolvePrometheusOptions(value: unknown): ResolvedPrometheusOptions | undefined {
  if (value === false) return undefined;
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidOption('prometheus', 'false or { maxSeries?, idleTimeout? }', value);
  }
  knownKeys('StatsdServer prometheus', value, ['maxSeries', 'idleTimeout']);
  const o = value as PrometheusOptions;
  return {
    maxSeries: integerOption('prometheus.maxSeries', o.maxSeries, DEFAULT_PROMETHEUS_MAX_SERIES, 0, 1 << 30),
    idleTimeout: integerOption('prometheus.idleTimeout', o.idleTimeout, DEFAULT_PROMETHEUS_IDLE_TIMEOUT_S, 1, 366 * 86_400),
  };
}
