// Emitter: per-call cost (counter handles, named and tagged calls) and end-to-end delivery over loopback UDP, ours vs hot-shots 17.
'use strict';

// Three parts, declared to bench/harness.js (each measurement in its own process);
// the contenders and the runs are in bench/emitter-{clients,calls,delivery}.js.
//
// (a) Per-call cost, in calls/s. Every contender sends over a real UDP socket
//     to our daemon (`node dist/cli.js serve`) in another process, which reads
//     and discards the traffic; hot-shots runs buffered (maxBufferSize 1432, no
//     mock), so its cost includes formatting, buffering and the sendmsg of a
//     full packet every ~35 lines. A sample is a run of calls in chunks, with
//     one event-loop turn (setImmediate) after each chunk so queued sends,
//     nextTicks and timers really run inside the timed window (benchmark.js
//     runs synchronously, which would leave hot-shots' sends and our flushes
//     queued until the end). Rate = calls / wall time; ± is the 95% confidence
//     interval of the per-sample rates.
// (b) End to end: the contender calls timing() for a few seconds (flat out, or
//     for one row of ours paced at a fixed rate), then flushes and closes; ours
//     runs with flushInterval 0 so that every call is a line. A fresh daemon in
//     another process (native recvmmsg receiver, 32 MiB SO_RCVBUFFORCE buffer) counts what it accepted (HTTP
//     /stats `metrics`) and the kernel drops on its socket. Delivered rate =
//     lines accepted / (first call .. daemon's socket drained); loss = calls
//     that never became an accepted line.
//
// (c) A flush delivered: N distinct counters recorded, then one flush, to a
//     plain node:dgram receiver in another process that keeps the kernel's
//     default receive buffer (rmem_default), as Node receivers and etsy statsd
//     do. Delivered = lines the receiver counted / N. Ours paced (defaults),
//     ours with `sendWindow: 0` (the whole flush handed to the socket at once,
//     as before pacing) and hot-shots buffered (each call a line, 1432-byte
//     packets sent as they fill).
//
// (a) is an async case per contender with the group's daemon as fixture; (b)
// runs its case around a fresh daemon per run; (c) is a sweep whose every point
// runs around a fresh receiver (the task `receiver`).

const os = require('node:os');

const { quick } = require('./args');
const { PER_CALL, TIMING, measurePerCall } = require('./emitter-calls');
const { startDaemon } = require('./emitter-clients');
const { E2E_KEYS, E2E_PACE, e2eRun, FLUSH_KEYS, FLUSH_CONTENDERS, flushRun, receiver, startReceiver, settledCount } = require('./emitter-delivery');
const { rate: fmt } = require('./format');
const { runSuite } = require('./harness');
const { summarize } = require('./stats');

const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const E2E_SECONDS = quick ? 0.8 : 2;
const E2E_RUNS = quick ? 1 : 3;

// (a) The group's daemon, shared by its cases.
async function daemonFixture() {
  const d = await startDaemon();
  return { params: { port: d.udpPort, http: d.httpPort }, stop: d.stop };
}

const perCallGroup = (g) => ({
  ...g,
  fixture: daemonFixture,
  cases: Object.fromEntries(
    Object.entries(g.cases).map(([id, c]) => [
      id,
      {
        name: c.name,
        note: c.note,
        run: (context, p) => measurePerCall(g.name, id, p.port, p.http),
        progress: (r) => `${fmt(r.rate)} calls/s ±${r.rme.toFixed(1)}% (${r.samples} samples)`,
      },
    ]),
  ),
});

