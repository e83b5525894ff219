// A transport over N endpoints that sends each line to the endpoint its key
// belongs to (issue [7/7] item 2): the same KeyRouter as the relay, so an
// Emitter with `endpoints` sends every key where `statsd-native relay` over
// the same nodes, in the same order, would. Packets handed to it are split
// by key and packed again per endpoint (one native pass per packet, at flush).
import type { Endpoint } from '../net/endpoint';
import { type Transport, type TransportEvents, type TransportOptions, createTransport } from '../net/transport';
import { KeyRouter, type KeyRouterOptions } from './key-router';

export class ShardedTransport implements Transport {
  /** Packets may end without '\n': the router reads the last line anyway, and every packet it makes ends in one. */
  readonly stream = false;
  readonly router: KeyRouter;
  readonly #transports: Transport[];
  readonly #refused: (lines: number) => void;

  /**
   * `options.maxQueueBytes` bounds all endpoints together (each gets its
   * share); `refused` hears of lines the router would not send (a line the
   * daemons could not parse: counted as dropped by the emitter).
   */
  constructor(
    endpoints: readonly Endpoint[],
    events: TransportEvents,
    options: TransportOptions,
    maxPacketBytes: number,
    routing: KeyRouterOptions,
    refused: (lines: number) => void,
  ) {
    this.router = new KeyRouter(endpoints.length, maxPacketBytes, routing);
    const share = { ...options, maxQueueBytes: Math.max(maxPacketBytes, Math.floor(options.maxQueueBytes / endpoints.length)) };
    this.#transports = endpoints.map((e) => createTransport(e, events, share));
    this.#refused = refused;
  }

  send(packets: readonly Buffer[]): void {
    const before = this.router.stats.errors;
    for (const p of packets) this.router.route(p);
    const refused = this.router.stats.errors - before;
    if (refused > 0) this.#refused(refused);
    const perNode = this.router.take(true);
    for (let i = 0; i < perNode.length; i++) if (perNode[i]!.length > 0) this.#transports[i]!.send(perNode[i]!);
  }

  async flush(timeoutMs?: number): Promise<void> {
    await Promise.all(this.#transports.map((t) => t.flush(timeoutMs)));
  }

  async close(timeoutMs?: number): Promise<void> {
    await Promise.all(this.#transports.map((t) => t.close(timeoutMs)));
  }
}
