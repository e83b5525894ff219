// The carbon backlog bounded in bytes (issue [1/7] item 2): with carbon down,
// flushes wait up to maxBacklogBytes; past it the oldest are dropped and
// counted. The bound is set by GraphiteSinkOptions, a config file's "limits",
// or --max-backlog-bytes (src/daemon/sinks/graphite.ts, src/daemon/config/file.ts, src/commands/serve.ts).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { FlushResult } from '../../src/aggregator/aggregator';
import { loadConfig } from '../../src/daemon/config/file';
import { GraphiteSink } from '../../src';
import { DaemonProcess } from '../helpers/daemon-cli';
import { ScriptedCarbon } from '../helpers/scripted-carbon';
import { tempDir, until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A flush of `count` datapoints with ~100-byte names, stamped `timestamp`. */
function flush(count: number, timestamp: number): FlushResult {
  const pad = 'x'.repeat(90);
  let text = '';
  for (let i = 0; i < count; i++) text += `bk.${pad}.k${i} ${i} ${timestamp}\n`;
  return { carbon: Buffer.from(text), metrics: count, timestamp };
}

describe('GraphiteSink maxBacklogBytes', () => {
  it('carbon down: the backlog stays within the byte bound, the oldest flushes are dropped and counted, and the kept ones are delivered when carbon is back', { timeout: 60_000 }, async () => {
    const carbon = await ScriptedCarbon.start();
    cleanups.push(() => carbon.close());
    await carbon.down(); // its port is known and nobody listens on it
    const bound = 1 << 20;
    const sink = new GraphiteSink({ host: '127.0.0.1', port: carbon.port, format: 'plaintext', maxBacklogBytes: bound });
    sink.onError = () => {};
    cleanups.push(() => sink.close());
    const made: FlushResult[] = [];
    for (let t = 1000; t < 1030; t++) {
      const f = flush(1000, t); // ~105 KB
      made.push(f);
      sink.write(f);
      expect(sink.stats().backlogBytes).toBeLessThanOrEqual(bound);
    }
    const perFlush = made[0]!.carbon.length;
    const kept = Math.floor(bound / perFlush);
    expect(sink.stats()).toMatchObject({ backlog: kept, backlogBytes: kept * perFlush, flushesDropped: 30 - kept, metricsDropped: (30 - kept) * 1000, flushesSent: 0 });

    await carbon.listen(); // back on the same port
    await until(async () => sink.stats().backlog === 0, 30_000, () => `the backlog delivered: ${JSON.stringify(sink.stats())}`);
    await sink.close();
    const stats = sink.stats();
    expect(stats.flushesSent + stats.flushesDropped).toBe(made.length);
    expect(stats.metricsSent + stats.metricsDropped).toBe(made.length * 1000);
    // what arrived is exactly the newest `kept` flushes, whole (written is not
    // yet read: the scripted carbon reads on this process's event loop)
    await until(async () => carbon.datapoints().length >= kept * 1000, 30_000, () => `carbon to read ${kept * 1000} datapoints: ${carbon.datapoints().length}`);
    const stamps = new Map<number, number>();
    for (const p of carbon.datapoints()) stamps.set(p.timestamp, (stamps.get(p.timestamp) ?? 0) + 1);
    expect([...stamps.keys()].sort()).toEqual(made.slice(30 - kept).map((f) => f.timestamp));
    expect([...stamps.values()].every((n) => n === 1000)).toBe(true);
  });

  it('a flush larger than the bound is kept alone (the newest flush is never dropped)', async () => {
    const carbon = await ScriptedCarbon.start();
    cleanups.push(() => carbon.close());
    await carbon.down();
    const sink = new GraphiteSink({ host: '127.0.0.1', port: carbon.port, format: 'plaintext', maxBacklogBytes: 1000 });
    sink.onError = () => {};
    cleanups.push(() => sink.close());
    sink.write(flush(100, 1));
    sink.write(flush(100, 2));
    expect(sink.stats()).toMatchObject({ backlog: 1, backlogBytes: flush(100, 2).carbon.length, flushesDropped: 1, metricsDropped: 100 });
  });
});

describe('maxBacklogBytes from a config file and the command line', () => {
  it('"limits": { "maxBacklogBytes" } in brubeck JSON and etsy config.js; checked like the other limits', () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const brubeck = path.join(dir, 'brubeck.json');
    fs.writeFileSync(brubeck, JSON.stringify({ samplers: [{ type: 'statsd', port: 0 }], backends: [{ type: 'carbon', port: 2003 }], limits: { maxBacklogBytes: 12345 } }));
    expect(loadConfig(brubeck).options.limits?.maxBacklogBytes).toBe(12345);
    const etsy = path.join(dir, 'config.js');
    fs.writeFileSync(etsy, '{ port: 0, graphiteHost: "127.0.0.1", limits: { maxBacklogBytes: 777 } }');
    expect(loadConfig(etsy).options.limits?.maxBacklogBytes).toBe(777);
    fs.writeFileSync(brubeck, JSON.stringify({ samplers: [{ type: 'statsd', port: 0 }], limits: { maxBacklogBytes: 0 } }));
    expect(() => loadConfig(brubeck)).toThrow(/limits\.maxBacklogBytes must be a whole number >= 1, not 0/);
  });

  it('--max-backlog-bytes: the daemon with carbon down keeps its backlog within the bound and reports backlog_bytes and the drops in /stats', { timeout: 60_000 }, async () => {
    // a port nobody listens on
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const d = await DaemonProcess.start(['serve', '--port', '0', '--tcp-port', '0', '--http', '0', '--graphite', `127.0.0.1:${port}`, '--flush-interval', '200', '--max-backlog-bytes', '500000', '--report-idle']); // every flush carries every key
    cleanups.push(() => d.stop('SIGKILL'));
    let text = '';
    for (let i = 0; i < 5000; i++) text += `mb.${'y'.repeat(20)}.k${i}:1|c\n`; // ~220 KB per flush
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(d.listening.tcp!, '127.0.0.1', () => socket.end(text));
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
    let backend: { backlog_bytes: number; flushes_dropped: number; metrics_dropped: number; backlog: number } | undefined;
    await until(async () => ((backend = (await d.stats()).backends[0]), backend!.flushes_dropped >= 3), 30_000, () => `three flushes dropped: ${JSON.stringify(backend)}`);
    expect(backend!.backlog_bytes).toBeLessThanOrEqual(500_000);
    expect(backend!.backlog_bytes).toBeGreaterThan(0);
    expect(backend!.metrics_dropped).toBeGreaterThanOrEqual(3 * 5000);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('--max-backlog-bytes takes a whole number >= 1', async () => {
    for (const bad of ['0', '-1', '1.5', 'lots']) {
      const d = DaemonProcess.spawn(['serve', '--port', '0', '--max-backlog-bytes', bad]);
      expect(await d.ended()).toEqual({ code: 1, signal: null });
      expect(d.stderr).toMatch(/--max-backlog-bytes/);
    }
  });
});
