// The emitter suite's delivery runs: timings end to end to a daemon, and one flush of N distinct counters to a plain node:dgram receiver.
'use strict';

// How they are measured is at the top of bench/emitter.bench.js, (b) and (c).

const { spawn } = require('node:child_process');

const { quick } = require('./args');
const { hotShots, loadOurs, oursEmitter, waitDrained } = require('./emitter-clients');
const { taskArgs } = require('./harness');
const { hr, sleep, track, turn, udpSocket } = require('./processes');

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
  const child = spawn(process.execPath, taskArgs('receiver'), { stdio: ['pipe', 'pipe', 'inherit'] });
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

module.exports = { E2E_KEYS, E2E_PACE, e2eRun, FLUSH_KEYS, FLUSH_CONTENDERS, flushRun, receiver, startReceiver, settledCount };
