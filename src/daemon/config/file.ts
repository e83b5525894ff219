// Reading a daemon config file: brubeck's config.json or etsy statsd's
// config.js, told apart by their keys, into ServerOptions (DESIGN §7).
import { readFileSync } from 'node:fs';
import * as vm from 'node:vm';

import { BRUBECK_KEYS, fromBrubeck } from './brubeck';
import { ETSY_KEYS, fromEtsy } from './etsy';
import { type Obj, configError, isObject } from './file-values';
import { checkAggregatorOptions } from '../../aggregator/aggregator';
import type { ServerOptions } from './server-options';

function ignoredKeys(file: string, c: Obj, known: string[]): string[] {
  const ignored = Object.keys(c).filter((k) => !known.includes(k));
  return ignored.length ? [`${file}: ignoring ${ignored.map((k) => JSON.stringify(k)).join(', ')} (not used by statsd-native)`] : [];
}

/** The resource limits a config's `limits` object may set (our extension, in both formats). */
const AGGREGATOR_LIMITS = ['maxLineBytes', 'maxKeys', 'maxKeyBytes', 'maxSamplesPerKey', 'maxSetMembers', 'maxIntervalSamples', 'maxIntervalMembers'] as const;

/**
 * Applies `"limits": { ... }` to `config`: the aggregator's limits, the TCP
 * input's `maxConnections`, and the sinks' `maxBacklog` (flushes, carbon)
 * and `maxBacklogBytes` (carbon and stdout); the last three apply to inputs
 * and sinks given by flags too. Whole numbers >= 0, except those three (>= 1:
 * Node reads maxConnections 0 as "no limit"; a backlog keeps the newest flush).
 */
function applyLimits(file: string, c: Obj, options: ServerOptions): void {
  if (c.limits === undefined) return;
  if (!isObject(c.limits)) throw configError(file, 'limits must be an object');
  const limits = c.limits;
  const atLeastOne = ['maxConnections', 'maxBacklog', 'maxBacklogBytes'];
  const known = [...AGGREGATOR_LIMITS, ...atLeastOne];
  for (const key of Object.keys(limits)) {
    if (!known.includes(key)) throw configError(file, `unknown limit ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    const v = limits[key];
    const least = atLeastOne.includes(key) ? 1 : 0;
    if (!Number.isInteger(v) || (v as number) < least) {
      throw configError(file, `limits.${key} must be a whole number >= ${least}, not ${JSON.stringify(v)}`);
    }
  }
  const aggregator = (options.aggregator ??= {});
  for (const key of AGGREGATOR_LIMITS) if (limits[key] !== undefined) aggregator[key] = limits[key] as number;
  const rest = (options.limits ??= {});
  for (const key of ['maxConnections', 'maxBacklog', 'maxBacklogBytes'] as const) if (limits[key] !== undefined) rest[key] = limits[key] as number;
}

/** ms a JS config may take to evaluate and be read (one without loops takes well under 1). */
const CONFIG_TIME_LIMIT_MS = 1000;

// Values JSON cannot hold, as text the checks can name in their messages
// (`Expected a number for flushInterval but received "Infinity"`).
const COPY_REPLACER = `function (key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value + 'n';
  if (typeof value === 'function' || typeof value === 'symbol') return '[' + typeof value + ']';
  return value;
}`;

/**
 * Evaluates etsy statsd's config.js (a JavaScript object literal; statsd
 * evaluates it too) and copies its values out as JSON inside the same time
 * limit, so a getter or Proxy trap that loops is stopped there, and the
 * daemon reads plain data, not objects whose reading runs the file's code.
 */
function evaluateConfig(file: string, text: string): unknown {
  let json: unknown;
  try {
    json = vm.runInNewContext(`JSON.stringify((${text}\n), ${COPY_REPLACER})`, {}, {
      filename: file,
      timeout: CONFIG_TIME_LIMIT_MS,
      microtaskMode: 'afterEvaluate', // promise callbacks run inside the limit too
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw configError(file, `reading the config took over ${CONFIG_TIME_LIMIT_MS} ms: a loop in the file, or a getter or Proxy trap that loops`);
    }
    throw configError(file, `not JSON nor a JavaScript object: ${(error as Error).message}`);
  }
  return typeof json === 'string' ? JSON.parse(json) : undefined;
}

/** A config file read: its options, and what it had that is not used (printed at start). */
export interface ConfigFile {
  options: ServerOptions;
  warnings: string[];
}

/**
 * Reads a config file: brubeck JSON (has "samplers" or "backends" objects) or
 * etsy statsd's JavaScript object literal, into ServerOptions; its aggregator
 * options are checked here. Errors name the file.
 */
export function loadConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw configError(file, `cannot read: ${(error as NodeJS.ErrnoException).code}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = evaluateConfig(file, text);
  }
  if (!isObject(value)) throw configError(file, 'expected an object');
  const brubeck = Array.isArray(value.samplers) || (Array.isArray(value.backends) && value.backends.some(isObject));
  const warnings: string[] = [];
  const options = brubeck ? fromBrubeck(file, value) : fromEtsy(file, value, warnings);
  warnings.push(...ignoredKeys(file, value, brubeck ? BRUBECK_KEYS : ETSY_KEYS));
  applyLimits(file, value, options);
  // The aggregator's options are checked here, where an error can name the
  // file; the rest when the server resolves them, after flags may have
  // replaced them (a file value a flag overrides is not an error).
  try {
    checkAggregatorOptions(options.aggregator ?? {});
  } catch (error) {
    throw configError(file, (error as Error).message); // e.g. a bad percentThreshold
  }
  return { options, warnings };
}
