// GraphiteSink: flushes to carbon over one TCP connection, plaintext or
// pickle, in order, with a bounded backlog, replay after a broken connection
// and isolation of a datapoint carbon refuses.
//
// Over 300 lines on purpose: one connection's state machine (connect,
// backoff, write, replay, isolate, settle, close) whose transitions share the
// same fields; split across files, each transition would have to be read
// with all the others anyway. The data it moves is in graphite-parts.ts.
/// <reference types="node" preserve="true" />
import { isUtf8 } from 'node:buffer';
import * as net from 'node:net';

import type { FlushResult } from '../../aggregator/aggregator';
import { native } from '../../core/native';
import { choiceOption, integerOption, knownKeys } from '../../core/options';
import { hostOption, portOption } from '../../net/address';
import { DEFAULT_CARBON_BACKLOG_BYTES, DEFAULT_MAX_BACKLOG, DEFAULT_REPLAY_BYTES } from '../config/defaults';
import { type Pending, type Unit, endWithin, excerpt, isLeaf, split } from './graphite-parts';
import { type Sink, SinkReports, type SinkStats, sinkCounters } from './sink';

export interface GraphiteSinkOptions {
  host: string;
  port: number;
  /** The protocol carbon receives: 'plaintext' lines (the default; carbon's port 2003) or 'pickle' (port 2004). */
  format?: 'plaintext' | 'pickle';
  /** Flushes kept while carbon is unreachable (default DEFAULT_MAX_BACKLOG, 360: an hour at 10 s). */
  maxBacklog?: number;
  /**
   * Bytes of flushes kept while carbon is unreachable (default
   * DEFAULT_CARBON_BACKLOG_BYTES, 256 MiB: see there); past it the oldest are
   * dropped, but never the newest.
   */
  maxBacklogBytes?: number;
  /**
   * Bytes of already written flushes sent again after the connection breaks
   * (default DEFAULT_REPLAY_BYTES, 16 MiB, about what loopback socket buffers hold; 0 = never). The
   * newest written flush is always among them.
   */
  replayBytes?: number;
}

/**
 * Carbon closes the connection on a datapoint it cannot take (carbon-cache
 * 1.1.7: a line that is not UTF-8, or longer than 16 KiB). A flush holding one
 * is taken for poison once carbon closed this many connections in a row,
 * each soon after it opened with that flush written on it.
 */
const POISON_BREAKS = 3;
/** "Soon": a connection that carried flushes for longer was healthy (carbon restarts). */
const QUICK_BREAK_MS = 10_000;
/**
 * While isolating, how long carbon must keep a connection open, idle or after
 * taking a part, for it to count as healthy or the part as taken: carbon
 * decodes a socket read (64 KiB) in about a millisecond; the rest is room for a
 * loaded machine.
 */
const SETTLE_MS = 1000;

/**
 * A persistent TCP connection to carbon. Each flush is queued and written in
 * order; one that was not fully written when the connection broke is written
 * again after reconnecting. Past maxBacklog flushes or maxBacklogBytes the
 * oldest flush is dropped and counted. Reconnects with backoff from 100 ms to
 * 30 s; after start(), also while there is nothing to send.
 *
 * Carbon never acknowledges: a flush handed to the kernel is lost if carbon
 * dies before reading it. So when the connection breaks, the flushes written
 * last (up to replayBytes) are written again. Whisper stores a datapoint per
 * name and timestamp, so a repeat overwrites it with the same value; a
 * carbon-aggregator summing its input would count a replayed flush twice.
 *
 * Poison. Carbon closes the connection on a datapoint it cannot take, having
 * stored the lines before it; replayed as is, the flush would break every
 * connection at the same place, forever. Since carbon never says how far it
 * read, the sink finds the datapoint by trying: after POISON_BREAKS quick
 * breaks in a row the flushes of the last connection are isolated, and
 * written in halves, one half per connection (bisection). A half counts as
 * taken when carbon keeps the connection open SETTLE_MS after it and then
 * closes it cleanly at our end (a half it stopped reading in would leave
 * unread bytes: a reset); as refused when carbon closes the connection first.
 * Down to one line, refused POISON_BREAKS times, each time on a connection
 * that stayed open while idle first (so a carbon that is merely down or
 * crashing is not blamed on a datapoint): the line is dropped, counted in
 * metricsPoisoned and logged. The rest is delivered, then the backlog, in
 * order: about a second per half, some 2·log2(lines) halves. Parts are views
 * of the flushes held for replay: memory stays within replayBytes and the
 * flush in flight. The limit of a verdict by time: a carbon that reaches the
 * line over SETTLE_MS late, with nothing unread behind it, looks like a pass,
 * and that half is lost from the line on, uncounted (as any flush carbon
 * closed on was before).
 *
 * In pickle, carbon drops a whole message (up to 64 KiB of datapoints)
 * without closing when a name is not UTF-8, which no trying can see; pickle
 * requires UTF-8 names, so such lines are dropped before pickling, and
 * counted the same way.
 */
