// What etsy statsd 0.9 takes that the strict grammar refuses, taken in the
// etsy convention as etsy takes it (found by etsy's own test suite,
// test/integration/etsy-suite.test.ts): spaces in names become '_', rates
// above 1 count each line as 1/rate, and a key whose only line was refused
// writes nothing.
import { describe, expect, it } from 'vitest';

import { Aggregator } from '../src';

const T = 1_700_000_000;

function values(agg: Aggregator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of agg.flush({ timestamp: T }).carbon.toString().split('\n')) {
    if (line === '') continue;
    const [name, value] = line.split(' ');
    out[name!] = Number(value);
  }
  return out;
}

describe('etsy convention takes what etsy statsd takes', () => {
  it('names and tags with spaces are sanitized to "_" (keyNameSanitize), not refused', () => {
    const agg = new Aggregator({ convention: 'etsy', flushInterval: 1000 });
    agg.ingest('b ar:1|c\nsp  aces:2|g\nt:1|c|#k:a b');
    expect(agg.stats.errors).toBe(0);
    expect(values(agg)).toMatchObject({ 'stats_counts.b_ar': 1, 'stats.gauges.sp_aces': 2, 'stats_counts.t;k=a_b': 1 });
  });

  it('with keyNameSanitize off a space is refused (carbon would split the line)', () => {
    const agg = new Aggregator({ convention: 'etsy', keyNameSanitize: false });
    agg.ingest('b ar:1|c');
    expect(agg.stats.byReason.bad_name).toBe(1);
  });

  it('a rate above 1 counts each line as 1/rate', () => {
    const agg = new Aggregator({ convention: 'etsy', flushInterval: 1000 });
    agg.ingest('p2:1|c|@2\nt:5|ms|@2');
    expect(values(agg)).toMatchObject({ 'stats_counts.p2': 0.5, 'stats.timers.t.count': 0.5 });
  });

  it('the brubeck convention still refuses both', () => {
    const agg = new Aggregator();
    agg.ingest('b ar:1|c\np2:1|c|@2');
    expect(agg.stats.byReason).toMatchObject({ bad_name: 1, bad_rate: 1 });
  });

  it('a timer key whose only line was a negative timing writes nothing', () => {
    const agg = new Aggregator({ convention: 'etsy' });
    agg.ingest('p1:-1|ms');
    expect(agg.stats.byReason.bad_value).toBe(1);
    expect(Object.keys(values(agg)).filter((n) => n.includes('p1'))).toEqual([]);
  });
});
