// Emitter: per-call cost (counter handles, named and tagged calls) and end-to-end delivery over loopback UDP, ours vs hot-shots 17.
'use strict';

const { getJSON, hr, killAll, runEntry, sleep, track, turn, udpSocket } = require('./processes');

// Two parts, each case in its own process (like bench/harness.js), and the
// suite result of the bench/run.js contract as the last line of stdout.
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
//     runs with flushInterval 0 so that every call is a line. A fresh daemon in another process (native recvmmsg
//     receiver, 32 MiB SO_RCVBUFFORCE buffer) counts what it accepted (HTTP
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
// Internal flags: --case group/id --port P --http H (one measurement),
// --e2e id --port P --http H --seconds S (one end-to-end run),
// --flush id --port P --keys N (one flush run) and --receiver (the receiver).

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const { quick, arg } = require('./args');

const TAGS = ['env:prod', 'region:eu-west-1'];
const E2E_KEYS = 16;
const E2E_CHUNK = 10_000;
// Our emitter in the end-to-end runs; every call must become a line, so the
// per-key cap is above the calls one key can get in one interval (checked).
const E2E_OURS = {
  // immediate: one flush per event-loop turn, i.e. per chunk of 10k calls (625 per key)
  ours: { flushInterval: 0 },
  // not flat out: calls paced at E2E_PACE per second, to check for loss at a given load
  'ours-paced': { flushInterval: 0 },
};
const E2E_PACE = 2.5e6;
const TIMING = {
  seconds: quick ? 0.25 : 2,
  warmup: quick ? 0.05 : 0.4,
  sampleMs: 20,
  e2eSeconds: quick ? 0.8 : 2,
  e2eRuns: quick ? 1 : 3,
};

// --- shared helpers -----------------------------------------------------------




/** Waits until the daemon's socket queue is empty and its line count stops moving. */
async function waitDrained(udpPort, httpPort, limitMs = 10_000) {
  const deadline = Date.now() + limitMs;
  let last = -1;
  for (;;) {
    const sock = udpSocket(udpPort);
    const stats = await getJSON(httpPort, '/stats');
    if (sock && sock.rxQueue === 0 && stats.metrics === last) return stats;
    if (Date.now() > deadline) return stats;
    last = sock && sock.rxQueue === 0 ? stats.metrics : -1;
    await sleep(20);
  }
}


