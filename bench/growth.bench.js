// Cost growth: flush time and memory per key from 1k to 1M keys per metric type, and ingest lines/s against line length, ours (and etsy's ingest logic for the latter).
// Over 300 lines: three sweeps (flush time, memory, ingest by line length)
// share one corpus builder and one report(); split, each would repeat them.
'use strict';

// Async cases (bench/harness.js), each point in a fresh process, timed with
// hrtime; report() draws three sweeps (kind "series") from them:
//
// - flush time per key: one Aggregator (brubeck convention, flushInterval 10 s)
//   holding N keys of one type; every key gets its lines again before each
//   flush; median of several flushes, the first (warm-up) dropped.
// - memory per key: RSS growth of a fresh process after ingest → flush →
//   ingest and a full GC (node --expose-gc), divided by the keys held; below
//   MEMORY_KEYS keys the process holds MEMORY_KEYS / N aggregators of N keys
//   each, so the figure includes each aggregator's fixed cost and is not lost
//   in page and allocator granularity. V8 heap growth is shown beside it.
// - ingest lines/s against line length: ~1 MiB of counter lines of exactly L
//   bytes (1000 keys, names padded), in 1432-byte packets, one call per packet.
//
// Key names are `app.growth.<type>.<7 digits>`; counters `:1|c`; gauges
// `:<i mod 1000>|g`; timers TIMER_SAMPLES samples each; sets SET_MEMBERS members.
//
// Cases: points/<type>-<N> (one flush/memory point, node --expose-gc) and
// ingest/<id> (one ingest contender over every line length). A little over 300
// lines: the inputs, the two measurements and the three sweeps drawn from them
// belong together.

const os = require('node:os');

const { Aggregator } = require('../dist');
const { quick } = require('./args');
const { etsyIngest, etsyState } = require('./etsy-ingest');
const { rate } = require('./format');
const { runSuite } = require('./harness');
const { median } = require('./stats');

const KEY_COUNTS = quick ? [1e3, 1e4] : [1e3, 1e4, 1e5, 1e6];
const MEMORY_KEYS = quick ? 1e5 : 1e6;
const LINE_LENGTHS = quick ? [32, 256] : [16, 32, 64, 128, 256, 512, 1024];
const INGEST_SECONDS = quick ? 0.15 : 1;
const TIMER_SAMPLES = 5;
const SET_MEMBERS = 3;
const PACKET_BYTES = 1432;

const TYPES = {
  counters: { code: 'c', lines: 1, line: (name) => `${name}:1|c` },
  gauges: { code: 'g', lines: 1, line: (name, i) => `${name}:${i % 1000}|g` },
  timers: {
    code: 'ms',
    lines: TIMER_SAMPLES,
    line: (name, i, j) => `${name}:${((i * 7919 + j * 104729) % 100_000) / 100}|ms`,
  },
  sets: { code: 's', lines: SET_MEMBERS, line: (name, i, j) => `${name}:${(i * 31 + j) % 100_000}|s` },
};
const TYPE_NAMES = {
  counters: 'counters',
  gauges: 'gauges',
  timers: `timers, ${TIMER_SAMPLES} samples each`,
  sets: `sets, ${SET_MEMBERS} members each`,
};

const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const STARTED = Date.now();
const hr = () => Number(process.hrtime.bigint()) / 1e9;
const keysText = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const SPAN = `${keysText(KEY_COUNTS[0])} → ${keysText(KEY_COUNTS[KEY_COUNTS.length - 1])} keys`;

/** Lines joined by '\n' into packets of at most PACKET_BYTES (ASCII lines). */
function packLines(each) {
  const packets = [];
  let text = '';
  each((line) => {
    if (text.length > 0 && text.length + 1 + line.length > PACKET_BYTES) {
      packets.push(Buffer.from(text, 'latin1'));
      text = line;
    } else {
      text = text.length > 0 ? `${text}\n${line}` : line;
    }
  });
  if (text.length > 0) packets.push(Buffer.from(text, 'latin1'));
  return packets;
}

/** Every key of `type` once per pass; timers and sets get one pass per sample or member. */
function typePackets(type, n) {
  const t = TYPES[type];
  const names = Array.from({ length: n }, (_, i) => `app.growth.${t.code}.${String(i).padStart(7, '0')}`);
  return packLines((emit) => {
    for (let j = 0; j < t.lines; j++) for (let i = 0; i < n; i++) emit(t.line(names[i], i, j));
  });
}

// --- one point: memory, then flush time, for N keys of one type -------------------

