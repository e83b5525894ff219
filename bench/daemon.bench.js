// Daemon: offered vs accepted lines/s and loss over loopback UDP at rising rates (1432-byte datagrams), ours vs etsy statsd 0.9.
'use strict';

// hr() is CLOCK_MONOTONIC based: comparable across processes.
const {
  cpuSeconds, freePort, getJSON, hr, killAll, runEntry, sleep, startEtsyStatsd, stopChild, track, udpSocket, waitForOutput,
} = require('./processes');

// Not a benchmark.js suite: each server runs as a child process, a separate
// sender process offers a fixed rate of pre-built datagrams for a few seconds
// per step, and the suite counts what the server accepted. It prints the suite
// result of the bench/run.js contract as its last line.
//
// - Traffic: the shared corpus (bench/corpus.js, seed 4, 2000 keys: c/ms/g/h/s,
//   ~10% tagged, ~10% sampled), packed greedily into datagrams of at most 1432
//   bytes (~35 lines each); the sender cycles through them.
// - Sender: `node bench/daemon.bench.js --sender ...`, one connected UDP socket,
//   paced on a 1 ms clock (a burst of the datagrams owed so far, then a 1 ms
//   timer or, when behind, one event-loop turn). It reports what it sent and its
//   own CPU time; it competes with the server for the machine's cores.
// - Ours: `node dist/cli.js serve --port 0 --http 0 --flush-interval 1000`
//   (stdout sink to /dev/null); accepted = HTTP /stats `metrics` (valid lines
//   aggregated), and `samplers[0].kernel_drops`.
// - etsy: `node node_modules/statsd/stats.js config.js` (npm statsd 0.9.0, its
//   stock UDP server and socket buffer, graphite backend, flushInterval 1000) to
//   a carbon sink in this process; accepted = sum of its flushed
//   `stats_counts.statsd.metrics_received` less `bad_lines_seen`.
// - Per step: wait until the server's socket queue is empty and its count is
//   final; run the sender; wait until the queue is empty again (and, for etsy,
//   for the next flush); accepted = difference. Kernel drops come from the
//   socket's `drops` column in /proc/net/udp (both servers).
//   offered rate = lines sent / sending time; accepted rate = lines accepted /
//   (first send .. the server's queue empty after the last); loss = 1 - accepted/offered.
//   ± is the 95% interval over the step's per-interval accepted rates (ours:
//   /stats read every 0.25 s; etsy: each 1 s flush).

const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const { argv, quick, arg } = require('./args');

const RATES = quick ? [0.5e6, 4e6] : [0.25e6, 0.5e6, 1e6, 2e6, 4e6, 6e6, 8e6];
const STEP_SECONDS = quick ? 1 : 3;
const FLUSH_MS = 1000;
const LOSSLESS = 0.1; // % loss still counted as lossless

const turn = () => new Promise((resolve) => setImmediate(resolve));
const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(1));
const rateName = (r) => `${r / 1e6}M`;

// --- sender process -------------------------------------------------------------

async function sender(port, rate, seconds) {
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

// --- helpers for the parent --------------------------------------------------------





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




const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131];

function rmeOf(rates) {
  const n = rates.length;
  if (n < 2) return 0;
  const mean = rates.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= T95.length ? T95[n - 2] : 1.96;
  return ((t * sd) / Math.sqrt(n) / mean) * 100;
}

// --- servers ---------------------------------------------------------------------------

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

// --- steps ---------------------------------------------------------------------------------

