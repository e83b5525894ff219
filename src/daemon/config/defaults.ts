// The daemon's defaults, named once: the code that applies them, their TSDoc
// and `--help` all read these constants.

/** Where inputs and HTTP listen unless told otherwise: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/** statsd's port (UDP and TCP input). */
export const DEFAULT_STATSD_PORT = 8125;
/** brubeck's HTTP port. */
export const DEFAULT_HTTP_PORT = 8080;
/** carbon's plaintext line receiver. */
export const DEFAULT_CARBON_PORT = 2003;
/** carbon's pickle receiver. */
export const DEFAULT_PICKLE_PORT = 2004;

/**
 * The set-member seed of daemons forwarding upstream (`upstream`) unless
 * aggregator.memberSeed is given: one value for the whole fleet, so a member
 * hashes alike everywhere. It is public: where senders are not trusted, give
 * the fleet a secret memberSeed (crafted members could otherwise collide).
 */
export const DEFAULT_FORWARD_MEMBER_SEED = 0x5eed_57a7_5d;

/** ms between flushes (brubeck's frequency 10, etsy's flushInterval 10000). */
export const DEFAULT_FLUSH_INTERVAL_MS = 10_000;
/** ms `stop()` waits for sinks to deliver the last flushes. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** UDP receiving threads. */
export const DEFAULT_UDP_WORKERS = 1;
/**
 * SO_RCVBUF asked for on the UDP socket: 32 MiB holds ~0.2 s of a 1M lines/s
 * burst of 1.4 KB datagrams (docs/reliability.md, "a flush burst"); without
 * CAP_NET_ADMIN the kernel caps it at net.core.rmem_max, and the daemon says so.
 */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 32 << 20;
/** SO_RCVBUF of a unix datagram input (local senders block rather than drop). */
export const DEFAULT_UNIX_RECEIVE_BUFFER_BYTES = 8 << 20;
/**
 * Per receiving thread, datagram bytes read and held while a flush holds the
 * aggregator (native/held_datagrams.h states the measurement behind it).
 */
export const DEFAULT_HELD_BYTES = 64 << 20;

/** TCP input connections at once; past it a connection is closed and counted (`tcp.refused`). */
export const DEFAULT_TCP_MAX_CONNECTIONS = 1024;
/** HTTP connections at once (brubeck's health endpoints need few; each holds a descriptor). */
export const DEFAULT_HTTP_MAX_CONNECTIONS = 256;
/** ms an HTTP client has to send a whole request, and a connection may stay idle. */
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

/** Flushes kept while carbon is unreachable: an hour at 10 s. */
export const DEFAULT_MAX_BACKLOG = 360;
/**
 * Bytes of flushes kept while carbon is unreachable. maxBacklog bounds a
 * small daemon's hour; this bounds a large one's memory: 200k keys of 200-byte
 * names make 40 MiB flushes, and 360 of them would take 14 GiB. 256 MiB still
 * holds the whole hour for up to ~10k keys of 60-byte lines.
 */
export const DEFAULT_CARBON_BACKLOG_BYTES = 256 * 2 ** 20;
/**
 * Bytes a stdout reader may be behind before flushes are dropped: a reader
 * 64 MiB behind has stopped, not slowed.
 */
export const DEFAULT_STREAM_BACKLOG_BYTES = 64 * 2 ** 20;
/**
 * Bytes of already written flushes sent again after a carbon connection
 * breaks: about what loopback socket buffers hold (a flush written into them
 * may never have reached carbon).
 */
export const DEFAULT_REPLAY_BYTES = 16 * 2 ** 20;

/** "128 MiB" for a byte count, in --help and messages. */
export function mebibytes(bytes: number): string {
  return `${bytes / 2 ** 20} MiB`;
}
