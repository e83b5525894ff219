// The report: a suite's merged result as a markdown section (tables, fits, targets, notes) and as SVG charts.
'use strict';

// Everything here reads merged suite results (the contract at the top of
// bench/run.js) and the run's facts (meta: date, machine, commit, runs, loads,
// stale); bench/run.js measures, bench/docs.js writes the files.

const { barChart, lineChart } = require('./chart');
const { fits, xText } = require('./fit');
const { rate, ratioText, duration, si } = require('./format');
const { versionOf } = require('./meta');

const isSeries = (group) => group.kind === 'series';

function findCase(result, ref, optional = false) {
  const [groupName, id] = ref.split('/');
  const c = result.groups.find((g) => g.name === groupName)?.cases?.find((x) => x.id === id);
  if (c === undefined && !optional) throw new Error(`${ref} is not a case of suite ${result.suite}`);
  return c;
}

function evaluate(result) {
  const unitOf = (ref) => result.groups.find((g) => g.name === ref.split('/')[0]).unit;
  return (result.targets ?? []).map((t) => {
    const c = findCase(result, t.case);
    if (t.over === undefined) {
      return { text: t.text, met: c.rate >= t.min, measured: `${rate(c.rate, 'table')} ${unitOf(t.case)}` };
    }
    const ratio = c.rate / findCase(result, t.over).rate;
    return { text: t.text, met: ratio >= t.min, measured: `${ratio.toFixed(1)}×` };
  });
}

function relative(c, base, short = false) {
  if (c === base) return short ? '1x' : '1x (baseline)';
  const r = c.rate / base.rate;
  if (short && Math.abs(r - 1) < 0.005) return '1x';
  return r >= 1 ? `${short ? ratioText(r) : r.toFixed(2)}x faster` : `${short ? ratioText(1 / r) : (1 / r).toFixed(1)}x slower`;
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

function table(head, rows) {
  return [head, head.map((h, i) => (i === 0 ? '---' : '---:')), ...rows].map(row).join('\n');
}

function casesTable(group, runs) {
  const base = group.cases.find((c) => c.id === group.baseline) ?? group.cases[0];
  // "lines/s" gets a "time/line" column: the cost of one unit, easier to budget.
  const each = group.cost === false ? undefined : singular(group.unit);
  const head = ['Case', group.unit, each ? `time/${each}` : null, '±', runs > 1 ? `low–high of ${runs} runs` : null, 'vs baseline'];
  const rows = group.cases.map((c) => {
    const cells = [c.note ? `${c.name} — ${c.note}` : c.name, rate(c.rate, 'table')];
    if (each) cells.push(duration(1 / c.rate));
    cells.push(`${c.rme.toFixed(1)}%`);
    if (runs > 1) cells.push(`${rate(c.low, 'table')}–${rate(c.high, 'table')}`);
    cells.push(relative(c, base));
    return cells;
  });
  return table(head.filter((x) => x !== null), rows);
}

function seriesTable(group) {
  const xs = [...new Set(group.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const rows = xs.map((x) => [
    xText(group, x),
    ...group.series.map((s) => {
      const p = s.points.find((q) => q.x === x);
      return p === undefined ? '—' : (p.text ?? `${si(p.y)} ${group.unit}`);
    }),
  ]);
  return table([group.x.label, ...group.series.map((s) => s.name)], rows);
}

/** "Intel(R) Xeon(R) Processor, 2 cores, Node v20.20.2, 2026-11-24": the line under every chart. */
function machineLine(meta) {
  const m = meta.machine;
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}; statsd-native ${meta.version}; ${meta.date}; ${meta.quick ? 'quick' : 'full'} run, best of ${meta.runs}`;
}

const chartFile = (suite, group) => `${suite}-${group.name}.svg`;

/** The SVG of one group (bench/chart.js). */
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

/** A suite's section of docs/benchmarks.md (also printed by a run, without the chart links). */
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

module.exports = { chart, chartFile, findCase, row, section };
