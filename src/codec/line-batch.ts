// The line batch the native packer reads (native/serializer.h PackBatch),
// filled one line at a time without a JS object per line.
/// <reference types="node" preserve="true" />
import { StatsdError } from '../core/errors';
import { native } from '../core/native';

const STRIDE = 4;
export const FLAG_RELATIVE = 1 << 4;
export const FLAG_TEXT = 1 << 5;
export const FLAG_TAGS = 1 << 6;
export const FLAG_TIMESTAMP = 1 << 7;
/** Joins tags inside a segment; a control byte, so it never occurs in a valid tag. */
export const TAG_SEPARATOR = '\x1f';
/** PackBatch flags. */
export const PACK_SANITIZE = 1;
export const PACK_TRAILING_NEWLINE = 2;

if (native.layout.batchStride !== STRIDE) {
  throw new StatsdError('ERR_STATSD_NATIVE', 'statsd-native: addon and TypeScript layouts differ; run `npm rebuild`');
}

export interface BatchPackResult {
  /** Packets back to back; packet i ends at ends[i]. */
  bytes: Buffer;
  ends: Uint32Array;
  packets: number;
  /** Lines that alone exceeded maxPacketBytes. */
  dropped: number;
  /** Native ParseStatus of the first line that could not be written (0 = none). */
  status: number;
  /** A string held '\n', so the segments did not line up. */
  mismatch: boolean;
  failedIndex: number;
}

/**
 * Lines to pack. A segment is the line's name, then its set member (with
 * FLAG_TEXT), then its tags joined by TAG_SEPARATOR (with FLAG_TAGS), each
 * ended by '\n'; flags are the type code (src/metric.ts) | FLAG_*.
 */
export class LineBatch {
  #strings = '';
  #columns = new Float64Array(STRIDE * 256);
  #ends = new Uint32Array(257);
  #result = new Uint32Array(5);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(segment: string, value: number, sampleRate: number, timestamp: number, flags: number): void {
    let at = this.#count * STRIDE;
    if (at + STRIDE > this.#columns.length) {
      const grown = new Float64Array(this.#columns.length * 2);
      grown.set(this.#columns);
      this.#columns = grown;
    }
    const c = this.#columns;
    c[at++] = value;
    c[at++] = sampleRate;
    c[at++] = timestamp;
    c[at] = flags;
    this.#strings += segment;
    this.#count++;
  }

  /** Empties the batch; storage a large batch grew is given back (an emitter keeps its batch for good). */
  clear(): void {
    this.#strings = '';
    this.#count = 0;
    if (this.#columns.length > STRIDE * 4096) this.#columns = new Float64Array(STRIDE * 256);
    if (this.#ends.length > 4097) this.#ends = new Uint32Array(257);
  }

  /** Formats and packs every line in one native call; the batch is left as is. */
  pack(maxPacketBytes: number, flags: number): BatchPackResult {
    const count = this.#count;
    if (this.#ends.length < count + 1) this.#ends = new Uint32Array(count * 2 + 1);
    const r = this.#result;
    const bytes = native.pack(this.#strings, this.#columns, count, maxPacketBytes, flags, this.#ends, r);
    return {
      bytes,
      ends: this.#ends,
      packets: r[0]!,
      dropped: r[1]!,
      status: r[2]!,
      mismatch: r[3] === 1,
      failedIndex: r[4]!,
    };
  }
}

/** Splits a pack result into one Buffer view per packet (no copies). */
export function splitPackets(r: BatchPackResult): Buffer[] {
  const packets = new Array<Buffer>(r.packets);
  let start = 0;
  for (let i = 0; i < r.packets; i++) {
    const end = r.ends[i]!;
    packets[i] = r.bytes.subarray(start, end);
    start = end;
  }
  return packets;
}
