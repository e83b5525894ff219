// One flush's carbon lines read back into statsd keys: which key, of which
// kind, wrote each line, from the keys the aggregator holds right after the
// flush and the convention's naming (CarbonNaming), never from a name alone.
/// <reference types="node" preserve="true" />
import type { CarbonNaming, Claim, StatsdKind, Use } from './carbon-names';

/** One line of a flush, with the key that wrote it. */
export interface Reading {
  key: string;
  kind: StatsdKind;
  path: string;
  tags: string;
  use: Use;
  value: number;
}

export interface FlushReading {
  /** The lines whose value the exposition uses, in flush order. */
  readings: Reading[];
  /** Lines no live key could have written (a key freed by this very flush, or a malformed line): left out and counted. */
  unresolved: number;
}

/** A claim with the place of its key in the snapshot (its flush order); -1 for the daemon's own line or a key freed by the flush. */
type Placed = Claim & { index: number };

/**
 * Reads `carbon` (plaintext "name value timestamp" lines) of a flush. `keys`
 * is the aggregator's snapshot taken after that flush, in its order (the
 * order keys were first seen, which is the order each section of a flush
 * writes them); `lagWritten`: the flush has etsy's timestamp_lag line.
 *
 * A line that only one live key could have written is that key's. A name
 * more than one could have written (a carbon-level collision: brubeck's
 * counter `x.count` and timer `x`'s count line are both `x.count`) is
 * settled by the shape of a flush: a key's lines are contiguous, a timer's
 * fields come in a fixed order, and each (key, field) is written once.
 * brubeck's timer lines have a known shape (CarbonNaming.block): a timer
 * takes a contested first line only if the lines after it are the rest of
 * its shape, and then takes those lines. Otherwise (etsy) a timer takes a
 * contested line that the next line continues, or that ends the lines the
 * line before began. Else the line goes to the claimant next in flush order
 * after the line before. What this cannot tell apart: a timer not reported
 * this flush, and other keys named exactly as the lines of its shape, in
 * its field order, one after the other.
 */
export function readFlush(carbon: Buffer, keys: readonly { key: string; kind: string }[], naming: CarbonNaming, lagWritten: boolean): FlushReading {
  // Each key's place in the snapshot, by kind (etsy may hold one name as several kinds).
  const places = new Map<string, Map<string, number>>();
  keys.forEach((k, i) => {
    let ofKind = places.get(k.kind);
    if (!ofKind) places.set(k.kind, (ofKind = new Map()));
    ofKind.set(k.key, i);
  });
  const has = (key: string, kind: StatsdKind) => places.get(kind)?.has(key) === true;

  const lines = carbonLines(carbon);
  // Too short to hold the daemon's own lines: not a flush of this naming.
  if (lines.length < naming.head + naming.tail) return { readings: [], unresolved: lines.length };
  const body = lines.slice(naming.head, lines.length - naming.tail);
  const claims = body.map(([name]): Placed[] =>
    naming.claims(name, has, lagWritten).map((c) => ({ ...c, index: c.kind === 'internal' || c.freed ? -1 : places.get(c.kind)!.get(c.key)! })),
  );

  const used = new Set<string>();
  const id = (c: Placed) => (c.index >= 0 ? `${c.index}\n${c.field}` : `${c.kind}\n${c.key}\n${c.field}`);
  /** The timer claim of `index` for `field` on line `i`, if not taken. */
  const timerAt = (i: number, at: number, field: string) =>
    claims[i]?.find((c) => c.kind === 'timer' && c.index === at && c.field === field && !used.has(id(c)));
  /** Lines from `i` on are timer `at`'s `fields`, in order. */
  const shapeFrom = (i: number, at: number, fields: readonly string[]) => fields.every((f, j) => timerAt(i + j, at, f) !== undefined);

  const readings: Reading[] = [];
  let unresolved = 0;
  let previous: Placed | undefined;
  /** The timer whose shape is being read: the fields its next lines must be, and a group that may follow whole. */
  let block: { index: number; next: string[]; then: readonly string[] } | undefined;
  for (let i = 0; i < body.length; i++) {
    const [, value] = body[i]!;
    let pick: Placed | undefined;
    if (block) {
      if (block.next.length === 0 && block.then.length > 0 && shapeFrom(i, block.index, block.then)) block = { ...block, next: [...block.then], then: [] };
      pick = block.next.length > 0 ? timerAt(i, block.index, block.next[0]!) : undefined;
      if (pick) block.next.shift();
      else block = undefined; // its lines ended (or one was not written: a value past the largest double)
    }
    if (!pick) {
      const open = claims[i]!.filter((c) => !used.has(id(c)));
      pick = open.length > 1 ? contested(open, i) : open[0];
      if (pick?.kind === 'timer' && naming.block) {
        const shape = naming.block(pick.field, value);
        if (shape) block = { index: pick.index, next: [...shape.next], then: shape.then };
      }
    }
    if (!pick || Number.isNaN(value)) {
      unresolved++;
      continue;
    }
    used.add(id(pick));
    previous = pick;
    if (pick.kind !== 'internal' && pick.use.as !== 'none') {
      readings.push({ key: pick.key, kind: pick.kind, path: pick.path, tags: pick.tags, use: pick.use, value });
    }
  }
  return { readings, unresolved };

  /** Who wrote line `i` of those `open` claimants (see readFlush). */
  function contested(open: Placed[], i: number): Placed {
    const [, value] = body[i]!;
    const others = open.filter((c) => c.kind !== 'timer');
    const timer = open.find((c) => {
      if (c.kind !== 'timer') return false;
      if (naming.block) {
        const shape = naming.block(c.field, value);
        return shape !== undefined && shapeFrom(i + 1, c.index, shape.next);
      }
      const continues = claims[i + 1]?.some((d) => d.kind === 'timer' && d.index === c.index && d.order > c.order && !used.has(id(d)));
      const ends = previous?.kind === 'timer' && previous.index === c.index && previous.order < c.order;
      return continues || ends;
    });
    return timer ?? inFlushOrder(others.length > 0 ? others : open, previous);
  }
}

/** The first of `open` at or after `previous` in flush order (section, then key order); else the first. */
function inFlushOrder(open: Placed[], previous: Placed | undefined): Placed {
  const before = (a: Placed, b: { section: number; index: number }) => a.section < b.section || (a.section === b.section && a.index < b.index);
  const sorted = [...open].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  return (previous && sorted.find((c) => !before(c, previous))) || sorted[0]!;
}

/** "name value timestamp" lines as [name, value]; a value that is not a number reads as NaN. */
export function carbonLines(carbon: Buffer): [string, number][] {
  const out: [string, number][] = [];
  for (const line of carbon.toString('utf8').split('\n')) {
    if (line === '') continue;
    const stamp = line.lastIndexOf(' ');
    const space = stamp > 0 ? line.lastIndexOf(' ', stamp - 1) : -1;
    const value = space > 0 ? line.slice(space + 1, stamp) : '';
    out.push(space > 0 ? [line.slice(0, space), value === '' ? NaN : Number(value)] : [line, NaN]);
  }
  return out;
}
