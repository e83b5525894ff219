// `node bench/profile/pack.js [SECONDS]`: packs the codec corpus (bench/corpus.js) for SECONDS and prints ns per line; run it under `perf record -e cpu-clock -g node --perf-basic-prof` for a profile.
'use strict';
const { pack } = require('../../dist');
const { makeCorpus } = require('../corpus');
const c = makeCorpus({ seed: 1 });
const seconds = Number(process.argv[2] || 3);
let lines = 0; const t0 = process.hrtime.bigint(); const end = Date.now() + seconds * 1000;
while (Date.now() < end) { const r = pack(c.metrics, { maxPacketBytes: 1432 }); lines += c.metrics.length; }
const ns = Number(process.hrtime.bigint() - t0);
console.log(JSON.stringify({ lines, nsPerLine: +(ns / lines).toFixed(1), mlps: +(lines / ns * 1e3).toFixed(2) }));
