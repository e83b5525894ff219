// Datagram input: UDP or a unix datagram socket, read by native threads
// (recvmmsg, SO_REUSEPORT) that ingest straight into the aggregator, so a
// datagram never crosses into JavaScript (DESIGN §7).
import { type Aggregator, kNativeAggregator } from '../../aggregator/aggregator';
import { RECEIVER_STATS, RECEIVER_STATS_LENGTH, native, type NativeReceiver } from '../../core/native';
import { errnoError } from '../../net/transport';

export interface DatagramInputOptions {
  /** IP address, or the socket path with `unix`. */
  address: string;
  /** UDP port (0: any free one); ignored with `unix`. */
  port: number;
  unix: boolean;
  /** Receiving threads, each on its own SO_REUSEPORT socket. */
  workers: number;
  /** SO_RCVBUF asked for, in bytes (the kernel may grant less: see `receiveBuffer` in stats). */
  receiveBuffer: number;
  /** Per thread: datagram bytes read and held while a flush holds the aggregator (0: leave them in the socket buffer). */
  heldBytes: number;
}

/** Counters of one datagram input (totals since start). */
export interface DatagramInputStats {
  /** The port bound (UDP), 0 for unix. */
  port: number;
  /** SO_RCVBUF as the kernel reports it (twice what it grants). */
  receiveBuffer: number;
  datagrams: number;
  bytes: number;
  /** Datagrams the kernel dropped for want of buffer space (SO_RXQ_OVFL). */
  kernelDrops: number;
  receiveErrors: number;
  /** Datagrams longer than the receive slot, cut and counted. */
  truncated: number;
  /** Datagrams read and held while a flush held the aggregator. */
  heldWhileBusy: number;
}

/**
 * Datagrams per recvmmsg call: one syscall per 64 datagrams instead of one
 * each, with 4 MiB of receive slots per thread (64 × 64 KiB). The daemon
 * bench (`npm run bench -- daemon`, docs/benchmarks.md) is lossless at 4M
 * lines/s with it on this 2-core machine; other sizes were not measured.
 */
const BATCH = 64;

export class DatagramInput {
  readonly options: DatagramInputOptions;
  readonly #receiver: NativeReceiver;
  readonly #raw = new Float64Array(RECEIVER_STATS_LENGTH);
  #running = false;

  constructor(aggregator: Aggregator, options: DatagramInputOptions) {
    this.options = options;
    this.#receiver = new native.Receiver(aggregator[kNativeAggregator], { ...options, batch: BATCH });
  }

  /** The URL it listens on, for logs and errors. */
  get where(): string {
    return this.options.unix ? `unix://${this.options.address}` : `udp://${this.options.address}:${this.options.port}`;
  }

  /** Binds and starts the threads; throws a system error (its `code`, e.g. EADDRINUSE) on a bind failure. */
  start(): void {
    const errno = this.#receiver.start();
    if (errno !== 0) throw errnoError(errno, `cannot listen on ${this.where}`);
    this.#running = true;
  }

  /** Stops the threads and closes the socket; idempotent. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#receiver.stop();
  }

  get stats(): DatagramInputStats {
    const s = this.#raw;
    this.#receiver.stats(s);
    const f = RECEIVER_STATS;
    return {
      port: s[f.port]!,
      receiveBuffer: s[f.receiveBuffer]!,
      datagrams: s[f.datagrams]!,
      bytes: s[f.bytes]!,
      kernelDrops: s[f.kernelDrops]!,
      receiveErrors: s[f.receiveErrors]!,
      truncated: s[f.truncated]!,
      heldWhileBusy: s[f.heldWhileBusy]!,
    };
  }
}
