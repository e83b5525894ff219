// Properties of LineAssembler (src/daemon/inputs/line-assembler.ts) on fast-check arbitraries:
// a '\n'-framed stream cut into chunks anywhere comes out as the same lines, in
// order, whatever the chunking, but for the overlong lines it had to drop, which
// it counts; and what it buffers stays within maxLineBytes.
//
// Which overlong lines are dropped: the assembler buffers the unfinished last
// line of each chunk, and drops (and counts) a line as soon as that buffered
// part exceeds maxLineBytes. An overlong line whose '\n' arrives before that ever
// happens (whole inside one chunk, or buffered while still short enough) is
// passed on for the parser to reject as too_long under the same limit.
import * as fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { LineAssembler } from '../src/daemon/inputs/line-assembler';

/** One line of the stream: [start, end) in stream offsets; `end` is its '\n', or the stream's end. */
interface Segment {
  start: number;
  end: number;
  terminated: boolean;
}

function segmentsOf(stream: Buffer): Segment[] {
  const segments: Segment[] = [];
  for (let start = 0; start < stream.length; ) {
    const nl = stream.indexOf(0x0a, start);
    const end = nl < 0 ? stream.length : nl;
    segments.push({ start, end, terminated: nl >= 0 });
    start = end + 1;
  }
  return segments;
}

/**
 * Whether `s` is dropped once the chunks ending at `boundaries` (stream offsets,
 * ascending) were pushed: at one of them its '\n' had not arrived yet (b <= end)
 * and more than maxLineBytes of it were buffered (b - start > maxLineBytes).
 */
function droppedBy(s: Segment, boundaries: readonly number[], maxLineBytes: number): boolean {
  return boundaries.some((b) => b <= s.end && b - s.start > maxLineBytes);
}

/** The chunks: cut at the given offsets (taken modulo length + 1, so repeats make empty chunks), or one byte each. */
function chunksOf(stream: Buffer, cuts: number[] | 'bytes'): Buffer[] {
  if (cuts === 'bytes') return Array.from(stream, (_, i) => stream.subarray(i, i + 1));
  const at = [0, ...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length];
  return at.slice(1).map((end, i) => stream.subarray(at[i], end));
}

/** A line of arbitrary bytes but '\n' (replaced by 'N'): short, at the limit, or overlong. */
function lineArb(maxLineBytes: number): fc.Arbitrary<Buffer> {
  return fc
    .oneof(
      fc.uint8Array({ maxLength: maxLineBytes }),
      fc.uint8Array({ minLength: Math.max(0, maxLineBytes - 1), maxLength: maxLineBytes + 1 }),
      fc.uint8Array({ minLength: maxLineBytes + 1, maxLength: 3 * maxLineBytes + 2 }),
    )
    .map((bytes) => Buffer.from(bytes.map((b) => (b === 0x0a ? 0x4e : b))));
}

const scenarioArb = fc.integer({ min: 1, max: 12 }).chain((maxLineBytes) =>
  fc.record({
    maxLineBytes: fc.constant(maxLineBytes),
    lines: fc.array(lineArb(maxLineBytes), { minLength: 1, maxLength: 12 }),
    finalNewline: fc.boolean(),
    cuts: fc.oneof(
      { arbitrary: fc.constant('bytes' as const), weight: 1 },
      { arbitrary: fc.array(fc.nat(), { maxLength: 16 }), weight: 4 },
    ),
  }),
);

