// Daemon: offered vs accepted lines/s and loss over loopback UDP at rising rates (1432-byte datagrams), ours vs etsy statsd 0.9.
'use strict';

// Each server is an inline case (bench/harness.js) that drives processes: the
// server runs as a child process, a separate sender process offers a fixed rate
// of pre-built datagrams for a few seconds per step, and the case counts what
// the server accepted; report() makes a table per rate of the steps. The
// servers and the sender are in bench/daemon-servers.js.
//
// - Traffic: the shared corpus (bench/corpus.js, seed 4, 2000 keys: c/ms/g/h/s,
//   ~10% tagged, ~10% sampled), packed greedily into datagrams of at most 1432
//   bytes (~35 lines each); the sender cycles through them.
// - Sender: `node bench/daemon.bench.js --task sender ...`, one connected UDP socket,
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
const fs = require('node:fs');
const os = require('node:os');

const { quick } = require('./args');
const { sender, startOurs, startEtsy, waitQueueEmpty, FLUSH_MS } = require('./daemon-servers');
const { rate: fmt } = require('./format');
const { runSuite, taskArgs } = require('./harness');
const { cpuSeconds, memoryBytes, sleep, track, udpSocket } = require('./processes');
const { rmeOf } = require('./stats');

const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const RATES = quick ? [0.5e6, 4e6] : [0.25e6, 0.5e6, 1e6, 2e6, 4e6, 6e6, 8e6];
const STEP_SECONDS = quick ? 1 : 3;
const LOSSLESS = 0.1; // % loss still counted as lossless

const rateName = (r) => `${r / 1e6}M`;

// --- steps ---------------------------------------------------------------------------------

function runSender(port, rate) {
  const child = track(spawn(process.execPath, taskArgs('sender', { port, rate, seconds: STEP_SECONDS }), { stdio: ['ignore', 'pipe', 'inherit'] }));
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

/** The server's resident memory after a step, and its peak so far (VmRSS, VmHWM). */
const mib = (st) => `server RSS ${(st.serverRss / 2 ** 20).toFixed(0)} MiB (peak ${(st.serverPeakRss / 2 ** 20).toFixed(0)} MiB)`;

async function step(server, rate) {
  const before = await server.settle();
  const drops0 = udpSocket(server.udpPort).drops;
  const cpu0 = cpuSeconds(server.pid);
  const stopSampling = server.sample();
  const s = await runSender(server.udpPort, rate);
  const drained = Math.max(await waitQueueEmpty(server.udpPort), s.t1);
  const samples = await stopSampling(s.t0, s.t1);
  const cpu1 = cpuSeconds(server.pid);
  const memory = memoryBytes(server.pid); // peak: since the server started, so up to this step
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
    serverRss: memory.rss,
    serverPeakRss: memory.peak,
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
      process.stderr.write(`    ${server.id} @ ${rateName(rate)} lines/s ... `);
      const r = await step(server, rate);
      process.stderr.write(
        `offered ${fmt(r.offeredRate)}/s, accepted ${fmt(r.acceptedRate)}/s, loss ${r.loss.toFixed(3)}%, ` +
          `kernel drops ${r.drops} datagrams, server CPU ${(r.serverCpu * 100).toFixed(0)}%, ${mib(r)}, sender CPU ${(r.senderCpu * 100).toFixed(0)}%\n`,
      );
      steps.push(r);
      await sleep(200);
    }
    return { id: server.id, name: server.name, receiveBuffer: server.receiveBuffer, steps };
  } finally {
    await server.stop();
  }
}

// --- the suite ------------------------------------------------------------------------------

function report(measured) {
  const results = measured.servers.cases.map((c) => c.result);

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
          `server CPU ${(st.serverCpu * 100).toFixed(0)}%, ${mib(st)}, sender CPU ${(st.senderCpu * 100).toFixed(0)}%`,
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
  return {
    description:
      `bench/corpus.js seed 4 (2000 keys) in datagrams of <= 1432 B (mean ${Math.round(first.meanBytes)} B, ` +
      `${first.linesPerDatagram.toFixed(1)} lines), offered at ${RATES.map(rateName).join(', ')} lines/s for ${STEP_SECONDS} s each ` +
      `by a paced sender process; both servers flush every ${FLUSH_MS} ms`,
    groups,
    targets: [{ text: `>= 3M lines/s accepted with < ${LOSSLESS}% loss`, case: 'lossless/ours', min: 3e6 }],
    summary: [summaryRow(results)],
    notes: [
      'accepted rate = lines the server accepted / (first datagram sent .. server socket queue empty after the last); loss = 1 - accepted/offered (kernel drops from /proc/net/udp). A step whose offered rate is below its target means the sender could not keep up.',
      `ours: \`node dist/cli.js serve --port 0 --http 0 --flush-interval ${FLUSH_MS}\`, stdout sink to /dev/null, accepted from HTTP /stats \`metrics\`; its receive buffer is ${results[0].receiveBuffer ? `${results[0].receiveBuffer >> 20} MiB (SO_RCVBUFFORCE, as root)` : 'as set by the daemon'}. etsy: npm statsd 0.9.0 stats.js with its stock dgram server (default receive buffer, net.core.rmem_default ${readSysctl('rmem_default')} B) and graphite backend to a carbon listener in the bench process; accepted = its flushed metrics_received - bad_lines_seen. etsy reads nothing while it flushes, so with its stock buffer it drops datagrams at every flush even at low rates (in a separate probe at 0.25M lines/s, all of its kernel drops fell in the ~40 ms after each flush).`,
      `The sender is a separate Node process (one connected UDP socket, pre-built datagrams, paced on a 1 ms clock); it used up to ${(maxSender * 100).toFixed(0)}% of a core. The machine has ${os.cpus().length} cores, so sender, server threads and the kernel's loopback work compete; other jobs may be running (1-minute load average ${LOAD.toFixed(2)} at the start).`,
      '± is the 95% interval over the per-interval accepted rates inside each step (ours: /stats read every 0.25 s; etsy: each 1 s flush; a step shorter than two intervals gives rme 0).',
    ],
  };
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

runSuite({
  suite: 'daemon',
  title: 'Daemon: accepted vs offered lines over loopback UDP',
  peers: ['statsd'],
  groups: [
    {
      name: 'servers',
      hidden: true, // report() makes a table per rate of their steps
      cases: {
        ours: { name: 'ours', inline: true, run: () => runServer(startOurs) },
        etsy: { name: 'etsy statsd', inline: true, run: () => runServer(startEtsy) },
      },
    },
  ],
  report,
  tasks: { sender },
});
