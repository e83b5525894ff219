// /ping is healthy from the first second (issue [1/7] item 9c): the carbon
// sink connects when the daemon starts, not at the first flush, and keeps its
// connection up between flushes (src/daemon/sinks/sink.ts Sink.start).
import { afterEach, describe, expect, it } from 'vitest';

import { DaemonProcess, httpGet } from '../helpers/daemon-cli';
import { ScriptedCarbon } from '../helpers/scripted-carbon';
import { until } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('carbon connection at start', () => {
  it('with carbon listening, /ping answers 200 long before the first flush; carbon going away and back shows in /ping without a flush', { timeout: 60_000 }, async () => {
    const carbon = await ScriptedCarbon.start();
    cleanups.push(() => carbon.close());
    // an hour between flushes: only the connection at start can make /ping healthy
    const d = await DaemonProcess.start(['serve', '--port', '0', '--http', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '3600000']);
    cleanups.push(() => d.stop('SIGKILL'));
    let status = 0;
    await until(async () => (status = (await httpGet(d.listening.http!, '/ping')).status) === 200, 10_000, () => `/ping 200, got ${status}`);
    expect(carbon.connections.length).toBe(1);
    expect((await d.stats()).backends[0]).toMatchObject({ connected: true, flushes_sent: 0 });

    await carbon.down(); // carbon restarts
    await until(async () => (status = (await httpGet(d.listening.http!, '/ping')).status) === 503, 10_000, () => `/ping 503, got ${status}`);
    await carbon.listen();
    // the sink's backoff is at most a few seconds here
    await until(async () => (status = (await httpGet(d.listening.http!, '/ping')).status) === 200, 20_000, () => `/ping 200 again, got ${status}`);
    expect((await d.stats()).flushes).toBe(0);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
