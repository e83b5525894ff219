// The daemon through its real command line (node dist/cli.js serve), no carbon
// needed: brubeck and etsy config files, config and bind errors, the embedded
// default (npm start), HTTP /ping /stats /metric, SIGTERM's final flush, TCP
// lines split across writes, unix datagrams. Carbon is stood in for by a
// plain TCP receiver (test/helpers/receivers.ts).
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { native } from '../../src/core/native';
import { StatsdServer } from '../../src/daemon/server';
import {
  DaemonProcess,
  carbonLines,
  freeUdpPort,
  httpGet,
  sendUdp,
  valuesOf,
} from '../helpers/daemon-cli';
import { StreamReceiver, sleep, tempDir, until } from '../helpers/receivers';

const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

const daemons: DaemonProcess[] = [];
const receivers: StreamReceiver[] = [];
const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];

function track(d: DaemonProcess): DaemonProcess {
  daemons.push(d);
  return d;
}
async function start(args: string[]): Promise<DaemonProcess> {
  const d = DaemonProcess.spawn(args);
  daemons.push(d);
  await d.ready();
  return d;
}
async function receiver(): Promise<StreamReceiver> {
  const r = await StreamReceiver.start({ port: 0 });
  receivers.push(r);
  return r;
}
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  for (const c of closers.splice(0)) await c();
});

afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Waits until the receiver holds a complete line that satisfies `match`. */
async function lineIn(r: StreamReceiver, match: RegExp, d: DaemonProcess, timeoutMs = 5000): Promise<string> {
  await d.waitFor(() => r.lines.some((l) => match.test(l)), timeoutMs, () => `a carbon line matching ${match} (got ${JSON.stringify(r.lines.slice(-20))})`);
  return r.lines.find((l) => match.test(l))!;
}

/** Polls /stats until `metrics` reaches n (the daemon has aggregated n good lines). */
async function ingested(d: DaemonProcess, httpPort: number, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  let last: { metrics?: number } | undefined;
  for (;;) {
    last = (await httpGet(httpPort, '/stats')).json as { metrics?: number };
    if (last?.metrics === n) return;
    if (d.exit || Date.now() > deadline) throw new Error(`/stats metrics never reached ${n}: ${JSON.stringify(last)}\n${d.output}`);
    await sleep(20);
  }
}

