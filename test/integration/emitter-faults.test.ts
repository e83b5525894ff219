// The emitter under network faults (DESIGN §6: "never throws from a metric call
// on bad network state; errors go to an error event and counters; timers and
// sockets unref'd"): absent receivers, a restarted TCP server, a restarted
// unix datagram receiver, an unresolvable host, and processes that must exit.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Emitter, type EmitterOptions } from '../../src';
import { StreamReceiver, UdpReceiver, UnixDatagramReceiver, sleep, tempDir, waitFor } from '../helpers/receivers';

const ROOT = path.join(__dirname, '..', '..');

const open: Emitter[] = [];
const dirs: string[] = [];

function emitter(options: EmitterOptions): { e: Emitter; errors: (Error & { code?: string })[] } {
  const e = new Emitter({ flushInterval: 60_000, env: {}, ...options });
  open.push(e);
  const errors: (Error & { code?: string })[] = [];
  e.on('error', (error: Error) => errors.push(error));
  return { e, errors };
}

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A loopback TCP port nobody listens on (bound, then released). */
async function closedTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function closedUdpPort(): Promise<number> {
  const rx = await UdpReceiver.start('udp4');
  const port = rx.port;
  await rx.close();
  return port;
}

/** Sends one line per round, flushing each; returns the number of lines. */
async function sendRounds(e: Emitter, rounds: number, gapMs: number): Promise<number> {
  for (let i = 0; i < rounds; i++) {
    e.increment(`round${i}`);
    await e.flush();
    await sleep(gapMs);
  }
  return rounds;
}

