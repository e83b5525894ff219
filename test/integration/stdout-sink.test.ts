// The stdout sink (the default of `npm start`) when its reader goes away or
// stops reading (issue [1/7] item 3): the real CLI daemon in a child process,
// its stdout a pipe the test closes or never reads (src/daemon/sinks/stream.ts).
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { DaemonProcess, httpGet, sendUdp, shutdownReport } from '../helpers/daemon-cli';
import { until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(args: string[]): Promise<DaemonProcess> {
  const d = await DaemonProcess.start(['serve', '--port', '0', '--http', '0', ...args]);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

/** The counts of the shutdown line for the stdout sink. */
const stdoutReport = (stderr: string) => shutdownReport(stderr, 'stdout carbon');

describe('stdout sink', () => {
  it('the reader exits (EPIPE): one log line, the daemon keeps running and answering, later flushes are dropped and counted, SIGTERM exits 0', { timeout: 60_000 }, async () => {
    const d = await daemon(['--flush-interval', '200']);
    await sendUdp(d.listening.udp!, ['so.c:1|c']);
    await d.waitFor(() => d.stdout.includes('so.c 1 '), 10_000, 'a flush on stdout');
    d.child.stdout!.destroy(); // the reader goes away: the daemon's next write fails with EPIPE
    let backend: { flushes_dropped: number; connected: boolean } | undefined;
    await until(async () => ((backend = (await d.stats()).backends[0]), backend!.flushes_dropped >= 3), 20_000, () => `flushes dropped: ${JSON.stringify(backend)}\n${d.output}`);
    expect(backend!.connected).toBe(false);
    const ping = await httpGet(d.listening.http!, '/ping');
    expect(ping.status).toBe(503); // the only backend is gone
    await sendUdp(d.listening.udp!, ['so.after:1|c']);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(d.stderr.match(/EPIPE/g)).toHaveLength(1);
    const report = stdoutReport(d.stderr);
    expect(report.dropped).toBeGreaterThanOrEqual(3);
    expect(report.written + report.dropped).toBe(report.made);
    expect(report.writtenDatapoints + report.datapointsDropped).toBe(report.madeDatapoints);
  });

  it('the reader stops reading: flushes past the buffer bound are dropped and counted, and SIGTERM with --shutdown-timeout 500 exits 0 within seconds', { timeout: 90_000 }, async () => {
    // --report-idle: every flush carries every key, so flushes stay large without resending them
    const d = await daemon(['--tcp-port', '0', '--flush-interval', '200', '--shutdown-timeout', '500', '--report-idle']);
    d.child.stdout!.pause(); // nobody reads: the pipe fills, then the daemon's own buffer
    let text = '';
    for (let i = 0; i < 100_000; i++) text += `st.${'z'.repeat(80)}.k${i}:1|c\n`; // ~11 MB per flush
    await sendTcp(d.listening.tcp!, text);
    let backend: { flushes_dropped: number } | undefined;
    await until(async () => ((backend = (await d.stats()).backends[0]), backend!.flushes_dropped >= 1), 60_000, () => `a flush dropped: ${JSON.stringify(backend)}\n${d.output}`);
    const started = Date.now();
    const exit = await d.stop('SIGTERM', 20_000);
    const took = Date.now() - started;
    expect(exit, d.output).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(10_000); // 500 ms of drain, then no wait on the stuck pipe
    const report = stdoutReport(d.stderr);
    expect(report.dropped).toBeGreaterThanOrEqual(1);
    expect(report.written + report.dropped).toBe(report.made);
    expect(report.writtenDatapoints + report.datapointsDropped).toBe(report.madeDatapoints);
  });
});