/** Starts `statsd-native serve` on free ports; resolves { udpPort, httpPort, stop }. */
function startDaemon() {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--port', '0', '--http', '0', '--flush-interval', '1000'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  track(child);
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daemon did not start: ${err}`));
    }, 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}: ${err}`));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      err += d;
      const m = /udp:\/\/[\d.]+:(\d+).*http:\/\/[\d.]+:(\d+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      child.stderr.removeAllListeners('data');
      child.stderr.resume();
      resolve({
        udpPort: Number(m[1]),
        httpPort: Number(m[2]),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

// 95% two-sided Student t quantiles by degrees of freedom (as benchmark.js).
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

function summarize(rates) {
  const n = rates.length;
  const mean = rates.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, rme: 0, samples: n };
  const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= T95.length ? T95[n - 2] : 1.96;
  return { mean, rme: ((t * sd) / Math.sqrt(n) / mean) * 100, samples: n };
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(1));

// --- contenders -----------------------------------------------------------------

function loadOurs() {
  return require('../dist');
}

function hotShots(port, extra = {}) {
  const StatsD = require('hot-shots');
  const state = { errors: 0 };
  const client = new StatsD({
    host: '127.0.0.1',
    port,
    maxBufferSize: 1432,
    errorHandler: () => state.errors++,
    ...extra,
  });
  state.client = client;
  state.close = () => new Promise((resolve) => client.close(() => resolve()));
  return state;
}

/** Our hot-shots drop-in (`StatsD`), buffered like the hot-shots contender. */
function oursStatsD(port) {
  const { StatsD } = loadOurs();
  const state = { errors: 0 };
  const client = new StatsD({ host: '127.0.0.1', port, maxBufferSize: 1432, errorHandler: () => state.errors++ });
  state.client = client;
  state.close = () => new Promise((resolve) => client.close(() => resolve()));
  return state;
}

async function oursEmitter(port, options = {}) {
  const { Emitter } = loadOurs();
  const emitter = new Emitter({ endpoint: `127.0.0.1:${port}`, flushInterval: 1000, maxPacketBytes: 1432, ...options });
  emitter.on('error', () => {});
  emitter.timing('bench.warmup', 1);
  await emitter.flush(); // the UDP socket is connected before timing starts
  return emitter;
}

// (a) Each case: prepare(port) → { op(n): n calls, chunk, close(), check?() → note }.
const GROUPS = [
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

async function measureCase(groupName, caseId, port, httpPort) {
  const c = GROUPS.find((g) => g.name === groupName)?.cases[caseId];
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

// (b) One end-to-end run: timing() over E2E_KEYS keys (flat out, or paced for ours-paced), then close.
async function e2eRun(id, port, httpPort, seconds) {
  const names = Array.from({ length: E2E_KEYS }, (_, k) => `app.latency.${k}`);
  let bench;
  if (E2E_OURS[id]) {
    const emitter = await oursEmitter(port, E2E_OURS[id]);
    bench = {
      chunk: E2E_CHUNK,
      op: (n, base) => {
        for (let i = 0; i < n; i++) emitter.timing(names[i & (E2E_KEYS - 1)], (base + i) & 1023);
      },
      close: () => emitter.close(),
      sent: () => emitter.stats.sent - 1, // less the warm-up line
      dropped: () => emitter.stats.dropped,
    };
  } else {
    const hs = hotShots(port);
    hs.client.timing('bench.warmup', 1);
    await new Promise((resolve) => hs.client.flushQueue(resolve));
    bench = {
      chunk: E2E_CHUNK,
      op: (n, base) => {
        for (let i = 0; i < n; i++) hs.client.timing(names[i & (E2E_KEYS - 1)], (base + i) & 1023);
      },
      close: hs.close,
      sent: () => undefined,
      dropped: () => hs.errors,
    };
  }
  const sock0 = udpSocket(port);
  const stats0 = await waitDrained(port, httpPort, 5000);
  const cpu0 = process.cpuUsage();
  const t0 = hr();
  const end = t0 + seconds;
  const pace = id === 'ours-paced' ? E2E_PACE : 0;
  let calls = 0;
  while (hr() < end) {
    if (pace && pace * (hr() - t0) - calls < bench.chunk) {
      await sleep(1);
      continue;
    }
    bench.op(bench.chunk, calls);
    calls += bench.chunk;
    await turn();
  }
  const tCalls = hr();
  await bench.close();
  const tClosed = hr();
  const cpu = process.cpuUsage(cpu0);
  const stats1 = await waitDrained(port, httpPort);
  const sock1 = udpSocket(port);
  // waitDrained polls every 20 ms and wants two equal readings: count one poll, not two.
  const tDrained = Math.max(tClosed, hr() - 0.02);
  const delivered = stats1.metrics - stats0.metrics;
  return {
    calls,
    delivered,
    seconds: tDrained - t0,
    callSeconds: tCalls - t0,
    closeSeconds: tClosed - tCalls,
    cpu: (cpu.user + cpu.system) / 1e6 / (tClosed - t0),
    sent: bench.sent(),
    dropped: bench.dropped(),
    kernelDrops: sock1 && sock0 ? sock1.drops - sock0.drops : undefined,
    daemonErrors: stats1.errors - stats0.errors,
  };
}

// (c) One flush run: `keys` distinct counters, one flush, then close.
const FLUSH_KEYS = quick ? [1_000, 100_000] : [1_000, 10_000, 100_000];
const FLUSH_CONTENDERS = {
  ours: 'ours, `emitter.increment(key)` × N then `flush()` (paced: sendWindow default)',
  'ours-unpaced': 'ours with `sendWindow: 0` (the flush handed to the socket at once)',
  'hot-shots': 'hot-shots 17, `client.increment(key)` × N, buffered (maxBufferSize 1432)',
};

async function flushRun(id, port, keys) {
  const names = Array.from({ length: keys }, (_, i) => `flush.key.${i}`);
  const t0 = hr();
  if (id === 'hot-shots') {
    const hs = hotShots(port);
    for (const name of names) hs.client.increment(name);
    await hs.close();
    return { seconds: hr() - t0, sent: keys, dropped: hs.errors };
  }
  const { Emitter } = loadOurs();
  const emitter = new Emitter({ endpoint: `127.0.0.1:${port}`, flushInterval: 3_600_000, ...(id === 'ours-unpaced' ? { sendWindow: 0 } : {}) });
  emitter.on('error', () => {});
  for (const name of names) emitter.increment(name);
  await emitter.close();
  return { seconds: hr() - t0, sent: emitter.stats.sent, dropped: emitter.stats.dropped };
}

/** The receiver process: default buffers, counts lines; prints its port, then the count for each line on stdin. */
async function receiver() {
  const dgram = require('node:dgram');
  const socket = dgram.createSocket('udp4');
  let lines = 0;
  socket.on('message', (m) => {
    for (let i = m.indexOf(10); i !== -1; i = m.indexOf(10, i + 1)) lines++;
    if (m.at(-1) !== 10) lines++;
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  process.stdout.write(`${socket.address().port} ${socket.getRecvBufferSize()}\n`);
  process.stdin.setEncoding('utf8').on('data', () => process.stdout.write(`${lines}\n`));
  process.stdin.on('end', () => socket.close());
  await new Promise((resolve) => socket.on('close', resolve));
}

/** Starts a receiver process; resolves { port, buffer, count(): Promise<number>, stop() }. */
function startReceiver() {
  const child = spawn(process.execPath, [__filename, '--receiver'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  track(child);
  child.stdout.setEncoding('utf8');
  const lines = [];
  const waiters = [];
  let partial = '';
  child.stdout.on('data', (d) => {
    partial += d;
    for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
      lines.push(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
      waiters.shift()?.();
    }
  });
  const next = () => new Promise((resolve) => (lines.length ? resolve() : waiters.push(resolve))).then(() => lines.shift());
  return next().then((first) => {
    const [port, buffer] = first.split(' ').map(Number);
    return {
      port,
      buffer,
      count: () => {
        child.stdin.write('count\n');
        return next().then(Number);
      },
      stop: () => {
        child.stdin.end();
        return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      },
    };
  });
}

/** Counts until two readings 100 ms apart agree (the receiver has read all it will). */
async function settledCount(r) {
  let last = -1;
  for (;;) {
    await sleep(100);
    const n = await r.count();
    if (n === last) return n;
    last = n;
  }
}

async function flushGroup() {
  const series = [];
  for (const [id, name] of Object.entries(FLUSH_CONTENDERS)) {
    const points = [];
    for (const keys of FLUSH_KEYS) {
      const r = await startReceiver();
      try {
        process.stderr.write(`  emitter flush/${id} ${keys} keys ... `);
        const run = spawnJSON(['--flush', id, '--port', String(r.port), '--keys', String(keys)]);
        const delivered = await settledCount(r);
        const share = (delivered / keys) * 100;
        process.stderr.write(`${delivered} of ${keys} delivered (${share.toFixed(1)}%) in ${(run.seconds * 1000).toFixed(0)} ms, receive buffer ${r.buffer}\n`);
        points.push({ x: keys, y: share, text: `${share.toFixed(1)}% (${delivered.toLocaleString('en')} of ${keys.toLocaleString('en')}; ${(run.seconds * 1000).toFixed(0)} ms)` });
      } finally {
        await r.stop();
      }
    }
    series.push({ id, name, ours: id.startsWith('ours'), points });
  }
  return {
    name: 'flush',
    title: 'A flush of N distinct counters to a node:dgram receiver with the default receive buffer: % delivered',
    kind: 'series',
    unit: '% delivered',
    better: 'higher',
    x: { label: 'distinct keys in the flush', unit: 'keys', log: true },
    y: { label: '% of lines delivered', log: false },
    series,
  };
}

// --- parent: spawns one process per case --------------------------------------------

function spawnJSON(args) {
  const child = spawnSync(process.execPath, [__filename, ...args, ...(quick ? ['--quick'] : [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (child.status !== 0) throw new Error(`${args.join(' ')} exited with ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

async function main() {
  const load = os.loadavg()[0];
  const groups = [];
  const daemon = await startDaemon();
  try {
    for (const group of GROUPS) {
      const cases = [];
      for (const [id, c] of Object.entries(group.cases)) {
        process.stderr.write(`  emitter ${group.name}/${id} ... `);
        const r = spawnJSON(['--case', `${group.name}/${id}`, '--port', String(daemon.udpPort), '--http', String(daemon.httpPort)]);
        process.stderr.write(`${fmt(r.rate)} calls/s ±${r.rme.toFixed(1)}% (${r.samples} samples)\n`);
        cases.push({ id, name: c.name, note: c.note, rate: r.rate, rme: r.rme, samples: r.samples });
      }
      groups.push({ name: group.name, title: group.title, unit: group.unit, baseline: group.baseline, cases });
    }
  } finally {
    await daemon.stop();
  }

  const e2e = [];
  const delivery = [];
  const E2E = {
    ours: `ours, \`emitter.timing(name, ms)\` over ${E2E_KEYS} keys, flushInterval 0 (a flush per event-loop turn)`,
    'ours-paced': `ours, as the first row but paced at ${E2E_PACE / 1e6}M calls/s (10k calls every 4 ms)`,
    'hot-shots': `hot-shots 17, \`client.timing(name, ms)\` over ${E2E_KEYS} keys, buffered (maxBufferSize 1432)`,
  };
  for (const [id, name] of Object.entries(E2E)) {
    const runs = [];
    for (let run = 0; run < TIMING.e2eRuns; run++) {
      const d = await startDaemon();
      try {
        process.stderr.write(`  emitter e2e/${id} run ${run + 1} ... `);
        const r = spawnJSON(['--e2e', id, '--port', String(d.udpPort), '--http', String(d.httpPort), '--seconds', String(TIMING.e2eSeconds)]);
        r.rate = r.delivered / r.seconds;
        r.loss = ((r.calls - r.delivered) / r.calls) * 100;
        process.stderr.write(
          `${fmt(r.calls)} calls, ${fmt(r.delivered)} delivered in ${r.seconds.toFixed(2)} s = ${fmt(r.rate)} lines/s, ` +
            `loss ${r.loss.toFixed(3)}%, kernel drops ${r.kernelDrops}, sender CPU ${(r.cpu * 100).toFixed(0)}%\n`,
        );
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
    e2e.push({
      id,
      name,
      note:
        `${fmt(calls / sum('callSeconds'))} calls/s offered, loss ${loss.toFixed(3)}% ` +
        `(${calls - delivered} of ${calls}; kernel drops at the receiver ${sum('kernelDrops')} datagrams), sender CPU ${cpu.toFixed(0)}%`,
      rate: s.mean,
      rme: s.rme,
      samples: s.samples,
    });
    const sent = runs.every((r) => r.sent !== undefined) ? sum('sent') : undefined;
    if (sent !== undefined && sent !== calls) e2e.at(-1).note += `; SAMPLED: the emitter sent ${sent} lines for ${calls} calls`;
    const shares = runs.map((r) => (r.delivered / r.calls) * 100);
    const d = summarize(shares);
    delivery.push({ id, name, note: `${calls - delivered} of ${calls} calls lost`, rate: d.mean, rme: d.rme, samples: d.samples });
  }
  groups.push({
    name: 'e2e',
    title: 'End to end: timings delivered to a daemon in another process (loopback UDP)',
    unit: 'lines/s',
    baseline: 'ours',
    cases: e2e,
  });
  groups.push({
    name: 'delivery',
    title: 'End to end: share of calls that arrived as accepted lines',
    unit: '% delivered',
    baseline: 'ours',
    cases: delivery,
  });
  groups.push(await flushGroup());

  process.stdout.write(
    `${JSON.stringify({
      suite: 'emitter',
      title: 'Emitter: per-call cost and end-to-end delivery',
      description:
        `per call: one name (and 2 tags where shown) in a tight loop, ${TIMING.seconds} s per case after ${TIMING.warmup} s warm-up; ` +
        `end to end: timing() flat out over ${E2E_KEYS} keys for ${TIMING.e2eSeconds} s, ${TIMING.e2eRuns} run(s) per contender, ` +
        'to a fresh `statsd-native serve` daemon in another process',
      quick,
      peers: ['hot-shots'],
      groups,
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
        `The machine has ${os.cpus().length} cores: sender, receiver thread and the daemon's flush share them, and other jobs may be running (1-minute load average ${load.toFixed(2)} at the start).`,
      ],
    })}\n`,
  );
}

async function child() {
  const port = Number(arg('--port'));
  const httpPort = Number(arg('--http'));
  if (arg('--flush')) return flushRun(arg('--flush'), port, Number(arg('--keys')));
  if (arg('--case')) {
    const [groupName, caseId] = arg('--case').split('/');
    return measureCase(groupName, caseId, port, httpPort);
  }
  return e2eRun(arg('--e2e'), port, httpPort, Number(arg('--seconds')));
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

if (process.argv.includes('--receiver')) void receiver();
else runEntry('emitter bench', arg('--case') || arg('--e2e') || arg('--flush') ? child : undefined, main);
