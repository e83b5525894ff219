// graphite-web's TimeSeries (render/datalib.py) as the render API uses it:
// values on a regular grid [start, end) every `step` seconds, null for no
// value; and its consolidation (maxDataPoints, normalize) by averaging runs
// of `valuesPerPoint` values.

export interface TimeSeries {
  /** What the JSON calls `target`: the path, or the function text around it. */
  name: string;
  /** The expression that made the series (aggregate functions name themselves from it). */
  pathExpression: string;
  /** Unix seconds: the first point's time; `end` is past the last. */
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
  tags: Record<string, string | number>;
  /** Values averaged into each point when read (1: none). */
  valuesPerPoint: number;
}

export function makeSeries(name: string, start: number, end: number, step: number, values: (number | null)[]): TimeSeries {
  return { name, pathExpression: name, start, end, step, values, tags: { name }, valuesPerPoint: 1 };
}

/** The values as read: runs of valuesPerPoint averaged (nulls left out; all null gives null), as TimeSeries.__iter__. */
export function consolidated(series: TimeSeries): (number | null)[] {
  const n = series.valuesPerPoint;
  if (n <= 1) return series.values;
  const out: (number | null)[] = [];
  for (let i = 0; i < series.values.length; i += n) {
    let sum = 0;
    let count = 0;
    for (let j = i; j < Math.min(i + n, series.values.length); j++) {
      const v = series.values[j];
      if (v !== null && v !== undefined) {
        sum += v;
        count++;
      }
    }
    out.push(count > 0 ? sum / count : null);
  }
  return out;
}

/** [value, timestamp] pairs, as TimeSeries.datapoints(): timestamps every step × valuesPerPoint from start. */
export function datapoints(series: TimeSeries): [number | null, number][] {
  const values = consolidated(series);
  const step = series.step * series.valuesPerPoint;
  const out: [number | null, number][] = [];
  for (let i = 0, t = series.start; i < values.length && t <= series.end; i++, t += step) out.push([values[i]!, t]);
  return out;
}

/**
 * graphite-web's maxDataPoints for JSON (render/views.py): when the request's
 * time range holds more points than asked, runs of values are averaged and
 * the start nudged so the runs line up between calls.
 */
export function applyMaxDataPoints(series: TimeSeries, maxDataPoints: number, timeRange: number): void {
  if (maxDataPoints === 1) {
    series.valuesPerPoint = Math.max(1, series.values.length);
    return;
  }
  const points = timeRange / series.step;
  if (!(maxDataPoints < points)) return;
  const valuesPerPoint = Math.ceil(points / maxDataPoints);
  const secondsPerPoint = valuesPerPoint * series.step;
  const nudge = secondsPerPoint + (series.start % series.step) - (series.start % secondsPerPoint);
  series.start += nudge;
  const lose = Math.trunc(nudge / series.step);
  if (lose > 1) series.values = series.values.slice(lose - 1);
  series.valuesPerPoint = valuesPerPoint;
}
