// Handles: one key's slot in an Emitter's store, so a hot path's call is a
// typed-array write with no name lookup.
/// <reference types="node" preserve="true" />
import { invalidOption } from '../core/options';
import type { MetricStore } from './metric-store';
import { checkValue } from './options';

/** What every handle holds: its key's slot in the emitter's store. */
export class Handle {
  readonly name: string;
  protected readonly store: MetricStore;
  protected readonly slot: number;
  constructor(store: MetricStore, slot: number, name: string) {
    this.store = store;
    this.slot = slot;
    this.name = name;
  }
}

/** A counter whose add() is a typed-array write. */
export class CounterHandle extends Handle {
  add(by = 1): void {
    if (!Number.isFinite(by)) checkValue(this.name, by);
    this.store.add(this.slot, by);
  }
}

/** A gauge whose set()/add() are typed-array writes. */
export class GaugeHandle extends Handle {
  set(value: number): void {
    if (!Number.isFinite(value)) checkValue(this.name, value);
    this.store.set(this.slot, value);
  }
  add(delta: number): void {
    if (!Number.isFinite(delta)) checkValue(this.name, delta);
    this.store.addGauge(this.slot, delta);
  }
}

/** Records timings of one key: record(ms), time(fn), start() → stop(). */
export class TimerHandle extends Handle {
  record(ms: number): void {
    if (!Number.isFinite(ms)) checkValue(this.name, ms);
    this.store.addTiming(this.slot, ms, 1);
  }
  /** Starts a stopwatch; calling the result records the elapsed ms and returns it. */
  start(): () => number {
    const started = process.hrtime.bigint();
    return () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.record(ms);
      return ms;
    };
  }
  /** Runs fn and records how long it took (until the promise settles, for async fn). */
  time<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw invalidOption('fn', 'a function', fn);
    const stop = this.start();
    let result: T;
    try {
      result = fn();
    } catch (error) {
      stop();
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(stop) as T;
    }
    stop();
    return result;
  }
}