describe('config files', () => {
  it('brubeck JSON: statsd sampler port, carbon backend (plaintext, frequency 1 s), server_name, http', async () => {
    const carbon = await receiver();
    const udpPort = await freeUdpPort();
    const file = path.join(dir(), 'brubeck.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        sharding: false,
        server_name: 'brubeck_test',
        dumpfile: '/tmp/brubeck.dump',
        capacity: 15,
        backends: [{ type: 'carbon', address: '127.0.0.1', port: carbon.port, frequency: 1 }],
        samplers: [{ type: 'statsd', address: '127.0.0.1', port: udpPort, workers: 2, multisock: true, multimsg: 8 }],
        http: '127.0.0.1:0',
      }),
    );
    const d = await start(['serve', '--config', file]);
    expect(d.listening.udp).toBe(udpPort);
    expect(d.stderr).toMatch(/brubeck convention; flushing every 1000 ms to graphite plaintext 127\.0\.0\.1:\d+/);
    await sendUdp(udpPort, ['cfg.c:3|c\ncfg.c:4|c\ncfg.g:-4|g\ncfg.t:5|ms']);
    await lineIn(carbon, /^cfg\.c 7 \d+$/, d);
    const text = carbon.text;
    expect(valuesOf(text, 'cfg.g')).toContain(-4);
    expect(valuesOf(text, 'cfg.t.count')).toContain(1);
    // server_name names the internal metrics
    await lineIn(carbon, /^brubeck_test\.metrics \d+ \d+$/, d);
    expect(text).not.toMatch(/^brubeck\.metrics /m);
    // flushes come about a second apart: two flushes with distinct timestamps within ~3 s
    await d.waitFor(() => new Set(carbonLines(carbon.text).filter((l) => l.name === 'cfg.c').map((l) => l.ts)).size >= 2, 4000, 'a second flush');
    const ts = [...new Set(carbonLines(carbon.text).filter((l) => l.name === 'cfg.c').map((l) => l.ts))];
    expect(ts[1]! - ts[0]!).toBeGreaterThanOrEqual(1);
    expect(ts[1]! - ts[0]!).toBeLessThanOrEqual(2);
    // a meter resets: the second flush reports 0
    expect(valuesOf(carbon.text, 'cfg.c').slice(0, 2)).toEqual([7, 0]);
    const ping = await httpGet(d.listening.http!, '/ping');
    expect(ping.status).toBe(200);
    expect(ping.json).toMatchObject({ status: 'OK', pid: d.child.pid, version: VERSION });
  });

  it('brubeck JSON with "pickle": true sends length-prefixed pickle messages', async () => {
    const carbon = await receiver();
    const file = path.join(dir(), 'brubeck-pickle.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        server_name: 'bp',
        capacity: 15,
        dumpfile: '/tmp/x',
        backends: [{ type: 'carbon', address: '127.0.0.1', port: carbon.port, frequency: 60, pickle: true }],
        samplers: [{ type: 'statsd', address: '127.0.0.1', port: 0 }],
      }),
    );
    const d = await start(['serve', '--config', file]);
    await sendUdp(d.listening.udp!, ['pickled.key:1|c']);
    await sleep(100);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const data = Buffer.concat(carbon.chunks);
    expect(data.length).toBeGreaterThan(4);
    // one or more messages: 4-byte big-endian length, then a pickle ending in STOP '.'
    let offset = 0;
    let messages = 0;
    while (offset < data.length) {
      const length = data.readUInt32BE(offset);
      expect(offset + 4 + length).toBeLessThanOrEqual(data.length);
      expect(data[offset + 4 + length - 1]).toBe(0x2e);
      offset += 4 + length;
      messages++;
    }
    expect(messages).toBeGreaterThanOrEqual(1);
    expect(data.includes(Buffer.from('pickled.key'))).toBe(true);
    expect(data.includes(Buffer.from('pickled.key 1'))).toBe(false); // not plaintext
  });

  it('etsy config.js: servers udp+tcp, graphite backend, console backend, etsy names', async () => {
    const carbon = await receiver();
    const udpPort = await freeUdpPort();
    const file = path.join(dir(), 'config.js');
    fs.writeFileSync(
      file,
      `/* etsy statsd exampleConfig.js style */
{
  graphitePort: ${carbon.port}
, graphiteHost: "127.0.0.1"   // carbon
, port: ${udpPort}
, servers: [
    { server: "./servers/udp", address: "127.0.0.1", port: ${udpPort} },
    { server: "./servers/tcp", address: "127.0.0.1", port: 0 }
  ]
, backends: [ "./backends/graphite", "./backends/console" ]
, flushInterval: 500
, percentThreshold: [90, 99]
, graphite: { legacyNamespace: false }
}
`,
    );
    const d = await start(['serve', '--config', file]);
    expect(d.listening.udp).toBe(udpPort);
    expect(d.listening.tcp).toBeGreaterThan(0);
    expect(d.stderr).toMatch(/etsy convention; flushing every 500 ms to graphite plaintext 127\.0\.0\.1:\d+, stdout json/);
    await sendUdp(udpPort, ['etsy.hits:5|c\netsy.g:-3|g']);
    const tcp = net.connect({ host: '127.0.0.1', port: d.listening.tcp! });
    await new Promise<void>((resolve) => tcp.once('connect', () => resolve()));
    tcp.end('etsy.lat:10|ms\netsy.lat:30|ms\n');
    await lineIn(carbon, /^stats\.counters\.etsy\.hits\.count 5 \d+$/, d);
    await lineIn(carbon, /^stats\.timers\.etsy\.lat\.upper_99 30 \d+$/, d);
    const text = carbon.text;
    expect(valuesOf(text, 'stats.counters.etsy.hits.rate')).toContain(10); // 5 per 0.5 s
    expect(valuesOf(text, 'stats.gauges.etsy.g')).toContain(-3);
    expect(valuesOf(text, 'stats.timers.etsy.lat.count')).toContain(2);
    expect(valuesOf(text, 'stats.timers.etsy.lat.mean')).toContain(20);
    // the console backend: JSON lines on stdout
    await d.waitFor(() => d.stdout.includes('"stats.counters.etsy.hits.count"'), 3000, 'console JSON on stdout');
    const json = d.stdoutLines.map((l) => JSON.parse(l) as { name: string; value: number; timestamp: number });
    expect(json.find((j) => j.name === 'stats.counters.etsy.hits.count' && j.value === 5)).toBeTruthy();
  });

  it.each([
    ['not JSON nor JS', '{ "samplers": [ oops', /not JSON nor a JavaScript object/],
    ['an unsupported sampler', JSON.stringify({ samplers: [{ type: 'statsd-secure', port: 1 }], backends: [] }), /unsupported sampler "statsd-secure"/],
    ['a port that is a string', JSON.stringify({ samplers: [{ type: 'statsd', port: '8125' }], backends: [] }), /Expected a number for port/],
    ['an unsupported backend', JSON.stringify({ samplers: [], backends: [{ type: 'kafka' }] }), /unsupported backend "kafka"/],
    ['a list, not an object', '[1, 2]', /expected an object/],
  ])('a bad config (%s) exits 1 with a message naming the file', async (_what, content, reason) => {
    const file = path.join(dir(), 'bad-config.json');
    fs.writeFileSync(file, content);
    const d = track(DaemonProcess.spawn(['serve', '--config', file]));
    const exit = await d.ended();
    expect(exit.code).toBe(1);
    expect(d.stderr).toContain(file);
    expect(d.stderr).toMatch(reason);
    expect(d.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(d.stderr).not.toMatch(/listening on/);
  });

  it('a missing config file exits 1 naming the file', async () => {
    const file = path.join(dir(), 'nope', 'statsd.json');
    const d = track(DaemonProcess.spawn(['serve', '--config', file]));
    expect((await d.ended()).code).toBe(1);
    expect(d.stderr).toContain(`${file}: cannot read: ENOENT`);
  });
});

