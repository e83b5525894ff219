// hot-shots 17's options and argument shapes, as this client takes them.
/// <reference types="node" preserve="true" />
import type { Writable } from 'node:stream';

import type { Tags } from './format';
import type { ErrorHandler } from './sender';

/** hot-shots 17's constructor options; see README "Migrating from hot-shots" for what is ignored. */
export interface ClientOptions {
  host?: string;
  port?: number;
  /** 'udp' (default), 'tcp', 'uds' (unix datagram, `path`), 'stream' (`stream`). */
  protocol?: 'udp' | 'tcp' | 'uds' | 'stream';
  path?: string;
  stream?: Writable;
  prefix?: string;
  suffix?: string;
  globalTags?: Tags;
  /** Default sample rate of every call, in (0, 1]. */
  sampleRate?: number;
  /** Record lines in `mockBuffer` instead of sending them. */
  mock?: boolean;
  errorHandler?: ErrorHandler;
  /** 0 (default; 8192 for 'uds'): a packet per line, sent at the call. Else lines share packets of at most this size. */
  maxBufferSize?: number;
  /** ms between sends of a part-filled buffer (default 1000). */
  bufferFlushInterval?: number;
  /** Telegraf tag syntax (`name,k=v:1|c`); events and checks are refused. */
  telegraf?: boolean;
  tagPrefix?: string;
  tagSeparator?: string;
  /** Add DD_ENV, DD_SERVICE, DD_VERSION, DD_ENTITY_ID and DD_TAGS as global tags (default true). */
  includeDataDogTags?: boolean;
  /** Sets `global.statsd` to this client. */
  globalize?: boolean;
  /** Accepted; names are always resolved once and again after a send error. */
  cacheDns?: boolean;
  cacheDnsTtl?: number;
  /** Accepted; the socket type follows the resolved address. */
  udpSocketOptions?: object;
  /** Bytes a TCP client queues while the server is away (ours; default 4 MiB). */
  maxQueueBytes?: number;
  /** Environment for DD_* and FLUX_FRIPP_STATSD / STATSD_HOST (ours; default process.env). */
  env?: NodeJS.ProcessEnv;
  /** hot-shots' own options that change nothing here; accepted so typed code compiles. */
  [option: string]: unknown;
}

export interface ChildClientOptions {
  prefix?: string;
  suffix?: string;
  globalTags?: Tags;
  errorHandler?: ErrorHandler;
  [option: string]: unknown;
}

export interface MetricOptions {
  sampleRate?: number;
  tags?: Tags;
  /** Sent as `|T<unix seconds>` (DogStatsD). */
  timestamp?: Date | number;
  cardinality?: string;
}

export interface EventOptions {
  date_happened?: Date | number;
  hostname?: string;
  aggregation_key?: string;
  priority?: 'low' | 'normal';
  source_type_name?: string;
  alert_type?: 'info' | 'warning' | 'success' | 'error';
  cardinality?: string;
}

export interface CheckOptions {
  date_happened?: Date | number;
  hostname?: string;
  message?: string;
  cardinality?: string;
}

/** Passed last to a timed function: tags added during the call go on its timing. */
export interface TimerContext {
  addTags(tags: Tags): void;
}
