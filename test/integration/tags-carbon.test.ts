// Tags are one series whatever their order (issue [1/7] item 8, F15), checked
// where it mattered: real carbon-cache stores a line per name and second, so
// two orders of one tag set were two lines of one series, and the second
// overwrote the first (5 and 7 sent, 7 stored). Now both are one key: 12.
import { afterEach, describe, expect, it } from 'vitest';

import { Aggregator, GraphiteSink } from '../../src';
import { Carbon, carbonMissing } from '../helpers/carbon';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(carbonMissing() !== undefined)('tag order and real carbon-cache', () => {
  it.each(['brubeck', 'etsy'] as const)('two orders and a repeat of one tag set sum into one whisper series (%s)', { timeout: 60_000 }, async (convention) => {
    const carbon = await Carbon.start();
    cleanups.push(() => carbon.stop({ kill: true }));
    const sink = new GraphiteSink({ host: '127.0.0.1', port: carbon.ports.line });
    cleanups.push(() => sink.close());
    const agg = new Aggregator({ convention, flushInterval: 1000, legacyNamespace: true });
    agg.ingest('tagged.hits:5|c|#az:1,env:prod\ntagged.hits:7|c|#env:prod,az:1\ntagged.hits:1|c|#env:dev,az:1,env:prod');
    const t = Math.floor(Date.now() / 1000);
    sink.write(agg.flush({ timestamp: t }));
    const name = convention === 'brubeck' ? 'tagged.hits;az=1;env=prod' : 'stats_counts.tagged.hits;az=1;env=prod';
    expect(await carbon.valueAt(name, t)).toBe(13);
  });
});
