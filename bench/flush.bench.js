// Flush time: 100k counters + 10k timers x 100 samples + 100k gauges to Graphite text, ours vs etsy statsd's process_metrics.
'use strict';

// Each flush needs freshly aggregated state, so every case is timed (see
// bench/harness.js): process.hrtime around the flush alone (benchmark.js cannot
// exclude the re-ingest between runs), the median over the runs.

const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const net = require('node:net');

const { Aggregator } = require('../dist');
const processMetrics = require('statsd/lib/process_metrics').process_metrics;

const { quick } = require('./args');
const { runSuite } = require('./harness');

const COUNTERS = 100_000;
const GAUGES = 100_000;
const TIMERS = 10_000;
const SAMPLES = 100;
const RUNS = quick ? 3 : 9;

// Deterministic sample values.
function value(i, j) {
  return ((i * 7919 + j * 104729) % 100_000) / 100;
}

function packets() {
  const out = [];
  let lines = [];
  const push = (line) => {
    lines.push(line);
    if (lines.length === 35) {
      out.push(Buffer.from(lines.join('\n')));
      lines = [];
    }
  };
  for (let i = 0; i < COUNTERS; i++) push(`app.counter.${i}:${(i % 17) + 1}|c`);
  for (let i = 0; i < GAUGES; i++) push(`app.gauge.${i}:${i % 1000}|g`);
  for (let i = 0; i < TIMERS; i++) for (let j = 0; j < SAMPLES; j++) push(`app.timer.${i}:${value(i, j)}|ms`);
  if (lines.length) out.push(Buffer.from(lines.join('\n')));
  return out;
}

function etsyMetrics() {
  const counters = {};
  const gauges = {};
  const timers = {};
  const timerCounters = {};
  for (let i = 0; i < COUNTERS; i++) counters[`app.counter.${i}`] = (i % 17) + 1;
  for (let i = 0; i < GAUGES; i++) gauges[`app.gauge.${i}`] = i % 1000;
  for (let i = 0; i < TIMERS; i++) {
    const v = new Array(SAMPLES);
    for (let j = 0; j < SAMPLES; j++) v[j] = value(i, j);
    timers[`app.timer.${i}`] = v;
    timerCounters[`app.timer.${i}`] = SAMPLES;
  }
  return { counters, gauges, timers, timer_counters: timerCounters, sets: {}, counter_rates: {}, timer_data: {}, pctThreshold: [90], histogram: undefined };
}

// statsd 0.9's real graphite backend (backends/graphite.js): it builds a Metric
// object per datapoint, then formats the text once its TCP connection opens.
// Its socket is replaced by one that "connects" at once and discards the text,
// so the timing is its CPU work, not the network.
const graphiteEvents = new EventEmitter();
let written = '';

function initGraphite() {
  net.createConnection = () => {
    const socket = new EventEmitter();
    socket.write = (text) => {
      written = text;
      return true;
    };
    socket.end = () => {};
    setImmediate(() => socket.emit('connect'));
    return socket;
  };
  require('statsd/backends/graphite').init(
    0,
    { graphiteHost: '127.0.0.1', flushInterval: 10000, graphite: {} },
    graphiteEvents,
    { log: () => {} },
  );
}

function etsyGraphite(ts, metrics) {
  return new Promise((resolve) => {
    written = '';
    graphiteEvents.emit('flush', ts, metrics);
    const poll = () => (written ? resolve(written) : setImmediate(poll));
    poll();
  });
}

function timeOurs(convention, data) {
  const agg = new Aggregator({ convention, flushInterval: 10000 });
  const seconds = [];
  let metrics = 0;
  for (let run = 0; run < RUNS + 1; run++) {
    for (const p of data) agg.ingest(p);
    const t0 = process.hrtime.bigint();
    const r = agg.flush({ timestamp: 1_700_000_000 + run });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (run > 0) seconds.push(s); // the first flush also warms up
    metrics = r.metrics;
    assert.ok(r.carbon.length > 0);
  }
  return { seconds, metrics };
}

async function timeEtsy() {
  initGraphite();
  const seconds = [];
  let metrics = 0;
  for (let run = 0; run < RUNS + 1; run++) {
    const m = etsyMetrics();
    const t0 = process.hrtime.bigint();
    let done;
    processMetrics(m, [], 10000, 1_700_000_000, (result) => {
      done = result;
    });
    const text = await etsyGraphite(1_700_000_000, done);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (run > 0) seconds.push(s);
    metrics = text.split('\n').length - 1;
  }
  return { seconds, metrics };
}

const ms = (r) => (r.median * 1e3).toFixed(1);

/** A flush case: `time` gives the seconds of each flush; rate = 1 / median = flushes/s. */
const flushCase = (name, time) => ({
  name,
  time,
  note: (r) => `${ms(r)} ms per flush, ${r.metrics} datapoints`,
  progress: (r) => `${ms(r)} ms (${r.metrics} datapoints)`,
});

runSuite({
  suite: 'flush',
  title: 'Flush: 100k counters + 10k timers x 100 samples + 100k gauges',
  description: `${COUNTERS} counters, ${GAUGES} gauges, ${TIMERS} timers with ${SAMPLES} samples each; median of ${RUNS} flushes`,
  peers: ['statsd'],
  setup: () => ({ data: packets() }),
  groups: [
    {
      name: 'flush',
      title: 'Flush to Graphite plaintext',
      unit: 'flushes/s',
      baseline: 'native',
      cases: {
        native: flushCase('ours, native flush to Graphite text (brubeck convention)', (c) => timeOurs('brubeck', c.data)),
        'native-etsy': flushCase('ours, native flush to Graphite text (etsy convention)', (c) => timeOurs('etsy', c.data)),
        etsy: flushCase('etsy statsd 0.9 process_metrics (the real module) + graphite text', timeEtsy),
      },
    },
  ],
  targets: [
    { text: 'flush <= 100 ms (>= 10 flushes/s)', case: 'flush/native', min: 10 },
    { text: '>= 25x faster than etsy statsd', case: 'flush/native', over: 'flush/etsy', min: 25 },
  ],
  summary: [
    {
      text: 'flush 100k counters + 100k gauges + 10k timers',
      case: 'flush/native',
      over: 'flush/etsy',
      peer: 'etsy statsd {version}',
      package: 'statsd',
    },
  ],
  notes: [
    'Timed around the flush call alone (hrtime), after ingesting the same data again; median of the runs. ± is half the min-max spread.',
    'etsy: the real lib/process_metrics.js and backends/graphite.js from npm statsd 0.9.0 on the same data; the backend\'s socket is replaced by one that discards the text, so network time is excluded on both sides.',
  ],
});
