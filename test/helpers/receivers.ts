// Real statsd receivers on loopback for emitter tests: UDP (v4/v6), TCP and
// unix stream (net servers), unix datagram (the addon's UnixDatagram, polled).
// Each keeps what arrived; waitFor() polls until a condition holds.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { native } from '../../src/core/native';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 5 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Polls the async `done` every 50 ms; rejects with `what` after `timeoutMs`. */
export async function until(done: () => Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(50);
  }
}

/** A fresh directory under the OS temp dir, for socket paths (short: sun_path is 108 bytes). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sne-'));
}

export class UdpReceiver {
  readonly datagrams: Buffer[] = [];
  readonly #socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (m) => this.datagrams.push(m));
  }

  /** Binds 127.0.0.1:0 (or ::1:0 for 'udp6') with a large receive buffer; rejects if binding fails. */
  static async start(type: 'udp4' | 'udp6' = 'udp4', port = 0): Promise<UdpReceiver> {
    const socket = dgram.createSocket({ type, recvBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpReceiver(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** `host:port` for an emitter ([::1]:port for v6). */
  get endpoint(): string {
    const { address, port } = this.#socket.address();
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  get texts(): string[] {
    return this.datagrams.map((d) => d.toString('utf8'));
  }

  /** Every line of every datagram, in arrival order. */
  get lines(): string[] {
    return this.texts.flatMap((t) => t.split('\n'));
  }

  clear(): void {
    this.datagrams.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** A TCP or unix stream server: keeps every byte received, per connection and in total. */
export class StreamReceiver {
  readonly chunks: Buffer[] = [];
  connections = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
    server.on('connection', (socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.on('data', (d: Buffer) => this.chunks.push(d));
      socket.on('error', () => {});
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1:`port` (0 = free port), or on a unix socket path. */
  static async start(where: { port: number } | { path: string }): Promise<StreamReceiver> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const ready = () => {
        server.off('error', reject);
        resolve();
      };
      if ('path' in where) server.listen(where.path, ready);
      else server.listen(where.port, '127.0.0.1', ready);
    });
    return new StreamReceiver(server);
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Complete lines received ('\n'-terminated); a partial last line is left out. */
  get lines(): string[] {
    const t = this.text;
    const end = t.lastIndexOf('\n');
    return end < 0 ? [] : t.slice(0, end).split('\n');
  }

  clear(): void {
    this.chunks.length = 0;
  }

  /** Stops listening and drops every open connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A unix datagram receiver through the addon (node's dgram has none); polled. */
export class UnixDatagramReceiver {
  readonly datagrams: Buffer[] = [];
  readonly path: string;
  readonly #socket = new native.UnixDatagram();
  readonly #timer: NodeJS.Timeout;

  constructor(socketPath: string) {
    this.path = socketPath;
    const errno = this.#socket.bind(socketPath, 1 << 20);
    if (errno !== 0) throw new Error(`bind ${socketPath}: errno ${errno}`);
    this.#timer = setInterval(() => this.poll(), 2);
  }

  /** Reads every waiting datagram. */
  poll(): void {
    for (;;) {
      const r = this.#socket.receive();
      if (typeof r === 'number') return;
      this.datagrams.push(r);
    }
  }

  get texts(): string[] {
    return this.datagrams.map((d) => d.toString('utf8'));
  }

  get lines(): string[] {
    return this.texts.flatMap((t) => t.split('\n'));
  }

  close(): void {
    clearInterval(this.#timer);
    this.#socket.close();
  }
}
