// The key-sharding relay (issue [7/7] item 1): statsd lines in over UDP and
// TCP, each routed by its key (KeyRouter: the aggregator's key, jump hash)
// to one of N downstream daemons, packed into packets of at most
// maxPacketBytes and sent over UDP. Downstreams' /ping is polled: a node that
// does not answer is marked down and its keys go to the next node up
// (counted as moved) until it answers again. Every line is accounted for on
// /stats: routed and sent, refused as bad (by reason), unroutable (every node
// down), or dropped by a node's send queue.
/// <reference types="node" preserve="true" />
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';

import { integerOption, invalidOption, knownKeys } from '../core/options';
import { registerRelayRoutes } from './relay-routes';
import { HttpServer, type HttpStats } from '../daemon/http/http-server';
import { TcpInput, type TcpInputStats } from '../daemon/inputs/tcp';
import { type Transport, countLines, createTransport } from '../net/transport';
import { KeyRouter, type KeyRouterStats } from './key-router';

export interface RelayNode {
  host: string;
  /** The node's statsd UDP port. */
  port: number;
  /** The node's HTTP port: its /ping is polled. Without it the node is never marked down. */
  httpPort?: number;
}

export interface RelayOptions {
  /** Downstream daemons, in order: the order is part of the hash (keep it when adding nodes at the end). */
  nodes: RelayNode[];
  udp?: { address?: string; port?: number };
  tcp?: { address?: string; port?: number; maxConnections?: number };
  http?: { address?: string; port?: number };
  /** The daemons' convention (default brubeck): etsy keys names sanitized, so routing must too. */
  convention?: 'brubeck' | 'etsy';
  /** etsy's keyNameSanitize, as the daemons have it (default true). */
  keyNameSanitize?: boolean;
  /** Largest packet sent to a node (default 1432). */
  maxPacketBytes?: number;
  /** ms a partial packet waits for more lines (default 2). */
  flushDelay?: number;
  /** ms between /ping polls of each node (default 1000). */
  healthInterval?: number;
  /** ms a /ping may take (default 500). */
  healthTimeout?: number;
  /** Failed polls in a row that mark a node down (default 2). */
  downAfter?: number;
  /** Bytes queued per node while sending; past it the oldest packets are dropped and counted (default 16 MiB). */
  maxQueueBytes?: number;
}

export interface RelayNodeStats {
  address: string;
  up: boolean;
  /** Times it was marked down. */
  downs: number;
  /** Lines handed to the kernel for it, and lines its queue dropped. */
  linesSent: number;
  linesDropped: number;
  packetsSent: number;
  bytesSent: number;
  /** Send errors (ECONNREFUSED: an earlier datagram found no listener). */
  sendErrors: number;
}

export interface RelayStats {
  udp: { datagrams: number; bytes: number };
  tcp: TcpInputStats;
  http: HttpStats;
  router: KeyRouterStats;
  nodes: RelayNodeStats[];
}

const DEFAULT_MAX_QUEUE_BYTES = 16 << 20;

/** Events: 'error' (Error) for faults it keeps running through; 'down' / 'up' (node index). */
export class Relay extends EventEmitter {
  readonly nodes: readonly RelayNode[];
  readonly router: KeyRouter;
  readonly #options: Required<Omit<RelayOptions, 'udp' | 'tcp' | 'http' | 'nodes' | 'convention' | 'keyNameSanitize'>> & Pick<RelayOptions, 'udp' | 'tcp' | 'http'>;
  readonly #transports: Transport[];
  readonly #nodeStats: RelayNodeStats[];
  readonly #failures: number[];
  #udp: dgram.Socket | undefined;
  readonly #tcp: TcpInput | undefined;
  readonly #http: HttpServer | undefined;
  readonly #udpStats = { datagrams: 0, bytes: 0 };
  #flushTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  /** Per node: a /ping in flight. */
  readonly #polling: boolean[] = [];
  udpPort = 0;