function runSender(port, rate, seconds) {
  const child = track(
    spawn(process.execPath, [__filename, '--sender', '--port', String(port), '--rate', String(rate), '--seconds', String(seconds)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`sender exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

async function step(server, rate) {
  const before = await server.settle();
  const drops0 = udpSocket(server.udpPort).drops;
  const cpu0 = cpuSeconds(server.pid);
  const stopSampling = server.sample();
  const s = await runSender(server.udpPort, rate, STEP_SECONDS);
  const drained = Math.max(await waitQueueEmpty(server.udpPort), s.t1);
  const samples = await stopSampling(s.t0, s.t1);
  const cpu1 = cpuSeconds(server.pid);
  const after = await server.settle();
  const drops = udpSocket(server.udpPort).drops - drops0;
  const accepted = after.accepted - before.accepted;
  const window = drained - s.t0;
  return {
    target: rate,
    offered: s.lines,
    offeredRate: s.lines / s.seconds,
    accepted,
    acceptedRate: accepted / window,
    loss: ((s.lines - accepted) / s.lines) * 100,
    drops,
    errors: after.errors - before.errors,
    samples,
    serverCpu: (cpu1 - cpu0) / window,
    senderCpu: s.cpu,
    senderErrors: s.errors,
    linesPerDatagram: s.linesPerDatagram,
    meanBytes: s.meanBytes,
  };
}

async function runServer(start) {
  const server = await start();
  const steps = [];
  try {
    for (const rate of RATES) {
      process.stderr.write(`  daemon ${server.id} @ ${rateName(rate)} lines/s ... `);
      const r = await step(server, rate);
      process.stderr.write(
        `offered ${fmt(r.offeredRate)}/s, accepted ${fmt(r.acceptedRate)}/s, loss ${r.loss.toFixed(3)}%, ` +
          `kernel drops ${r.drops} datagrams, server CPU ${(r.serverCpu * 100).toFixed(0)}%, sender CPU ${(r.senderCpu * 100).toFixed(0)}%\n`,
      );
      steps.push(r);
      await sleep(200);
    }
    return { id: server.id, name: server.name, receiveBuffer: server.receiveBuffer, steps };
  } finally {
    await server.stop();
  }
}

async function main() {
  const load = os.loadavg()[0];
  const results = [];
  for (const start of [startOurs, startEtsy]) results.push(await runServer(start));

  const groups = RATES.map((rate, i) => ({
    name: `rate-${rateName(rate)}`,
    title: `Offered ${rateName(rate)} lines/s for ${STEP_SECONDS} s: lines accepted per second`,
    unit: 'lines/s',
    baseline: 'ours',
    cost: false,
    cases: results.map((r) => {
      const st = r.steps[i];
      return {
        id: r.id,
        name: r.name,
        note:
          `offered ${fmt(st.offeredRate)}/s, loss ${st.loss.toFixed(3)}% (${st.offered - st.accepted} of ${st.offered} lines; ` +
          `${st.drops} datagrams dropped by the kernel${st.errors ? `; ${st.errors} bad lines` : ''}); ` +
          `server CPU ${(st.serverCpu * 100).toFixed(0)}%, sender CPU ${(st.senderCpu * 100).toFixed(0)}%`,
        rate: st.acceptedRate,
        rme: rmeOf(st.samples),
        samples: Math.max(st.samples.length, 1),
      };
    }),
  }));
  // A server with no lossless step gets no row (a rate of 0 has no ratio); the
  // others' notes name it and its loss at the lowest step.
  const lossy = results.filter((r) => !r.steps.some((st) => st.loss < LOSSLESS));
  const lossyText = lossy
    .map((r) => `${r.id} lost >= ${LOSSLESS}% at every step (${r.steps[0].loss.toFixed(2)}% at ${rateName(r.steps[0].target)})`)
    .join('; ');
  groups.push({
    name: 'lossless',
    title: `Highest step with < ${LOSSLESS}% loss: lines accepted per second`,
    unit: 'lines/s',
    baseline: 'ours',
    cost: false,
    cases: results
      .filter((r) => !lossy.includes(r))
      .map((r) => {
        const ok = r.steps.filter((st) => st.loss < LOSSLESS);
        const best = ok.reduce((a, b) => (b.acceptedRate > a.acceptedRate ? b : a));
        const firstLoss = r.steps.find((st) => st.loss >= LOSSLESS);
        return {
          id: r.id,
          name: r.name,
          note:
            `at the ${rateName(best.target)} step (offered ${fmt(best.offeredRate)}/s, loss ${best.loss.toFixed(3)}%)` +
            (firstLoss ? `; first lossy step ${rateName(firstLoss.target)}: loss ${firstLoss.loss.toFixed(2)}%` : '; no step lost data') +
            (lossyText ? `; ${lossyText}` : ''),
          rate: best.acceptedRate,
          rme: rmeOf(best.samples),
          samples: Math.max(best.samples.length, 1),
        };
      }),
  });

  const first = results[0].steps[0];
  const maxSender = Math.max(...results.flatMap((r) => r.steps.map((st) => st.senderCpu)));
  process.stdout.write(
    `${JSON.stringify({
      suite: 'daemon',
      title: 'Daemon: accepted vs offered lines over loopback UDP',
      description:
        `bench/corpus.js seed 4 (2000 keys) in datagrams of <= 1432 B (mean ${Math.round(first.meanBytes)} B, ` +
        `${first.linesPerDatagram.toFixed(1)} lines), offered at ${RATES.map(rateName).join(', ')} lines/s for ${STEP_SECONDS} s each ` +
        `by a paced sender process; both servers flush every ${FLUSH_MS} ms`,
      quick,
      peers: ['statsd'],
      groups,
      targets: [{ text: `>= 3M lines/s accepted with < ${LOSSLESS}% loss`, case: 'lossless/ours', min: 3e6 }],
      summary: [summaryRow(results)],
      notes: [
        'accepted rate = lines the server accepted / (first datagram sent .. server socket queue empty after the last); loss = 1 - accepted/offered (kernel drops from /proc/net/udp). A step whose offered rate is below its target means the sender could not keep up.',
        `ours: \`node dist/cli.js serve --port 0 --http 0 --flush-interval ${FLUSH_MS}\`, stdout sink to /dev/null, accepted from HTTP /stats \`metrics\`; its receive buffer is ${results[0].receiveBuffer ? `${results[0].receiveBuffer >> 20} MiB (SO_RCVBUFFORCE, as root)` : 'as set by the daemon'}. etsy: npm statsd 0.9.0 stats.js with its stock dgram server (default receive buffer, net.core.rmem_default ${readSysctl('rmem_default')} B) and graphite backend to a carbon listener in the bench process; accepted = its flushed metrics_received - bad_lines_seen. etsy reads nothing while it flushes, so with its stock buffer it drops datagrams at every flush even at low rates (in a separate probe at 0.25M lines/s, all of its kernel drops fell in the ~40 ms after each flush).`,
        `The sender is a separate Node process (one connected UDP socket, pre-built datagrams, paced on a 1 ms clock); it used up to ${(maxSender * 100).toFixed(0)}% of a core. The machine has ${os.cpus().length} cores, so sender, server threads and the kernel's loopback work compete; other jobs may be running (1-minute load average ${load.toFixed(2)} at the start).`,
        '± is the 95% interval over the per-interval accepted rates inside each step (ours: /stats read every 0.25 s; etsy: each 1 s flush; a step shorter than two intervals gives rme 0).',
      ],
    })}\n`,
  );
}

// The README row: our highest lossless step against etsy's (or etsy's loss at the lowest step).
function summaryRow(results) {
  const [ours, etsy] = results;
  const best = (r) => r.steps.filter((st) => st.loss < LOSSLESS).reduce((a, b) => (!a || b.acceptedRate > a.acceptedRate ? b : a), undefined);
  const o = best(ours);
  const e = best(etsy);
  const top = (r, b) => b === r.steps[r.steps.length - 1];
  const oursText = o ? `${top(ours, o) ? '≥ ' : ''}${fmt(o.acceptedRate)} lines/s` : `loses ${ours.steps[0].loss.toFixed(1)}% at ${rateName(ours.steps[0].target)}/s`;
  let relative;
  if (!e) relative = `loses ${etsy.steps[0].loss.toFixed(1)}% already at ${rateName(etsy.steps[0].target)} lines/s`;
  else if (o) relative = `${fmt(e.acceptedRate)} lines/s (${top(ours, o) ? '≥ ' : ''}${(o.acceptedRate / e.acceptedRate).toFixed(0)}x less)`;
  else relative = `${fmt(e.acceptedRate)} lines/s`;
  return {
    text: `daemon, lines/s accepted with < ${LOSSLESS}% loss (loopback UDP, ${STEP_SECONDS} s steps)`,
    case: 'lossless/ours',
    ours: oursText,
    peer: 'etsy statsd {version}',
    package: 'statsd',
    relative,
  };
}

function readSysctl(name) {
  try {
    return fs.readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim();
  } catch {
    return '?';
  }
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

runEntry(
  'daemon bench',
  argv.includes('--sender') ? () => sender(Number(arg('--port')), Number(arg('--rate')), Number(arg('--seconds'))) : undefined,
  main,
);
