// The runner: runs every bench/*.bench.js in its own process, merges their runs, prints their sections (bench/report.js) and writes the docs (bench/docs.js).
'use strict';

const USAGE = `Usage: npm run bench [-- [--quick] [--runs N] [--write | --no-write] [suite ...]]
       npm run bench -- --render      redraw the docs, charts and README table
                                      from docs/benchmarks.json, measuring nothing
  suite ...   only these suites (\`codec\` runs bench/codec.bench.js)
  --quick     short runs (< 1 minute in all); docs are left alone unless
              --write (the charts go to a temporary directory instead)
  --runs N    run every suite N times (default 2, quick 1) and keep each case's
              best rate; the table shows the spread over the runs
  --help      this text`;

// What it writes (unless quick):
//   docs/benchmarks.json        every suite's latest merged result and the run's
//                               facts (date, machine, commit); a suite run alone
//                               replaces only its own entry
//   docs/benchmarks.md          regenerated from docs/benchmarks.json
//   docs/charts/<suite>-<group>.svg   one chart per group (bench/chart.js)
//   README.md                   the table between <!-- bench:summary --> and
//                               <!-- /bench:summary --> (the suites' `summary` rows)
//
// The suite contract. A suite is a file bench/<name>.bench.js; adding one is all
// it takes to plug it in. The runner starts it as
//     node bench/<name>.bench.js [--quick]        (and BENCH_QUICK=1 when quick)
// and reads the LAST line of its stdout, which must be one JSON object (anything
// else goes to stderr or earlier stdout lines); exit status 0:
//   {
//     "suite": "<name>", "title": "Human title",
//     "description": "one line on the workload (corpus, sizes)",      optional
//     "peers": ["hot-shots", ...],   npm packages measured; the report names their versions
//     "groups": [{
//       "name": "parse", "title": "Parse: ...", "unit": "lines/s",
//       "baseline": "<case id the others are compared with>",
//       "cost": false,                          optional: no time-per-unit column
//       "cases": [{ "id": "native-bulk", "name": "what runs", "note": "optional",
//                   "rate": <units per second>, "rme": <± % at 95%>, "samples": <n> }]
//     } | {                                                   a sweep: a table and a line chart
//       "name": "flush-time", "title": "...", "kind": "series",
//       "unit": "ns/key",                      unit of y
//       "better": "lower" | "higher",          which run to keep when merging runs
//       "x": { "label": "keys held", "unit": "keys", "log": true },
//       "y": { "label": "flush time per key", "log": false },        optional
//       "reference": "diagonal",               optional: draw y = x (delivered = offered)
//       "fit": { "of": "total" | "y", "quantity": "flush time" },    optional: fit
//               quantity = a·x^b per series (total = y·x) and say whether it grows linearly
//       "series": [{ "id": "counters", "name": "counters", "ours": true,
//                    "points": [{ "x": 1000, "y": 95.2, "text": "cell text (optional)" }] }]
//     }],
//     "targets": [{ "text": "...", "case": "group/id", "min": <rate> }            optional
//               | { "text": "...", "case": "group/id", "over": "group/id", "min": <ratio> }],
//     "summary": [                                                                optional
//       { "text": "README row", "case": "group/id", "over": "group/peer-id",
//         "peer": "statsd-parser {version}", "package": "statsd-parser" }
//     | { "text": "...", "case": "group/id", "ours": "≥ 4M lines/s",
//         "peer": "etsy statsd {version}", "package": "statsd", "relative": "loses 2% at 0.25M/s" }],
//     "notes": ["free text"]                                                      optional
//   }
// Rates are metric lines (or the group's unit) per second, never calls per
// second. bench/harness.js produces exactly this from the cases a suite declares
// (benchmark.js, timed or async; one process per case). Summary rows become the README table: with `over` the
// runner states the peer's rate relative to ours ("12x slower"); a row given as
// text is taken from the run whose `case` the report shows.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { machine, commit, staleness } = require('./meta');
const { ROOT, DOC, STORE, allSuites, readStore, writeDocs, writeCharts, writeReadme } = require('./docs');
const { findCase, section } = require('./report');

function parseArgs(argv) {
  const args = { quick: false, runs: undefined, write: undefined, render: false, help: false, suites: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--write') args.write = true;
    else if (a === '--no-write') args.write = false;
    else if (a === '--render') args.render = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) args.runs = Number(a.slice(7));
    else if (a.startsWith('-')) throw new Error(`Expected --quick, --runs N, --write, --render, --help or a suite name but received ${a}`);
    else args.suites.push(a);
  }
  args.runs ??= args.quick ? 1 : 2;
  if (!Number.isInteger(args.runs) || args.runs < 1) {
    throw new Error(`Expected a positive integer for --runs but received ${args.runs}`);
  }
  args.write ??= !args.quick;
  return args;
}

function discover(wanted) {
  const all = allSuites();
  for (const name of wanted) {
    if (!all.includes(name)) throw new Error(`no suite ${name}: expected one of ${all.join(', ')}`);
  }
  return wanted.length > 0 ? all.filter((n) => wanted.includes(n)) : all;
}

