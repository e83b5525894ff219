// The pieces a GraphiteSink delivers: flushes held for replay, parts of a
// flush split to find a datapoint carbon refuses, and units tested on one
// connection (see GraphiteSink's "Poison").
/// <reference types="node" preserve="true" />
import type * as net from 'node:net';

import { countLines } from '../../net/transport';

export interface Pending {
  /** Plaintext lines; pickle is made from them when written. */
  lines: Buffer;
  metrics: number;
  /** Written whole once already: counted in metricsSent (and flushesSent, unless a part). */
  written?: boolean;
  /** On the parts of a flush split to isolate a poisoned datapoint: the flush counts once. */
  part?: Part;
}

export interface Part {
  /** Parts not written yet; the flush counts in flushesSent when none are left. */
  left: number;
  /** A part was given up on unwritten: the flush counts in flushesDropped instead. */
  dropped: boolean;
  /** Counted in replaysDropped already. */
  replayDropped: boolean;
}

/** Consecutive flushes or parts of flushes tested together on one connection. */
export interface Unit {
  pieces: Pending[];
  /** Known to break the connection (tested, or by elimination). */
  failing: boolean;
  /** Tests it failed (a single line is poison after POISON_BREAKS). */
  fails: number;
  /** The other half of a failing unit: fails by elimination when this one passes. */
  sibling?: Unit;
}

/** A unit of one line: it cannot be split further. */
export function isLeaf(unit: Unit): boolean {
  if (unit.pieces.length !== 1) return false;
  const lines = unit.pieces[0]!.lines;
  const nl = lines.indexOf(10);
  return nl === -1 || nl === lines.length - 1;
}

/** Halves a unit of several flushes at a flush boundary, one flush at the line nearest its middle. */
export function split(unit: Unit): [Unit, Unit] {
  let first: Pending[];
  let second: Pending[];
  if (unit.pieces.length > 1) {
    const half = unit.pieces.length >> 1;
    first = unit.pieces.slice(0, half);
    second = unit.pieces.slice(half);
  } else {
    const p = unit.pieces[0]!;
    const mid = p.lines.length >> 1;
    let nl = p.lines.indexOf(10, mid);
    if (nl === -1 || nl === p.lines.length - 1) nl = p.lines.lastIndexOf(10, mid - 1);
    const cut = nl + 1; // isLeaf(unit) is false: there is a line break before the last line
    const part = p.part ?? { left: p.written ? 0 : 1, dropped: false, replayDropped: false };
    if (!p.written) part.left++; // one unwritten part becomes two
    const a = p.lines.subarray(0, cut);
    const metrics = Math.min(countLines(a), p.metrics);
    first = [{ lines: a, metrics, written: p.written, part }];
    second = [{ lines: p.lines.subarray(cut), metrics: p.metrics - metrics, written: p.written, part }];
  }
  const b: Unit = { pieces: second, failing: false, fails: 0 };
  return [{ pieces: first, failing: false, fails: 0, sibling: b }, b];
}


/** A line for a log message: as JSON, invalid UTF-8 shown as U+FFFD, cut at 120 characters. */
export function excerpt(line: Buffer): string {
  const text = line.toString('utf8').replace(/\n$/, '');
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

/** Ends `socket` (FIN after what is written), or destroys it after `ms`. */
export function endWithin(socket: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, ms);
    socket.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