describe('bind errors', () => {
  it('UDP port in use → message naming udp://address:port and EADDRINUSE, exit 1', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = holder.address().port;
    const d = track(DaemonProcess.spawn(['serve', '--port', String(port)]));
    expect((await d.ended()).code).toBe(1);
    expect(d.stderr).toContain(`udp://127.0.0.1:${port}`);
    expect(d.stderr).toContain('EADDRINUSE');
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });

  it.each(['tcp', 'http'] as const)('%s port in use → message and exit 1', async (kind) => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as net.AddressInfo).port;
    const flag = kind === 'tcp' ? ['--tcp-port', String(port)] : ['--http', `127.0.0.1:${port}`];
    const d = track(DaemonProcess.spawn(['serve', '--port', '0', ...flag]));
    expect((await d.ended()).code).toBe(1);
    expect(d.stderr).toContain(`${kind}://127.0.0.1:${port}`);
    expect(d.stderr).toContain('EADDRINUSE');
  });

  // BUG (pinned): with --workers > 1 each socket sets SO_REUSEPORT
  // (native/udp_receiver.cc:55 via OpenSocket(workers > 1) at :90), so a second daemon
  // with workers > 1 binds the port a running one holds and silently takes a
  // share of its traffic instead of failing with EADDRINUSE.
  it('a second daemon on a UDP port held by a multi-worker daemon fails with EADDRINUSE', async () => {
    const first = await start(['serve', '--port', '0', '--workers', '2', '--flush-interval', '60000']);
    const port = first.listening.udp!;
    const second = track(DaemonProcess.spawn(['serve', '--port', String(port), '--workers', '2', '--flush-interval', '60000']));
    const outcome = await Promise.race([second.exited, sleep(1500).then(() => 'still running' as const)]);
    expect(outcome, `second daemon output:\n${second.output}`).not.toBe('still running');
    expect(second.exit?.code).toBe(1);
    expect(second.stderr).toContain('EADDRINUSE');
  });
});

