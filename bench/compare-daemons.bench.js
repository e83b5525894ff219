// Daemon comparison through the load generator: our daemon and etsy statsd 0.9 on loopback, each driven by `statsd-native load` at the same rates, delivery counted at a Graphite sink.
'use strict';

const { cpuSeconds, freePort, sleep, startEtsyStatsd, stopChild: stopAfter, track, waitForOutput } = require('./processes');
const { rate } = require('./format');
const { runSuite } = require('./harness');

// The step's figures are in by then, and the sink has gone: ours would spend its
// stop timeout trying to deliver a last flush, so it gets 300 ms before SIGKILL.
const stopChild = (child) => stopAfter(child, 300);

// Run it with the others (`npm run bench`), alone (`npm run bench --
// compare-daemons`, which rewrites its section of docs/benchmarks.md and its
// charts), or directly to try other rates without touching the docs:
//
//   node bench/compare-daemons.bench.js [--quick] [--rates 50000,200000] [--duration S]
//
// It needs `npm run build` (dist/cli.js) and the devDependency `statsd`. For
// each server and rate, on 127.0.0.1, fresh each time:
// 1. pick a free TCP port P for the Graphite sink;
// 2. start the server with its Graphite output at P and a FLUSH_MS interval:
//      ours: node dist/cli.js serve --port 0 --flush-interval F --graphite 127.0.0.1:P
//      etsy: node node_modules/statsd/stats.js config.js  (stock UDP server,
//            graphite backend to P, management port on a free port)
// 3. run the load generator as a user would:
//      node dist/cli.js load --target 127.0.0.1:<udp> --rate R --duration D --sink P --wait W --json
//    it listens on P, offers its default mix (1000 keys; c 35%, ms 30%, g 15%,
//    h 10%, s 10%; 1432-byte datagrams) paced every millisecond, then waits
//    until every counter increment it sent has been flushed to P, or W seconds;
// 4. stop the server (SIGTERM, then SIGKILL after 300 ms).
// Loss is measured on counter increments: every `c` line is `name:1|c`, and the
// sink sums what the server flushed under `load.<run id>.c.*` (ours) or
// `stats_counts.load.<run id>.c.*` (etsy). Delivered lines/s = offered lines/s × (1 - loss).
// Server CPU comes from /proc/<pid>/stat over the step. Every child process is
// killed when this one exits, fails or is interrupted. Each server is an inline
// case (bench/harness.js) running its steps; report() draws them.

const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const { quick, arg } = require('./args');

const RATES = arg('--rates')
  ? arg('--rates').split(',').map(Number)
  : quick
    ? [100e3, 1e6]
    : [50e3, 100e3, 250e3, 500e3, 1e6, 2e6, 4e6, 8e6];
const DURATION = Number(arg('--duration') ?? (quick ? 0.5 : 4));
const FLUSH_MS = quick ? 500 : 1000;
const WAIT_S = (FLUSH_MS * 2.5) / 1000; // the last interval's flush, with room for a late one
const LOSSLESS = 0.1; // % of counter increments lost, still counted as lossless

const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const fmt = (x) => rate(x, 'round');

// --- the two servers ---------------------------------------------------------------

