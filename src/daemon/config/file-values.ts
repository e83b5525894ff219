// Reading typed values out of a config file's object, with messages that
// name the file and the key (shared by the brubeck and etsy readers).
import { StatsdError } from '../../core/errors';
import { isPort } from '../../net/address';

export type Obj = Record<string, unknown>;

export function configError(file: string, message: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', `${file}: ${message}`);
}

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function num(file: string, o: Obj, key: string, fallback: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw configError(file, `Expected a number for ${key} but received ${JSON.stringify(v)}`);
  return v;
}

/** A port to listen on (0: any free port) or, with 'connect', to send to. */
export function port(file: string, o: Obj, key: string, fallback: number, use: 'listen' | 'connect' = 'listen'): number {
  const v = num(file, o, key, fallback);
  if (!isPort(v, use)) throw configError(file, `${key} must be a port from ${use === 'listen' ? 0 : 1} to 65535, not ${JSON.stringify(v)}`);
  return v;
}

/** A flush interval in ms (>= 1). */
export function interval(file: string, what: string, ms: number): number {
  if (!(ms >= 1)) throw configError(file, `${what} must be at least 1 ms, not ${JSON.stringify(ms)} ms`);
  return ms;
}

export function str(file: string, o: Obj, key: string, fallback: string): string {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw configError(file, `Expected a string for ${key} but received ${JSON.stringify(v)}`);
  return v;
}
