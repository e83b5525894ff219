// A sink for tests that keeps every flush's carbon text.
import type { Sink } from '../../src';

/** A sink that keeps every flush's text; `counted(name)` sums a name's values over all flushes. */
export function keeper() {
  const texts: string[] = [];
  const sink: Sink = {
    name: 'keeper',
    write: (f) => void texts.push(f.carbon.toString()),
    drain: async () => {},
    close: async () => {},
    stats: () => ({ type: 'keeper', connected: true, flushesSent: 0, metricsSent: 0, flushesReplayed: 0, replaysDropped: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, backlog: 0 }),
  };
  const counted = (name: string) => texts.join('').split('\n').filter((l) => l.startsWith(`${name} `)).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  return { sink, texts, counted };
}