const SERVERS = {
  ours: {
    name: 'ours, `statsd-native serve`',
    async start(sinkPort) {
      const child = track(
        spawn(process.execPath, [CLI, 'serve', '--port', '0', '--flush-interval', String(FLUSH_MS), '--graphite', `127.0.0.1:${sinkPort}`], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      );
      const m = await waitForOutput(child, 'stderr', /udp:\/\/[\d.]+:(\d+)/, 'statsd-native serve');
      child.stderr.resume();
      return { child, udpPort: Number(m[1]), stop: () => stopChild(child) };
    },
  },
  etsy: {
    name: 'etsy statsd 0.9.0',
    start: (sinkPort) => startEtsyStatsd({ graphitePort: sinkPort, flushInterval: FLUSH_MS, graceMs: 300 }),
  },
};

/** `statsd-native load ... --json`: its summary object. */
function runLoadCli(udpPort, sinkPort, rate) {
  const args = [CLI, 'load', '--target', `127.0.0.1:${udpPort}`, '--rate', String(rate), '--duration', String(DURATION)];
  args.push('--sink', String(sinkPort), '--wait', String(WAIT_S), '--json');
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

async function step(id, rate) {
  const sinkPort = await freePort();
  const server = await SERVERS[id].start(sinkPort);
  try {
    await sleep(100);
    const cpu0 = cpuSeconds(server.child.pid);
    const s = await runLoadCli(server.udpPort, sinkPort, rate);
    // the server's CPU time over the step, per second of load
    const cpu = (cpuSeconds(server.child.pid) - cpu0) / s.elapsed;
    const loss = s.sink.loss * 100;
    return {
      target: rate,
      offered: s.achievedRate,
      sent: s.linesSent,
      errors: s.errors,
      counterLines: s.counterLines,
      counted: s.sink.counted,
      loss,
      delivered: s.achievedRate * (1 - s.sink.loss),
      flushes: s.sink.flushes,
      latency: s.sink.medianFlushLatency,
      cpu,
    };
  } finally {
    await server.stop();
  }
}

async function runServer(id) {
  const steps = [];
  for (const r of RATES) {
    process.stderr.write(`    ${id} @ ${fmt(r)} lines/s ... `);
    const st = await step(id, r);
    process.stderr.write(
      `offered ${fmt(st.offered)}/s, counter increments ${st.counted} of ${st.counterLines} (loss ${st.loss.toFixed(3)}%), ` +
        `delivered ${fmt(st.delivered)} lines/s, server CPU ${(st.cpu * 100).toFixed(0)}%, ${st.flushes} flushes\n`,
    );
    steps.push(st);
  }
  return { steps };
}

function report(measured) {
  const results = Object.fromEntries(measured.servers.cases.map((c) => [c.id, c.result.steps]));

  const lossless = (steps) => steps.filter((st) => st.loss < LOSSLESS).reduce((a, b) => (!a || b.target > a.target ? b : a), undefined);
  const series = (y, text) =>
    Object.entries(results).map(([id, steps]) => ({
      id,
      name: SERVERS[id].name,
      ours: id === 'ours',
      points: steps.map((st) => ({ x: st.target, y: y(st), text: text(st) })),
    }));
  const groups = [
    {
      name: 'delivered',
      title: 'Delivered against offered lines/s (statsd-native load → server → Graphite sink)',
      kind: 'series',
      unit: 'lines/s',
      better: 'higher',
      x: { label: 'offered (target rate)', unit: 'lines/s', log: true },
      y: { label: 'delivered', log: true },
      reference: 'diagonal',
      series: series(
        (st) => st.delivered,
        (st) => `${fmt(st.delivered)} of ${fmt(st.offered)} lines/s (CPU ${(st.cpu * 100).toFixed(0)}%)`,
      ),
    },
    {
      name: 'loss',
      title: 'Counter increments lost against offered lines/s',
      kind: 'series',
      unit: '% lost',
      better: 'lower',
      x: { label: 'offered (target rate)', unit: 'lines/s', log: true },
      y: { label: 'counter increments lost' },
      series: series(
        (st) => st.loss,
        (st) => `${st.loss.toFixed(st.loss < 1 ? 3 : 1)}% (${st.counterLines - st.counted} of ${st.counterLines})`,
      ),
    },
    {
      name: 'lossless',
      title: `Highest offered rate with < ${LOSSLESS}% of counter increments lost`,
      unit: 'lines/s',
      baseline: 'ours',
      cost: false,
      cases: Object.entries(results)
        .map(([id, steps]) => {
          const best = lossless(steps);
          if (!best) return undefined;
          const top = best === steps[steps.length - 1];
          return {
            id,
            name: SERVERS[id].name,
            note: `offered ${fmt(best.offered)}/s at the ${fmt(best.target)} step, loss ${best.loss.toFixed(3)}%${top ? ' (the top step: the limit is higher)' : ''}`,
            rate: best.offered,
            rme: 0,
            samples: 1,
          };
        })
        .filter(Boolean),
    },
  ];

  const o = lossless(results.ours);
  const e = lossless(results.etsy);
  const oursTop = o !== undefined && o === results.ours[results.ours.length - 1];
  const summary = [
    {
      text: `daemon driven by \`statsd-native load\`: highest offered rate with < ${LOSSLESS}% loss`,
      case: 'lossless/ours',
      ours: o ? `${oursTop ? '≥ ' : ''}${fmt(o.offered)} lines/s` : `loses ${results.ours[0].loss.toFixed(1)}% at ${fmt(RATES[0])} lines/s`,
      peer: 'etsy statsd {version}',
      package: 'statsd',
      relative: !e
        ? `loses ${results.etsy[0].loss.toFixed(1)}% already at ${fmt(RATES[0])} lines/s`
        : o
          ? `${fmt(e.offered)} lines/s (${oursTop ? '≥ ' : ''}${(o.offered / e.offered).toFixed(0)}x less)`
          : `${fmt(e.offered)} lines/s`,
    },
  ];

  return {
    description:
      `\`statsd-native load\` (default mix: 1000 keys, c 35% / ms 30% / g 15% / h 10% / s 10%, 1432-byte datagrams) ` +
      `at ${RATES.map(fmt).join(', ')} lines/s for ${DURATION} s each against a fresh server per step on loopback UDP; ` +
      `both servers flush every ${FLUSH_MS} ms to the load generator's Graphite sink (--sink)`,
    groups,
    summary,
    notes: [
      'Servers: ours is `node dist/cli.js serve` (brubeck convention, one native receiving thread, the default receive buffer); etsy is `node node_modules/statsd/stats.js config.js` (npm statsd 0.9.0, its stock UDP server and graphite backend, management port on a free port).',
      'Reproduce: `npm run build && node bench/compare-daemons.bench.js` (prints the tables; `--rates 50000,200000 --duration 10` to choose), or `npm run bench -- compare-daemons` to regenerate this section and its charts. The steps are at the top of bench/compare-daemons.bench.js.',
      `Loss is of counter increments, the only lines whose delivery a Graphite sink can count exactly: the load generator sends every \`c\` line as \`name:1|c\` and the sink sums what each server flushed (ours \`load.<run id>.c.*\`, etsy \`stats_counts.load.<run id>.c.*\`) until all arrived or ${WAIT_S} s after the load ended. Delivered lines/s = offered × (1 - loss), i.e. the counters' loss taken as the loss of every line.`,
      'Offered is the rate the load generator achieved (lines sent / duration); at the highest steps it can fall short of the target on this machine, and the table shows what it reached. Server CPU is the server process\'s user + system time over the whole step (load and the wait for the last flush) divided by the load\'s duration (load generator and servers share the 2 cores, and our daemon\'s receiving thread counts in its process).',
      `Flush latency as the sink sees it (arrival minus the flush's timestamp) is not charted: both servers stamp whole seconds (ours floors, etsy rounds), so it is only known to ±1 s; median over the steps: ours ${medianLatency(results.ours)}, etsy ${medianLatency(results.etsy)}.`,
      `The daemon suite measures the same servers with its own paced sender and the servers' own counters; this one is what a user of \`statsd-native load\` sees. The machine has ${os.cpus().length} cores; other jobs may be running (1-minute load average ${LOAD.toFixed(2)} at the start).`,
    ],
  };
}

function medianLatency(steps) {
  const xs = steps.map((st) => st.latency).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return xs.length ? `${xs[Math.floor(xs.length / 2)].toFixed(2)} s` : 'none';
}

runSuite({
  suite: 'compare-daemons',
  title: 'Daemons under the load generator: ours vs etsy statsd 0.9',
  peers: ['statsd'],
  groups: [
    {
      name: 'servers',
      hidden: true, // report() draws their steps
      cases: Object.fromEntries(Object.entries(SERVERS).map(([id, s]) => [id, { name: s.name, inline: true, run: () => runServer(id) }])),
    },
  ],
  report,
});
