// Daemon comparison on loopback: ours, etsy statsd 0.9, collectd's statsd plugin and a bare recvmmsg ceiling, each fed by `statsd-native load` or a C sendmmsg sender at the same rates, delivery counted at a Graphite sink.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { collectdVersion, counterSink, netdataNote, startCollectd } = require('./c-peers');
const { report } = require('./compare-daemons-report');
const { rate } = require('./format');
const { runSuite } = require('./harness');
const { runCSender, startCeiling, writePackets } = require('./native-tools');
const { cpuSeconds, freePort, sleep, startEtsyStatsd, stopChild: stopAfter, track, udpSocket, waitForOutput } = require('./processes');

// The step's figures are in by then, and the sink has gone: ours would spend its
// stop timeout trying to deliver a last flush, so it gets 300 ms before SIGKILL.
const stopChild = (child) => stopAfter(child, 300);

// Run it with the others (`npm run bench`), alone (`npm run bench --
// compare-daemons`, which rewrites its section of docs/benchmarks.md and its
// charts), or directly to try other rates without touching the docs:
//
//   node bench/compare-daemons.bench.js [--quick] [--rates 50000,200000] [--duration S]
//        [--pairs ours:node,ceiling:c,...]     server:sender pairs (default below)
//
// It needs `npm run build` (dist/), the devDependency `statsd`, and `cc` (the C
// tools in bench/c/ are compiled at run time, bench/native-tools.js);
// collectd is measured when /usr/sbin/collectd is installed (collectd-core).
// Servers: ours (ours2 and ours4: with --shards 2 and 4), etsy, collectd, and `ceiling` (bench/c/ceiling.c: one thread
// that only counts what recvmmsg returns, 64 MiB receive buffer). Senders:
// `node` is `statsd-native load`; `c` is bench/c/sender.c replaying the same
// packets (dist/load/load.js buildPackets: default mix, 1000 keys, 1432-byte
// datagrams) with sendmmsg, paced every millisecond like the load generator.
// For each pair and rate, on 127.0.0.1, fresh each time:
// 1. pick a free TCP port P for the Graphite sink;
// 2. start the server with its Graphite output at P and a FLUSH_MS interval:
//      ours:     node dist/cli.js serve --port 0 --flush-interval F --graphite 127.0.0.1:P
//      etsy:     node node_modules/statsd/stats.js config.js (stock UDP server, graphite backend)
//      collectd: /usr/sbin/collectd -f -C <private config> (statsd + write_graphite, c-peers.js)
//      ceiling:  bench/c/ceiling (no sink)
// 3. send, for D seconds at R lines/s:
//      node: node dist/cli.js load --target 127.0.0.1:<udp> --rate R --duration D --json
//            [--sink P --wait W]  (ours and etsy: the load generator's own sink counts)
//      c:    bench/c/sender <packets file> <udp> R D  (keys under a fresh load.<hex> prefix)
//    then wait until every counter increment sent has been flushed to P, or W
//    seconds (the load generator's own rule; bench/c-peers.js counterSink for
//    the pairs it does not count); the ceiling instead waits for its socket's
//    queue to be empty and reports the lines it read;
// 4. stop the server (SIGTERM, then SIGKILL after 300 ms).
// Loss is measured on counter increments: every `c` line is `name:1|c`, and the
// sink sums what the server flushed under the run's prefix; for the ceiling it
// is lines read vs lines sent. Delivered lines/s = offered lines/s × (1 - loss).
// Server CPU comes from /proc/<pid>/stat over the step. Every child process is
// killed when this one exits, fails or is interrupted. Each pair is an inline
// case (bench/harness.js) running its steps; report() (compare-daemons-report.js) draws them.

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const { quick, arg } = require('./args');

const RATES = arg('--rates')
  ? arg('--rates').split(',').map(Number)
  : quick
    ? [100e3, 1e6]
    : [50e3, 100e3, 250e3, 500e3, 1e6, 2e6, 4e6, 8e6, 16e6]; // 16M: past ours, and past what one sender core offers here
const DURATION = Number(arg('--duration') ?? (quick ? 0.5 : 4));
const FLUSH_MS = quick ? 500 : 1000;
const WAIT_S = (FLUSH_MS * 2.5) / 1000; // the last interval's flush, with room for a late one
const LOSSLESS = 0.1; // % of counter increments lost, still counted as lossless

