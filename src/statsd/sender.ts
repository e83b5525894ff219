// The socket side of the StatsD drop-in, shared by a client and its children:
// hot-shots' endpoint options, its string buffer of lines (maxBufferSize,
// bufferFlushInterval), and error routing to a callback or an errorHandler.
// Just over 300 lines: the buffer, the socket's life and the error routing of
// one client tree, kept in one place.
/// <reference types="node" preserve="true" />
import * as net from 'node:net';
import type { Writable } from 'node:stream';

import { type Endpoint, parseEndpoint, resolveEndpoint } from '../net/endpoint';
import { reasonError } from '../core/errors';
import { countLines, createTransport, Idle, type Transport, type TransportEvents } from '../net/transport';

export type StatsCb = (error?: Error | null, bytes?: number) => void;
export type ErrorHandler = (error: Error) => void;

/** Counters of a client and its children (they share one socket). */
export interface StatsDStats {
  /** Lines handed to the kernel (or the stream). */
  sent: number;
  /** Lines lost: longer than a packet, in a packet that failed, or sent after close(). */
  dropped: number;
  /** Calls not sent because they could not make a valid line (NaN, an empty name, …). */
  refused: number;
  packets: number;
  bytes: number;
  /** Socket errors seen. */
  errors: number;
}

/** What hot-shots' options name: an endpoint, a caller's stream, or why neither. */
export interface Target {
  endpoint?: Endpoint;
  stream?: Writable;
  error?: Error;
}

export interface TargetOptions {
  protocol?: string;
  host?: string;
  port?: number;
  path?: string;
  stream?: Writable;
  telegraf?: boolean;
}

const UDS_PATH_DEFAULT = '/var/run/datadog/dsd.socket';

// DD_DOGSTATSD_URL: udp://host[:port], unix:///path, unixgram:///path (hot-shots parseDogstatsdUrl)
function datadogUrl(url: string): TargetOptions | undefined {
  const unix = /^(?:unixgram|unix):\/\/(.+)$/.exec(url);
  if (unix) return { protocol: 'uds', path: unix[1]! };
  const udp = /^udp:\/\/(?:\[(.+)\]|([^:]+))(?::(\d+))?$/.exec(url);
  if (!udp) return undefined;
  const port = udp[3] === undefined ? 8125 : Number(udp[3]);
  return port >= 1 && port <= 65535 ? { protocol: 'udp', host: udp[1] ?? udp[2]!, port } : undefined;
}

/**
 * Where a hot-shots client sends: its options, else DD_DOGSTATSD_URL /
 * DD_DOGSTATSD_SOCKET, DD_AGENT_HOST / DD_DOGSTATSD_PORT (as hot-shots), else
 * FLUX_FRIPP_STATSD / STATSD_HOST (as our Emitter), else UDP 127.0.0.1:8125.
 * Never throws: a target it cannot build carries the error.
 */
export function resolveTarget(o: TargetOptions, env: NodeJS.ProcessEnv): Target {
  let opts = o;
  const given = o.protocol || o.host || o.port || o.path || o.stream;
  if (!given && !o.telegraf) {
    const url = env.DD_DOGSTATSD_URL ? datadogUrl(env.DD_DOGSTATSD_URL) : undefined;
    const socket = env.DD_DOGSTATSD_SOCKET?.trim();
    if (url) opts = url;
    else if (socket) opts = { protocol: 'uds', path: socket };
  }
  const protocol = (opts.protocol ?? 'udp').toLowerCase();
  const host = opts.host || env.DD_AGENT_HOST || undefined;
  const port = opts.port || parseInt(env.DD_DOGSTATSD_PORT ?? '', 10) || undefined;
  try {
    switch (protocol) {
      case 'udp':
      case 'tcp': {
        if (opts === o && !given && host === undefined && port === undefined) {
          const fromEnv = resolveEndpoint(undefined, env);
          if (fromEnv) return { endpoint: fromEnv };
        }
        const h = host ?? (protocol === 'udp' ? '127.0.0.1' : 'localhost');
        return { endpoint: parseEndpoint(`${protocol}://${net.isIPv6(h) ? `[${h}]` : h}:${port ?? 8125}`, 'host/port') };
      }
      case 'uds':
        return { endpoint: { transport: 'unix', host: '', port: 0, path: opts.path || UDS_PATH_DEFAULT, source: 'path' } };
      case 'stream':
        if (!opts.stream) throw new Error('`stream` option required');
        return { stream: opts.stream };
      default:
        throw new Error(`Unsupported protocol '${protocol}'`);
    }
  } catch (error) {
    return { error: error as Error };
  }
}

