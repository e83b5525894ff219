// Daemon configuration: brubeck's JSON config and etsy statsd's config object,
// both read into one DaemonConfig (DESIGN §7).
import { readFileSync } from 'node:fs';
import * as vm from 'node:vm';

import { type AggregatorOptions, checkAggregatorOptions } from '../../aggregator/aggregator';
import { StatsdError } from '../../core/errors';

export interface DaemonConfig {
  aggregator: AggregatorOptions;
  udp?: { address: string; port: number; workers: number };
  tcp?: { address: string; port: number };
  unix?: string;
  http?: { address: string; port: number };
  graphite?: { host: string; port: number; format: 'plaintext' | 'pickle' };
  /** TCP input connections at once (limits.maxConnections; default 1024). */
  maxConnections?: number;
  /** Flushes kept for carbon (limits.maxBacklog; default 360). */
  maxBacklog?: number;
  /** Bytes of flushes kept for carbon or unread stdout (limits.maxBacklogBytes; default 256 MiB, stdout 64 MiB). */
  maxBacklogBytes?: number;
  stdout?: 'carbon' | 'json';
  flushInterval: number;
  alignFlush: boolean;
  /** ms the shutdown waits for sinks to deliver (default 5000). */
  shutdownTimeout: number;
  /** What the config file had that is not used (printed at start). */
  warnings: string[];
}

/** The embedded default: UDP 127.0.0.1:8125, brubeck convention, stdout, 10 s. */
export function defaultConfig(): DaemonConfig {
  return {
    aggregator: {},
    udp: { address: '127.0.0.1', port: 8125, workers: 1 },
    flushInterval: 10000,
    alignFlush: false,
    shutdownTimeout: 5000,
    warnings: [],
  };
}

