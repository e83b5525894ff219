// Transports an emitter sends packets over: UDP (v4/v6), TCP and unix stream
// (newline-framed, reconnecting, bounded queue), and unix datagram (native).
// None of them throws on network trouble: failures reach `events`.
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as os from 'node:os';

import type { Endpoint } from './endpoint';
import { native, type NativeUnixDatagram } from './native';

export interface TransportEvents {
  /** A network failure; the transport keeps going (reconnects, re-resolves). */
  error(error: Error): void;
  /** `packets` could not be delivered and were discarded. */
  dropped(packets: readonly Buffer[]): void;
  /** A packet was handed to the kernel. */
  sent(packet: Buffer): void;
}

export interface TransportOptions {
  /** Bytes a stream transport queues while disconnected or backed up (default 4 MiB). */
  maxQueueBytes: number;
}

export interface Transport {
  /** True for stream transports: every packet must end in '\n'. */
  readonly stream: boolean;
  send(packets: readonly Buffer[]): void;
  /** Resolves when what was sent so far is written, or when it cannot be now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const errnoNames = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, number]) => [number, name]),
);

export function errnoError(errno: number, what: string): Error {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno });
}

/** Resolves when `pending()` reaches 0; `wake` is called by the transport. */
class Idle {
  #waiters: (() => void)[] = [];
  wait(done: boolean): Promise<void> {
    if (done) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
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
 */
class UdpTransport implements Transport {
  readonly stream = false;
  readonly #endpoint: Endpoint;
  readonly #events: TransportEvents;
  #socket: dgram.Socket | undefined;
  #ready = false;
  #connecting = false;
  #lastAttempt = 0;
  #waiting: Buffer[] = [];
  #inFlight = 0;
  #closed = false;
  readonly #idle = new Idle();

  constructor(endpoint: Endpoint, events: TransportEvents) {
    this.#endpoint = endpoint;
    this.#events = events;
  }

  send(packets: readonly Buffer[]): void {
    if (this.#closed) {
      this.#events.dropped(packets);
      return;
    }
    if (this.#ready) {
      for (const p of packets) this.#sendOne(p);
      return;
    }
    // Hold packets while the socket connects (bounded: that takes a lookup at most).
    for (const p of packets) this.#waiting.push(p);
    if (this.#waiting.length > 4096) this.#events.dropped(this.#waiting.splice(0, this.#waiting.length - 4096));
    this.#connect();
  }

  #connect(): void {
    if (this.#connecting) return;
    const now = Date.now();
    if (now - this.#lastAttempt < 1000) {
      // Failed less than a second ago: do not hammer DNS; drop what waits.
      this.#events.dropped(this.#waiting.splice(0));
      this.#idle.wake();
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
        if (error) this.#events.error(error);
        this.#events.dropped(this.#waiting.splice(0));
        this.#idle.wake();
        return;
      }
      const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
      socket.on('error', (e) => this.#events.error(e));
      socket.unref();
      socket.connect(this.#endpoint.port, address, () => {
        this.#connecting = false;
        if (this.#closed) {
          socket.close();
          return;
        }
        this.#socket = socket;
        this.#ready = true;
        this.#lastAttempt = 0;
        for (const p of this.#waiting.splice(0)) this.#sendOne(p);
        this.#idle.wake();
      });
    });
  }

  #sendOne(packet: Buffer): void {
    const socket = this.#socket!;
    this.#inFlight++;
    socket.send(packet, (error) => {
      this.#inFlight--;
      if (error) {
        this.#events.error(error);
        this.#events.dropped([packet]);
        // ECONNREFUSED: nobody listens (yet). Other errors: the address may be
        // stale. Either way, reconnect (and look the name up) on a later send.
        if (!net.isIP(this.#endpoint.host) || (error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') {
          this.#reset(socket);
        }
      } else {
        this.#events.sent(packet);
      }
      if (this.#inFlight === 0) this.#idle.wake();
    });
  }

  #reset(socket: dgram.Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#ready = false;
    socket.close();
  }

  flush(): Promise<void> {
    return this.#idle.wait(this.#inFlight === 0 && this.#waiting.length === 0 && !this.#connecting);
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = false;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** TCP or unix stream: newline-framed, reconnect with backoff, bounded queue. */
class StreamTransport implements Transport {
  readonly stream = true;
  readonly #connectOptions: net.NetConnectOpts;
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

  constructor(connectOptions: net.NetConnectOpts, events: TransportEvents, options: TransportOptions) {
    this.#connectOptions = connectOptions;
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
    socket.on('error', (error) => this.#events.error(error));
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

  flush(): Promise<void> {
    return this.#idle.wait(this.#isIdle() || this.#closed);
  }

  async close(): Promise<void> {
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length) this.#events.dropped(this.#queue.splice(0));
    this.#queuedBytes = 0;
    const socket = this.#socket;
    if (socket) await new Promise<void>((resolve) => socket.end(() => resolve()).once('close', () => resolve()));
    this.#idle.wake();
  }
}

/** Unix datagram through the addon; sends are synchronous and never block. */
class UnixDatagramTransport implements Transport {
  readonly stream = false;
  readonly #path: string;
  readonly #events: TransportEvents;
  readonly #socket: NativeUnixDatagram = new native.UnixDatagram();
  #connected = false;
  #retryAt = 0;

  constructor(path: string, events: TransportEvents) {
    this.#path = path;
    this.#events = events;
  }

  send(packets: readonly Buffer[]): void {
    if (!this.#connected && !this.#connect()) {
      this.#events.dropped(packets);
      return;
    }
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const errno = this.#socket.send(p);
      if (errno === 0) {
        this.#events.sent(p);
        continue;
      }
      this.#events.error(errnoError(errno, `send to unix://${this.#path}`));
      if (errno === os.constants.errno.EAGAIN || errno === os.constants.errno.ENOBUFS) {
        this.#events.dropped([p]); // receiver congested: drop this packet, try the next
        continue;
      }
      this.#socket.close(); // receiver gone: reconnect on a later send
      this.#connected = false;
      this.#retryAt = Date.now() + 1000;
      this.#events.dropped(packets.slice(i));
      return;
    }
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

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#socket.close();
    this.#connected = false;
    return Promise.resolve();
  }
}

export function createTransport(endpoint: Endpoint, events: TransportEvents, options: TransportOptions): Transport {
  switch (endpoint.transport) {
    case 'udp':
      return new UdpTransport(endpoint, events);
    case 'tcp':
      return new StreamTransport({ host: endpoint.host, port: endpoint.port }, events, options);
    case 'unixstream':
      return new StreamTransport({ path: endpoint.path }, events, options);
    case 'unix':
      return new UnixDatagramTransport(endpoint.path, events);
  }
}
