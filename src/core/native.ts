// The only place that loads the compiled addon; says what to do when it is missing.
/// <reference types="node" preserve="true" />
import * as path from 'node:path';

import { StatsdError } from './errors';

export interface NativeLayout {
  recordDoubles: number;
  infoSize: number;
  infoFirst: number;
  parseStatusCount: number;
  batchStride: number;
}

/** A unix datagram socket (native/unix_socket.h); methods return 0 or an errno. */
export interface NativeUnixDatagram {
  connect(path: string): number;
  send(data: Uint8Array): number;
  bind(path: string, receiveBuffer: number): number;
  /** A datagram, or a negative errno (-EAGAIN: none waiting). */
  receive(): Buffer | number;
  close(): void;
}

/** Native UDP / unix datagram input threads feeding an aggregator. */
export interface NativeReceiver {
  /** 0 or an errno (EADDRINUSE …). */
  start(): number;
  stop(): void;
  /** port, receive buffer, datagrams, bytes, kernel drops, receive errors, truncated */
  stats(out: Float64Array): void;
}

export interface ReceiverOptions {
  address: string;
  port: number;
  unix: boolean;
  workers: number;
  batch: number;
  receiveBuffer: number;
  /** Per thread: datagram bytes read and held while a flush holds the aggregator (0: wait instead). */
  heldBytes: number;
}

export interface NativeBinding {
  Receiver: new (aggregator: object, options: ReceiverOptions) => NativeReceiver;
  /** Carbon plaintext lines re-encoded as pickle messages. */
  toPickle(plaintext: Uint8Array): Buffer;
  UnixDatagram: new () => NativeUnixDatagram;
  parse(
    input: Uint8Array,
    start: number,
    records: Float64Array,
    info: Uint32Array,
    dialect: number,
    maxLineBytes: number,
  ): void;
  pack(
    strings: string,
    columns: Float64Array,
    count: number,
    maxPacketBytes: number,
    flags: number,
    ends: Uint32Array,
    result: Uint32Array,
  ): Buffer;
  layout: NativeLayout;
}

const ADDON = process.env.STATSD_NATIVE_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'statsd_native.node');

function load(): NativeBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(ADDON) as NativeBinding;
  } catch (cause) {
    const error = new StatsdError(
      'ERR_STATSD_NATIVE',
      `statsd-native: could not load the compiled addon from ${ADDON} ` +
        `(${(cause as Error).message}). It is built by node-gyp when the package is ` +
        `installed; run \`npm rebuild statsd-native\` (needs python3, make and a C++17 compiler).`,
    );
    (error as Error & { cause: unknown }).cause = cause;
    throw error;
  }
}

export const native: NativeBinding = load();
