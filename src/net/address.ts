// Ports and HOST:PORT text: the one place they are parsed and checked, for
// emitter endpoints, config files, command-line flags and server options.
/// <reference types="node" preserve="true" />
import * as net from 'node:net';

import { StatsdError } from '../core/errors';
import { invalidOption } from '../core/options';

/**
 * What a port is for: `listen` takes 0 (any free port), `connect` does not
 * (there is no port 0 to send to).
 */
export type PortUse = 'listen' | 'connect';

const lowest = (use: PortUse) => (use === 'listen' ? 0 : 1);

/** The one port range check: a whole number from 0 (listen) or 1 (connect) to 65535. */
export function isPort(value: unknown, use: PortUse): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= lowest(use) && value <= 65535;
}

/** A port number option (a JS number), or `fallback` when undefined. */
export function portOption(name: string, value: unknown, fallback: number, use: PortUse): number {
  if (value === undefined) return fallback;
  if (!isPort(value, use)) throw invalidOption(name, `a port from ${lowest(use)} to 65535`, value);
  return value;
}

/** A host name or IP address option, or `fallback` when undefined. */
export function hostOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '' || /\s/.test(value)) throw invalidOption(name, 'a host name or IP address', value);
  return value;
}

/** Why a text is not a port, or undefined when it is one. */
function portProblem(text: string, use: PortUse): string | undefined {
  if (/^\d{1,5}$/.test(text) && isPort(Number(text), use)) return undefined;
  return `port ${JSON.stringify(text)} is not a number from ${lowest(use)} to 65535`;
}

/** A port given as text (a flag). */
export function parsePort(text: string, name: string, use: PortUse): number {
  const problem = portProblem(text, use);
  if (problem) throw new StatsdError('ERR_STATSD_INVALID_OPTION', `${name}: ${problem}`);
  return Number(text);
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port` or `[ipv6]:port`. With `defaultHost`, the host may be
 * left out (`:8080` or `8080`, brubeck's "http" form) and an IPv6 address
 * may go without brackets (`::1:8080`: the port is after the last colon). Returns the reason as
 * a string when the text is not one, so each caller can name its source.
 */
export function hostPortProblem(text: string, use: PortUse, defaultHost?: string): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return 'expected [ipv6]:port';
    host = text.slice(1, close);
    if (!net.isIPv6(host)) return `${host} is not an IPv6 address`;
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 && defaultHost === undefined) return 'missing colon delimiter (expected host:port)';
    host = colon < 0 ? '' : text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') {
      if (defaultHost === undefined) return 'empty host';
      host = defaultHost;
    }
    // The listen forms (brubeck's "http", --http) took `::1:8080` as ::1, port 8080: kept.
    if (host.includes(':') && !(defaultHost !== undefined && net.isIPv6(host))) return 'an IPv6 address needs brackets: [::1]:8125';
    if (/\s/.test(host)) return 'space in host';
  }
  const problem = portProblem(portText, use);
  return problem ?? { host, port: Number(portText) };
}

/** `hostPortProblem` that throws a StatsdError naming `name` and the text. */
export function parseHostPort(text: string, name: string, use: PortUse, defaultHost?: string): HostPort {
  const parsed = hostPortProblem(text, use, defaultHost);
  if (typeof parsed === 'string') throw new StatsdError('ERR_STATSD_INVALID_OPTION', `${name}=${JSON.stringify(text)} is not HOST:PORT: ${parsed}`);
  return parsed;
}