export class GraphiteSink extends SinkReports implements Sink {
  readonly name: string;
  readonly #options: Required<GraphiteSinkOptions>;
  /** An error was reported and no connection has worked since. */
  #failing = false;
  /** start() was called: keep a connection up even with nothing to send. */
  #persistent = false;
  #socket: net.Socket | undefined;
  #connected = false;
  /** Date.now() when the current connection opened. */
  #connectedAt = 0;
  #backlog: Pending[] = [];
  #backlogBytes = 0;
  #inFlight: Pending | undefined;
  #backoff = 100;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** Flushes written on this connection that may not have reached carbon yet, oldest first. */
  #written: Pending[] = [];
  #writtenBytes = 0;
  /** Connections in a row that carbon closed soon after they opened, with flushes written on them. */
  #breaks = 0;
  /** While looking for a poisoned datapoint: the units left to deliver, oldest first. */
  #isolation: { queue: Unit[]; healthy: boolean; logged: boolean } | undefined;
  /** The current connection, while isolating: waiting idle, a unit written, or ended by us. */
  #phase: 'idle' | 'testing' | 'ending' | undefined;
  #testing: Unit | undefined;
  #settle: NodeJS.Timeout | undefined;
  readonly #stats = sinkCounters();

  constructor(options: GraphiteSinkOptions) {
    super();
    knownKeys('GraphiteSink', options, ['host', 'port', 'format', 'maxBacklog', 'maxBacklogBytes', 'replayBytes']);
    this.#options = {
      ...options,
      // required: null fails the check where undefined would take a default
      host: hostOption('host', options.host ?? null, ''),
      port: portOption('port', options.port ?? null, 0, 'connect'),
      format: choiceOption('format', options.format, 'plaintext', ['plaintext', 'pickle'] as const),
      maxBacklog: integerOption('maxBacklog', options.maxBacklog, DEFAULT_MAX_BACKLOG, 1, Number.MAX_SAFE_INTEGER),
      maxBacklogBytes: integerOption('maxBacklogBytes', options.maxBacklogBytes, DEFAULT_CARBON_BACKLOG_BYTES, 1, Number.MAX_SAFE_INTEGER),
      replayBytes: integerOption('replayBytes', options.replayBytes, DEFAULT_REPLAY_BYTES, 0, Number.MAX_SAFE_INTEGER),
    };
    this.name = `graphite ${this.#options.format} ${options.host}:${options.port}`;
  }

  start(): void {
    this.#persistent = true;
    this.#connect();
  }

  write(flush: FlushResult): void {
    if (flush.carbon.length === 0) return;
    let lines = flush.carbon;
    let metrics = flush.metrics;
    if (this.#options.format === 'pickle' && !isUtf8(lines)) {
      const kept = this.#utf8Lines(lines);
      this.#stats.metricsPoisoned += kept.refused;
      this.#stats.metricsDropped += kept.refused;
      lines = kept.lines;
      metrics = Math.max(0, metrics - kept.refused);
      if (lines.length === 0) {
        this.#stats.flushesDropped++;
        return;
      }
    }
    this.#backlog.push({ lines, metrics });
    this.#backlogBytes += lines.length;
    this.#trim();
    this.#pump();
  }

  /** The lines of `text` that are UTF-8, and how many were not (logged once per flush). */
  #utf8Lines(text: Buffer): { lines: Buffer; refused: number } {
    const good: Buffer[] = [];
    let refused = 0;
    let example = '';
    for (let start = 0; start < text.length; ) {
      const nl = text.indexOf(10, start);
      const end = nl === -1 ? text.length : nl + 1;
      const line = text.subarray(start, end);
      if (isUtf8(line)) good.push(line);
      else if (refused++ === 0) example = excerpt(line);
      start = end;
    }
    this.fault(
      new Error(`${this.name}: dropped ${refused} datapoint${refused === 1 ? '' : 's'} whose name is not UTF-8 (pickle cannot carry it), e.g. ${example}`),
    );
    return { lines: Buffer.concat(good), refused };
  }

  /** Drops the oldest waiting flushes past maxBacklog or maxBacklogBytes; the newest stays. */
  #trim(): void {
    const { maxBacklog, maxBacklogBytes } = this.#options;
    while (this.#backlog.length > 1 && (this.#backlog.length > maxBacklog || this.#heldBytes() > maxBacklogBytes)) {
      const p = this.#backlog.shift()!;
      this.#backlogBytes -= p.lines.length;
      this.#drop(p);
    }
  }

  /** Bytes of flushes not delivered yet: waiting, in flight, isolating. */
  #heldBytes(): number {
    let bytes = this.#backlogBytes + (this.#inFlight?.lines.length ?? 0);
    for (const unit of this.#isolation?.queue ?? []) for (const p of unit.pieces) bytes += p.lines.length;
    return bytes;
  }

  /** `p` (a flush or part) was handed to the kernel whole. */
  #sent(p: Pending, bytes: number): void {
    if (p.written) return;
    p.written = true;
    this.#stats.metricsSent += p.metrics;
    this.#stats.bytesSent += bytes;
    if (!p.part) this.#stats.flushesSent++;
    else if (--p.part.left === 0 && !p.part.dropped) this.#stats.flushesSent++;
  }

  /**
   * Gives up on `p`. A replay given up on was written once and may or may not
   * have reached carbon: it stays in flushesSent and counts in replaysDropped.
   */
  #drop(p: Pending): void {
    const part = p.part;
    if (p.written) {
      // a part of a flush that was never written whole: that flush counts as dropped with its unwritten parts
      if (part && (part.left > 0 || part.dropped || part.replayDropped)) return;
      if (part) part.replayDropped = true;
      this.#stats.replaysDropped++;
      return;
    }
    this.#stats.metricsDropped += p.metrics;
    if (part?.dropped) return;
    if (part) part.dropped = true;
    this.#stats.flushesDropped++;
  }

  #connect(): void {
    if (this.#socket || this.#timer || this.#closed) return;
    const socket = net.connect({ host: this.#options.host, port: this.#options.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#connectedAt = Date.now();
      if (this.#isolation) this.#isolate();
      else this.#pump();
    });
    socket.on('error', (error) => {
      if (this.#phase === 'testing' || this.#phase === 'ending') return; // a verdict while isolating, not news
      this.#failing = true;
      this.fault(error);
    });
    socket.on('close', (hadError) => {
      const connectedAt = this.#connectedAt;
      this.#socket = undefined;
      this.#connected = false;
      this.#connectedAt = 0;
      if (this.#settle) clearTimeout(this.#settle);
      this.#settle = undefined;
      if (this.#closed) return this.#wake();
      if (this.#isolation) this.#isolationClosed(hadError);
      else this.#lost(connectedAt);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#persistent || this.#backlog.length || this.#isolation) this.#connect();
      }, this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, 30_000);
      this.#wake();
    });
    // Carbon never answers; reading keeps the socket's close visible.
    socket.resume();
  }

  /**
   * The connection (opened at `connectedAt`, 0 if it never opened) closed:
   * what was not confirmed written (in flight), or written but maybe never
   * read, is queued again in order ahead of the backlog; or isolated, if this
   * was the last of POISON_BREAKS quick breaks.
   */
  #lost(connectedAt: number): void {
    const again = this.#inFlight ? [...this.#written, this.#inFlight] : this.#written;
    this.#stats.flushesReplayed += this.#written.length;
    this.#inFlight = undefined;
    this.#written = [];
    this.#writtenBytes = 0;
    if (connectedAt) {
      if (again.length === 0) this.#breaks = 0;
      else this.#breaks = Date.now() - connectedAt < QUICK_BREAK_MS ? this.#breaks + 1 : 1;
    }
    if (this.#breaks >= POISON_BREAKS) {
      this.#breaks = 0;
      this.#isolation = { queue: [{ pieces: again, failing: true, fails: 0 }], healthy: false, logged: false };
      return;
    }
    this.#backlog.unshift(...again);
    for (const p of again) this.#backlogBytes += p.lines.length;
    this.#trim();
  }

  /** The bytes to write for `p`. */
  #wire(p: Pending): Buffer {
    return this.#options.format === 'pickle' ? native.toPickle(p.lines) : p.lines;
  }

  #pump(): void {
    if (!this.#connected) {
      if (this.#backlog.length || this.#isolation) this.#connect();
      return;
    }
    if (this.#isolation) return; // #isolate() drives the connection
    if (this.#inFlight || this.#backlog.length === 0) {
      if (!this.#inFlight) this.#wake();
      return;
    }
    const next = this.#backlog.shift()!;
    this.#backlogBytes -= next.lines.length;
    this.#inFlight = next;
    const socket = this.#socket!;
    const wire = this.#wire(next);
    socket.write(wire, (error) => {
      // Node calls back without an error for a write cut short by a reset
      // (after 'error', before 'close'): only a live socket's success counts.
      // Otherwise the flush stays in flight and 'close' queues it again.
      if (this.#inFlight !== next || error || socket.destroyed || this.#socket !== socket) return;
      this.#inFlight = undefined;
      this.#sent(next, wire.length);
      // Working again only once a flush went through: a carbon that accepts
      // and then resets keeps its backoff and does not flood the log.
      this.#backoff = 100;
      if (this.#failing) {
        this.#failing = false;
        const waiting = this.#backlog.length;
        this.recover(`${this.name}: delivering again; ${waiting} flush${waiting === 1 ? '' : 'es'} waiting`);
      }
      this.#remember(next);
      this.#pump();
    });
  }

  /** Keeps `p` for a replay, with older written flushes up to replayBytes. */
  #remember(p: Pending): void {
    if (this.#options.replayBytes === 0) return;
    this.#written.push(p);
    this.#writtenBytes += p.lines.length;
    while (this.#written.length > 1 && this.#writtenBytes > this.#options.replayBytes) {
      this.#writtenBytes -= this.#written.shift()!.lines.length;
    }
  }

  /**
   * Isolating, on a new connection: splits the first unit while it is known
   * to fail, then tests it; after an idle wait when carbon has not shown
   * itself healthy yet, and always before a single line. Done when no unit is
   * left: the backlog follows on this connection.
   */
  #isolate(): void {
    const iso = this.#isolation!;
    if (!this.#connected || this.#phase) return;
    let head = iso.queue[0];
    while (head?.failing && !isLeaf(head)) {
      iso.queue.splice(0, 1, ...split(head));
      head = iso.queue[0];
    }
    if (!head) {
      this.#isolation = undefined;
      this.#pump();
      return;
    }
    const unit = head;
    if (iso.healthy && !isLeaf(unit)) return this.#test(unit);
    this.#phase = 'idle';
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      this.#phase = undefined;
      iso.healthy = true;
      if (!iso.logged) {
        iso.logged = true;
        this.fault(
          new Error(`${this.name}: carbon closed the connection ${POISON_BREAKS} times in a row on the same flushes; writing them in parts to find the datapoint it refuses`),
        );
      }
      this.#test(unit);
    }, SETTLE_MS);
  }

  /** Writes `unit` alone; SETTLE_MS after it is written, ends the connection (a clean close is a pass). */
  #test(unit: Unit): void {
    const socket = this.#socket!;
    this.#phase = 'testing';
    this.#testing = unit;
    let left = unit.pieces.length;
    for (const p of unit.pieces) {
      const wire = this.#wire(p);
      socket.write(wire, (error) => {
        if (this.#testing !== unit || error || socket.destroyed || this.#socket !== socket) return;
        this.#sent(p, wire.length);
        this.#backoff = 100;
        if (--left > 0) return;
        this.#settle = setTimeout(() => {
          this.#phase = 'ending';
          socket.end();
          // carbon closes its side at our FIN; if it does not, that is no refusal
          this.#settle = setTimeout(() => socket.destroy(), SETTLE_MS);
        }, SETTLE_MS);
      });
    }
  }

  /** The verdict on the unit under test when its connection closed. */
  #isolationClosed(hadError: boolean): void {
    const iso = this.#isolation!;
    const phase = this.#phase;
    const unit = this.#testing;
    this.#phase = undefined;
    this.#testing = undefined;
    if (phase === 'idle') {
      iso.healthy = false; // carbon is down or crashing: no verdict
      return;
    }
    if (!unit) return;
    if (phase === 'ending' && !hadError) {
      iso.queue.shift();
      if (unit.sibling && iso.queue[0] === unit.sibling) unit.sibling.failing = true;
      return;
    }
    unit.failing = true;
    if (!isLeaf(unit) || ++unit.fails < POISON_BREAKS) return;
    iso.queue.shift();
    const p = unit.pieces[0]!;
    this.#stats.metricsPoisoned += p.metrics;
    if (!p.written) this.#drop(p);
    this.fault(new Error(`${this.name}: carbon closed the connection ${POISON_BREAKS} times on ${excerpt(p.lines)}; dropped it`));
  }

  #wake(): void {
    if (this.#backlog.length === 0 && !this.#inFlight && !this.#isolation) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }

  drain(timeoutMs: number): Promise<void> {
    if (this.#backlog.length === 0 && !this.#inFlight && !this.#isolation) return Promise.resolve();
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
    if (this.#settle) clearTimeout(this.#settle);
    this.#timer = this.#settle = undefined;
    const undelivered = (this.#isolation?.queue ?? []).flatMap((u) => u.pieces);
    if (this.#inFlight) undelivered.push(this.#inFlight);
    undelivered.push(...this.#backlog);
    this.#inFlight = this.#isolation = undefined;
    this.#backlog = [];
    this.#backlogBytes = 0;
    this.#written = [];
    for (const p of undelivered) this.#drop(p);
    const socket = this.#socket;
    if (socket && undelivered.length) socket.destroy();
    else if (socket) await endWithin(socket, 1000);
    this.#wake();
  }

  stats(): SinkStats {
    // the parts being isolated count as the flushes they came from
    const isolating = new Set<object>();
    for (const unit of this.#isolation?.queue ?? []) for (const p of unit.pieces) isolating.add(p.part ?? p);
    return {
      type: 'carbon',
      address: this.#options.host,
      port: this.#options.port,
      connected: this.#connected,
      ...this.#stats,
      backlog: this.#backlog.length + (this.#inFlight ? 1 : 0) + isolating.size,
      backlogBytes: this.#heldBytes(),
    };
  }
}
