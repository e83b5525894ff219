// The daemon suite's processes: the paced UDP sender, and the two servers it measures (ours and etsy statsd 0.9) with their counters.
'use strict';

// The steps are at the top of bench/daemon.bench.js. hr() is CLOCK_MONOTONIC
// based: comparable across processes.

const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const net = require('node:net');
const path = require('node:path');

const { getJSON, hr, sleep, startEtsyStatsd, stopChild, track, turn, udpSocket, waitForOutput } = require('./processes');

const ROOT = path.join(__dirname, '..');
const FLUSH_MS = 1000;

// --- sender process -------------------------------------------------------------

/** The sender (a task in its own process): `rate` lines/s of corpus datagrams to `port` for `seconds`. */
async function sender({ port, rate, seconds }) {
  const { makeCorpus } = require('./corpus');
  const corpus = makeCorpus({ seed: 4, keys: 2000, bytes: 1 << 20, packetBytes: 1432 });
  const packets = corpus.packets;
  const lineCounts = packets.map((p) => {
    let n = 1;
    for (let i = p.indexOf(10); i !== -1; i = p.indexOf(10, i + 1)) n++;
    return n;
  });
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', resolve);
  });
  let errors = 0;
  let inFlight = 0;
  const onSent = (error) => {
    inFlight--;
    if (error) errors++;
  };
  socket.on('error', () => errors++);
  const perSecond = rate / (corpus.lines / packets.length); // datagrams per second
  let sent = 0;
  let lines = 0;
  let k = 0;
  const cpu0 = process.cpuUsage();
  const t0 = hr();
  const end = t0 + seconds;
  for (;;) {
    const now = hr();
    if (now >= end) break;
    const owed = Math.floor(perSecond * (now - t0)) - sent;
    const n = Math.min(owed, 1024);
    for (let i = 0; i < n; i++) {
      inFlight++;
      socket.send(packets[k], onSent);
      lines += lineCounts[k];
      if (++k === packets.length) k = 0;
    }
    sent += Math.max(n, 0);
    if (owed > 1024) await turn();
    else await sleep(1);
  }
  while (inFlight > 0) await turn();
  const t1 = hr();
  const cpu = process.cpuUsage(cpu0);
  socket.close();
  return {
    datagrams: sent,
    lines,
    t0,
    t1,
    seconds: t1 - t0,
    cpu: (cpu.user + cpu.system) / 1e6 / (t1 - t0),
    errors,
    linesPerDatagram: corpus.lines / packets.length,
    meanBytes: packets.reduce((a, p) => a + p.length, 0) / packets.length,
  };
}

// --- servers ---------------------------------------------------------------------------

/** Resolves the time the socket's receive queue was first seen empty (polled every 10 ms). */
async function waitQueueEmpty(port, limitMs = 20_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const s = udpSocket(port);
    if (s === undefined) throw new Error(`no UDP socket on port ${port} (server gone?)`);
    if (s.rxQueue === 0) return hr();
    if (Date.now() > deadline) throw new Error(`port ${port} still has ${s.rxQueue} bytes queued`);
    await sleep(10);
  }
}

async function startOurs() {
  const child = track(
    spawn(
      process.execPath,
      [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--port', '0', '--http', '0', '--flush-interval', String(FLUSH_MS)],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const m = await waitForOutput(child, 'stderr', /udp:\/\/[\d.]+:(\d+).*http:\/\/[\d.]+:(\d+)/, 'statsd-native serve');
  const udpPort = Number(m[1]);
  const httpPort = Number(m[2]);
  const first = await getJSON(httpPort, '/stats');
  const readAccepted = async () => (await getJSON(httpPort, '/stats')).metrics;
  return {
    id: 'ours',
    name: 'ours, `statsd-native serve` (native recvmmsg thread, 1 worker)',
    pid: child.pid,
    udpPort,
    receiveBuffer: first.samplers[0]?.receive_buffer,
    /** The final accepted count once the queue is empty. */
    async settle() {
      await waitQueueEmpty(udpPort);
      let last = await readAccepted();
      for (;;) {
        await sleep(30);
        const now = await readAccepted();
        if (now === last) return { accepted: now, errors: (await getJSON(httpPort, '/stats')).errors };
        last = now;
      }
    },
    /** Reads the accepted count every 0.25 s; stop(t0, t1) → rates of the intervals inside [t0, t1]. */
    sample() {
      const points = [];
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          const v = await readAccepted();
          points.push([hr(), v]);
          await sleep(250);
        }
      })();
      return async (t0, t1) => {
        stopped = true;
        await loop;
        const inside = points.filter(([t]) => t >= t0 && t <= t1);
        const rates = [];
        for (let i = 1; i < inside.length; i++) rates.push((inside[i][1] - inside[i - 1][1]) / (inside[i][0] - inside[i - 1][0]));
        return rates;
      };
    },
    async kernelDrops() {
      return (await getJSON(httpPort, '/stats')).samplers[0].kernel_drops;
    },
    stop: () => stopChild(child),
  };
}

/** A carbon plaintext listener that keeps etsy's flushed self-counters. */
function carbonSink() {
  const flushes = [];
  const server = net.createServer((socket) => {
    const at = hr();
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (text += d));
    socket.on('end', () => {
      const f = { at, metrics: 0, bad: 0, packets: 0 };
      for (const line of text.split('\n')) {
        const [key, value] = line.split(' ');
        if (key === 'stats_counts.statsd.metrics_received') f.metrics = Number(value);
        else if (key === 'stats_counts.statsd.bad_lines_seen') f.bad = Number(value);
        else if (key === 'stats_counts.statsd.packets_received') f.packets = Number(value);
      }
      flushes.push(f);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, flushes, close: () => server.close() }));
  });
}

async function startEtsy() {
  const sink = await carbonSink();
  const etsy = await startEtsyStatsd({ graphitePort: sink.port, flushInterval: FLUSH_MS });
  const { child, udpPort } = etsy;
  while (udpSocket(udpPort) === undefined) await sleep(10);
  const total = () => sink.flushes.reduce((a, f) => a + f.metrics - f.bad, 0);
  return {
    id: 'etsy',
    name: 'etsy statsd 0.9.0 (`node node_modules/statsd/stats.js`, stock UDP server)',
    pid: child.pid,
    udpPort,
    receiveBuffer: undefined,
    async settle() {
      const drained = await waitQueueEmpty(udpPort);
      // Lines read before `drained` are counted in statsd's memory; its next flush reports them.
      const deadline = Date.now() + FLUSH_MS * 10;
      while (!sink.flushes.some((f) => f.at > drained + 0.005)) {
        if (Date.now() > deadline) throw new Error('etsy statsd stopped flushing');
        await sleep(20);
      }
      return { accepted: total(), errors: sink.flushes.reduce((a, f) => a + f.bad, 0) };
    },
    sample() {
      const from = sink.flushes.length;
      return async (t0, until) => {
        const rates = [];
        const fl = sink.flushes;
        for (let i = Math.max(from + 1, 1); i < fl.length && fl[i].at <= until + 0.05; i++) if (fl[i - 1].at >= t0) rates.push((fl[i].metrics - fl[i].bad) / (fl[i].at - fl[i - 1].at));
        return rates;
      };
    },
    async kernelDrops() {
      return undefined;
    },
    async stop() {
      await etsy.stop();
      sink.close();
    },
  };
}

module.exports = { sender, startOurs, startEtsy, waitQueueEmpty, FLUSH_MS };
