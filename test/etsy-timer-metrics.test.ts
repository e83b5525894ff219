// etsy's calculatedTimerMetrics: the timer fields our etsy convention writes
// must be the ones etsy statsd 0.9's own process_metrics keeps (its
// filter_timer_metrics, run here on the same samples), name for name.
import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { Aggregator } from '../src';

const requireFrom = createRequire(__filename);
type Metrics = { timer_data: Record<string, Record<string, number | Record<string, number>>> };
const { process_metrics } = requireFrom('statsd/lib/process_metrics') as {
  process_metrics: (metrics: object, calculated: unknown, flushInterval: number, ts: number, cb: (m: Metrics) => void) => void;
};

interface Case {
  name: string;
  percentThreshold: number[];
  calculatedTimerMetrics?: string[];
  samples: number[];
}

const HISTOGRAM = [{ metric: 't', bins: [5, 'inf'] as (number | 'inf')[] }];

/** The fields etsy writes under stats.timers.t. (histogram bins as `histogram.bin_x`). */
function etsyFields(c: Case): string[] {
  const metrics = {
    counters: {},
    timers: { t: [...c.samples] },
    timer_counters: { t: c.samples.length },
    pctThreshold: c.percentThreshold,
    histogram: HISTOGRAM,
  };
  let data: Metrics['timer_data'][string] = {};
  process_metrics(metrics, c.calculatedTimerMetrics, 10000, 0, (m) => (data = m.timer_data.t ?? {}));
  return Object.entries(data)
    .flatMap(([k, v]) => (typeof v === 'number' ? [k] : Object.keys(v).map((bin) => `${k}.${bin}`)))
    .sort();
}

/** The fields ours writes under stats.timers.t. in the flush after `samples` (none: an idle timer). */
function ourFields(c: Case): string[] {
  const agg = new Aggregator({
    convention: 'etsy',
    flushInterval: 10000,
    percentThreshold: c.percentThreshold,
    histogram: HISTOGRAM,
    calculatedTimerMetrics: c.calculatedTimerMetrics,
  });
  if (c.samples.length === 0) {
    agg.ingest('t:1|ms'); // the key exists, then is idle for a flush
    agg.flush({ timestamp: 1 });
  } else {
    agg.ingest(c.samples.map((v) => `t:${v}|ms`).join('\n'));
  }
  const prefix = 'stats.timers.t.';
  return agg
    .flush({ timestamp: 2 })
    .carbon.toString()
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length, l.indexOf(' ')))
    .sort();
}

const TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

const CASES: Case[] = [
  { name: 'no list: every field', percentThreshold: [90], samples: TEN },
  { name: 'an empty list: every field', percentThreshold: [90], calculatedTimerMetrics: [], samples: TEN },
  {
    name: "etsy's graphite_tests_filters list",
    percentThreshold: [90],
    calculatedTimerMetrics: ['count_ps', 'count', 'count_percent', 'mean_percent', 'histogram'],
    samples: TEN,
  },
  {
    name: '_percent matches every threshold, top ones too (lower_top10)',
    percentThreshold: [90, -10, 50],
    calculatedTimerMetrics: ['mean_percent', 'upper_percent', 'lower_percent', 'median'],
    samples: TEN,
  },
  {
    name: "a fractional threshold (99.9 → mean_99_9) matches mean_99_percent, not mean_percent, as etsy's pattern reads it",
    percentThreshold: [99.9, 90],
    calculatedTimerMetrics: ['mean_percent', 'sum_99_percent'],
    samples: TEN,
  },
  { name: 'a single sample', percentThreshold: [90], calculatedTimerMetrics: ['upper_percent', 'std'], samples: [42] },
  { name: 'an idle timer without count in the list writes nothing', percentThreshold: [90], calculatedTimerMetrics: ['sum'], samples: [] },
  { name: 'an idle timer with count in the list', percentThreshold: [90], calculatedTimerMetrics: ['count'], samples: [] },
];

describe('calculatedTimerMetrics against etsy process_metrics', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(ourFields(c)).toEqual(etsyFields(c));
    });
  }

  it('refuses what is not a list of names', () => {
    expect(() => new Aggregator({ convention: 'etsy', calculatedTimerMetrics: 'count' as unknown as string[] })).toThrow(/calculatedTimerMetrics/);
    expect(() => new Aggregator({ convention: 'etsy', calculatedTimerMetrics: [1] as unknown as string[] })).toThrow(/calculatedTimerMetrics/);
  });
});
