// Where an emitter sends: parsed from the option or the environment (DESIGN §6).
/// <reference types="node" preserve="true" />
import { StatsdError } from '../core/errors';
import { hostPortProblem } from './address';

export type TransportKind = 'udp' | 'tcp' | 'unix' | 'unixstream';

export interface Endpoint {
  transport: TransportKind;
  /** Host name or IP literal (udp, tcp). */
  host: string;
  port: number;
  /** Socket path (unix, unixstream). */
  path: string;
  /** What named it: 'option', 'FLUX_FRIPP_STATSD' or 'STATSD_HOST/STATSD_PORT'. */
  source: string;
}

function bad(source: string, value: string, why: string): StatsdError {
  return new StatsdError(
    'ERR_STATSD_INVALID_OPTION',
    `${source}=${JSON.stringify(value)} is not a statsd endpoint: ${why}`,
  );
}

function parseHostPort(text: string, source: string, value: string): { host: string; port: number } {
  const parsed = hostPortProblem(text, 'connect');
  if (typeof parsed === 'string') throw bad(source, value, parsed);
  return parsed;
}

/**
 * Parses `udp://host:port`, `tcp://host:port`, `unix:///path` (datagram),
 * `unixstream:///path`, or a bare `host:port` / `[v6]:port` (UDP).
 */
export function parseEndpoint(value: string, source = 'endpoint'): Endpoint {
  if (typeof value !== 'string') {
    throw new StatsdError('ERR_STATSD_INVALID_OPTION', `Expected a string (host:port or a URL) for ${source} but received ${typeof value}`);
  }
  const scheme = /^([a-z]+):\/\//.exec(value);
  const transport = (scheme?.[1] ?? 'udp') as TransportKind;
  const rest = scheme ? value.slice(scheme[0].length) : value;
  switch (transport) {
    case 'udp':
    case 'tcp':
      return { transport, ...parseHostPort(rest, source, value), path: '', source };
    case 'unix':
    case 'unixstream':
      if (!rest.startsWith('/')) throw bad(source, value, 'expected an absolute socket path');
      return { transport, host: '', port: 0, path: rest, source };
    default:
      throw bad(source, value, `unknown scheme ${scheme?.[1]}:// (udp, tcp, unix, unixstream)`);
  }
}

/**
 * The endpoint an emitter uses: the option, else FLUX_FRIPP_STATSD, else
 * STATSD_HOST/STATSD_PORT; undefined when none is set (the emitter is then a
 * disabled no-op). A malformed value throws a StatsdError naming its source.
 */
export function resolveEndpoint(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Endpoint | undefined {
  if (option !== undefined) return parseEndpoint(option, 'endpoint');
  const text = (name: string) => (typeof env[name] === 'string' ? env[name] : undefined);
  const fripp = text('FLUX_FRIPP_STATSD');
  if (fripp !== undefined && fripp !== '') return parseEndpoint(fripp, 'FLUX_FRIPP_STATSD');
  const host = text('STATSD_HOST');
  const port = text('STATSD_PORT');
  if ((host === undefined || host === '') && (port === undefined || port === '')) return undefined;
  const source = 'STATSD_HOST/STATSD_PORT';
  const h = host || 'localhost';
  const hostPort = h.includes(':') ? `[${h}]:${port || '8125'}` : `${h}:${port || '8125'}`;
  return parseEndpoint(hostPort, source);
}
