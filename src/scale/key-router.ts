// The routing every scale-out part shares (issue [7/7]): a statsd line goes to
// node jump(fnv1a64(key), N), where the key is what the aggregator keys it by
// (the name and its sorted tags: native/router.h). The relay, the sharded
// emitter and the tests all route through this class, so they cannot choose
// differently.
import { PARSE_REASONS, type ParseReason } from '../core/errors';
import { type NativeRouter, native } from '../core/native';
import { booleanOption, choiceOption, integerOption } from '../core/options';

export interface KeyRouterStats {
  /** Good lines routed to a node; `perNode` splits them. */
  lines: number;
  perNode: number[];
  /** Of those, lines sent to another node than their own because it was down. */
  moved: number;
  /** Good lines dropped: every node was down. */
  unroutable: number;
  /** Lines longer than a packet, sent alone. */
  oversize: number;
  /** Bad lines, not forwarded, by reason. */
  errors: number;
  byReason: Record<ParseReason, number>;
}

/** How the daemons behind key lines: their convention (and etsy's keyNameSanitize). */
export interface KeyRouterOptions {
  convention?: 'brubeck' | 'etsy';
  keyNameSanitize?: boolean;
}

/** Most nodes one router spreads keys over. */
export const MAX_NODES = 1024;

export class KeyRouter {
  readonly nodes: number;
  readonly maxPacketBytes: number;
  readonly #native: NativeRouter;
  readonly #down: Uint8Array;

  /**
   * `convention` and `keyNameSanitize` must be the daemons' (etsy sanitizes
   * names, so `a/b` and `a-b` are one key there and must go to one node).
   */
  constructor(nodes: number, maxPacketBytes = 1432, options: KeyRouterOptions = {}) {
    this.nodes = integerOption('nodes', nodes, 1, 1, MAX_NODES);
    this.maxPacketBytes = integerOption('maxPacketBytes', maxPacketBytes, 1432, 16, 65507);
    const convention = choiceOption('convention', options.convention, 'brubeck', ['brubeck', 'etsy'] as const);
    this.#native = new native.Router(this.nodes, this.maxPacketBytes, convention === 'etsy', booleanOption('keyNameSanitize', options.keyNameSanitize, true));
    this.#down = new Uint8Array(this.nodes);
  }

  /** Marks node `i` down (its lines go to the next node up) or up again. */
  setDown(i: number, down: boolean): void {
    this.#down[i] = down ? 1 : 0;
  }

  isDown(i: number): boolean {
    return this.#down[i] !== 0;
  }

  /** Routes every line of `data` (a datagram, or whole lines of a stream) to its node's packets; returns how many full packets wait. */
  route(data: Uint8Array): number {
    return this.#native.route(data, this.#down);
  }

  /** The node `line`'s key belongs to with every node up; -1 for a line that does not parse. */
  nodeOf(line: string): number {
    return this.#native.nodeOf(line);
  }

  /**
   * Packets ready to send, per node: full ones, and with `all` the partial
   * ones too (views into one buffer; each at most maxPacketBytes unless it is
   * one longer line, each ending in '\n').
   */
  take(all: boolean): Buffer[][] {
    const { bytes, ends, counts } = this.#native.take(all);
    const out: Buffer[][] = [];
    let packet = 0;
    let start = 0;
    for (let node = 0; node < this.nodes; node++) {
      const list: Buffer[] = [];
      for (let k = 0; k < counts[node]!; k++, packet++) {
        list.push(bytes.subarray(start, ends[packet]!));
        start = ends[packet]!;
      }
      out.push(list);
    }
    return out;
  }

  get stats(): KeyRouterStats {
    const s = this.#native.stats();
    const byReason = {} as Record<ParseReason, number>;
    PARSE_REASONS.forEach((r, i) => {
      if (r !== 'ok') byReason[r] = s.byReason[i]!;
    });
    return { lines: s.lines, perNode: Array.from(s.perNode), moved: s.moved, unroutable: s.unroutable, oversize: s.oversize, errors: s.errors, byReason };
  }
}
