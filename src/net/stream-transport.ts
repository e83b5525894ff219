// StreamTransport: an emitter's TCP or unix stream transport.
/// <reference types="node" preserve="true" />
import * as net from 'node:net';

import { DEFAULT_TIMEOUT, Idle, type Transport, type TransportEvents, type TransportOptions, delay, wrap } from './transport-common';

/** TCP or unix stream: newline-framed, reconnect with backoff, bounded queue. */
export class StreamTransport implements Transport {
  readonly stream = true;
  readonly #connectOptions: net.NetConnectOpts;
  readonly #url: string;
  readonly #events: TransportEvents;
  readonly #maxQueueBytes: number;
  #socket: net.Socket | undefined;
  #connected = false;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #backoff = 100;
  #retryAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #idle = new Idle();

  constructor(connectOptions: net.NetConnectOpts, url: string, events: TransportEvents, options: TransportOptions) {
    this.#connectOptions = connectOptions;
    this.#url = url;
    this.#events = events;
    this.#maxQueueBytes = options.maxQueueBytes;
  }

  send(packets: readonly Buffer[]): void {
    if (this.#closed) {
      this.#events.dropped(packets);
      return;
    }
    for (const p of packets) {
      this.#queue.push(p);
      this.#queuedBytes += p.length;
    }
    // Bounded: the oldest packets go first when the server cannot keep up.
    const over: Buffer[] = [];
    while (this.#queuedBytes > this.#maxQueueBytes && this.#queue.length > 0) {
      const p = this.#queue.shift()!;
      this.#queuedBytes -= p.length;
      over.push(p);
    }
    if (over.length) this.#events.dropped(over);
    if (this.#connected) this.#drain();
    else this.#connect();
  }

  #connect(): void {
    if (this.#socket !== undefined || this.#timer !== undefined || this.#closed) return;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#connect();
      }, wait);
      this.#timer.unref();
      return;
    }
    const socket = net.connect(this.#connectOptions);
    this.#socket = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#backoff = 100;
      this.#drain();
    });
    socket.on('drain', () => this.#drain());
    socket.on('error', (error) => this.#events.error(wrap(`${this.#connected ? 'send to' : 'connect to'} ${this.#url}`, error)));
    socket.on('close', () => {
      this.#socket = undefined;
      this.#connected = false;
      this.#retryAt = Date.now() + this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, 10_000);
      if (this.#queue.length > 0) this.#connect();
      this.#idle.wake();
    });
  }

  #drain(): void {
    const socket = this.#socket;
    while (socket && this.#connected && this.#queue.length > 0 && !socket.writableNeedDrain) {
      const p = this.#queue.shift()!;
      this.#queuedBytes -= p.length;
      socket.write(p, (error) => {
        if (error) this.#events.dropped([p]);
        else this.#events.sent(p);
        if (this.#isIdle()) this.#idle.wake();
      });
    }
    if (this.#isIdle()) this.#idle.wake();
  }

  #isIdle(): boolean {
    if (!this.#connected) return this.#socket === undefined; // nothing more can happen now
    return this.#queue.length === 0 && (this.#socket?.writableLength ?? 0) === 0;
  }

  flush(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    return this.#idle.wait(this.#isIdle() || this.#closed, timeoutMs);
  }

  /**
   * Waits for the queue and the socket's buffer to be written (timeoutMs at
   * most), then drops what is left. A server that accepted and stopped
   * reading (or was stopped) holds the socket's buffer: the socket is then
   * destroyed, and the writes it held report themselves dropped. Otherwise it
   * ends with a FIN, given a second before it is destroyed.
   */
  async close(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    if (this.#closed) return;
    await this.flush(timeoutMs);
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length) this.#events.dropped(this.#queue.splice(0));
    this.#queuedBytes = 0;
    const socket = this.#socket;
    if (socket) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (socket.writableLength > 0 || !this.#connected) socket.destroy();
      else socket.end();
      await Promise.race([closed, delay(1000)]);
      socket.destroy();
    }
    this.#idle.wake();
  }
}