/** A caller's Writable as a stream transport (hot-shots protocol 'stream'); close() destroys it. */
class WritableTransport implements Transport {
  readonly stream = true;
  readonly #writable: Writable;
  readonly #events: TransportEvents;
  #pending = 0;
  readonly #idle = new Idle();

  constructor(writable: Writable, events: TransportEvents) {
    this.#writable = writable;
    this.#events = events;
    writable.on('error', (error) => events.error(error));
  }

  send(packets: readonly Buffer[]): void {
    for (const p of packets) {
      if (this.#writable.destroyed || this.#writable.writableEnded) {
        this.#events.dropped([p]);
        continue;
      }
      this.#pending++;
      this.#writable.write(p, (error) => {
        this.#pending--;
        if (error) this.#events.dropped([p]);
        else this.#events.sent(p);
        if (this.#pending === 0) this.#idle.wake();
      });
    }
  }

  /** A Writable that stopped taking data never calls back: at most timeoutMs. */
  flush(timeoutMs = 2000): Promise<void> {
    return this.#idle.wait(this.#pending === 0, timeoutMs);
  }

  async close(timeoutMs = 2000): Promise<void> {
    await this.flush(timeoutMs);
    this.#writable.destroy();
  }
}

const warned = new Set<string>();

/**
 * Hands an error to the callback, else the errorHandler (hot-shots' order);
 * with neither it is only counted, and printed once per code per process so a
 * dead receiver does not flood the log.
 */
export function report(error: Error, handler: ErrorHandler | undefined, callback: unknown): void {
  if (typeof callback === 'function') {
    (callback as StatsCb)(error);
  } else if (handler) {
    handler(error);
  } else {
    const code = String((error as NodeJS.ErrnoException).code ?? error.message);
    if (!warned.has(code)) {
      warned.add(code);
      console.error(`statsd-native StatsD: ${error.message} (further errors with this code are counted in client.stats, not printed)`);
    }
  }
}

export interface SenderOptions {
  /** 0: every line is its own packet, sent at the call; else lines share packets of at most this many bytes. */
  maxBufferSize: number;
  bufferFlushInterval: number;
  /** Gets socket errors that no callback took (the root client's handler). */
  errorHandler: ErrorHandler | undefined;
  maxQueueBytes: number;
}

/**
 * One socket and one buffer. Buffered (maxBufferSize > 0), a line joins the
 * buffer, which is sent as one packet when the next line would not fit and
 * every bufferFlushInterval — exactly hot-shots' packing, so packets match.
 * Lines longer than a packet are dropped and counted, never sent oversized.
 */
export class Sender {
  readonly stats: StatsDStats = { sent: 0, dropped: 0, refused: 0, packets: 0, bytes: 0, errors: 0 };
  readonly maxBufferSize: number;
  /** The longest line (or packet) this sender sends. */
  readonly limit: number;
  readonly errorHandler: ErrorHandler | undefined;
  closed = false;
  #transport: Transport | undefined;
  readonly #noSocket: Error | undefined;
  #buffer = '';
  #bufferBytes = 0;
  readonly #timer: NodeJS.Timeout | undefined;
  // per-packet callbacks (unbuffered sends that passed one), keyed by the packet
  readonly #callbacks = new Map<Buffer, StatsCb>();
  #lastError: Error | undefined;
  #unreported: Error[] = [];

  constructor(target: Target | undefined, options: SenderOptions) {
    this.maxBufferSize = options.maxBufferSize;
    this.errorHandler = options.errorHandler;
    const events: TransportEvents = {
      error: (error) => this.#onError(error),
      dropped: (packets) => this.#onDropped(packets),
      sent: (packet) => this.#onSent(packet),
    };
    if (target?.endpoint) {
      // Paced as the Emitter's flushes are (a burst of buffered packets is spread
      // over up to 50 ms, at least 2 packets a millisecond), so a burst of calls
      // does not overrun a receiver's default socket buffer.
      this.#transport = createTransport(target.endpoint, events, { maxQueueBytes: options.maxQueueBytes, sendWindow: 50 });
    } else if (target?.stream) {
      this.#transport = new WritableTransport(target.stream, events);
    } else if (target?.error) {
      this.#noSocket = target.error;
      report(target.error, this.errorHandler, undefined);
    }
    const stream = this.#transport?.stream ?? false;
    // unbuffered: a datagram's payload limit (UDP over IPv4); a stream has none
    this.limit = this.maxBufferSize > 0 ? this.maxBufferSize : stream ? Infinity : 65507;
    if (this.maxBufferSize > 0 && this.#transport) {
      this.#timer = setInterval(() => this.flushQueue(), options.bufferFlushInterval);
      this.#timer.unref();
    }
  }

