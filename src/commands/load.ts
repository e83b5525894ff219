// `statsd-native load`: a paced statsd mix to any server, and what arrived.
import { parseArgs } from 'node:util';

import { GraphiteCounterSink, type LoadOptions, runLoad, runPrefix } from '../load/load';
import { fractionFlag, integerFlag, usageError } from './flags';

export async function load(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      keys: { type: 'string' },
      mix: { type: 'string' },
      tagged: { type: 'string' },
      sampled: { type: 'string' },
      'packet-bytes': { type: 'string' },
      sink: { type: 'string' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.target) throw usageError('load needs --target HOST:PORT');
  let mix: LoadOptions['mix'];
  if (values.mix) {
    mix = {};
    for (const part of values.mix.split(',')) {
      const [type, weight] = part.split('=');
      if (!['c', 'g', 'ms', 'h', 's', 'd'].includes(type!) || !(Number(weight) >= 0)) throw usageError(`bad --mix entry ${JSON.stringify(part)}`);
      (mix as Record<string, number>)[type!] = Number(weight);
    }
  }
  const sinkPort = integerFlag('sink', values.sink);
  // The sink counts only this run's keys: a server used before may still
  // flush or replay an earlier run's counters.
  const prefix = runPrefix();
  const sink = sinkPort === undefined ? undefined : new GraphiteCounterSink(prefix);
  if (sink) await sink.listen(sinkPort!);
  const tty = process.stderr.isTTY;
  const summary = await runLoad({
    target: values.target,
    rate: integerFlag('rate', values.rate),
    duration: values.duration === undefined ? undefined : Number(values.duration),
    keys: integerFlag('keys', values.keys),
    mix,
    tagged: fractionFlag('tagged', values.tagged),
    sampled: fractionFlag('sampled', values.sampled),
    packetBytes: integerFlag('packet-bytes', values['packet-bytes']),
    prefix,
    onProgress: (p) => {
      const line = `${p.elapsed.toFixed(1)} s  ${Math.round(p.currentRate).toLocaleString('en')} lines/s  sent ${p.linesSent.toLocaleString('en')}  errors ${p.errors}`;
      process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  const result: Record<string, unknown> = { ...summary };
  delete result.currentRate;
  if (sink) {
    // The server reports what it accepted at its next flush: wait for it.
    const waitMs = (values.wait === undefined ? 12 : Number(values.wait)) * 1000;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && sink.report.counted < summary.counterLines) await new Promise((r) => setTimeout(r, 100));
    const latencies = [...sink.report.latencies].sort((a, b) => a - b);
    result.sink = {
      ...sink.report,
      latencies: undefined,
      loss: summary.counterLines ? 1 - sink.report.counted / summary.counterLines : 0,
      medianFlushLatency: latencies.length ? latencies[Math.floor(latencies.length / 2)] : undefined,
    };
    await sink.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const s = result.sink as { counted: number; loss: number; flushes: number; medianFlushLatency?: number } | undefined;
  process.stdout.write(
    `sent ${summary.linesSent.toLocaleString('en')} lines in ${summary.packetsSent.toLocaleString('en')} packets ` +
      `over ${summary.elapsed.toFixed(1)} s: ${Math.round(summary.achievedRate).toLocaleString('en')} lines/s, ${summary.errors} errors\n` +
      (s
        ? `delivered ${s.counted.toLocaleString('en')} of ${summary.counterLines.toLocaleString('en')} counter increments ` +
          `to this run's ${summary.keys.toLocaleString('en')} keys (${summary.prefix}.*), as summed by the server's flushes ` +
          `(loss ${(s.loss * 100).toFixed(3)}%) in ${s.flushes} flushes; median flush latency ${s.medianFlushLatency?.toFixed(2) ?? '-'} s\n`
        : ''),
  );
}
