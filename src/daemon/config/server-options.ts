// One vocabulary for the daemon's options. A library caller writes a
// ServerOptions; a config file (brubeck JSON, etsy JS) and the command-line
// flags each produce one too, merged in that order. StatsdServer resolves it
// here, once: every check and every default is applied in this file.
import { type AggregatorOptions, DEFAULT_MAX_LINE_BYTES, checkAggregatorOptions } from '../../aggregator/aggregator';
import { StatsdError } from '../../core/errors';
import { booleanOption, choiceOption, integerOption, invalidOption, knownKeys } from '../../core/options';
import { hostOption, portOption } from '../../net/address';
import type { DatagramInputOptions } from '../inputs/datagram';
import type { TcpInputOptions } from '../inputs/tcp';
import type { HttpOptions } from '../http/http-server';
import type { GraphiteApiOptions } from '../graphite-api/graphite-api';
import type { HistoryOptions } from '../history/history';
import { type PrometheusOptions, type ResolvedPrometheusOptions, resolvePrometheusOptions } from '../prometheus/options';
import type { GraphiteSinkOptions } from '../sinks/graphite';
import type { Sink } from '../sinks/sink';
import type { UpstreamSinkOptions } from '../../scale/upstream-sink';
import {
  DEFAULT_CARBON_BACKLOG_BYTES, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_HELD_BYTES, DEFAULT_HOST, DEFAULT_HTTP_MAX_CONNECTIONS,
  DEFAULT_HTTP_PORT, DEFAULT_HTTP_TIMEOUT_MS, DEFAULT_MAX_BACKLOG, DEFAULT_RECEIVE_BUFFER_BYTES, DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_STATSD_PORT, DEFAULT_STREAM_BACKLOG_BYTES, DEFAULT_TCP_MAX_CONNECTIONS, DEFAULT_UDP_WORKERS,
  DEFAULT_FORWARD_MEMBER_SEED, DEFAULT_UNIX_RECEIVE_BUFFER_BYTES, MAX_TIMER_MS,
} from './defaults';

export interface ServerOptions {
  /** The aggregator's options; the flush interval is `flushInterval` below. */
  aggregator?: Omit<AggregatorOptions, 'flushInterval'>;
  /** UDP input, read by native threads; absent: none. */
  udp?: {
    /** Default DEFAULT_HOST (127.0.0.1). */
    address?: string;
    /** Default DEFAULT_STATSD_PORT (8125); 0 picks a free one (see `udpPort`). */
    port?: number;
    /** Receiving threads on SO_REUSEPORT sockets (default 1). */
    workers?: number;
    /** SO_RCVBUF asked for (default DEFAULT_RECEIVE_BUFFER_BYTES, 32 MiB). */
    receiveBuffer?: number;
    /**
     * Per receiving thread, datagram bytes read on and held while a flush
     * holds the aggregator (default DEFAULT_HELD_BYTES, 64 MiB; 0: leave them
     * in the socket buffer). Also applies to the unix input.
     */
    heldBytes?: number;
  };
  /** TCP line input; absent: none. */
  tcp?: {
    address?: string;
    port?: number;
    /** Connections at once (default `limits.maxConnections`, else 1024); past it one is closed, counted in `tcp.refused`. */
    maxConnections?: number;
  };
  /** Unix datagram input at this path. */
  unix?: string;
  /**
   * HTTP: /ping, /stats, /metric/<key>, the web view at / and /api/*,
   * Prometheus' /metrics (unless `prometheus: false`) and, with `history`,
   * Graphite's /metrics/find and /render; absent: none.
   */
  http?: {
    address?: string;
    /** Default DEFAULT_HTTP_PORT (8080). */
    port?: number;
    /** Connections at once (default 256); past it one is closed at once, counted in `http.refused`. */
    maxConnections?: number;
    /**
     * ms a client has to send a whole request, and a connection may stay idle
     * (default 10000); past it the connection is closed, counted in `http.timeouts`.
     */
    timeout?: number;
  };
  /** Sinks made by the caller; those below are added after them. */
  sinks?: Sink[];
  /** A GraphiteSink to carbon (`maxBacklog` and `maxBacklogBytes` default to `limits`'). */
  graphite?: GraphiteSinkOptions;
  /** A StreamSink on stdout: carbon lines or JSON lines. */
  stdout?: 'carbon' | 'json';
  /**
   * Keep what each flush wrote in memory (History: `window` seconds at flush
   * resolution, `maxBytes` bounded), for `server.history`; absent: none.
   */
  history?: Omit<HistoryOptions, 'flushInterval'>;
  /**
   * Bounds of Graphite's query API (/metrics/find, /render), served over the
   * history when both `history` and `http` are on.
   */
  graphiteApi?: GraphiteApiOptions;
  /**
   * Prometheus exposition at /metrics when `http` is on (default `{}`: on,
   * reading flushes from its first scrape); `false`: no /metrics route.
   */
  prometheus?: false | PrometheusOptions;
  /**
   * Two-tier mode: the flush goes to a daemon or relay upstream as statsd
   * lines (UpstreamSink) instead of Graphite; then there is no graphite,
   * stdout or history (a flush is written once, in one format). Set members
   * are hashed under aggregator.memberSeed, by default the fleet-wide
   * DEFAULT_FORWARD_MEMBER_SEED.
   */
  upstream?: UpstreamSinkOptions;
  /** ms between flushes (default DEFAULT_FLUSH_INTERVAL_MS, 10000). */
  flushInterval?: number;
  /** Flush on wall-clock multiples of flushInterval. */
  alignFlush?: boolean;
  /** ms stop() waits for sinks to deliver (default 5000, at most 2^31 - 1). */
  shutdownTimeout?: number;
  /**
   * The `"limits"` of both config formats that are not the aggregator's (those
   * go in `aggregator`): defaults for the TCP input's maxConnections and the
   * sinks' maxBacklog (carbon) and maxBacklogBytes (carbon and stdout).
   */
  limits?: { maxConnections?: number; maxBacklog?: number; maxBacklogBytes?: number };
}

