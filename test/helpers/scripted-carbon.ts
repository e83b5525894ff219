// A carbon stand-in on loopback whose faults a test scripts: it can stop
// reading (a slow or stuck carbon), reset a connection after a number of bytes
// (carbon dying mid-flush), or go away and come back on the same port. It keeps
// every byte per connection, in arrival order, and parses plaintext lines.
import * as net from 'node:net';

import { parseCarbon } from './carbon-sink';

export interface Datapoint {
  name: string;
  value: number;
  timestamp: number;
}

export class ScriptedCarbon {
  /** What each connection delivered, in the order they were accepted. */
  readonly connections: { chunks: Buffer[]; bytes: number; reset: boolean; socket: net.Socket }[] = [];
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  #paused = false;
  #resetAfter: number | undefined;
  #throttle: { bytes: number; everyMs: number } | undefined;
  port = 0;

  /** Listens on 127.0.0.1:`port` (0: a free one). */
  static async start(port = 0): Promise<ScriptedCarbon> {
    const carbon = new ScriptedCarbon();
    await carbon.listen(port);
    return carbon;
  }

  /** (Re)opens the listening socket on the same port as before, or on `port`. */
  async listen(port = this.port): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Stops listening and drops every connection: carbon is down. */
  async down(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops reading: the kernel buffers fill and the sender's writes stall. */
  pause(): void {
    this.#paused = true;
    for (const s of this.#sockets) s.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#throttle = undefined;
    for (const s of this.#sockets) s.resume();
  }

  /** Reads at most `bytes` per `everyMs` (a slow carbon). */
  throttle(bytes: number, everyMs: number): void {
    this.#throttle = { bytes, everyMs };
  }

  /** Resets (RST) every open connection now; what they had not read is lost, as when carbon dies. */
  resetAll(): void {
    for (const s of this.#sockets) {
      const c = this.connections.find((x) => x.socket === s);
      if (c) c.reset = true;
      s.resetAndDestroy();
    }
  }

  /** The next connection is reset (RST) once it has delivered `bytes`. */
  resetNextAfter(bytes: number): void {
    this.#resetAfter = bytes;
  }

  /** Connections not closed yet. */
  get open(): number {
    return this.#sockets.size;
  }

  get bytes(): number {
    return this.connections.reduce((n, c) => n + c.bytes, 0);
  }

  /** Every plaintext datapoint received, over all connections, in order. */
  datapoints(): Datapoint[] {
    const out: Datapoint[] = [];
    for (const c of this.connections) {
      const text = Buffer.concat(c.chunks).toString('utf8');
      // A reset connection may end inside a line: only whole lines count.
      for (const l of parseCarbon(text.slice(0, text.lastIndexOf('\n') + 1))) {
        out.push({ name: l.name, value: Number(l.value), timestamp: l.timestamp });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.down();
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    const connection = { chunks: [] as Buffer[], bytes: 0, reset: false, socket };
    this.connections.push(connection);
    const resetAfter = this.#resetAfter;
    this.#resetAfter = undefined;
    socket.on('data', (chunk: Buffer) => {
      connection.chunks.push(chunk);
      connection.bytes += chunk.length;
      if (resetAfter !== undefined && connection.bytes >= resetAfter) {
        connection.reset = true;
        socket.resetAndDestroy();
        return;
      }
      const t = this.#throttle;
      if (t && connection.bytes > 0) {
        socket.pause();
        setTimeout(() => {
          if (!this.#paused && !socket.destroyed) socket.resume();
        }, (t.everyMs * chunk.length) / t.bytes);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
    if (this.#paused) socket.pause();
  }
}