describe('receiver absent', () => {
  it('UDP to a closed port: no throw, flush resolves, every line accounted for', async () => {
    const { e } = emitter({ endpoint: `127.0.0.1:${await closedUdpPort()}` });
    const lines = await sendRounds(e, 4, 20);
    const s = e.stats;
    expect(s.sent + s.dropped).toBe(lines);
  });

  // Gap (pinned): the UDP socket is not connected, so Linux never reports the
  // ICMP port-unreachable the kernel receives; a connected dgram socket gets
  // ECONNREFUSED on the next send. The brief asks that this be counted.
  it('UDP to a closed port: the refusal is counted in stats and reaches the error listener', async () => {
    const { e, errors } = emitter({ endpoint: `127.0.0.1:${await closedUdpPort()}` });
    await sendRounds(e, 5, 30);
    expect(e.stats.errors + e.stats.dropped).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('TCP to a closed port: no throw, errors counted and emitted, lines dropped at close', async () => {
    const { e, errors } = emitter({ endpoint: `tcp://127.0.0.1:${await closedTcpPort()}` });
    e.increment('a');
    e.gauge('g', -1); // two wire lines
    await e.flush(); // resolves although nothing can be written
    await waitFor(() => errors.length > 0, 2000, 'an ECONNREFUSED error event');
    expect(errors[0]!.code).toBe('ECONNREFUSED');
    expect(e.stats.errors).toBeGreaterThanOrEqual(errors.length);
    expect(e.stats.sent).toBe(0);
    await e.close();
    expect(e.stats).toMatchObject({ sent: 0, dropped: 3, packets: 0 });
  });

  it('TCP queue is bounded by maxQueueBytes: the oldest packets are dropped and counted', async () => {
    const { e } = emitter({ endpoint: `tcp://127.0.0.1:${await closedTcpPort()}`, maxQueueBytes: 200 });
    for (let i = 0; i < 50; i++) {
      e.increment(`key${i}`, 1); // ~12 bytes a packet
      await e.flush();
    }
    // 50 packets of ~12 bytes cannot all wait in 200 bytes
    expect(e.stats.dropped).toBeGreaterThanOrEqual(30);
    await e.close();
    expect(e.stats.dropped).toBe(50);
    expect(e.stats.sent).toBe(0);
  });

  it('unix datagram path missing: ENOENT to the listener, lines dropped and counted', async () => {
    const missing = path.join(dir(), 'nobody.sock');
    const { e, errors } = emitter({ endpoint: `unix://${missing}` });
    e.increment('a');
    e.timing('t', 1);
    await e.flush();
    expect(errors.map((x) => x.code)).toEqual(['ENOENT']);
    expect(e.stats).toMatchObject({ sent: 0, dropped: 2, errors: 1 });
  });

  it('unix stream path missing: ENOENT to the listener, lines dropped at close', async () => {
    const missing = path.join(dir(), 'nobody.sock');
    const { e, errors } = emitter({ endpoint: `unixstream://${missing}` });
    e.increment('a');
    await e.flush();
    await waitFor(() => errors.length > 0, 2000, 'an ENOENT error event');
    expect(errors[0]!.code).toBe('ENOENT');
    await e.close();
    expect(e.stats).toMatchObject({ sent: 0, dropped: 1 });
    expect(e.stats.errors).toBeGreaterThanOrEqual(1);
  });

  it('unresolvable host: an error event (ENOTFOUND), no throw, lines dropped', async () => {
    const { e, errors } = emitter({ endpoint: 'does-not-exist.invalid:8125' });
    expect(() => e.increment('a')).not.toThrow();
    await e.flush();
    await waitFor(() => errors.length > 0, 8000, 'a DNS error event');
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(errors[0]!.code);
    expect(e.stats).toMatchObject({ sent: 0, dropped: 1 });
    expect(e.stats.errors).toBeGreaterThanOrEqual(1);
  });

  it('without an error listener none of these crash the process', async () => {
    const udpPort = await closedUdpPort();
    const tcpPort = await closedTcpPort();
    const d = dir();
    const endpoints = [
      `127.0.0.1:${udpPort}`,
      `tcp://127.0.0.1:${tcpPort}`,
      `unix://${path.join(d, 'x.sock')}`,
      `unixstream://${path.join(d, 'y.sock')}`,
      'does-not-exist.invalid:8125',
    ];
    const emitters = endpoints.map((endpoint) => {
      const e = new Emitter({ endpoint, flushInterval: 0, env: {} });
      open.push(e);
      return e;
    });
    for (const e of emitters) {
      expect(e.listenerCount('error')).toBe(0);
      e.increment('a');
      e.gauge('b', 2);
      await e.flush();
    }
    await sleep(300);
    expect(emitters.slice(1).every((e) => e.stats.errors > 0)).toBe(true);
  });
});

describe('receiver restarted', () => {
  it('TCP server restarted: the emitter reconnects and later metrics arrive', async () => {
    const first = await StreamReceiver.start({ port: 0 });
    const port = first.port;
    const { e, errors } = emitter({ endpoint: `tcp://127.0.0.1:${port}` });
    e.increment('before');
    await e.flush();
    await waitFor(() => first.lines.includes('before:1|c'), 2000, 'the first line');
    await first.close(); // drops the connection and stops listening
    // while the server is away: sends queue, connects are refused
    for (let i = 0; i < 4; i++) {
      e.increment('while.down');
      await e.flush();
      await sleep(80);
    }
    expect(errors.some((x) => x.code === 'ECONNREFUSED')).toBe(true);
    const second = await StreamReceiver.start({ port });
    try {
      const deadline = Date.now() + 8000;
      while (!second.lines.includes('after:1|c') && Date.now() < deadline) {
        e.increment('after');
        await e.flush();
        await sleep(100);
      }
      expect(second.lines).toContain('after:1|c');
      expect(second.connections).toBe(1);
      // what was queued while down arrives too (bounded queue, not dropped)
      expect(second.lines.some((l) => l.startsWith('while.down:'))).toBe(true);
      expect(second.text.endsWith('\n')).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('unix datagram receiver restarted: sends fail and count, then arrive again', async () => {
    const socketPath = path.join(dir(), 'r.sock');
    let rx = new UnixDatagramReceiver(socketPath);
    const { e, errors } = emitter({ endpoint: `unix://${socketPath}` });
    e.increment('one');
    await e.flush();
    await waitFor(() => rx.lines.includes('one:1|c'), 2000, 'the first datagram');
    rx.close(); // unlinks the path
    e.increment('lost');
    await e.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect(e.stats.dropped).toBe(1);
    rx = new UnixDatagramReceiver(socketPath);
    try {
      const deadline = Date.now() + 4000;
      while (!rx.lines.includes('two:1|c') && Date.now() < deadline) {
        e.increment('two');
        await e.flush();
        await sleep(100);
      }
      expect(rx.lines).toContain('two:1|c');
      expect(rx.lines).not.toContain('lost:1|c');
    } finally {
      rx.close();
    }
  });
});

// ------------------------------------------------------------------ processes

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  output: string;
}

/** Runs `node -e code` from the repo root (require('statsd-native') → dist/); kills it after 5 s. */
function runChild(code: string): Promise<ChildResult> {
  const started = Date.now();
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  return new Promise((resolve) => {
    child.on('exit', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ code: exitCode, signal, ms: Date.now() - started, output });
    });
  });
}

describe('a process with an emitter exits by itself', () => {
  it('UDP, flushInterval 1000, a metric sent, never closed: exits within 2 s', async () => {
    const rx = await UdpReceiver.start('udp4');
    try {
      const r = await runChild(`
        const { Emitter } = require('statsd-native');
        const e = new Emitter({ endpoint: '${rx.endpoint}', flushInterval: 1000 });
        e.increment('child');
        e.flush().then(() => { e.increment('pending'); console.log('sent'); });
      `);
      expect(r.output.trim()).toBe('sent');
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(2000);
      await waitFor(() => rx.lines.includes('child:1|c'), 2000, 'the child metric');
    } finally {
      await rx.close();
    }
  });

  it('TCP connected to a live server, flushInterval 1000, never closed: exits within 2 s', async () => {
    const rx = await StreamReceiver.start({ port: 0 });
    try {
      const r = await runChild(`
        const { Emitter } = require('statsd-native');
        const e = new Emitter({ endpoint: 'tcp://127.0.0.1:${rx.port}', flushInterval: 1000 });
        e.increment('child');
        e.flush().then(() => { e.gauge('pending', 1); console.log('sent'); });
      `);
      expect(r.output.trim()).toBe('sent');
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(2000);
      await waitFor(() => rx.lines.includes('child:1|c'), 2000, 'the child metric');
    } finally {
      await rx.close();
    }
  });

  it('TCP to a closed port (reconnect timer pending), never closed: exits within 2 s', async () => {
    const port = await closedTcpPort();
    const r = await runChild(`
      const { Emitter } = require('statsd-native');
      const e = new Emitter({ endpoint: 'tcp://127.0.0.1:${port}', flushInterval: 1000 });
      e.increment('child');
      e.flush().then(() => setTimeout(() => { e.increment('x'); e.flush(); console.log('queued'); }, 150));
    `);
    expect(r.output.trim()).toBe('queued');
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(2000);
  });

  it('unix datagram and unresolvable host, never closed: exit within 2 s, no crash without a listener', async () => {
    const d = dir();
    const r = await runChild(`
      const { Emitter } = require('statsd-native');
      const a = new Emitter({ endpoint: 'unix://${path.join(d, 'none.sock')}', flushInterval: 1000 });
      const b = new Emitter({ endpoint: 'does-not-exist.invalid:8125', flushInterval: 1000 });
      a.increment('x'); b.increment('x');
      Promise.all([a.flush(), b.flush()]).then(() => console.log('done'));
    `);
    expect(r.output.trim()).toBe('done');
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(2000);
  });

  it('await close() in a script delivers the metric and exits', async () => {
    const rx = await UdpReceiver.start('udp4');
    try {
      const r = await runChild(`
        const { Emitter } = require('statsd-native');
        const e = new Emitter({ endpoint: '${rx.endpoint}', flushInterval: 1000 });
        e.timing('closing', 5);
        e.close();
      `);
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(2000);
      await waitFor(() => rx.lines.includes('closing:5|ms'), 2000, 'the metric sent by close()');
    } finally {
      await rx.close();
    }
  });

  // BUG (pinned): with flushInterval 0 ("immediate, like fripp's period 0") the
  // batch waits for an unref'd setImmediate, so a script that records a metric
  // and ends exits before sending it. fripp's immediate mode sends at the call.
  it('flushInterval 0: a metric recorded just before the script ends is sent', async () => {
    const rx = await UdpReceiver.start('udp4');
    try {
      const r = await runChild(`
        const { Emitter } = require('statsd-native');
        const e = new Emitter({ endpoint: '${rx.endpoint}', flushInterval: 0 });
        e.increment('immediate');
      `);
      expect(r.code).toBe(0);
      await sleep(200);
      expect(rx.lines).toEqual(['immediate:1|c']);
    } finally {
      await rx.close();
    }
  });
});
