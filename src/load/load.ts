// Load generator: sends a configurable statsd mix to any server at a paced
// rate and, with a Graphite sink, measures what the server delivered
// (DESIGN §1, "running benchmarks").
/// <reference types="node" preserve="true" />
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

import { parseEndpoint } from '../net/endpoint';
import { StatsdError } from '../core/errors';
import { invalidOption } from '../core/options';
import { type Transport, createTransport } from '../net/transport';
import { mulberry32 } from './prng';

/** What a load run offers unless told otherwise (also in `--help`). */
export const LOAD_DEFAULTS = {
  /** lines per second */
  rate: 100_000,
  /** seconds */
  duration: 10,
  keys: 1000,
  /** etsy statsd's recommended datagram size for a 1500-byte (Fast Ethernet) MTU */
  packetBytes: 1432,
} as const;

export interface LoadOptions {
  /** Server endpoint (udp://, tcp://, unix://, unixstream:// or host:port). */
  target: string;
  /** Lines per second to offer (default 100000). */
  rate?: number;
  /** Seconds to run (default 10). */
  duration?: number;
  /** Distinct keys (default 1000). */
  keys?: number;
  /** Type weights, e.g. { c: 35, ms: 30, g: 15, h: 10, s: 10 } (the default). */
  mix?: Partial<Record<'c' | 'g' | 'ms' | 'h' | 's' | 'd', number>>;
  /** Fraction of keys with DogStatsD tags (default 0). */
  tagged?: number;
  /** Fraction of ms/h lines with a `|@0.5` sample rate (default 0). */
  sampled?: number;
  /** Datagram (or stream chunk) size in bytes (default 1432). */
  packetBytes?: number;
  /** Name prefix of every key (default: a fresh one per run, runPrefix()). */
  prefix?: string;
  seed?: number;
  /** Called about once a second with the progress so far. */
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  elapsed: number;
  linesSent: number;
  packetsSent: number;
  errors: number;
  /** Lines per second over the last interval. */
  currentRate: number;
}

export interface LoadSummary extends LoadProgress {
  /** The keys' name prefix: `<prefix>.c.key7`. */
  prefix: string;
  /** Distinct keys. */
  keys: number;
  /** Lines per second over the whole run. */
  achievedRate: number;
  /** `c` lines sent: each adds exactly 1 to its key. */
  counterLines: number;
  byType: Record<string, number>;
}

const DEFAULT_MIX = { c: 35, ms: 30, g: 15, h: 10, s: 10 };

/**
 * A key prefix no other run uses, `load.<8 hex digits>`: a server that an
 * earlier run fed may still flush (or replay) that run's counters, and a
 * sink counting by prefix must not take them for this run's.
 */
export function runPrefix(): string {
  return `load.${randomBytes(4).toString('hex')}`;
}

interface Packet {
  bytes: Buffer;
  lines: number;
  counters: number;
  byType: Record<string, number>;
}

/**
 * Pre-builds a pool of packets with the requested mix so that sending costs
 * one write per packet. Every `c` line is `name:1|c`, so the sum of the
 * counters a server reports equals the `c` lines it accepted.
 */
export function buildPackets(o: LoadOptions, stream: boolean): Packet[] {
  const random = mulberry32(o.seed ?? 1);
  const keys = o.keys ?? LOAD_DEFAULTS.keys;
  const mix = Object.entries(o.mix ?? DEFAULT_MIX).filter(([, w]) => (w ?? 0) > 0) as [string, number][];
  const total = mix.reduce((n, [, w]) => n + w, 0);
  if (total <= 0) throw invalidOption('mix', 'positive weights', o.mix);
  const prefix = o.prefix ?? 'load';
  const tagged = o.tagged ?? 0;
  const sampled = o.sampled ?? 0;
  const packetBytes = o.packetBytes ?? LOAD_DEFAULTS.packetBytes;
  const pickType = () => {
    let r = random() * total;
    for (const [t, w] of mix) if ((r -= w) < 0) return t;
    return mix[mix.length - 1]![0];
  };
  const keyTypes = Array.from({ length: keys }, () => pickType());
  const keyTags = Array.from({ length: keys }, (_, i) => (random() < tagged ? `|#shard:${i % 8},env:load` : ''));
  const packets: Packet[] = [];
  const target = Math.max(64, Math.min(4096, Math.ceil((keys * 4) / 30)));
  while (packets.length < target) {
    const lines: string[] = [];
    const byType: Record<string, number> = {};
    let size = 0;
    let counters = 0;
    for (;;) {
      const k = Math.floor(random() * keys);
      const type = keyTypes[k]!;
      let value: string;
      if (type === 'c') value = '1';
      else if (type === 's') value = String(Math.floor(random() * 10000));
      else if (type === 'g') value = String(Math.floor(random() * 1000));
      else value = (random() * 1000).toFixed(2);
      const rate = (type === 'ms' || type === 'h') && random() < sampled ? '|@0.5' : '';
      const line = `${prefix}.${type}.key${k}:${value}|${type}${rate}${keyTags[k]}`;
      const separator = lines.length ? 1 : 0;
      if (size + separator + line.length + (stream ? 1 : 0) > packetBytes) break;
      lines.push(line);
      size += separator + line.length;
      byType[type] = (byType[type] ?? 0) + 1;
      if (type === 'c') counters++;
    }
    if (lines.length === 0) throw invalidOption('packetBytes', 'room for one line', packetBytes);
    const text = lines.join('\n') + (stream ? '\n' : '');
    packets.push({ bytes: Buffer.from(text), lines: lines.length, counters, byType });
  }
  return packets;
}

