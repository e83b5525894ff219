// The load generator against real receivers: pacing, line mix, sink accounting.
import * as dgram from 'node:dgram';

import { afterEach, describe, expect, it } from 'vitest';

import { parse } from '../../src';
import { GraphiteCounterSink, buildPackets, runLoad } from '../../src/load';
import { StatsdServer } from '../../src/server';
import { GraphiteSink } from '../../src/sinks';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function udpReceiver(): Promise<{ port: number; lines: () => number; packets: Buffer[] }> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const packets: Buffer[] = [];
    let lines = 0;
    socket.on('message', (m) => {
      packets.push(m);
      lines += parse(m).length;
    });
    socket.bind(0, '127.0.0.1', () => {
      cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
      resolve({ port: socket.address().port, lines: () => lines, packets });
    });
  });
}

describe('load generator', () => {
  it('builds packets of the requested mix, none over the size, every line valid', () => {
    const packets = buildPackets({ target: 'x:1', keys: 5000, mix: { c: 50, ms: 25, g: 25 }, packetBytes: 512, seed: 7 }, false);
    let total = 0;
    const byType: Record<string, number> = {};
    for (const p of packets) {
      expect(p.bytes.length).toBeLessThanOrEqual(512);
      const batch = parse(p.bytes);
      expect(batch.errors.total).toBe(0);
      expect(batch.length).toBe(p.lines);
      for (const m of batch) {
        byType[m.type] = (byType[m.type] ?? 0) + 1;
        if (m.type === 'c') expect(m.value).toBe(1);
      }
      total += p.lines;
    }
    // Keys get their type by weight, lines pick keys uniformly: with 5000 keys
    // the share of each type is within ±5 points (about 7 sigma).
    expect(byType.c! / total).toBeGreaterThan(0.45);
    expect(byType.c! / total).toBeLessThan(0.55);
    expect(byType.ms! / total).toBeGreaterThan(0.2);
    expect(byType.g! / total).toBeGreaterThan(0.2);
    expect(Object.keys(byType).sort()).toEqual(['c', 'g', 'ms']);
  });

  it('paces the offered rate within 5% and the receiver gets every line', async () => {
    const receiver = await udpReceiver();
    const summary = await runLoad({ target: `127.0.0.1:${receiver.port}`, rate: 40_000, duration: 1.5 });
    expect(Math.abs(summary.achievedRate - 40_000) / 40_000).toBeLessThan(0.05);
    expect(summary.errors).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.lines()).toBe(summary.linesSent);
  });

  it('sink accounting: what our daemon accepted equals the counter increments sent', async () => {
    const sink = new GraphiteCounterSink();
    await sink.listen(0);
    cleanup.push(() => sink.close());
    const server = new StatsdServer({
      udp: { port: 0 },
      sinks: [new GraphiteSink({ host: '127.0.0.1', port: sink.port, format: 'plaintext' })],
      flushInterval: 500,
    });
    await server.start();
    cleanup.push(() => server.stop(1000));
    const summary = await runLoad({ target: `127.0.0.1:${server.udpPort}`, rate: 20_000, duration: 1 });
    const deadline = Date.now() + 3000;
    while (sink.report.counted < summary.counterLines && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(summary.counterLines).toBeGreaterThan(1000);
    expect(sink.report.counted).toBe(summary.counterLines);
    expect(sink.report.flushes).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sink.report.latencies)).toBeLessThan(1.5);
  });
});
