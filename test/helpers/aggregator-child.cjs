// Runs our Aggregator (from src/, transpiled on the fly with the typescript
// devDependency) in a child process, so a native crash in a probe cannot take
// the test worker down. Used by test/helpers/isolated-aggregator.ts.
//
// stdin: JSON { options, cases: [{ packets: string[], timestamp: number, warmup?: number }] }
//        (warmup: flush once at that timestamp before ingesting)
// stdout: one JSON line per case, written as soon as the case is done:
//         { index, carbon, errors }
'use strict';
const fs = require('node:fs');
const path = require('node:path');

require('./require-ts.cjs');

const { Aggregator } = require(path.join(__dirname, '..', '..', 'src', 'index.ts'));

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const first = Number(process.argv[2] || 0);
for (let index = first; index < input.cases.length; index++) {
  const c = input.cases[index];
  const aggregator = new Aggregator(input.options);
  if (c.warmup !== undefined) aggregator.flush({ timestamp: c.warmup });
  let errors = 0;
  for (const packet of c.packets) errors += aggregator.ingest(Buffer.from(packet, 'utf8')).errors;
  const { carbon } = aggregator.flush({ timestamp: c.timestamp });
  fs.writeSync(1, JSON.stringify({ index, carbon: carbon.toString('utf8'), errors }) + '\n');
}
