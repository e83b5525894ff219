// Command-line values: text to numbers, with messages that name the flag.
import { StatsdError } from '../core/errors';
import { isPort } from '../net/address';

/** A usage error: printed as one line, exit 1. */
export function usageError(message: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', message);
}

export function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usageError(`--${name} expects a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

export function portFlag(name: string, value: string | undefined): number | undefined {
  const n = integerFlag(name, value);
  if (n !== undefined && !isPort(n, 'listen')) throw usageError(`--${name} expects a port from 0 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

export function fractionFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw usageError(`--${name} expects a fraction from 0 to 1, not ${JSON.stringify(value)}`);
  return n;
}
