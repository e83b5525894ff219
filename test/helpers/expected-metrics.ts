// What parsing the canonical text of a metric must give back (DESIGN §4), and
// a key that tells parsed metrics apart bit for bit: shared by the property
// tests of formatLine, pack and parse.
import type { Metric, MetricInput } from '../../src';

/** The Metrics that parsing the formatted text of `m` must give, in order. */
export function expectedParse(m: MetricInput): Metric[] {
  const base = {
    name: m.name,
    type: m.type,
    sampleRate: m.sampleRate ?? 1,
    tags: m.tags ? [...m.tags] : [],
    ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
  };
  if (typeof m.value === 'string') return [{ ...base, value: m.value, relative: false }];
  const value = m.value === 0 ? 0 : m.value; // -0 prints as "0"
  if (m.type === 'g') {
    if (m.relative === true) return [{ ...base, value, relative: true }];
    // a negative absolute gauge goes out as "0" then "-N"
    if (value < 0) return [{ ...base, value: 0, relative: false }, { ...base, value, relative: true }];
    return [{ ...base, value, relative: false }];
  }
  // other types: `relative` only says the text carried a sign
  return [{ ...base, value, relative: value < 0 }];
}

/** A string that tells metrics apart bit for bit (value by Object.is). */
export function metricKey(m: Metric): string {
  const value = typeof m.value === 'number' ? (Object.is(m.value, -0) ? 'n:-0' : `n:${m.value}`) : `s:${m.value}`;
  return JSON.stringify([m.name, m.type, value, m.relative, m.sampleRate, m.tags, m.timestamp ?? null]);
}
