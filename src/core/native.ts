// The only place that loads the compiled addon; says what to do when it is missing.
/// <reference types="node" preserve="true" />
import * as path from 'node:path';

import { StatsdError } from './errors';

/**
 * The layouts of what crosses the N-API boundary by position (native/layout.h,
 * native/records.h, native/serializer.h): sizes, the name of each slot of each
 * shared array (index = slot), the name of each value of each enum, and the
 * value of each flag. TypeScript reads slots by name (fieldIndex) and flags by
 * name (flagValues), checked at load against these.
 */
export interface NativeLayout {
  recordDoubles: number;
  infoSize: number;
  infoFirst: number;
  parseStatusCount: number;
  batchStride: number;
  /** Enums: ParseStatus, MetricType, Convention, Dialect names by value. */
  parseStatuses: readonly string[];
  metricTypes: readonly string[];
  conventions: readonly string[];
  dialects: readonly string[];
  /** Arrays: slot names. */
  records: readonly string[];
  parseInfo: readonly string[];
  parseExample: readonly string[];
  batchColumns: readonly string[];
  packResults: readonly string[];
  aggregatorResults: readonly string[];
  aggregatorStats: readonly string[];
  receiverStats: readonly string[];
  /** Flag words: flag (or mask) values by name. */
  parseFlags: Readonly<Record<string, number>>;
  lineFlags: Readonly<Record<string, number>>;
  packFlags: Readonly<Record<string, number>>;
}

/** The layouts given as slot (or enum value) names. */
export type NativeNameLayout = {
  [K in keyof NativeLayout]: NativeLayout[K] extends readonly string[] ? K : never;
}[keyof NativeLayout];
/** The layouts given as flag values by name. */
export type NativeFlagLayout = 'parseFlags' | 'lineFlags' | 'packFlags';

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
  /** Fills `out` (RECEIVER_STATS_LENGTH slots), read by RECEIVER_STATS. */
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

/** The daemon's recent history of flushed series (native/history.h). */
export interface NativeRouter {
  /** Routes the lines of a datagram (or of whole stream lines); `down` has a byte per node, non-zero: down. */
  route(data: Uint8Array, down: Uint8Array): number;
  /** The node of one line's key with every node up; -1 for a bad line. */
  nodeOf(line: string): number;
  /** Packets ready (all: the partial ones too), back to back; `counts[i]` of them are node i's, in node order. */
  take(all: boolean): { bytes: Buffer; ends: Uint32Array; counts: Uint32Array };
  stats(): { lines: number; moved: number; unroutable: number; oversize: number; errors: number; byReason: Float64Array; perNode: Float64Array };
}

/** How a history scan ended: every name seen, stopped at its limit, or out of time. */
export type HistoryScan = 'complete' | 'limited' | 'timeout';

export interface NativeHistory {
  /** Records one flush's carbon plaintext lines, stamped `timestamp`. */
  add(carbon: Uint8Array, timestamp: number): void;
  /**
   * Names matching a Graphite pattern, at most `limit`, scanning for at most
   * `timeoutMs`; throws "bad pattern: …" for a pattern past its bounds.
   */
  find(pattern: string, limit: number, timeoutMs: number): { names: string[]; scan: HistoryScan };
  /**
   * graphite-web's find: distinct paths of the pattern's node count, each a
   * series (flag 1), the start of longer ones (flag 2) or both; at most
   * `limit`, within `timeoutMs`.
   */
  findNodes(pattern: string, limit: number, timeoutMs: number): { paths: string[]; flags: Uint8Array; scan: HistoryScan };
  /** The recorded flushes stamped in [from, until] and `name`'s values there (NaN: no value). */
  fetch(name: string, from: number, until: number): { times: Float64Array; values: Float64Array; known: boolean };
  stats(): {
    series: number; bytes: number; maxBytes: number; points: number; flushes: number;
    datapoints: number; seriesRefused: number; seriesExpired: number; linesSkipped: number;
  };
}

export interface NativeBinding {
  History: new (points: number, maxBytes: number) => NativeHistory;
  Router: new (nodes: number, maxPacketBytes: number, etsy: boolean, sanitize: boolean) => NativeRouter;
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

/**
 * Throws ERR_STATSD_NATIVE unless the addon's names for `layout` are
 * `expected`, in order: TypeScript would read the wrong slots otherwise.
 * @internal
 */
export function checkLayout(layout: string, actual: readonly string[] | undefined, expected: readonly string[]): void {
  if (
    Array.isArray(actual) &&
    actual.length === expected.length &&
    actual.every((name, i) => name === expected[i])
  ) {
    return;
  }
  let why: string;
  if (!Array.isArray(actual)) {
    why = 'the addon has no such layout';
  } else {
    const i = expected.findIndex((name, at) => actual[at] !== name);
    why =
      i >= 0
        ? `slot ${i} is ${JSON.stringify(actual[i])} in the addon, ${JSON.stringify(expected[i])} in TypeScript`
        : `the addon has ${actual.length} slots, TypeScript ${expected.length}`;
    why += ` (addon: ${actual.join(', ')})`;
  }
  throw new StatsdError(
    'ERR_STATSD_NATIVE',
    `statsd-native: addon and TypeScript layouts differ: ${layout}: ${why}; run \`npm rebuild statsd-native\``,
  );
}

/**
 * The slot of each name of a native array (`layout`), as TypeScript names
 * them: checked against the addon's names, so a slot moved on one side only
 * fails at load. Read `array[FIELDS.name]`, never `array[3]`.
 */
export function fieldIndex<const N extends string>(layout: NativeNameLayout, names: readonly N[]): Readonly<Record<N, number>> {
  checkLayout(layout, native.layout[layout], names);
  return Object.freeze(Object.fromEntries(names.map((name, i) => [name, i]))) as Record<N, number>;
}

/** The values of a native flag word's flags, by name (checked as fieldIndex). */
export function flagValues<const N extends string>(layout: NativeFlagLayout, names: readonly N[]): Readonly<Record<N, number>> {
  const flags = native.layout[layout] as Readonly<Record<string, number>> | undefined;
  checkLayout(layout, flags && Object.keys(flags).sort(), [...names].sort());
  return Object.freeze(Object.fromEntries(names.map((name) => [name, flags![name]!]))) as Record<N, number>;
}

/** Slots of a native receiver's stats (NativeReceiver.stats). */
export const RECEIVER_STATS = fieldIndex('receiverStats', [
  'port',
  'receiveBuffer',
  'datagrams',
  'bytes',
  'kernelDrops',
  'receiveErrors',
  'truncated',
  'heldWhileBusy',
]);
/** Length of the Float64Array NativeReceiver.stats fills. */
export const RECEIVER_STATS_LENGTH = native.layout.receiverStats.length;
