// The daemon, as a composition: inputs (datagram, TCP) feed one aggregator;
// a flush schedule hands each flush to the sinks; an HTTP server serves the
// routes registered on it (DESIGN §7). Each part is its own module; this
// file only wires them and keeps the daemon-wide counters.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';

import { Aggregator, type AggregatorStats, type FlushFormat, type FlushResult } from '../aggregator/aggregator';
import { UpstreamSink } from '../scale/upstream-sink';
import { type ResolvedServerOptions, type ServerOptions, resolveServerOptions } from './config/server-options';
import { FlushSchedule } from './flush-schedule';
import { registerHealthRoutes } from './http/health';
import { HttpServer, type HttpStats, type RouteHandler } from './http/http-server';
import { DatagramInput } from './inputs/datagram';
import { TcpInput, type TcpInputStats } from './inputs/tcp';
import { GraphiteSink } from './sinks/graphite';
import type { Sink, SinkStats } from './sinks/sink';
import { StreamSink } from './sinks/stream';
import { GraphiteApi } from './graphite-api/graphite-api';
import { History } from './history/history';
import { registerPrometheusRoute } from './prometheus/exposition';
import { registerWebRoutes } from './web/web-routes';

export type { ServerOptions } from './config/server-options';

/** The datagram inputs' counters, UDP and unix summed. */
export interface DatagramStats {
  datagrams: number;
  bytes: number;
  kernelDrops: number;
  receiveErrors: number;
  truncated: number;
  /** SO_RCVBUF of the UDP socket as the kernel reports it (twice what it grants). */
  receiveBuffer: number;
  heldWhileBusy: number;
}

export interface ServerStats {
  aggregator: AggregatorStats;
  /** Datapoints in all flushes so far. */
  datapointsFlushed: number;
  udp: DatagramStats;
  tcp: TcpInputStats;
  http: HttpStats;
  sinks: ({ name: string } & SinkStats)[];
  /** Lines and errors per second over the last flush interval. */
  perSecond: { metrics: number; errors: number };
}

const NO_TCP: TcpInputStats = { connections: 0, pendingBytes: 0, accepted: 0, refused: 0, resets: 0, truncatedLines: 0, overlongLines: 0, acceptErrors: 0 };
const NO_HTTP: HttpStats = { connections: 0, refused: 0, timeouts: 0, requests: 0, acceptErrors: 0, foreignHosts: 0 };

/**
 * Events: 'flush' (FlushResult) after each flush is handed to the sinks;
 * 'error' (Error) for faults the daemon keeps running through (a sink's,
 * accept failures), emitted only when there is a listener; 'recover'
 * (message) when a sink works again.
 */
export class StatsdServer extends EventEmitter {
  readonly aggregator: Aggregator;
  readonly sinks: readonly Sink[];
  /** The options as resolved: every default filled in. */
  readonly options: ResolvedServerOptions;
  readonly #schedule: FlushSchedule;
  #datagrams: DatagramInput[] = [];
  readonly #tcp: TcpInput | undefined;
  readonly #http: HttpServer | undefined;
  #datapoints = 0;
  /** What a flush writes: carbon lines, or statsd lines for `upstream`. */
  readonly #format: FlushFormat;
  #running = false;
  #starting: Promise<void> | undefined;
  #stopping = false;
  /** Listening to the sinks' reports, until stop() (a sink may outlive this server). */
  readonly #onSinkFault = (error: Error) => this.#error(error);
  readonly #onSinkRecover = (message: string) => this.emit('recover', message);
  #lastFlush = { at: Date.now(), lines: 0, errors: 0 };
  #perSecond = { metrics: 0, errors: 0 };
  udpPort = 0;
  /** What the flushes wrote, kept for the window (the `history` option); undefined without it. */
  readonly history: History | undefined;
  /** Graphite's /metrics/find and /render over the history (with `history` and `http`); undefined without. */
  readonly graphiteApi: GraphiteApi | undefined;

