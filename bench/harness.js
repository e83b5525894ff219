// Runs a suite's map of contenders with benchmark.js, each case in its own process, and prints the suite's JSON result.
'use strict';

const { spawnSync } = require('node:child_process');
const Benchmark = require('benchmark');

const { argv, quick } = require('./args');

// A suite file calls runSuite(spec) and nothing else at top level:
//
//   runSuite({
//     suite: 'codec', title: 'Codec: parse and pack',
//     peers: ['statsd-parser'],                   // npm packages measured (versions go in the report)
//     setup: (quick) => context,                  // builds inputs; runs in every case's process
//     describe: (context) => 'one line on the input',
//     groups: [{
//       name: 'parse', title: 'Parse', unit: 'lines/s', baseline: 'native-bulk',
//       cases: {
//         'native-bulk': {
//           name: 'ours, native bulk parse',
//           prepare: (context) => state,         // optional, untimed
//           check: (context, state) => {},       // optional: throw if the contender is wrong
//           fn: (context, state) => sink,        // one operation, timed
//           units: (context, state) => n,        // metric lines handled per operation
//           note: 'text for the table' | (context, state) => text,  // optional
//         },
//       },
//     }],
//     targets: [{ text, case: 'parse/native-bulk', min: 20e6 } | { text, case, over: 'group/id', min: 10 }],
//     summary: [{ text, case: 'parse/native-packet', over: 'parse/statsd-parser', peer, package }],  // README rows
//     notes: ['free text for the report'],
//   });
//
// With `--case group/id` the file measures that one case and prints its figures;
// without it, it re-runs itself once per case (so no case's JIT state, inline
// caches or garbage leak into another's) and prints the suite result (the
// contract in bench/run.js) as the last line of stdout. `--quick` or
// BENCH_QUICK=1 makes every case short.

const OPTIONS = {
  full: { maxTime: 5, minSamples: 20 },
  quick: { maxTime: 0.25, minSamples: 5 },
};

// Results are folded into this so the optimiser cannot drop a case's work.
let blackhole = 0;

function absorb(value) {
  if (typeof value === 'number') blackhole += value;
  else if (value != null) blackhole += typeof value.length === 'number' ? value.length : 1;
}

function measureCase(spec, groupName, caseId, quick) {
  const group = spec.groups.find((g) => g.name === groupName);
  const c = group?.cases[caseId];
  if (c === undefined) throw new Error(`no case ${groupName}/${caseId} in suite ${spec.suite}`);
  const context = spec.setup(quick);
  const state = c.prepare ? c.prepare(context) : undefined;
  if (c.check) c.check(context, state);
  const units = c.units(context, state);
  const bench = new Benchmark(`${groupName}/${caseId}`, () => absorb(c.fn(context, state)), {
    ...(quick ? OPTIONS.quick : OPTIONS.full),
    async: false,
  });
  bench.run();
  if (bench.error) throw bench.error;
  if (c.teardown) c.teardown(context, state);
  return {
    id: caseId,
    name: c.name,
    note: typeof c.note === 'function' ? c.note(context, state) : c.note,
    units,
    hz: bench.hz,
    rate: bench.hz * units,
    rme: bench.stats.rme,
    samples: bench.stats.sample.length,
    blackhole: blackhole !== 0,
  };
}

function spawnCase(file, id, quick) {
  const args = [file, '--case', id];
  if (quick) args.push('--quick');
  const child = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (child.status !== 0) throw new Error(`case ${id} exited with ${child.status ?? child.signal}`);
  const last = child.stdout.trim().split('\n').pop();
  return JSON.parse(last);
}

function runSuite(spec) {
  const caseArg = argv.indexOf('--case');
  if (caseArg !== -1) {
    const [groupName, caseId] = argv[caseArg + 1].split('/');
    const result = measureCase(spec, groupName, caseId, quick);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  }

  const file = require.main.filename;
  const context = spec.setup(quick);
  const groups = spec.groups.map((group) => {
    const cases = [];
    for (const caseId of Object.keys(group.cases)) {
      const id = `${group.name}/${caseId}`;
      process.stderr.write(`  ${spec.suite} ${id} ... `);
      const result = spawnCase(file, id, quick);
      process.stderr.write(`${formatRate(result.rate)} ${group.unit ?? 'lines/s'} ±${result.rme.toFixed(1)}%\n`);
      cases.push(result);
    }
    return {
      name: group.name,
      title: group.title ?? group.name,
      unit: group.unit ?? 'lines/s',
      baseline: group.baseline,
      cases,
    };
  });
  const result = {
    suite: spec.suite,
    title: spec.title,
    description: spec.describe ? spec.describe(context) : undefined,
    quick,
    peers: spec.peers ?? [],
    groups,
    targets: spec.targets ?? [],
    summary: spec.summary ?? [],
    notes: spec.notes ?? [],
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function formatRate(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(1);
}

module.exports = { runSuite, formatRate };
