// The daemon's HTTP server: connection limits and timeouts, and a table of
// routes that other modules register (health now; the web view, the Graphite
// render API and Prometheus exposition register theirs the same way).
/// <reference types="node" preserve="true" />
import * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';

import { close, listen, urlHost } from '../../net/listen';

export interface HttpOptions {
  address: string;
  port: number;
  /** Connections at once; past it one is closed at once, counted in `refused`. */
  maxConnections: number;
  /** ms a client has to send a whole request, and a connection may stay idle. */
  timeout: number;
}

export interface HttpStats {
  /** Open now; the others are totals. */
  connections: number;
  refused: number;
  timeouts: number;
  requests: number;
  acceptErrors: number;
  /** Requests refused (403) for a Host that is not loopback while the server listens on loopback. */
  foreignHosts: number;
}

/**
 * Answers one request. `path` is the URL's path without its query; `query`
 * its parameters. A handler must answer (or end `res`); one that throws, or
 * returns a promise that rejects, is answered 500 and reported as an error.
 */
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams) => unknown;

/** Sends `body` as JSON with `status`, and closes the connection. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(`${JSON.stringify(body)}\n`);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** A Host header naming loopback, with or without a port. */
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/i;

/** ms a closing server gives clients that never finish their request. */
const CUT_OFF_MS = 1000;

// HTTP must not be a way to take the daemon down: idle or half-sent requests
// would each hold a file descriptor until there are none left for the
// metric inputs. So connections are capped, and each is closed once it has
// been idle for `timeout`, or has not sent a whole request within it (a slow
// drip of header bytes never goes idle: headersTimeout/requestTimeout catch it).
export class HttpServer {
  readonly options: HttpOptions;
  readonly #exact = new Map<string, RouteHandler>();
  /** Prefixes ending in '/', longest first. */
  #prefixes: [string, RouteHandler][] = [];
  readonly #onError: (error: Error) => void;
  #server: http.Server | undefined;
  readonly #stats: HttpStats = { connections: 0, refused: 0, timeouts: 0, requests: 0, acceptErrors: 0, foreignHosts: 0 };
  port = 0;

  constructor(options: HttpOptions, onError: (error: Error) => void) {
    this.options = options;
    this.#onError = onError;
  }

  get url(): string {
    return `http://${urlHost(this.options.address)}:${this.port || this.options.port}`;
  }

  /** Serves `path` exactly, or with a path ending in '/' every path under it. A later route for the same path replaces it. */
  route(path: string, handler: RouteHandler): void {
    if (path.endsWith('/') && path !== '/') {
      const prefixes: [string, RouteHandler][] = [...this.#prefixes.filter(([p]) => p !== path), [path, handler]];
      this.#prefixes = prefixes.sort((a, b) => b[0].length - a[0].length);
    } else {
      this.#exact.set(path, handler);
    }
  }

  async start(): Promise<void> {
    const { timeout, maxConnections } = this.options;
    const server = http.createServer(
      // Node checks the request deadlines every connectionsCheckingInterval
      // (default 30 s): at most 1 s here, so a request that is not whole is
      // closed between `timeout` and `timeout` + 1 s after it began.
      { headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.min(timeout, 1000) },
      (req, res) => this.#serve(req, res),
    );
    server.maxConnections = maxConnections;
    server.timeout = timeout;
    const stats = this.#stats;
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
    this.#server = server;
    this.port = await listen(server, this.url, this.options.port, this.options.address, (error) => {
      stats.acceptErrors++;
      this.#onError(error);
    });
  }

  #serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.#stats.requests++;
    // Listening on loopback, the daemon answers only requests addressed to
    // loopback: a web page in a local browser that rebinds its own name to
    // 127.0.0.1 (DNS rebinding) gets nothing back. Clients on the machine
    // (curl, Prometheus, Grafana, the page) send 127.0.0.1, localhost or [::1].
    if (LOOPBACK.has(this.options.address) && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      this.#stats.foreignHosts++;
      return sendJson(res, 403, { error: `Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not this loopback server's: ask 127.0.0.1, localhost or [::1]` });
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const handler = this.#exact.get(path) ?? this.#prefixes.find(([p]) => path.startsWith(p))?.[1];
    if (!handler) return sendJson(res, 404, { error: 'not found' });
    const failed = (error: unknown) => {
      this.#onError(new Error(`http ${path}: ${(error as Error)?.message ?? String(error)}`));
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    };
    try {
      const done = handler(req, res, path, query);
      if (typeof (done as PromiseLike<unknown> | undefined)?.then === 'function') Promise.resolve(done).catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Stops accepting; a client that has not finished within a second is cut off. */
  async stop(): Promise<void> {
    const server = this.#server;
    const cutOff = setTimeout(() => server?.closeAllConnections(), CUT_OFF_MS);
    await close(server);
    clearTimeout(cutOff);
    this.#server = undefined;
  }

  get stats(): HttpStats {
    return { ...this.#stats };
  }
}