// etsy with the C sender is left out by default: it saturates well below what
// `statsd-native load` offers, so its sender is never the limit. Quick runs
// keep one pair per question (existing rows, the ceiling, each sender, collectd).
const PAIRS = (arg('--pairs') ?? (quick ? 'ours:node,etsy:node,ceiling:node,ours:c,ours2:c,ceiling:c,collectd:c' : 'ours:node,etsy:node,collectd:node,ceiling:node,ours:c,ours2:c,collectd:c,ceiling:c'))
  .split(',')
  .map((p) => p.split(':'));

const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const COLLECTD = collectdVersion();
const fmt = (x) => rate(x, 'round');

// --- servers and senders ---------------------------------------------------------

// counts: what loss is measured on; loadSink: the load generator's own sink
// knows its flushed names (src/load/load.ts GraphiteCounterSink).
// Ours with `shards` aggregation threads (1: the receiving thread aggregates).
function ours(shards) {
  return {
    name: shards === 1 ? 'ours, `statsd-native serve`' : `ours, \`serve --shards ${shards}\``,
    counts: 'counters',
    loadSink: true,
    async start(sinkPort) {
      const args = [CLI, 'serve', '--port', '0', '--http', '0', '--flush-interval', String(FLUSH_MS), '--graphite', `127.0.0.1:${sinkPort}`, '--shards', String(shards)];
      const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }));
      const m = await waitForOutput(child, 'stderr', /udp:\/\/[\d.]+:(\d+)/, 'statsd-native serve');
      child.stderr.resume();
      return { child, udpPort: Number(m[1]), stop: () => stopChild(child) };
    },
  };
}

const SERVERS = {
  ours: ours(1),
  ours2: ours(2),
  ours4: ours(4),
  etsy: {
    name: 'etsy statsd 0.9.0',
    counts: 'counters',
    loadSink: true,
    start: (sinkPort) => startEtsyStatsd({ graphitePort: sinkPort, flushInterval: FLUSH_MS, graceMs: 300 }),
  },
  collectd: {
    name: COLLECTD ? `collectd ${COLLECTD} statsd plugin` : 'collectd statsd plugin',
    counts: 'counters',
    loadSink: false,
    available: COLLECTD !== undefined,
    start: (sinkPort) => startCollectd({ sinkPort, flushMs: FLUSH_MS }),
  },
  ceiling: {
    name: 'bare recvmmsg ceiling',
    counts: 'lines',
    start: () => startCeiling(),
  },
};

const SENDERS = {
  node: { name: '`statsd-native load`' },
  c: { name: 'C sendmmsg' },
};

const pairId = (server, sender) => (sender === 'node' ? server : `${server}-${sender}`);
const pairName = (server, sender) => `${SERVERS[server].name} ← ${SENDERS[sender].name}`;

