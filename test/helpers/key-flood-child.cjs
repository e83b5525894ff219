// Floods one Aggregator (from src/, transpiled with the typescript devDependency)
// with unique keys and reports its memory; run by test/integration/key-flood.test.ts
// in a child process, so RSS is this process's alone.
//
// argv: rounds, keys per round. Each round ingests that many new unique keys
// (c, g, ms and s in turn, in 64 KiB chunks of "flood.<n>:1|<type>" lines),
// sampling RSS as it goes, then flushes once.
// stdout: one JSON line { rounds: [...], stats, peakMiB }
'use strict';
const fs = require('node:fs');
const path = require('node:path');

require('./require-ts.cjs');

const { Aggregator } = require(path.join(__dirname, '..', '..', 'src', 'index.ts'));

const MiB = 1024 * 1024;
const rounds = Number(process.argv[2]);
const perRound = Number(process.argv[3]);
const rss = () => process.memoryUsage().rss / MiB;
// Peak RSS of the process so far (the kernel's high-water mark), in MiB.
const peak = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;

const types = ['c', 'g', 'ms', 's'].map((t) => Buffer.from(`:1|${t}\n`));
const chunk = Buffer.alloc(64 * 1024);
const aggregator = new Aggregator();
let next = 0;
const out = { rounds: [] };
const started = Date.now();
for (let r = 0; r < rounds; r++) {
  const end = next + perRound;
  const samples = []; // [keys sent so far, RSS MiB], about every 256k keys
  let mark = next;
  while (next < end) {
    let p = 0;
    while (next < end && p < chunk.length - 64) {
      p += chunk.write('flood.', p, 'latin1');
      p += chunk.write(String(next), p, 'latin1');
      p += types[next & 3].copy(chunk, p);
      next++;
    }
    aggregator.ingest(chunk.subarray(0, p));
    if (next - mark >= 256 * 1024 || next === end) {
      samples.push([next, rss()]);
      mark = next;
    }
  }
  const ingestPeak = peak();
  const { carbon } = aggregator.flush({ timestamp: 1700000000 + 10 * r });
  out.rounds.push({ samples, ingestPeak, carbonBytes: carbon.length, afterFlush: rss(), peak: peak() });
}
const s = aggregator.stats;
out.stats = { keys: s.keys, keysDropped: s.keysDropped, lines: s.lines, errors: s.errors };
out.peakMiB = peak();
out.ms = Date.now() - started;
process.stdout.write(JSON.stringify(out) + '\n');
