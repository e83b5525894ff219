#!/usr/bin/env node
// Command line: `statsd-native serve` runs the daemon (DESIGN §7).
import { parseArgs } from 'node:util';

import { type DaemonConfig, defaultConfig, loadConfig } from './daemon/config/config';
import { parseEndpoint } from './net/endpoint';
import { StatsdError } from './core/errors';
import { StatsdServer } from './daemon/server';
import { GraphiteCounterSink, type LoadOptions, runLoad, runPrefix } from './load/load';
import { GraphiteSink, type Sink, StreamSink } from './daemon/sinks/sinks';

const USAGE = `Usage: statsd-native serve [options]
       statsd-native load --target HOST:PORT [options]

serve: run the daemon

  --config FILE          brubeck config.json or etsy statsd config.js; both
                         take "limits": { maxKeys, maxKeyBytes, … } (README);
                         the flags below override the file
  --address ADDR         UDP address (default 127.0.0.1)
  --port PORT            UDP port (default 8125; 0 picks one)
  --workers N            UDP receiving threads (SO_REUSEPORT; default 1)
  --tcp-port PORT        also take newline-separated lines over TCP
  --unix PATH            also take datagrams on a unix socket
  --flush-interval MS    flush every MS milliseconds (default 10000)
  --align                flush on wall-clock multiples of the interval
  --convention NAME      brubeck (default) or etsy
  --dialect NAME         parser: full (default) or brubeck (only what brubeck
                         accepts: no sets, distributions, tags, timestamps or
                         multi-values)
  --expire SECONDS       forget keys idle this long (default: never)
  --report-idle          brubeck: report a key every flush; by default one that
                         was not updated is reported once more, then silent
                         until its next update (the lukepalmer fork's rule)
  --server-name NAME     prefix of the internal metrics (brubeck: NAME.metrics …)
  --graphite HOST:PORT   send to carbon (plaintext; with --pickle, pickle)
  --pickle               use carbon's pickle protocol
  --stdout FORMAT        print flushes: carbon (default without --graphite) or json
  --http [HOST:]PORT     serve /ping, /stats and /metric/<key>
  --shutdown-timeout MS  on SIGTERM/SIGINT, wait this long for carbon to take
                         the last flushes (default 5000, at most 2147483647);
                         what it did not take is reported as dropped. The exit
                         comes at most about 2 s later (closing inputs and the
                         carbon connection)
  --max-backlog-bytes N  bytes of flushes kept while carbon is down or stdout
                         is not read (default 256 MiB for carbon, 64 MiB for
                         stdout); past it the oldest are dropped and counted

load: send a paced statsd mix to any server
  --target ENDPOINT      host:port, udp://, tcp://, unix:///path, unixstream:///path
  --rate N               lines per second (default 100000)
  --duration S           seconds (default 10)
  --keys N               distinct keys (default 1000)
  --mix SPEC             type weights, e.g. c=35,ms=30,g=15,h=10,s=10
  --tagged F             fraction of keys with tags (default 0)
  --sampled F            fraction of ms/h lines with |@0.5 (default 0)
  --packet-bytes N       datagram size (default 1432)
  --sink PORT            also run a Graphite plaintext sink on PORT (point the
                         server's graphite output at it) and report how many of
                         this run's counter increments arrived (its keys are
                         named load.<random id>.*, so an earlier run's are not
                         counted)
  --wait S               with --sink: seconds to wait for the last flush (default 12)
  --json                 print the summary as JSON
`;

function fail(message: string): never {
  process.stderr.write(`statsd-native: ${message}\n`);
  process.exit(1);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value)) fail(`--${name} expects a whole number, not ${JSON.stringify(value)}`);
  return n;
}