/** ServerOptions with every check done and every default filled in. */
export interface ResolvedServerOptions {
  aggregator: AggregatorOptions & { flushInterval: number };
  udp?: DatagramInputOptions;
  unix?: DatagramInputOptions;
  tcp?: TcpInputOptions;
  http?: HttpOptions;
  sinks: Sink[];
  graphite?: GraphiteSinkOptions;
  stdout?: { format: 'carbon' | 'json'; maxBacklogBytes: number };
  history?: HistoryOptions;
  graphiteApi: GraphiteApiOptions;
  upstream?: UpstreamSinkOptions;
  /** undefined: `prometheus: false`. */
  prometheus?: ResolvedPrometheusOptions;
  flushInterval: number;
  alignFlush: boolean;
  shutdownTimeout: number;
}

const SERVER_KEYS = ['aggregator', 'udp', 'tcp', 'unix', 'http', 'sinks', 'graphite', 'stdout', 'history', 'graphiteApi', 'prometheus', 'upstream', 'flushInterval', 'alignFlush', 'shutdownTimeout', 'limits'];
const GROUP_KEYS: Record<string, readonly string[]> = {
  udp: ['address', 'port', 'workers', 'receiveBuffer', 'heldBytes'],
  tcp: ['address', 'port', 'maxConnections'],
  http: ['address', 'port', 'maxConnections', 'timeout'],
  limits: ['maxConnections', 'maxBacklog', 'maxBacklogBytes'],
};
const GROUPS = ['aggregator', 'udp', 'tcp', 'http', 'graphite', 'limits'] as const;

/**
 * `over` applied on top of `base`: each group (udp, tcp, http, aggregator,
 * graphite, limits) key by key, the rest whole. Neither is changed.
 */
export function mergeServerOptions(base: ServerOptions, over: ServerOptions): ServerOptions {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const group = (GROUPS as readonly string[]).includes(key);
    const before = merged[key];
    // a key given as undefined in a group leaves the base's value
    const defined = group && typeof value === 'object' ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) : value;
    merged[key] = group && before && typeof before === 'object' ? { ...before, ...defined } : defined;
  }
  return merged as ServerOptions;
}