/** `statsd-native load ... --json` (with its own sink at `sinkPort` when given): its summary object. */
function runLoadCli(udpPort, sinkPort, rate) {
  const args = [CLI, 'load', '--target', `127.0.0.1:${udpPort}`, '--rate', String(rate), '--duration', String(DURATION), '--json'];
  if (sinkPort !== undefined) args.push('--sink', String(sinkPort), '--wait', String(WAIT_S));
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`statsd-native load exited with ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

// The C sender's packet file, rewritten each step with a fresh prefix.
let packetDir;
let packetInfo;
function packetFile(prefix) {
  if (packetDir === undefined) {
    packetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'statsd-packets-'));
    process.once('exit', () => fs.rmSync(packetDir, { recursive: true, force: true }));
  }
  const file = path.join(packetDir, 'packets.bin');
  packetInfo = writePackets(file, prefix);
  return file;
}

async function step(serverId, senderId, rate) {
  const srv = SERVERS[serverId];
  const loadSink = senderId === 'node' && srv.loadSink;
  const sink = srv.counts === 'lines' || loadSink ? undefined : await counterSink();
  const sinkPort = sink?.port ?? (await freePort());
  const server = await srv.start(sinkPort);
  try {
    await sleep(100);
    const cpu0 = cpuSeconds(server.child.pid);
    let s;
    if (senderId === 'node') s = await runLoadCli(server.udpPort, loadSink ? sinkPort : undefined, rate);
    else {
      const prefix = `load.${crypto.randomBytes(4).toString('hex')}`; // as src/load/load.ts runPrefix
      s = { ...(await runCSender(packetFile(prefix), server.udpPort, rate, DURATION)), prefix };
    }
    let expected = s.counterLines;
    let counted;
    let extra = {};
    let cpuEnd;
    if (srv.counts === 'lines') {
      const c = await server.stop();
      expected = s.linesSent;
      counted = c.lines;
      cpuEnd = c.cpuTotal;
      extra = { drops: c.drops, datagrams: c.datagrams, packetsSent: s.packetsSent, rcvbuf: server.rcvbuf, forced: server.forced };
    } else if (loadSink) {
      counted = s.sink.counted;
      extra = { flushes: s.sink.flushes, latency: s.sink.medianFlushLatency };
    } else {
      counted = await sink.waitFor(s.prefix, expected, WAIT_S * 1000);
    }
    // what the kernel dropped at the server's socket (a full receive buffer)
    extra.drops ??= udpSocket(server.udpPort)?.drops;
    // the server's CPU time over the step, per second of load
    const cpu = ((cpuEnd ?? cpuSeconds(server.child.pid)) - cpu0) / s.elapsed;
    const loss = expected ? (1 - counted / expected) * 100 : 0;
    return {
      target: rate,
      sender: senderId,
      offered: s.achievedRate,
      sent: s.linesSent,
      errors: s.errors,
      counterLines: s.counterLines,
      expected,
      counted,
      loss,
      delivered: s.achievedRate * (1 - loss / 100),
      cpu,
      senderCpu: s.cpu === undefined ? undefined : s.cpu / s.elapsed,
      ...extra,
    };
  } finally {
    await server.stop();
    await sink?.close();
  }
}

async function runPair(serverId, senderId) {
  const steps = [];
  for (const r of RATES) {
    process.stderr.write(`    ${pairId(serverId, senderId)} @ ${fmt(r)} lines/s ... `);
    const st = await step(serverId, senderId, r);
    const what = SERVERS[serverId].counts === 'lines' ? 'lines' : 'counter increments';
    process.stderr.write(
      `offered ${fmt(st.offered)}/s, ${what} ${st.counted} of ${st.expected} (loss ${st.loss.toFixed(3)}%), ` +
        `delivered ${fmt(st.delivered)} lines/s, server CPU ${(st.cpu * 100).toFixed(0)}%` +
        (st.senderCpu === undefined ? '' : `, sender CPU ${(st.senderCpu * 100).toFixed(0)}%`) +
        (st.errors ? `, sender errors ${st.errors}` : '') +
        (st.flushes === undefined ? '' : `, ${st.flushes} flushes`) +
        (st.drops === undefined ? '' : `, kernel drops ${st.drops}`) +
        '\n',
    );
    steps.push(st);
  }
  return { steps, packets: packetInfo };
}

for (const [server, sender] of PAIRS) {
  if (!SERVERS[server] || !SENDERS[sender]) throw new Error(`--pairs: no ${server}:${sender} (servers ${Object.keys(SERVERS).join(', ')}; senders ${Object.keys(SENDERS).join(', ')})`);
}
const pairs = PAIRS.filter(([server]) => SERVERS[server].available !== false);
const skipped = [
  ...(COLLECTD === undefined ? ['collectd is not measured: /usr/sbin/collectd (Debian `collectd-core`, with its statsd and write_graphite plugins) is not installed; the bench installs nothing.'] : []),
  netdataNote(),
];

runSuite({
  suite: 'compare-daemons',
  title: 'Daemons under load: ours vs etsy statsd 0.9, collectd and the bare recvmmsg ceiling',
  peers: ['statsd'],
  groups: [
    {
      name: 'servers',
      hidden: true, // report() draws their steps
      cases: Object.fromEntries(
        pairs.map(([server, sender]) => [pairId(server, sender), { name: pairName(server, sender), inline: true, run: () => runPair(server, sender) }]),
      ),
    },
  ],
  report: (measured) =>
    report(measured, {
      pairs: pairs.map(([server, sender]) => ({ id: pairId(server, sender), server, sender, name: pairName(server, sender) })),
      rates: RATES,
      duration: DURATION,
      flushMs: FLUSH_MS,
      waitS: WAIT_S,
      lossless: LOSSLESS,
      load: LOAD,
      collectd: COLLECTD,
      skipped,
    }),
});