function portFlag(name: string, value: string | undefined): number | undefined {
  const n = integer(name, value);
  if (n !== undefined && n > 65535) fail(`--${name} expects a port from 0 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

// Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer one fires after 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The config from --config (or the embedded default) with flags applied over it. */
export function configFromArgs(args: string[]): DaemonConfig {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      address: { type: 'string' },
      port: { type: 'string' },
      workers: { type: 'string' },
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
      'shutdown-timeout': { type: 'string' },
      'max-backlog-bytes': { type: 'string' },
    },
    strict: true,
  });
  const config = values.config ? loadConfig(values.config) : defaultConfig();
  if (values.address !== undefined || values.port !== undefined || values.workers !== undefined) {
    const udp = config.udp ?? { address: '127.0.0.1', port: 8125, workers: 1 };
    config.udp = {
      address: values.address ?? udp.address,
      port: portFlag('port', values.port) ?? udp.port,
      workers: integer('workers', values.workers) ?? udp.workers,
    };
    if (config.udp.workers < 1) fail('--workers expects at least 1');
  }
  const tcpPort = portFlag('tcp-port', values['tcp-port']);
  if (tcpPort !== undefined) config.tcp = { address: config.tcp?.address ?? config.udp?.address ?? '127.0.0.1', port: tcpPort };
  if (values.unix) config.unix = values.unix;
  config.flushInterval = integer('flush-interval', values['flush-interval']) ?? config.flushInterval;
  if (config.flushInterval < 1) fail('--flush-interval must be at least 1 ms');
  if (values.align) config.alignFlush = true;
  if (values.convention !== undefined) {
    if (values.convention !== 'brubeck' && values.convention !== 'etsy') fail('--convention is brubeck or etsy');
    config.aggregator.convention = values.convention;
  }
  if (values.dialect !== undefined) {
    if (values.dialect !== 'full' && values.dialect !== 'brubeck') fail('--dialect is full or brubeck');
    config.aggregator.dialect = values.dialect;
  }
  const expire = integer('expire', values.expire);
  if (expire !== undefined) config.aggregator.expire = expire;
  if (values['report-idle']) config.aggregator.reportIdle = true;
  if (values['server-name'] !== undefined) {
    if (config.aggregator.convention === 'etsy') fail('--server-name is for the brubeck convention (etsy names its internal metrics with prefixStats)');
    config.aggregator.serverName = values['server-name'];
  }
  if (values.graphite !== undefined) {
    const e = parseEndpoint(values.graphite, '--graphite');
    if (e.transport !== 'udp' || /^[a-z]+:\/\//.test(values.graphite)) fail(`--graphite expects HOST:PORT (carbon's TCP line or pickle port), not ${JSON.stringify(values.graphite)}`);
    config.graphite = { host: e.host, port: e.port, format: 'plaintext' };
  }
  if (values.pickle) {
    if (!config.graphite) fail('--pickle needs a carbon backend (--graphite HOST:PORT or one in --config)');
    config.graphite.format = 'pickle';
  }
  if (values.stdout !== undefined) {
    if (values.stdout !== 'carbon' && values.stdout !== 'json') fail('--stdout is carbon or json');
    config.stdout = values.stdout;
  }
  const shutdownTimeout = integer('shutdown-timeout', values['shutdown-timeout']);
  if (shutdownTimeout !== undefined && shutdownTimeout > MAX_TIMER_MS) {
    fail(`--shutdown-timeout expects milliseconds from 0 to ${MAX_TIMER_MS}, not ${JSON.stringify(values['shutdown-timeout'])}`);
  }
  config.shutdownTimeout = shutdownTimeout ?? config.shutdownTimeout;
  const maxBacklogBytes = integer('max-backlog-bytes', values['max-backlog-bytes']);
  if (maxBacklogBytes !== undefined && !(maxBacklogBytes >= 1 && maxBacklogBytes <= Number.MAX_SAFE_INTEGER)) {
    fail(`--max-backlog-bytes expects bytes from 1 to ${Number.MAX_SAFE_INTEGER}, not ${JSON.stringify(values['max-backlog-bytes'])}`);
  }
  config.maxBacklogBytes = maxBacklogBytes ?? config.maxBacklogBytes;
  if (values.http !== undefined) {
    const colon = values.http.lastIndexOf(':');
    const port = portFlag('http', values.http.slice(colon + 1))!;
    config.http = { address: colon > 0 ? values.http.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : '127.0.0.1', port };
  }
  if (!config.udp && !config.tcp && !config.unix) {
    fail(`no input to listen on${values.config ? ` (${values.config} has no statsd sampler or server)` : ''}: add --port, --tcp-port or --unix`);
  }
  return config;
}

export function sinksFor(config: DaemonConfig): Sink[] {
  const sinks: Sink[] = [];
  const { maxBacklog, maxBacklogBytes } = config;
  if (config.graphite) sinks.push(new GraphiteSink({ ...config.graphite, maxBacklog, maxBacklogBytes }));
  if (config.stdout || sinks.length === 0) sinks.push(new StreamSink({ format: config.stdout ?? 'carbon', maxBacklogBytes }));
  return sinks;
}

async function serve(args: string[]): Promise<void> {
  const config = configFromArgs(args);
  for (const warning of config.warnings) process.stderr.write(`statsd-native: ${warning}\n`);
  const server = new StatsdServer({
    aggregator: config.aggregator,
    udp: config.udp,
    tcp: config.tcp && { ...config.tcp, maxConnections: config.maxConnections },
    unix: config.unix,
    http: config.http,
    sinks: sinksFor(config),
    flushInterval: config.flushInterval,
    alignFlush: config.alignFlush,
  });
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
    stopping ??= server.stop(config.shutdownTimeout).then(() => {
      process.stderr.write(`statsd-native: stopped; ${shutdownReport(server)}\n`);
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.start();
  if (stopping) return;
  // Linux reports twice the size it grants (the other half is bookkeeping).
  const granted = server.stats.udp.receiveBuffer / 2;
  if (config.udp && granted > 0 && granted < 32 << 20) {
    process.stderr.write(
      `statsd-native: UDP receive buffer is ${(granted / 2 ** 20).toFixed(1)} MiB, not the 32 MiB asked for: without CAP_NET_ADMIN ` +
        'the kernel caps it at net.core.rmem_max (raise the sysctl for bursts; flush pauses are covered by held datagrams)\n',
    );
  }
  const host = (address: string) => (address.includes(':') ? `[${address}]` : address); // IPv6 in brackets
  const inputs = [
    config.udp && `udp://${host(config.udp.address)}:${server.udpPort}`,
    config.tcp && `tcp://${host(config.tcp.address)}:${server.tcpPort}`,
    config.unix && `unix://${config.unix}`,
    config.http && `http://${host(config.http.address)}:${server.httpPort}`,
  ].filter(Boolean);
  process.stderr.write(
    `statsd-native: listening on ${inputs.join(', ')}; ${config.aggregator.convention ?? 'brubeck'} convention; ` +
      `flushing every ${config.flushInterval} ms to ${server.sinks.map((s) => s.name).join(', ')}\n`,
  );
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

function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) fail(`--${name} expects a fraction from 0 to 1, not ${JSON.stringify(value)}`);
  return n;
}

async function load(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      keys: { type: 'string' },
      mix: { type: 'string' },
      tagged: { type: 'string' },
      sampled: { type: 'string' },
      'packet-bytes': { type: 'string' },
      sink: { type: 'string' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.target) fail('load needs --target HOST:PORT');
  let mix: LoadOptions['mix'];
  if (values.mix) {
    mix = {};
    for (const part of values.mix.split(',')) {
      const [type, weight] = part.split('=');
      if (!['c', 'g', 'ms', 'h', 's', 'd'].includes(type!) || !(Number(weight) >= 0)) fail(`bad --mix entry ${JSON.stringify(part)}`);
      (mix as Record<string, number>)[type!] = Number(weight);
    }
  }
  const sinkPort = integer('sink', values.sink);
  // The sink counts only this run's keys: a server used before may still
  // flush or replay an earlier run's counters.
  const prefix = runPrefix();
  const sink = sinkPort === undefined ? undefined : new GraphiteCounterSink(prefix);
  if (sink) await sink.listen(sinkPort!);
  const tty = process.stderr.isTTY;
  const summary = await runLoad({
    target: values.target,
    rate: integer('rate', values.rate),
    duration: values.duration === undefined ? undefined : Number(values.duration),
    keys: integer('keys', values.keys),
    mix,
    tagged: fraction('tagged', values.tagged),
    sampled: fraction('sampled', values.sampled),
    packetBytes: integer('packet-bytes', values['packet-bytes']),
    prefix,
    onProgress: (p) => {
      const line = `${p.elapsed.toFixed(1)} s  ${Math.round(p.currentRate).toLocaleString('en')} lines/s  sent ${p.linesSent.toLocaleString('en')}  errors ${p.errors}`;
      process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  const result: Record<string, unknown> = { ...summary };
  delete result.currentRate;
  if (sink) {
    // The server reports what it accepted at its next flush: wait for it.
    const waitMs = (values.wait === undefined ? 12 : Number(values.wait)) * 1000;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && sink.report.counted < summary.counterLines) await new Promise((r) => setTimeout(r, 100));
    const latencies = [...sink.report.latencies].sort((a, b) => a - b);
    result.sink = {
      ...sink.report,
      latencies: undefined,
      loss: summary.counterLines ? 1 - sink.report.counted / summary.counterLines : 0,
      medianFlushLatency: latencies.length ? latencies[Math.floor(latencies.length / 2)] : undefined,
    };
    await sink.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const s = result.sink as { counted: number; loss: number; flushes: number; medianFlushLatency?: number } | undefined;
  process.stdout.write(
    `sent ${summary.linesSent.toLocaleString('en')} lines in ${summary.packetsSent.toLocaleString('en')} packets ` +
      `over ${summary.elapsed.toFixed(1)} s: ${Math.round(summary.achievedRate).toLocaleString('en')} lines/s, ${summary.errors} errors\n` +
      (s
        ? `delivered ${s.counted.toLocaleString('en')} of ${summary.counterLines.toLocaleString('en')} counter increments ` +
          `to this run's ${summary.keys.toLocaleString('en')} keys (${summary.prefix}.*), as summed by the server's flushes ` +
          `(loss ${(s.loss * 100).toFixed(3)}%) in ${s.flushes} flushes; median flush latency ${s.medianFlushLatency?.toFixed(2) ?? '-'} s\n`
        : ''),
  );
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-v') {
      process.stdout.write(`${(require('../package.json') as { version: string }).version}\n`);
      return;
    }
    const help = rest.includes('--help') || rest.includes('-h');
    if (command === undefined || command === '--help' || command === '-h' || command === 'help' || help) {
      process.stdout.write(USAGE);
      return;
    }
    if (command === 'serve') return await serve(rest);
    if (command === 'load') return await load(rest);
    fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  } catch (error) {
    if (error instanceof StatsdError || (error as NodeJS.ErrnoException).code) fail((error as Error).message);
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === undefined) fail(error.message);
    throw error;
  }
}

if (require.main === module) void main(process.argv.slice(2));
