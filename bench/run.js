// Runs every bench/*.bench.js in its own process, prints their tables and regenerates docs/benchmarks.md, its charts and the README's Performance table.
'use strict';

// Usage: npm run bench [-- [--quick] [--runs N] [--write | --no-write] [suite ...]]
//        npm run bench -- --render      redraw the docs, charts and README table
//                                       from docs/benchmarks.json, measuring nothing
//   suite ...   only these suites (`codec` runs bench/codec.bench.js)
//   --quick     short runs (< 1 minute in all); docs are left alone unless
//               --write (the charts go to a temporary directory instead)
//   --runs N    run every suite N times (default 2, quick 1) and keep each case's
//               best rate; the table shows the spread over the runs
//
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
// second. bench/harness.js produces exactly this from a map of benchmark.js cases,
// one process per case. Summary rows become the README table: with `over` the
// runner states the peer's rate relative to ours ("12x slower"); a row given as
// text is taken from the run whose `case` the report shows.

const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { barChart, lineChart, si, compact } = require('./chart');

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const STORE = path.join(ROOT, 'docs', 'benchmarks.json');
const CHARTS = path.join(ROOT, 'docs', 'charts');
const README = path.join(ROOT, 'README.md');
// Order of the sections in docs/benchmarks.md and of the README rows; suites not
// listed follow in name order.
const ORDER = ['codec', 'aggregate', 'flush', 'growth', 'emitter', 'daemon', 'compare-daemons'];

function parseArgs(argv) {
  const args = { quick: false, runs: undefined, write: undefined, render: false, suites: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--write') args.write = true;
    else if (a === '--no-write') args.write = false;
    else if (a === '--render') args.render = true;
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) args.runs = Number(a.slice(7));
    else if (a.startsWith('-')) throw new Error(`Expected --quick, --runs N, --write, --render or a suite name but received ${a}`);
    else args.suites.push(a);
  }
  args.runs ??= args.quick ? 1 : 2;
  if (!Number.isInteger(args.runs) || args.runs < 1) {
    throw new Error(`Expected a positive integer for --runs but received ${args.runs}`);
  }
  args.write ??= !args.quick;
  return args;
}