// (b) E2E_RUNS runs, each to a fresh daemon; the row is their mean, ± over the runs.
async function e2eRuns(measure) {
  const runs = [];
  for (let run = 0; run < E2E_RUNS; run++) {
    const d = await startDaemon();
    try {
      const r = await measure({ port: d.udpPort, http: d.httpPort });
      r.rate = r.delivered / r.seconds;
      r.loss = ((r.calls - r.delivered) / r.calls) * 100;
      r.progress =
        `${fmt(r.calls)} calls, ${fmt(r.delivered)} delivered in ${r.seconds.toFixed(2)} s = ${fmt(r.rate)} lines/s, ` +
        `loss ${r.loss.toFixed(3)}%, kernel drops ${r.kernelDrops}, sender CPU ${(r.cpu * 100).toFixed(0)}%`;
      runs.push(r);
    } finally {
      await d.stop();
    }
  }
  const s = summarize(runs.map((r) => r.rate));
  const sum = (k) => runs.reduce((a, r) => a + r[k], 0);
  const calls = sum('calls');
  const delivered = sum('delivered');
  const loss = ((calls - delivered) / calls) * 100;
  const cpu = (sum('cpu') / runs.length) * 100;
  let note =
    `${fmt(calls / sum('callSeconds'))} calls/s offered, loss ${loss.toFixed(3)}% ` +
    `(${calls - delivered} of ${calls}; kernel drops at the receiver ${sum('kernelDrops')} datagrams), sender CPU ${cpu.toFixed(0)}%`;
  const sent = runs.every((r) => r.sent !== undefined) ? sum('sent') : undefined;
  if (sent !== undefined && sent !== calls) note += `; SAMPLED: the emitter sent ${sent} lines for ${calls} calls`;
  return { rate: s.mean, rme: s.rme, samples: s.samples, note, runs, calls, delivered };
}

const E2E = {
  ours: `ours, \`emitter.timing(name, ms)\` over ${E2E_KEYS} keys, flushInterval 0 (a flush per event-loop turn)`,
  'ours-paced': `ours, as the first row but paced at ${E2E_PACE / 1e6}M calls/s (10k calls every 4 ms)`,
  'hot-shots': `hot-shots 17, \`client.timing(name, ms)\` over ${E2E_KEYS} keys, buffered (maxBufferSize 1432)`,
};

/** The delivery table: the e2e runs' share of calls delivered. */
function deliveryGroup(e2e) {
  return {
    name: 'delivery',
    title: 'End to end: share of calls that arrived as accepted lines',
    unit: '% delivered',
    baseline: 'ours',
    cases: e2e.cases.map(({ id, name, result: r }) => {
      const d = summarize(r.runs.map((x) => (x.delivered / x.calls) * 100));
      return { id, name, note: `${r.calls - r.delivered} of ${r.calls} calls lost`, rate: d.mean, rme: d.rme, samples: d.samples };
    }),
  };
}

// (c) One point: a fresh receiver, the flush in its own process, then the receiver's count.
async function flushPoint(measure, params) {
  const r = await startReceiver();
  try {
    const keys = params.x;
    const run = await measure({ port: r.port, x: keys });
    const delivered = await settledCount(r);
    const share = (delivered / keys) * 100;
    return {
      y: share,
      text: `${share.toFixed(1)}% (${delivered.toLocaleString('en')} of ${keys.toLocaleString('en')}; ${(run.seconds * 1000).toFixed(0)} ms)`,
      progress: `${delivered} of ${keys} delivered (${share.toFixed(1)}%) in ${(run.seconds * 1000).toFixed(0)} ms, receive buffer ${r.buffer}`,
    };
  } finally {
    await r.stop();
  }
}

