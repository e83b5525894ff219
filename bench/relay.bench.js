// Relay: lines/s forwarded with no loss by `statsd-native relay` and by etsy statsd 0.9's proxy.js, same sender, same downstreams, in the same run; and the relay's CPU per line against a daemon's own.
'use strict';

// Each relay runs in turn in front of the same two downstream daemons
// (`statsd-native serve`, native receive threads, flushes every hour: they
// count what arrives on /stats, metrics + errors). The sender is bench/c's
// sendmmsg sender replaying `statsd-native load`'s packets (its default mix,
// ~30 lines a datagram) at a paced rate for SECONDS; the relay under test
// re-routes every line by key to one of the two. A step is lossless when the
// daemons counted every line sent (after the relay drained). Rates double
// from 50k lines/s until a step loses lines; the result is the highest
// lossless step. proxy.js needs its nodes' admin ports to answer `health`:
// the suite answers "health: up" for them. CPU: /proc/<pid>/stat of the
// relay's and of a downstream daemon's process over the highest lossless
// step, per line each handled.

const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { quick } = require('./args');
const { runSuite } = require('./harness');
const { writePackets, runCSender } = require('./native-tools');
const { cpuSeconds, freePort, getJSON, sleep, stopChild, track, waitForOutput } = require('./processes');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SECONDS = quick ? 1 : 3;
/** Where the doubling starts: proxy.js already loses lines at 50k lines/s here. */
const FIRST_RATE = { ours: 100_000, proxy: 5_000 };
const MAX_RATE = quick ? 800_000 : 12_800_000;