  constructor(options: ServerOptions) {
    super();
    const resolved = resolveServerOptions(options);
    this.options = resolved;
    this.aggregator = new Aggregator(resolved.aggregator);
    const sinks = resolved.sinks;
    if (resolved.graphite) sinks.push(new GraphiteSink(resolved.graphite));
    if (resolved.stdout) sinks.push(new StreamSink(resolved.stdout));
    if (resolved.upstream) sinks.push(new UpstreamSink(resolved.upstream));
    this.#format = resolved.upstream ? 'statsd' : 'plaintext';
    if (resolved.history) {
      this.history = new History(resolved.history);
      sinks.push(this.history);
    }
    this.sinks = sinks;
    for (const sink of sinks) {
      sink.on?.('fault', this.#onSinkFault);
      sink.on?.('recover', this.#onSinkRecover);
    }
    const onError = (error: Error) => this.#error(error);
    if (resolved.tcp) this.#tcp = new TcpInput(resolved.tcp, (lines) => this.aggregator.ingest(lines), onError);
    if (resolved.http) {
      this.#http = new HttpServer(resolved.http, onError);
      registerHealthRoutes(this.#http, this);
      if (resolved.prometheus) registerPrometheusRoute(this.#http, this, resolved.prometheus);
      registerWebRoutes(this.#http, this);
      if (this.history) {
        this.graphiteApi = new GraphiteApi(this.history, resolved.graphiteApi);
        this.graphiteApi.register((path, handler) => this.#http!.route(path, handler));
      }
    }
    this.#schedule = new FlushSchedule(
      { interval: resolved.flushInterval, align: resolved.alignFlush, convention: this.aggregator.convention },
      (stamp) => this.#flushOffThread(stamp), // releases TCP input after each flush
    );
  }

  get tcpPort(): number {
    return this.#tcp?.port ?? 0;
  }

  get httpPort(): number {
    return this.#http?.port ?? 0;
  }

  /**
   * Serves `path` on the HTTP server (with a trailing '/', every path under
   * it); the way the daemon's views and APIs are added. No-op without `http`.
   */
  route(path: string, handler: RouteHandler): void {
    this.#http?.route(path, handler);
  }

  /** Binds every input and starts flushing; rejects (and undoes) on a bind error, keeping Node's `code` (EADDRINUSE …). */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      for (const options of [this.options.udp, this.options.unix]) {
        if (!options) continue;
        const input = new DatagramInput(this.aggregator, options);
        input.start();
        this.#datagrams.push(input);
        if (!options.unix) this.udpPort = input.stats.port;
      }
      await this.#tcp?.start();
      await this.#http?.start();
    } catch (error) {
      await this.#stopInputs();
      throw error;
    }
    if (this.#stopping) return; // stop() was called meanwhile: it closes what was bound
    // Sinks connect now, so /ping shows carbon's health before the first flush.
    for (const sink of this.sinks) sink.start?.();
    this.#running = true;
    this.#schedule.start();
  }

  /**
   * Flushes now, on this thread, and hands the result to every sink. Stamped
   * `timestamp`, or by default the current second but never the previous
   * flush's (see FlushSchedule).
   */
  flush(timestamp?: number): FlushResult {
    const before = this.aggregator.stats;
    const result = this.aggregator.flush({ timestamp: this.#schedule.claim(timestamp), format: this.#format });
    this.#flushed(before, result);
    return result;
  }

  /**
   * A scheduled flush, on a worker thread (Aggregator.flushAsync): /ping and
   * TCP input go on meanwhile; TCP lines wait for it in the input (ingesting
   * them would block this thread on the aggregator's lock).
   */
  async #flushOffThread(stamp: number): Promise<void> {
    this.#tcp?.hold();
    const before = this.aggregator.stats;
    try {
      this.#flushed(before, await this.aggregator.flushAsync({ timestamp: stamp, format: this.#format }));
    } catch (error) {
      this.#error(error as Error);
    } finally {
      // The lines kept meanwhile go in now, before a flush already due takes
      // the aggregator again: with flushes slower than the interval, TCP
      // input would otherwise wait until they stopped coming.
      this.#tcp?.release();
    }
  }

  #flushed(before: AggregatorStats, result: FlushResult): void {
    this.#datapoints += result.metrics;
    const seconds = (Date.now() - this.#lastFlush.at) / 1000 || 1;
    this.#perSecond = {
      metrics: (before.lines - this.#lastFlush.lines) / seconds,
      errors: (before.errors - this.#lastFlush.errors) / seconds,
    };
    this.#lastFlush = { at: Date.now(), lines: before.lines, errors: before.errors };
    for (const sink of this.sinks) {
      // A sink must not throw (Sink.write); one that does is reported, and
      // the sinks after it still get the flush.
      try {
        sink.write(result);
      } catch (error) {
        this.#error(new Error(`${sink.name}: write failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      }
    }
    this.emit('flush', result);
  }

  /**
   * Stops the inputs, flushes what they accepted, delivers it (up to
   * `drainMs`, default the shutdownTimeout option), closes the sinks.
   */
  async stop(drainMs = this.options.shutdownTimeout): Promise<void> {
    this.#stopping = true;
    await this.#starting?.catch(() => {}); // a start() under way binds first, then is undone here
    const wasRunning = this.#running;
    this.#running = false;
    // No scheduled flush from now on, and the one under way first: while it
    // runs, TCP connections are paused with lines unread, and closing the
    // inputs now would cut them off after a second with those lines lost.
    await this.#schedule.stop();
    this.#tcp?.release();
    await this.#stopInputs();
    try {
      if (wasRunning) this.flush();
    } catch (error) {
      this.#error(error as Error); // the sinks are still drained and closed
    }
    await Promise.all(this.sinks.map((s) => s.drain(drainMs)));
    await Promise.all(this.sinks.map((s) => s.close()));
    for (const sink of this.sinks) {
      sink.off?.('fault', this.#onSinkFault);
      sink.off?.('recover', this.#onSinkRecover);
    }
  }

  async #stopInputs(): Promise<void> {
    for (const input of this.#datagrams) input.stop();
    this.#datagrams = [];
    await Promise.all([this.#tcp?.stop(), this.#http?.stop()]);
  }

  /** Input, aggregation and sink counters (the HTTP /stats body is built from them). */
  get stats(): ServerStats {
    const udp: DatagramStats = { datagrams: 0, bytes: 0, kernelDrops: 0, receiveErrors: 0, truncated: 0, receiveBuffer: 0, heldWhileBusy: 0 };
    for (const input of this.#datagrams) {
      const s = input.stats;
      if (!input.options.unix) udp.receiveBuffer = s.receiveBuffer;
      udp.datagrams += s.datagrams;
      udp.bytes += s.bytes;
      udp.kernelDrops += s.kernelDrops;
      udp.receiveErrors += s.receiveErrors;
      udp.truncated += s.truncated;
      udp.heldWhileBusy += s.heldWhileBusy;
    }
    return {
      aggregator: this.aggregator.stats,
      datapointsFlushed: this.#datapoints,
      udp,
      tcp: this.#tcp?.stats ?? { ...NO_TCP },
      http: this.#http?.stats ?? { ...NO_HTTP },
      sinks: this.sinks.map((s) => ({ name: s.name, ...s.stats() })),
      perSecond: this.#perSecond,
    };
  }

  #error(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
