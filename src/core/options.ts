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

/** Edit distance (insert, delete, substitute, case-blind), for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * Refuses an option key that is not in `known` (a misspelt key would
 * otherwise be ignored and its default used without a word), naming the
 * nearest known key, or what `hints` says about that key.
 */
export function knownKeys(what: string, options: object, known: readonly string[], hints: Record<string, string> = {}): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let nearest = known[0]!;
    for (const k of known) if (distance(key, k) < distance(key, nearest)) nearest = k;
    const hint = hints[key] ?? (distance(key, nearest) <= Math.max(2, key.length / 3) ? `did you mean ${nearest}?` : `known: ${known.join(', ')}`);
    throw new StatsdError('ERR_STATSD_INVALID_OPTION', `${what} has no option ${JSON.stringify(key)}: ${hint}`);
  }
}
