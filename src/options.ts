// Option validation in one message format, done once at construction.
import { StatsdError } from './errors';

function describe(actual: unknown): string {
  if (typeof actual === 'string') return `string ${JSON.stringify(actual)}`;
  if (actual === null) return 'null';
  if (typeof actual === 'object') {
    try {
      return `${Array.isArray(actual) ? 'array' : 'object'} ${JSON.stringify(actual)}`;
    } catch {
      return typeof actual; // cyclic
    }
  }
  return `${typeof actual} ${String(actual)}`;
}

export function invalidOption(name: string, expected: string, actual: unknown): StatsdError {
  return new StatsdError(
    'ERR_STATSD_INVALID_OPTION',
    `Expected ${expected} for ${name} but received ${describe(actual)}`,
  );
}

/** An integer option in [min, max], or `fallback` when undefined. */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `an integer between ${min} and ${max}`, value);
  }
  return value;
}

/** One of `choices`, or `fallback` when undefined. */
export function choiceOption<T extends string>(
  name: string,
  value: unknown,
  fallback: T,
  choices: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidOption(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption(name, 'a boolean', value);
  return value;
}
