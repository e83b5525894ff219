// The flush-pause suite's measurements: a UDP flood during back-to-back 1M-key flushes on the server's thread, and /ping during a scheduled (worker thread) flush of 1M timer keys.
// Just over 300 lines: the two measurements share the server and load
// process helpers above them.
'use strict';

// The steps of each are at the top of bench/flush-pause.bench.js.

const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const http = require('node:http');
const path = require('node:path');

// processes.js kills the children it tracked when this process exits or is signalled.
const { hr, sleep, track, udpSocket } = require('./processes');
const { quick } = require('./args');
const { median, rmeOf } = require('./stats');
const { taskArgs } = require('./harness');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

const SECONDS = quick ? 1 : 3;
const RATE = 1_000_000; // lines/s offered
const KEYS = 1_000_000; // gauge keys every flush walks
const RECEIVE_BUFFER = 256 << 10; // an unprivileged size; the kernel doubles it
const FLUSH_GAP_MS = 20;
const INTERVAL = 0.25; // s, for ±

const VARIANTS = {
  held: { heldBytes: 64 << 20, name: 'held datagrams on (heldBytes 64 MiB, the default)' },
  off: { heldBytes: 0, name: 'held datagrams off (heldBytes 0)' },
};

/** A sink that keeps nothing: the flush itself is what pauses the aggregator. */
const nullSink = {
  name: 'null',
  write() {},
  drain: () => Promise.resolve(),
  close: () => Promise.resolve(),
  stats: () => ({
    type: 'null', connected: true, flushesSent: 0, metricsSent: 0, flushesDropped: 0, metricsDropped: 0, bytesSent: 0,
    flushesReplayed: 0, replaysDropped: 0, backlog: 0,
  }),
};

