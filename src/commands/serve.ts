// `statsd-native serve`: the daemon from a config file and flags.
import { parseArgs } from 'node:util';

import { DEFAULT_HOST, DEFAULT_HTTP_PORT, MAX_TIMER_MS } from '../daemon/config/defaults';
import { type ConfigFile, loadConfig } from '../daemon/config/file';
import { type ServerOptions, mergeServerOptions } from '../daemon/config/server-options';
import { StatsdServer } from '../daemon/server';
import { hostPortProblem } from '../net/address';
import { urlHost } from '../net/listen';
import { integerFlag, portFlag, usageError } from './flags';

const SERVE_FLAGS = {
  config: { type: 'string' },
  address: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  shards: { type: 'string' },
  'tcp-port': { type: 'string' },
  unix: { type: 'string' },
  'flush-interval': { type: 'string' },
  align: { type: 'boolean' },
  convention: { type: 'string' },
  dialect: { type: 'string' },
  expire: { type: 'string' },
  'report-idle': { type: 'boolean' },
  'server-name': { type: 'string' },
  graphite: { type: 'string' },
  pickle: { type: 'boolean' },
  stdout: { type: 'string' },
  http: { type: 'string' },
  'history-window': { type: 'string' },
  'history-max-bytes': { type: 'string' },
  upstream: { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  'max-backlog-bytes': { type: 'string' },
} as const;

type ServeFlags = ReturnType<typeof parseArgs<{ options: typeof SERVE_FLAGS; strict: true }>>['values'];

/**
 * The daemon's options from `serve` arguments: --config (or the embedded
 * default, UDP on 127.0.0.1:8125) with the flags over it. Throws a StatsdError
 * (a usage error) naming the flag or the file; never exits.
 */
export function optionsFromArgs(args: string[]): ConfigFile {
  const { values } = parseArgs({ args, options: SERVE_FLAGS, strict: true });
  const file: ConfigFile = values.config ? loadConfig(values.config) : { options: { udp: {} }, warnings: [] };
  const options = mergeServerOptions(file.options, flagOptions(values));
  // --address is the TCP input's address too, unless the file names one.
  if (options.tcp && options.tcp.address === undefined && options.udp?.address !== undefined) {
    options.tcp = { ...options.tcp, address: options.udp.address };
  }
  if (values['server-name'] !== undefined && options.aggregator?.convention === 'etsy') {
    throw usageError('--server-name is for the brubeck convention (etsy names its internal metrics with prefixStats)');
  }
  if (values.pickle) {
    if (!options.graphite) throw usageError('--pickle needs a carbon backend (--graphite HOST:PORT or one in --config)');
    options.graphite = { ...options.graphite, format: 'pickle' };
  }
  // Without a file, HTTP is on (loopback, brubeck's port) with the history
  // behind the web view and the query APIs: `npm start` is enough to see
  // graphs. A file decides for itself (brubeck's "http"); --http off: none.
  if (!values.config && values.http === undefined) options.http = { address: DEFAULT_HOST, port: DEFAULT_HTTP_PORT };
  if (values.http === 'off') delete options.http;
  const historyWindow = integerFlag('history-window', values['history-window']);
  const historyMaxBytes = integerFlag('history-max-bytes', values['history-max-bytes']);
  if (values.upstream !== undefined) {
    // Two-tier: the flush goes upstream as statsd lines, and only there.
    options.upstream = { endpoint: values.upstream };
    if (historyWindow !== undefined || historyMaxBytes !== undefined) throw usageError('--history-* with --upstream: a forwarding daemon keeps no history (its flush is statsd lines)');
  } else if (options.http && historyWindow !== 0) {
    options.history = { window: historyWindow, maxBytes: historyMaxBytes };
  } else if (historyMaxBytes !== undefined || (historyWindow ?? 0) > 0) {
    throw usageError(historyWindow === 0 ? '--history-max-bytes with --history-window 0: there is no history' : '--history-window and --history-max-bytes need HTTP (the history is read through it): add --http');
  }
  // Flushes go somewhere: stdout when there is no carbon.
  if (!options.graphite && options.stdout === undefined && !options.upstream) options.stdout = 'carbon';
  if (!options.udp && !options.tcp && !options.unix) {
    throw usageError(`no input to listen on${values.config ? ` (${values.config} has no statsd sampler or server)` : ''}: add --port, --tcp-port or --unix`);
  }
  return { options, warnings: file.warnings };
}

/** What the flags say, as ServerOptions (checked for form here, for range when resolved). */
function flagOptions(values: ServeFlags): ServerOptions {
  const options: ServerOptions = {};
  const aggregator: NonNullable<ServerOptions['aggregator']> = {};
  if (values.address !== undefined || values.port !== undefined || values.workers !== undefined) {
    const workers = integerFlag('workers', values.workers);
    if (workers !== undefined && workers < 1) throw usageError('--workers expects at least 1');
    options.udp = { address: values.address, port: portFlag('port', values.port), workers };
  }
  const tcpPort = portFlag('tcp-port', values['tcp-port']);
  if (tcpPort !== undefined) options.tcp = { port: tcpPort };
  if (values.unix !== undefined) options.unix = values.unix; // '' is refused when resolved
  const flushInterval = integerFlag('flush-interval', values['flush-interval']);
  if (flushInterval !== undefined && flushInterval < 1) throw usageError('--flush-interval must be at least 1 ms');
  options.flushInterval = flushInterval;
  if (values.align) options.alignFlush = true;
  if (values.convention !== undefined) {
    if (values.convention !== 'brubeck' && values.convention !== 'etsy') throw usageError('--convention is brubeck or etsy');
    aggregator.convention = values.convention;
  }
  if (values.dialect !== undefined) {
    if (values.dialect !== 'full' && values.dialect !== 'brubeck') throw usageError('--dialect is full or brubeck');
    aggregator.dialect = values.dialect;
  }
  aggregator.expire = integerFlag('expire', values.expire);
  aggregator.shards = integerFlag('shards', values.shards);
  if (values['report-idle']) aggregator.reportIdle = true;
  if (values['server-name'] !== undefined) aggregator.serverName = values['server-name'];
  options.aggregator = Object.fromEntries(Object.entries(aggregator).filter(([, v]) => v !== undefined));
  if (values.graphite !== undefined) {
    const parsed = /^[a-z]+:\/\//.test(values.graphite) ? 'a URL' : hostPortProblem(values.graphite, 'connect');
    if (typeof parsed === 'string') throw usageError(`--graphite expects HOST:PORT (carbon's TCP line or pickle port), not ${JSON.stringify(values.graphite)}: ${parsed}`);
    options.graphite = { host: parsed.host, port: parsed.port, format: 'plaintext' };
  }
  if (values.stdout !== undefined) {
    if (values.stdout !== 'carbon' && values.stdout !== 'json') throw usageError('--stdout is carbon or json');
    options.stdout = values.stdout;
  }
  const shutdownTimeout = integerFlag('shutdown-timeout', values['shutdown-timeout']);
  if (shutdownTimeout !== undefined && shutdownTimeout > MAX_TIMER_MS) {
    throw usageError(`--shutdown-timeout expects milliseconds from 0 to ${MAX_TIMER_MS}, not ${JSON.stringify(values['shutdown-timeout'])}`);
  }
  options.shutdownTimeout = shutdownTimeout;
  const maxBacklogBytes = integerFlag('max-backlog-bytes', values['max-backlog-bytes']);
  if (maxBacklogBytes !== undefined && !(maxBacklogBytes >= 1 && maxBacklogBytes <= Number.MAX_SAFE_INTEGER)) {
    throw usageError(`--max-backlog-bytes expects bytes from 1 to ${Number.MAX_SAFE_INTEGER}, not ${JSON.stringify(values['max-backlog-bytes'])}`);
  }
  if (maxBacklogBytes !== undefined) options.limits = { maxBacklogBytes };
  if (values.http !== undefined && values.http !== 'off') {
    const parsed = hostPortProblem(values.http, 'listen', DEFAULT_HOST);
    if (typeof parsed === 'string') throw usageError(`--http expects [HOST:]PORT with a port from 0 to 65535, not ${JSON.stringify(values.http)}: ${parsed}`);
    options.http = { address: parsed.host, port: parsed.port };
  }
  return options;
}

/** Runs the daemon until SIGTERM or SIGINT; logs to stderr. */
export async function serve(args: string[]): Promise<void> {
  const { options, warnings } = optionsFromArgs(args);
  for (const warning of warnings) process.stderr.write(`statsd-native: ${warning}\n`);
  const server = new StatsdServer(options);
  let lastError = '';
  server.on('error', (error: Error) => {
    // One line per distinct error, so a carbon outage does not flood the log.
    if (error.message !== lastError) process.stderr.write(`statsd-native: ${error.message}\n`);
    lastError = error.message;
  });
  server.on('recover', (message: string) => {
    process.stderr.write(`statsd-native: ${message}\n`);
    lastError = ''; // the next outage is logged again
  });
  // Handlers first: a signal that arrives while starting still flushes and exits 0.
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= server.stop().then(() => {
      process.stderr.write(`statsd-native: stopped; ${shutdownReport(server)}\n`);
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.start();
  if (stopping) return;
  const resolved = server.options;
  // Linux reports twice the size it grants (the other half is bookkeeping).
  const granted = server.stats.udp.receiveBuffer / 2;
  if (resolved.udp && granted > 0 && granted < resolved.udp.receiveBuffer) {
    process.stderr.write(
      `statsd-native: UDP receive buffer is ${(granted / 2 ** 20).toFixed(1)} MiB, not the ${(resolved.udp.receiveBuffer / 2 ** 20).toFixed(0)} MiB asked for: without CAP_NET_ADMIN ` +
        'the kernel caps it at net.core.rmem_max (raise the sysctl for bursts; flush pauses are covered by held datagrams)\n',
    );
  }
  const inputs = [
    resolved.udp && `udp://${urlHost(resolved.udp.address)}:${server.udpPort}`,
    resolved.tcp && `tcp://${urlHost(resolved.tcp.address)}:${server.tcpPort}`,
    resolved.unix && `unix://${resolved.unix.address}`,
    resolved.http && `http://${urlHost(resolved.http.address)}:${server.httpPort}`,
  ].filter(Boolean);
  process.stderr.write(
    `statsd-native: listening on ${inputs.join(', ')}; ${server.aggregator.convention} convention; ` +
      `flushing every ${resolved.flushInterval} ms to ${server.sinks.map((s) => s.name).join(', ')}\n`,
  );
  if (resolved.http) {
    const url = `http://${urlHost(resolved.http.address)}:${server.httpPort}/`;
    const keeps = server.history ? `; keeping ${server.history.retained} s of history` : '';
    process.stderr.write(`statsd-native: open ${url} for live graphs (Graphite API: ${url}render, Prometheus: ${url}metrics)${keeps}\n`);
  }
}

/** What each sink delivered and dropped over the daemon's life, for the last log line. */
function shutdownReport(server: StatsdServer): string {
  const stats = server.stats;
  const flushes = (n: number) => `${n} ${n === 1 ? 'flush' : 'flushes'}`;
  const datapoints = (n: number) => `(${n} ${n === 1 ? 'datapoint' : 'datapoints'})`;
  const sinks = stats.sinks.map(
    (s) =>
      `${s.name}: ${flushes(s.flushesSent)} written ${datapoints(s.metricsSent)}, ` +
      `${s.flushesDropped} dropped ${datapoints(s.metricsDropped)}, ` +
      `${s.flushesReplayed} queued again after a broken connection (${s.replaysDropped} of those given up)` +
      (s.metricsPoisoned ? `, ${s.metricsPoisoned} ${s.metricsPoisoned === 1 ? 'datapoint' : 'datapoints'} carbon refused` : ''),
  );
  return [`${flushes(stats.aggregator.flushes)} made ${datapoints(stats.datapointsFlushed)}`, ...sinks].join('; ');
}