async function startDaemon() {
  const child = track(spawn(process.execPath, [CLI, 'serve', '--port', '0', '--http', '127.0.0.1:0', '--flush-interval', '3600000', '--history-window', '0'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  const m = await waitForOutput(child, 'stderr', /udp:\/\/[\d.]+:(\d+).*http:\/\/[\d.]+:(\d+)/, 'statsd-native serve');
  return { child, udp: Number(m[1]), http: Number(m[2]) };
}

async function received(daemons) {
  let n = 0;
  for (const d of daemons) {
    const s = await getJSON(d.http, '/stats');
    n += s.metrics + s.errors;
  }
  return n;
}

/** An etsy admin port answering proxy.js's health checks. */
async function healthPort() {
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.write('health: up\n'));
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

async function startRelay(kind, daemons, admins) {
  const port = await freePort('udp');
  if (kind === 'ours') {
    const args = [CLI, 'relay', '--port', String(port), ...daemons.flatMap((d) => ['--node', `127.0.0.1:${d.udp}`])];
    const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    await waitForOutput(child, 'stderr', /listening on/, 'statsd-native relay');
    return { child, port, stop: () => stopChild(child) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-proxy-'));
  const config = path.join(dir, 'proxy-config.js');
  const mgmt = await freePort('tcp');
  fs.writeFileSync(
    config,
    `(${JSON.stringify({
      nodes: daemons.map((d, i) => ({ host: '127.0.0.1', port: d.udp, adminport: admins[i].port })),
      server: './servers/udp',
      host: '127.0.0.1',
      port,
      mgmt_port: mgmt,
      mgmt_address: '127.0.0.1',
      forkCount: 0,
      checkInterval: 1000,
      cacheSize: 10000,
    })})`,
  );
  const child = track(spawn(process.execPath, [path.join(ROOT, 'node_modules', 'statsd', 'proxy.js'), config], { cwd: path.join(ROOT, 'node_modules', 'statsd'), stdio: ['ignore', 'pipe', 'pipe'] }));
  await sleep(1500); // its first health round, then the UDP server
  return {
    child,
    port,
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Steps up the rate through one relay; the highest lossless step and its CPU per line. */
async function measure(kind) {
  const file = path.join(os.tmpdir(), `sne-relay-packets-${process.pid}.bin`);
  const corpus = writePackets(file, 'relay');
  const daemons = [await startDaemon(), await startDaemon()];
  const admins = [await healthPort(), await healthPort()];
  const relay = await startRelay(kind, daemons, admins);
  const steps = [];
  try {
    for (let rate = FIRST_RATE[kind]; rate <= MAX_RATE; rate *= 2) {
      const before = await received(daemons);
      const cpu0 = [cpuSeconds(relay.child.pid), cpuSeconds(daemons[0].child.pid) + cpuSeconds(daemons[1].child.pid)];
      const sent = await runCSender(file, relay.port, rate, SECONDS);
      // drained: nothing more arrives over half a second
      let got = await received(daemons);
      for (let last = -1; got !== last; ) {
        last = got;
        await sleep(500);
        got = await received(daemons);
      }
      const cpu1 = [cpuSeconds(relay.child.pid), cpuSeconds(daemons[0].child.pid) + cpuSeconds(daemons[1].child.pid)];
      const delivered = got - before;
      const step = {
        offered: sent.achievedRate,
        sent: sent.linesSent,
        delivered,
        lost: sent.linesSent - delivered,
        relayCpuPerLine: (cpu1[0] - cpu0[0]) / Math.max(1, delivered),
        daemonCpuPerLine: (cpu1[1] - cpu0[1]) / Math.max(1, delivered),
      };
      steps.push(step);
      process.stderr.write(`    ${kind} @ ${Math.round(sent.achievedRate)} lines/s: ${delivered} of ${sent.linesSent} delivered\n`);
      if (step.lost !== 0 || sent.achievedRate < rate * 0.9) break; // lossy, or the sender could not offer more
    }
  } finally {
    await relay.stop();
    for (const d of daemons) await stopChild(d.child);
    for (const a of admins) a.server.close();
    fs.rmSync(file, { force: true });
  }
  const lossless = steps.filter((s) => s.lost === 0);
  const best = lossless[lossless.length - 1];
  return {
    rate: best ? best.offered : 0,
    rme: 0,
    samples: steps.length,
    steps,
    linesPerPacket: corpus.linesPerPacket,
    relayCpuPerLine: best?.relayCpuPerLine,
    daemonCpuPerLine: best?.daemonCpuPerLine,
    note: best
      ? `highest lossless step ${Math.round(best.offered).toLocaleString('en')} lines/s; relay CPU ${(best.relayCpuPerLine * 1e9).toFixed(0)} ns/line, the two daemons' ${(best.daemonCpuPerLine * 1e9).toFixed(0)} ns/line` +
        (steps.length > lossless.length ? `; next step lost ${steps[steps.length - 1].lost} of ${steps[steps.length - 1].sent}` : '')
      : `lost lines at the first step (${steps[0]?.lost} of ${steps[0]?.sent})`,
  };
}

/** The load generator's packets (its default mix), for the in-process cost cases. */
function corpus() {
  const { buildPackets } = require(path.join(ROOT, 'dist', 'load', 'load.js'));
  const packets = buildPackets({ target: 'udp://127.0.0.1:0', prefix: 'cost' }, false);
  return { packets: packets.map((p) => p.bytes), lines: packets.reduce((a, p) => a + p.lines, 0) };
}

runSuite({
  suite: 'relay',
  title: 'Relay: lines/s forwarded with no loss, ours vs etsy statsd proxy.js',
  peers: ['statsd'],
  description: `bench/c sendmmsg sender replaying \`statsd-native load\` packets (default mix) into the relay for ${SECONDS} s a step, rates doubling from ${FIRST_RATE.ours.toLocaleString('en')} lines/s (proxy.js: ${FIRST_RATE.proxy.toLocaleString('en')}); the relay routes every line by key to two \`statsd-native serve\` daemons, which count what arrives`,
  groups: [
    {
      name: 'lossless',
      title: 'Highest lossless rate (every line sent counted by the downstream daemons)',
      unit: 'lines/s',
      baseline: 'proxy',
      cases: {
        ours: { name: '`statsd-native relay` (native route per datagram, packed per node)', run: () => measure('ours') },
        proxy: { name: 'etsy statsd 0.9 proxy.js (hashring, one datagram per line)', run: () => measure('proxy') },
      },
    },
    {
      name: 'cost',
      title: 'In one process, per line: the relay\'s native routing (parse, key, hash, pack per node) against a daemon\'s ingest of the same packets',
      unit: 'lines/s',
      baseline: 'ingest',
      cases: {
        route: {
          name: 'KeyRouter.route over the load packets, 2 nodes, full packets taken',
          prepare: () => {
            const { KeyRouter } = require(path.join(ROOT, 'dist', 'scale', 'key-router.js'));
            return { router: new KeyRouter(2), ...corpus() };
          },
          fn: (_c, s) => {
            let taken = 0;
            for (const p of s.packets) if (s.router.route(p) > 0) taken += s.router.take(false).length;
            return taken;
          },
          units: (_c, s) => s.lines,
        },
        ingest: {
          name: 'Aggregator.ingest of the same packets (a daemon\'s parse and aggregate, brubeck)',
          prepare: () => {
            const { Aggregator } = require(path.join(ROOT, 'dist', 'aggregator', 'aggregator.js'));
            return { aggregator: new Aggregator(), ...corpus() };
          },
          fn: (_c, s) => {
            let n = 0;
            for (const p of s.packets) n += s.aggregator.ingest(p).lines;
            return n;
          },
          units: (_c, s) => s.lines,
        },
      },
    },
  ],
  targets: [{ text: 'relay ≥ 10× proxy.js lossless lines/s (issue [7/7])', case: 'lossless/ours', over: 'lossless/proxy', min: 10 }],
  summary: [{ text: 'Relay, lossless lines/s', case: 'lossless/ours', over: 'lossless/proxy', peer: 'etsy statsd {version} proxy.js', package: 'statsd' }],
  notes: [
    'A step counts as lossless only when the daemons counted every line the sender reported as sent; the rate is what the sender achieved. The machine runs the sender, the relay and both daemons: the ceiling is this 2-core machine\'s, shared.',
    'CPU per line: user + system seconds of the relay process (and of the two daemons together) over the highest lossless step, divided by the lines delivered; the issue\'s target is a relay cost within 10% of a daemon\'s own parse.',
  ],
});
