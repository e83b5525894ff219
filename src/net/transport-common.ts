// What every emitter transport shares: its interface, events and options,
// error wrapping, idle waiters, and line and errno helpers.
/// <reference types="node" preserve="true" />
import * as os from 'node:os';

import type { Endpoint } from './endpoint';

export interface TransportEvents {
  /** A network failure; the transport keeps going (reconnects, re-resolves). */
  error(error: Error): void;
  /** `packets` could not be delivered and were discarded. */
  dropped(packets: readonly Buffer[]): void;
  /** A packet was handed to the kernel. */
  sent(packet: Buffer): void;
}

export interface TransportOptions {
  /**
   * Bytes queued at most: by a stream transport while disconnected or backed
   * up, by a datagram transport while pacing; past it the oldest packets are
   * dropped (and reported).
   */
  maxQueueBytes: number;
  /** ms a datagram transport spreads what one send() hands it over (0: all at once). See Pacer. */
  sendWindow?: number;
}

export interface Transport {
  /** True for stream transports: every packet must end in '\n'. */
  readonly stream: boolean;
  send(packets: readonly Buffer[]): void;
  /**
   * Resolves when what was sent so far is written, when it cannot be now
   * (disconnected), or after `timeoutMs`, whichever comes first.
   */
  flush(timeoutMs?: number): Promise<void>;
  /**
   * Flushes (`timeoutMs` at most), then drops and reports what is still
   * queued or being written, and closes. Never waits on the peer longer.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** ms flush() and close() wait at most when not told (the emitter's flushTimeout default). */
export const DEFAULT_TIMEOUT = 5000;

/** The endpoint as a URL for messages: `udp://127.0.0.1:8125`, `tcp://[::1]:8125`, `unix:///run/statsd.sock`. */
export function endpointUrl(endpoint: Endpoint): string {
  if (endpoint.transport === 'unix' || endpoint.transport === 'unixstream') return `${endpoint.transport}://${endpoint.path}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.transport}://${host}:${endpoint.port}`;
}

/**
 * An error naming what failed and where: `send to udp://127.0.0.1:8125:
 * ECONNREFUSED` rather than Node's `recvmsg ECONNREFUSED`. Keeps `code`,
 * `errno` and `syscall`, and the original as `cause`.
 */
export function wrap(what: string, error: Error): Error {
  const e = error as NodeJS.ErrnoException;
  return Object.assign(new Error(`${what}: ${e.code ?? e.message}`, { cause: error }), {
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
  });
}

/** Resolves after `ms` (unref'd: it never keeps the process alive). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

const errnoNames = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, number]) => [number, name]),
);

export function errnoError(errno: number, what: string): Error {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno });
}

/** Lines in a packet (or flush text): its '\n's, and one more when it does not end in one. */
export function countLines(packet: Buffer): number {
  let lines = 0;
  for (let i = packet.indexOf(10); i !== -1; i = packet.indexOf(10, i + 1)) lines++;
  return packet.length > 0 && packet[packet.length - 1] !== 10 ? lines + 1 : lines;
}

/** Waiters for a transport to become idle; `wake` is called by the transport. */
export class Idle {
  #waiters: (() => void)[] = [];
  /** Resolves at once when `done`, else at the next wake() or after `timeoutMs`. */
  wait(done: boolean, timeoutMs: number): Promise<void> {
    if (done) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs).unref();
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
