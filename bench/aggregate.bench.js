// Ingest throughput: packets parsed and aggregated into 1k and 100k keys, ours vs an etsy-statsd-style ingest.
'use strict';

const assert = require('node:assert/strict');

const { Aggregator } = require('../dist');
const { makeCorpus, describe } = require('./corpus');
const { runSuite } = require('./harness');

// etsy statsd 0.9's handlePacket (stats.js), reduced to its aggregation work:
// split, tags, sanitize, validate, and the counters/timers/gauges/sets maps.
// Our own transcription of its logic, so both sides do the same job.
function etsyIngest(state, packet) {
  const lines = packet.toString().split('\n');
  for (const line of lines) {
    if (line.length === 0) continue;
    state.metricsReceived++;
    let bits = line.split('|#');
    let tags = [];
    if (bits.length > 1 && bits[1].length > 0) tags = bits[1].split(',');
    bits = bits[0].split(':');
    let key = bits.shift();
    if (tags.length > 0) key += ';' + tags.map((t) => t.replace(';', '_').replace(':', '=')).join(';');
    key = key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
    for (const bit of bits) {
      const fields = bit.split('|');
      if (fields[1] === undefined || (fields[1] !== 's' && (!fields[0] || isNaN(fields[0])))) {
        state.badLines++;
        continue;
      }
      const rate = fields[2] ? Number(fields[2].match(/^@([\d.]+)/)[1]) : 1;
      const type = fields[1].trim();
      if (type === 'ms') {
        if (!state.timers[key]) {
          state.timers[key] = [];
          state.timerCounters[key] = 0;
        }
        state.timers[key].push(Number(fields[0] || 0));
        state.timerCounters[key] += 1 / rate;
      } else if (type === 'g') {
        if (state.gauges[key] && /^[-+]/.test(fields[0])) state.gauges[key] += Number(fields[0] || 0);
        else state.gauges[key] = Number(fields[0] || 0);
      } else if (type === 's') {
        (state.sets[key] ??= new Set()).add(fields[0] || '0');
      } else {
        state.counters[key] = (state.counters[key] || 0) + Number(fields[0] || 1) * (1 / rate);
      }
    }
  }
}

function etsyState() {
  return { counters: {}, timers: {}, timerCounters: {}, gauges: {}, sets: {}, metricsReceived: 0, badLines: 0 };
}

function cases(corpusKey) {
  return {
    native: {
      name: 'ours, native `Aggregator.ingest` per packet (brubeck convention)',
      prepare: (c) => {
        const agg = new Aggregator({ maxSamplesPerKey: 1000 });
        for (const p of c[corpusKey].packets) agg.ingest(p); // create every key first
        return { agg, keys: agg.stats.keys };
      },
      check: (c, s) => assert.equal(s.agg.stats.errors, 0),
      fn: (c, s) => {
        let lines = 0;
        for (const p of c[corpusKey].packets) lines += s.agg.ingest(p).lines;
        return lines;
      },
      units: (c) => c[corpusKey].lines,
      note: (c, s) => `${s.keys} keys`,
    },
    'native-etsy': {
      name: 'ours, native `Aggregator.ingest` per packet (etsy convention)',
      prepare: (c) => {
        const agg = new Aggregator({ convention: 'etsy', maxSamplesPerKey: 1000 });
        for (const p of c[corpusKey].packets) agg.ingest(p);
        return { agg };
      },
      fn: (c, s) => {
        let lines = 0;
        for (const p of c[corpusKey].packets) lines += s.agg.ingest(p).lines;
        return lines;
      },
      units: (c) => c[corpusKey].lines,
    },
    etsy: {
      name: 'etsy statsd 0.9 handlePacket logic (JS, transcribed)',
      prepare: (c) => {
        const state = etsyState();
        for (const p of c[corpusKey].packets) etsyIngest(state, p);
        return { state };
      },
      check: (c, s) => assert.equal(s.state.badLines, 0),
      fn: (c, s) => {
        // statsd empties timers at each flush; keep their arrays bounded the same way.
        if (s.state.metricsReceived > 4e6) Object.assign(s.state, etsyState());
        for (const p of c[corpusKey].packets) etsyIngest(s.state, p);
        return s.state.metricsReceived;
      },
      units: (c) => c[corpusKey].lines,
    },
  };
}

runSuite({
  suite: 'aggregate',
  title: 'Aggregate: ingest into 1k and 100k keys',
  peers: ['statsd'],
  setup: (quick) => ({
    small: makeCorpus({ seed: 2, keys: 1000, bytes: 1 << 20 }),
    large: makeCorpus({ seed: 3, keys: 100_000, bytes: quick ? 4 << 20 : 16 << 20 }),
  }),
  describe: (c) => `1k keys: ${describe(c.small.stats)}; 100k keys: ${c.large.lines} lines over 100k keys`,
  groups: [
    { name: 'keys-1k', title: 'Ingest into 1k keys', unit: 'lines/s', baseline: 'native', cases: cases('small') },
    { name: 'keys-100k', title: 'Ingest into 100k keys', unit: 'lines/s', baseline: 'native', cases: cases('large') },
  ],
  targets: [
    { text: 'ingest+aggregate into 100k keys >= 15M lines/s', case: 'keys-100k/native', min: 15e6 },
  ],
  notes: [
    'One operation ingests the whole corpus, one native call per 1432-byte packet; keys exist before timing starts.',
    'The etsy column is our transcription of statsd 0.9 stats.js handlePacket (parse, tag, sanitize, aggregate), without its UDP server and logging.',
  ],
});
