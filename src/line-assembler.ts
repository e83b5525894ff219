// Reassembles newline-framed statsd lines from a TCP stream whose chunks split
// lines anywhere (DESIGN §7). Memory per connection is bounded by maxLineBytes.

/**
 * Contract: feeding a stream in any chunking yields, over push() and end(),
 * exactly the bytes of its lines of at most `maxLineBytes` bytes (without the
 * '\n'), joined by '\n'. A line longer than that is dropped whole, up to and
 * including its '\n', and counted once in `overlong`; nothing beside it is lost.
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

  /** The unterminated last line at the end of the stream, if any. */
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