async function point(type, n) {
  const packets = typePackets(type, n);
  const lines = n * TYPES[type].lines;
  const options = { maxKeys: 2 * n + 1000, flushInterval: 10_000 };
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      global.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  await settle();
  const before = process.memoryUsage();
  const copies = Math.max(1, Math.round(MEMORY_KEYS / n));
  let held = [];
  for (let c = 0; c < copies; c++) {
    const agg = new Aggregator(options);
    for (const p of packets) agg.ingest(p);
    agg.flush({ timestamp: 1_700_000_000 });
    for (const p of packets) agg.ingest(p);
    held.push(agg);
  }
  const keys = held[0].stats.keys;
  if (keys < n) throw new Error(`${type} ${n}: the aggregator holds ${keys} keys`);
  await settle();
  const after = process.memoryUsage();
  const perKey = (after.rss - before.rss) / (copies * n);
  const heapPerKey = (after.heapUsed - before.heapUsed) / (copies * n);
  held = undefined;
  await settle();

  const agg = new Aggregator(options);
  const runs = quick ? 3 : n <= 1e3 ? 41 : n <= 1e4 ? 21 : n <= 1e5 ? 9 : 3;
  const times = [];
  let datapoints = 0;
  let bytes = 0;
  for (let r = 0; r <= runs; r++) {
    for (const p of packets) agg.ingest(p);
    const t0 = hr();
    const out = agg.flush({ timestamp: 1_700_000_000 + r });
    const dt = hr() - t0;
    if (r > 0) times.push(dt); // the first flush also warms up
    datapoints = out.metrics;
    bytes = out.carbon.length;
  }
  const errors = agg.stats.errors;
  if (errors > 0) throw new Error(`${type} ${n}: ${errors} bad lines`);
  return { type, n, keys, lines, copies, perKey, heapPerKey, flush: median(times), flushes: times.length, datapoints, bytes };
}

// --- one ingest contender over every line length -------------------------------------

