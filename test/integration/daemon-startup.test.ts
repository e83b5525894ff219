// What the daemon refuses to start with, through its real command line: a
// socket another process is live on at --unix PATH (a stale one is reused),
// a --shutdown-timeout Node's timers cannot hold, a JS config whose reading
// never ends. Each refusal is one line on stderr and exit code 1.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { native } from '../../src/core/native';
import { DaemonProcess, type Exit, httpGet } from '../helpers/daemon-cli';
import { sleep, tempDir } from '../helpers/receivers';

const daemons: DaemonProcess[] = [];
const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];

function spawnDaemon(args: string[]): DaemonProcess {
  const d = DaemonProcess.spawn(args);
  daemons.push(d);
  return d;
}
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  for (const c of closers.splice(0)) await c();
});

afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** The daemon's exit, or 'listening' if it printed its start-up line first. */
async function outcome(d: DaemonProcess, timeoutMs = 15_000): Promise<Exit | 'listening'> {
  await d.waitFor(() => d.exit !== undefined || /listening on /.test(d.stderr), timeoutMs, 'an exit or the listening line').catch(() => {});
  if (d.exit) return d.exit;
  if (/listening on /.test(d.stderr)) return 'listening';
  throw new Error(`neither exited nor listening within ${timeoutMs} ms\n${d.output}`);
}