  constructor(options: RelayOptions) {
    super();
    knownKeys('Relay', options, ['nodes', 'udp', 'tcp', 'http', 'convention', 'keyNameSanitize', 'maxPacketBytes', 'flushDelay', 'healthInterval', 'healthTimeout', 'downAfter', 'maxQueueBytes']);
    if (!Array.isArray(options.nodes) || options.nodes.length === 0) throw invalidOption('nodes', 'a list of { host, port, httpPort? }', options.nodes);
    this.nodes = options.nodes.map((n, i) => {
      if (n === null || typeof n !== 'object' || typeof n.host !== 'string' || n.host === '') throw invalidOption(`nodes[${i}].host`, 'a host', n?.host);
      return {
        host: n.host,
        port: integerOption(`nodes[${i}].port`, n.port, 0, 1, 65535),
        httpPort: n.httpPort === undefined ? undefined : integerOption(`nodes[${i}].httpPort`, n.httpPort, 0, 1, 65535),
      };
    });
    this.#options = {
      udp: options.udp,
      tcp: options.tcp,
      http: options.http,
      maxPacketBytes: integerOption('maxPacketBytes', options.maxPacketBytes, 1432, 16, 65507),
      flushDelay: integerOption('flushDelay', options.flushDelay, 2, 0, 10_000),
      healthInterval: integerOption('healthInterval', options.healthInterval, 1000, 10, 3_600_000),
      healthTimeout: integerOption('healthTimeout', options.healthTimeout, 500, 1, 60_000),
      downAfter: integerOption('downAfter', options.downAfter, 2, 1, 1000),
      maxQueueBytes: 0, // set below: at least a packet
    };
    // A queue smaller than a packet would drop every packet, even to an idle socket.
    this.#options.maxQueueBytes = integerOption('maxQueueBytes', options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES, this.#options.maxPacketBytes, 2 ** 31 - 1);
    this.router = new KeyRouter(this.nodes.length, this.#options.maxPacketBytes, { convention: options.convention, keyNameSanitize: options.keyNameSanitize });
    this.#failures = this.nodes.map(() => 0);
    this.#nodeStats = this.nodes.map((n) => ({
      address: `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`,
      up: true,
      downs: 0,
      linesSent: 0,
      linesDropped: 0,
      packetsSent: 0,
      bytesSent: 0,
      sendErrors: 0,
    }));
    this.#transports = this.nodes.map((n, i) => {
      const s = this.#nodeStats[i]!;
      return createTransport(
        { transport: 'udp', host: n.host, port: n.port, path: '', source: 'option' },
        {
          error: (error) => {
            s.sendErrors++;
            this.#error(error);
            // ECONNREFUSED: a datagram found no one listening (the kernel's
            // ICMP answer). Poll the node now, downAfter times if need be,
            // rather than lose its lines until the next scheduled poll.
            if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') void this.#pollNode(i, this.#options.downAfter);
          },
          dropped: (packets) => {
            for (const p of packets) s.linesDropped += countLines(p);
          },
          sent: (packet) => {
            s.packetsSent++;
            s.bytesSent += packet.length;
            s.linesSent += countLines(packet);
          },
        },
        { maxQueueBytes: this.#options.maxQueueBytes, sendWindow: 0 },
      );
    });
    const onError = (error: Error) => this.#error(error);
    const tcp = this.#options.tcp;
    if (tcp) {
      this.#tcp = new TcpInput(
        { address: tcp.address ?? '127.0.0.1', port: tcp.port ?? 0, maxConnections: tcp.maxConnections ?? 1024, maxLineBytes: 8192 },
        (lines) => this.#route(lines),
        onError,
      );
    }
    const h = this.#options.http;
    if (h) {
      this.#http = new HttpServer({ address: h.address ?? '127.0.0.1', port: h.port ?? 0, maxConnections: 256, timeout: 10_000 }, onError);
      registerRelayRoutes(this.#http, this);
    }
  }

  /** The options as resolved (defaults filled in). */
  get options(): Readonly<Omit<RelayOptions, 'nodes'>> {
    return this.#options;
  }

  get tcpPort(): number {
    return this.#tcp?.port ?? 0;
  }

  get httpPort(): number {
    return this.#http?.port ?? 0;
  }

  async start(): Promise<void> {
    const udp = this.#options.udp;
    if (udp) {
      const address = udp.address ?? '127.0.0.1';
      const socket = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize: 32 << 20 });
      socket.on('message', (msg) => {
        this.#udpStats.datagrams++;
        this.#udpStats.bytes += msg.length;
        this.#route(msg);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(udp.port ?? 0, address, () => {
          socket.off('error', reject);
          socket.on('error', (error) => this.#error(error));
          resolve();
        });
      });
      this.#udp = socket;
      this.udpPort = socket.address().port;
    }
    await this.#tcp?.start();
    await this.#http?.start();
    if (this.nodes.some((n) => n.httpPort !== undefined)) {
      this.#healthTimer = setInterval(() => void this.#poll(), this.#options.healthInterval);
      this.#healthTimer.unref();
      void this.#poll();
    }
  }

  /** Stops the inputs, sends what was routed (up to `drainMs`), closes the sockets. */
  async stop(drainMs = 2000): Promise<void> {
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    const socket = this.#udp;
    this.#udp = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    await this.#tcp?.stop();
    this.#send(true);
    await Promise.all(this.#transports.map((t) => t.close(drainMs)));
    await this.#http?.stop();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
  }

  get stats(): RelayStats {
    return {
      udp: { ...this.#udpStats },
      tcp: this.#tcp?.stats ?? { connections: 0, pendingBytes: 0, accepted: 0, refused: 0, resets: 0, truncatedLines: 0, overlongLines: 0, acceptErrors: 0 },
      http: this.#http?.stats ?? { connections: 0, refused: 0, timeouts: 0, requests: 0, acceptErrors: 0, foreignHosts: 0 },
      router: this.router.stats,
      nodes: this.#nodeStats.map((s) => ({ ...s })),
    };
  }

  /** Routes lines, sends the full packets now and the partial ones after flushDelay. */
  #route(data: Buffer): void {
    if (this.router.route(data) > 0) this.#send(false); // only when a packet is full: take() makes JS objects
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#send(true);
      }, this.#options.flushDelay);
    }
  }

  #send(all: boolean): void {
    const perNode = this.router.take(all);
    for (let i = 0; i < perNode.length; i++) if (perNode[i]!.length > 0) this.#transports[i]!.send(perNode[i]!);
  }

  /**
   * Polls every node's /ping once; marks down after downAfter failures in a
   * row, up after one answer. Each node is polled on its own: one that
   * answers slowly never holds up the others' polls (a ping has a hard
   * deadline, and a node's next poll waits only for its own last one).
   */
  async #poll(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.#pollNode(i, 1)));
  }

  /**
   * Polls node i's /ping up to `times` times in a row, stopping at an answer
   * or once it is marked down; nothing when a poll of it is under way.
   */
  async #pollNode(i: number, times: number): Promise<void> {
    const node = this.nodes[i]!;
    if (node.httpPort === undefined || this.#polling[i]) return;
    this.#polling[i] = true;
    try {
      const s = this.#nodeStats[i]!;
      for (let k = 0; k < times; k++) {
        const alive = await ping(node.host, node.httpPort, this.#options.healthTimeout);
        if (alive) {
          this.#failures[i] = 0;
          if (!s.up) {
            s.up = true;
            this.router.setDown(i, false);
            this.emit('up', i);
          }
          return;
        }
        if (++this.#failures[i]! >= this.#options.downAfter && s.up) {
          s.up = false;
          s.downs++;
          this.router.setDown(i, true);
          this.emit('down', i);
        }
        if (!s.up) return;
      }
    } finally {
      this.#polling[i] = false;
    }
  }

  #error(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/**
 * Whether GET /ping gives a status line within `timeoutMs` (a 503, "carbon
 * down", is still a live daemon). The connection is closed as soon as the
 * status is known, or at the deadline however the peer drips its bytes.
 */
function ping(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/ping', agent: false }, (res) => {
      clearTimeout(deadline);
      res.destroy();
      resolve(true);
    });
    const deadline = setTimeout(() => {
      req.destroy();
      resolve(false);
    }, timeoutMs);
    req.on('error', () => {
      clearTimeout(deadline);
      resolve(false);
    });
  });
}

