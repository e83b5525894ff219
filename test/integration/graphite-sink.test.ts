// GraphiteSink against a scripted carbon on real sockets: what a broken
// connection does to the flush being written and to flushes already written,
// and how each outcome is counted (src/daemon/sinks/graphite.ts).
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import type { FlushResult } from '../../src/aggregator/aggregator';
import { GraphiteSink, type GraphiteSinkOptions } from '../../src';
import { ScriptedCarbon } from '../helpers/scripted-carbon';
import { sleep, waitFor } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: Partial<GraphiteSinkOptions> = {}): Promise<{ carbon: ScriptedCarbon; sink: GraphiteSink }> {
  const carbon = await ScriptedCarbon.start();
  cleanups.push(() => carbon.close());
  const sink = new GraphiteSink({ host: '127.0.0.1', port: carbon.port, format: 'plaintext', ...options });
  sink.onError = () => {};
  cleanups.push(() => sink.close());
  return { carbon, sink };
}

/** A flush of `count` datapoints `p.kN N timestamp`. */
function flush(count: number, timestamp: number): FlushResult {
  let text = '';
  for (let i = 0; i < count; i++) text += `p.k${i} ${i} ${timestamp}\n`;
  return { carbon: Buffer.from(text), metrics: count, timestamp };
}

/** Datapoints received per timestamp (distinct names). */
function received(carbon: ScriptedCarbon): Map<number, number> {
  const names = new Map<number, Set<string>>();
  for (const p of carbon.datapoints()) {
    if (!names.has(p.timestamp)) names.set(p.timestamp, new Set());
    names.get(p.timestamp)!.add(p.name);
  }
  return new Map([...names].map(([t, s]) => [t, s.size]));
}

describe('GraphiteSink and a broken connection', () => {
  it('a reset in the middle of a large write: the flush is written again whole, counted once as sent (no replay needed)', async () => {
    const { carbon, sink } = await setup({ replayBytes: 0 });
    carbon.resetNextAfter(64 * 1024);
    const big = flush(800_000, 100); // ~15 MB: more than the kernel takes before the reset
    sink.write(big);
    await waitFor(() => (received(carbon).get(100) ?? 0) === 800_000 && sink.stats().backlog === 0, 15_000, 'the flush whole on a new connection');
    expect(carbon.connections[0]!.reset).toBe(true);
    expect(sink.stats()).toMatchObject({ flushesSent: 1, flushesDropped: 0, flushesReplayed: 0, bytesSent: big.carbon.length });
  });

  it('carbon dies with a whole flush unread in its socket buffer: the flush is replayed', async () => {
    const { carbon, sink } = await setup();
    carbon.pause(); // reads nothing: the small flush sits in carbon's receive buffer
    sink.write(flush(1000, 200));
    await waitFor(() => sink.stats().flushesSent === 1, 5000, 'the write to complete');
    carbon.resetAll(); // carbon dies: what it had not read is gone
    carbon.resume();
    await waitFor(() => received(carbon).get(200) === 1000, 5000, 'the replayed flush');
    expect(sink.stats()).toMatchObject({ flushesSent: 1, flushesReplayed: 1, replaysDropped: 0, flushesDropped: 0 });
  });

  it('with replayBytes 0 that flush is lost, and nothing counts it: the limit of a protocol without acknowledgements', async () => {
    const { carbon, sink } = await setup({ replayBytes: 0 });
    carbon.pause();
    sink.write(flush(1000, 300));
    await waitFor(() => sink.stats().flushesSent === 1, 5000, 'the write to complete');
    carbon.resetAll();
    carbon.resume();
    sink.write(flush(10, 301)); // the connection comes back for the next flush
    await waitFor(() => received(carbon).get(301) === 10, 5000, 'the next flush');
    expect(received(carbon).get(300)).toBeUndefined();
    expect(sink.stats()).toMatchObject({ flushesSent: 2, flushesDropped: 0, flushesReplayed: 0 });
  });

  it('close() with a replay still waiting counts it in replaysDropped, not as a dropped flush; the unwritten one in flushesDropped', async () => {
    const { carbon, sink } = await setup();
    carbon.pause();
    sink.write(flush(1000, 400));
    await waitFor(() => sink.stats().flushesSent === 1, 5000, 'the write to complete');
    await carbon.down(); // resets the connection and stops listening: nothing can be re-sent
    await waitFor(() => !sink.stats().connected, 5000, 'the sink to notice');
    sink.write(flush(5, 401));
    await sink.close();
    expect(sink.stats()).toMatchObject({
      flushesSent: 1,
      flushesReplayed: 1,
      replaysDropped: 1,
      flushesDropped: 1,
      metricsDropped: 5,
      backlog: 0,
    });
  });

  it('a carbon that accepts and resets at once: the backoff still grows and no recovery is reported', async () => {
    const server = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const sink = new GraphiteSink({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, format: 'plaintext' });
    cleanups.push(() => sink.close());
    let errors = 0;
    let recovered = 0;
    sink.onError = () => errors++;
    sink.onRecover = () => recovered++;
    sink.write(flush(10, 500));
    await sleep(1600);
    // 100 + 200 + 400 + 800 ms of backoff: about 5 attempts, not one every 100 ms
    expect(errors).toBeGreaterThanOrEqual(2);
    expect(errors).toBeLessThanOrEqual(7);
    expect(recovered).toBe(0);
    expect(sink.stats()).toMatchObject({ flushesSent: 0, backlog: 1 });
  });
});
