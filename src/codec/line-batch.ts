// The line batch the native packer reads (native/serializer.h PackBatch),
// filled one line at a time without a JS object per line.
/// <reference types="node" preserve="true" />
import { fieldIndex, flagValues, native } from '../core/native';

/** The columns of a line (native/serializer.h BatchColumn). */
const COLUMN = fieldIndex('batchColumns', ['value', 'sampleRate', 'timestamp', 'flags']);
const STRIDE = native.layout.batchColumns.length;
/**
 * A line's flags column: its type code (src/codec/metric.ts) in LINE_TYPE_MASK
 * | LINE_FLAG_* (native/serializer.h kLineFlag*; not a parse record's flags).
 */
const LINE_FLAGS = flagValues('lineFlags', ['typeMask', 'relative', 'text', 'tags', 'timestamp']);
export const LINE_TYPE_MASK = LINE_FLAGS.typeMask;
export const LINE_FLAG_RELATIVE = LINE_FLAGS.relative;
export const LINE_FLAG_TEXT = LINE_FLAGS.text;
export const LINE_FLAG_TAGS = LINE_FLAGS.tags;
export const LINE_FLAG_TIMESTAMP = LINE_FLAGS.timestamp;
/** Joins tags inside a segment; a control byte, so it never occurs in a valid tag. */
export const TAG_SEPARATOR = '\x1f';
/** pack() flags, for the whole batch (native/layout.h kPack*). */
const PACK_FLAGS = flagValues('packFlags', ['sanitize', 'trailingNewline']);
export const PACK_SANITIZE = PACK_FLAGS.sanitize;
export const PACK_TRAILING_NEWLINE = PACK_FLAGS.trailingNewline;
/** The slots of pack()'s result (native/layout.h PackResult). */
const PACK_RESULT = fieldIndex('packResults', ['packets', 'dropped', 'status', 'mismatch', 'failedIndex']);

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
 * LINE_FLAG_TEXT), then its tags joined by TAG_SEPARATOR (with LINE_FLAG_TAGS),
 * each ended by '\n'; flags are the type code (src/codec/metric.ts) | LINE_FLAG_*.
 */
export class LineBatch {
  #strings = '';
  #columns = new Float64Array(STRIDE * 256);
  #ends = new Uint32Array(257);
  #result = new Uint32Array(native.layout.packResults.length);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(segment: string, value: number, sampleRate: number, timestamp: number, flags: number): void {
    const at = this.#count * STRIDE;
    if (at + STRIDE > this.#columns.length) {
      const grown = new Float64Array(this.#columns.length * 2);
      grown.set(this.#columns);
      this.#columns = grown;
    }
    const c = this.#columns;
    c[at + COLUMN.value] = value;
    c[at + COLUMN.sampleRate] = sampleRate;
    c[at + COLUMN.timestamp] = timestamp;
    c[at + COLUMN.flags] = flags;
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
      packets: r[PACK_RESULT.packets]!,
      dropped: r[PACK_RESULT.dropped]!,
      status: r[PACK_RESULT.status]!,
      mismatch: r[PACK_RESULT.mismatch] === 1,
      failedIndex: r[PACK_RESULT.failedIndex]!,
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
