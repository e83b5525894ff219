// Where a daemon's flushes go: Graphite over TCP (plaintext or pickle) with a
// bounded, ordered backlog, and stdout (DESIGN §7).
import * as net from 'node:net';
import type { Writable } from 'node:stream';

import type { FlushResult } from './aggregator';
import { native } from './native';

export interface SinkStats {
  type: string;
  /** Where it sends (carbon's host and port); undefined for streams. */
  address?: string;
  port?: number;
  connected: boolean;
  /**
   * Flushes written whole to the socket or stream (each once, replays aside).
   * Carbon never acknowledges: written is not proof that carbon stored it.
   */
  flushesSent: number;
  /** Datapoints in those flushes. */
  metricsSent: number;
  /** Written flushes queued again after the connection broke (see GraphiteSink). */
  flushesReplayed: number;
  /** Of those, given up on before they were written again (backlog full, or shutdown). */
  replaysDropped: number;
  /** Flushes given up on (backlog full); their datapoints count in metricsDropped. */
  flushesDropped: number;
  metricsDropped: number;
  bytesSent: number;
  /** Flushes waiting to be delivered. */
  backlog: number;
}

export interface Sink {
  readonly name: string;
  /** Takes a flush of carbon plaintext lines; never throws. */
  write(flush: FlushResult): void;
  /** Resolves when the backlog is delivered, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  stats(): SinkStats;
  /** Called with network errors (the sink keeps retrying). */
  onError?: (error: Error) => void;
  /** Called when the sink works again after an error. */
  onRecover?: (message: string) => void;
}

export interface GraphiteSinkOptions {
  host: string;
  port: number;
  format: 'plaintext' | 'pickle';
  /** Flushes kept while carbon is unreachable (default 360: an hour at 10 s). */
  maxBacklog?: number;
  /**
   * Bytes of already written flushes sent again after the connection breaks
   * (default 16 MiB, about what loopback socket buffers hold; 0 = never). The
   * newest written flush is always among them.
   */
  replayBytes?: number;
}

interface Pending {
  carbon: Buffer;
  metrics: number;
  /** Written whole once already: counted in flushesSent. */
  written?: boolean;
}

/**
 * A persistent TCP connection to carbon. Each flush is queued and written in
 * order; one that was not fully written when the connection broke is written
 * again after reconnecting. Past maxBacklog the oldest flush is dropped and
 * counted. Reconnects with backoff from 100 ms to 30 s.
 *
 * Carbon never acknowledges: a flush handed to the kernel is lost if carbon
 * dies before reading it. So when the connection breaks, the flushes written
 * last (up to replayBytes) are written again. Whisper stores a datapoint per
 * name and timestamp, so a repeat overwrites it with the same value; a
 * carbon-aggregator summing its input would count a replayed flush twice.
 */
export class GraphiteSink implements Sink {
  readonly name: string;
  onError?: (error: Error) => void;
  onRecover?: (message: string) => void;
  readonly #options: Required<GraphiteSinkOptions>;
  /** An error was reported and no connection has worked since. */
  #failing = false;
  #socket: net.Socket | undefined;
  #connected = false;
  #backlog: Pending[] = [];
  #inFlight: Pending | undefined;
  #backoff = 100;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** Flushes written on this connection that may not have reached carbon yet, oldest first. */
  #written: Pending[] = [];
  #writtenBytes = 0;
  readonly #stats = { flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0 };

  constructor(options: GraphiteSinkOptions) {
    this.#options = { ...options, maxBacklog: options.maxBacklog ?? 360, replayBytes: options.replayBytes ?? 16 << 20 };
    this.name = `graphite ${options.format} ${options.host}:${options.port}`;
  }

  write(flush: FlushResult): void {
    if (flush.carbon.length === 0) return;
    const carbon = this.#options.format === 'pickle' ? native.toPickle(flush.carbon) : flush.carbon;
    this.#backlog.push({ carbon, metrics: flush.metrics });
    while (this.#backlog.length > this.#options.maxBacklog) this.#drop(this.#backlog.shift()!);
    this.#pump();
  }

  /**
   * Gives up on `p`. A replay given up on was written once and may or may not
   * have reached carbon: it stays in flushesSent and counts in replaysDropped.
   */
  #drop(p: Pending): void {
    if (p.written) {
      this.#stats.replaysDropped++;
      return;
    }
    this.#stats.flushesDropped++;
    this.#stats.metricsDropped += p.metrics;
  }

