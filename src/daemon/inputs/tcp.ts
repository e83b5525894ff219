// TCP line input: newline-separated statsd lines over TCP connections, as
// etsy statsd's servers/tcp (DESIGN §7).
/// <reference types="node" preserve="true" />
import * as net from 'node:net';

import { close, listen, urlHost } from '../../net/listen';
import { LineAssembler } from './line-assembler';

export interface TcpInputOptions {
  address: string;
  port: number;
  /** Connections at once; past it one is closed at once, counted in `refused`. */
  maxConnections: number;
  /** Longest line kept; a longer one is dropped and counted in `overlongLines`. */
  maxLineBytes: number;
}

export interface TcpInputStats {
  /** Open now. */
  connections: number;
  /** Bytes of unfinished lines held for the open connections. */
  pendingBytes: number;
  accepted: number;
  refused: number;
  resets: number;
  /** Last lines of a connection without their '\n', dropped. */
  truncatedLines: number;
  overlongLines: number;
  acceptErrors: number;
}

/** ms a sender has to close its side after we asked it to, at stop(). */
const CUT_OFF_MS = 1000;

export class TcpInput {
  readonly options: TcpInputOptions;
  readonly #ingest: (lines: Buffer) => void;
  readonly #onError: (error: Error) => void;
  #server: net.Server | undefined;
  /** Open connections and their line buffers. */
  readonly #connections = new Map<net.Socket, LineAssembler>();
  /** While held: whole lines kept, and the connections paused meanwhile. */
  #held = false;
  #waiting: Buffer[] = [];
  readonly #paused = new Set<net.Socket>();
  readonly #counts = { accepted: 0, refused: 0, resets: 0, truncatedLines: 0, overlongLines: 0, acceptErrors: 0 };
  port = 0;

  /** `ingest` takes chunks of whole lines; `onError` errors after start (accept failures). */
  constructor(options: TcpInputOptions, ingest: (lines: Buffer) => void, onError: (error: Error) => void) {
    this.options = options;
    this.#ingest = ingest;
    this.#onError = onError;
  }

  get url(): string {
    return `tcp://${urlHost(this.options.address)}:${this.port || this.options.port}`;
  }

  /** Binds; rejects with Node's code (EADDRINUSE …) on failure. */
  async start(): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    server.maxConnections = this.options.maxConnections;
    // Node closes a connection past maxConnections at once; count it.
    server.on('drop', () => this.#counts.refused++);
    this.#server = server;
    this.port = await listen(server, this.url, this.options.port, this.options.address, (error) => {
      this.#counts.acceptErrors++;
      this.#onError(error);
    });
  }

  #accept(socket: net.Socket): void {
    const lines = new LineAssembler(this.options.maxLineBytes);
    this.#connections.set(socket, lines);
    this.#counts.accepted++;
    socket.on('data', (chunk: Buffer) => {
      const whole = lines.push(chunk);
      if (!whole) return;
      if (!this.#held) return this.#ingest(whole);
      // Held (a flush holds the aggregator on a worker thread: ingesting now
      // would block this thread, and /ping, on its lock). Keep the lines and
      // stop reading this connection: TCP pushes back on the sender.
      this.#waiting.push(whole);
      socket.pause();
      this.#paused.add(socket);
    });
    socket.on('error', () => {
      this.#counts.resets++;
      socket.destroy();
    });
    // Only '\n' ends a line. An unterminated tail at connection end, after
    // a FIN or a reset alike, is dropped and counted: Node often reports a
    // reset as a clean 'end', so the two cannot be told apart, and a tail
    // cut by a reset would be aggregated as a whole line (`cut:5|c` of
    // `cut:50|c`). etsy statsd's TCP server drops such a tail too.
    socket.on('close', () => {
      if (lines.end()) this.#counts.truncatedLines++;
      this.#counts.overlongLines += lines.overlong;
      this.#connections.delete(socket);
    });
  }

  /** From now on keep lines instead of ingesting them, pausing their connections. */
  hold(): void {
    this.#held = true;
  }

  /** Ingests the lines kept while held, and reads the paused connections again. */
  release(): void {
    this.#held = false;
    for (const whole of this.#waiting.splice(0)) this.#ingest(whole);
    for (const socket of this.#paused) socket.resume();
    this.#paused.clear();
  }

  /**
   * Stops accepting and asks senders to finish (FIN); one that has not closed
   * its side within a second is cut off, so a stuck client cannot hold up a
   * shutdown. Lines kept while held stay until release().
   */
  async stop(): Promise<void> {
    for (const socket of this.#connections.keys()) socket.end();
    const cutOff = setTimeout(() => {
      for (const socket of this.#connections.keys()) socket.destroy();
    }, CUT_OFF_MS);
    await close(this.#server);
    clearTimeout(cutOff);
    this.#server = undefined;
  }

  get stats(): TcpInputStats {
    const tcp = { connections: this.#connections.size, pendingBytes: 0, ...this.#counts };
    for (const lines of this.#connections.values()) {
      tcp.pendingBytes += lines.pending;
      tcp.overlongLines += lines.overlong; // closed connections are in #counts
    }
    return tcp;
  }
}
