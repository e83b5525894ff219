// The compare-daemons suite's C tools: compiled at run time from bench/c/ (the bare recvmmsg ceiling and the sendmmsg sender), the packet file the sender replays, and their processes.
'use strict';

// No binary is kept in the repository: compile(name) builds bench/c/<name>.c
// with the system `cc -O2` into a directory under os.tmpdir(), named by a hash
// of the source and the compiler, so a run compiles each tool once and an
// edited source is rebuilt. The contracts of the two programs (arguments,
// output) are at the top of their sources.

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { cpuSeconds, track, udpSocket } = require('./processes');
const { waitQueueEmpty } = require('./daemon-servers');

const ROOT = path.join(__dirname, '..');
const SOURCES = path.join(__dirname, 'c');
const BIN = path.join(os.tmpdir(), 'statsd-native-bench-c');

const compiled = new Map();

/** The path of bench/c/<name>.c compiled with `cc -O2`; throws with the compiler's output if it fails. */
function compile(name) {
  if (compiled.has(name)) return compiled.get(name);
  const source = path.join(SOURCES, `${name}.c`);
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) throw new Error(`no C compiler (cc): the compare-daemons suite compiles bench/c/${name}.c at run time`);
  const hash = crypto.createHash('sha256').update(fs.readFileSync(source)).update(cc.stdout).digest('hex').slice(0, 16);
  const out = path.join(BIN, `${name}-${hash}`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(BIN, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, source], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc -O2 ${path.relative(ROOT, source)} failed:\n${r.stderr}`);
    fs.renameSync(tmp, out); // atomic: a concurrent run never starts a half-written binary
  }
  compiled.set(name, out);
  return out;
}

/** The compiler's first line ("cc (Debian 12.2.0-14) 12.2.0"), for the notes. */
function compilerName() {
  const r = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : 'no cc';
}

/**
 * Writes the packets `statsd-native load` sends (dist/load/load.js buildPackets,
 * datagram form, default mix and keys, seed 1) with keys under `prefix` to
 * `file`, in the record format bench/c/sender.c reads. Returns their count and
 * mean lines and bytes per packet.
 */
function writePackets(file, prefix) {
  const { buildPackets } = require(path.join(ROOT, 'dist', 'load', 'load.js'));
  const packets = buildPackets({ target: 'udp://127.0.0.1:0', prefix }, false);
  const parts = [];
  for (const p of packets) {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(p.bytes.length, 0);
    head.writeUInt32LE(p.lines, 4);
    head.writeUInt32LE(p.counters, 8);
    parts.push(head, p.bytes);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
  const mean = (f) => packets.reduce((a, p) => a + f(p), 0) / packets.length;
  return { packets: packets.length, linesPerPacket: mean((p) => p.lines), bytesPerPacket: mean((p) => p.bytes.length) };
}

/** Resolves the JSON lines a child prints to stdout, once it exits (rejects on a non-zero exit). */
function jsonLines(child, what) {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`${what} exited with ${code ?? signal}: ${err.trim()}`));
      resolve(out.trim().split('\n').map((l) => JSON.parse(l)));
    });
  });
}

/** bench/c/sender.c: `rate` lines/s of the packets in `file` to 127.0.0.1:`port` for `seconds`; its summary. */
async function runCSender(file, port, rate, seconds) {
  const child = track(spawn(compile('sender'), [file, String(port), String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const [summary] = await jsonLines(child, 'bench/c/sender');
  return summary;
}

/**
 * Starts bench/c/ceiling.c on a free loopback port: { child, udpPort, rcvbuf,
 * forced, stop() }. stop() waits (up to 20 s) for the socket's queue to be
 * empty, so that every datagram the kernel accepted has been read, then
 * SIGTERMs it and resolves its counts and the kernel's drop count for the socket.
 */
async function startCeiling() {
  const child = track(spawn(compile('ceiling'), ['0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const done = jsonLines(child, 'bench/c/ceiling');
  const first = await new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d;
      if (text.includes('\n')) {
        child.stdout.off('data', onData);
        resolve(JSON.parse(text.split('\n')[0]));
      }
    };
    child.stdout.on('data', onData);
    done.catch(reject);
  });
  const counts = async () => {
    await waitQueueEmpty(first.port);
    const drops = udpSocket(first.port)?.drops;
    const cpuTotal = cpuSeconds(child.pid);
    child.kill('SIGTERM');
    const lines = await done;
    return { ...lines[lines.length - 1], drops, cpuTotal };
  };
  let stopping;
  return {
    child,
    udpPort: first.port,
    rcvbuf: first.rcvbuf,
    forced: first.forced,
    // once: the suite stops every server again in a finally
    stop: () => (stopping ??= counts()),
  };
}

module.exports = { compile, compilerName, writePackets, runCSender, startCeiling };
