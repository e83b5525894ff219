// Evaluates parsed render targets against the daemon's history, within a
// budget: at most `maxSeries` series fetched and `maxPoints` points, and no
// more time than `timeoutMs` (checked between fetches: one fetch is short).
import { StatsdError } from '../../core/errors';
import type { History } from '../history/history';
import { type RenderValue, callFunction } from './functions';
import { type TimeSeries, makeSeries } from './series';
import type { TargetArg } from './target';

export interface RenderLimits {
  /** Series one request may fetch, over all its targets. */
  maxSeries: number;
  /** Points one request may fetch (series × points each). */
  maxPoints: number;
  /** ms one request may spend evaluating. */
  timeoutMs: number;
}

/** Why a request was refused for its cost: the counter it goes to. */
export type RefusedReason = 'series' | 'points' | 'timeout';

/** A request over its budget (answered 422, or 503 for the timeout, and counted). */
export class RenderRefused extends StatsdError {
  readonly reason: RefusedReason;
  constructor(reason: RefusedReason, message: string) {
    super('ERR_STATSD_INVALID_OPTION', message);
    this.reason = reason;
  }
}

/** One request's time range and what it may still spend. */
export class RenderContext {
  readonly history: History;
  /** The grid every fetched series is on (whisper's): step-aligned, from < t <= until. */
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly #limits: RenderLimits;
  readonly #deadline: number;
  readonly #clock: () => number;
  #series = 0;
  #points = 0;
  /** Points that fell on a step another flush had filled (the later is kept). */
  overwritten = 0;

  /** `from` and `until` in unix seconds as asked; clamped to the retained window and to `now` as whisper clamps them. */
  constructor(history: History, from: number, until: number, now: number, limits: RenderLimits, clock: () => number = Date.now) {
    this.history = history;
    this.#limits = limits;
    this.#clock = clock;
    this.#deadline = clock() + limits.timeoutMs;
    const step = history.step;
    from = Math.max(from, now - history.retained);
    until = Math.min(until, now);
    this.step = step;
    this.start = from - mod(from, step) + step;
    this.end = Math.max(this.start, until - mod(until, step) + step);
  }

  get points(): number {
    return (this.end - this.start) / this.step;
  }

  /** The series matching `pattern`, sorted by name, on the request's grid. */
  fetch(pattern: string): TimeSeries[] {
    this.checkTime();
    const left = this.#limits.maxSeries - this.#series;
    const { names, scan } = this.history.search(pattern, { limit: left, timeoutMs: Math.max(0, this.#deadline - this.#clock()) });
    if (scan === 'timeout') throw this.#timedOut();
    if (scan === 'limited') {
      throw new RenderRefused('series', `the targets match more than ${this.#limits.maxSeries} series (the daemon's render maxSeries)`);
    }
    this.charge(names.length * this.points);
    this.#series += names.length;
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return names.map((name) => {
      this.checkTime();
      const points = this.points;
      const values: (number | null)[] = new Array(points).fill(null);
      const data = this.history.fetch(name, this.start, this.end - 1);
      if (data) {
        for (let i = 0; i < data.times.length; i++) {
          const t = data.times[i]!;
          const slot = (t - mod(t, this.step) - this.start) / this.step;
          if (slot < 0 || slot >= points || data.values[i] === null) continue;
          // Two flushes in one step (stamped by hand, or an interval not in
          // whole seconds): the later one is kept, as carbon keeps it; counted.
          if (values[slot] !== null) this.overwritten++;
          values[slot] = data.values[i]!;
        }
      }
      const series = makeSeries(name, this.start, this.end, this.step, values);
      series.pathExpression = pattern; // as graphite-web: aggregates name themselves from it
      return series;
    });
  }

  /** Points fetched or made for the request: past maxPoints it is refused. */
  charge(points: number): void {
    if (this.#points + points > this.#limits.maxPoints) {
      throw new RenderRefused('points', `the targets need more than ${this.#limits.maxPoints} points (the daemon's render maxPoints): narrow the range or the pattern`);
    }
    this.#points += points;
  }

  /** Throws RenderRefused('timeout') once the request has used its time. */
  checkTime(): void {
    if (this.#clock() > this.#deadline) throw this.#timedOut();
  }

  #timedOut(): RenderRefused {
    return new RenderRefused('timeout', `the request took more than ${this.#limits.timeoutMs} ms (the daemon's render timeout)`);
  }

}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Evaluates one parsed target: a series list for a path or a call; literals only as arguments. */
export function evaluateTarget(target: TargetArg, context: RenderContext): TimeSeries[] {
  const value = evaluate(target, context);
  if (!Array.isArray(value)) throw new StatsdError('ERR_STATSD_INVALID_OPTION', 'a target must be a path or a function of series, not a literal');
  return value;
}

function evaluate(target: TargetArg, context: RenderContext): RenderValue {
  switch (target.kind) {
    case 'path':
      return context.fetch(target.pattern);
    case 'call':
      return callFunction(
        target.name,
        target.args.map((a) => evaluate(a, context)),
        context,
      );
    default:
      return target.value;
  }
}
