// Codec throughput: parse (native bulk, native per packet, TS reference, statsd-parser, etsy split) and pack (ours vs hot-shots), in metric lines/s.
'use strict';

// A little over 300 lines: one declaration of ten contenders, each next to the
// check that proves it does the same job; the etsy copy is in etsy-ingest.js.

const assert = require('node:assert/strict');
const statsdParser = require('statsd-parser');
const StatsD = require('hot-shots');
const { parse, pack } = require('../dist');
// the TS reference parser is internal (not exported from the package)
const { parseLineReference } = require('../dist/codec/reference');
const { makeCorpus, describe } = require('./corpus');
const { handlePacket: etsyHandlePacket, parseSink } = require('./etsy-ingest');
const { runSuite } = require('./harness');

const PACKET_BYTES = 1432;

// --- hot-shots ----------------------------------------------------------------

function hotShotsSend(client, m) {
  switch (m.type) {
    case 'c':
      return client.increment(m.name, m.value, m.sampleRate, m.tags);
    case 'ms':
      return client.timing(m.name, m.value, m.sampleRate, m.tags);
    case 'h':
      return client.histogram(m.name, m.value, m.sampleRate, m.tags);
    case 'g':
      return m.relative
        ? client.gaugeDelta(m.name, m.value, m.sampleRate, m.tags)
        : client.gauge(m.name, m.value, m.sampleRate, m.tags);
    case 's':
      return client.set(m.name, m.value, m.sampleRate, m.tags);
  }
  throw new Error(`no hot-shots call for type ${m.type}`);
}

// hot-shots samples on the client: it sends a `|@rate` line only when
// Math.random() < rate. Our pack formats every metric it is given (sampling is
// the emitter's job), so to send the same lines hot-shots must always sample in.
function alwaysSampleIn() {
  Math.random = () => 0;
}

function sendAll(client, metrics) {
  for (let i = 0; i < metrics.length; i++) hotShotsSend(client, metrics[i]);
}

// --- the suite ----------------------------------------------------------------

const packetsText = (context) => context.packets.map((p) => p.toString('utf8')).join('\n');

