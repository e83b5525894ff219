// StreamSink: flushes to a stream (stdout), as carbon lines or JSON lines.
/// <reference types="node" preserve="true" />
import type { Writable } from 'node:stream';

import type { FlushResult } from '../../aggregator/aggregator';
import { integerOption } from '../../core/options';
import { DEFAULT_STREAM_BACKLOG_BYTES } from '../config/defaults';
import { type Sink, SinkReports, type SinkStats, sinkCounters } from './sink';

export interface StreamSinkOptions {
  format: 'carbon' | 'json';
  /** Default: process.stdout. */
  stream?: Writable;
  /**
   * Bytes the stream may hold unwritten (default DEFAULT_STREAM_BACKLOG_BYTES,
   * 64 MiB); a flush that would go past it is dropped and counted: unbounded,
   * the daemon would buffer every flush for a reader that stopped.
   */
  maxBacklogBytes?: number;
}

/**
 * Writes each flush to a stream (stdout by default) as carbon lines or JSON
 * lines. A flush counts as sent when the stream has written it. A stream
 * error (EPIPE: the reader exited) is reported once, and from then on every
 * flush is dropped and counted; the daemon keeps running.
 */
export class StreamSink extends SinkReports implements Sink {
  readonly name: string;
  readonly #stream: Writable;
  readonly #json: boolean;
  readonly #maxBacklogBytes: number;
  /** Writes handed to the stream and not yet called back. */
  #pending = new Set<{ metrics: number; bytes: number }>();
  #broken = false;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly #stats = sinkCounters();

  constructor(options: StreamSinkOptions) {
    super();
    this.#stream = options.stream ?? process.stdout;
    this.#json = options.format === 'json';
    this.#maxBacklogBytes = integerOption('maxBacklogBytes', options.maxBacklogBytes, DEFAULT_STREAM_BACKLOG_BYTES, 1, Number.MAX_SAFE_INTEGER);
    this.name = `stdout ${options.format}`;
    listen(this.#stream, this.#onError);
  }

  write(flush: FlushResult): void {
    if (flush.carbon.length === 0) return;
    if (this.#broken || this.#closed) return this.#drop(flush.metrics);
    let out = flush.carbon;
    if (this.#json) out = toJsonLines(flush.carbon);
    // A flush larger than the bound still goes out when nothing is waiting.
    const waiting = this.#stream.writableLength;
    if (waiting > 0 && waiting + out.length > this.#maxBacklogBytes) return this.#drop(flush.metrics);
    const write = { metrics: flush.metrics, bytes: out.length };
    this.#pending.add(write);
    this.#stream.write(out, (error) => {
      if (!this.#pending.delete(write)) return; // given up on by close()
      if (error) {
        this.#drop(write.metrics);
        this.#fail(error);
      } else {
        this.#stats.flushesSent++;
        this.#stats.metricsSent += write.metrics;
        this.#stats.bytesSent += write.bytes;
      }
      this.#wake();
    });
  }

  readonly #onError = (error: Error) => this.#fail(error);

  #drop(metrics: number): void {
    this.#stats.flushesDropped++;
    this.#stats.metricsDropped += metrics;
  }

  #fail(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    this.fault(new Error(`${this.name}: ${error.message}; dropping the flushes from now on`));
  }

  #wake(): void {
    if (this.#pending.size > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  drain(timeoutMs: number): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Counts what the stream has not written yet as dropped; does not wait on it. */
  close(): Promise<void> {
    this.#closed = true;
    streamSinks.get(this.#stream)?.delete(this.#onError);
    for (const write of this.#pending) this.#drop(write.metrics);
    this.#pending.clear();
    this.#wake();
    return Promise.resolve();
  }

  stats(): SinkStats {
    let backlogBytes = 0;
    for (const write of this.#pending) backlogBytes += write.bytes;
    return { type: 'stdout', connected: !this.#broken, ...this.#stats, backlog: this.#pending.size, backlogBytes };
  }
}

/** Bytes of carbon text converted per step: JS strings stop at 2^29 characters. */
const JSON_CHUNK_BYTES = 16 << 20;

/**
 * Carbon lines as JSON lines, converted a chunk of whole lines at a time: a
 * flush over 512 MiB as one string would throw ERR_STRING_TOO_LONG.
 */
function toJsonLines(carbon: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let start = 0; start < carbon.length; ) {
    let end = Math.min(start + JSON_CHUNK_BYTES, carbon.length);
    if (end < carbon.length) end = carbon.lastIndexOf(10, end - 1) + 1 || carbon.length;
    let text = '';
    for (const line of carbon.toString('utf8', start, end).split('\n')) {
      if (line === '') continue;
      const [name, value, timestamp] = line.split(' ');
      text += `${JSON.stringify({ name, value: Number(value), timestamp: Number(timestamp) })}\n`;
    }
    parts.push(Buffer.from(text));
    start = end;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * The open sinks of each stream. A stream gets one 'error' listener for good
 * (without one a stream error, EPIPE, would end the process), which tells the
 * sinks open on it; a daemon started and stopped many times on stdout adds no
 * listener each time.
 */
const streamSinks = new WeakMap<Writable, Set<(error: Error) => void>>();

function listen(stream: Writable, onError: (error: Error) => void): void {
  let sinks = streamSinks.get(stream);
  if (sinks === undefined) {
    const open = new Set<(error: Error) => void>();
    sinks = open;
    streamSinks.set(stream, open);
    stream.on('error', (error) => {
      for (const report of open) report(error);
    });
  }
  sinks.add(onError);
}
