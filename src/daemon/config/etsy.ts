// etsy statsd's config object (exampleConfig.js keys) read into ServerOptions.
import type { AggregatorOptions } from '../../aggregator/aggregator';
import { DEFAULT_CARBON_PORT, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_HOST, DEFAULT_PICKLE_PORT, DEFAULT_STATSD_PORT } from './defaults';
import { type Obj, configError, interval, isObject, num, port, str } from './file-values';
import type { ServerOptions } from './server-options';

/** Top-level keys this format reads; others are reported as ignored. */
export const ETSY_KEYS = [
  'flushInterval', 'percentThreshold', 'histogram', 'deleteIdleStats', 'deleteCounters', 'deleteTimers',
  'deleteSets', 'deleteGauges', 'gaugesMaxTTL', 'keyNameSanitize', 'prefixStats', 'flush_counts', 'graphite',
  'servers', 'port', 'address', 'backends', 'graphiteHost', 'graphitePort', 'graphitePicklePort',
  'graphiteProtocol', 'limits', 'calculatedTimerMetrics', 'dialect',
];

/** Reads `c`; what it has that is not used goes to `warnings`. */
export function fromEtsy(file: string, c: Obj, warnings: string[]): ServerOptions {
  const options: ServerOptions = {};
  const graphite = isObject(c.graphite) ? c.graphite : {};
  const agg: AggregatorOptions = { convention: 'etsy' };
  options.flushInterval = interval(file, 'flushInterval', num(file, c, 'flushInterval', DEFAULT_FLUSH_INTERVAL_MS));
  const copy = <K extends keyof AggregatorOptions>(key: K, from: Obj, name: string = key) => {
    if (from[name] !== undefined) (agg as Obj)[key] = from[name];
  };
  copy('percentThreshold', c);
  copy('histogram', c);
  copy('calculatedTimerMetrics', c);
  copy('dialect', c); // our extension, as in the brubeck format
  copy('deleteIdleStats', c);
  copy('deleteCounters', c);
  copy('deleteTimers', c);
  copy('deleteSets', c);
  copy('deleteGauges', c);
  copy('gaugesMaxTTL', c);
  copy('keyNameSanitize', c);
  copy('prefixStats', c);
  copy('flushCounts', c, 'flush_counts');
  for (const key of ['legacyNamespace', 'globalPrefix', 'prefixCounter', 'prefixTimer', 'prefixGauge', 'prefixSet', 'globalSuffix'] as const) {
    copy(key, graphite);
  }
  options.aggregator = agg;
  const servers = Array.isArray(c.servers) ? c.servers : [{ server: './servers/udp', address: c.address, port: c.port }];
  if (Array.isArray(c.servers) && (c.port !== undefined || c.address !== undefined)) {
    warnings.push(`${file}: ignoring top-level port and address: "servers" is set (etsy statsd does the same)`);
  }
  for (const s of servers) {
    if (!isObject(s)) throw configError(file, 'servers entries must be objects');
    const kind = str(file, s, 'server', './servers/udp');
    const address = typeof s.address === 'string' ? s.address : DEFAULT_HOST;
    const p = port(file, s, 'port', DEFAULT_STATSD_PORT);
    if (kind.endsWith('udp')) options.udp = { address, port: p, workers: 1 };
    else if (kind.endsWith('tcp')) options.tcp = { address, port: p };
    else throw configError(file, `unsupported server ${JSON.stringify(kind)}`);
  }
  const backends = Array.isArray(c.backends) ? c.backends : ['./backends/graphite'];
  const graphiteKeys = ['graphitePort', 'graphitePicklePort', 'graphiteProtocol'].filter((k) => c[k] !== undefined);
  if (c.graphiteHost === undefined && graphiteKeys.length) {
    warnings.push(`${file}: ignoring ${graphiteKeys.join(', ')}: no graphiteHost, so no graphite backend`);
  }
  if (c.graphiteHost !== undefined && backends.some((b) => String(b).endsWith('graphite'))) {
    const pickle = c.graphiteProtocol === 'pickle';
    options.graphite = {
      host: str(file, c, 'graphiteHost', DEFAULT_HOST),
      port: pickle ? port(file, c, 'graphitePicklePort', DEFAULT_PICKLE_PORT, 'connect') : port(file, c, 'graphitePort', DEFAULT_CARBON_PORT, 'connect'),
      format: pickle ? 'pickle' : 'plaintext',
    };
  }
  if (backends.some((b) => String(b).endsWith('console'))) options.stdout = 'json';
  for (const b of backends) {
    if (!String(b).endsWith('graphite') && !String(b).endsWith('console')) {
      warnings.push(`${file}: ignoring backend ${JSON.stringify(b)} (only graphite and console are supported)`);
    }
  }
  return options;
}
