// The daemon: native UDP/unix-datagram input, TCP line input, a flush
// scheduler, sinks, and HTTP health endpoints (DESIGN §7).
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

import { Aggregator, type AggregatorOptions, type AggregatorStats, type FlushResult } from '../aggregator/aggregator';
import { StatsdError } from '../core/errors';
import { DatagramInput, type DatagramInputOptions } from './inputs/datagram';
import { LineAssembler } from './inputs/line-assembler';
import { integerOption, knownKeys } from '../core/options';
import type { Sink } from './sinks/sinks';

export interface ServerOptions {
  aggregator?: AggregatorOptions;
  /** UDP input (native threads); undefined → none. */
  udp?: {
    address?: string;
    port?: number;
    workers?: number;
    receiveBuffer?: number;
    /**
     * Per receiving thread, datagram bytes read on and held while a flush
     * holds the aggregator (default 64 MiB; 0: leave them in the socket buffer).
     */
    heldBytes?: number;
  };
  /** TCP line input; undefined → none. */
  tcp?: { address?: string; port?: number; maxConnections?: number };
  /** Unix datagram input at this path. */
  unix?: string;
  /** HTTP /ping /stats /metric/<key>; undefined → none. */
  http?: {
    address?: string;
    port?: number;
    /** Connections at once (default 256); past it one is closed at once, counted in `http.refused`. */
    maxConnections?: number;
    /**
     * ms a client has to send a whole request, and a connection may stay idle
     * (default 10000); past it the connection is closed, counted in `http.timeouts`.
     */
    timeout?: number;
  };
  sinks: Sink[];
  /** ms between flushes (default: the aggregator's flushInterval, 10000). */
  flushInterval?: number;
  /** Flush on wall-clock multiples of flushInterval. */
  alignFlush?: boolean;
}

const VERSION: string = (require('../../package.json') as { version: string }).version;

export class StatsdServer extends EventEmitter {
  readonly aggregator: Aggregator;
  readonly sinks: readonly Sink[];
  readonly #options: ServerOptions;
  readonly #flushInterval: number;
  #datagramInputs: DatagramInput[] = [];
  #tcp: net.Server | undefined;
  #http: http.Server | undefined;
  /** Open TCP input connections and their line buffers. */
  #connections = new Map<net.Socket, LineAssembler>();
  #timer: NodeJS.Timeout | undefined;
  #nextAt = 0;
  /** The timestamp of the last flush (0 before the first). */
  #lastStamp = 0;
  /** Datapoints in all flushes so far. */
  #datapoints = 0;
  #running = false;
  /** The scheduled flush under way on a worker thread, if any, and the stamp of one due after it. */
  #flushing: Promise<void> | undefined;
  #flushDue: number | undefined;
  /** TCP lines that arrived during it, and the connections paused meanwhile. */
  #tcpWaiting: Buffer[] = [];
  readonly #tcpPaused = new Set<net.Socket>();
  #lastFlush: { at: number; lines: number; errors: number } = { at: Date.now(), lines: 0, errors: 0 };
  #perSecond = { metrics: 0, errors: 0 };
  readonly #tcpStats = { accepted: 0, refused: 0, resets: 0, truncatedLines: 0, overlongLines: 0, acceptErrors: 0 };
  /** `connections` open now; the others are totals. */
  readonly #httpStats = { connections: 0, refused: 0, timeouts: 0, requests: 0, acceptErrors: 0 };
  udpPort = 0;
  tcpPort = 0;
  httpPort = 0;