/** Checks `options` and fills in every default; throws a StatsdError (ERR_STATSD_INVALID_OPTION) naming the option. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw invalidOption('StatsdServer options', 'an object', options);
  // A misspelt key would leave its default in place without a word.
  knownKeys('StatsdServer', options, SERVER_KEYS);
  for (const group of GROUPS) {
    const value = (options as Record<string, unknown>)[group];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw invalidOption(group, 'an object', value);
    }
  }
  for (const [group, keys] of Object.entries(GROUP_KEYS)) {
    const value = (options as Record<string, unknown>)[group];
    if (value !== undefined) knownKeys(`StatsdServer ${group}`, value as object, keys);
  }
  if (options.sinks !== undefined && !Array.isArray(options.sinks)) throw invalidOption('sinks', 'an array of sinks', options.sinks);
  if (options.aggregator && 'flushInterval' in options.aggregator) {
    throw new StatsdError('ERR_STATSD_INVALID_OPTION', 'StatsdServer takes the flush interval as its top-level flushInterval, not aggregator.flushInterval');
  }
  const flushInterval = integerOption('flushInterval', options.flushInterval, DEFAULT_FLUSH_INTERVAL_MS, 1, MAX_TIMER_MS);
  const aggregator = { ...options.aggregator, flushInterval };
  if (options.upstream !== undefined) {
    const others = (['graphite', 'stdout', 'history', 'sinks'] as const).filter((k) => options[k] !== undefined);
    if (options.prometheus !== undefined && options.prometheus !== false) others.push('prometheus' as never);
    if (others.length > 0) {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', `upstream forwards each flush as statsd lines: it cannot go with ${others.join(', ')} (a flush is written once, in one format)`);
    }
    if (aggregator.memberSeed === 0) {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', 'upstream with aggregator.memberSeed 0 (a random seed per daemon) would count a set member once per host: give the fleet one seed');
    }
    aggregator.memberSeed ??= DEFAULT_FORWARD_MEMBER_SEED;
  }
  checkAggregatorOptions(aggregator);
  const limits = options.limits ?? {};
  const maxBacklog = integerOption('limits.maxBacklog', limits.maxBacklog, DEFAULT_MAX_BACKLOG, 1, Number.MAX_SAFE_INTEGER);
  const maxBacklogBytes = limits.maxBacklogBytes === undefined ? undefined : integerOption('limits.maxBacklogBytes', limits.maxBacklogBytes, 0, 1, Number.MAX_SAFE_INTEGER);
  const tcpConnections = integerOption('limits.maxConnections', limits.maxConnections, DEFAULT_TCP_MAX_CONNECTIONS, 1, 1 << 20);

  const resolved: ResolvedServerOptions = {
    aggregator,
    sinks: [...(options.sinks ?? [])],
    graphiteApi: { ...options.graphiteApi }, // checked by GraphiteApi
    // A forwarding daemon's flush is statsd lines: nothing for /metrics to read.
    prometheus: options.upstream !== undefined ? undefined : resolvePrometheusOptions(options.prometheus),
    flushInterval,
    alignFlush: booleanOption('alignFlush', options.alignFlush, false),
    shutdownTimeout: integerOption('shutdownTimeout', options.shutdownTimeout, DEFAULT_SHUTDOWN_TIMEOUT_MS, 0, MAX_TIMER_MS),
  };
  const udp = options.udp;
  // The native receiver casts these to fixed-width integers: checked here.
  const heldBytes = integerOption('udp.heldBytes', udp?.heldBytes, DEFAULT_HELD_BYTES, 0, 2 ** 40);
  if (udp) {
    resolved.udp = {
      address: hostOption('udp.address', udp.address, DEFAULT_HOST),
      port: portOption('udp.port', udp.port, DEFAULT_STATSD_PORT, 'listen'),
      unix: false,
      workers: integerOption('udp.workers', udp.workers, DEFAULT_UDP_WORKERS, 1, 1024),
      receiveBuffer: integerOption('udp.receiveBuffer', udp.receiveBuffer, DEFAULT_RECEIVE_BUFFER_BYTES, 0, 2 ** 31 - 1),
      heldBytes,
    };
  }
  if (options.unix !== undefined) {
    if (typeof options.unix !== 'string' || options.unix === '') throw invalidOption('unix', 'a socket path', options.unix);
    resolved.unix = { address: options.unix, port: 0, unix: true, workers: 1, receiveBuffer: DEFAULT_UNIX_RECEIVE_BUFFER_BYTES, heldBytes };
  }
  if (options.tcp) {
    resolved.tcp = {
      address: hostOption('tcp.address', options.tcp.address, DEFAULT_HOST),
      port: portOption('tcp.port', options.tcp.port, DEFAULT_STATSD_PORT, 'listen'),
      // >= 1: Node reads maxConnections 0 as "no limit"
      maxConnections: integerOption('tcp.maxConnections', options.tcp.maxConnections, tcpConnections, 1, 1 << 20),
      maxLineBytes: aggregator.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, // checked with the aggregator's options
    };
  }
  if (options.http) {
    resolved.http = {
      address: hostOption('http.address', options.http.address, DEFAULT_HOST),
      port: portOption('http.port', options.http.port, DEFAULT_HTTP_PORT, 'listen'),
      maxConnections: integerOption('http.maxConnections', options.http.maxConnections, DEFAULT_HTTP_MAX_CONNECTIONS, 1, 1 << 20),
      timeout: integerOption('http.timeout', options.http.timeout, DEFAULT_HTTP_TIMEOUT_MS, 1, MAX_TIMER_MS),
    };
  }
  if (options.graphite) {
    const g = options.graphite;
    resolved.graphite = { ...g, maxBacklog: g.maxBacklog ?? maxBacklog, maxBacklogBytes: g.maxBacklogBytes ?? maxBacklogBytes ?? DEFAULT_CARBON_BACKLOG_BYTES };
  }
  if (options.stdout !== undefined) {
    resolved.stdout = {
      format: choiceOption('stdout', options.stdout, 'carbon', ['carbon', 'json'] as const),
      maxBacklogBytes: maxBacklogBytes ?? DEFAULT_STREAM_BACKLOG_BYTES,
    };
  }
  if (options.history !== undefined) {
    if (options.history === null || typeof options.history !== 'object') throw invalidOption('history', '{ window?, maxBytes? }', options.history);
    if ('flushInterval' in options.history) {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', 'StatsdServer takes the flush interval as its top-level flushInterval, not history.flushInterval (the history keeps one point per flush)');
    }
    resolved.history = { ...options.history, flushInterval: resolved.flushInterval };
  }
  if (options.upstream !== undefined) resolved.upstream = options.upstream; // checked by UpstreamSink
  return resolved;
}