runSuite({
  suite: 'codec',
  title: 'Codec: parse and pack',
  peers: ['statsd-parser', 'hot-shots', 'statsd', 'benchmark'],
  setup: () => makeCorpus({ seed: 1, packetBytes: PACKET_BYTES }),
  describe: (context) => describe(context.stats),
  groups: [
    {
      name: 'parse',
      title: 'Parse: packets in, samples out',
      unit: 'lines/s',
      baseline: 'native-bulk',
      cases: {
        'native-bulk': {
          name: 'ours, native `parse` of all packets in one Buffer (~1 MiB)',
          check: (c) => {
            const batch = parse(c.bulk);
            assert.equal(batch.length, c.lines);
            assert.equal(batch.errors.total, 0);
          },
          fn: (c) => parse(c.bulk).length,
          units: (c) => c.lines,
        },
        'native-packet': {
          name: 'ours, native `parse` per packet',
          check: (c) => {
            let n = 0;
            for (const p of c.packets) n += parse(p).length;
            assert.equal(n, c.lines);
          },
          fn: (c) => {
            let n = 0;
            for (let i = 0; i < c.packets.length; i++) n += parse(c.packets[i]).length;
            return n;
          },
          units: (c) => c.lines,
        },
        'native-packet-objects': {
          name: 'ours, native `parse` per packet + `.at(i)` for every sample',
          note: 'builds every Metric object, as a consumer reading all fields would',
          fn: (c) => {
            let n = 0;
            for (let i = 0; i < c.packets.length; i++) {
              const batch = parse(c.packets[i]);
              for (let j = 0; j < batch.length; j++) n += batch.at(j).name.length;
            }
            return n;
          },
          units: (c) => c.lines,
        },
        'ts-reference': {
          name: 'ours, TS `parseLineReference` line by line',
          check: (c) => {
            let n = 0;
            for (const p of c.packets) {
              for (const line of p.toString('utf8').split('\n')) {
                const r = parseLineReference(line);
                assert.ok(r.ok, line);
                n += r.metrics.length;
              }
            }
            assert.equal(n, c.lines);
          },
          fn: (c) => {
            let n = 0;
            for (let i = 0; i < c.packets.length; i++) {
              const lines = c.packets[i].toString('utf8').split('\n');
              for (let j = 0; j < lines.length; j++) {
                const r = parseLineReference(lines[j]);
                if (r.ok) n += r.metrics.length;
              }
            }
            return n;
          },
          units: (c) => c.lines,
        },
        'statsd-parser': {
          name: 'statsd-parser 0.0.4, `parser().write()` per packet',
          prepare: () => {
            const state = { accepted: 0, rejected: 0, parser: statsdParser.parser() };
            state.parser.onstat = () => {
              state.accepted++;
            };
            state.parser.onerror = () => {
              state.rejected++;
              state.parser.error = null; // else the next write throws it
            };
            return state;
          },
          check: (c, s) => {
            for (const p of c.packets) {
              s.parser.write(p.toString('utf8'));
              s.parser.write('\n'); // a datagram ends its last line
            }
            assert.equal(s.accepted + s.rejected, c.lines);
            s.share = s.accepted / c.lines;
          },
          fn: (c, s) => {
            for (let i = 0; i < c.packets.length; i++) {
              s.parser.write(c.packets[i].toString('utf8'));
              s.parser.write('\n');
            }
            return s.accepted;
          },
          units: (c) => c.lines,
          note: (c, s) =>
            `accepts ${Math.round(s.share * 100)}% of the lines; rejects h and tagged lines through its error path`,
        },
        'statsd-parser-accepted': {
          name: 'statsd-parser 0.0.4, only the lines it accepts',
          note: 'the corpus without h and tagged lines, so no error path',
          prepare: (c) => {
            const packets = c.packets
              .map((p) => p.toString('utf8').split('\n').filter((l) => statsdParser.isStatsd(l)).join('\n'))
              .filter((t) => t !== '');
            const state = { packets, lines: 0, accepted: 0, parser: statsdParser.parser() };
            for (const t of packets) state.lines += t.split('\n').length;
            state.parser.onstat = () => {
              state.accepted++;
            };
            state.parser.onerror = () => {
              throw new Error('statsd-parser rejected a line it accepts');
            };
            return state;
          },
          check: (c, s) => {
            for (const t of s.packets) {
              s.parser.write(t);
              s.parser.write('\n');
            }
            assert.equal(s.accepted, s.lines);
          },
          fn: (c, s) => {
            for (let i = 0; i < s.packets.length; i++) {
              s.parser.write(s.packets[i]);
              s.parser.write('\n');
            }
            return s.accepted;
          },
          units: (c, s) => s.lines,
        },
        'etsy-split': {
          name: 'etsy statsd 0.9 `handlePacket` split parse per packet',
          note: 'a copy of its parse logic; its dictionary updates are left out',
          prepare: () => parseSink(),
          check: (c, sink) => {
            for (const p of c.packets) etsyHandlePacket(p, sink);
            assert.equal(sink.samples, c.lines);
            assert.equal(sink.bad, 0);
          },
          fn: (c, sink) => {
            for (let i = 0; i < c.packets.length; i++) etsyHandlePacket(c.packets[i], sink);
            return sink.samples;
          },
          units: (c) => c.lines,
        },
      },
    },
    {
      name: 'pack',
      title: 'Pack: metrics in, 1432-byte packets out',
      unit: 'lines/s',
      baseline: 'native',
      cases: {
        native: {
          name: 'ours, native `pack` of all metrics in one call',
          check: (c) => {
            const packets = pack(c.metrics, { maxPacketBytes: PACKET_BYTES });
            assert.equal(packets.length, c.packets.length);
            packets.forEach((p, i) => assert.ok(p.equals(c.packets[i]), `packet ${i} differs`));
          },
          fn: (c) => pack(c.metrics, { maxPacketBytes: PACKET_BYTES }).length,
          units: (c) => c.lines,
        },
        'hot-shots-buffered': {
          name: 'hot-shots 17, maxBufferSize 1432, packets captured',
          note: 'its real buffering path; `sendMessage` replaced by a capture, so no socket I/O',
          prepare: () => {
            alwaysSampleIn();
            const state = { packets: [] };
            state.client = new StatsD({ host: '127.0.0.1', port: 9, maxBufferSize: PACKET_BYTES });
            state.client.sendMessage = (message, callback) => {
              if (message !== '') state.packets.push(message);
              if (callback) callback();
            };
            return state;
          },
          check: (c, s) => {
            sendAll(s.client, c.metrics);
            s.client.flushQueue();
            assert.equal(s.packets.length, c.packets.length);
            s.packets.forEach((p, i) => assert.equal(p, c.packets[i].toString('utf8'), `packet ${i} differs`));
          },
          fn: (c, s) => {
            s.packets.length = 0;
            sendAll(s.client, c.metrics);
            s.client.flushQueue();
            return s.packets.length;
          },
          teardown: (c, s) => s.client.close(),
          units: (c) => c.lines,
        },
        'hot-shots-mock': {
          name: 'hot-shots 17, mock mode (maxBufferSize 1432)',
          note: 'mock mode records each line in `mockBuffer` and skips packing',
          prepare: () => {
            alwaysSampleIn();
            return { client: new StatsD({ mock: true, maxBufferSize: PACKET_BYTES }) };
          },
          check: (c, s) => {
            sendAll(s.client, c.metrics);
            assert.equal(s.client.mockBuffer.join('\n'), packetsText(c));
          },
          fn: (c, s) => {
            s.client.mockBuffer.length = 0;
            sendAll(s.client, c.metrics);
            return s.client.mockBuffer.length;
          },
          teardown: (c, s) => s.client.close(),
          units: (c) => c.lines,
        },
      },
    },
  ],
  targets: [
    { text: 'native bulk parse ≥ 20M lines/s on one core', case: 'parse/native-bulk', min: 20e6 },
    { text: 'native bulk parse ≥ 10× statsd-parser', case: 'parse/native-bulk', over: 'parse/statsd-parser', min: 10 },
    {
      text: 'native bulk parse ≥ 10× statsd-parser on only the lines it accepts (no error path)',
      case: 'parse/native-bulk',
      over: 'parse/statsd-parser-accepted',
      min: 10,
    },
    { text: 'native bulk parse ≥ 5× the TS reference', case: 'parse/native-bulk', over: 'parse/ts-reference', min: 5 },
    { text: 'pack ≥ 10M lines/s', case: 'pack/native', min: 10e6 },
    { text: 'pack ≥ 5× hot-shots (buffered, same packets)', case: 'pack/native', over: 'pack/hot-shots-buffered', min: 5 },
    { text: 'pack ≥ 5× hot-shots (mock mode)', case: 'pack/native', over: 'pack/hot-shots-mock', min: 5 },
  ],
  summary: [
    {
      text: 'parse 1432-byte packets, one call each',
      case: 'parse/native-packet',
      over: 'parse/statsd-parser',
      peer: 'statsd-parser {version}',
      package: 'statsd-parser',
    },
    { text: 'parse, our TS reference parser', case: 'parse/native-packet', over: 'parse/ts-reference', peer: 'ours, pure TS' },
    {
      text: 'pack lines into 1432-byte packets',
      case: 'pack/native',
      over: 'pack/hot-shots-buffered',
      peer: 'hot-shots {version}, buffered',
      package: 'hot-shots',
    },
  ],
  notes: [
    'One operation handles the whole corpus; lines/s = operations/s × corpus lines. Every contender is checked before timing: ours and hot-shots produce byte-identical packets, every parser sees every line.',
    'Each case runs in its own Node process (bench/harness.js), so no case inherits another one\'s JIT state.',
    'What each parser hands back differs: our native parse fills typed-array records and builds no per-line object (the `.at(i)` row adds building every Metric); the TS reference builds Metric objects; statsd-parser calls back with a string and an object per line; the etsy copy hands key, type, value and rate to a sink.',
    'hot-shots runs with Math.random stubbed to 0 so its client-side sampling keeps every `|@rate` line, as our pack does.',
  ],
});