describe('LineAssembler', () => {
  // For any lines (empty, at the limit, overlong; any bytes but '\n'), joined by
  // '\n' with or without a final one, and any chunking (1-byte and empty chunks
  // too): after each push the output so far is exactly the kept lines whose '\n'
  // has arrived, each with its '\n'; end() gives the unterminated last line if
  // kept; a line is missing only if it is overlong and was dropped as described
  // at the top, and `overlong` counts exactly those; `pending` is the buffered
  // part of the current line and never exceeds maxLineBytes.
  test('any chunking gives the lines back, but the overlong ones it dropped and counted', () => {
    const seen = { dropped: 0, passedOverlong: 0, keptAtLimit: 0, splitLines: 0 };
    fc.assert(
      fc.property(scenarioArb, ({ maxLineBytes, lines, finalNewline, cuts }) => {
        const parts = lines.flatMap((l, i) => (i > 0 ? [Buffer.from('\n'), l] : [l]));
        const stream = Buffer.concat([...parts, Buffer.from(finalNewline ? '\n' : '')]);
        const segments = segmentsOf(stream);
        // the segments are the input lines (an empty last one without its '\n' is no line)
        const inputLines = !finalNewline && lines.at(-1)?.length === 0 ? lines.slice(0, -1) : lines;
        expect(segments.map((s) => stream.subarray(s.start, s.end))).toEqual(inputLines);
        const chunks = chunksOf(stream, cuts);
        const line = (s: Segment) => stream.subarray(s.start, s.end);

        const assembler = new LineAssembler(maxLineBytes);
        const out: Buffer[] = [];
        const boundaries: number[] = [];
        let offset = 0;
        for (const chunk of chunks) {
          const whole = assembler.push(chunk);
          offset += chunk.length;
          boundaries.push(offset);
          if (whole !== undefined) {
            expect(whole.length).toBeGreaterThan(0);
            expect(whole[whole.length - 1]).toBe(0x0a);
            out.push(Buffer.from(whole));
          }
          // the lines whose '\n' has arrived, less the dropped ones, each with its '\n'
          const done = segments.filter(
            (s) => s.terminated && s.end < offset && !droppedBy(s, boundaries, maxLineBytes),
          );
          const doneText = done.map((s) => `${line(s).toString('latin1')}\n`).join('');
          expect(Buffer.concat(out).toString('latin1')).toBe(doneText);
          expect(assembler.overlong).toBe(segments.filter((s) => droppedBy(s, boundaries, maxLineBytes)).length);
          // pending: the part of the current line received so far, unless it is being dropped
          const current = segments.find((s) => s.start <= offset && offset <= s.end);
          const buffered = current === undefined ? 0 : offset - current.start;
          expect(assembler.pending).toBe(buffered > maxLineBytes ? 0 : buffered);
          expect(assembler.pending).toBeLessThanOrEqual(maxLineBytes);
        }
        const last = segments.at(-1);
        const rest = assembler.end();
        if (last !== undefined && !last.terminated && !droppedBy(last, boundaries, maxLineBytes)) {
          expect(rest?.toString('latin1')).toBe(line(last).toString('latin1'));
        } else {
          expect(rest).toBeUndefined();
        }
        expect(assembler.pending).toBe(0);

        // all in all: the stream with the dropped lines (each with its '\n') cut out
        const dropped = segments.filter((s) => droppedBy(s, boundaries, maxLineBytes));
        const output = Buffer.concat([...out, ...(rest ? [rest] : [])]).toString('latin1');
        const kept = segments.filter((s) => !dropped.includes(s));
        expect(output).toBe(kept.map((s) => line(s).toString('latin1') + (s.terminated ? '\n' : '')).join(''));
        // only overlong lines are ever dropped, each counted once
        for (const s of dropped) expect(s.end - s.start).toBeGreaterThan(maxLineBytes);
        expect(assembler.overlong).toBe(dropped.length);

        seen.dropped += dropped.length;
        seen.passedOverlong += segments.filter((s) => s.end - s.start > maxLineBytes && !dropped.includes(s)).length;
        seen.keptAtLimit += segments.filter((s) => s.end - s.start === maxLineBytes).length;
        seen.splitLines += segments.filter((s) => boundaries.some((b) => s.start < b && b <= s.end)).length;
      }),
      { seed: 0x11e5, numRuns: 1000 },
    );
    // every case really occurred, often
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(100);
  });

  /** Pushes `chunks` in order; returns what came out of each push and of end(), as text ('' for undefined). */
  function run(assembler: LineAssembler, chunks: string[]): string[] {
    const out = chunks.map((c) => assembler.push(Buffer.from(c, 'latin1'))?.toString('latin1') ?? '');
    out.push(assembler.end()?.toString('latin1') ?? '');
    return out;
  }

  test('an overlong line split across chunks is dropped whole; the next line is kept', () => {
    const a = new LineAssembler(4);
    expect(a.push(Buffer.from('ok\nabcd'))?.toString()).toBe('ok\n'); // "abcd" waits: 4 bytes fit
    expect(a.pending).toBe(4);
    expect(a.push(Buffer.from('ef'))).toBeUndefined(); // 6 bytes: dropped, counted, nothing kept
    expect([a.overlong, a.pending]).toEqual([1, 0]);
    expect(a.push(Buffer.from('gh'))).toBeUndefined(); // still inside the dropped line
    expect(a.push(Buffer.from('ij\nxy\nz'))?.toString()).toBe('xy\n'); // its '\n' ends the drop
    expect(a.end()?.toString()).toBe('z');
    expect(a.overlong).toBe(1);
  });

  test('a line of exactly maxLineBytes is kept, however it is cut', () => {
    expect(run(new LineAssembler(4), ['ab', 'cd', '\n'])).toEqual(['', '', 'abcd\n', '']);
    expect(run(new LineAssembler(4), ['a', 'b', 'c', 'd'])).toEqual(['', '', '', '', 'abcd']); // at the end
    expect(run(new LineAssembler(4), ['abcd\n'])).toEqual(['abcd\n', '']);
  });

  test('a line of maxLineBytes + 1 is dropped once buffered, passed on when whole in a chunk', () => {
    const cut = new LineAssembler(4);
    expect(run(cut, ['abcde', '\nok\n'])).toEqual(['', 'ok\n', '']);
    expect(cut.overlong).toBe(1);
    const atEnd = new LineAssembler(4);
    expect(run(atEnd, ['ok\nabc', 'de'])).toEqual(['ok\n', '', '']); // unterminated at the end
    expect(atEnd.overlong).toBe(1);
    // whole in one chunk: passed on for the parser to reject as too_long
    const whole = new LineAssembler(4);
    expect(run(whole, ['abcde\nok\n'])).toEqual(['abcde\nok\n', '']);
    expect(whole.overlong).toBe(0);
  });

  // An overlong line whose buffered head stayed within the limit is passed on
  // when its '\n' arrives, though it spans chunks: the parser counts it.
  test('an overlong line whose head was short when buffered is passed on, not counted', () => {
    const a = new LineAssembler(4);
    expect(run(a, ['abc', 'defgh\nok\n'])).toEqual(['', 'abcdefgh\nok\n', '']);
    expect(a.overlong).toBe(0);
  });
});
