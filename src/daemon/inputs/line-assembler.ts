// Reassembles newline-framed statsd lines from a TCP stream whose chunks split
// lines anywhere (DESIGN §7). Memory per connection is bounded by maxLineBytes.
/// <reference types="node" preserve="true" />

/**
 * Contract: over push() and end(), the stream comes out as it went in, minus
 * the lines dropped here. A line is dropped, whole and up to its '\n', once
 * more than `maxLineBytes` of it wait at the end of a chunk, and counted once
 * in `overlong`; so `pending` never exceeds maxLineBytes and nothing beside a
 * dropped line is lost. An overlong line whose '\n' arrives before that (all
 * in one chunk, say) is passed on: the parser applies the same limit and
 * counts it as `too_long`. Either way it is counted, once.
 */
export class LineAssembler {
  readonly #maxLineBytes: number;
  #rest: Buffer | undefined;
  /** Inside an overlong line: discard up to the next '\n'. */
  #skipping = false;
  /** Lines dropped for being longer than maxLineBytes. */
  overlong = 0;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** The whole lines completed by `chunk` (each ending in '\n'), or undefined. */
  push(chunk: Buffer): Buffer | undefined {
    let data = chunk;
    if (this.#skipping) {
      const nl = data.indexOf(10);
      if (nl < 0) return undefined;
      this.#skipping = false;
      data = data.subarray(nl + 1);
    } else if (this.#rest) {
      data = Buffer.concat([this.#rest, chunk]);
      this.#rest = undefined;
    }
    const last = data.lastIndexOf(10);
    if (last < 0) {
      this.#keep(data);
      return undefined;
    }
    this.#keep(data.subarray(last + 1));
    // Lines inside the chunk longer than the limit are left to the parser,
    // which drops and counts each as `too_long` (the same limit applies).
    return data.subarray(0, last + 1);
  }

  /**
   * The bytes after the last '\n' at the end of the stream, if any. Nothing
   * says they are a whole line (a reset may have cut it), so the daemon drops
   * them and counts a truncated line; they are returned for that count.
   */
  end(): Buffer | undefined {
    const rest = this.#rest;
    this.#rest = undefined;
    this.#skipping = false;
    return rest;
  }

  /** Bytes waiting for their '\n' (what a connection costs beyond its socket). */
  get pending(): number {
    return this.#rest?.length ?? 0;
  }

  #keep(tail: Buffer): void {
    if (tail.length > this.#maxLineBytes) {
      this.overlong++;
      this.#skipping = true;
      return;
    }
    // A copy: the chunk's memory is Node's, and a view would pin all of it.
    this.#rest = tail.length ? Buffer.from(tail) : undefined;
  }
}
