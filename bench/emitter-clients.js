// The emitter suite's clients and servers: our Emitter and hot-shots drop-in, hot-shots 17, and the `statsd-native serve` daemon they send to.
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');

const { getJSON, sleep, stopChild, track, udpSocket, waitForOutput } = require('./processes');

const ROOT = path.join(__dirname, '..');

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
async function startDaemon() {
  const child = track(
    spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--port', '0', '--http', '0', '--flush-interval', '1000'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const m = await waitForOutput(child, 'stderr', /udp:\/\/[\d.]+:(\d+).*http:\/\/[\d.]+:(\d+)/, 'statsd-native serve');
  return { udpPort: Number(m[1]), httpPort: Number(m[2]), stop: () => stopChild(child, 5000) };
}

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

module.exports = { waitDrained, startDaemon, loadOurs, hotShots, oursStatsD, oursEmitter };
