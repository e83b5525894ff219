// Public API: re-exports only.
export { parse, parseLine, MetricBatch } from './codec';
export type { ParseOptions, ParseErrors } from './codec';
export { pack, formatLine } from './serializer';
export type { PackOptions, Packets } from './serializer';
export { parseLineReference } from './reference';
export type { ReferenceResult } from './reference';
export { StatsdError, PARSE_REASONS } from './errors';
export type { ParseReason, StatsdErrorCode } from './errors';
export { METRIC_TYPES } from './metric';
export type { Metric, MetricInput, MetricType, Dialect } from './metric';
export { Aggregator } from './aggregator';
export type { AggregatorOptions, AggregatorStats, Convention, FlushResult, KeySnapshot } from './aggregator';
export { Emitter, CounterHandle, GaugeHandle, TimerHandle } from './emitter';
export type { EmitterOptions, EmitterStats } from './emitter';
export { parseEndpoint, resolveEndpoint } from './endpoint';
export type { Endpoint, TransportKind } from './endpoint';
