// The emitter suite's per-call cases: counter increments and timings, ours vs hot-shots 17, each sent over UDP to a daemon in another process.
'use strict';

// How they are measured is at the top of bench/emitter.bench.js, (a).

const { quick } = require('./args');
const { hotShots, oursEmitter, oursStatsD, waitDrained } = require('./emitter-clients');
const { getJSON, hr, turn } = require('./processes');
const { summarize } = require('./stats');

const TAGS = ['env:prod', 'region:eu-west-1'];
const TIMING = {
  seconds: quick ? 0.25 : 2,
  warmup: quick ? 0.05 : 0.4,
  sampleMs: 20,
};

// Each case: prepare(port) → { op(n): n calls, chunk, close(), errors?() }.
// The loops are written out per case on purpose: the call measured sits
// in the loop body itself. A shared helper taking the call as a closure
// would time a closure call per iteration as well (tens of ns against the
// handle's ~3 ns), and one megamorphic call site for every case.
const PER_CALL = [
  {
    name: 'increment',
    title: 'Counter increments, per call (UDP to a daemon in another process)',
    unit: 'calls/s',
    baseline: 'ours-named',
    cases: {
      'ours-handle': {
        name: "ours, `emitter.counter('app.requests').add()` (handle)",
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          const h = emitter.counter('app.requests');
          return {
            chunk: 1_000_000,
            op: (n) => {
              for (let i = 0; i < n; i++) h.add();
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-named': {
        name: "ours, `emitter.increment('app.requests')`",
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          return {
            chunk: 200_000,
            op: (n) => {
              for (let i = 0; i < n; i++) emitter.increment('app.requests');
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-tagged': {
        name: "ours, `emitter.increment('app.requests', 1, 1, tags)` with 2 tags",
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          return {
            chunk: 20_000,
            op: (n) => {
              for (let i = 0; i < n; i++) emitter.increment('app.requests', 1, 1, TAGS);
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-statsd': {
        name: "ours, the hot-shots drop-in: `new StatsD(…).increment('app.requests')`, buffered (maxBufferSize 1432)",
        note: 'sends every call as a line, as hot-shots',
        prepare: async (port) => {
          const sd = oursStatsD(port);
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) sd.client.increment('app.requests');
            },
            close: sd.close,
            errors: () => sd.errors,
          };
        },
      },
      'hot-shots': {
        name: "hot-shots 17, `client.increment('app.requests')`, buffered (maxBufferSize 1432)",
        note: 'sends every call as a line',
        prepare: async (port) => {
          const hs = hotShots(port);
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) hs.client.increment('app.requests');
            },
            close: hs.close,
            errors: () => hs.errors,
          };
        },
      },
      'hot-shots-agg': {
        name: 'hot-shots 17, `client.increment(...)`, buffered, `aggregation: true`',
        note: "hot-shots' own client-side aggregation",
        prepare: async (port) => {
          const hs = hotShots(port, { aggregation: true });
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) hs.client.increment('app.requests');
            },
            close: hs.close,
            errors: () => hs.errors,
          };
        },
      },
    },
  },
  {
    name: 'timing',
    title: 'Timings with 2 tags, per call (UDP to a daemon in another process)',
    unit: 'calls/s',
    baseline: 'ours-named',
    cases: {
      'ours-named': {
        name: "ours, `emitter.timing('app.latency', ms, 1, tags)`, defaults",
        note: 'flushInterval 1000, maxSamplesPerKey 1000: past 1000 calls per key and second, a uniform sample with |@rate',
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          return {
            chunk: 20_000,
            op: (n) => {
              for (let i = 0; i < n; i++) emitter.timing('app.latency', i & 1023, 1, TAGS);
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-untagged': {
        name: "ours, `emitter.timing('app.latency', ms)` without tags, defaults",
        note: 'the same call without tags, to show what the tag lookup costs',
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          return {
            chunk: 200_000,
            op: (n) => {
              for (let i = 0; i < n; i++) emitter.timing('app.latency', i & 1023);
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-handle': {
        name: "ours, `emitter.timer('app.latency', tags).record(ms)` (handle), defaults",
        prepare: async (port) => {
          const emitter = await oursEmitter(port);
          const t = emitter.timer('app.latency', TAGS);
          return {
            chunk: 200_000,
            op: (n) => {
              for (let i = 0; i < n; i++) t.record(i & 1023);
            },
            close: () => emitter.close(),
          };
        },
      },
      'ours-every-line': {
        name: "ours, `emitter.timing('app.latency', ms, 1, tags)`, every call sent",
        note: 'maxSamplesPerKey 131072 and flush() after every 10k calls, so each call is a line on the wire, as with hot-shots',
        prepare: async (port) => {
          const emitter = await oursEmitter(port, { maxSamplesPerKey: 1 << 17 });
          let calls = 0;
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) emitter.timing('app.latency', i & 1023, 1, TAGS);
              calls += n;
              void emitter.flush(); // packs and hands the packets to the socket now
            },
            close: async () => {
              await emitter.close();
              const s = emitter.stats;
              if (s.sent - 1 !== calls) throw new Error(`expected ${calls} lines sent, sent ${s.sent - 1}`);
            },
          };
        },
      },
      'ours-statsd': {
        name: "ours, the hot-shots drop-in: `new StatsD(…).timing('app.latency', ms, tags)`, buffered (maxBufferSize 1432)",
        note: 'sends every call as a line, as hot-shots',
        prepare: async (port) => {
          const sd = oursStatsD(port);
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) sd.client.timing('app.latency', i & 1023, TAGS);
            },
            close: sd.close,
            errors: () => sd.errors,
          };
        },
      },
      'hot-shots': {
        name: "hot-shots 17, `client.timing('app.latency', ms, tags)`, buffered (maxBufferSize 1432)",
        prepare: async (port) => {
          const hs = hotShots(port);
          return {
            chunk: 10_000,
            op: (n) => {
              for (let i = 0; i < n; i++) hs.client.timing('app.latency', i & 1023, TAGS);
            },
            close: hs.close,
            errors: () => hs.errors,
          };
        },
      },
    },
  },
];

/** One per-call case in this process, against the daemon at `port` (UDP) and `httpPort` (its /stats). */
async function measurePerCall(groupName, caseId, port, httpPort) {
  const c = PER_CALL.find((g) => g.name === groupName)?.cases[caseId];
  if (c === undefined) throw new Error(`no case ${groupName}/${caseId}`);
  const before = (await getJSON(httpPort, '/stats')).metrics;
  const bench = await c.prepare(port);
  const { chunk, op } = bench;
  const run = async (seconds, rates) => {
    const end = hr() + seconds;
    while (hr() < end) {
      const t0 = hr();
      let calls = 0;
      let t1;
      do {
        op(chunk);
        calls += chunk;
        await turn();
        t1 = hr();
      } while (t1 - t0 < TIMING.sampleMs / 1000);
      if (rates) rates.push(calls / (t1 - t0));
    }
  };
  await run(TIMING.warmup);
  const rates = [];
  await run(TIMING.seconds, rates);
  await bench.close();
  const errors = bench.errors ? bench.errors() : 0;
  if (errors > 0) throw new Error(`${caseId}: ${errors} send errors`);
  const after = await waitDrained(port, httpPort, 5000);
  const s = summarize(rates);
  return { id: caseId, rate: s.mean, rme: s.rme, samples: s.samples, received: after.metrics - before };
}

module.exports = { PER_CALL, TIMING, measurePerCall };
