// `statsd-native relay`: the key-sharding relay (src/scale/relay.ts) from flags.
import { parseArgs } from 'node:util';

import { DEFAULT_HOST } from '../daemon/config/defaults';
import { hostPortProblem } from '../net/address';
import { urlHost } from '../net/listen';
import { type RelayNode, type RelayOptions, Relay } from '../scale/relay';
import { integerFlag, portFlag, usageError } from './flags';

const RELAY_FLAGS = {
  node: { type: 'string', multiple: true },
  address: { type: 'string' },
  port: { type: 'string' },
  'tcp-port': { type: 'string' },
  http: { type: 'string' },
  'max-packet-bytes': { type: 'string' },
  'health-interval': { type: 'string' },
  convention: { type: 'string' },
} as const;

/** `--node HOST:PORT[,http=PORT]`: a downstream daemon, its /ping polled when http= is given. */
export function parseNode(text: string): RelayNode {
  const [address, ...extras] = text.split(',');
  const parsed = hostPortProblem(address!, 'connect');
  if (typeof parsed === 'string') throw usageError(`--node expects HOST:PORT[,http=PORT], not ${JSON.stringify(text)}: ${parsed}`);
  const node: RelayNode = { host: parsed.host, port: parsed.port };
  for (const extra of extras) {
    const m = /^http=(\d+)$/.exec(extra);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw usageError(`--node: ${JSON.stringify(extra)} is not http=PORT`);
    node.httpPort = Number(m[1]);
  }
  return node;
}

/** The relay's options from its arguments; throws a usage error naming the flag. */
export function relayOptionsFromArgs(args: string[]): RelayOptions {
  const { values } = parseArgs({ args, options: RELAY_FLAGS, strict: true });
  const nodes = (values.node ?? []).map(parseNode);
  if (nodes.length === 0) throw usageError('relay needs at least one --node HOST:PORT[,http=PORT] (the daemons the keys are spread over, in order)');
  const options: RelayOptions = { nodes, udp: { address: values.address ?? DEFAULT_HOST, port: portFlag('port', values.port) ?? 8125 } };
  const tcpPort = portFlag('tcp-port', values['tcp-port']);
  if (tcpPort !== undefined) options.tcp = { address: options.udp!.address, port: tcpPort };
  if (values.http !== undefined && values.http !== 'off') {
    const parsed = hostPortProblem(values.http, 'listen', DEFAULT_HOST);
    if (typeof parsed === 'string') throw usageError(`--http expects [HOST:]PORT, not ${JSON.stringify(values.http)}: ${parsed}`);
    options.http = { address: parsed.host, port: parsed.port };
  }
  options.maxPacketBytes = integerFlag('max-packet-bytes', values['max-packet-bytes']);
  options.healthInterval = integerFlag('health-interval', values['health-interval']);
  if (values.convention !== undefined) {
    if (values.convention !== 'brubeck' && values.convention !== 'etsy') throw usageError('--convention is brubeck or etsy (the daemons\'): etsy keys names sanitized');
    options.convention = values.convention;
  }
  return options;
}

/** Runs the relay until SIGTERM or SIGINT. */
export async function relay(args: string[]): Promise<void> {
  const relay = new Relay(relayOptionsFromArgs(args));
  let lastError = '';
  relay.on('error', (error: Error) => {
    if (error.message !== lastError) process.stderr.write(`statsd-native relay: ${error.message}\n`);
    lastError = error.message;
  });
  relay.on('down', (i: number) => process.stderr.write(`statsd-native relay: node ${i} (${relay.stats.nodes[i]!.address}) is down: its keys go to the next node up\n`));
  relay.on('up', (i: number) => process.stderr.write(`statsd-native relay: node ${i} (${relay.stats.nodes[i]!.address}) is up again\n`));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= relay.stop().then(() => {
      const s = relay.stats;
      process.stderr.write(
        `statsd-native relay: stopped; ${s.router.lines} lines routed (${s.router.moved} moved), ${s.router.errors} bad, ${s.router.unroutable} unroutable; ` +
          s.nodes.map((n) => `${n.address}: ${n.linesSent} sent, ${n.linesDropped} dropped`).join('; ') +
          '\n',
      );
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await relay.start();
  const o = relay.stats;
  const inputs = [`udp://${urlHost(relay.options.udp?.address ?? DEFAULT_HOST)}:${relay.udpPort}`];
  if (relay.tcpPort) inputs.push(`tcp://${urlHost(relay.options.tcp?.address ?? DEFAULT_HOST)}:${relay.tcpPort}`);
  if (relay.httpPort) inputs.push(`http://${urlHost(relay.options.http?.address ?? DEFAULT_HOST)}:${relay.httpPort}`);
  process.stderr.write(`statsd-native relay: listening on ${inputs.join(', ')}; routing by key to ${o.nodes.map((n) => n.address).join(', ')}\n`);
}
