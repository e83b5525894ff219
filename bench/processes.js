// Child processes and sockets shared by the suites that run servers: start, watch, stop, probe.
'use strict';

const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

const hr = () => Number(process.hrtime.bigint()) / 1e9;
const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every child a suite starts is tracked and killed when the suite exits, even on
// an error or a signal, so no server outlives a benchmark.
const children = new Set();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
function stopChild(child, graceMs = 3000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function getJSON(port, pathname, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${pathname} timed out`)));
  });
}

/** rx_queue (bytes waiting) and drops of the IPv4 UDP socket bound to `port`, from /proc/net/udp. */
function udpSocket(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !f[1].endsWith(`:${hex}`)) continue;
    return { rxQueue: parseInt(f[4].split(':')[1], 16), drops: Number(f[12]) };
  }
  return undefined;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** A peer server started in a private dir: its process and UDP port, and stop() that ends it and removes the dir. */
function peerServer(child, udpPort, dir, graceMs) {
  return {
    child,
    udpPort,
    async stop() {
      await stopChild(child, graceMs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM), in bytes, from /proc/<pid>/status. */
function memoryBytes(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

/** A loopback port that was free a moment ago ('tcp' or 'udp'). */
function freePort(kind = 'tcp') {
  return new Promise((resolve, reject) => {
    const s = kind === 'udp' ? dgram.createSocket('udp4') : net.createServer();
    s.on('error', reject);
    const done = () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    };
    if (kind === 'udp') s.bind(0, '127.0.0.1', done);
    else s.listen(0, '127.0.0.1', done);
  });
}

/** Resolves with the first match of `re` in the child's `stream`; rejects if it exits first. */
function waitForOutput(child, stream, re, what) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${text}`)), 15_000);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${text}`));
    };
    child.once('exit', onExit);
    child[stream].setEncoding('utf8');
    const onData = (d) => {
      text += d;
      const m = re.exec(text);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child[stream].off('data', onData);
      child[stream].resume();
      resolve(m);
    };
    child[stream].on('data', onData);
  });
}

/**
 * Starts etsy statsd 0.9.0 from npm on a free loopback UDP port, flushing every
 * `flushInterval` ms to Graphite plaintext on `graphitePort`. Resolves when it
 * says it is up: { child, udpPort, stop() } (stop also removes its config).
 */
async function startEtsyStatsd({ graphitePort, flushInterval, graceMs = 3000 }) {
  const udpPort = await freePort('udp');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statsd-etsy-'));
  const config = path.join(dir, 'config.js');
  const settings = {
    port: udpPort,
    address: '127.0.0.1',
    mgmt_address: '127.0.0.1',
    mgmt_port: await freePort('tcp'),
    graphiteHost: '127.0.0.1',
    graphitePort,
    flushInterval,
    backends: ['./backends/graphite'],
  };
  fs.writeFileSync(config, `${JSON.stringify(settings)}\n`);
  const stats = path.join(ROOT, 'node_modules', 'statsd', 'stats.js');
  const child = track(spawn(process.execPath, [stats, config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stderr.resume();
  await waitForOutput(child, 'stdout', /server is up/, 'etsy statsd');
  return peerServer(child, udpPort, dir, graceMs);
}

module.exports = { startEtsyStatsd, hr, turn, sleep, track, killAll, stopChild, getJSON, udpSocket, cpuSeconds, memoryBytes, freePort, waitForOutput, peerServer };