describe('the embedded default (npm start)', () => {
  // `npm start` itself, on its fixed ports, is run by test/integration/quick-start.test.ts (README Quick start (a)).

  it('flushes are printed on stdout every interval; an idle key in its update flush and one more (the fork)', async () => {
    const d = await start(['serve', '--port', '0', '--flush-interval', '300']);
    await sendUdp(d.listening.udp!, ['periodic.c:1|c']);
    // the internal metrics come every flush: wait for three after the key's
    await d.waitFor(() => valuesOf(d.stdout, 'periodic.c').length >= 1 && valuesOf(d.stdout.slice(d.stdout.indexOf('periodic.c')), 'brubeck.metrics').length >= 4, 4000, 'three more flushes on stdout');
    expect(valuesOf(d.stdout, 'periodic.c')).toEqual([1, 0]);
    expect(d.stderr).toMatch(/flushing every 300 ms to stdout carbon/);
  });

  it('--report-idle reports an idle key every flush', async () => {
    const d = await start(['serve', '--port', '0', '--flush-interval', '300', '--report-idle']);
    await sendUdp(d.listening.udp!, ['periodic.c:1|c']);
    await d.waitFor(() => valuesOf(d.stdout, 'periodic.c').length >= 3, 4000, 'three flushes on stdout');
    expect(valuesOf(d.stdout, 'periodic.c').slice(0, 3)).toEqual([1, 0, 0]);
  });
});

describe('HTTP', () => {
  it('/ping, /stats with brubeck field names, /metric/<key>, 404s', async () => {
    const d = await start(['serve', '--port', '0', '--http', '0', '--flush-interval', '60000']);
    const port = d.listening.http!;
    const udp = d.listening.udp!;
    const ping = await httpGet(port, '/ping');
    expect(ping.status).toBe(200);
    expect(ping.headers.connection).toBe('close');
    expect(ping.headers['content-type']).toMatch(/application\/json/);
    expect(ping.json).toEqual({
      version: VERSION,
      pid: d.child.pid,
      status: 'OK',
      metrics_per_second: 0,
      errors_per_second: 0,
      unique_keys: 0,
    });
    expect((await httpGet(port, '/_ping')).json.status).toBe('OK');

    await sendUdp(udp, ['web.c:1|c\nweb.g:-2|g\nweb.t:3|ms\nweb.C:10|C', 'bad line\nweb.x:1|zz\nweb.c:1|c']);
    await ingested(d, port, 5);
    const stats = (await httpGet(port, '/stats')).json;
    for (const field of ['version', 'metrics', 'errors', 'unique_keys', 'backends', 'samplers']) expect(stats).toHaveProperty(field);
    expect(stats.version).toBe(VERSION);
    expect(stats.metrics).toBe(5);
    expect(stats.errors).toBe(2);
    expect(stats.unique_keys).toBe(4);
    // stdout, and the history behind the web view and /render (on with HTTP)
    expect(stats.backends).toHaveLength(2);
    expect(stats.backends[0]).toMatchObject({ type: 'stdout', sample_freq: 60, connected: true });
    expect(stats.backends[1]).toMatchObject({ type: 'history', name: 'history', connected: true });
    expect(stats.history).toMatchObject({ series: 0, points: 60, max_bytes: 256 * 2 ** 20 });
    expect(stats.graphite_api).toMatchObject({ renders: 0, finds: 0 });
    expect(stats.samplers).toEqual([expect.objectContaining({ type: 'statsd', address: '127.0.0.1', port: udp })]);
    expect(stats.samplers[0].datagrams).toBe(2);

    const gauge = await httpGet(port, '/metric/web.g');
    expect(gauge.status).toBe(200);
    expect(gauge.json).toMatchObject({ key: 'web.g', type: 'gauge', expire: 'active' });
    expect((await httpGet(port, '/metric/web.t')).json).toMatchObject({ key: 'web.t', type: 'timer' });
    const missing = await httpGet(port, '/metric/no.such.key');
    expect(missing.status).toBe(404);
    expect((await httpGet(port, '/nothing/here')).status).toBe(404);
    expect((await httpGet(port, '/metric/web%2Eg')).json).toMatchObject({ key: 'web.g' });
  });

  it('/ping reports a disconnected graphite backend', async () => {
    const gone = await receiver();
    const port = gone.port;
    await gone.close();
    receivers.splice(receivers.indexOf(gone), 1);
    const d = await start(['serve', '--port', '0', '--http', '0', '--graphite', `127.0.0.1:${port}`, '--flush-interval', '100']);
    await sendUdp(d.listening.udp!, ['down.c:1|c']);
    await sleep(400);
    const ping = await httpGet(d.listening.http!, '/ping');
    expect(ping.status).toBe(503);
    expect(ping.json.status).toBe('ERROR (backend disconnected)');
    const stats = (await d.stats());
    expect(stats.backends[0]).toMatchObject({ type: 'carbon', connected: false });
    expect(stats.backends[0].backlog).toBeGreaterThan(0);
  });

  // BUG (pinned): src/daemon/http/health.ts calls decodeURIComponent on the raw path
  // inside the request handler; a malformed escape throws URIError, which is
  // uncaught, and the whole daemon dies (and loses its unflushed metrics).
  it('a malformed /metric/%E0%A4%A request is answered, and the daemon keeps running', async () => {
    const d = await start(['serve', '--port', '0', '--http', '0', '--flush-interval', '60000']);
    const port = d.listening.http!;
    const answer = await httpGet(port, '/metric/%E0%A4%A').catch((e: Error) => e);
    await sleep(200);
    expect(d.exit, `daemon died:\n${d.output}`).toBeUndefined();
    expect(answer).not.toBeInstanceOf(Error);
    expect([400, 404]).toContain((answer as { status: number }).status);
    expect((await httpGet(port, '/ping')).status).toBe(200);
  });

  // BUG (pinned, brubeck compatibility): brubeck's /stats backends[] carry
  // {type, sample_freq, connected, address, port, sent|bytes_sent}
  // (shared/reference/brubeck-fripp.md §2.6); src/daemon/http/health.ts has no
  // address and port for a carbon backend.
  it('/stats backends[] of a carbon backend carry brubeck\'s address and port', async () => {
    const carbon = await receiver();
    const d = await start(['serve', '--port', '0', '--http', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '60000']);
    const stats = (await d.stats());
    expect(stats.backends[0]).toMatchObject({ type: 'carbon', address: '127.0.0.1', port: carbon.port });
    expect(stats.backends[0]).toHaveProperty('bytes_sent');
  });

  // BUG (pinned, brubeck compatibility): brubeck's /metric/<key> types are
  // meter (`c`), counter (`C`), gauge, timer, histogram; src/daemon/http/health.ts
  // reports the aggregator's kinds, so `c` shows as "counter" (brubeck's word
  // for `C`) and `C` as "monotonic".
  it('/metric/<key> uses brubeck\'s type names (meter for c, counter for C)', async () => {
    const d = await start(['serve', '--port', '0', '--http', '0', '--flush-interval', '60000']);
    await sendUdp(d.listening.udp!, ['bt.meter:1|c\nbt.counter:5|C']);
    await ingested(d, d.listening.http!, 2);
    expect((await httpGet(d.listening.http!, '/metric/bt.meter')).json.type).toBe('meter');
    expect((await httpGet(d.listening.http!, '/metric/bt.counter')).json.type).toBe('counter');
  });
});

