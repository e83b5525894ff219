// The Metric shape shared by the parser, the serializer and the reference parser.

/** Wire types; index = native MetricType (native/codec.h). */
export const METRIC_TYPES = ['c', 'C', 'g', 'ms', 'h', 's', 'd'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export const METRIC_TYPE_CODE: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(METRIC_TYPES.map((t, i) => [t, i])),
);

/** One sample of a statsd line; a multi-value line gives one Metric per value. */
export interface Metric {
  name: string;
  type: MetricType;
  /** A number, or the member text of a set (`s`). */
  value: number | string;
  /** The value carried an explicit sign: for gauges, a relative change. */
  relative: boolean;
  /** In (0, 1]; 1 when the line had no `|@rate`. */
  sampleRate: number;
  /** DogStatsD tags as written (`env:prod`), in order; [] when none. */
  tags: string[];
  /** Unix seconds from `|T`, when present. */
  timestamp?: number;
}

/** What the serializer accepts: a Metric whose optional parts may be left out. */
export interface MetricInput {
  name: string;
  type: MetricType;
  value: number | string;
  relative?: boolean;
  sampleRate?: number;
  tags?: readonly string[];
  timestamp?: number;
}

export type Dialect = 'full' | 'brubeck';
export const DIALECTS: readonly Dialect[] = ['full', 'brubeck'];