/** Sends the mix at `rate` lines/s for `duration` seconds, paced every millisecond. */
export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  const endpoint = parseEndpoint(o.target, 'target');
  const rate = o.rate ?? LOAD_DEFAULTS.rate;
  const duration = o.duration ?? LOAD_DEFAULTS.duration;
  if (!(rate > 0)) throw invalidOption('rate', 'lines per second > 0', rate);
  if (!(duration > 0)) throw invalidOption('duration', 'seconds > 0', duration);
  let errors = 0;
  let packetsSent = 0;
  let linesSent = 0;
  let counterLines = 0;
  const byType: Record<string, number> = {};
  const transport: Transport = createTransport(
    endpoint,
    {
      error: () => errors++,
      dropped: (packets) => (errors += packets.length),
      sent: () => {},
    },
    { maxQueueBytes: 64 << 20, sendWindow: 0 }, // paced here, every millisecond
  );
  const prefix = o.prefix ?? runPrefix();
  const packets = buildPackets({ ...o, prefix }, transport.stream);
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  let next = 0;
  let lastReport = 0;
  let lastLines = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = seconds();
      const due = Math.min(now, duration) * rate;
      const batch: Buffer[] = [];
      while (linesSent < due) {
        const p = packets[next]!;
        next = (next + 1) % packets.length;
        batch.push(p.bytes);
        linesSent += p.lines;
        counterLines += p.counters;
        for (const t in p.byType) byType[t] = (byType[t] ?? 0) + p.byType[t]!;
        packetsSent++;
      }
      if (batch.length) transport.send(batch);
      if (now - lastReport >= 1 || now >= duration) {
        o.onProgress?.({ elapsed: now, linesSent, packetsSent, errors, currentRate: (linesSent - lastLines) / (now - lastReport || 1) });
        lastReport = now;
        lastLines = linesSent;
      }
      if (now >= duration) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await transport.flush();
  await transport.close();
  const elapsed = seconds();
  return {
    elapsed,
    linesSent,
    packetsSent,
    errors,
    currentRate: 0,
    prefix,
    keys: o.keys ?? 1000,
    achievedRate: linesSent / Math.min(elapsed, duration),
    counterLines,
    byType,
  };
}

export interface SinkReport {
  /** Datapoints received. */
  datapoints: number;
  /**
   * Sum of the counters under the run's prefix, as the server flushed them:
   * brubeck `<prefix>.c.*`, etsy `stats_counts.<prefix>.c.*` or
   * `stats.counters.<prefix>.c.*.count`.
   */
  counted: number;
  flushes: number;
  /** Seconds from a flush's timestamp to its arrival, per flush. */
  latencies: number[];
}

/**
 * A Graphite plaintext TCP sink that tallies what a server flushes: how many
 * of one run's counter increments arrived (keys under `prefix`, the run's
 * LoadOptions.prefix; other keys are not counted), and when.
 */
export class GraphiteCounterSink {
  readonly #server: net.Server;
  readonly #prefix: string;
  readonly report: SinkReport = { datapoints: 0, counted: 0, flushes: 0, latencies: [] };
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      let rest = '';
      let seen = new Set<number>();
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        const text = rest + chunk;
        const end = text.lastIndexOf('\n');
        rest = text.slice(end + 1);
        for (const line of text.slice(0, end + 1).split('\n')) this.#line(line, seen);
      });
      socket.on('close', () => {
        seen = new Set();
        this.#sockets.delete(socket);
      });
      socket.on('error', () => socket.destroy());
    });
  }

  #line(line: string, seen: Set<number>): void {
    if (line === '') return;
    const [name, value, ts] = line.split(' ');
    if (name === undefined || value === undefined || ts === undefined) return;
    this.report.datapoints++;
    const timestamp = Number(ts);
    if (!seen.has(timestamp)) {
      seen.add(timestamp);
      this.report.flushes++;
      this.report.latencies.push(Date.now() / 1000 - timestamp);
    }
    const p = this.#prefix;
    if (
      name.startsWith(`${p}.c.`) ||
      name.startsWith(`stats_counts.${p}.c.`) ||
      (name.startsWith(`stats.counters.${p}.c.`) && name.endsWith('.count'))
    ) {
      this.report.counted += Number(value);
    }
  }

  listen(port: number, address = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new StatsdError('ERR_STATSD_INVALID_OPTION', `cannot listen on ${address}:${port}: ${e.code}`)),
      );
      this.#server.listen(port, address, () => {
        this.port = (this.#server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Stops listening and drops the servers' connections (they reconnect elsewhere). */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
