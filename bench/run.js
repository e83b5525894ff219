// Runs every bench/*.bench.js in its own process, prints their tables and regenerates docs/benchmarks.md.
'use strict';

// Usage: npm run bench [-- [--quick] [--runs N] [--write | --no-write] [suite ...]]
//   suite ...   only these suites (`codec` runs bench/codec.bench.js)
//   --quick     short runs (< 1 minute in all); docs are left alone unless --write
//   --runs N    run every suite N times (default 2, quick 1) and keep each case's
//               best rate; the table shows the spread over the runs
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
//       "cases": [{ "id": "native-bulk", "name": "what runs", "note": "optional",
//                   "rate": <units per second>, "rme": <± % at 95%>, "samples": <n> }]
//     }],
//     "targets": [{ "text": "...", "case": "group/id", "min": <rate> }            optional
//               | { "text": "...", "case": "group/id", "over": "group/id", "min": <ratio> }],
//     "notes": ["free text"]                                                      optional
//   }
// Rates are metric lines (or the group's unit) per second, never calls per
// second. bench/harness.js produces exactly this from a map of benchmark.js cases,
// one process per case.

const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');

function parseArgs(argv) {
  const args = { quick: false, runs: undefined, write: undefined, suites: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--write') args.write = true;
    else if (a === '--no-write') args.write = false;
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) args.runs = Number(a.slice(7));
    else if (a.startsWith('-')) throw new Error(`Expected --quick, --runs N, --write or a suite name but received ${a}`);
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
  const all = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.slice(0, -'.bench.js'.length))
    .sort();
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

// Keeps each case's best run and the spread over all runs.
function merge(runs) {
  const best = structuredClone(runs[0]);
  for (const group of best.groups) {
    for (const c of group.cases) {
      const all = runs.map(
        (r) => r.groups.find((g) => g.name === group.name).cases.find((x) => x.id === c.id),
      );
      const top = all.reduce((a, b) => (b.rate > a.rate ? b : a));
      Object.assign(c, top);
      c.low = Math.min(...all.map((x) => x.rate));
      c.high = top.rate;
      c.runs = all.length;
    }
  }
  return best;
}

function findCase(result, ref) {
  const [groupName, id] = ref.split('/');
  const c = result.groups.find((g) => g.name === groupName)?.cases.find((x) => x.id === id);
  if (c === undefined) throw new Error(`target names ${ref}, which suite ${result.suite} does not have`);
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

function relative(c, base) {
  if (c === base) return '1x (baseline)';
  const r = c.rate / base.rate;
  return r >= 1 ? `${r.toFixed(2)}x faster` : `${(1 / r).toFixed(1)}x slower`;
}

function table(group, runs) {
  const base = group.cases.find((c) => c.id === group.baseline) ?? group.cases[0];
  // "lines/s" gets a "ns/line" column: the cost of one unit, easier to budget.
  const each = /^(\w+)s\/s$/.exec(group.unit)?.[1];
  const head = [
    `Case`,
    group.unit,
    each ? `ns/${each}` : null,
    '±',
    runs > 1 ? `low–high of ${runs} runs` : null,
    'vs baseline',
  ].filter((x) => x !== null);
  const rows = group.cases.map((c) => {
    const name = c.note ? `${c.name} — ${c.note}` : c.name;
    const cells = [name, rate(c.rate)];
    if (each) cells.push((1e9 / c.rate).toFixed(c.rate > 1e7 ? 1 : 0));
    cells.push(`${c.rme.toFixed(1)}%`);
    if (runs > 1) cells.push(`${rate(c.low)}–${rate(c.high)}`);
    cells.push(relative(c, base));
    return cells;
  });
  return [head, head.map((h, i) => (i === 0 ? '---' : '---:')), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
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

function section(result, meta) {
  const m = meta.machine;
  const peers = result.peers.map((p) => `${p} ${versionOf(p)}`).join(', ');
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
    lines.push('', `### ${group.title}`, '', table(group, meta.runs));
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
one core; "vs baseline" compares each case with the group's baseline (ours, marked 1x).
\`npm run bench -- codec\` reruns one suite and replaces only its section;
\`npm run bench -- --quick\` is a smoke run that leaves this file alone.
`;

function writeDoc(sections) {
  let text = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : HEADER;
  for (const [suite, body] of sections) {
    const re = new RegExp(`<!-- suite:${suite} -->[\\s\\S]*?<!-- /suite:${suite} -->`);
    text = re.test(text) ? text.replace(re, () => body) : `${text.trimEnd()}\n\n${body}\n`;
  }
  fs.mkdirSync(path.dirname(DOC), { recursive: true });
  fs.writeFileSync(DOC, text.endsWith('\n') ? text : `${text}\n`);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
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

  const results = new Map(suites.map((s) => [s, []]));
  const loads = new Map(suites.map((s) => [s, []]));
  for (let run = 1; run <= args.runs; run++) {
    for (const suite of suites) {
      loads.get(suite).push(os.loadavg()[0]);
      console.error(`run ${run}/${args.runs}: ${suite}`);
      results.get(suite).push(runSuiteProcess(suite, args.quick));
    }
  }

  const sections = [];
  for (const suite of suites) {
    const result = merge(results.get(suite));
    const body = section(result, { ...meta, loads: loads.get(suite) });
    console.log(`\n${body.split('\n').slice(1, -1).join('\n')}`);
    sections.push([suite, body]);
  }
  if (args.write) {
    writeDoc(sections);
    console.log(`\nwrote ${path.relative(ROOT, DOC)}`);
  } else {
    console.log(`\n(${args.quick ? 'quick run: ' : ''}docs/benchmarks.md not updated; pass --write to update it)`);
  }
}

try {
  main();
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
}
