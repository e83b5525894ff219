// The named layouts across the N-API boundary: TypeScript reads shared arrays
// by slot name, checked at load against the names the addon exports.
import { describe, expect, it } from 'vitest';

import { StatsdError } from '../src';
import { RECEIVER_STATS, RECEIVER_STATS_LENGTH, checkLayout, fieldIndex, flagValues, native } from '../src/core/native';

function thrown(fn: () => unknown): StatsdError {
  try {
    fn();
  } catch (error) {
    return error as StatsdError;
  }
  throw new Error('did not throw');
}

describe('native layouts', () => {
  it('receiver stats are read by name', () => {
    expect(RECEIVER_STATS_LENGTH).toBe(8);
    expect(Object.isFrozen(RECEIVER_STATS)).toBe(true);
    expect(Object.keys(RECEIVER_STATS)).toEqual(native.layout.receiverStats);
    expect(RECEIVER_STATS.heldWhileBusy).toBe(native.layout.receiverStats.indexOf('heldWhileBusy'));
  });

  it('a slot named differently fails with ERR_STATSD_NATIVE naming the layout and slot', () => {
    const error = thrown(() => checkLayout('receiverStats', ['port', 'bytes'], ['port', 'receiveBuffer']));
    expect(error).toBeInstanceOf(StatsdError);
    expect(error.code).toBe('ERR_STATSD_NATIVE');
    expect(error.message).toMatch(/receiverStats: slot 1 is "bytes" in the addon, "receiveBuffer" in TypeScript/);
  });

  it('a missing slot, an extra slot or a missing layout fails too', () => {
    expect(thrown(() => checkLayout('x', ['a'], ['a', 'b'])).message).toMatch(/slot 1 is undefined in the addon/);
    expect(thrown(() => checkLayout('x', ['a', 'b'], ['a'])).message).toMatch(/the addon has 2 slots, TypeScript 1/);
    expect(thrown(() => checkLayout('x', undefined, ['a'])).message).toMatch(/x: the addon has no such layout/);
    expect(thrown(() => fieldIndex('aggregatorResults', ['ingestLines', 'ingestErrors'])).code).toBe('ERR_STATSD_NATIVE');
  });

  it('the two flag words keep their own names', () => {
    const parse = flagValues('parseFlags', ['typeMask', 'relative', 'timestamp']);
    const line = flagValues('lineFlags', ['typeMask', 'relative', 'text', 'tags', 'timestamp']);
    expect(parse.relative).not.toBe(line.relative);
    expect(thrown(() => flagValues('lineFlags', ['relative'])).code).toBe('ERR_STATSD_NATIVE');
  });
});