runSuite({
  suite: 'emitter',
  title: 'Emitter: per-call cost and end-to-end delivery',
  description:
    `per call: one name (and 2 tags where shown) in a tight loop, ${TIMING.seconds} s per case after ${TIMING.warmup} s warm-up; ` +
    `end to end: timing() flat out over ${E2E_KEYS} keys for ${E2E_SECONDS} s, ${E2E_RUNS} run(s) per contender, ` +
    'to a fresh `statsd-native serve` daemon in another process',
  peers: ['hot-shots'],
  groups: [
    ...PER_CALL.map(perCallGroup),
    {
      name: 'e2e',
      title: 'End to end: timings delivered to a daemon in another process (loopback UDP)',
      unit: 'lines/s',
      baseline: 'ours',
      cases: Object.fromEntries(
        Object.entries(E2E).map(([id, name]) => [
          id,
          { name, run: (context, p) => e2eRun(id, p.port, p.http, E2E_SECONDS), around: e2eRuns, progress: (r) => r.runs.map((x, i) => `run ${i + 1}: ${x.progress}`).join('; ') },
        ]),
      ),
    },
    {
      name: 'flush',
      title: 'A flush of N distinct counters to a node:dgram receiver with the default receive buffer: % delivered',
      kind: 'series',
      unit: '% delivered',
      better: 'higher',
      x: { label: 'distinct keys in the flush', unit: 'keys', log: true },
      y: { label: '% of lines delivered', log: false },
      series: Object.fromEntries(
        Object.entries(FLUSH_CONTENDERS).map(([id, name]) => [
          id,
          { name, ours: id.startsWith('ours'), xs: FLUSH_KEYS, run: (context, p) => flushRun(id, p.port, p.x), around: flushPoint, progress: (r) => r.progress },
        ]),
      ),
    },
  ],
  report: (m) => ({ groups: [m.increment, m.timing, m.e2e, deliveryGroup(m.e2e), m.flush] }),
  targets: [
    { text: 'counter handle updates >= 100M/s', case: 'increment/ours-handle', min: 100e6 },
    { text: 'named increments >= 10M/s', case: 'increment/ours-named', min: 10e6 },
    { text: 'named timings (2 tags) >= 10M/s', case: 'timing/ours-named', min: 10e6 },
    { text: '>= 2M metrics/s delivered end to end (flat out)', case: 'e2e/ours', min: 2e6 },
    { text: `>= 2M metrics/s delivered at a paced ${E2E_PACE / 1e6}M calls/s`, case: 'e2e/ours-paced', min: 2e6 },
    { text: `no loss at a paced ${E2E_PACE / 1e6}M calls/s (100% delivered)`, case: 'delivery/ours-paced', min: 100 },
    { text: 'no loss flat out (100% delivered)', case: 'delivery/ours', min: 100 },
    { text: '>= 10x hot-shots lines/s delivered end to end, flat out', case: 'e2e/ours', over: 'e2e/hot-shots', min: 10 },
    { text: 'StatsD drop-in increment costs <= 1/5 of hot-shots per call', case: 'increment/ours-statsd', over: 'increment/hot-shots', min: 5 },
    { text: 'StatsD drop-in timing (2 tags) costs <= 1/5 of hot-shots per call', case: 'timing/ours-statsd', over: 'timing/hot-shots', min: 5 },
  ],
  summary: [
    {
      text: 'emitter, timing call with 2 tags (defaults: aggregated, sampled past 1000/key/interval)',
      case: 'timing/ours-named',
      over: 'timing/hot-shots',
      peer: 'hot-shots {version}, buffered',
      package: 'hot-shots',
    },
    {
      text: 'emitter, timing call with 2 tags, every call sent as a line',
      case: 'timing/ours-every-line',
      over: 'timing/hot-shots',
      peer: 'hot-shots {version}, buffered',
      package: 'hot-shots',
    },
  ],
  notes: [
    'Per call: hot-shots runs buffered (maxBufferSize 1432) with a real UDP socket, not its mock mode; every contender sends to a `statsd-native serve` daemon in another process on loopback. Rates are calls/s (wall time including one event-loop turn per chunk of calls, so sends, flushes and timers run inside the window); ± is the 95% interval over ~20 ms samples.',
    'Our emitter aggregates: increments become one line per key and interval, timings one line per call up to maxSamplesPerKey per interval, then a uniform sample with a matching |@rate. hot-shots sends every call as a line (or with `aggregation: true` aggregates counters itself). The "every call sent" row puts ours on the same footing as hot-shots for timings.',
    `End to end: the sender process calls timing() flat out in chunks of 10k (one event-loop turn each; the paced row waits for its schedule instead), then close(); UDP has no backpressure, so a flat-out sender that outruns the receiver loses datagrams at the receiver's socket; our emitter runs with flushInterval 0 (one flush per event-loop turn, i.e. per 10k calls, 625 per key, under the default cap of 1000), so no call is sampled away (checked: lines the emitter sent = calls, else the note says SAMPLED). With a longer interval a flat-out loop exceeds any per-key cap between flushes (it makes ~25M untagged timing calls/s when not flushing) and the emitter samples by design, so lines would no longer equal calls. hot-shots sends each 1432-byte buffer as it fills. The receiver is our daemon (native recvmmsg thread, 32 MiB receive buffer set with SO_RCVBUFFORCE as root) in a separate process, fresh per run; delivered = its accepted line count (HTTP /stats metrics), kernel drops from /proc/net/udp. Rate = delivered / (first call .. receiver socket drained).`,
    `The machine has ${os.cpus().length} cores: sender, receiver thread and the daemon's flush share them, and other jobs may be running (1-minute load average ${LOAD.toFixed(2)} at the start).`,
  ],
  tasks: { receiver },
});
