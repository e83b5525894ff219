// The render functions the daemon answers, each as graphite-web 1.1 computes
// and names it (render/functions.py): sumSeries (sum), averageSeries (avg),
// scale, keepLastValue, alias, nonNegativeDerivative, perSecond, summarize.
// The render-graphite-web differential test holds them to a real graphite-web.
import { StatsdError } from '../../core/errors';
import { parseInterval } from './at-time';
import { type TimeSeries, consolidated } from './series';

/** An evaluated argument: a series list (a path or a call), or a literal. */
export type RenderValue = TimeSeries[] | number | string | boolean;

/** What a function may spend: output points beyond its input's are charged (summarize to a finer step). */
export interface RenderBudget {
  charge(points: number): void;
}

type RenderFunction = (name: string, args: RenderValue[], budget: RenderBudget) => TimeSeries[];

function badCall(name: string, why: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', `${name}: ${why}`);
}

function seriesArg(name: string, args: RenderValue[], i: number): TimeSeries[] {
  const v = args[i];
  if (!Array.isArray(v)) throw badCall(name, `argument ${i + 1} must be a series list (a path or a function)`);
  return v;
}

function numberArg(name: string, args: RenderValue[], i: number, fallback?: number): number | undefined {
  const v = args[i];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw badCall(name, `argument ${i + 1} must be a number`);
  return v;
}

function stringArg(name: string, args: RenderValue[], i: number, fallback?: string): string {
  const v = args[i];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') throw badCall(name, `argument ${i + 1} must be a quoted string`);
  return v;
}

function arity(name: string, args: RenderValue[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    throw badCall(name, `takes ${min === max ? min : `${min} to ${max}`} arguments, not ${args.length}`);
  }
}

// graphite-web's "safe" aggregation functions (functions/safe.py, aggfuncs.py):
// nulls are left out; no value at all gives null.
type Row = (number | null)[];
const present = (row: Row): number[] => row.filter((v): v is number => v !== null);
const orNull = (values: number[], f: (v: number[]) => number): number | null => (values.length ? f(values) : null);
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const AGG_FUNCS: Record<string, (row: Row) => number | null> = {
  sum: (row) => orNull(present(row), sum),
  average: (row) => orNull(present(row), (v) => sum(v) / v.length),
  avg_zero: (row) => (row.length ? row.reduce<number>((a, b) => a + (b ?? 0), 0) / row.length : null),
  median: (row) =>
    orNull(present(row), (v) => {
      const s = [...v].sort((a, b) => a - b);
      const mid = s.length >> 1;
      return s.length % 2 === 0 ? (s[mid - 1]! + s[mid]!) / 2 : s[mid]!;
    }),
  min: (row) => orNull(present(row), (v) => Math.min(...v)),
  max: (row) => orNull(present(row), (v) => Math.max(...v)),
  diff: (row) => orNull(present(row), (v) => v.slice(1).reduce((a, b) => a - b, v[0]!)),
  stddev: (row) =>
    orNull(present(row), (v) => {
      const avg = sum(v) / v.length;
      return Math.sqrt(v.reduce((a, x) => a + (x - avg) * (x - avg), 0) / v.length);
    }),
  count: (row) => present(row).length,
  range: (row) => orNull(present(row), (v) => Math.max(...v) - Math.min(...v)),
  multiply: (row) => (row.includes(null) || row.length === 0 ? null : (row as number[]).reduce((a, b) => a * b)),
  last: (row) => {
    for (let i = row.length - 1; i >= 0; i--) if (row[i] !== null) return row[i]!;
    return null;
  },
};
const AGG_ALIASES: Record<string, string> = { rangeOf: 'range', avg: 'average', total: 'sum', current: 'last' };

