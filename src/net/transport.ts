// Transports an emitter sends packets over: UDP (v4/v6), TCP and unix stream
// (newline-framed, reconnecting, bounded queue), and unix datagram (native).
// None of them throws on network trouble: failures reach `events`.
/// <reference types="node" preserve="true" />
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as os from 'node:os';

import type { Endpoint } from './endpoint';
import { native, type NativeUnixDatagram } from '../core/native';

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
const DEFAULT_TIMEOUT = 5000;

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
function wrap(what: string, error: Error): Error {
  const e = error as NodeJS.ErrnoException;
  return Object.assign(new Error(`${what}: ${e.code ?? e.message}`, { cause: error }), {
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
  });
}

/** Resolves after `ms` (unref'd: it never keeps the process alive). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Datagrams at least sent per millisecond while pacing (see Pacer). */
const MIN_PACKETS_PER_MS = 2;

/**
 * Spreads datagrams over `window` ms instead of handing them to the kernel at
 * once. A receiver with the kernel's default buffer (rmem_default, 212,992
 * bytes here: ~90 packets of 1432 bytes) drops what does not fit: 100,000
 * keys flushed at once arrived as 16,001 lines in `npm run bench -- emitter`
 * (its "ours-unpaced" row). Each turn (a 1 ms timer,
 * later when the event loop is busy) sends the share of the queue that keeps
 * it on course to be empty by the newest deadline, and at least
 * MIN_PACKETS_PER_MS for each millisecond since the last turn, so a large
 * flush to a fast receiver, or a steady producer, goes out as fast as it comes (test/integration/emitter-pacing.test.ts,
 * bench/emitter.bench.js). The queue is bounded by `maxBytes`: past it the
 * oldest packets are dropped and reported.
 */
class Pacer {
  readonly #window: number;
  readonly #maxBytes: number;
  readonly #write: (packet: Buffer) => void;
  readonly #dropped: (packets: readonly Buffer[]) => void;
  #queue: (Buffer | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #deadline = 0;
  /** Date.now() of the last turn that sent (see #pump). */
  #pumpedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #paused = true;
  /** Called when the queue becomes empty. */
  onEmpty: () => void = () => {};

  constructor(window: number, maxBytes: number, write: (packet: Buffer) => void, dropped: (packets: readonly Buffer[]) => void) {
    this.#window = window;
    this.#maxBytes = maxBytes;
    this.#write = write;
    this.#dropped = dropped;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  add(packets: readonly Buffer[]): void {
    for (const p of packets) {
      this.#queue.push(p);
      this.#bytes += p.length;
    }
    if (this.#bytes > this.#maxBytes) {
      const over: Buffer[] = [];
      while (this.#bytes > this.#maxBytes && this.queued > 0) over.push(this.#shift());
      this.#dropped(over);
    }
    this.#deadline = Date.now() + this.#window;
    if (!this.#paused && this.#timer === undefined) {
      this.#pumpedAt = Date.now() - 1; // a first turn counts one millisecond
      this.#pump();
    }
  }

  /** Stops sending (the socket is not ready); what is queued waits. */
  pause(): void {
    this.#paused = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  resume(): void {
    this.#paused = false;
    if (this.#timer === undefined) {
      this.#pumpedAt = Date.now() - 1;
      this.#pump();
    }
  }

  /** Empties the queue, returning what was in it. */
  takeAll(): Buffer[] {
    const all: Buffer[] = [];
    while (this.queued > 0) all.push(this.#shift());
    return all;
  }

  #shift(): Buffer {
    const p = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    this.#bytes -= p.length;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return p;
  }

  #pump(): void {
    this.#timer = undefined;
    const left = this.queued;
    const now = Date.now();
    // The share of the time left to the deadline that passed since the last
    // turn (timers fire late on a busy event loop: a fixed quota per turn
    // would fall behind a steady producer and overflow the queue).
    const elapsed = Math.max(1, now - this.#pumpedAt);
    this.#pumpedAt = now;
    if (left > 0) {
      const remaining = this.#deadline - now + elapsed;
      const quota = now >= this.#deadline ? left : Math.max(MIN_PACKETS_PER_MS * elapsed, Math.ceil((left * elapsed) / remaining));
      for (let i = 0; i < quota && this.queued > 0 && !this.#paused; i++) this.#write(this.#shift());
    }
    if (this.#paused) return;
    // Ref'd while packets wait: a script that flushes and ends still sends them
    // (the window bounds how long that takes).
    if (this.queued > 0) this.#timer = setTimeout(() => this.#pump(), 1);
    else this.onEmpty();
  }
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

/**
 * UDP over a connected socket, so the kernel reports a receiver that is not
 * there (ECONNREFUSED on a later send) instead of dropping silently. Names are
 * resolved once and again after an error; IP literals are never looked up.
 * Sends are paced (Pacer).
 */
class UdpTransport implements Transport {
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

/** TCP or unix stream: newline-framed, reconnect with backoff, bounded queue. */
class StreamTransport implements Transport {
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

/**
 * Unix datagram through the addon; sends are synchronous and never block, and
 * are paced like UDP's (a receiver's queue holds net.unix.max_dgram_qlen
 * datagrams, often 512: past it a send fails with EAGAIN).
 */
class UnixDatagramTransport implements Transport {
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

export function createTransport(endpoint: Endpoint, events: TransportEvents, options: TransportOptions): Transport {
  switch (endpoint.transport) {
    case 'udp':
      return new UdpTransport(endpoint, events, options);
    case 'tcp':
      return new StreamTransport({ host: endpoint.host, port: endpoint.port }, endpointUrl(endpoint), events, options);
    case 'unixstream':
      return new StreamTransport({ path: endpoint.path }, endpointUrl(endpoint), events, options);
    case 'unix':
      return new UnixDatagramTransport(endpoint.path, events, options);
  }
}
