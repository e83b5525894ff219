// Where an emitter sends: parsed from the option or the environment (DESIGN §6).
/// <reference types="node" preserve="true" />
import * as net from 'node:net';

import { StatsdError } from '../core/errors';

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

function parsePort(text: string, source: string, value: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw bad(source, value, `port ${JSON.stringify(text)} is not a number from 1 to 65535`);
  }
  return Number(text);
}

// host:port, [v6]:port
function parseHostPort(text: string, source: string, value: string): { host: string; port: number } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad(source, value, 'expected [ipv6]:port');
    const host = text.slice(1, close);
    if (net.isIPv6(host) === false) throw bad(source, value, `${host} is not an IPv6 address`);
    return { host, port: parsePort(text.slice(close + 2), source, value) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw bad(source, value, 'missing colon delimiter (expected host:port)');
  const host = text.slice(0, colon);
  if (host === '') throw bad(source, value, 'empty host');
  if (host.includes(':')) throw bad(source, value, 'an IPv6 address needs brackets: [::1]:8125');
  if (/\s/.test(host)) throw bad(source, value, 'space in host');
  return { host, port: parsePort(text.slice(colon + 1), source, value) };
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