/** Resolves when `done()` holds (polled every `everyMs`), or rejects with `what()` after `limitMs`. */
async function until(done, limitMs, what, everyMs = 20) {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms: ${what()}`);
    await sleep(everyMs);
  }
}

/** One variant (`held` or `off`) in this process: the flood, the flushes, the counting. */
async function floodRun(id) {
  const { StatsdServer } = require('../dist/daemon/server');
  if (!Object.hasOwn(VARIANTS, id)) throw new Error(`the variant is one of ${Object.keys(VARIANTS).join(', ')}, not ${id}`);
  const { heldBytes } = VARIANTS[id];
  const server = new StatsdServer({
    udp: { port: 0, receiveBuffer: RECEIVE_BUFFER, heldBytes },
    aggregator: { maxKeys: 2_000_000, reportIdle: true }, // every flush walks and writes all 1M keys
    sinks: [nullSink],
    flushInterval: 3_600_000, // the flushes are this loop's
  });
  await server.start();
  const port = server.udpPort;
  const marker = dgram.createSocket('udp4');
  try {
    let keys = '';
    for (let i = 0; i < KEYS; i++) keys += `pause.k${i}:1|g\n`;
    server.aggregator.ingest(keys);
    keys = '';
    const lines0 = server.stats.aggregator.lines;
    const packets0 = server.stats.aggregator.packets;

    const load = track(
      spawn(process.execPath, [CLI, 'load', '--target', `127.0.0.1:${port}`, '--rate', String(RATE), '--duration', String(SECONDS), '--json'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    load.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    load.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const exited = new Promise((resolve) => load.once('exit', (code, signal) => resolve(code ?? signal)));

    const pauses = [];
    const points = []; // [time, datagrams read so far (held or not)], between flushes
    while (load.exitCode === null && load.signalCode === null) {
      const t = performance.now();
      server.flush();
      pauses.push(performance.now() - t);
      points.push([hr(), server.stats.udp.datagrams]);
      await sleep(FLUSH_GAP_MS);
    }
    const status = await exited;
    if (status !== 0) throw new Error(`load exited with ${status}: ${err.trim().split('\n').pop()}`);
    const sent = JSON.parse(out.trim().split('\n').pop());

    // The kernel's drop count rides on the next datagram read: send markers until all is counted.
    await new Promise((resolve, reject) => {
      marker.once('error', reject);
      marker.connect(port, '127.0.0.1', resolve);
    });
    let markers = 0;
    await until(
      async () => {
        await new Promise((resolve, reject) => marker.send('pause.marker:1|c', (e) => (e ? reject(e) : resolve())));
        markers++;
        await sleep(20);
        const u = server.stats.udp;
        return u.datagrams + u.kernelDrops === sent.packetsSent + markers;
      },
      10_000,
      () => `datagrams counted ${JSON.stringify(server.stats.udp)}, sent ${sent.packetsSent} + ${markers} markers`,
      0,
    );
    // Held datagrams reach the aggregator once the socket goes quiet: one ingest per datagram.
    await until(
      () => server.stats.aggregator.packets - packets0 === server.stats.udp.datagrams,
      10_000,
      () => `${server.stats.aggregator.packets - packets0} of ${server.stats.udp.datagrams} datagrams aggregated`,
    );
    const udp = server.stats.udp;
    const accepted = server.stats.aggregator.lines - lines0 - markers;

    // Datagrams read per ~250 ms interval from the first one read: their spread is the ±
    // (lines per datagram are constant, so it is that of the accepted lines/s).
    const t0 = points[0]?.[0] ?? 0;
    const rates = [];
    let from = points.findIndex(([, n]) => n > 0);
    for (let i = from + 1; from !== -1 && i < points.length; i++) {
      if (points[i][0] - points[from][0] < INTERVAL) continue;
      rates.push((points[i][1] - points[from][1]) / (points[i][0] - points[from][0]));
      from = i;
    }
    return {
      id,
      heldBytes,
      seconds: SECONDS,
      receiveBuffer: udp.receiveBuffer,
      socketDrops: udpSocket(port)?.drops, // /proc/net/udp, a cross-check of kernelDrops
      sent: { packets: sent.packetsSent, lines: sent.linesSent, elapsed: sent.elapsed, rate: sent.achievedRate, errors: sent.errors },
      markers,
      datagrams: udp.datagrams - markers,
      kernelDrops: udp.kernelDrops,
      heldWhileBusy: udp.heldWhileBusy,
      accepted,
      loss: (udp.kernelDrops / sent.packetsSent) * 100,
      lineLoss: ((sent.linesSent - accepted) / sent.linesSent) * 100,
      rate: sent.achievedRate * (accepted / sent.linesSent),
      meanBytes: udp.bytes / udp.datagrams,
      rme: rmeOf(rates),
      samples: Math.max(rates.length, 1),
      flushes: pauses.length,
      pauseMax: Math.max(...pauses),
      pauseMedian: median(pauses),
      floodSeconds: (points[points.length - 1]?.[0] ?? t0) - t0,
    };
  } finally {
    marker.close();
    await server.stop(100);
  }
}

// --- /ping during a scheduled flush ---------------------------------------------------

const PING_EVERY_MS = 10;
const PING_FLUSH_INTERVAL = 1000; // ms: the first scheduled flush comes 1 s after start()
const TIMER_SAMPLES = 3; // each key's line is `ping.t<i>:1:2:3|ms`

/** `keys` distinct timers, TIMER_SAMPLES samples each, ingested in chunks of 10k lines. */
function ingestTimers(server, keys) {
  for (let from = 0; from < keys; from += 10_000) {
    let text = '';
    for (let i = from; i < Math.min(from + 10_000, keys); i++) text += `ping.t${i}:1:2:3|ms\n`;
    server.aggregator.ingest(text);
  }
}

/** ms from sending GET /ping to the end of its answer. */
function ping(port, agent) {
  const t = hr();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/ping', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve((hr() - t) * 1e3));
      })
      .on('error', reject);
  });
}

/**
 * The pinger, a process of its own (a client's view: its schedule does not
 * stall with the server's event loop): GET /ping every `everyMs`, one at a
 * time on a keep-alive connection (when one takes longer, the next goes at
 * once), until its stdin ends. Resolves { pings: [[sent at (hr() s), ms]] }.
 */
async function pinger({ port, everyMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  process.stdin.on('end', () => (stopped = true)).resume();
  const pings = [];
  let next = hr();
  while (!stopped) {
    const at = hr();
    pings.push([at, await ping(port, agent)]);
    next += everyMs / 1e3;
    const wait = (next - hr()) * 1e3;
    if (wait > 0) await sleep(wait);
    else next = hr();
  }
  agent.destroy();
  return { pings };
}

/** Starts the pinger against `port`; stop() resolves its pings. */
function startPinger(port) {
  const child = track(spawn(process.execPath, taskArgs('pinger', { port, everyMs: PING_EVERY_MS }), { stdio: ['pipe', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`the pinger exited with ${code}`);
      return JSON.parse(out.trim().split('\n').pop()).pings;
    },
  };
}

/**
 * A StatsdServer holding `keys` timer keys (reportIdle, so every flush writes
 * them all): the same flush timed once on the JS thread (server.flush()), then
 * after the same ingest again the first scheduled flush, on a worker thread,
 * while the pinger sends GET /ping every PING_EVERY_MS.
 */
async function pingRun(keys) {
  const { StatsdServer } = require('../dist/daemon/server');
  const server = new StatsdServer({
    aggregator: { maxKeys: 2 * keys + 1000, reportIdle: true },
    http: { port: 0 },
    sinks: [nullSink],
    flushInterval: PING_FLUSH_INTERVAL,
  });
  let pinging;
  try {
    ingestTimers(server, keys);
    let t = hr();
    const onThread = server.flush();
    const onThreadMs = (hr() - t) * 1e3;

    // The scheduled flush goes through Aggregator.flushAsync (the worker); time it there.
    const flushAsync = server.aggregator.flushAsync;
    let flush;
    const done = new Promise((resolve, reject) => {
      server.aggregator.flushAsync = async function (...args) {
        const f = { start: hr(), end: 0, metrics: 0 };
        try {
          const r = await flushAsync.apply(this, args);
          f.metrics = r.metrics;
          return r;
        } finally {
          f.end = hr();
          if (flush === undefined) resolve((flush = f));
        }
      };
      setTimeout(() => reject(new Error('no scheduled flush came out (does it still go through Aggregator.flushAsync?)')), 10 * PING_FLUSH_INTERVAL + 20 * onThreadMs + 10_000).unref();
    });
    t = hr();
    ingestTimers(server, keys);
    const ingestMs = (hr() - t) * 1e3;
    await server.start();
    pinging = startPinger(server.httpPort);
    const { start, end, metrics } = await done;
    const pings = await pinging.stop();
    pinging = undefined;
    // the pings whose wait overlapped the flush, and those answered before it began
    const during = pings.filter(([at, ms]) => at < end && at + ms / 1e3 > start).map(([, ms]) => ms);
    const idle = pings.filter(([at, ms]) => at + ms / 1e3 <= start).map(([, ms]) => ms);
    if (during.length === 0) throw new Error('no /ping overlapped the scheduled flush');
    return {
      keys,
      samples: TIMER_SAMPLES,
      onThreadMs,
      onThreadMetrics: onThread.metrics,
      ingestMs,
      flushMs: (end - start) * 1e3,
      metrics,
      pings: during.length,
      pingMax: Math.max(...during),
      pingMedian: median(during),
      idlePings: idle.length,
      idleMedian: idle.length > 0 ? median(idle) : undefined,
    };
  } finally {
    await pinging?.stop().catch(() => {});
    await server.stop(0);
  }
}

module.exports = { floodRun, pingRun, pinger, VARIANTS, SECONDS, RATE, KEYS, RECEIVE_BUFFER, FLUSH_GAP_MS, PING_EVERY_MS, PING_FLUSH_INTERVAL, TIMER_SAMPLES };
