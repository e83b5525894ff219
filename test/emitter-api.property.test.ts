// No emitter call throws anything but a StatsdError, whatever its arguments
// (issue [2/7] item 4): hot-shots' argument order (`gauge('x', 1, 0.5)`), a
// string as tags, BigInts, symbols, cycles, null. fast-check over every public
// method, a disabled emitter and an enabled one (to a port nobody reads).
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';

import { Emitter, StatsdError } from '../src';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

/** Anything a caller might pass, weighted toward what looks almost right. */
const arg = fc.oneof(
  { arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true, withTypedArray: true }), weight: 4 },
  { arbitrary: fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, -0, 0.5, 1, 1e308, 5e-324, '', 'x', 'a b', 'a:b|c', '\n', Symbol('s'), 10n, cyclic), weight: 3 },
  { arbitrary: fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 3 }), weight: 2 },
  { arbitrary: fc.object(), weight: 1 },
  { arbitrary: fc.string(), weight: 2 },
  { arbitrary: fc.double(), weight: 2 },
);

const METHODS = ['increment', 'decrement', 'count', 'gauge', 'gaugeAdd', 'timing', 'histogram', 'distribution', 'set'] as const;
const HANDLES = [
  ['counter', 'add'],
  ['gaugeHandle', 'set'],
  ['gaugeHandle', 'add'],
  ['timer', 'record'],
  ['timer', 'time'],
] as const;

const enabled = new Emitter({ endpoint: '127.0.0.1:9', flushInterval: 0, env: {} });
enabled.on('error', () => {});
const disabled = new Emitter({ env: {} });
afterAll(async () => {
  await enabled.close();
  await disabled.close();
});

/** Runs `call`; any throw must be a StatsdError. */
function onlyStatsdErrors(call: () => unknown): void {
  try {
    const result = call();
    if (result instanceof Promise) result.catch(() => {});
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(StatsdError);
  }
}

describe('every call succeeds or throws a StatsdError', () => {
  test.each(METHODS)('%s(…) with arbitrary arguments', (method) => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 5 }), fc.boolean(), (args, on) => {
        const e = (on ? enabled : disabled) as unknown as Record<string, (...a: unknown[]) => unknown>;
        onlyStatsdErrors(() => e[method]!(...args));
        // and with a plausible name first, so the later arguments are reached
        onlyStatsdErrors(() => e[method]!('prop.key', ...args));
      }),
      { seed: 0x5eed, numRuns: 400 },
    );
  });

  test.each(HANDLES)('%s(…).%s(…) with arbitrary arguments', (make, method) => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 3 }), fc.array(arg, { maxLength: 3 }), (makeArgs, args) => {
        const e = enabled as unknown as Record<string, (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>>;
        onlyStatsdErrors(() => e[make]!(...makeArgs)[method]!(...args));
        onlyStatsdErrors(() => e[make]!('prop.handle')[method]!(...args));
      }),
      { seed: 0x5eed + 1, numRuns: 300 },
    );
  });

  test('the constructor with arbitrary options', async () => {
    const made: Emitter[] = [];
    fc.assert(
      fc.property(
        fc.oneof(arg, fc.record({ endpoint: arg, prefix: arg, flushInterval: arg, globalTags: arg, maxKeys: arg, env: arg }, { requiredKeys: [] })),
        (options) => {
          onlyStatsdErrors(() => {
            const e = new Emitter(options as never);
            e.on('error', () => {});
            made.push(e);
          });
        },
      ),
      { seed: 0x5eed + 2, numRuns: 400 },
    );
    await Promise.all(made.map((e) => e.close()));
  });

  test("hot-shots' order and a string as tags are StatsdErrors", () => {
    expect(() => enabled.gauge('x', 1, 0.5 as never)).toThrow(StatsdError);
    expect(() => enabled.increment('x', 1, 1, 'env:prod' as never)).toThrow(StatsdError);
    expect(() => enabled.timing('x', 1, 1, { env: 'prod' } as never)).toThrow(StatsdError);
  });
});