describe('SIGTERM', () => {
  it('delivers a final flush to graphite (metric sent just before the signal) and exits 0', async () => {
    const carbon = await receiver();
    const d = await start(['serve', '--port', '0', '--graphite', `127.0.0.1:${carbon.port}`, '--flush-interval', '60000']);
    await sendUdp(d.listening.udp!, ['last.c:4|c\nlast.g:-9|g\nlast.t:12|ms']);
    // no wait: the datagram is in the socket when the signal is sent
    const exit = await d.stop('SIGTERM');
    expect(exit, d.output).toEqual({ code: 0, signal: null });
    await sleep(50);
    expect(valuesOf(carbon.text, 'last.c')).toEqual([4]);
    expect(valuesOf(carbon.text, 'last.g')).toEqual([-9]);
    expect(valuesOf(carbon.text, 'last.t.count')).toEqual([1]);
    expect(valuesOf(carbon.text, 'last.t.max')).toEqual([12]);
  });

  it('SIGINT does the same', async () => {
    const d = await start(['serve', '--port', '0', '--flush-interval', '60000']);
    await sendUdp(d.listening.udp!, ['int.c:1|c']);
    await sleep(50);
    expect(await d.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'int.c')).toEqual([1]);
  });

  // BUG (pinned): datagrams already queued in the socket when SIGTERM comes
  // are lost. UdpReceiver::Stop (native/udp_receiver.cc:102-110) sets
  // stopping_ and joins; Run (native/udp_receiver.cc:120) leaves its loop at
  // the next check without reading what the socket still holds, and the
  // sockets are closed. Reproduced by stopping the daemon (SIGSTOP) while the
  // datagrams arrive, as a busy daemon would be: only the recvmmsg batches
  // (64 datagrams each) read before the JS thread handles SIGTERM count.
  it('datagrams queued in the socket before SIGTERM are all in the final flush', async (ctx) => {
    const d = await start(['serve', '--port', '0', '--http', '0', '--flush-interval', '60000']);
    const port = d.listening.udp!;
    const granted = (await d.stats()).samplers[0].receive_buffer as number;
    // 200 datagrams of 65000 bytes need ~15-30 MiB of socket buffer (skb overhead included)
    if (granted < 32 << 20) ctx.skip(`the kernel granted only ${granted} bytes of receive buffer (not root?)`);
    d.child.kill('SIGSTOP');
    try {
      // 5000 lines a datagram: each recvmmsg batch of 64 takes the receiver
      // tens of ms, far longer than the JS thread needs to act on SIGTERM
      const datagram = 'queued.c:1|c\n'.repeat(5000);
      await sendUdp(port, Array.from({ length: 200 }, () => datagram));
    } finally {
      d.child.kill('SIGTERM');
      d.child.kill('SIGCONT');
    }
    expect(await d.ended()).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'queued.c')).toEqual([1_000_000]);
  });

  // BUG (pinned): src/commands/serve.ts prints "listening on …" before it
  // installs its SIGTERM/SIGINT handlers (lines 162-163), so a supervisor
  // that stops the daemon as soon as it reports ready kills it with the
  // default action: no final flush, exit by signal instead of code 0.
  // Measured here: about 1 in 8 serial trials, 2 in 3 with 4 in parallel.
  it('SIGTERM right after the listening line still exits 0 through the clean shutdown', async () => {
    const results: string[] = [];
    for (let round = 0; round < 4; round++) {
      const batch = Array.from({ length: 4 }, () => {
        const d = track(DaemonProcess.spawn(['serve', '--port', '0', '--flush-interval', '60000']));
        return d.waitFor(() => /listening on /.test(d.stderr), 10_000, 'the listening line').then(async () => {
          d.child.kill('SIGTERM');
          const exit = await d.ended();
          return exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`;
        });
      });
      results.push(...(await Promise.all(batch)));
    }
    expect(results).toEqual(Array.from({ length: 16 }, () => 'code 0'));
  });
});

describe('inputs', () => {
  it('TCP: lines split across writes are joined; a last line without newline is dropped at end of stream and counted', async () => {
    const d = await start(['serve', '--port', '0', '--tcp-port', '0', '--http', '0', '--flush-interval', '60000']);
    const socket = net.connect({ host: '127.0.0.1', port: d.listening.tcp! });
    socket.setNoDelay(true);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const chunks = ['split.a:1', '|c\nsplit.a:2|c\nsplit.g:-', '5|g\nsplit.t:1', '0|ms\nsplit.t:2', '0|ms\nbad:line\nsplit.a:4|c'];
    for (const chunk of chunks) {
      await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
      await sleep(30); // separate segments, separate 'data' events
    }
    socket.end();
    await new Promise((resolve) => socket.once('close', resolve));
    await ingested(d, d.listening.http!, 5);
    // Only '\n' ends a line: the unterminated `split.a:4|c` could be the cut
    // front of a longer line, so a clean close does not make it whole.
    let stats = await d.stats();
    await until(async () => (stats = await d.stats()).tcp.connections === 0, 5000, 'the connection to close');
    expect(stats.errors).toBe(1);
    expect(stats.tcp).toMatchObject({ connections: 0, truncated_lines: 1 });
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'split.a')).toEqual([3]);
    expect(valuesOf(d.stdout, 'split.g')).toEqual([-5]);
    expect(valuesOf(d.stdout, 'split.t.count')).toEqual([2]);
    expect(valuesOf(d.stdout, 'split.t.min')).toEqual([10]);
    expect(valuesOf(d.stdout, 'split.t.max')).toEqual([20]);
  });

  it('TCP: many connections at once, each with its own partial lines', async () => {
    const d = await start(['serve', '--port', '0', '--tcp-port', '0', '--http', '0', '--flush-interval', '60000']);
    const sockets = await Promise.all(
      Array.from({ length: 5 }, () => {
        const s = net.connect({ host: '127.0.0.1', port: d.listening.tcp! });
        s.setNoDelay(true);
        return new Promise<net.Socket>((resolve) => s.once('connect', () => resolve(s)));
      }),
    );
    // interleave halves of lines across connections
    for (const s of sockets) s.write('multi.c:');
    await sleep(30);
    for (const s of sockets) s.write('2|c\nmulti.c:');
    await sleep(30);
    for (const s of sockets) s.end('3|c\n');
    await ingested(d, d.listening.http!, 10);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'multi.c')).toEqual([25]);
  });

  it('unix datagram socket: datagrams sent with the addon arrive', async () => {
    const socketPath = path.join(dir(), 'statsd.sock');
    const d = await start(['serve', '--port', '0', '--unix', socketPath, '--http', '0', '--flush-interval', '60000']);
    expect(d.listening.unix).toBe(socketPath);
    expect(fs.statSync(socketPath).isSocket()).toBe(true);
    const client = new native.UnixDatagram();
    closers.push(() => client.close());
    expect(client.connect(socketPath)).toBe(0);
    expect(client.send(Buffer.from('ux.c:2|c\nux.g:-7|g'))).toBe(0);
    expect(client.send(Buffer.from('ux.c:3|c\nux.t:1.5|ms\nnot valid'))).toBe(0);
    await ingested(d, d.listening.http!, 4);
    expect((await d.stats()).errors).toBe(1);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'ux.c')).toEqual([5]);
    expect(valuesOf(d.stdout, 'ux.g')).toEqual([-7]);
    expect(valuesOf(d.stdout, 'ux.t.max')).toEqual([1.5]);
    expect(fs.existsSync(socketPath)).toBe(false); // removed on exit
  });

  // BUG (pinned): --unix PATH unlinks whatever is at PATH before binding
  // (native/udp_receiver.cc:66, `if (options_.unix_socket) unlink(...)`),
  // so pointing it at a regular file deletes the file. Node's own servers
  // fail with EADDRINUSE instead; a socket file left by a dead daemon is the
  // only thing that should be removed.
  it('--unix PATH on an existing regular file fails and keeps the file', async () => {
    const file = path.join(dir(), 'precious.txt');
    fs.writeFileSync(file, 'keep me\n');
    const d = track(DaemonProcess.spawn(['serve', '--port', '0', '--unix', file, '--flush-interval', '60000']));
    const outcome = await Promise.race([d.exited, sleep(1500).then(() => 'still running' as const)]);
    const kept = fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : 'gone (replaced by a socket)';
    expect(kept).toBe('keep me\n');
    expect(outcome).not.toBe('still running');
    expect(d.exit?.code).toBe(1);
  });
});

describe('flush schedule', () => {
  // With alignFlush every flush happens at (or just after, never before) a
  // wall-clock multiple of the interval, once per multiple. Node's timers can
  // fire up to a millisecond early; the schedule re-arms instead of flushing
  // the ending interval twice. Timers run late on a loaded machine, so the
  // check allows lateness up to half an interval.
  it('--align: exactly one flush per aligned interval, never early', async () => {
    const interval = 250;
    const server = new StatsdServer({ sinks: [], flushInterval: interval, alignFlush: true });
    const at: number[] = [];
    server.on('flush', () => at.push(Date.now()));
    await server.start();
    await sleep(2600);
    server.removeAllListeners('flush');
    await server.stop();
    expect(at.length).toBeGreaterThanOrEqual(8);
    const phases = at.map((t) => t % interval);
    expect(phases.every((p) => p < interval / 2), `phases (ms past a boundary): ${phases.join(',')}`).toBe(true);
    const buckets = at.map((t) => Math.floor(t / interval));
    expect(new Set(buckets).size, `buckets: ${buckets.join(',')}`).toBe(at.length);
  });
});