  constructor(options: ServerOptions) {
    super();
    // A misspelt key would leave its default in place without a word.
    knownKeys('StatsdServer', options, ['aggregator', 'udp', 'tcp', 'unix', 'http', 'sinks', 'flushInterval', 'alignFlush']);
    if (options.udp) knownKeys('StatsdServer udp', options.udp, ['address', 'port', 'workers', 'receiveBuffer', 'heldBytes']);
    if (options.tcp) knownKeys('StatsdServer tcp', options.tcp, ['address', 'port', 'maxConnections']);
    if (options.http) knownKeys('StatsdServer http', options.http, ['address', 'port', 'maxConnections', 'timeout']);
    const udp = options.udp;
    if (udp) {
      // checked here: the native receiver casts them to fixed-width integers
      integerOption('udp.port', udp.port, 8125, 0, 65535);
      integerOption('udp.workers', udp.workers, 1, 1, 1024);
      integerOption('udp.receiveBuffer', udp.receiveBuffer, 32 << 20, 0, 2 ** 31 - 1);
      integerOption('udp.heldBytes', udp.heldBytes, 64 << 20, 0, 2 ** 40);
    }
    if (options.http) {
      // >= 1: Node reads maxConnections 0 as "no limit"
      integerOption('http.maxConnections', options.http.maxConnections, 256, 1, 1 << 20);
      integerOption('http.timeout', options.http.timeout, 10000, 1, 2 ** 31 - 1);
    }
    this.#options = options;
    this.#flushInterval = options.flushInterval ?? options.aggregator?.flushInterval ?? 10000;
    this.aggregator = new Aggregator({ ...options.aggregator, flushInterval: this.#flushInterval });
    this.sinks = options.sinks;
    for (const sink of this.sinks) {
      sink.onError = (error) => this.#error(error);
      sink.onRecover = (message) => this.emit('recover', message);
    }
  }

  /** Binds every input and starts flushing; rejects (and undoes) on a bind error. */
  async start(): Promise<void> {
    try {
      const udp = this.#options.udp;
      if (udp) {
        const input = this.#startDatagrams({
          address: udp.address ?? '127.0.0.1',
          port: udp.port ?? 8125,
          unix: false,
          workers: udp.workers ?? 1,
          receiveBuffer: udp.receiveBuffer ?? 32 << 20,
          heldBytes: udp.heldBytes ?? 64 << 20,
        });
        this.udpPort = input.stats.port;
      }
      if (this.#options.unix) {
        const heldBytes = this.#options.udp?.heldBytes ?? 64 << 20;
        this.#startDatagrams({ address: this.#options.unix, port: 0, unix: true, workers: 1, receiveBuffer: 8 << 20, heldBytes });
      }
      if (this.#options.tcp) this.tcpPort = await this.#startTcp(this.#options.tcp);
      if (this.#options.http) this.httpPort = await this.#startHttp(this.#options.http);
    } catch (error) {
      await this.#closeInputs();
      throw error;
    }
    // Sinks connect now, so /ping shows carbon's health before the first flush.
    for (const sink of this.sinks) sink.start?.();
    this.#running = true;
    this.#schedule();
  }

  #startDatagrams(options: DatagramInputOptions): DatagramInput {
    const input = new DatagramInput(this.aggregator, options);
    input.start();
    this.#datagramInputs.push(input);
    return input;
  }

  #startTcp(options: NonNullable<ServerOptions['tcp']>): Promise<number> {
    const maxLineBytes = this.#options.aggregator?.maxLineBytes ?? 8192;
    const server = net.createServer((socket) => {
      const lines = new LineAssembler(maxLineBytes);
      this.#connections.set(socket, lines);
      this.#tcpStats.accepted++;
      socket.on('data', (chunk: Buffer) => {
        const whole = lines.push(chunk);
        if (!whole) return;
        if (this.#flushing === undefined) {
          this.aggregator.ingest(whole);
          return;
        }
        // A flush holds the aggregator on a worker thread: ingesting now would
        // block this thread (and /ping) on its lock. Keep the lines, stop
        // reading this connection (TCP pushes back on the sender), and go on
        // once the flush is done.
        this.#tcpWaiting.push(whole);
        socket.pause();
        this.#tcpPaused.add(socket);
      });
      socket.on('error', () => {
        this.#tcpStats.resets++;
        socket.destroy();
      });
      // Only '\n' ends a line. An unterminated tail at connection end, after
      // a FIN or a reset alike, is dropped and counted: Node often reports a
      // reset as a clean 'end', so the two cannot be told apart, and a tail
      // cut by a reset would be aggregated as a whole line (`cut:5|c` of
      // `cut:50|c`). etsy statsd's TCP server drops such a tail too.
      socket.on('close', () => {
        if (lines.end()) this.#tcpStats.truncatedLines++;
        this.#tcpStats.overlongLines += lines.overlong;
        this.#connections.delete(socket);
      });
    });
    server.maxConnections = options.maxConnections ?? 1024;
    // Node closes a connection past maxConnections at once; count it.
    server.on('drop', () => this.#tcpStats.refused++);
    this.#tcp = server;
    return listen(server, options.port ?? 8125, options.address ?? '127.0.0.1', 'tcp', (error) => {
      this.#tcpStats.acceptErrors++;
      this.#error(error);
    });
  }

  // HTTP must not be a way to take the daemon down: idle or half-sent requests
  // would each hold a file descriptor until there are none left for the
  // metric inputs. So connections are capped, and each is closed once it has
  // been idle for `timeout`, or has not sent a whole request within it (a slow
  // drip of header bytes never goes idle: headersTimeout/requestTimeout catch it).
  #startHttp(options: NonNullable<ServerOptions['http']>): Promise<number> {
    const timeout = options.timeout ?? 10000;
    const server = http.createServer(
      // Node checks the request deadlines every connectionsCheckingInterval
      // (default 30 s): at most 1 s here, so a request that is not whole is
      // closed between `timeout` and `timeout` + 1 s after it began.
      { headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.min(timeout, 1000) },
      (req, res) => this.#serveHttp(req, res),
    );
    server.maxConnections = options.maxConnections ?? 256;
    server.timeout = timeout;
    const stats = this.#httpStats;
    server.on('connection', (socket: net.Socket) => {
      stats.connections++;
      socket.once('close', () => stats.connections--);
    });
    // Node closes a connection past maxConnections at once; count it.
    server.on('drop', () => stats.refused++);
    // With a listener Node leaves the idle socket open; close it.
    server.on('timeout', (socket: net.Socket) => {
      stats.timeouts++;
      socket.destroy();
    });
    // A listener is needed to count the request timeouts; it answers as Node
    // does without one (408, or 400 for a bad request) and closes at once, so
    // a client that never closes its side holds nothing.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (timedOut) stats.timeouts++;
      if (socket.writable && error.code !== 'ECONNRESET') {
        socket.write(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
      }
      socket.destroy();
    });
    this.#http = server;
    return listen(server, options.port ?? 8080, options.address ?? '127.0.0.1', 'http', (error) => {
      stats.acceptErrors++;
      this.#error(error);
    });
  }

  // Flushes happen at fixed times (wall-clock multiples with alignFlush): a
  // timer that fires a little early or late does not shift the schedule, and
  // each flush is stamped with its scheduled second.
  #schedule(): void {
    if (!this.#running) return;
    const interval = this.#flushInterval;
    const now = Date.now();
    if (this.#nextAt === 0) this.#nextAt = this.#options.alignFlush ? Math.ceil((now + 1) / interval) * interval : now + interval;
    this.#timer = setTimeout(() => {
      const at = this.#nextAt;
      // Node's timers may fire up to a millisecond before Date.now() reaches `at`.
      if (Date.now() < at) return this.#schedule();
      this.#nextAt += interval;
      while (this.#nextAt <= Date.now()) this.#nextAt += interval; // skip what was missed
      // Stamped as the peers stamp: brubeck floors the second, etsy rounds it.
      // Flushes a second or more apart never share a second (see flush()).
      const stamp = this.#toSecond(at);
      this.#flushOffThread(interval >= 1000 ? Math.max(stamp, this.#lastStamp + 1) : stamp);
      this.#schedule();
    }, Math.max(0, this.#nextAt - now));
  }

  /**
   * Flushes now and hands the result to every sink. Stamped `timestamp`, or by
   * default the current second; but never the second of the previous flush:
   * Graphite keeps one value per name and second, so a flush stamped like the
   * one before (SIGTERM just after a scheduled flush) would overwrite it.
   */
  flush(timestamp?: number): FlushResult {
    return this.#flush(timestamp ?? Math.max(this.#toSecond(Date.now()), this.#lastStamp + 1));
  }

  #toSecond(ms: number): number {
    return this.aggregator.convention === 'etsy' ? Math.round(ms / 1000) : Math.floor(ms / 1000);
  }

  #flush(stamp: number): FlushResult {
    const before = this.aggregator.stats;
    this.#lastStamp = stamp;
    const result = this.aggregator.flush({ timestamp: stamp });
    this.#flushed(before, result);
    return result;
  }

  /**
   * A scheduled flush, on a worker thread (Aggregator.flushAsync): /ping and
   * TCP input go on meanwhile. A flush due while one is under way waits for
   * it, and only the latest such flush does (what the skipped ones would have
   * reported is in it): flushes slower than the interval never queue up.
   */
  #flushOffThread(stamp: number): void {
    this.#lastStamp = stamp;
    if (this.#flushing !== undefined) {
      this.#flushDue = stamp;
      return;
    }
    this.#flushing = (async () => {
      for (let due: number | undefined = stamp; due !== undefined; ) {
        const before = this.aggregator.stats;
        try {
          this.#flushed(before, await this.aggregator.flushAsync({ timestamp: due }));
        } catch (error) {
          this.#error(error as Error);
        }
        due = this.#flushDue;
        this.#flushDue = undefined;
      }
      this.#flushing = undefined;
      this.#resumeTcp();
    })();
  }

  /** Ingests the TCP lines kept during a flush and reads the paused connections again. */
  #resumeTcp(): void {
    for (const whole of this.#tcpWaiting.splice(0)) this.aggregator.ingest(whole);
    for (const socket of this.#tcpPaused) socket.resume();
    this.#tcpPaused.clear();
  }

  #flushed(before: AggregatorStats, result: FlushResult): void {
    this.#datapoints += result.metrics;
    const seconds = (Date.now() - this.#lastFlush.at) / 1000 || 1;
    this.#perSecond = {
      metrics: (before.lines - this.#lastFlush.lines) / seconds,
      errors: (before.errors - this.#lastFlush.errors) / seconds,
    };
    this.#lastFlush = { at: Date.now(), lines: before.lines, errors: before.errors };
    for (const sink of this.sinks) sink.write(result);
    this.emit('flush', result);
  }

  /** Stops the inputs, flushes what they accepted, delivers it (up to `drainMs`), closes. */
  async stop(drainMs = 5000): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wasRunning = this.#running;
    this.#running = false;
    await this.#closeInputs();
    this.#flushDue = undefined; // the final flush below reports it
    await this.#flushing; // a scheduled flush under way comes first
    this.#resumeTcp();
    if (wasRunning) this.flush();
    await Promise.all(this.sinks.map((s) => s.drain(drainMs)));
    await Promise.all(this.sinks.map((s) => s.close()));
  }

  async #closeInputs(): Promise<void> {
    for (const input of this.#datagramInputs) input.stop();
    this.#datagramInputs = [];
    // Ask TCP senders to finish (FIN); one that has not closed its side within
    // a second is cut off, so a stuck client cannot hold up the shutdown
    // (nor can an HTTP client that never finishes its request).
    for (const socket of this.#connections.keys()) socket.end();
    const httpServer = this.#http;
    const cutOff = setTimeout(() => {
      for (const socket of this.#connections.keys()) socket.destroy();
      httpServer?.closeAllConnections();
    }, 1000);
    await Promise.all([close(this.#tcp), close(this.#http)]);
    clearTimeout(cutOff);
    this.#tcp = this.#http = undefined;
  }

  /** Input, aggregation and sink counters (the HTTP /stats body is built from them). */
  get stats() {
    // datagram inputs (UDP and unix) summed; receiveBuffer is the UDP socket's
    const udp = { datagrams: 0, bytes: 0, kernelDrops: 0, receiveErrors: 0, truncated: 0, receiveBuffer: 0, heldWhileBusy: 0 };
    for (const input of this.#datagramInputs) {
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
      tcp: this.#tcpInputStats(),
      http: { ...this.#httpStats },
      sinks: this.sinks.map((s) => ({ name: s.name, ...s.stats() })),
      perSecond: this.#perSecond,
    };
  }

  #tcpInputStats() {
    const tcp = { connections: this.#connections.size, pendingBytes: 0, ...this.#tcpStats };
    for (const lines of this.#connections.values()) {
      tcp.pendingBytes += lines.pending;
      tcp.overlongLines += lines.overlong; // closed connections are in #tcpStats
    }
    return tcp;
  }

  #serveHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    this.#httpStats.requests++;
    const url = req.url ?? '/';
    const stats = this.stats;
    const connected = stats.sinks.every((s) => s.connected);
    if (url === '/ping' || url === '/_ping') {
      send(connected ? 200 : 503, {
        version: VERSION,
        pid: process.pid,
        status: connected ? 'OK' : 'ERROR (backend disconnected)',
        metrics_per_second: stats.perSecond.metrics,
        errors_per_second: stats.perSecond.errors,
        unique_keys: stats.aggregator.keys,
      });
    } else if (url === '/stats') {
      send(200, {
        version: VERSION,
        metrics: stats.aggregator.lines,
        errors: stats.aggregator.errors,
        unique_keys: stats.aggregator.keys,
        backends: stats.sinks.map((s) => ({
          type: s.type,
          name: s.name,
          address: s.address,
          port: s.port,
          sample_freq: this.#flushInterval / 1000,
          connected: s.connected,
          bytes_sent: s.bytesSent,
          flushes_sent: s.flushesSent,
          metrics_sent: s.metricsSent,
          flushes_replayed: s.flushesReplayed,
          replays_dropped: s.replaysDropped,
          flushes_dropped: s.flushesDropped,
          metrics_dropped: s.metricsDropped,
          metrics_poisoned: s.metricsPoisoned ?? 0,
          backlog: s.backlog,
          backlog_bytes: s.backlogBytes ?? 0,
        })),
        samplers: this.#options.udp
          ? [{ type: 'statsd', sample_freq: stats.perSecond.metrics, address: this.#options.udp.address ?? '127.0.0.1', port: this.udpPort, ...snakeCase(stats.udp) }]
          : [],
        tcp: snakeCase(stats.tcp),
        http: snakeCase(stats.http),
        errors_by_reason: stats.aggregator.byReason,
        keys_dropped: stats.aggregator.keysDropped,
        key_bytes: stats.aggregator.keyBytes,
        members_dropped: stats.aggregator.membersDropped,
        samples_not_stored: stats.aggregator.samplesNotStored,
        nonfinite_dropped: stats.aggregator.nonfiniteDropped,
        flushes: stats.aggregator.flushes,
        datapoints_flushed: stats.datapointsFlushed,
      });
    } else if (url.startsWith('/metric/')) {
      let key: string;
      try {
        key = decodeURIComponent(url.slice('/metric/'.length));
      } catch {
        send(400, { error: 'bad key encoding' });
        return;
      }
      const found = this.aggregator.snapshot(key, { samples: false })[0]; // O(1): one lookup per type
      if (found) send(200, { key, type: this.#typeName(found.kind), expire: found.updated ? 'active' : 'inactive' });
      else send(404, { error: 'not found', key });
    } else {
      send(404, { error: 'not found' });
    }
  }

  // brubeck's /metric type names (meter for c, counter for C); etsy's own words.
  #typeName(kind: string): string {
    if (this.aggregator.convention === 'brubeck') {
      if (kind === 'counter') return 'meter';
      if (kind === 'monotonic') return 'counter';
    }
    return kind;
  }

  #error(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** brubeck's /stats spells fields in snake_case: `kernelDrops` → `kernel_drops`. */
function snakeCase(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}

/**
 * Binds `server`; rejects on a bind error. Once listening, its later errors
 * (accept failing for want of file descriptors: EMFILE, ENFILE) go to
 * `onError`: without a listener Node would throw them and end the daemon.
 */
function listen(server: net.Server, port: number, address: string, what: string, onError: (error: Error) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(Object.assign(new StatsdError('ERR_STATSD_INVALID_OPTION', `cannot listen on ${what}://${address}:${port}: ${error.code}`), { cause: error }));
    server.once('error', failed);
    server.listen(port, address, () => {
      server.off('error', failed);
      server.on('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function close(server: net.Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
