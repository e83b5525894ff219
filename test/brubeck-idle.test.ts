// Idle keys in the brubeck convention, as the lukepalmer fork of brubeck that
// the seed runs (shared/reference/brubeck-fripp.md §2.3): a key is reported in
// the flush where it was updated and in exactly one more, then it is silent
// until its next update, and its state is kept. `reportIdle` reports every
// flush (upstream brubeck without expire); `expire` frees idle keys.
import { describe, expect, it } from 'vitest';

import { Aggregator, type AggregatorOptions } from '../src';

const T = 1_700_000_000;

/** The names and values of each of `flushes` flushes, internal metrics left out. */
function run(options: AggregatorOptions, steps: (string | null)[]): Record<string, number>[] {
  const agg = new Aggregator(options);
  return steps.map((packet, i) => {
    if (packet !== null) agg.ingest(packet);
    const out: Record<string, number> = {};
    for (const line of agg.flush({ timestamp: T + i * 10 }).carbon.toString().split('\n')) {
      if (line === '' || line.startsWith('brubeck.')) continue;
      const [name, value] = line.split(' ');
      out[name!] = Number(value);
    }
    return out;
  });
}

const UPDATE = 'g:42|g\nm:3|c\nk:10|C\nk:15|C\nt:5|ms';
const AGAIN = 'g:+1|g\nm:2|c\nk:18|C\nt:7|ms';

describe('brubeck convention: idle keys', () => {
  it('update, 3 idle flushes, update again: reported in the update flush and one more, then silent; state kept', () => {
    const flushes = run({}, [UPDATE, null, null, null, AGAIN]);
    expect(flushes[0]).toMatchObject({ g: 42, m: 3, k: 5, 't.count': 1, 't.min': 5 });
    // one more flush: the gauge again, meters and counters 0, the timer's counts 0
    expect(flushes[1]).toEqual({ g: 42, m: 0, k: 0, 't.count': 0, 't.count_ps': 0 });
    expect(flushes[2]).toEqual({});
    expect(flushes[3]).toEqual({});
    // state kept: the gauge goes on from 42, the C counter from its last total 15
    expect(flushes[4]).toMatchObject({ g: 43, m: 2, k: 3, 't.count': 1, 't.min': 7 });
  });

  it('internal metrics are reported every flush', () => {
    const agg = new Aggregator();
    agg.ingest('a:1|c');
    for (let i = 0; i < 4; i++) {
      const names = agg.flush({ timestamp: T + i }).carbon.toString();
      expect(names).toMatch(/^brubeck\.metrics /m);
      expect(names).toMatch(/^brubeck\.unique_keys 1 /m);
    }
  });

  it('reportIdle: true reports every key every flush (upstream brubeck without expire)', () => {
    const flushes = run({ reportIdle: true }, [UPDATE, null, null, null, AGAIN]);
    for (const f of flushes.slice(1, 4)) expect(f).toEqual({ g: 42, m: 0, k: 0, 't.count': 0, 't.count_ps': 0 });
    expect(flushes[4]).toMatchObject({ g: 43, m: 2, k: 3 });
  });

  it('expire frees idle keys beside it: a freed gauge starts anew', () => {
    const agg = new Aggregator({ expire: 15 });
    agg.ingest('g:42|g');
    agg.flush({ timestamp: T });
    agg.flush({ timestamp: T + 10 });
    agg.flush({ timestamp: T + 20 }); // 20 s idle: freed
    expect(agg.stats.keys).toBe(0);
    agg.ingest('g:+1|g');
    expect(agg.flush({ timestamp: T + 30 }).carbon.toString()).toMatch(/^g 1 /m);
  });

  it('the etsy convention is not affected (its own delete* options)', () => {
    const flushes = run({ convention: 'etsy' }, ['g:42|g', null, null]);
    expect(flushes[2]!['stats.gauges.g']).toBe(42);
  });
});
