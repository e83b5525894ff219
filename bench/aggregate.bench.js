// Ingest throughput: packets parsed and aggregated into 1k and 100k keys, ours vs an etsy-statsd-style ingest.
'use strict';

const assert = require('node:assert/strict');

const { Aggregator } = require('../dist');
const { makeCorpus, describe } = require('./corpus');
const { etsyIngest, etsyState } = require('./etsy-ingest');
const { runSuite } = require('./harness');

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
      check: (c, s) => assert.equal(s.state.bad, 0),
      fn: (c, s) => {
        // statsd empties timers at each flush; keep their arrays bounded the same way.
        if (s.state.received > 4e6) Object.assign(s.state, etsyState());
        for (const p of c[corpusKey].packets) etsyIngest(s.state, p);
        return s.state.received;
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
  summary: [
    {
      text: 'ingest packets into 100k keys',
      case: 'keys-100k/native',
      over: 'keys-100k/etsy',
      peer: 'etsy statsd {version} logic',
      package: 'statsd',
    },
  ],
  notes: [
    'One operation ingests the whole corpus, one native call per 1432-byte packet; keys exist before timing starts.',
    'The etsy column is our transcription of statsd 0.9 stats.js handlePacket (parse, tag, sanitize, validate, aggregate; bench/etsy-ingest.js, the same copy as the codec suite\'s etsy row), without its UDP server and logging.',
  ],
});
