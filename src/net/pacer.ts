// Pacing datagrams over a window, so a flush burst does not overflow a
// receiver's socket buffer.
/// <reference types="node" preserve="true" />

/** Datagrams at least sent per millisecond while pacing (see Pacer). */
const MIN_PACKETS_PER_MS = 2;

/**
 * Spreads datagrams over `window` ms instead of handing them to the kernel at
 * once. A receiver with the kernel's default buffer (rmem_default, 212,992
 * bytes here: ~90 packets of 1432 bytes) drops what does not fit: 100,000
 * keys flushed at once arrived as 16,001 lines in `npm run bench -- emitter`
 * (its "ours-unpaced" row). Each turn (a 1 ms timer,
 * later when the event loop is busy) sends the share of the queue that keeps
 * it on course to be empty by the newest deadline, and at least
 * MIN_PACKETS_PER_MS for each millisecond since the last turn, so a large
 * flush to a fast receiver, or a steady producer, goes out as fast as it comes (test/integration/emitter-pacing.test.ts,
 * bench/emitter.bench.js). The queue is bounded by `maxBytes`: past it the
 * oldest packets are dropped and reported.
 */
export class Pacer {
  readonly #window: number;
  readonly #maxBytes: number;
  readonly #write: (packet: Buffer) => void;
  readonly #dropped: (packets: readonly Buffer[]) => void;
  #queue: (Buffer | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #deadline = 0;
  /** Date.now() of the last turn that sent (see #pump). */
  #pumpedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #paused = true;
  /** Called when the queue becomes empty. */
  onEmpty: () => void = () => {};

  constructor(window: number, maxBytes: number, write: (packet: Buffer) => void, dropped: (packets: readonly Buffer[]) => void) {
    this.#window = window;
    this.#maxBytes = maxBytes;
    this.#write = write;
    this.#dropped = dropped;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  add(packets: readonly Buffer[]): void {
    for (const p of packets) {
      this.#queue.push(p);
      this.#bytes += p.length;
    }
    if (this.#bytes > this.#maxBytes) {
      const over: Buffer[] = [];
      while (this.#bytes > this.#maxBytes && this.queued > 0) over.push(this.#shift());
      this.#dropped(over);
    }
    this.#deadline = Date.now() + this.#window;
    if (!this.#paused && this.#timer === undefined) {
      this.#pumpedAt = Date.now() - 1; // a first turn counts one millisecond
      this.#pump();
    }
  }

  /** Stops sending (the socket is not ready); what is queued waits. */
  pause(): void {
    this.#paused = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  resume(): void {
    this.#paused = false;
    if (this.#timer === undefined) {
      this.#pumpedAt = Date.now() - 1;
      this.#pump();
    }
  }

  /** Empties the queue, returning what was in it. */
  takeAll(): Buffer[] {
    const all: Buffer[] = [];
    while (this.queued > 0) all.push(this.#shift());
    return all;
  }

  #shift(): Buffer {
    const p = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    this.#bytes -= p.length;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return p;
  }

  #pump(): void {
    this.#timer = undefined;
    const left = this.queued;
    const now = Date.now();
    // The share of the time left to the deadline that passed since the last
    // turn (timers fire late on a busy event loop: a fixed quota per turn
    // would fall behind a steady producer and overflow the queue).
    const elapsed = Math.max(1, now - this.#pumpedAt);
    this.#pumpedAt = now;
    if (left > 0) {
      const remaining = this.#deadline - now + elapsed;
      const quota = now >= this.#deadline ? left : Math.max(MIN_PACKETS_PER_MS * elapsed, Math.ceil((left * elapsed) / remaining));
      for (let i = 0; i < quota && this.queued > 0 && !this.#paused; i++) this.#write(this.#shift());
    }
    if (this.#paused) return;
    // Ref'd while packets wait: a script that flushes and ends still sends them
    // (the window bounds how long that takes).
    if (this.queued > 0) this.#timer = setTimeout(() => this.#pump(), 1);
    else this.onEmpty();
  }
}