function byOrder(a, b) {
  const ia = ORDER.indexOf(a);
  const ib = ORDER.indexOf(b);
  if (ia !== -1 && ib !== -1) return ia - ib;
  if (ia !== -1 || ib !== -1) return ia === -1 ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function allSuites() {
  return fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.slice(0, -'.bench.js'.length))
    .sort(byOrder);
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

const isSeries = (group) => group.kind === 'series';

// Keeps each case's best run and the spread over all runs; for a sweep, each
// point's best run.
function merge(runs) {
  const best = structuredClone(runs[0]);
  for (const group of best.groups) {
    const others = runs.map((r) => r.groups.find((g) => g.name === group.name));
    if (isSeries(group)) {
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

function findCase(result, ref, optional = false) {
  const [groupName, id] = ref.split('/');
  const c = result.groups.find((g) => g.name === groupName)?.cases?.find((x) => x.id === id);
  if (c === undefined && !optional) throw new Error(`${ref} is not a case of suite ${result.suite}`);
  return c;
}

function evaluate(result) {
  return (result.targets ?? []).map((t) => {
    const c = findCase(result, t.case);
    if (t.over === undefined) {
      return { text: t.text, met: c.rate >= t.min, measured: `${rate(c.rate)} ${unitOf(result, t.case)}` };
    }
    const ratio = c.rate / findCase(result, t.over).rate;
    return { text: t.text, met: ratio >= t.min, measured: `${ratio.toFixed(1)}×` };
  });
}

function unitOf(result, ref) {
  return result.groups.find((g) => g.name === ref.split('/')[0]).unit;
}

function rate(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)} k`;
  return x.toFixed(1);
}

/** 22.2 → "22", 4.13 → "4.1". */
function ratioText(r) {
  return r >= 9.95 ? r.toFixed(0) : r.toFixed(1);
}

function relative(c, base, short = false) {
  if (c === base) return short ? '1x' : '1x (baseline)';
  const r = c.rate / base.rate;
  if (short && Math.abs(r - 1) < 0.005) return '1x';
  return r >= 1 ? `${short ? ratioText(r) : r.toFixed(2)}x faster` : `${short ? ratioText(1 / r) : (1 / r).toFixed(1)}x slower`;
}

/** Seconds as "67.1 ns", "29.6 ms". */
function duration(seconds) {
  const [scale, unit] = seconds >= 0.9995 ? [1, 's'] : seconds >= 0.9995e-3 ? [1e3, 'ms'] : seconds >= 0.9995e-6 ? [1e6, 'µs'] : [1e9, 'ns'];
  return `${+(seconds * scale).toPrecision(3)} ${unit}`;
}

/** "lines/s" → "line", "flushes/s" → "flush"; undefined for units that are not a count per second. */
function singular(unit) {
  const m = /^(\w+)\/s$/.exec(unit);
  if (!m) return undefined;
  const word = m[1];
  if (/(sh|ch|x|ss)es$/.test(word)) return word.slice(0, -2);
  return word.endsWith('s') ? word.slice(0, -1) : undefined;
}

// A '|' in a cell (a `|@rate` in a note, say) would end the cell.
function row(cells) {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

function casesTable(group, runs) {
  const base = group.cases.find((c) => c.id === group.baseline) ?? group.cases[0];
  // "lines/s" gets a "time/line" column: the cost of one unit, easier to budget.
  const each = group.cost === false ? undefined : singular(group.unit);
  const head = [
    'Case',
    group.unit,
    each ? `time/${each}` : null,
    '±',
    runs > 1 ? `low–high of ${runs} runs` : null,
    'vs baseline',
  ].filter((x) => x !== null);
  const rows = group.cases.map((c) => {
    const name = c.note ? `${c.name} — ${c.note}` : c.name;
    const cells = [name, rate(c.rate)];
    if (each) cells.push(duration(1 / c.rate));
    cells.push(`${c.rme.toFixed(1)}%`);
    if (runs > 1) cells.push(`${rate(c.low)}–${rate(c.high)}`);
    cells.push(relative(c, base));
    return cells;
  });
  return [head, head.map((h, i) => (i === 0 ? '---' : '---:')), ...rows].map(row).join('\n');
}

function xText(group, x) {
  return `${compact(x)}${group.x.unit && group.x.unit !== group.x.label ? ` ${group.x.unit}` : ''}`;
}

function seriesTable(group) {
  const xs = [...new Set(group.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const head = [group.x.label, ...group.series.map((s) => s.name)];
  const rows = xs.map((x) => [
    xText(group, x),
    ...group.series.map((s) => {
      const p = s.points.find((q) => q.x === x);
      return p === undefined ? '—' : (p.text ?? `${si(p.y)} ${group.unit}`);
    }),
  ]);
  return [head, head.map((h, i) => (i === 0 ? '---' : '---:')), ...rows].map(row).join('\n');
}

/** Least squares of ln(quantity) on ln(x): quantity ≈ a·x^b. */
function powerFit(points, of) {
  const xs = points.map((p) => Math.log(p.x));
  const vs = points.map((p) => Math.log(of === 'total' ? p.y * p.x : p.y));
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const mv = vs.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxv = 0;
  let svv = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxv += (xs[i] - mx) * (vs[i] - mv);
    svv += (vs[i] - mv) ** 2;
  }
  const b = sxv / sxx;
  const r2 = svv === 0 ? 1 : (sxv * sxv) / (sxx * svv);
  return { b, r2 };
}

function growthWord(b) {
  if (b < 0.9) return 'sublinear';
  if (b <= 1.1) return 'linear';
  return 'superlinear';
}

/** One line per series: the fitted exponent and what it means. */
function fits(group) {
  if (!group.fit) return [];
  return group.series
    .filter((s) => s.points.length >= 3)
    .map((s) => {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const { b, r2 } = powerFit(pts, group.fit.of);
      const first = pts[0];
      const last = pts[pts.length - 1];
      const perUnit = last.y / first.y;
      const span = `${xText(group, first.x)} → ${xText(group, last.x)}`;
      return {
        series: s.name,
        b,
        word: growthWord(b),
        text:
          `${s.name}: ${group.fit.quantity} ∝ ${group.x.label}^${b.toFixed(2)} (R² ${r2.toFixed(3)}) over ${span} — ${growthWord(b)}; ` +
          (group.fit.of === 'total'
            ? `${group.unit} went from ${+first.y.toPrecision(3)} to ${+last.y.toPrecision(3)} (×${perUnit.toFixed(2)})`
            : `from ${+first.y.toPrecision(3)} to ${+last.y.toPrecision(3)} ${group.unit}`),
      };
    });
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux: os.cpus() has it
  }
  return {
    cpu,
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    v8: process.versions.v8,
  };
}

function versionOf(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function commit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'native'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.slice(3));
    return dirty.length === 0 ? head : `${head} + uncommitted changes to ${dirty.length} file${dirty.length === 1 ? '' : 's'} in src/ and native/`;
  } catch {
    return 'unknown';
  }
}

// The benches load dist/ and build/Release; name the sources changed since those were built.
function staleness() {
  const mtime = (f) => fs.statSync(path.join(ROOT, f)).mtimeMs;
  const warnings = [];
  try {
    const stale = fs
      .readdirSync(path.join(ROOT, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => {
        const built = `dist/${f.slice(0, -3)}.js`;
        return !fs.existsSync(path.join(ROOT, built)) || mtime(`src/${f}`) > mtime(built);
      });
    if (stale.length > 0) warnings.push(`dist/ is older than src/{${stale.join(',')}} (npm run build)`);
    const addon = mtime('build/Release/statsd_native.node');
    const changed = fs
      .readdirSync(path.join(ROOT, 'native'))
      .filter((f) => /\.(cc|h)$/.test(f) && mtime(`native/${f}`) > addon);
    if (changed.length > 0) warnings.push(`the addon is older than native/{${changed.join(',')}} (npm run build:native)`);
  } catch (error) {
    warnings.push(`could not compare build times: ${error.message}`);
  }
  return warnings;
}

/** "Intel(R) Xeon(R) Processor, 2 cores, Node v20.20.2, 2026-11-24": the line under every chart. */
function machineLine(meta) {
  const m = meta.machine;
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}; statsd-native ${meta.version}; ${meta.date}; ${meta.quick ? 'quick' : 'full'} run, best of ${meta.runs}`;
}

function chartFile(suite, group) {
  return `${suite}-${group.name}.svg`;
}

function chart(result, group, meta) {
  const footer = [machineLine(meta)];
  if (isSeries(group)) {
    return lineChart({
      title: group.title,
      subtitle: group.better ? `${group.unit}, ${group.better} is better` : group.unit,
      x: { label: group.x.label, unit: group.x.unit !== group.x.label ? group.x.unit : undefined, log: group.x.log },
      y: { label: group.y?.label ?? group.unit, unit: group.y?.label ? group.unit : undefined, log: group.y?.log },
      series: group.series,
      reference: group.reference,
      footer: [...fits(group).map((f) => `fit: ${f.text}`), ...footer],
    });
  }
  const base = group.cases.find((c) => c.id === group.baseline) ?? group.cases[0];
  return barChart({
    title: group.title,
    subtitle: `${group.unit}, higher is better${meta.runs > 1 ? `; whiskers: lowest to highest of ${meta.runs} runs` : ''}`,
    unit: group.unit,
    bars: group.cases.map((c) => ({
      label: c.name,
      value: c.rate,
      low: c.low,
      high: c.high,
      ours: /^ours\b/.test(c.name),
      baseline: c === base,
      relative: relative(c, base, true),
    })),
    footer,
  });
}

function section(result, meta, charts) {
  const m = meta.machine;
  const peers = (result.peers ?? []).map((p) => `${p} ${versionOf(p)}`).join(', ');
  const lines = [
    `<!-- suite:${result.suite} -->`,
    `## ${result.title}`,
    '',
    `Measured ${meta.date} on ${m.cpu}, ${m.cores} cores, ${m.memory}, ${m.os}; ` +
      `Node ${m.node} (V8 ${m.v8}); statsd-native ${meta.version} at ${meta.commit}` +
      (peers ? `; peers: ${peers}` : '') +
      '.',
    `${meta.quick ? 'Quick' : 'Full'} mode, best of ${meta.runs} run${meta.runs > 1 ? 's' : ''} ` +
      `(1-minute load average at the start of each run: ${meta.loads.map((l) => l.toFixed(2)).join(', ')}).`,
  ];
  for (const w of meta.stale) lines.push('', `**Warning:** measured while ${w}.`);
  if (result.description) lines.push('', `Workload: ${result.description}.`);
  for (const group of result.groups) {
    lines.push('', `### ${group.title}`, '');
    if (charts) lines.push(`![${group.title}](${charts}/${chartFile(result.suite, group)})`, '');
    lines.push(isSeries(group) ? seriesTable(group) : casesTable(group, meta.runs));
    const f = fits(group);
    if (f.length > 0) {
      lines.push('', `Fit (${group.fit.quantity} = a·${group.x.label}^b, least squares on logs; b = 1 is linear):`, '');
      for (const x of f) lines.push(`- ${x.text}`);
    }
  }
  const targets = evaluate(result);
  if (targets.length > 0) {
    lines.push('', '### Targets', '');
    for (const t of targets) lines.push(`- ${t.met ? 'met' : '**not met**'}: ${t.text} — measured ${t.measured}`);
  }
  if (result.notes?.length > 0) {
    lines.push('', '### Notes', '');
    for (const n of result.notes) lines.push(`- ${n}`);
  }
  lines.push(`<!-- /suite:${result.suite} -->`);
  return lines.join('\n');
}

const HEADER = `# Benchmarks

Generated by \`npm run bench\` (bench/run.js) from the suites in \`bench/*.bench.js\`;
do not edit by hand. Rates are metric lines per second (not calls per second) on
one core unless a group says otherwise; "vs baseline" compares each case with the
group's baseline (ours, marked 1x). Every group has a chart in docs/charts/ (drawn
by bench/chart.js, no dependencies); the figures behind this page are in
[benchmarks.json](benchmarks.json). \`npm run bench -- codec\` reruns one suite and
replaces only its section; \`npm run bench -- --quick\` is a smoke run (under a
minute) that leaves this file alone.`;

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to '-'. */
function anchor(title) {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function readStore() {
  try {
    return JSON.parse(fs.readFileSync(STORE, 'utf8'));
  } catch {
    return { suites: {} };
  }
}

function writeDocs(store) {
  const names = Object.keys(store.suites).filter((s) => allSuites().includes(s)).sort(byOrder);
  fs.mkdirSync(CHARTS, { recursive: true });
  const keep = new Set();
  const contents = [];
  for (const name of names) {
    const { result, meta } = store.suites[name];
    for (const group of result.groups) {
      const file = chartFile(name, group);
      keep.add(file);
      fs.writeFileSync(path.join(CHARTS, file), chart(result, group, meta));
    }
    contents.push(`- [${result.title}](#${anchor(result.title)})`);
  }
  for (const file of fs.readdirSync(CHARTS)) if (file.endsWith('.svg') && !keep.has(file)) fs.rmSync(path.join(CHARTS, file));
  const sections = names.map((name) => section(store.suites[name].result, store.suites[name].meta, 'charts'));
  fs.writeFileSync(DOC, `${HEADER}\n\n${contents.join('\n')}\n\n${sections.join('\n\n')}\n`);
  fs.writeFileSync(STORE, `${JSON.stringify(store, null, 1)}\n`);
}

const SUMMARY_START = '<!-- bench:summary -->';
const SUMMARY_END = '<!-- /bench:summary -->';

/** The README's relative table, from every stored suite's `summary` rows. */
function summaryTable(store) {
  const names = Object.keys(store.suites).filter((s) => allSuites().includes(s)).sort(byOrder);
  const rows = [];
  const growth = [];
  const dates = new Set();
  let meta;
  for (const name of names) {
    const { result } = store.suites[name];
    meta = store.suites[name].meta;
    const link = `docs/benchmarks.md#${anchor(result.title)}`;
    for (const group of result.groups) {
      const f = fits(group);
      if (f.length === 0) continue;
      const each = f.map((x) => `${x.series}: ${x.word} (b = ${x.b.toFixed(2)})`).join('; ');
      growth.push(`[${group.title}](docs/benchmarks.md#${anchor(group.title)}), ${group.fit.quantity} ∝ ${group.x.label}^b — ${each}.`);
      dates.add(store.suites[name].meta.date.slice(0, 10));
    }
    for (const s of result.summary ?? []) {
      const peer = s.package ? s.peer.replace('{version}', versionOf(s.package)) : s.peer;
      let ours = s.ours;
      let rel = s.relative;
      if (s.over !== undefined) {
        const c = findCase(result, s.case, true);
        const p = findCase(result, s.over, true);
        if (c === undefined || p === undefined) continue;
        ours = '1x';
        const r = c.rate / p.rate;
        rel = r >= 1 ? `${ratioText(r)}x slower` : `${ratioText(1 / r)}x faster`;
      }
      rows.push(row([`[${s.text}](${link})`, ours, peer, rel]));
      dates.add(store.suites[name].meta.date.slice(0, 10));
    }
  }
  if (rows.length === 0) return undefined;
  const m = meta.machine;
  return [
    SUMMARY_START,
    row(['workload', 'statsd-native', 'peer', 'peer vs statsd-native']),
    row(['---', '---', '---', '---']),
    ...rows,
    '',
    ...(growth.length > 0 ? ['Cost growth (least-squares fit on logs; b = 1 is linear):', '', ...growth.map((g) => `- ${g}`), ''] : []),
    `Measured ${[...dates].sort().join(', ')} on ${m.cpu}, ${m.cores} cores, Node ${m.node}; ` +
      'details, charts and the spread over runs in [docs/benchmarks.md](docs/benchmarks.md). ' +
      'Generated by `npm run bench`; do not edit between the markers.',
    SUMMARY_END,
  ].join('\n');
}

function writeReadme(store) {
  const table = summaryTable(store);
  if (table === undefined) return false;
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf(SUMMARY_START);
  const end = text.indexOf(SUMMARY_END);
  if (start === -1 || end === -1) throw new Error(`README.md has no ${SUMMARY_START} … ${SUMMARY_END} markers`);
  fs.writeFileSync(README, text.slice(0, start) + table + text.slice(end + SUMMARY_END.length));
  return true;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
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
    for (const [suite, { result, meta: m }] of Object.entries(measured)) {
      for (const group of result.groups) fs.writeFileSync(path.join(dir, chartFile(suite, group)), chart(result, group, m));
    }
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
