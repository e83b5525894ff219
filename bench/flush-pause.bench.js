// Flush pauses: a 1M lines/s UDP flood into a 256 KiB socket buffer while 1M-key flushes hold the aggregator (held datagrams on vs off), and /ping latency during a scheduled 1M-timer flush.
'use strict';

// Flood (group `accepted`): what test/integration/flush-pause.test.ts once
// asserted as a loss bound; the test now checks only the accounting (the loss
// depends on whether the receiving thread gets a core), and this suite
// measures the loss. Each variant is an async case in its own process
// (bench/flush-pause-cases.js, floodRun):
// - a StatsdServer from dist/ with `udp: { port: 0, receiveBuffer: 256 KiB,
//   heldBytes }` (64 MiB, the default, or 0), a sink that keeps nothing and no
//   timed flushes; 1M gauge keys ingested up front.
// - Load: `node dist/cli.js load --target 127.0.0.1:PORT --rate 1000000
//   --duration S --json` in its own process (default mix and 1432-byte
//   datagrams: ~68 lines each); S = 3 s (1 s with --quick).
// - Meanwhile the variant's main thread calls server.flush() (1M keys each),
//   sleeps 20 ms, and again, until the load process exits; each flush is timed.
// - Then marker datagrams are sent (20 ms apart) until datagrams read + kernel
//   drops = datagrams sent + markers (the kernel reports its drop count with
//   the next datagram read), and the suite waits until every datagram read was
//   aggregated.
// - rate = the load's achieved lines/s × lines accepted (aggregated, markers
//   aside) / lines sent; ± is the 95% interval over the rates of datagrams read
//   (held or not) in ~250 ms intervals of the flood, read between flushes.
//
// /ping (group `ping`, issue [4/7] item 6; pingRun): a StatsdServer with
// `http: { port: 0 }`, reportIdle and flushInterval 1 s, holding N timer keys
// (`ping.t<i>:1:2:3|ms`, ingested in chunks of 10k lines); the same flush is
// timed once on the JS thread (server.flush()), then, after the same ingest
// again, the server starts and its first scheduled flush runs on a worker
// thread (Aggregator.flushAsync, timed there) while a pinger process (a
// client's view: its schedule does not stall with the server's event loop)
// sends GET /ping every ~10 ms, one at a time. N = 1M (and 100k; 100k alone
// with --quick), one process per N.

const os = require('node:os');

const { quick } = require('./args');
const cases = require('./flush-pause-cases');
const { rate: fmt, int } = require('./format');
const { runSuite } = require('./harness');

const { VARIANTS, SECONDS, RATE, RECEIVE_BUFFER, FLUSH_GAP_MS, PING_EVERY_MS, TIMER_SAMPLES } = cases;
const PING_KEYS = quick ? [1e5] : [1e5, 1e6];
const LOAD = os.loadavg()[0]; // at the start (report() runs at the end)
const keysText = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

function noteOf(r) {
  return (
    `${int(r.sent.packets)} datagrams sent (${int(r.sent.lines)} lines at ${fmt(r.sent.rate)} lines/s), ` +
    `${int(r.kernelDrops)} dropped by the kernel: ${r.loss.toFixed(2)}% lost; held_while_busy ${int(r.heldWhileBusy)}; ` +
    `${r.flushes} flushes, longest pause ${r.pauseMax.toFixed(1)} ms, median ${r.pauseMedian.toFixed(1)} ms`
  );
}

const floodCase = (id) => ({
  name: VARIANTS[id].name,
  run: () => cases.floodRun(id),
  note: noteOf,
  progress: (r) =>
    `sent ${int(r.sent.packets)} datagrams / ${int(r.sent.lines)} lines (${fmt(r.sent.rate)} lines/s), ` +
    `kernel drops ${int(r.kernelDrops)} (${r.loss.toFixed(2)}%; /proc/net/udp ${r.socketDrops ?? '?'}), ` +
    `held_while_busy ${int(r.heldWhileBusy)}, accepted ${fmt(r.rate)} lines/s ±${r.rme.toFixed(1)}%, ` +
    `${r.flushes} flushes: longest ${r.pauseMax.toFixed(1)} ms, median ${r.pauseMedian.toFixed(1)} ms`,
});

const pingText = (r) =>
  `${r.pings} pings during a ${r.flushMs.toFixed(0)} ms scheduled flush: longest ${r.pingMax.toFixed(1)} ms, median ${r.pingMedian.toFixed(1)} ms ` +
  `(idle median ${r.idleMedian?.toFixed(1) ?? '?'} ms); the same flush on the JS thread ${r.onThreadMs.toFixed(0)} ms`;

// The ping sweep: one measurement per key count gives four lines of the chart.
const PING_SERIES = {
  'ping-max': { name: 'longest /ping during the scheduled flush', ours: true, y: (r) => r.pingMax, text: (r) => `${r.pingMax.toFixed(1)} ms (of ${r.pings} pings)` },
  'ping-median': { name: 'median /ping during the scheduled flush', ours: true, y: (r) => r.pingMedian, text: (r) => `${r.pingMedian.toFixed(1)} ms (idle: ${r.idleMedian?.toFixed(1) ?? '?'} ms)` },
  flush: { name: 'the scheduled flush (worker thread)', ours: true, y: (r) => r.flushMs, text: (r) => `${r.flushMs.toFixed(0)} ms (${int(r.metrics)} datapoints)` },
  'on-thread': { name: 'the same flush on the JS thread (server.flush())', y: (r) => r.onThreadMs, text: (r) => `${r.onThreadMs.toFixed(0)} ms` },
};