function configError(file: string, message: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', `${file}: ${message}`);
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(file: string, o: Obj, key: string, fallback: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw configError(file, `Expected a number for ${key} but received ${JSON.stringify(v)}`);
  return v;
}

/** A port number 0-65535 (0: any free port). */
function port(file: string, o: Obj, key: string, fallback: number): number {
  const v = num(file, o, key, fallback);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw configError(file, `${key} must be a port from 0 to 65535, not ${JSON.stringify(v)}`);
  return v;
}

/** A flush interval in ms (>= 1). */
function interval(file: string, what: string, ms: number): number {
  if (!(ms >= 1)) throw configError(file, `${what} must be at least 1 ms, not ${JSON.stringify(ms)} ms`);
  return ms;
}

function str(file: string, o: Obj, key: string, fallback: string): string {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw configError(file, `Expected a string for ${key} but received ${JSON.stringify(v)}`);
  return v;
}

/** brubeck's config.json: samplers, backends (carbon), frequency, expire, server_name, http. */
export function fromBrubeck(file: string, c: Obj): DaemonConfig {
  const config = defaultConfig();
  config.udp = undefined;
  config.aggregator = { convention: 'brubeck', dialect: 'full' };
  if (c.server_name !== undefined) config.aggregator.serverName = str(file, c, 'server_name', 'brubeck');
  if (c.expire !== undefined) config.aggregator.expire = num(file, c, 'expire', 0);
  if (c.report_idle !== undefined) {
    if (typeof c.report_idle !== 'boolean') throw configError(file, `report_idle must be true or false, not ${JSON.stringify(c.report_idle)}`);
    config.aggregator.reportIdle = c.report_idle;
  }
  // Our extension: "brubeck" for brubeck's stricter parser (checked with the other aggregator options).
  if (c.dialect !== undefined) config.aggregator.dialect = c.dialect as AggregatorOptions['dialect'];
  const samplers = c.samplers ?? [];
  const backends = c.backends ?? [];
  if (!Array.isArray(samplers) || !Array.isArray(backends)) throw configError(file, 'samplers and backends must be lists');
  for (const s of samplers) {
    if (!isObject(s) || s.type !== 'statsd') {
      throw configError(file, `unsupported sampler ${JSON.stringify(isObject(s) ? s.type : s)} (only "statsd")`);
    }
    if (config.udp) throw configError(file, 'only one statsd sampler is supported');
    const workers = s.multisock === true ? num(file, s, 'workers', 4) : 1;
    if (!Number.isInteger(workers) || workers < 1) throw configError(file, `workers must be a whole number >= 1, not ${JSON.stringify(workers)}`);
    config.udp = { address: str(file, s, 'address', '127.0.0.1'), port: port(file, s, 'port', 8125), workers };
  }
  for (const b of backends) {
    if (!isObject(b) || b.type !== 'carbon') {
      throw configError(file, `unsupported backend ${JSON.stringify(isObject(b) ? b.type : b)} (only "carbon")`);
    }
    if (config.graphite) throw configError(file, 'only one carbon backend is supported');
    config.graphite = {
      host: str(file, b, 'address', '127.0.0.1'),
      port: port(file, b, 'port', 2003),
      format: b.pickle === true ? 'pickle' : 'plaintext',
    };
    config.flushInterval = interval(file, 'frequency', num(file, b, 'frequency', 10) * 1000);
  }
  if (c.http !== undefined) {
    // brubeck: "http": ":8080" (only the port is read); we also accept "host:port".
    const text = str(file, c, 'http', '');
    const colon = text.lastIndexOf(':');
    const digits = text.slice(colon + 1);
    const port = Number(digits);
    if (colon < 0 || !/^\d+$/.test(digits) || port > 65535) {
      throw configError(file, `http must be ":PORT" or "HOST:PORT", not ${JSON.stringify(text)}`);
    }
    config.http = { address: text.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
  }
  return config;
}

/** etsy statsd's config object (exampleConfig.js keys). */
export function fromEtsy(file: string, c: Obj): DaemonConfig {
  const config = defaultConfig();
  const graphite = isObject(c.graphite) ? c.graphite : {};
  const agg: AggregatorOptions = { convention: 'etsy' };
  config.flushInterval = interval(file, 'flushInterval', num(file, c, 'flushInterval', 10000));
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
  config.aggregator = agg;
  const servers = Array.isArray(c.servers) ? c.servers : [{ server: './servers/udp', address: c.address, port: c.port }];
  if (Array.isArray(c.servers) && (c.port !== undefined || c.address !== undefined)) {
    config.warnings.push(`${file}: ignoring top-level port and address: "servers" is set (etsy statsd does the same)`);
  }
  config.udp = undefined;
  for (const s of servers) {
    if (!isObject(s)) throw configError(file, 'servers entries must be objects');
    const kind = str(file, s, 'server', './servers/udp');
    const address = typeof s.address === 'string' ? s.address : '127.0.0.1';
    const p = port(file, s, 'port', 8125);
    if (kind.endsWith('udp')) config.udp = { address, port: p, workers: 1 };
    else if (kind.endsWith('tcp')) config.tcp = { address, port: p };
    else throw configError(file, `unsupported server ${JSON.stringify(kind)}`);
  }
  const backends = Array.isArray(c.backends) ? c.backends : ['./backends/graphite'];
  const graphiteKeys = ['graphitePort', 'graphitePicklePort', 'graphiteProtocol'].filter((k) => c[k] !== undefined);
  if (c.graphiteHost === undefined && graphiteKeys.length) {
    config.warnings.push(`${file}: ignoring ${graphiteKeys.join(', ')}: no graphiteHost, so no graphite backend`);
  }
  if (c.graphiteHost !== undefined && backends.some((b) => String(b).endsWith('graphite'))) {
    const pickle = c.graphiteProtocol === 'pickle';
    config.graphite = {
      host: str(file, c, 'graphiteHost', '127.0.0.1'),
      port: pickle ? port(file, c, 'graphitePicklePort', 2004) : port(file, c, 'graphitePort', 2003),
      format: pickle ? 'pickle' : 'plaintext',
    };
  }
  if (backends.some((b) => String(b).endsWith('console'))) config.stdout = 'json';
  for (const b of backends) {
    if (!String(b).endsWith('graphite') && !String(b).endsWith('console')) {
      config.warnings.push(`${file}: ignoring backend ${JSON.stringify(b)} (only graphite and console are supported)`);
    }
  }
  return config;
}

// Top-level keys each format reads; others are reported as ignored.
const BRUBECK_KEYS = ['samplers', 'backends', 'server_name', 'expire', 'report_idle', 'dialect', 'http', 'limits'];
const ETSY_KEYS = [
  'flushInterval', 'percentThreshold', 'histogram', 'deleteIdleStats', 'deleteCounters', 'deleteTimers',
  'deleteSets', 'deleteGauges', 'gaugesMaxTTL', 'keyNameSanitize', 'prefixStats', 'flush_counts', 'graphite',
  'servers', 'port', 'address', 'backends', 'graphiteHost', 'graphitePort', 'graphitePicklePort',
  'graphiteProtocol', 'limits', 'calculatedTimerMetrics', 'dialect',
];

function ignoredKeys(file: string, c: Obj, known: string[]): string[] {
  const ignored = Object.keys(c).filter((k) => !known.includes(k));
  return ignored.length ? [`${file}: ignoring ${ignored.map((k) => JSON.stringify(k)).join(', ')} (not used by statsd-native)`] : [];
}

/** The resource limits a config's `limits` object may set (our extension, in both formats). */
const AGGREGATOR_LIMITS = ['maxLineBytes', 'maxKeys', 'maxKeyBytes', 'maxSamplesPerKey', 'maxSetMembers', 'maxIntervalSamples', 'maxIntervalMembers'] as const;

/**
 * Applies `"limits": { ... }` to `config`: the aggregator's limits, the TCP
 * input's `maxConnections`, and the sinks' `maxBacklog` (flushes, carbon)
 * and `maxBacklogBytes` (carbon and stdout); the last three apply to inputs
 * and sinks given by flags too. Whole numbers >= 0, except those three (>= 1:
 * Node reads maxConnections 0 as "no limit"; a backlog keeps the newest flush).
 */
function applyLimits(file: string, c: Obj, config: DaemonConfig): void {
  if (c.limits === undefined) return;
  if (!isObject(c.limits)) throw configError(file, 'limits must be an object');
  const limits = c.limits;
  const atLeastOne = ['maxConnections', 'maxBacklog', 'maxBacklogBytes'];
  const known = [...AGGREGATOR_LIMITS, ...atLeastOne];
  for (const key of Object.keys(limits)) {
    if (!known.includes(key)) throw configError(file, `unknown limit ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    const v = limits[key];
    const least = atLeastOne.includes(key) ? 1 : 0;
    if (!Number.isInteger(v) || (v as number) < least) {
      throw configError(file, `limits.${key} must be a whole number >= ${least}, not ${JSON.stringify(v)}`);
    }
  }
  for (const key of AGGREGATOR_LIMITS) if (limits[key] !== undefined) config.aggregator[key] = limits[key] as number;
  if (limits.maxConnections !== undefined) config.maxConnections = limits.maxConnections as number;
  if (limits.maxBacklog !== undefined) config.maxBacklog = limits.maxBacklog as number;
  if (limits.maxBacklogBytes !== undefined) config.maxBacklogBytes = limits.maxBacklogBytes as number;
}

/** ms a JS config may take to evaluate and be read (one without loops takes well under 1). */
const CONFIG_TIME_LIMIT_MS = 1000;

// Values JSON cannot hold, as text the checks can name in their messages
// (`Expected a number for flushInterval but received "Infinity"`).
const COPY_REPLACER = `function (key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value + 'n';
  if (typeof value === 'function' || typeof value === 'symbol') return '[' + typeof value + ']';
  return value;
}`;

/**
 * Evaluates etsy statsd's config.js (a JavaScript object literal; statsd
 * evaluates it too) and copies its values out as JSON inside the same time
 * limit, so a getter or Proxy trap that loops is stopped there, and the
 * daemon reads plain data, not objects whose reading runs the file's code.
 */
function evaluateConfig(file: string, text: string): unknown {
  let json: unknown;
  try {
    json = vm.runInNewContext(`JSON.stringify((${text}\n), ${COPY_REPLACER})`, {}, {
      filename: file,
      timeout: CONFIG_TIME_LIMIT_MS,
      microtaskMode: 'afterEvaluate', // promise callbacks run inside the limit too
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw configError(file, `reading the config took over ${CONFIG_TIME_LIMIT_MS} ms: a loop in the file, or a getter or Proxy trap that loops`);
    }
    throw configError(file, `not JSON nor a JavaScript object: ${(error as Error).message}`);
  }
  return typeof json === 'string' ? JSON.parse(json) : undefined;
}

/**
 * Reads a config file: brubeck JSON (has "samplers" or "backends" objects) or
 * etsy statsd's JavaScript object literal. Errors name the file.
 */
export function loadConfig(file: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw configError(file, `cannot read: ${(error as NodeJS.ErrnoException).code}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = evaluateConfig(file, text);
  }
  if (!isObject(value)) throw configError(file, 'expected an object');
  const brubeck = Array.isArray(value.samplers) || (Array.isArray(value.backends) && value.backends.some(isObject));
  const config = brubeck ? fromBrubeck(file, value) : fromEtsy(file, value);
  config.warnings.push(...ignoredKeys(file, value, brubeck ? BRUBECK_KEYS : ETSY_KEYS));
  applyLimits(file, value, config);
  try {
    checkAggregatorOptions(config.aggregator);
  } catch (error) {
    throw configError(file, (error as Error).message); // e.g. a bad percentThreshold
  }
  return config;
}
