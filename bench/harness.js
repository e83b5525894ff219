// The one harness every suite declares its cases to: benchmark.js, timed and async cases, each measured in its own process, and the suite result bench/run.js reads.
'use strict';

// A suite file calls runSuite(spec) and nothing else at top level:
//
//   runSuite({
//     suite: 'codec', title: 'Codec: parse and pack',
//     peers: ['statsd-parser'],                 // npm packages measured (versions go in the report)
//     setup: (quick) => context,                // inputs; built lazily in each process that needs them
//     describe: (context, measured) => 'one line on the workload',
//     groups: [{
//       name: 'parse', title: 'Parse', unit: 'lines/s', baseline: 'native-bulk', cost: false,
//       hidden: true,                           // optional: measured for report() only
//       fixture: async (context) => ({ params, stop }),   // optional, in the suite's process:
//                                               // started before the group, its params go to every case
//       cases: { id: case, ... },               // a table: one row per case
//     } | {
//       name, title, kind: 'series', unit, better, x, y, fit, reference,   // a sweep (bench/run.js)
//       series: { id: case & { ours, xs: [x, ...] } },   // one measurement per x (params.x) giving
//                                               // { y, text, ... }; without xs, one giving { points }
//     }],
//     report: (measured, context) => ({ groups, description, targets, summary, notes }),   // optional:
//                                               // the groups to print (derived ones too), from measured[name]
//     targets, summary, notes,                  // as in the contract at the top of bench/run.js
//     tasks: { name: async (params) => result },   // other entry points of the file (processes it starts)
//   });
//
// A case is { name, note?, progress?: (result) => text } and one of:
//   benchmark.js  fn(context, state) → sink, one operation; units(context, state): lines per operation;
//                 prepare(context) → state, check(context, state) (throws if the contender is wrong),
//                 teardown(context, state): all optional and untimed; note: text | (context, state) => text
//   timed         time(context, params) → { seconds: [per operation], units = 1, ... } (may be async):
//                 rate = units / median, ± = half the min-max spread, as % of the median
//   async         run(context, params) → { rate, rme, samples, ... } (may be async)
//   (timed and async: note: text | (result) => text, else the result's own `note`)
// and optionally:
//   inline: true        measured in the suite's process (a case that drives processes of its own)
//   node: ['--expose-gc']   flags for the case's process
//   around: async (measure, params, context) → result   in the suite's process, around the
//                       measurement: measure(params) measures the case once (fresh servers per
//                       run, several runs, counting at a receiver afterwards...)
//
// `node suite.bench.js` measures every case, each in a process of its own
// (`--case group/id [--params JSON]`, unless inline), so no case's JIT state,
// inline caches or garbage leak into another's, and prints the suite result
// (what report() returned, or the groups not hidden) as the last line of
// stdout; the whole of what a timed or async case returned is `result` on its
// row or point in `measured`, left out of the printed result. `--quick` or BENCH_QUICK=1 makes every case short. `--task name
// --params JSON` runs one of the suite's tasks and prints its result.

const { spawn } = require('node:child_process');
const Benchmark = require('benchmark');

const { argv, quick, arg } = require('./args');
const { rate } = require('./format');
const { killAll, track } = require('./processes');
const { median } = require('./stats');

const OPTIONS = {
  full: { maxTime: 5, minSamples: 20 },
  quick: { maxTime: 0.25, minSamples: 5 },
};

// The presentation fields of a group that go into the result as they are.
const GROUP_FIELDS = ['name', 'title', 'kind', 'unit', 'baseline', 'cost', 'better', 'x', 'y', 'fit', 'reference'];

// Results are folded into this so the optimiser cannot drop a case's work.
let blackhole = 0;

function absorb(value) {
  if (typeof value === 'number') blackhole += value;
  else if (value != null) blackhole += typeof value.length === 'number' ? value.length : 1;
}

function benchmarkCase(c, id, context) {
  const state = c.prepare ? c.prepare(context) : undefined;
  if (c.check) c.check(context, state);
  const units = c.units(context, state);
  const bench = new Benchmark(id, () => absorb(c.fn(context, state)), { ...(quick ? OPTIONS.quick : OPTIONS.full), async: false });
  bench.run();
  if (bench.error) throw bench.error;
  if (c.teardown) c.teardown(context, state);
  const note = typeof c.note === 'function' ? c.note(context, state) : c.note;
  return { note, units, hz: bench.hz, rate: bench.hz * units, rme: bench.stats.rme, samples: bench.stats.sample.length, blackhole: blackhole !== 0 };
}

/** One measurement of a case, in this process. */
async function measureHere(c, id, context, params) {
  if (c.fn) return benchmarkCase(c, id, context);
  if (c.time) {
    const r = await c.time(context, params);
    const mid = median(r.seconds);
    const spread = (Math.max(...r.seconds) - Math.min(...r.seconds)) / 2;
    return { ...r, median: mid, rate: (r.units ?? 1) / mid, rme: (spread / mid) * 100, samples: r.seconds.length };
  }
  if (c.run) return c.run(context, params);
  throw new Error(`case ${id} has no fn, time or run`);
}

