// What a sink is to the daemon: it takes each flush, delivers it in order,
// counts what it sent and dropped, and reports faults without throwing.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';

import type { FlushResult } from '../../aggregator/aggregator';

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
  /** Flushes given up on (backlog full, stream broken, shutdown); their datapoints count in metricsDropped. */
  flushesDropped: number;
  metricsDropped: number;
  /**
   * Datapoints given up on because carbon cannot take them (see GraphiteSink):
   * written and refused, so also in metricsSent; or, in pickle, a name that
   * is not UTF-8, never written, so also in metricsDropped. Optional, as is
   * backlogBytes, for sinks written before them.
   */
  metricsPoisoned?: number;
  bytesSent: number;
  /** Flushes waiting to be delivered. */
  backlog: number;
  /** Bytes of those flushes (bounded by maxBacklogBytes). */
  backlogBytes?: number;
}

/** A sink's counters at start (the SinkStats a sink counts itself). */
export function sinkCounters() {
  return { flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, metricsPoisoned: 0, bytesSent: 0, flushesReplayed: 0, replaysDropped: 0 };
}

export interface Sink {
  readonly name: string;
  /** Connects now rather than at the first flush, so health shows from the start; called once by the daemon. */
  start?(): void;
  /** Takes a flush of carbon plaintext lines; never throws. */
  write(flush: FlushResult): void;
  /** Resolves when the backlog is delivered, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** Gives up on what is not delivered (counted as dropped); never hangs. */
  close(): Promise<void>;
  stats(): SinkStats;
  /**
   * The sink's own callbacks for a library user, never set by the daemon:
   * `onError` with network errors (the sink keeps retrying), a broken stream,
   * and datapoints given up on; `onRecover` when it works again.
   */
  onError?: (error: Error) => void;
  onRecover?: (message: string) => void;
  /**
   * The same reports as events, for any number of listeners (the daemon is
   * one): 'fault' (an Error) and 'recover' (a message). A sink without `on`
   * reports nothing.
   */
  on?(event: 'fault', listener: (error: Error) => void): unknown;
  on?(event: 'recover', listener: (message: string) => void): unknown;
  off?(event: 'fault', listener: (error: Error) => void): unknown;
  off?(event: 'recover', listener: (message: string) => void): unknown;
}

/**
 * A sink's reports: its owner's callback first, then the 'fault' and
 * 'recover' events. Never throws for want of a listener (unlike 'error').
 */
export class SinkReports extends EventEmitter {
  onError?: (error: Error) => void;
  onRecover?: (message: string) => void;

  protected fault(error: Error): void {
    this.onError?.(error);
    this.emit('fault', error);
  }

  protected recover(message: string): void {
    this.onRecover?.(message);
    this.emit('recover', message);
  }
}