  #connect(): void {
    if (this.#socket || this.#timer || this.#closed) return;
    const socket = net.connect({ host: this.#options.host, port: this.#options.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#pump();
    });
    socket.on('error', (error) => {
      this.#failing = true;
      this.onError?.(error);
    });
    socket.on('close', () => {
      this.#socket = undefined;
      this.#connected = false;
      if (this.#closed) return this.#wake();
      // Not confirmed written (in flight), or written but maybe never read:
      // send them again, in their order, ahead of the backlog.
      const again = this.#inFlight ? [...this.#written, this.#inFlight] : this.#written;
      this.#stats.flushesReplayed += this.#written.length;
      this.#backlog.unshift(...again);
      this.#inFlight = undefined;
      this.#written = [];
      this.#writtenBytes = 0;
      while (this.#backlog.length > this.#options.maxBacklog) this.#drop(this.#backlog.shift()!);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#backlog.length) this.#connect();
      }, this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, 30_000);
      this.#wake();
    });
    // Carbon never answers; reading keeps the socket's close visible.
    socket.resume();
  }

  #pump(): void {
    if (!this.#connected) {
      if (this.#backlog.length) this.#connect();
      return;
    }
    if (this.#inFlight || this.#backlog.length === 0) {
      if (!this.#inFlight) this.#wake();
      return;
    }
    const next = this.#backlog.shift()!;
    this.#inFlight = next;
    const socket = this.#socket!;
    socket.write(next.carbon, (error) => {
      // Node calls back without an error for a write cut short by a reset
      // (after 'error', before 'close'): only a live socket's success counts.
      // Otherwise the flush stays in flight and 'close' queues it again.
      if (this.#inFlight !== next || error || socket.destroyed || this.#socket !== socket) return;
      this.#inFlight = undefined;
      if (!next.written) {
        this.#stats.flushesSent++;
        this.#stats.metricsSent += next.metrics;
      }
      // Working again only once a flush went through: a carbon that accepts
      // and then resets keeps its backoff and does not flood the log.
      this.#backoff = 100;
      if (this.#failing) {
        this.#failing = false;
        const waiting = this.#backlog.length;
        this.onRecover?.(`${this.name}: delivering again; ${waiting} flush${waiting === 1 ? '' : 'es'} waiting`);
      }
      next.written = true;
      this.#stats.bytesSent += next.carbon.length;
      this.#remember(next);
      this.#pump();
    });
  }

  /** Keeps `p` for a replay, with older written flushes up to replayBytes. */
  #remember(p: Pending): void {
    if (this.#options.replayBytes === 0) return;
    this.#written.push(p);
    this.#writtenBytes += p.carbon.length;
    while (this.#written.length > 1 && this.#writtenBytes > this.#options.replayBytes) {
      this.#writtenBytes -= this.#written.shift()!.carbon.length;
    }
  }

  #wake(): void {
    if (this.#backlog.length === 0 && !this.#inFlight) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }

  drain(timeoutMs: number): Promise<void> {
    if (this.#backlog.length === 0 && !this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Gives up on what is not delivered yet, counting it as dropped, and closes
   * the connection without waiting on carbon: a flush still being written when
   * close() is called counts as dropped even if carbon got part of it. Never
   * hangs, even on a carbon that stopped reading.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const undelivered = this.#inFlight ? [this.#inFlight, ...this.#backlog] : this.#backlog;
    this.#inFlight = undefined;
    this.#backlog = [];
    this.#written = [];
    for (const p of undelivered) this.#drop(p);
    const socket = this.#socket;
    if (socket && undelivered.length) socket.destroy();
    else if (socket) await endWithin(socket, 1000);
    this.#wake();
  }

  stats(): SinkStats {
    return {
      type: 'carbon',
      address: this.#options.host,
      port: this.#options.port,
      connected: this.#connected,
      ...this.#stats,
      backlog: this.#backlog.length + (this.#inFlight ? 1 : 0),
    };
  }
}

/** Ends `socket` (FIN after what is written), or destroys it after `ms`. */
function endWithin(socket: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, ms);
    socket.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Writes each flush to a stream (stdout by default) as carbon lines or JSON lines. */
export class StreamSink implements Sink {
  readonly name: string;
  onError?: (error: Error) => void;
  readonly #stream: Writable;
  readonly #json: boolean;
  readonly #stats = { flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0 };

  constructor(options: { format: 'carbon' | 'json'; stream?: Writable }) {
    this.#stream = options.stream ?? process.stdout;
    this.#json = options.format === 'json';
    this.name = `stdout ${options.format}`;
  }

  write(flush: FlushResult): void {
    if (flush.carbon.length === 0) return;
    let out: string | Buffer = flush.carbon;
    if (this.#json) {
      out = '';
      for (const line of flush.carbon.toString('utf8').split('\n')) {
        if (line === '') continue;
        const [name, value, timestamp] = line.split(' ');
        out += `${JSON.stringify({ name, value: Number(value), timestamp: Number(timestamp) })}\n`;
      }
    }
    this.#stream.write(out);
    this.#stats.flushesSent++;
    this.#stats.metricsSent += flush.metrics;
    this.#stats.bytesSent += out.length;
  }

  drain(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stream.writableNeedDrain) this.#stream.once('drain', () => resolve());
      else resolve();
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): SinkStats {
    return { type: 'stdout', connected: true, ...this.#stats, backlog: 0 };
  }
}
