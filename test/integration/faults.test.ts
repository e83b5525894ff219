// Faults with real processes (issue [6/6] item 4): the daemon is the real CLI
// in a child process; carbon is the real carbon-cache where its behaviour is
// what matters (down at start), and a scripted stand-in where the fault must
// hit at an exact point (reset mid-flush, a reader that stops). Each test checks
// the accounting: what was accepted is delivered, or shows in a counter.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { Carbon, carbonMissing, points } from '../helpers/carbon';
import { CLI, DaemonProcess, httpGet, sendUdp, shutdownReport } from '../helpers/daemon-cli';
import { type Datapoint, ScriptedCarbon } from '../helpers/scripted-carbon';
import { sleep, tempDir, until, waitFor } from '../helpers/receivers';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(args: string[]): Promise<DaemonProcess> {
  const d = await DaemonProcess.start(['serve', '--port', '0', '--http', '0', ...args]);
  cleanups.push(() => d.stop('SIGKILL'));
  return d;
}

async function scripted(): Promise<ScriptedCarbon> {
  const c = await ScriptedCarbon.start();
  cleanups.push(() => c.close());
  return c;
}

/** Writes `text` over one TCP connection to the daemon's line input and closes it. */
function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

/** `count` counter lines `prefix.kN:1|c`, one per key. */
function counterLines(prefix: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${prefix}.k${i}:1|c\n`;
  return text;
}

/** Groups datapoints by timestamp, checking that a repeated (name, timestamp) repeats its value. */
function byTimestamp(datapoints: Datapoint[]): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const p of datapoints) {
    let flush = out.get(p.timestamp);
    if (!flush) out.set(p.timestamp, (flush = new Map()));
    const seen = flush.get(p.name);
    if (seen !== undefined && seen !== p.value) throw new Error(`${p.name} at ${p.timestamp}: ${seen} then ${p.value}`);
    flush.set(p.name, p.value);
  }
  return out;
}

/** The counts of the shutdown line for the carbon sink. */
const carbonReport = (stderr: string) => shutdownReport(stderr, 'graphite [^:]+:\\d+');

/** Every flush made is written or dropped, and so is every datapoint. */
function expectAccounted(report: ReturnType<typeof carbonReport>): void {
  expect(report.written + report.dropped).toBe(report.made);
  expect(report.writtenDatapoints + report.datapointsDropped).toBe(report.madeDatapoints);
}

/** Distinct (name, timestamp) pairs received: a repeat counts once. */
function distinct(carbon: ScriptedCarbon): number {
  let n = 0;
  for (const flush of byTimestamp(carbon.datapoints()).values()) n += flush.size;
  return n;
}

const KEYS = 100_000;

describe('carbon faults (scripted carbon)', () => {
  it('connection reset in the middle of a flush: the flush is sent again on a new connection, nothing lost', { timeout: 60_000 }, async () => {
    const carbon = await scripted();
    carbon.resetNextAfter(64 * 1024); // the first flush is ~2 MB: cut it at 64 KiB
    const d = await daemon(['--tcp-port', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '1000']);
    await sendTcp(d.listening.tcp!, counterLines('rs', KEYS));
    await waitFor(() => carbon.connections.length >= 2 && carbon.bytes > 2.2e6, 30_000, 'the flush sent again after the reset');
    await d.stop('SIGTERM');
    await waitFor(() => carbon.open === 0, 10_000, 'carbon to read everything the daemon wrote');
    expect(carbon.connections[0]!.reset).toBe(true);

    // Every key adds up to exactly 1 over the flushes (brubeck meters report per
    // interval); the re-sent part repeats values, never changes them.
    const totals = new Map<string, number>();
    for (const flush of byTimestamp(carbon.datapoints()).values()) {
      for (const [name, value] of flush) if (name.startsWith('rs.')) totals.set(name, (totals.get(name) ?? 0) + value);
    }
    expect(totals.size).toBe(KEYS);
    expect([...totals].filter(([, v]) => v !== 1).slice(0, 5)).toEqual([]);
    const report = carbonReport(d.stderr);
    expect(report).toMatchObject({ dropped: 0, datapointsDropped: 0, replaysDropped: 0 });
    expectAccounted(report);
    expect(distinct(carbon)).toBe(report.madeDatapoints);
  });

  it('a carbon that stops reading: flushes queue up to maxBacklog, older ones are dropped and counted, /ping answers; reading again delivers the rest in order', { timeout: 60_000 }, async () => {
    const carbon = await scripted();
    carbon.pause(); // before the daemon connects: the socket buffers stay small
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'brubeck.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        backends: [{ type: 'carbon', address: '127.0.0.1', port: carbon.port, frequency: 1 }],
        samplers: [{ type: 'statsd', address: '127.0.0.1', port: 0 }],
        limits: { maxBacklog: 2 },
      }),
    );
    const d = await daemon(['--config', config, '--tcp-port', '0', '--flush-interval', '400']);
    await sendTcp(d.listening.tcp!, counterLines('sr', KEYS));

    // The first flushes fill the kernel's socket buffers; then one is stuck in
    // flight, two wait, and each new flush pushes out the oldest waiting one.
    let s = await d.stats();
    await until(async () => (s = await d.stats()).backends[0].flushes_dropped >= 2, 30_000, () => `two flushes dropped: ${JSON.stringify(s.backends)}`);
    expect(s.backends[0].metrics_dropped).toBeGreaterThan(0);
    const ping = await httpGet(d.listening.http!, '/ping');
    expect(ping.status).toBe(200); // connected, only slow
    expect(ping.json.unique_keys).toBe(KEYS);

    carbon.resume();
    await d.stop('SIGTERM', 30_000);
    await waitFor(() => carbon.open === 0, 20_000, 'carbon to read everything the daemon wrote');
    const report = carbonReport(d.stderr);
    expect(report.dropped).toBeGreaterThanOrEqual(2);
    expectAccounted(report);

    // What arrived is exactly the written flushes, whole, oldest first.
    // (Flushes 0.4 s apart can share a second: counted as a stream here.)
    const received = carbon.datapoints();
    expect(received.length).toBe(report.writtenDatapoints);
    const stamps = received.map((p) => p.timestamp);
    expect(stamps.every((t, i) => i === 0 || t >= stamps[i - 1]!)).toBe(true);
  });
});

describe('SIGTERM during a flush', () => {
  it('carbon slow but within --shutdown-timeout: the flush in progress and the final one are delivered', { timeout: 60_000 }, async () => {
    const carbon = await scripted();
    carbon.throttle(1 << 20, 100); // ~10 MB/s: a 2 MB flush takes ~0.2 s
    const d = await daemon(['--tcp-port', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '1000', '--shutdown-timeout', '20000']);
    await sendTcp(d.listening.tcp!, counterLines('st', KEYS));
    await waitFor(() => carbon.bytes > 0, 10_000, 'the first flush to start arriving');
    await sendTcp(d.listening.tcp!, 'st.last:7|c\n'); // only the final flush can carry this
    await d.stop('SIGTERM', 30_000);
    expect(d.exit).toEqual({ code: 0, signal: null });
    await waitFor(() => carbon.open === 0, 20_000, 'carbon to read everything the daemon wrote');
    const report = carbonReport(d.stderr);
    expect(report).toMatchObject({ dropped: 0, datapointsDropped: 0 });
    expectAccounted(report);
    // every flush at its own second, each whole
    const flushes = byTimestamp(carbon.datapoints());
    expect(flushes.size).toBe(report.made);
    expect(distinct(carbon)).toBe(report.madeDatapoints);
    let last = 0;
    for (const flush of flushes.values()) last += flush.get('st.last') ?? 0;
    expect(last).toBe(7);
  });

  it('carbon stuck: the daemon still exits after --shutdown-timeout and reports the undelivered flushes as dropped', { timeout: 60_000 }, async () => {
    const carbon = await scripted();
    carbon.pause(); // stuck from the start: its socket buffers stay small
    const d = await daemon(['--tcp-port', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '1000', '--shutdown-timeout', '300']);
    await sendTcp(d.listening.tcp!, counterLines('sx', KEYS));
    // two ~2 MB flushes: more than the kernel takes for a reader that never read
    await until(async () => (await d.stats()).flushes >= 2, 20_000, 'two flushes');
    const started = Date.now();
    await d.stop('SIGTERM', 15_000);
    expect(d.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000); // no hang on the stuck socket
    const report = carbonReport(d.stderr);
    expect(report.dropped).toBeGreaterThanOrEqual(1);
    expect(report.datapointsDropped).toBeGreaterThan(0);
    expectAccounted(report);
  });
});

describe.skipIf(carbonMissing() !== undefined)('real carbon-cache', () => {
  it('down when the daemon starts: /ping says 503, flushes wait in the backlog, and reach whisper once carbon is up', { timeout: 60_000 }, async () => {
    const carbon = await Carbon.start();
    cleanups.push(() => carbon.stop({ kill: true }));
    await carbon.stop({ keepDir: true }); // its port is known and nobody listens on it
    const d = await daemon(['--graphite', `127.0.0.1:${carbon.ports.line}`, '--flush-interval', '1000']);
    await sendUdp(d.listening.udp!, ['cd.count:5|c\ncd.gauge:-2.5|g']);
    await d.waitFor(() => /ECONNREFUSED/.test(d.stderr), 5000, 'the refused connection in the log');
    const down = await httpGet(d.listening.http!, '/ping');
    expect(down.status).toBe(503);
    expect(down.json.status).toBe('ERROR (backend disconnected)');
    await sleep(1200);
    const waiting = (await d.stats()).backends[0];
    expect(waiting.backlog).toBeGreaterThanOrEqual(1);
    expect(waiting.flushes_dropped).toBe(0);

    await carbon.restart();
    // the sink's backoff may have grown to a few seconds
    let backends: unknown;
    await until(
      async () => (await httpGet(d.listening.http!, '/ping')).status === 200 && (backends = (await d.stats()).backends)[0].backlog === 0,
      30_000,
      () => `the backlog delivered: ${JSON.stringify(backends)}\n${carbon.log}`,
    );
    const now = Math.floor(Date.now() / 1000);
    const count = await carbon.fetch('cd.count', now - 60, now + 1, { ready: (s) => points(s).some(([, v]) => v === 5) });
    // All 5 counts in the one flush that saw them; the other flushes say 0.
    expect(points(count).filter(([, v]) => v !== 0)).toEqual([[expect.any(Number), 5]]);
    const gauge = await carbon.fetch('cd.gauge', now - 60, now + 1, { ready: (s) => points(s).length > 0 });
    expect(points(gauge).every(([, v]) => v === -2.5)).toBe(true);
    // one line for the outage, not one per retry, and one for the recovery
    expect(d.stderr.match(/ECONNREFUSED/g)!.length).toBe(1);
    expect(d.stderr).toMatch(/graphite plaintext 127\.0\.0\.1:\d+: delivering again; \d+ flush(es)? waiting/);
  });
});

describe('UDP flood above capacity', () => {
  it('a stalled daemon drops datagrams in the kernel, counts every one, and answers /ping while the flood goes on', { timeout: 60_000 }, async () => {
    const d = await daemon(['--stdout', 'carbon', '--flush-interval', '1000']);
    const port = d.listening.udp!;
    // The load generator floods for 3 s; the daemon is stopped (SIGSTOP) for
    // the first 1.5 s, as a stall would: its socket buffer overflows.
    const load = spawn(process.execPath, [CLI, 'load', '--target', `127.0.0.1:${port}`, '--rate', '3000000', '--duration', '3', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void load.kill('SIGKILL'));
    let out = '';
    load.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const done = new Promise<number | null>((resolve) => load.once('exit', resolve));
    d.child.kill('SIGSTOP');
    await sleep(1500);
    d.child.kill('SIGCONT');
    const pings: number[] = [];
    while (load.exitCode === null) {
      const t = Date.now();
      const ping = await httpGet(d.listening.http!, '/ping');
      expect(ping.status).toBe(200);
      pings.push(Date.now() - t);
      await sleep(100);
    }
    expect(await done).toBe(0);
    expect(pings.length).toBeGreaterThan(0);
    const sent = JSON.parse(out) as { packetsSent: number; errors: number; linesSent: number };
    expect(sent.errors).toBe(0);

    // The kernel's drop count (SO_RXQ_OVFL) rides on the next datagram received:
    // a marker per poll, in case one is dropped too.
    let markers = 0;
    let udp: { datagrams: number; kernel_drops: number } = { datagrams: 0, kernel_drops: 0 };
    await until(
      async () => {
        await sendUdp(port, ['flood.marker:1|c']);
        markers++;
        await sleep(50);
        udp = (await d.stats()).samplers[0];
        return udp.datagrams + udp.kernel_drops === sent.packetsSent + markers;
      },
      20_000,
      () => `sent ${sent.packetsSent} + ${markers} datagrams, counted ${JSON.stringify(udp)}`,
    );
    expect(udp.kernel_drops).toBeGreaterThan(0);
    expect(udp.datagrams).toBeGreaterThan(0);
  });
});

describe('TCP input limits and faults', () => {
  async function tcpDaemon(limits: object): Promise<DaemonProcess> {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'config.js');
    fs.writeFileSync(
      config,
      `{ servers: [{ server: './servers/tcp', address: '127.0.0.1', port: 0 }], backends: [], flushInterval: 60000, limits: ${JSON.stringify(limits)} }`,
    );
    return daemon(['--config', config]);
  }

  it('connections past maxConnections are refused and counted; the others keep working', async () => {
    const d = await tcpDaemon({ maxConnections: 2 });
    const port = d.listening.tcp!;
    const open = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      });
    const a = await open();
    const b = await open();
    const c = await open(); // accepted by the kernel, closed by the daemon at once
    const closed = await new Promise<boolean>((resolve) => {
      c.on('close', () => resolve(true));
      c.on('error', () => {});
      setTimeout(() => resolve(false), 3000);
    });
    expect(closed).toBe(true);
    a.end('lim.a:1|c\n');
    b.end('lim.b:2|c\n');
    await waitFor(() => a.closed && b.closed, 3000, 'the two connections to close');
    const s = await d.stats();
    expect(s.tcp).toMatchObject({ accepted: 2, refused: 1 });
    expect(s.metrics).toBe(2);
  });

  it('a line longer than maxLineBytes split over writes is dropped up to its newline and counted; the buffer stays bounded', async () => {
    const d = await tcpDaemon({ maxLineBytes: 1024 });
    const socket = net.connect(d.listening.tcp!, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('ok.before:1|c\nhuge:');
    for (let i = 0; i < 64; i++) {
      socket.write('9'.repeat(1000)); // 64 KB of one line, in pieces
      await sleep(2);
    }
    const during = (await d.stats()).tcp;
    expect(during.pending_bytes).toBeLessThanOrEqual(1024);
    socket.end('|c\nok.after:1|c\n');
    await new Promise((resolve) => socket.once('close', resolve));
    await sleep(50);
    const s = await d.stats();
    expect(s.tcp.overlong_lines).toBe(1);
    expect(s.metrics).toBe(2); // ok.before and ok.after
    expect(s.errors).toBe(0); // the tail of the long line was not parsed as a line
  });

  it('a sender that resets its connection mid-line: the cut line is counted, the lines before it kept', async () => {
    const d = await tcpDaemon({});
    const socket = net.connect(d.listening.tcp!, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('rst.a:1|c\nrst.b:2|c\nrst.cut:12');
    await sleep(100);
    socket.resetAndDestroy();
    let s = await d.stats();
    await until(async () => (s = await d.stats()).tcp.connections === 0, 5000, 'the connection to close');
    expect(s.tcp).toMatchObject({ resets: 1, truncated_lines: 1, connections: 0 });
    expect(s.metrics).toBe(2);
    expect((await httpGet(d.listening.http!, '/ping')).status).toBe(200);
  });
});

describe('SIGTERM with a TCP sender that never closes', () => {
  it('the daemon cuts it off after a second, drops its unfinished line, and exits 0 with its whole lines flushed', async () => {
    const d = await daemon(['--tcp-port', '0', '--stdout', 'carbon']);
    // allowHalfOpen: the daemon's FIN does not make this client close its side.
    const socket = net.connect({ port: d.listening.tcp!, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('open.whole:4|c\nopen.cut:1');
    await sleep(100);
    const started = Date.now();
    const exit = await d.stop('SIGTERM', 10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(d.stdoutLines.some((l) => /^open\.whole 4 \d+$/.test(l))).toBe(true);
    expect(d.stdoutLines.some((l) => l.startsWith('open.cut'))).toBe(false);
  });
});

describe('command line mistakes: a clear message, exit 1', () => {
  it.each([
    [['--port', '99999'], /--port expects a port from 0 to 65535, not "99999"/],
    [['--tcp-port', '70000'], /--tcp-port expects a port from 0 to 65535/],
    [['--graphite', 'unix:///tmp/carbon.sock'], /--graphite expects HOST:PORT/],
    [['--graphite', 'udp://127.0.0.1:2003'], /--graphite expects HOST:PORT/],
    [['--workers', '0'], /--workers expects at least 1/],
    [['--pickle'], /--pickle needs a carbon backend/],
    [['--convention', 'etsy', '--server-name', 'x'], /--server-name is for the brubeck convention/],
  ])('serve %j', async (args, message) => {
    const d = DaemonProcess.spawn(['serve', ...args]);
    expect(await d.ended(10_000)).toEqual({ code: 1, signal: null });
    expect(d.stderr).toMatch(message);
  });

  it('IPv6 addresses are printed in brackets in the listening line', async () => {
    const d = await daemon(['--address', '::1', '--tcp-port', '0', '--http', '[::1]:0']);
    expect(d.stderr).toMatch(/listening on udp:\/\/\[::1\]:\d+, tcp:\/\/\[::1\]:\d+, http:\/\/\[::1\]:\d+;/);
  });

  it('serve --help prints the usage and exits 0', async () => {
    const d = DaemonProcess.spawn(['serve', '--help']);
    expect(await d.ended(10_000)).toEqual({ code: 0, signal: null });
    expect(d.stdout).toMatch(/^Usage: statsd-native serve/);
  });

  it('a config key the daemon does not use is named at start (a typo does not pass silently)', async () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'typo.json');
    fs.writeFileSync(file, '{"samplers": [{"type": "statsd", "port": 0}], "limit": {"maxKeys": 1}}');
    const d = await daemon(['--config', file]);
    expect(d.stderr).toContain(`${file}: ignoring "limit" (not used by statsd-native)`);

    const etsy = path.join(dir, 'etsy.js');
    fs.writeFileSync(etsy, "{ port: 8125, servers: [{ server: './servers/udp', port: 0 }], graphitePort: 2003, mgmt_port: 8126 }");
    const e = await daemon(['--config', etsy]);
    expect(e.stderr).toContain(`${etsy}: ignoring "mgmt_port" (not used by statsd-native)`);
    expect(e.stderr).toContain(`${etsy}: ignoring top-level port and address: "servers" is set`);
    expect(e.stderr).toContain(`${etsy}: ignoring graphitePort: no graphiteHost`);
  });
});

describe('malformed config files: a clear message naming the file, exit 1', () => {
  const cases: [string, string, RegExp][] = [
    ['broken.json', '{"samplers": [', /not JSON nor a JavaScript object/],
    ['sampler.json', '{"samplers": [{"type": "prometheus"}]}', /unsupported sampler "prometheus"/],
    ['port.json', '{"samplers": [{"type": "statsd", "port": "8125"}]}', /Expected a number for port but received "8125"/],
    ['limits.json', '{"samplers": [], "limits": {"maxKeys": -1}}', /limits\.maxKeys must be a whole number >= 0, not -1/],
    ['connections.json', '{"samplers": [], "limits": {"maxConnections": 0}}', /limits\.maxConnections must be a whole number >= 1, not 0/],
    ['unknown.json', '{"samplers": [], "limits": {"maxKeyz": 5}}', /unknown limit "maxKeyz"/],
    ['backlog.json', '{"samplers": [], "limits": {"maxBacklog": 1.5}}', /limits\.maxBacklog must be a whole number >= 1, not 1\.5/],
    ['array.json', '[1, 2]', /expected an object/],
    ['loop.js', '{ port: (() => { for (;;) {} })() }', /reading the config took over 1000 ms/],
    ['server.js', "{ servers: [{ server: './servers/http' }] }", /unsupported server "\.\/servers\/http"/],
    ['percent.js', '{ percentThreshold: [150] }', /percentThreshold but received array \[150\]/],
    ['udp-port.json', '{"samplers": [{"type": "statsd", "port": 99999}]}', /port must be a port from 0 to 65535, not 99999/],
    ['tcp-port.js', "{ servers: [{ server: './servers/tcp', port: 70000 }] }", /port must be a port from 0 to 65535, not 70000/],
    ['interval.js', '{ flushInterval: 0 }', /flushInterval must be at least 1 ms, not 0 ms/],
    ['frequency.json', '{"samplers": [{"type": "statsd"}], "backends": [{"type": "carbon", "frequency": 0}]}', /frequency must be at least 1 ms/],
    ['workers.json', '{"samplers": [{"type": "statsd", "multisock": true, "workers": -2}]}', /workers must be a whole number >= 1, not -2/],
    ['no-input.json', '{"backends": [{"type": "carbon", "port": 2003}]}', /no input to listen on \(.*no-input\.json has no statsd sampler or server\)/],
  ];
  it.each(cases)('%s', async (name, text, message) => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const d = DaemonProcess.spawn(['serve', '--config', file]);
    const exit = await d.ended(10_000);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(d.stderr).toContain(file);
    expect(d.stderr).toMatch(message);
    expect(d.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