  /**
   * Sends or buffers `text` (one line, or two for a negative gauge) of `bytes`
   * UTF-8 bytes. Buffered, the callback is called at once with no arguments
   * (hot-shots' "queued" signal); unbuffered, with null once the packet is
   * sent, or with the error once it is lost.
   */
  deliver(text: string, bytes: number, lines: number, callback: unknown, handler: ErrorHandler | undefined): void {
    if (this.closed || this.#transport === undefined) {
      this.stats.dropped += lines;
      const why = this.#noSocket ? `no socket: ${this.#noSocket.message}` : 'the client is closed';
      report(Object.assign(new Error(`statsd line not sent, ${why}`), { code: 'ERR_STATSD_CLOSED' }), handler, callback);
      return;
    }
    if (bytes > this.limit) {
      this.stats.dropped += lines;
      report(reasonError('too_long', `${bytes} bytes > maxBufferSize ${this.limit}: ${text.slice(0, 64)}…`), handler, callback);
      return;
    }
    if (this.maxBufferSize === 0) {
      const packet = Buffer.from(this.#transport.stream ? `${text}\n` : text);
      if (typeof callback === 'function') this.#callbacks.set(packet, callback as StatsCb);
      this.#transport.send([packet]);
      return;
    }
    // hot-shots enqueue: the '\n' separator counts toward the limit
    if (this.#bufferBytes === 0) {
      this.#buffer = text;
      this.#bufferBytes = bytes;
    } else if (this.#bufferBytes + 1 + bytes > this.maxBufferSize) {
      this.flushQueue();
      this.#buffer = text;
      this.#bufferBytes = bytes;
    } else {
      this.#buffer += '\n' + text;
      this.#bufferBytes += 1 + bytes;
    }
    if (typeof callback === 'function') callback();
  }

  /** Sends the buffer as one packet. */
  flushQueue(): void {
    if (this.#bufferBytes === 0 || this.#transport === undefined) return;
    const text = this.#transport.stream ? `${this.#buffer}\n` : this.#buffer;
    this.#buffer = '';
    this.#bufferBytes = 0;
    this.#transport.send([Buffer.from(text)]);
  }

  /** Sends the buffer; resolves once the socket has written what was sent. */
  async flush(): Promise<void> {
    this.flushQueue();
    await this.#transport?.flush();
  }

  /** Flushes, then closes the socket; later lines are dropped and reported. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushQueue();
    this.closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#transport?.close();
  }

  #onSent(packet: Buffer): void {
    const stats = this.stats;
    stats.sent += countLines(packet);
    stats.packets++;
    stats.bytes += packet.length;
    if (this.#callbacks.size === 0) return;
    const callback = this.#callbacks.get(packet);
    if (callback === undefined) return;
    this.#callbacks.delete(packet);
    callback(null, undefined); // as hot-shots 17: its transports pass no byte count
  }

  // A transport reports a failed send as error(e) then dropped([packet]): the
  // packet's callback takes e; errors no callback took reach the errorHandler.
  #onError(error: Error): void {
    this.stats.errors++;
    this.#lastError = error;
    this.#unreported.push(error);
    if (this.#unreported.length === 1) {
      queueMicrotask(() => {
        const errors = this.#unreported;
        this.#unreported = [];
        for (const e of errors) report(e, this.errorHandler, undefined);
      });
    }
  }

  #onDropped(packets: readonly Buffer[]): void {
    for (const p of packets) {
      this.stats.dropped += countLines(p);
      const callback = this.#callbacks.get(p);
      if (callback === undefined) continue;
      this.#callbacks.delete(p);
      const error = this.#lastError ?? new Error('statsd packet dropped');
      const at = this.#unreported.indexOf(error);
      if (at >= 0) this.#unreported.splice(at, 1);
      callback(error);
    }
  }
}
