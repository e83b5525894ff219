// The hot-shots drop-in never throws from a metric, event or check call,
// whatever its arguments (README "Migrating from hot-shots"): what it cannot
// write goes to the callback or errorHandler as a StatsdError, and is counted.
// fast-check over the calls, in mock mode and over UDP.
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';

import { StatsD, StatsdError } from '../src';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const throwing = { toString: () => { throw new Error('no'); } };

const arg = fc.oneof(
  { arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true, withTypedArray: true }), weight: 4 },
  { arbitrary: fc.constantFrom(undefined, null, NaN, Infinity, -1, 0.5, 1, '', 'x', 'a b', 'a:b|c', '\n', Symbol('s'), 10n, cyclic, throwing, Object.create(null), () => {}), weight: 3 },
  { arbitrary: fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(Object.create(null)), fc.constant(throwing)), { maxLength: 3 }), weight: 2 },
  { arbitrary: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant(Object.create(null)), fc.constant(throwing))), weight: 2 },
);

const CALLS = ['increment', 'decrement', 'gauge', 'gaugeDelta', 'histogram', 'distribution', 'timing', 'set', 'unique', 'event', 'check'] as const;

const errors: unknown[] = [];
const mock = new StatsD({ mock: true, errorHandler: (e) => errors.push(e) });
const udp = new StatsD({ host: '127.0.0.1', port: 9, errorHandler: (e) => errors.push(e) });
afterAll(async () => {
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  await new Promise<void>((resolve) => mock.close(() => resolve()));
});

describe('no StatsD call throws', () => {
  test.each(CALLS)('%s(…) with arbitrary arguments', (method) => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 5 }), fc.boolean(), (args, onUdp) => {
        const client = (onUdp ? udp : mock) as unknown as Record<string, (...a: unknown[]) => unknown>;
        expect(() => client[method]!(...args)).not.toThrow();
        expect(() => client[method]!('prop.key', ...args)).not.toThrow();
      }),
      { seed: 0x5eed + 7, numRuns: 300 },
    );
    // what was refused reached the handler as a StatsdError (network errors aside)
    for (const e of errors) if (!(e instanceof StatsdError)) expect((e as NodeJS.ErrnoException).code, String(e)).toBeDefined();
  });

  test('a tag value or a name whose String() throws is refused and counted, not thrown', () => {
    const seen: unknown[] = [];
    const c = new StatsD({ mock: true, errorHandler: (e) => seen.push(e) });
    c.increment('x', 1, { a: Object.create(null) });
    c.increment(throwing as never);
    c.event(Object.create(null));
    c.check('x', 0, { hostname: Object.create(null) });
    expect(seen.length).toBe(4);
    for (const e of seen) expect(e).toBeInstanceOf(StatsdError);
  });
});
