// The two-tier sink (issue [7/7] item 3): a daemon's flush, written as statsd
// lines (Aggregator flush format 'statsd': counters as sums, gauges, sets as
// members, timers as their samples), sent to a daemon or relay upstream over
// UDP or TCP. A fleet of local daemons so feeds a global tier sharded by key,
// where percentiles are computed once per key from every host's samples.
/// <reference types="node" preserve="true" />
import type { FlushResult } from '../aggregator/aggregator';
import { integerOption, knownKeys } from '../core/options';
import { type Endpoint, parseEndpoint } from '../net/endpoint';
import { type Transport, countLines, createTransport, endpointUrl } from '../net/transport';
import { type Sink, SinkReports, type SinkStats, sinkCounters } from '../daemon/sinks/sink';

export interface UpstreamSinkOptions {
  /** `host:port` (UDP), `udp://…` or `tcp://…`: a daemon, or a relay in front of a sharded tier. */
  endpoint: string;
  /** Largest packet (default 1432; lines are never split). */
  maxPacketBytes?: number;
  /** Bytes queued while sending (default 64 MiB); past it the oldest packets are dropped and counted. */
  maxQueueBytes?: number;
  /** ms a flush's packets are spread over (default 200): the upstream's socket buffer takes them. */
  sendWindow?: number;
}

/** Splits statsd text into packets of at most `max` bytes at '\n' (a longer line goes alone). One scan per packet. */
export function splitAtLines(text: Buffer, max: number): Buffer[] {
  const packets: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + max);
    if (end < text.length) {
      const nl = text.lastIndexOf(10, end - 1);
      end = nl >= start ? nl + 1 : text.indexOf(10, end) + 1 || text.length; // a line longer than max: alone
    }
    packets.push(text.subarray(start, end));
    start = end;
  }
  return packets;
}

export class UpstreamSink extends SinkReports implements Sink {
  readonly name = 'upstream';
  readonly endpoint: Endpoint;
  readonly #transport: Transport;
  readonly #maxPacketBytes: number;
  readonly #counters = sinkCounters();
  #failing = false;

  constructor(options: UpstreamSinkOptions) {
    super();
    knownKeys('UpstreamSink', options, ['endpoint', 'maxPacketBytes', 'maxQueueBytes', 'sendWindow']);
    this.endpoint = parseEndpoint(options.endpoint, 'upstream');
    this.#maxPacketBytes = integerOption('maxPacketBytes', options.maxPacketBytes, 1432, 16, 65507);
    this.#transport = createTransport(
      this.endpoint,
      {
        error: (error) => {
          this.#failing = true;
          this.fault(error);
        },
        dropped: (packets) => {
          for (const p of packets) this.#counters.metricsDropped += countLines(p);
        },
        sent: (packet) => {
          if (this.#failing) {
            this.#failing = false;
            this.recover(`upstream ${endpointUrl(this.endpoint)} takes flushes again`);
          }
          this.#counters.bytesSent += packet.length;
          this.#counters.metricsSent += countLines(packet); // handed to the kernel, as the emitter counts
        },
      },
      {
        maxQueueBytes: integerOption('maxQueueBytes', options.maxQueueBytes, 64 << 20, 0, 2 ** 31 - 1),
        sendWindow: integerOption('sendWindow', options.sendWindow, 200, 0, 2 ** 31 - 1),
      },
    );
  }

  /**
   * Sends a flush's statsd lines; never throws. `flushesSent` counts flushes
   * handed to the transport; `metricsSent` lines the kernel took, and
   * `metricsDropped` lines the transport gave up on (queue full, closed).
   */
  write(flush: FlushResult): void {
    if (flush.carbon.length === 0) return;
    const text = this.#transport.stream && flush.carbon[flush.carbon.length - 1] !== 10 ? Buffer.concat([flush.carbon, Buffer.from('\n')]) : flush.carbon;
    this.#transport.send(splitAtLines(text, this.#maxPacketBytes));
    this.#counters.flushesSent++;
  }

  drain(timeoutMs: number): Promise<void> {
    return this.#transport.flush(timeoutMs);
  }

  close(): Promise<void> {
    return this.#transport.close(0);
  }

  stats(): SinkStats {
    return {
      type: 'statsd',
      address: this.endpoint.host,
      port: this.endpoint.port,
      connected: !this.#failing,
      ...this.#counters,
      backlog: 0,
      backlogBytes: 0,
    };
  }
}