function runSuiteProcess(name, quick) {
  const args = [path.join(__dirname, `${name}.bench.js`)];
  if (quick) args.push('--quick');
  const child = spawnSync(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, BENCH_QUICK: quick ? '1' : '0' },
    maxBuffer: 64 << 20,
  });
  if (child.status !== 0) throw new Error(`suite ${name} exited with ${child.status ?? child.signal}`);
  const last = child.stdout.trim().split('\n').pop();
  const result = JSON.parse(last);
  if (result.suite !== name || !Array.isArray(result.groups)) {
    throw new Error(`suite ${name} printed no result (see the contract at the top of bench/run.js)`);
  }
  return result;
}

// Keeps each case's best run and the spread over all runs; for a sweep, each
// point's best run.
function merge(runs) {
  const best = structuredClone(runs[0]);
  for (const group of best.groups) {
    const others = runs.map((r) => r.groups.find((g) => g.name === group.name));
    if (group.kind === 'series') {
      const better = (a, b) => (group.better === 'lower' ? b.y < a.y : b.y > a.y);
      for (const s of group.series) {
        s.points = s.points.map((p) => {
          const all = others.map((g) => g.series.find((x) => x.id === s.id)?.points.find((q) => q.x === p.x)).filter(Boolean);
          return all.reduce((a, b) => (better(a, b) ? b : a));
        });
      }
      continue;
    }
    for (const c of group.cases) {
      const all = others.map((g) => g.cases.find((x) => x.id === c.id)).filter(Boolean);
      const top = all.reduce((a, b) => (b.rate > a.rate ? b : a));
      Object.assign(c, top);
      c.low = Math.min(...all.map((x) => x.rate));
      c.high = top.rate;
      c.runs = all.length;
    }
  }
  // A summary row given as text comes from the run whose `case` the report shows.
  best.summary = (best.summary ?? []).map((row, i) => {
    if (row.over !== undefined || row.case === undefined) return row;
    const rates = runs.map((r) => findCase(r, row.case, true)?.rate ?? -Infinity);
    return runs[rates.indexOf(Math.max(...rates))].summary[i];
  });
  return best;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.render) {
    const store = readStore();
    if (Object.keys(store.suites).length === 0) throw new Error(`nothing to render: ${path.relative(ROOT, STORE)} has no results`);
    writeDocs(store);
    writeReadme(store);
    console.log(`redrew ${path.relative(ROOT, DOC)}, docs/charts/ and the README table from ${path.relative(ROOT, STORE)}`);
    return;
  }
  const suites = discover(args.suites);
  const info = machine();
  const meta = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    machine: info,
    version: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    commit: commit(),
    runs: args.runs,
    quick: args.quick,
    stale: staleness(),
  };
  for (const w of meta.stale) console.error(`warning: ${w}`);
  console.log(`${info.cpu}, ${info.cores} cores, Node ${info.node}; ${args.quick ? 'quick' : 'full'}, ${args.runs} run(s)`);

  // A rebuild while the suites run (another shell, say) would mix two builds in one report.
  const builtAt = () => ['dist/index.js', 'build/Release/statsd_native.node'].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs).join();
  const built = builtAt();
  const results = new Map(suites.map((s) => [s, []]));
  const loads = new Map(suites.map((s) => [s, []]));
  for (let run = 1; run <= args.runs; run++) {
    for (const suite of suites) {
      loads.get(suite).push(os.loadavg()[0]);
      console.error(`run ${run}/${args.runs}: ${suite}`);
      const t0 = Date.now();
      results.get(suite).push(runSuiteProcess(suite, args.quick));
      console.error(`run ${run}/${args.runs}: ${suite} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  if (builtAt() !== built) {
    meta.stale.push('dist/ or the addon was rebuilt during the run, so it may mix two builds');
    console.error(`warning: ${meta.stale.at(-1)}`);
  }
  const measured = {};
  for (const suite of suites) {
    const result = merge(results.get(suite));
    measured[suite] = { result, meta: { ...meta, loads: loads.get(suite) } };
    const body = section(result, measured[suite].meta, undefined);
    console.log(`\n${body.split('\n').slice(1, -1).join('\n')}`);
  }
  if (args.write) {
    const store = readStore();
    Object.assign(store.suites, measured);
    writeDocs(store);
    console.log(`\nwrote ${path.relative(ROOT, DOC)}, ${path.relative(ROOT, STORE)} and docs/charts/`);
    if (writeReadme(store)) console.log('wrote the Performance table of README.md');
  } else {
    // Still draw the charts, so a smoke run exercises them too.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statsd-native-charts-'));
    writeCharts(dir, measured);
    console.log(`\n(${args.quick ? 'quick run: ' : ''}docs/ and README.md not updated; pass --write to update them; charts in ${dir})`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`bench: ${error.stack ?? error.message}`);
    process.exitCode = 1;
  }
}
