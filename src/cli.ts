#!/usr/bin/env node
// Command line: `statsd-native serve` runs the daemon (DESIGN §7).
import { parseArgs } from 'node:util';

import { type DaemonConfig, defaultConfig, loadConfig } from './config';
import { parseEndpoint } from './endpoint';
import { StatsdError } from './errors';
import { StatsdServer } from './server';
import { GraphiteSink, type Sink, StreamSink } from './sinks';

const USAGE = `Usage: statsd-native serve [options]

  --config FILE          brubeck config.json or etsy statsd config.js
  --address ADDR         UDP address (default 127.0.0.1)
  --port PORT            UDP port (default 8125; 0 picks one)
  --workers N            UDP receiving threads (SO_REUSEPORT)
  --tcp-port PORT        also take newline-separated lines over TCP
  --unix PATH            also take datagrams on a unix socket
  --flush-interval MS    flush every MS milliseconds (default 10000)
  --align                flush on wall-clock multiples of the interval
  --convention NAME      brubeck (default) or etsy
  --expire SECONDS       forget keys idle this long
  --graphite HOST:PORT   send to carbon (plaintext; with --pickle, pickle)
  --pickle               use carbon's pickle protocol
  --stdout FORMAT        print flushes: carbon (default without --graphite) or json
  --http [HOST:]PORT     serve /ping, /stats and /metric/<key>
`;

function fail(message: string): never {
  process.stderr.write(`statsd-native: ${message}\n`);
  process.exit(1);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} expects a whole number, not ${JSON.stringify(value)}`);
  return n;
}

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
      expire: { type: 'string' },
      graphite: { type: 'string' },
      pickle: { type: 'boolean' },
      stdout: { type: 'string' },
      http: { type: 'string' },
    },
    strict: true,
  });
  const config = values.config ? loadConfig(values.config) : defaultConfig();
  if (values.address !== undefined || values.port !== undefined || values.workers !== undefined) {
    const udp = config.udp ?? { address: '127.0.0.1', port: 8125, workers: 1 };
    config.udp = {
      address: values.address ?? udp.address,
      port: integer('port', values.port) ?? udp.port,
      workers: integer('workers', values.workers) ?? udp.workers,
    };
  }
  const tcpPort = integer('tcp-port', values['tcp-port']);
  if (tcpPort !== undefined) config.tcp = { address: config.udp?.address ?? '127.0.0.1', port: tcpPort };
  if (values.unix) config.unix = values.unix;
  config.flushInterval = integer('flush-interval', values['flush-interval']) ?? config.flushInterval;
  if (config.flushInterval < 1) fail('--flush-interval must be at least 1 ms');
  if (values.align) config.alignFlush = true;
  if (values.convention !== undefined) {
    if (values.convention !== 'brubeck' && values.convention !== 'etsy') fail('--convention is brubeck or etsy');
    config.aggregator.convention = values.convention;
  }
  const expire = integer('expire', values.expire);
  if (expire !== undefined) config.aggregator.expire = expire;
  if (values.graphite !== undefined) {
    const e = parseEndpoint(values.graphite, '--graphite');
    config.graphite = { host: e.host, port: e.port, format: 'plaintext' };
  }
  if (values.pickle && config.graphite) config.graphite.format = 'pickle';
  if (values.stdout !== undefined) {
    if (values.stdout !== 'carbon' && values.stdout !== 'json') fail('--stdout is carbon or json');
    config.stdout = values.stdout;
  }
  if (values.http !== undefined) {
    const colon = values.http.lastIndexOf(':');
    const port = integer('http', values.http.slice(colon + 1))!;
    config.http = { address: colon > 0 ? values.http.slice(0, colon) : '127.0.0.1', port };
  }
  return config;
}

export function sinksFor(config: DaemonConfig): Sink[] {
  const sinks: Sink[] = [];
  if (config.graphite) sinks.push(new GraphiteSink(config.graphite));
  if (config.stdout || sinks.length === 0) sinks.push(new StreamSink({ format: config.stdout ?? 'carbon' }));
  return sinks;
}

async function serve(args: string[]): Promise<void> {
  const config = configFromArgs(args);
  const server = new StatsdServer({
    aggregator: config.aggregator,
    udp: config.udp,
    tcp: config.tcp,
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
  await server.start();
  const inputs = [
    config.udp && `udp://${config.udp.address}:${server.udpPort}`,
    config.tcp && `tcp://${config.tcp.address}:${server.tcpPort}`,
    config.unix && `unix://${config.unix}`,
    config.http && `http://${config.http.address}:${server.httpPort}`,
  ].filter(Boolean);
  process.stderr.write(
    `statsd-native: listening on ${inputs.join(', ')}; ${config.aggregator.convention ?? 'brubeck'} convention; ` +
      `flushing every ${config.flushInterval} ms to ${server.sinks.map((s) => s.name).join(', ')}\n`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === undefined || command === '--help' || command === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  } catch (error) {
    if (error instanceof StatsdError || (error as NodeJS.ErrnoException).code) fail((error as Error).message);
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === undefined) fail(error.message);
    throw error;
  }
}

if (require.main === module) void main(process.argv.slice(2));
