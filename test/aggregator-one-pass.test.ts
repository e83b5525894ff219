// The aggregator's one-pass path for the common line (`name:value|type`,
// native/line_stager.cc StageSimple, found from structural bitmaps) against
// the full parser: the same lines, each given a trailing '\r' (which the
// parser drops, and which sends every line down the full path), must leave
// the same keys, values (to the bit), errors by reason and flush output.
import { describe, expect, it } from 'vitest';

import { Aggregator, type AggregatorOptions } from '../src';
import { Random, mutate, randomName, randomNumberText, randomValidLine } from './helpers/random';

const T = 1_700_000_000;

/** Lines the one-pass path takes or must refuse to take, edge by edge. */
const EDGES = [
  'a:1|c', 'a.b:0|c', 'a:-0|g', 'a:+0|g', 'a:+5|g', 'a:-5|g', 'a:5.|ms', 'a:.5|ms', 'a:.|ms', 'a:|c', 'a:-|c', 'a:+|g',
  'a:123456789012345|c', 'a:1234567890123456|c', 'a:12345678901234.5|ms', 'a:0.000000000000001|ms', 'a:0.0000000000000001|ms',
  'a:007|c', 'a:1e3|c', 'a:1E3|c', 'a:0x10|c', 'a:1.2.3|c', 'a:1:2|ms', 'a:1|c|@0.5', 'a:1|c|#t:v', 'a:1|c|', 'a:1|',
  'a:1|x', 'a:1|mss', 'a:1|m', 'a:1|s', 'a:x|s', 'a:|s', 'a:x:y|s', 'a:1|d', 'a:1|h', 'a:1|C', 'a:1|cc', 'a:1|ms|',
  'a.:1|c', '.a:1|c', ':1|c', 'a|b:1|c', 'a b:1|c', 'a\tb:1|c', 'é:1|c', 'a:1|c\r', 'a:1\r|c', '\r', '', 'a#b@c:1|c',
  'a:1|C', 'a:2|C', 'a:1|g', 'a:1|ms', 'x'.repeat(300) + ':1|c',
];

function lines(seed: number, count: number): string[] {
  const r = new Random(seed);
  const out: string[] = [...EDGES];
  for (let i = 0; i < count; i++) {
    const roll = r.next();
    if (roll < 0.5) {
      // the common shape, over few names so keys repeat and types clash
      const name = r.bool(0.8) ? `k${r.int(0, 40)}` : randomName(r);
      out.push(`${name}:${r.bool(0.1) ? r.pick(['+', '-']) : ''}${randomNumberText(r)}|${r.pick(['c', 'C', 'g', 'ms', 'h', 'd', 's'])}`);
    } else if (roll < 0.8) {
      out.push(randomValidLine(r, r.bool(0.8) ? 'full' : 'brubeck'));
    } else {
      out.push(mutate(r, Buffer.from(randomValidLine(r))).toString('latin1'));
    }
  }
  return out.map((l) => l.replace(/\n/g, ''));
}

function outcome(options: AggregatorOptions, text: string) {
  const agg = new Aggregator({ maxSamplesPerKey: 100_000, ...options });
  const result = agg.ingest(Buffer.from(text, 'latin1'));
  const snapshot = agg.snapshot();
  const stats = agg.stats;
  const carbon = agg.flush({ timestamp: T }).carbon.toString('latin1').replace(/^.*(processing_time|calculationtime) .*\n/gm, '');
  return { result, snapshot, stats, carbon };
}

describe.each([
  ['brubeck convention, full dialect', {}],
  ['brubeck convention, brubeck dialect', { dialect: 'brubeck' }],
  ['etsy convention', { convention: 'etsy' }],
  ['etsy convention, no key sanitizing', { convention: 'etsy', keyNameSanitize: false }],
] as [string, AggregatorOptions][])('the one-pass line path equals the full parser (%s)', (_, options) => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: same keys, values, errors and flush`, () => {
      const all = lines(seed, 20_000);
      const onePass = outcome(options, all.join('\n'));
      const full = outcome(options, all.map((l) => (l.endsWith('\r') ? l : `${l}\r`)).join('\n'));
      expect(onePass.result).toEqual(full.result);
      expect(onePass.stats).toEqual(full.stats);
      expect(onePass.snapshot).toEqual(full.snapshot);
      expect(onePass.carbon).toEqual(full.carbon);
      expect(onePass.result.lines).toBeGreaterThan(5_000); // many lines were good: the comparison had substance
    });
  }
});
