// The daemon's own counters (ServerStats, the exposition's) as statsd_native_*
// metrics: a fixed set of families, about 70 samples plus 11 a sink.
import type { ServerStats } from '../server';
import type { SeriesTableStats } from './series-table';
import { helpText, labelValue, sampleValue } from './text-format';

type Type = 'counter' | 'gauge';
/** A family's samples: one value, or [labels text, value] pairs. */
type Samples = number | [string, number][];

/** What the exposition adds about itself. */
export interface ExpositionStats extends SeriesTableStats {
  maxSeries: number;
}

/** Appends the daemon's metrics to `out` (0.0.4 text lines). `info`: labels of statsd_native_info. */
export function renderDaemonMetrics(out: string[], stats: ServerStats, exposition: ExpositionStats, info: Record<string, string>): void {
  const family = (name: string, type: Type, help: string, samples: Samples) => {
    const full = `statsd_native_${name}`;
    out.push(`# HELP ${full} ${helpText(help)}`, `# TYPE ${full} ${type}`);
    if (typeof samples === 'number') out.push(`${full} ${sampleValue(samples)}`);
    else for (const [labels, value] of samples) out.push(`${full}{${labels}} ${sampleValue(value)}`);
  };
  const label = (pairs: Record<string, string>) =>
    Object.entries(pairs).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',');

  family('info', 'gauge', 'The daemon: its version and convention (always 1).', [[label(info), 1]]);

  const a = stats.aggregator;
  family('packets_total', 'counter', 'Datagrams and TCP chunks parsed.', a.packets);
  family('lines_total', 'counter', 'Good statsd lines aggregated.', a.lines);
  family('samples_total', 'counter', 'Values aggregated (a multi-value line gives several).', a.samples);
  family('errors_total', 'counter', 'Bad lines, by reason.', Object.entries(a.byReason).map(([reason, n]) => [label({ reason }), n]));
  family('keys', 'gauge', 'Keys held by the aggregator.', a.keys);
  family('key_bytes', 'gauge', 'Bytes of key names held (bounded by maxKeyBytes).', a.keyBytes);
  family('keys_dropped_total', 'counter', 'Samples refused because maxKeys or maxKeyBytes was reached.', a.keysDropped);
  family('keys_expired_total', 'counter', 'Keys freed after `expire` seconds idle.', a.keysExpired);
  family('members_dropped_total', 'counter', 'Set members refused (maxSetMembers or maxIntervalMembers).', a.membersDropped);
  family('samples_not_stored_total', 'counter', 'Timer samples counted but not stored for percentiles (maxIntervalSamples).', a.samplesNotStored);
  family('nonfinite_dropped_total', 'counter', 'Datapoints not written because their value was NaN or infinite.', a.nonfiniteDropped);
  family('flushes_total', 'counter', 'Flushes.', a.flushes);
  family('datapoints_flushed_total', 'counter', 'Datapoints in all flushes.', stats.datapointsFlushed);

  const u = stats.udp;
  family('udp_datagrams_total', 'counter', 'Datagrams received (UDP and unix).', u.datagrams);
  family('udp_bytes_total', 'counter', 'Datagram bytes received.', u.bytes);
  family('udp_kernel_drops_total', 'counter', 'Datagrams the kernel dropped: the receive buffer was full.', u.kernelDrops);
  family('udp_receive_errors_total', 'counter', 'Failed datagram reads.', u.receiveErrors);
  family('udp_truncated_total', 'counter', 'Datagrams longer than the read buffer, cut.', u.truncated);
  family('udp_held_while_busy_total', 'counter', 'Datagrams read and held while a flush held the aggregator.', u.heldWhileBusy);
  family('udp_receive_buffer_bytes', 'gauge', 'SO_RCVBUF of the UDP socket as the kernel reports it.', u.receiveBuffer);

  const t = stats.tcp;
  family('tcp_connections', 'gauge', 'TCP input connections open.', t.connections);
  family('tcp_pending_bytes', 'gauge', 'Bytes of unfinished lines held for open TCP connections.', t.pendingBytes);
  family('tcp_accepted_total', 'counter', 'TCP input connections accepted.', t.accepted);
  family('tcp_refused_total', 'counter', 'TCP input connections closed at once: maxConnections reached.', t.refused);
  family('tcp_resets_total', 'counter', 'TCP input connections reset by the sender.', t.resets);
  family('tcp_truncated_lines_total', 'counter', "Last lines of a TCP connection without their newline, dropped.", t.truncatedLines);
  family('tcp_overlong_lines_total', 'counter', 'TCP lines longer than maxLineBytes, dropped.', t.overlongLines);
  family('tcp_accept_errors_total', 'counter', 'TCP accept failures.', t.acceptErrors);

  const h = stats.http;
  family('http_connections', 'gauge', 'HTTP connections open.', h.connections);
  family('http_requests_total', 'counter', 'HTTP requests.', h.requests);
  family('http_refused_total', 'counter', 'HTTP connections closed at once: maxConnections reached.', h.refused);
  family('http_timeouts_total', 'counter', 'HTTP connections closed for being idle or slow.', h.timeouts);
  family('http_accept_errors_total', 'counter', 'HTTP accept failures.', h.acceptErrors);

  // Two sinks may share a name: the later ones are told apart as name#2 …
  const seen = new Map<string, number>();
  const sinks = stats.sinks.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return { labels: label({ sink: n === 1 ? s.name : `${s.name}#${n}`, type: s.type }), s };
  });
  const perSink = (name: string, type: Type, help: string, value: (s: ServerStats['sinks'][number]) => number) =>
    family(`sink_${name}`, type, help, sinks.map(({ labels, s }) => [labels, value(s)]));
  if (sinks.length > 0) {
    perSink('connected', 'gauge', 'Whether the sink can deliver now (1) or not (0).', (s) => (s.connected ? 1 : 0));
    perSink('flushes_sent_total', 'counter', 'Flushes written whole.', (s) => s.flushesSent);
    perSink('metrics_sent_total', 'counter', 'Datapoints in the flushes written.', (s) => s.metricsSent);
    perSink('bytes_sent_total', 'counter', 'Bytes written.', (s) => s.bytesSent);
    perSink('flushes_replayed_total', 'counter', 'Written flushes queued again after the connection broke.', (s) => s.flushesReplayed);
    perSink('replays_dropped_total', 'counter', 'Replayed flushes given up on.', (s) => s.replaysDropped);
    perSink('flushes_dropped_total', 'counter', 'Flushes given up on (backlog full, stream broken, shutdown).', (s) => s.flushesDropped);
    perSink('metrics_dropped_total', 'counter', 'Datapoints in the flushes given up on.', (s) => s.metricsDropped);
    perSink('metrics_poisoned_total', 'counter', 'Datapoints given up on because the receiver cannot take them.', (s) => s.metricsPoisoned ?? 0);
    perSink('backlog', 'gauge', 'Flushes waiting to be delivered.', (s) => s.backlog);
    perSink('backlog_bytes', 'gauge', 'Bytes of the flushes waiting to be delivered.', (s) => s.backlogBytes ?? 0);
  }

  const e = exposition;
  family('prometheus_series', 'gauge', 'Samples of statsd metrics held for this exposition.', e.samples);
  family('prometheus_max_series', 'gauge', 'Most samples of statsd metrics an exposition holds (prometheus.maxSeries).', e.maxSeries);
  family('prometheus_series_dropped_total', 'counter', 'Samples of statsd metrics left out of an exposition, summed over flushes, by reason: limit (maxSeries), duplicate (name and labels, or name as another type, taken by another key), unresolved (a carbon line no live key wrote).', [
    [label({ reason: 'limit' }), e.dropped.limit],
    [label({ reason: 'duplicate' }), e.dropped.duplicate],
    [label({ reason: 'unresolved' }), e.dropped.unresolved],
  ]);
  family('prometheus_labels_dropped_total', 'counter', 'Tags left out of the labels of the series exposed: no value, an empty name, or a name another tag took.', e.labelsDropped);
  family('prometheus_flushes_total', 'counter', 'Flushes read into the exposition (since its first scrape).', e.flushes);
}
