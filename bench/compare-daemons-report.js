// The compare-daemons suite's report: its steps as delivered/loss sweeps, each server's share of the bare recvmmsg ceiling, the lossless table, the README row and the notes.
'use strict';

// report(measured, config) gets the hidden `servers` group's results (one case
// per server:sender pair, result.steps as bench/compare-daemons.bench.js step()
// returns them) and the suite's settings, and returns what bench/harness.js
// prints (the contract at the top of bench/run.js).

const os = require('node:os');

const { rate } = require('./format');
const { compilerName } = require('./native-tools');

const fmt = (x) => rate(x, 'round');
const pct = (x) => x.toFixed(x < 1 ? 3 : 1);

// One colour per server, lighter for the C sender (the chart's dashes follow
// the series' order, so the two senders of a server still differ).
const COLORS = {
  ours: ['#1f6feb', '#8ab4f8'],
  etsy: ['#e8833a', '#f4b98a'],
  collectd: ['#2da44e', '#8fd19e'],
  ceiling: ['#6e7781', '#afb8c1'],
};
const color = (p) => COLORS[p.server]?.[p.sender === 'node' ? 0 : 1];

const medianOf = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};

function report(measured, config) {
  const results = Object.fromEntries(measured.servers.cases.map((c) => [c.id, c.result]));
  const pairs = config.pairs.filter((p) => results[p.id]);
  const stepsOf = (id) => results[id]?.steps;
  const x = { label: 'offered (target rate)', unit: 'lines/s', log: true };

  const lossless = (steps) => steps.filter((st) => st.loss < config.lossless).reduce((a, b) => (!a || b.target > a.target ? b : a), undefined);
  const series = (list, y, text) =>
    list.map((p) => ({ id: p.id, name: p.name, ours: p.server === 'ours', color: color(p), points: stepsOf(p.id).map((st) => ({ x: st.target, y: y(st, p), text: text(st, p) })) }));
  const cpuText = (st) => `CPU ${(st.cpu * 100).toFixed(0)}%${st.senderCpu === undefined ? '' : `, sender ${(st.senderCpu * 100).toFixed(0)}%`}`;

  const groups = [
    {
      name: 'delivered',
      title: 'Delivered against offered lines/s (sender → server → Graphite sink; the ceiling counts what it read)',
      kind: 'series',
      unit: 'lines/s',
      better: 'higher',
      x,
      y: { label: 'delivered', log: true },
      reference: 'diagonal',
      series: series(pairs, (st) => st.delivered, (st) => `${fmt(st.delivered)} of ${fmt(st.offered)} lines/s (${cpuText(st)})`),
    },
    {
      name: 'loss',
      title: 'Counter increments lost against offered lines/s (the ceiling: lines)',
      kind: 'series',
      unit: '% lost',
      better: 'lower',
      x,
      y: { label: 'counter increments (ceiling: lines) lost' },
      series: series(pairs, (st) => st.loss, (st) => `${pct(st.loss)}% (${st.expected - st.counted} of ${st.expected})`),
    },
  ];

  // Each server's delivered rate over the ceiling's, same sender, same target rate.
  const shares = pairs.filter((p) => p.server !== 'ceiling' && pairs.some((c) => c.server === 'ceiling' && c.sender === p.sender));
  if (shares.length > 0) {
    const ceilingAt = (p, target) => stepsOf(pairs.find((c) => c.server === 'ceiling' && c.sender === p.sender).id).find((st) => st.target === target);
    groups.push({
      name: 'ceiling-share',
      title: 'Delivered ÷ the bare recvmmsg ceiling\'s delivered, same sender and offered rate',
      kind: 'series',
      unit: '% of ceiling',
      better: 'higher',
      x,
      y: { label: 'share of the ceiling' },
      series: series(
        shares,
        (st, p) => (100 * st.delivered) / ceilingAt(p, st.target).delivered,
        (st, p) => `${((100 * st.delivered) / ceilingAt(p, st.target).delivered).toFixed(1)}% (${fmt(st.delivered)} ÷ ${fmt(ceilingAt(p, st.target).delivered)})`,
      ),
    });
  }

  groups.push({
    name: 'lossless',
    title: `Highest offered rate with < ${config.lossless}% of counter increments (ceiling: lines) lost`,
    unit: 'lines/s',
    baseline: 'ours',
    cost: false,
    cases: pairs
      .map((p) => {
        const steps = stepsOf(p.id);
        const best = lossless(steps);
        if (!best) return undefined;
        const top = best === steps[steps.length - 1];
        return {
          id: p.id,
          name: p.name,
          note: `offered ${fmt(best.offered)}/s at the ${fmt(best.target)} step, loss ${best.loss.toFixed(3)}%${top ? ' (the top step: the limit is higher)' : ''}`,
          rate: best.offered,
          rme: 0,
          samples: 1,
        };
      })
      .filter(Boolean),
  });

  // The README row: ours against etsy, both fed by the load generator (as before).
  const summary = [];
  const [ours, etsy] = [stepsOf('ours'), stepsOf('etsy')];
  if (ours && etsy) {
    const o = lossless(ours);
    const e = lossless(etsy);
    const oursTop = o !== undefined && o === ours[ours.length - 1];
    summary.push({
      text: `daemon driven by \`statsd-native load\`: highest offered rate with < ${config.lossless}% loss`,
      case: 'lossless/ours',
      ours: o ? `${oursTop ? '≥ ' : ''}${fmt(o.offered)} lines/s` : `loses ${ours[0].loss.toFixed(1)}% at ${fmt(config.rates[0])} lines/s`,
      peer: 'etsy statsd {version}',
      package: 'statsd',
      relative: !e
        ? `loses ${etsy[0].loss.toFixed(1)}% already at ${fmt(config.rates[0])} lines/s`
        : o
          ? `${fmt(e.offered)} lines/s (${oursTop ? '≥ ' : ''}${(o.offered / e.offered).toFixed(0)}x less)`
          : `${fmt(e.offered)} lines/s`,
    });
  }

  const latencies = pairs
    .filter((p) => p.sender === 'node' && (p.server === 'ours' || p.server === 'etsy'))
    .map((p) => {
      const m = medianOf(stepsOf(p.id).map((st) => st.latency));
      return `${p.server} ${m === undefined ? 'none' : `${m.toFixed(2)} s`}`;
    });
  const ceiling = pairs.find((p) => p.server === 'ceiling');
  const ceilingStep = ceiling && stepsOf(ceiling.id)[0];
  const packets = Object.values(results).find((r) => r.packets)?.packets;
  // The ceiling only reads: where it falls short, the sender did (too slow, or
  // `statsd-native load` dropping what its socket would not take).
  const senderBound = pairs
    .filter((p) => p.server === 'ceiling')
    .flatMap((p) => {
      const st = stepsOf(p.id).find((s) => s.offered < 0.95 * s.target || s.errors > 0 || s.senderCpu > 0.9 || s.loss >= config.lossless);
      if (st === undefined) return [];
      const cpu = st.senderCpu === undefined ? '' : ` at ${(st.senderCpu * 100).toFixed(0)}% CPU`;
      if (st.drops > 0) {
        return [`${p.name}: from the ${fmt(st.target)} step on, the receiving thread is the limit: the kernel dropped ${st.drops} datagrams at its socket (offered ${fmt(st.offered)}, read ${fmt(st.delivered)} lines/s).`];
      }
      return [
        `${p.name}: from the ${fmt(st.target)} step on, the sender is the limit (it offered ${fmt(st.offered)} lines/s${cpu}` +
          `${st.errors ? `, ${st.errors} datagrams it could not send counted as sent` : ''}; the ceiling read ${fmt(st.delivered)} lines/s with ${st.drops ?? 0} kernel drops), so there the ceiling is a lower bound of what a receiver can take.`,
      ];
    });

  return {
    description:
      `the load generator's default mix (1000 keys, c 35% / ms 30% / g 15% / h 10% / s 10%, 1432-byte datagrams` +
      `${packets ? `, ${packets.linesPerPacket.toFixed(1)} lines each` : ''}) sent by \`statsd-native load\` or by a C sendmmsg sender replaying the same packets, ` +
      `at ${config.rates.map(fmt).join(', ')} lines/s for ${config.duration} s each against a fresh server per step on loopback UDP; ` +
      `the servers flush every ${config.flushMs} ms to a Graphite sink; each row names its sender`,
    groups,
    summary,
    notes: [
      'Servers: ours is `node dist/cli.js serve` (brubeck convention, one native receiving thread, the default receive buffer); etsy is `node node_modules/statsd/stats.js config.js` (npm statsd 0.9.0, its stock UDP server and graphite backend, management port on a free port)' +
        (config.collectd
          ? `; collectd is Debian's /usr/sbin/collectd ${config.collectd} in the foreground with a private config (bench/c-peers.js): only its statsd plugin (one recv per datagram, default receive buffer, CounterSum true) and write_graphite flushed every interval. collectd has no \`h\` type: it rejects those 10% of lines, logging one error each (to /dev/null here); only counter increments are counted, for every server.`
          : '.'),
      `The ceiling (bench/c/ceiling.c) is one thread that only calls recvmmsg (64 slots × 64 KiB) on a socket with a 64 MiB receive buffer (${ceilingStep ? `${ceilingStep.forced ? 'SO_RCVBUFFORCE' : 'SO_RCVBUF'}, the kernel reports ${(ceilingStep.rcvbuf / 2 ** 20).toFixed(0)} MiB` : 'SO_RCVBUFFORCE as root, else SO_RCVBUF'}) and counts lines ('\\n' + 1 per datagram): no parsing or aggregation, so it bounds what one receiving thread on this machine can take from the same sender. Its loss is lines read vs lines sent, read once its socket's queue is empty. "Delivered ÷ ceiling" divides a server's delivered rate by the ceiling's at the same target rate and sender.`,
      `Senders: \`statsd-native load\` (Node, paced every millisecond) and bench/c/sender.c (sendmmsg, up to 1024 datagrams a call, paced every millisecond) replaying the packets dist/load/load.js buildPackets makes for \`statsd-native load\`, under a fresh \`load.<hex>\` prefix per step. Both C programs are compiled at run time with ${compilerName()} (-O2) into a temporary directory. Sender CPU (C sender only) is its user + system time per second of load. etsy is not run with the C sender: it saturates far below what \`statsd-native load\` reaches.`,
      'Reproduce: `npm run build && node bench/compare-daemons.bench.js` (prints the tables; `--rates 50000,200000 --duration 10 --pairs ours:c,ceiling:c` to choose), or `npm run bench -- compare-daemons` to regenerate this section and its charts. The steps are at the top of bench/compare-daemons.bench.js.',
      `Loss is of counter increments, the only lines whose delivery a Graphite sink can count exactly: every \`c\` line is \`name:1|c\` and the sink sums what each server flushed under the run's prefix (ours \`load.<run id>.c.*\`, etsy \`stats_counts.load.<run id>.c.*\`, collectd \`bench.statsd.count-load_<run id>_c_*\`) until all arrived or ${config.waitS} s after the load ended (the load generator's own sink for ours and etsy under \`statsd-native load\`, bench/c-peers.js counterSink otherwise). Delivered lines/s = offered × (1 - loss), i.e. the counters' loss taken as the loss of every line.`,
      "Offered is the rate the sender achieved (lines sent / duration); at the highest steps `statsd-native load` can fall short of the target on this machine, and the table shows what it reached. Server CPU is the server process's user + system time over the whole step (load and the wait for the last flush, or for the ceiling's queue to empty) divided by the load's duration (sender and server share the 2 cores, and our daemon's receiving thread counts in its process).",
      `Flush latency as the sink sees it (arrival minus the flush's timestamp) is not charted: the servers stamp whole seconds, so it is only known to ±1 s; median over the steps under \`statsd-native load\`: ${latencies.join(', ') || 'not measured'}.`,
      ...senderBound,
      ...config.skipped,
      `The daemon suite measures ours and etsy with its own paced sender and the servers' own counters; this one is what a user of \`statsd-native load\` sees, next to the ceiling and the C peers. The machine has ${os.cpus().length} cores; other jobs may be running (1-minute load average ${config.load.toFixed(2)} at the start).`,
    ],
  };
}

module.exports = { report };
