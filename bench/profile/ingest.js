// `node bench/profile/ingest.js [KEYS] [SECONDS]`, alone or under `perf record -e cpu-clock -g`. Profiling loop: ingest a corpus into an Aggregator for N seconds; prints ns/line.
'use strict';
const { Aggregator } = require('../../dist');
const { makeCorpus } = require('../corpus');
const keys = Number(process.argv[2] || 1000), seconds = Number(process.argv[3] || 5);
const c = makeCorpus({ seed: keys === 1000 ? 2 : 3, keys, bytes: keys === 1000 ? 1 << 20 : 16 << 20 });
const agg = new Aggregator({ maxSamplesPerKey: 1000 });
for (const p of c.packets) agg.ingest(p);
let lines = 0; const t0 = process.hrtime.bigint(); const end = Date.now() + seconds * 1000;
let rounds = 0;
while (Date.now() < end) { for (const p of c.packets) lines += agg.ingest(p).lines; rounds++; }
const ns = Number(process.hrtime.bigint() - t0);
console.log(JSON.stringify({ keys, lines, nsPerLine: +(ns / lines).toFixed(1), mlps: +(lines / ns * 1e3).toFixed(2) }));
