// UnixDatagramTransport: an emitter's unix datagram transport, via the addon.
/// <reference types="node" preserve="true" />
import * as os from 'node:os';

import { native, type NativeUnixDatagram } from '../core/native';
import { Pacer } from './pacer';
import { DEFAULT_TIMEOUT, Idle, type Transport, type TransportEvents, type TransportOptions, errnoError } from './transport-common';

/**
 * Unix datagram through the addon; sends are synchronous and never block, and
 * are paced like UDP's (a receiver's queue holds net.unix.max_dgram_qlen
 * datagrams, often 512: past it a send fails with EAGAIN).
 */
export class UnixDatagramTransport implements Transport {
  readonly stream = false;
  readonly #path: string;
  readonly #events: TransportEvents;
  readonly #socket: NativeUnixDatagram = new native.UnixDatagram();
  readonly #pacer: Pacer;
  readonly #idle = new Idle();
  #connected = false;
  #retryAt = 0;

  constructor(path: string, events: TransportEvents, options: TransportOptions) {
    this.#path = path;
    this.#events = events;
    this.#pacer = new Pacer(options.sendWindow ?? 0, options.maxQueueBytes, (p) => this.#sendOne(p), (p) => events.dropped(p));
    this.#pacer.onEmpty = () => this.#idle.wake();
    this.#pacer.resume();
  }

  send(packets: readonly Buffer[]): void {
    if (!this.#connected && !this.#connect()) {
      this.#events.dropped(packets);
      return;
    }
    this.#pacer.add(packets);
  }

  #sendOne(p: Buffer): void {
    if (!this.#connected) {
      this.#events.dropped([p]);
      return;
    }
    const errno = this.#socket.send(p);
    if (errno === 0) {
      this.#events.sent(p);
      return;
    }
    this.#events.error(errnoError(errno, `send to unix://${this.#path}`));
    this.#events.dropped([p]);
    if (errno === os.constants.errno.EAGAIN || errno === os.constants.errno.ENOBUFS) return; // congested: try the next
    this.#socket.close(); // receiver gone: reconnect on a later send
    this.#connected = false;
    this.#retryAt = Date.now() + 1000;
    this.#events.dropped(this.#pacer.takeAll());
  }

  #connect(): boolean {
    if (Date.now() < this.#retryAt) return false;
    const errno = this.#socket.connect(this.#path);
    if (errno !== 0) {
      this.#retryAt = Date.now() + 1000;
      this.#events.error(errnoError(errno, `connect to unix://${this.#path}`));
      return false;
    }
    this.#connected = true;
    return true;
  }

  flush(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    return this.#idle.wait(this.#pacer.queued === 0, timeoutMs);
  }

  async close(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    await this.flush(timeoutMs);
    this.#pacer.pause();
    this.#events.dropped(this.#pacer.takeAll());
    this.#socket.close();
    this.#connected = false;
  }
}
