// When the daemon flushes, and with which timestamp.
/// <reference types="node" preserve="true" />
import { type Convention, flushSecond } from '../aggregator/aggregator';

export interface FlushScheduleOptions {
  /** ms between flushes. */
  interval: number;
  /** Flush on wall-clock multiples of `interval`. */
  align: boolean;
  /** Whose second a flush is stamped with (see flushSecond). */
  convention: Convention;
}

/**
 * Flushes at fixed times (wall-clock multiples with `align`): a timer that
 * fires a little early or late does not shift the schedule, and each flush is
 * stamped with its scheduled second. Flushes a second or more apart never
 * share a second: Graphite keeps one value per name and second, so a flush
 * stamped like the one before would overwrite it.
 *
 * A scheduled flush runs through `run` (which goes off the JS thread). One
 * due while another is under way waits for it, and only the latest such
 * flush does (what the skipped ones would have reported is in it): flushes
 * slower than the interval never queue up.
 */
export class FlushSchedule {
  readonly options: FlushScheduleOptions;
  readonly #run: (stamp: number) => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #nextAt = 0;
  /** The stamp of the last flush (0 before the first). */
  #lastStamp = 0;
  #started = false;
  #running: Promise<void> | undefined;
  #due: number | undefined;

  constructor(options: FlushScheduleOptions, run: (stamp: number) => Promise<void>) {
    this.options = options;
    this.#run = run;
  }

  start(): void {
    this.#started = true;
    this.#arm();
  }

  /** A scheduled flush is under way. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /**
   * The stamp of a flush made now, off the schedule (on demand, or the last
   * one at shutdown): `timestamp`, or the current second but never the
   * previous flush's; recorded as the last stamp.
   */
  claim(timestamp?: number): number {
    const stamp = timestamp ?? Math.max(flushSecond(this.options.convention, Date.now()), this.#lastStamp + 1);
    this.#lastStamp = stamp;
    return stamp;
  }

  /** Stops the timer, drops a flush that is due, and waits for the one under way. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = undefined; // the caller's final flush reports it
    await this.#running;
  }

  #arm(): void {
    if (!this.#started) return;
    const { interval, align } = this.options;
    const now = Date.now();
    // A wall clock stepped back (NTP, a VM resumed) would leave the next flush
    // as far off as the step: start the schedule again from now instead.
    if (this.#nextAt - now > interval) this.#nextAt = 0;
    if (this.#nextAt === 0) this.#nextAt = align ? Math.ceil((now + 1) / interval) * interval : now + interval;
    this.#timer = setTimeout(() => {
      const at = this.#nextAt;
      // Node's timers may fire up to a millisecond before Date.now() reaches `at`.
      if (Date.now() < at) return this.#arm();
      this.#nextAt += interval;
      while (this.#nextAt <= Date.now()) this.#nextAt += interval; // skip what was missed
      const stamp = flushSecond(this.options.convention, at);
      this.#begin(interval >= 1000 ? Math.max(stamp, this.#lastStamp + 1) : stamp);
      this.#arm();
    }, Math.max(0, this.#nextAt - now));
  }

  #begin(stamp: number): void {
    this.#lastStamp = stamp;
    if (this.#running !== undefined) {
      this.#due = stamp;
      return;
    }
    this.#running = (async () => {
      for (let due: number | undefined = stamp; due !== undefined; ) {
        await this.#run(due);
        due = this.#due;
        this.#due = undefined;
      }
      this.#running = undefined;
    })();
  }
}