function pingGroup(measured) {
  const runs = measured['ping-runs'].cases.map((c) => c.result);
  return {
    name: 'ping',
    title: `/ping latency during a scheduled flush of ${PING_KEYS.map(keysText).join(' and ')} timer keys (worker thread)`,
    kind: 'series',
    unit: 'ms',
    better: 'lower',
    x: { label: 'timer keys held', unit: 'keys', log: true },
    y: { label: 'latency or duration', log: true },
    series: Object.entries(PING_SERIES).map(([id, s]) => ({
      id,
      name: s.name,
      ours: s.ours === true,
      points: runs.map((r) => ({ x: r.keys, y: s.y(r), text: s.text(r) })),
    })),
  };
}

function report(measured) {
  const accepted = measured.accepted;
  const held = accepted.cases.find((c) => c.id === 'held').result;
  const perDatagram = held.sent.lines / held.sent.packets;
  const buffer = held.receiveBuffer;
  // How long the doubled buffer lasts at the flood's payload rate (the kernel also charges each datagram's overhead).
  const bufferMs = buffer ? (buffer / ((held.sent.rate / perDatagram) * held.meanBytes)) * 1e3 : undefined;
  return {
    description:
      `\`statsd-native load\` offers ${RATE / 1e6}M lines/s for ${SECONDS} s in ~${perDatagram.toFixed(0)}-line datagrams to a ` +
      `${RECEIVE_BUFFER >> 10} KiB receive buffer while the server's thread flushes 1M gauge keys back to back (${FLUSH_GAP_MS} ms apart); ` +
      'held datagrams on (heldBytes 64 MiB) vs off (heldBytes 0); ' +
      `and GET /ping every ${PING_EVERY_MS} ms during a scheduled (worker thread) flush of ${PING_KEYS.map(keysText).join(' and ')} timer keys`,
    groups: [accepted, pingGroup(measured)],
    notes: [
      `The scenario of test/integration/flush-pause.test.ts: a StatsdServer from dist/ (one per variant, each in its own process) with udp { receiveBuffer: ${RECEIVE_BUFFER >> 10} KiB } — what an unprivileged daemon can get (net.core.rmem_max); the kernel doubles it (${buffer ? `${buffer >> 10} KiB here, at most ~${bufferMs.toFixed(0)} ms of this flood's payload` : 'as reported'}) — and 1M gauge keys, so every flush walks 1M keys and holds the aggregator for tens of ms or more (a pause is timed around server.flush(), so it includes waiting for the aggregator's lock while the receiving thread ingests). \`node dist/cli.js load --rate ${RATE} --duration ${SECONDS}\` (default mix, datagrams of up to 1432 B: ~${perDatagram.toFixed(0)} lines, ${held.meanBytes.toFixed(0)} B on average) floods it from another process while the server's thread calls flush() in a loop with ${FLUSH_GAP_MS} ms sleeps; a sink that keeps nothing. With held datagrams the receiving thread reads on during a flush and holds what it reads (native/held_datagrams.h, reported as held_while_busy); with heldBytes 0 it waits for the aggregator while the socket buffer overflows.`,
      'Counting: markers are sent after the flood until datagrams read + kernel drops = datagrams sent (the kernel reports drops with the next datagram read), then the suite waits until every datagram read was aggregated. loss % = datagrams dropped by the kernel / datagrams sent; rate = lines aggregated (markers aside) / lines sent × the load generator\'s achieved rate, i.e. the offered rate less the lines lost; ± is the 95% interval over the rates of datagrams read (held or not) in ~250 ms intervals of the flood, read between flushes (so an interval spans at least one flush; a quick run has 2-3).',
      `The test checks only this accounting (every datagram read or counted as dropped, every datagram read aggregated, held_while_busy > 0 with holding), not a loss bound: the loss depends on the receiving thread getting a core while the load generator and the flushes take the machine's ${os.cpus().length} cores; other jobs may be running (1-minute load average ${LOAD.toFixed(2)} at the start). Compare the variants within one run.`,
      `/ping: a StatsdServer from dist/ (one process per key count) with http { port: 0 }, aggregator { reportIdle: true } (every flush writes every key), flushInterval 1 s and a sink that keeps nothing, holding N timer keys of ${TIMER_SAMPLES} samples each (\`ping.t<i>:1:2:3|ms\`, ingested with server.aggregator.ingest in chunks of 10k lines). The same flush is first timed on the JS thread (server.flush(), what every flush cost before issue [4/7] item 6); after the same ingest again the server starts, and its first scheduled flush runs on a worker thread (Aggregator.flushAsync, timed from its call to its result) while a pinger in another process (so its schedule does not stall with the server's event loop, as a client's would not) sends GET /ping every ${PING_EVERY_MS} ms, one at a time on a keep-alive connection (when one takes longer, the next goes at once). A ping counts as during the flush when its wait overlapped it; "idle" is the median of those answered before it began. Lower is better; with several runs each point is its best run.`,
    ],
  };
}

runSuite({
  suite: 'flush-pause',
  title: 'Flush pauses: a UDP flood into a small socket buffer during 1M-key flushes; /ping during a scheduled flush',
  groups: [
    {
      name: 'accepted',
      title: `Flood of ${RATE / 1e6}M lines/s during 1M-key flushes, ${RECEIVE_BUFFER >> 10} KiB socket buffer: lines accepted per second`,
      unit: 'lines/s',
      baseline: 'held',
      cost: false,
      cases: Object.fromEntries(Object.keys(VARIANTS).map((id) => [id, floodCase(id)])),
    },
    {
      name: 'ping-runs',
      hidden: true, // report() draws them as the `ping` sweep
      cases: Object.fromEntries(
        PING_KEYS.map((n) => [`keys-${n}`, { name: `${keysText(n)} timer keys`, run: () => cases.pingRun(n), progress: pingText }]),
      ),
    },
  ],
  report,
  tasks: { pinger: cases.pinger },
});