function aggFunc(name: string, func: string): (row: Row) => number | null {
  const f = AGG_FUNCS[func] ?? AGG_FUNCS[AGG_ALIASES[func] ?? ''];
  if (!f) throw badCall(name, `unsupported aggregation function ${JSON.stringify(func)}`);
  return f;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** graphite-web's aggregate(): normalize to a common step, then one value per row. */
function aggregate(lists: TimeSeries[][], func: 'sum' | 'average'): TimeSeries[] {
  const all = lists.flat();
  if (all.length === 0) return [];
  const step = all.reduce((l, s) => (l / gcd(l, s.step)) * s.step, 1);
  // Steps whose least common multiple is past a day: nothing would line up.
  if (!Number.isSafeInteger(step) || step > 86_400 * 366) throw badCall(`${func}Series`, `series steps with no common step under a year (${all.map((s) => s.step).join(', ')} s)`);
  for (const s of all) s.valuesPerPoint = step / s.step;
  const start = Math.min(...all.map((s) => s.start));
  let end = Math.max(...all.map((s) => s.end));
  end -= (end - start) % step;
  const columns = all.map(consolidated);
  const length = Math.max(...columns.map((c) => c.length));
  const f = AGG_FUNCS[func]!;
  const values: (number | null)[] = [];
  for (let i = 0; i < length; i++) values.push(f(columns.map((c) => c[i] ?? null)));
  const expressions = [...new Set(all.map((s) => s.pathExpression))].join(',');
  const name = `${func}Series(${expressions})`;
  const tags: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(all[0]!.tags)) if (all.every((s) => s.tags[k] === v)) tags[k] = v;
  tags.name ??= name;
  tags.aggregatedBy = func;
  return [{ name, pathExpression: name, start, end, step, values, tags, valuesPerPoint: 1 }];
}

/** Python's "%g": 6 significant digits, no trailing zeros, exponent past 1e-5 or 1e6 (scale's name). */
export function formatG(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exponent = Number(x.toExponential(5).split('e')[1]);
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, exp] = x.toExponential(5).split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const fixed = x.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Python's round(x, 6) (perSecond): to the nearest millionth, ties to even. */
function round6(x: number): number {
  const scaled = x * 1e6;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5) return (floor % 2 === 0 ? floor : floor + 1) / 1e6;
  return Number(x.toFixed(6));
}

/** graphite-web's _nonNegativeDelta: [delta, the new previous value]. */
function nonNegativeDelta(val: number | null, prev: number | null, max?: number, min?: number): [number | null, number | null] {
  if (max !== undefined && val !== null && val > max) return [null, null];
  if (min !== undefined && val !== null && val < min) return [null, null];
  if (prev === null || val === null) return [null, val];
  if (val >= prev) return [val - prev, val];
  if (max !== undefined) return [max + 1 + val - prev - (min ?? 0), val];
  if (min !== undefined) return [val - min, val];
  return [null, val];
}

/** A copy as TimeSeries.copy makes it: the new name is its path expression too; read values, none consolidated. */
function copy(s: TimeSeries, name: string, values: (number | null)[], grid?: { start: number; end: number; step: number }): TimeSeries {
  return { name, pathExpression: name, start: grid?.start ?? s.start, end: grid?.end ?? s.end, step: grid?.step ?? s.step, values, tags: s.tags, valuesPerPoint: 1 };
}

function derivative(name: string, args: RenderValue[], perSecond: boolean): TimeSeries[] {
  arity(name, args, 1, 3);
  const max = numberArg(name, args, 1);
  const min = numberArg(name, args, 2);
  return seriesArg(name, args, 0).map((s) => {
    let prev: number | null = null;
    const values = consolidated(s).map((v) => {
      const [delta, next] = nonNegativeDelta(v, prev, max, min);
      prev = next;
      return delta === null ? null : perSecond ? round6(delta / s.step) : delta;
    });
    s.tags[name] = 1;
    return copy(s, `${name}(${s.name})`, values);
  });
}