function lengthPackets(length) {
  const filler = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(length / 26));
  const names = Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}.${filler}`.slice(0, length - 4));
  let lines = 0;
  const packets = packLines((emit) => {
    for (let total = 0; total < 1 << 20; total += length + 1) {
      const line = `${names[lines % names.length]}:1|c`;
      if (line.length !== length) throw new Error(`line of ${line.length} bytes, wanted ${length}`);
      emit(line);
      lines++;
    }
  });
  return { packets, lines };
}

const INGEST = {
  native: {
    name: 'ours, native `Aggregator.ingest` per packet',
    ours: true,
    make: () => {
      const agg = new Aggregator({ flushInterval: 10_000 });
      return (packets) => {
        for (let i = 0; i < packets.length; i++) agg.ingest(packets[i]);
      };
    },
  },
  etsy: {
    name: 'etsy statsd 0.9 handlePacket logic (JS, transcribed)',
    make: () => {
      const state = etsyState();
      return (packets) => {
        for (let i = 0; i < packets.length; i++) etsyIngest(state, packets[i]);
        if (state.bad > 0) throw new Error(`${state.bad} bad lines`);
      };
    },
  },
};

function ingest(id) {
  const points = [];
  for (const length of LINE_LENGTHS) {
    const { packets, lines } = lengthPackets(length);
    const run = INGEST[id].make();
    run(packets); // every key exists before timing, as in the aggregate suite
    const rates = [];
    const end = hr() + INGEST_SECONDS;
    while (rates.length < 5 || hr() < end) {
      const t0 = hr();
      run(packets);
      rates.push(lines / (hr() - t0));
    }
    points.push({ length, lines, rate: median(rates), samples: rates.length });
  }
  return { points };
}

// --- the suite ----------------------------------------------------------------------

const bytes = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ns = (s) => (s * 1e9 >= 100 ? (s * 1e9).toFixed(0) : (s * 1e9).toFixed(1));
const ms = (s) => (s * 1e3 >= 10 ? (s * 1e3).toFixed(1) : (s * 1e3).toPrecision(2));

function report(measured) {
  const results = measured.points.cases.map((c) => c.result);
  const ingests = Object.fromEntries(measured.ingest.cases.map((c) => [c.id, c.result.points]));
  const seriesOf = (value, text) =>
    Object.keys(TYPES).map((type) => ({
      id: type,
      name: TYPE_NAMES[type],
      ours: true,
      points: results.filter((r) => r.type === type).map((r) => ({ x: r.n, y: value(r), text: text(r) })),
    }));
  const groups = [
    {
      name: 'flush',
      title: `Flush time per key, ${SPAN}`,
      kind: 'series',
      unit: 'ns/key',
      better: 'lower',
      x: { label: 'keys', unit: 'keys', log: true },
      y: { label: 'flush time per key', log: true },
      fit: { of: 'total', quantity: 'flush time' },
      series: seriesOf(
        (r) => (r.flush / r.n) * 1e9,
        (r) => `${ns(r.flush / r.n)} ns/key (${ms(r.flush)} ms, ${r.datapoints} datapoints)`,
      ),
    },
    {
      name: 'memory',
      title: `Memory per key (process RSS), ${SPAN}`,
      kind: 'series',
      unit: 'B/key',
      better: 'lower',
      x: { label: 'keys', unit: 'keys', log: true },
      y: { label: 'RSS growth per key held' },
      fit: { of: 'total', quantity: 'RSS growth' },
      series: seriesOf(
        (r) => r.perKey,
        (r) => `${bytes(r.perKey)} B/key (V8 heap ${bytes(r.heapPerKey)})`,
      ),
    },
    {
      name: 'line-length',
      title: 'Ingest lines/s against line length (counters, 1000 keys, 1432-byte packets)',
      kind: 'series',
      unit: 'lines/s',
      better: 'higher',
      x: { label: 'line length', unit: 'B', log: true },
      y: { label: 'lines ingested per second' },
      series: Object.entries(INGEST).map(([id, c]) => ({
        id,
        name: c.name,
        ours: c.ours === true,
        points: ingests[id].map((p) => ({
          x: p.length,
          y: p.rate,
          text: `${(p.rate / 1e6).toFixed(2)} M lines/s (${((p.rate * p.length) / 2 ** 20).toFixed(0)} MiB/s)`,
        })),
      })),
    },
  ];

  const big = results.filter((r) => r.n === KEY_COUNTS[KEY_COUNTS.length - 1]);
  return {
    description:
      `${KEY_COUNTS.map(keysText).join(', ')} keys of each type ` +
      `(counters, gauges, timers with ${TIMER_SAMPLES} samples, sets with ${SET_MEMBERS} members; names ~25 B), ` +
      `brubeck convention, one fresh process per point; ingest: ~1 MiB of counter lines of ${LINE_LENGTHS.join(', ')} bytes`,
    groups,
    notes: [
      `Flush time: hrtime around \`flush()\` alone (Graphite plaintext into one Buffer), after every key got its lines again; median of 41 (1k keys), 21 (10k), 9 (100k) or 3 (1M) flushes${quick ? ' (quick: 3)' : ''}, the warm-up flush dropped. Datapoints per key: counters ${Math.round(big.find((r) => r.type === 'counters')?.datapoints / big[0]?.n)}, timers ${Math.round(big.find((r) => r.type === 'timers')?.datapoints / big[0]?.n)} (brubeck's timer fields and 5 percentiles), plus the aggregator's own metrics.`,
      `Memory: RSS (not heap: the tables are native) of a fresh \`node --expose-gc\` process after ingest → flush → ingest and three full GCs, less RSS before, over the keys held; below ${keysText(MEMORY_KEYS)} keys the process holds ${keysText(MEMORY_KEYS)}/N aggregators of N keys, so each aggregator's fixed cost is included. RSS counts what the allocator keeps, so it is what a daemon pays, not the bytes of the structures. V8 heap growth per key is in brackets (the packets are built before the baseline).`,
      'Ingest: median over repetitions of the whole ~1 MiB input (at least 5, for ' + INGEST_SECONDS + ' s); every key exists before timing. The etsy row is the same transcription of stats.js handlePacket as in the aggregate suite.',
      `The machine has ${os.cpus().length} cores; other jobs may be running (1-minute load average ${LOAD.toFixed(2)} at the start); the suite took ${((Date.now() - STARTED) / 1e3).toFixed(0)} s.`,
    ],
  };
}

const POINT_PROGRESS = (r) =>
  `flush ${ms(r.flush)} ms (${ns(r.flush / r.n)} ns/key, ${r.datapoints} datapoints), ` +
  `RSS ${bytes(r.perKey)} B/key, heap ${bytes(r.heapPerKey)} B/key over ${r.copies} aggregator(s)`;

runSuite({
  suite: 'growth',
  title: 'Cost growth: flush time and memory per key, ingest against line length',
  peers: ['statsd'],
  groups: [
    {
      name: 'points',
      hidden: true,
      cases: Object.fromEntries(
        Object.keys(TYPES).flatMap((type) =>
          KEY_COUNTS.map((n) => [`${type}-${n}`, { name: `${type}, ${n} keys`, node: ['--expose-gc'], run: () => point(type, n), progress: POINT_PROGRESS }]),
        ),
      ),
    },
    {
      name: 'ingest',
      hidden: true,
      cases: Object.fromEntries(
        Object.keys(INGEST).map((id) => [
          id,
          {
            name: INGEST[id].name,
            run: () => ingest(id),
            progress: (r) => `${r.points.map((p) => `${p.length} B: ${rate(p.rate)}`).join(', ')} lines/s`,
          },
        ]),
      ),
    },
  ],
  report,
});
