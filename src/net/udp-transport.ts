// UdpTransport: an emitter's UDP (v4/v6) transport.
/// <reference types="node" preserve="true" />
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';

import type { Endpoint } from './endpoint';
import { Pacer } from './pacer';
import { DEFAULT_TIMEOUT, Idle, type Transport, type TransportEvents, type TransportOptions, endpointUrl, wrap } from './transport-common';

/**
 * UDP over a connected socket, so the kernel reports a receiver that is not
 * there (ECONNREFUSED on a later send) instead of dropping silently. Names are
 * resolved once and again after an error; IP literals are never looked up.
 * Sends are paced (Pacer).
 */
export class UdpTransport implements Transport {
  readonly stream = false;
  readonly #endpoint: Endpoint;
  readonly #url: string;
  readonly #events: TransportEvents;
  readonly #pacer: Pacer;
  #socket: dgram.Socket | undefined;
  #connecting = false;
  #lastAttempt = 0;
  #inFlight = 0;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #idle = new Idle();

  constructor(endpoint: Endpoint, events: TransportEvents, options: TransportOptions) {
    this.#endpoint = endpoint;
    this.#url = endpointUrl(endpoint);
    this.#events = events;
    this.#pacer = new Pacer(options.sendWindow ?? 0, options.maxQueueBytes, (p) => this.#sendOne(p), (p) => events.dropped(p));
    this.#pacer.onEmpty = () => this.#wakeIfIdle();
  }

  send(packets: readonly Buffer[]): void {
    if (this.#closed) {
      this.#events.dropped(packets);
      return;
    }
    this.#pacer.add(packets);
    if (this.#socket === undefined) this.#connect();
  }

  #connect(): void {
    if (this.#connecting) return;
    const now = Date.now();
    if (now - this.#lastAttempt < 1000) {
      // Failed less than a second ago: do not hammer DNS; drop what waits.
      this.#events.dropped(this.#pacer.takeAll());
      this.#wakeIfIdle();
      return;
    }
    this.#connecting = true;
    this.#lastAttempt = now;
    const host = this.#endpoint.host;
    const lookup = (done: (error: Error | null, address: string) => void) =>
      net.isIP(host) ? done(null, host) : dns.lookup(host, (error, address) => done(error, address));
    lookup((error, address) => {
      if (error || this.#closed) {
        this.#connecting = false;
        if (error) this.#events.error(wrap(`look up ${host} for ${this.#url}`, error));
        this.#events.dropped(this.#pacer.takeAll());
        this.#wakeIfIdle();
        return;
      }
      const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
      socket.on('error', (e) => this.#events.error(wrap(`send to ${this.#url}`, e)));
      socket.unref();
      socket.connect(this.#endpoint.port, address, () => {
        this.#connecting = false;
        if (this.#closed) {
          socket.close();
          return;
        }
        this.#socket = socket;
        this.#lastAttempt = 0;
        this.#pacer.resume();
      });
    });
  }

  #sendOne(packet: Buffer): void {
    const socket = this.#socket!;
    this.#inFlight++;
    socket.send(packet, (error) => {
      this.#inFlight--;
      if (error) {
        this.#events.dropped([packet]);
        if (!this.#closed) {
          this.#events.error(wrap(`send to ${this.#url}`, error));
          // ECONNREFUSED: nobody listens (yet). Other errors: the address may be
          // stale. Either way, reconnect (and look the name up) on a later send.
          if (!net.isIP(this.#endpoint.host) || (error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') {
            this.#reset(socket);
          }
        }
      } else {
        this.#events.sent(packet);
      }
      this.#wakeIfIdle();
    });
  }

  #reset(socket: dgram.Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#pacer.pause();
    socket.close();
    // What waits goes out once connected again: after a second (the pace of
    // #connect's retries), or sooner if a send() comes first.
    if (this.#pacer.queued > 0 && this.#retry === undefined) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        if (this.#socket === undefined && this.#pacer.queued > 0 && !this.#closed) this.#connect();
      }, 1000).unref();
    }
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && !this.#connecting && (this.#pacer.queued === 0 || this.#socket === undefined);
  }

  #wakeIfIdle(): void {
    if (this.#isIdle()) this.#idle.wake();
  }

  flush(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    return this.#idle.wait(this.#isIdle(), timeoutMs);
  }

  async close(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    if (this.#closed) return;
    await this.flush(timeoutMs);
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#pacer.pause();
    this.#events.dropped(this.#pacer.takeAll());
    const socket = this.#socket;
    this.#socket = undefined;
    // Sends still in the kernel's hands are cancelled by the close and
    // reported as dropped by their callbacks.
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.#idle.wake();
  }
}