/** A unix stream server at `socketPath` that greets each connection. */
async function streamServer(socketPath: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end('hello\n'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

/** What a stream connection to `socketPath` reads before the end, or the connect error's code. */
function greeting(socketPath: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/**
 * Leaves a socket file nobody listens on, as a process killed with SIGKILL
 * does: a Node stream server, or the daemon's own datagram socket.
 */
async function staleSocket(socketPath: string, kind: 'stream' | 'datagram'): Promise<void> {
  if (kind === 'datagram') {
    const d = spawnDaemon(['serve', '--port', '0', '--unix', socketPath, '--flush-interval', '60000']);
    await d.ready();
    await d.stop('SIGKILL');
  } else {
    const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const first = await new Promise<string>((resolve) => {
      child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      child.once('exit', () => resolve('exited'));
    });
    child.kill('SIGKILL');
    await exited;
    expect(first).toBe('up');
  }
  expect(fs.statSync(socketPath).isSocket()).toBe(true);
}

describe('--unix PATH', () => {
  // BUG (fixed): the liveness probe connected a datagram socket, got
  // EPROTOTYPE from a stream socket and took the path for stale: the daemon
  // unlinked another process's live socket and bound its own there.
  it('a live stream socket at PATH: exit 1 with EADDRINUSE, the other server still accepts', async () => {
    const socketPath = path.join(dir(), 'stream.sock');
    await streamServer(socketPath);
    expect(await greeting(socketPath)).toBe('hello\n');
    const d = spawnDaemon(['serve', '--port', '0', '--unix', socketPath, '--flush-interval', '60000']);
    expect(await outcome(d), d.output).toEqual({ code: 1, signal: null });
    expect(d.stderr).toContain(`cannot listen on unix://${socketPath}: EADDRINUSE`);
    expect(d.stderr).not.toMatch(/\n\s+at /);
    expect(await greeting(socketPath)).toBe('hello\n');
  });

  it('a live datagram socket at PATH: exit 1 with EADDRINUSE, the socket is kept', async () => {
    const socketPath = path.join(dir(), 'dgram.sock');
    const holder = new native.UnixDatagram();
    expect(holder.bind(socketPath, 0)).toBe(0);
    closers.push(() => holder.close());
    const d = spawnDaemon(['serve', '--port', '0', '--unix', socketPath, '--flush-interval', '60000']);
    expect(await outcome(d), d.output).toEqual({ code: 1, signal: null });
    expect(d.stderr).toContain(`cannot listen on unix://${socketPath}: EADDRINUSE`);
    const client = new native.UnixDatagram();
    closers.push(() => client.close());
    expect(client.connect(socketPath)).toBe(0);
    expect(client.send(Buffer.from('still.mine:1|c'))).toBe(0); // queued at the holder when it returns
    const got = holder.receive();
    expect(Buffer.isBuffer(got) ? got.toString() : got).toBe('still.mine:1|c');
  });

  it.each(['stream', 'datagram'] as const)('a stale %s socket file at PATH (its process killed) is replaced', async (kind) => {
    const socketPath = path.join(dir(), `stale-${kind}.sock`);
    await staleSocket(socketPath, kind);
    const d = spawnDaemon(['serve', '--port', '0', '--unix', socketPath, '--http', '0', '--flush-interval', '60000']);
    expect(await outcome(d), d.output).toBe('listening');
    const client = new native.UnixDatagram();
    closers.push(() => client.close());
    expect(client.connect(socketPath)).toBe(0);
    expect(client.send(Buffer.from('stale.reused:1|c'))).toBe(0);
    const deadline = Date.now() + 10_000;
    let metrics = 0;
    while (metrics < 1 && Date.now() < deadline) {
      metrics = ((await httpGet(d.listening.http!, '/stats')).json as { metrics: number }).metrics;
      if (metrics < 1) await sleep(20);
    }
    expect(metrics).toBe(1);
  });
});

describe('--shutdown-timeout', () => {
  // BUG (fixed): values above 2^31 - 1 ms overflow Node's timers, which then
  // fire after 1 ms: the daemon gave up on carbon at once instead of waiting.
  it.each(['2147483648', '4294967344', '99999999999999'])('%s ms is refused with exit 1 and a message', async (ms) => {
    const d = spawnDaemon(['serve', '--port', '0', '--shutdown-timeout', ms]);
    expect(await outcome(d), d.output).toEqual({ code: 1, signal: null });
    expect(d.stderr).toContain(`--shutdown-timeout expects milliseconds from 0 to 2147483647, not "${ms}"`);
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });

  it('2147483647 ms (the longest timer) is taken: with carbon down, SIGTERM waits', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const deadPort = (holder.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => holder.close(() => resolve())); // nobody listens there now
    const d = spawnDaemon(['serve', '--port', '0', '--http', '0', '--graphite', `127.0.0.1:${deadPort}`, '--flush-interval', '60000', '--shutdown-timeout', '2147483647']);
    expect(await outcome(d), d.output).toBe('listening');
    await d.ready();
    d.child.kill('SIGTERM');
    // The last flush cannot be delivered: the daemon keeps waiting for carbon.
    await sleep(1500);
    expect(d.exit, d.output).toBeUndefined();
  });
});

describe('a JS config whose reading never ends', () => {
  // BUG (fixed): the file was evaluated within a time limit, but its values
  // were read afterwards, outside it: a getter or Proxy trap that loops hung
  // start-up at 100% CPU with no message.
  it.each([
    ['a getter that loops', '{\n  port: 0,\n  get flushInterval() { for (;;) {} },\n}\n'],
    ['a Proxy whose get trap loops', 'new Proxy({ port: 0 }, { get() { for (;;) {} } })\n'],
    ['a Proxy whose ownKeys trap loops', 'new Proxy({ port: 0 }, { ownKeys() { for (;;) {} } })\n'],
    ['a nested getter that loops', '{ port: 0, graphite: { get globalPrefix() { while (true) {} } } }\n'],
  ])('%s: exit 1 within seconds, with a message naming the file', async (_what, content) => {
    const file = path.join(dir(), 'config.js');
    fs.writeFileSync(file, content);
    const d = spawnDaemon(['serve', '--config', file]);
    expect(await outcome(d), d.output).toEqual({ code: 1, signal: null });
    expect(d.stderr).toContain(`statsd-native: ${file}: reading the config took over 1000 ms`);
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });
});