const FUNCTIONS: Record<string, RenderFunction> = {
  sumSeries: (name, args) => aggregate(args.map((_, i) => seriesArg(name, args, i)), 'sum'),
  averageSeries: (name, args) => aggregate(args.map((_, i) => seriesArg(name, args, i)), 'average'),

  scale: (name, args) => {
    arity(name, args, 2, 2);
    const factor = numberArg(name, args, 1)!;
    return seriesArg(name, args, 0).map((s) => {
      s.tags.scale = factor;
      s.name = `scale(${s.name},${formatG(factor)})`;
      s.pathExpression = s.name;
      s.values = consolidated(s).map((v) => (v === null ? null : v * factor));
      s.valuesPerPoint = 1;
      return s;
    });
  },

  keepLastValue: (name, args) => {
    arity(name, args, 1, 2);
    const limit = numberArg(name, args, 1, Infinity)!;
    return seriesArg(name, args, 0).map((s) => {
      s.name = `keepLastValue(${s.name})`;
      s.pathExpression = s.name;
      const values = [...consolidated(s)];
      let nones = 0;
      let last: number | null = null;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (v === null) {
          nones++;
          continue;
        }
        if (nones > 0 && nones <= limit && last !== null) values.fill(last, i - nones, i);
        nones = 0;
        last = v;
      }
      if (nones > 0 && nones <= limit && last !== null) values.fill(last, values.length - nones);
      s.values = values;
      s.valuesPerPoint = 1;
      return s;
    });
  },

  alias: (name, args) => {
    arity(name, args, 2, 2);
    const alias = stringArg(name, args, 1);
    const list = seriesArg(name, args, 0);
    for (const s of list) s.name = alias; // graphite-web keeps the path expression
    return list;
  },

  nonNegativeDerivative: (name, args) => derivative(name, args, false),
  perSecond: (name, args) => derivative(name, args, true),

  summarize: (name, args, budget) => {
    arity(name, args, 2, 4);
    const intervalText = stringArg(name, args, 1);
    const interval = parseInterval(intervalText);
    const func = stringArg(name, args, 2, 'sum');
    const f = aggFunc(name, func);
    const alignToFrom = args[3] ?? false;
    if (typeof alignToFrom !== 'boolean') throw badCall(name, 'argument 4 must be true or false');
    return seriesArg(name, args, 0).map((s) => {
      let start = alignToFrom ? s.start : s.start - (s.start % interval);
      let end = alignToFrom ? s.end : s.end - (s.end % interval) + interval;
      budget.charge(Math.ceil((end - start) / interval)); // a finer interval makes more points than were fetched
      // _summarizeValues, as written: a bucket takes the points from the last
      // one at or before its start up to its end; it has a value when one of
      // its own points has one.
      const values: (number | null)[] = [];
      const points = consolidated(s);
      const times: number[] = [];
      for (let t = s.start; t < s.end; t += s.step) times.push(t);
      const n = Math.min(times.length, points.length);
      let i = 0;
      let t = start;
      while (t < end) {
        let first = i;
        let nonNull = 0;
        while (i < n && times[i]! < t + interval) {
          if (times[i]! <= t) first = i;
          if (times[i]! >= t && points[i] !== null) nonNull++;
          i++;
        }
        values.push(nonNull > 0 ? f(points.slice(first, i)) : null);
        t += interval;
      }
      if (alignToFrom) end = t;
      s.tags.summarize = intervalText;
      s.tags.summarizeFunction = func;
      const text = `summarize(${s.name}, "${intervalText}", "${func}"${alignToFrom ? ', true' : ''})`;
      start = Math.trunc(start);
      return copy(s, text, values, { start, end, step: interval });
    });
  },
};
FUNCTIONS.sum = (_name, args, budget) => FUNCTIONS.sumSeries!('sumSeries', args, budget);
FUNCTIONS.avg = (_name, args, budget) => FUNCTIONS.averageSeries!('averageSeries', args, budget);

/** The functions answered, for errors and docs. */
export const RENDER_FUNCTIONS = Object.keys(FUNCTIONS).sort();

/** Applies function `name` to evaluated arguments; throws a StatsdError for an unknown function or bad arguments. */
export function callFunction(name: string, args: RenderValue[], budget: RenderBudget): TimeSeries[] {
  const f = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!f) throw badCall(name, `not a function this daemon answers (${RENDER_FUNCTIONS.join(', ')})`);
  return f(name, args, budget);
}