/** Runs `node [flags] <this file> args…` and resolves the JSON of its last stdout line. */
function childJSON(args, flags = []) {
  const child = track(spawn(process.execPath, [...flags, require.main.filename, ...args, ...(quick ? ['--quick'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code ?? signal}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

/** argv for a process running one of the suite's tasks: spawn(process.execPath, taskArgs('sender', { port })). */
function taskArgs(name, params = {}) {
  return [require.main.filename, '--task', name, '--params', JSON.stringify(params), ...(quick ? ['--quick'] : [])];
}

/** The group's cases (a table) or series (a sweep) as [id, case] pairs. */
const entriesOf = (group) => Object.entries(group.kind === 'series' ? group.series : group.cases);

function findEntry(spec, ref) {
  const [groupName, id] = ref.split('/');
  const group = spec.groups.find((g) => g.name === groupName);
  const c = group === undefined ? undefined : (group.kind === 'series' ? group.series : group.cases)[id];
  if (c === undefined) throw new Error(`no case ${ref} in suite ${spec.suite}`);
  return c;
}

/** The child side: measure one case and print its result. */
async function childMain(spec, context) {
  if (arg('--task') !== undefined) {
    const task = spec.tasks?.[arg('--task')];
    if (task === undefined) throw new Error(`no task ${arg('--task')} in suite ${spec.suite}`);
    return task(JSON.parse(arg('--params') ?? '{}'));
  }
  const ref = arg('--case');
  return measureHere(findEntry(spec, ref), ref, context(), JSON.parse(arg('--params') ?? '{}'));
}

/** The row or point(s) the report shows for a case's result; `result` (everything the case returned) is for report(). */
function rowOf(id, c, r) {
  if (c.fn) return { id, name: c.name, note: r.note, units: r.units, hz: r.hz, rate: r.rate, rme: r.rme, samples: r.samples, blackhole: r.blackhole };
  const note = typeof c.note === 'function' ? c.note(r) : (c.note ?? r.note);
  return { id, name: c.name, note, rate: r.rate, rme: r.rme, samples: r.samples, result: r };
}

async function measureGroup(spec, group, context) {
  const fixture = group.fixture ? await group.fixture(context()) : undefined;
  try {
    const out = [];
    for (const [id, c] of entriesOf(group)) {
      const ref = `${group.name}/${id}`;
      const measure = (params = {}) =>
        c.inline ? measureHere(c, ref, context(), params) : childJSON(['--case', ref, '--params', JSON.stringify(params)], c.node);
      const once = (params) => (c.around ? c.around(measure, params, context()) : measure(params));
      const base = fixture?.params ?? {};
      // an inline case may print its own progress lines: its own line, then its result
      const lead = `  ${spec.suite} ${ref}${c.inline ? '\n' : ' ... '}`;
      const tail = (text) => (c.inline ? (text ? `  ${spec.suite} ${ref}: ${text}\n` : '') : `${text}\n`);
      if (group.kind !== 'series') {
        process.stderr.write(lead);
        const r = await once(base);
        process.stderr.write(tail(c.progress ? c.progress(r) : c.inline ? '' : `${rate(r.rate)} ${group.unit ?? 'lines/s'} ±${r.rme.toFixed(1)}%`));
        out.push(rowOf(id, c, r));
        continue;
      }
      const points = [];
      for (const x of c.xs ?? [undefined]) {
        process.stderr.write(lead.replace(ref, `${ref}${x === undefined ? '' : ` @ ${x}`}`));
        const r = await once(x === undefined ? base : { ...base, x });
        process.stderr.write(tail(c.progress ? c.progress(r, x) : c.inline ? '' : 'done'));
        if (x === undefined) points.push(...r.points);
        else points.push({ x, y: r.y, text: r.text, result: r });
      }
      out.push({ id, name: c.name, ours: c.ours === true, points });
    }
    const g = Object.fromEntries(GROUP_FIELDS.filter((k) => group[k] !== undefined).map((k) => [k, group[k]]));
    g.unit ??= 'lines/s';
    g.title ??= group.name;
    return group.kind === 'series' ? { ...g, series: out } : { ...g, cases: out };
  } finally {
    await fixture?.stop?.();
  }
}

/** A group as bench/run.js gets it: no raw results. */
function strip(group) {
  if (group.series) return { ...group, series: group.series.map((s) => ({ ...s, points: s.points.map(({ result, ...p }) => p) })) };
  return { ...group, cases: group.cases.map(({ result, ...c }) => c) };
}

async function parentMain(spec, context) {
  const measured = {};
  for (const group of spec.groups) measured[group.name] = await measureGroup(spec, group, context);
  const shown = spec.groups.filter((g) => !g.hidden).map((g) => measured[g.name]);
  const extra = spec.report ? await spec.report(measured, context()) : {};
  const result = {
    suite: spec.suite,
    title: spec.title,
    description: extra.description ?? (spec.describe ? spec.describe(context(), measured) : spec.description),
    quick,
    peers: spec.peers ?? [],
    groups: (extra.groups ?? shown).map(strip),
    targets: extra.targets ?? spec.targets ?? [],
    summary: extra.summary ?? spec.summary ?? [],
    notes: extra.notes ?? spec.notes ?? [],
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runSuite(spec) {
  let context;
  const getContext = () => (context ??= spec.setup ? spec.setup(quick) : {});
  const child = arg('--case') !== undefined || arg('--task') !== undefined;
  (child ? childMain(spec, getContext) : parentMain(spec, getContext)).then(
    (result) => {
      if (child && result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error) => {
      console.error(`${spec.suite}${child ? ` ${argv.join(' ')}` : ''}: ${error.stack ?? error.message}`);
      killAll();
      process.exit(1);
    },
  );
}

module.exports = { runSuite, taskArgs };
