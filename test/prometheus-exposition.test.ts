// Prometheus exposition at /metrics (src/daemon/prometheus): names and
// escaping, types, timers as summaries, tags to labels, which key wrote which
// carbon line, duplicates, bounds, idle state, the daemon's own metrics.
// Every exposition is read back by a strict 0.0.4 checker (and by Debian's
// promtool when installed); values are compared with the flush's carbon lines.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { History } from '../src/daemon/history/history';
import { PrometheusExposition } from '../src/daemon/prometheus/exposition';
import { carbonLines } from '../src/daemon/prometheus/flush-reader';
import { DEFAULT_PROMETHEUS_IDLE_TIMEOUT_S, DEFAULT_PROMETHEUS_MAX_SERIES } from '../src/daemon/prometheus/options';
import { TEXT_FORMAT_CONTENT_TYPE, helpText, labelName, labelValue, metricName, sampleValue, tagLabels } from '../src/daemon/prometheus/text-format';
import { type ServerOptions, StatsdServer } from '../src/daemon/server';
import { httpGet } from './helpers/daemon-cli';

// --- a strict reader of the 0.0.4 text format --------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  text: string;
  /** Family name → type. */
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(NaN|[+-]Inf|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)$/;

/**
 * Parses `text` and throws on anything Prometheus refuses or a scrape must
 * not hold: a bad name, label or value, a label twice, a sample twice, a
 * second TYPE or HELP, a TYPE after its samples, a family's samples apart,
 * a sample of no declared family, a summary's quantile out of [0, 1].
 */
function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const e: Exposition = { text, types: new Map(), help: new Map(), samples: [] };
  const seen = new Set<string>();
  const closed = new Set<string>();
  let family: string | undefined;
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1} ${JSON.stringify(line)}: ${why}`);
    };
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, what, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) fail('bad metric name');
      if (what === 'HELP') {
        if (e.help.has(name)) fail('second HELP');
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) fail('bad escape in HELP');
        e.help.set(name, rest.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c)));
        return;
      }
      if (!['counter', 'gauge', 'summary', 'histogram', 'untyped'].includes(rest)) fail('bad type');
      if (e.types.has(name)) fail('second TYPE');
      if (family !== undefined) closed.add(family);
      if (closed.has(name)) fail('TYPE after its samples');
      family = name;
      e.types.set(name, rest);
      return;
    }
    if (line.startsWith('#')) return;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) return fail('not a sample line');
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    if (!NAME.test(name)) fail('bad metric name');
    if (!VALUE.test(valueText)) fail('bad value');
    const labels: Record<string, string> = {};
    let rest = labelText ?? '';
    while (rest !== '') {
      const l = /^([^=]+)="((?:[^"\\]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!l) return fail(`bad labels at ${JSON.stringify(rest)}`);
      const [all, label, raw] = l as unknown as [string, string, string];
      if (!LABEL.test(label) || label.startsWith('__')) fail(`bad label name ${label}`);
      if (label in labels) fail(`label ${label} twice`);
      labels[label] = raw.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(all.length);
    }
    const type = family === undefined ? undefined : e.types.get(family);
    const ofFamily = name === family || (type === 'summary' && (name === `${family}_sum` || name === `${family}_count`));
    if (!ofFamily) fail(`sample outside its family (current: ${family})`);
    if (type === 'summary' && name === family) {
      const q = Number(labels.quantile);
      if (!(q >= 0 && q <= 1)) fail('summary sample without a quantile in [0, 1]');
    }
    const identity = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (seen.has(identity)) fail('duplicate sample');
    seen.add(identity);
    e.samples.push({ name, labels, value: Number(valueText.replace('Inf', 'Infinity')) });
  });
  return e;
}

/** The value of the sample `name{labels}` (labels exactly), or undefined. */
function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** The samples of statsd metrics (not the daemon's own). */
function statsdSamples(e: Exposition): Sample[] {
  return e.samples.filter((s) => !s.name.startsWith('statsd_native_'));
}

const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = fs.existsSync(PROMTOOL);

/** promtool's parser must find nothing wrong (its lint, e.g. "counters should end in _total", is not asked for here). */
function promtoolParses(text: string): void {
  if (!hasPromtool) return;
  let out = '';
  try {
    out = execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    out = `${e.stdout}${e.stderr}`;
    // 3: lint findings only; 1: the text did not parse.
    if (e.status !== 3) throw new Error(`promtool check metrics failed (${e.status}): ${out}`);
  }
  expect(out).not.toMatch(/parsing error/);
}

// --- the daemon under test ----------------------------------------------------

const servers: StatsdServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop(100);
});

/** A started server with HTTP on a free port; flushes only when the test calls flush(). */
async function daemon(options: ServerOptions = {}): Promise<StatsdServer> {
  const server = new StatsdServer({ http: { address: '127.0.0.1', port: 0 }, flushInterval: 60_000, ...options });
  servers.push(server);
  await server.start();
  return server;
}

async function scrape(server: StatsdServer): Promise<Exposition> {
  const answer = await httpGet(server.httpPort, '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toBe(TEXT_FORMAT_CONTENT_TYPE);
  const e = parseExposition(answer.body);
  promtoolParses(answer.body);
  return e;
}

/** Ingests `lines`, flushes, and returns the flush's carbon lines. */
function flush(server: StatsdServer, lines: string): [string, number][] {
  if (lines !== '') server.aggregator.ingest(lines);
  return carbonLines(server.flush().carbon);
}

/** The value of the (first) carbon line `name`. */
function carbon(lines: [string, number][], name: string): number {
  const found = lines.find(([n]) => n === name);
  if (!found) throw new Error(`no carbon line ${name} in ${JSON.stringify(lines)}`);
  return found[1];
}

const dropped = (e: Exposition, reason: string) => valueOf(e, 'statsd_native_prometheus_series_dropped_total', { reason });

// --- tests --------------------------------------------------------------------

describe('the checker', () => {
  it.each([
    ['a 1\n', /outside its family/],
    ['# TYPE a counter\na 1\na 2\n', /duplicate sample/],
    ['# TYPE a gauge\na{x="1",x="2"} 1\n', /label x twice/],
    ['# TYPE a gauge\n# TYPE a gauge\n', /second TYPE/],
    ['# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n', /outside its family/],
    ['# TYPE a summary\na 1\n', /quantile/],
    ['# TYPE a gauge\na{__name__="b"} 1\n', /bad label name/],
    ['# TYPE a gauge\na{x="\\q"} 1\n', /bad labels/],
    ['# TYPE a gauge\na Infinity\n', /bad value/],
    ['# TYPE a.b gauge\n', /bad metric name/],
  ])('refuses %j', (text, why) => {
    expect(() => parseExposition(text)).toThrow(why);
  });
});

describe('text format spelling', () => {
  it.each([
    ['api.latency', 'api_latency'],
    ['api.req-time/p99', 'api_req_time_p99'],
    ['5xx.errors', '_5xx_errors'],
    ['ns:sub.metric', 'ns:sub_metric'],
    ['héllo wörld', 'h_llo_w_rld'],
    ['emoji.😀', 'emoji__'], // one '_' per code point, not per UTF-16 unit
    ['', '_'],
  ])('metricName(%j) = %j', (path, name) => {
    expect(metricName(path)).toBe(name);
    expect(name).toMatch(NAME);
  });

  it.each([
    ['env', 'env'],
    ['a.b-c', 'a_b_c'],
    ['ns:x', 'ns_x'],
    ['1st', '_1st'],
    ['__name__', '_name__'],
    ['___x', '_x'],
    ['', undefined],
  ])('labelName(%j) = %j', (tag, name) => {
    expect(labelName(tag)).toBe(name);
    if (name !== undefined) expect(name).toMatch(LABEL);
  });

  it('escapes label values and HELP text as 0.0.4 says; values as Go reads them', () => {
    expect(labelValue('plain')).toBe('plain');
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(helpText('a"b\\c\nd')).toBe('a"b\\\\c\\nd');
    expect([1, -2.5, 1e21, 5e-7, NaN, Infinity, -Infinity].map(sampleValue)).toEqual(['1', '-2.5', '1e+21', '5e-7', 'NaN', '+Inf', '-Inf']);
  });

  it('tags become sorted labels; empty values, empty names and names taken twice are dropped and counted', () => {
    expect(tagLabels('')).toEqual({ text: '', names: [], dropped: 0 });
    expect(tagLabels(';env=prod;az=eu-1')).toEqual({ text: 'az="eu-1",env="prod"', names: ['env', 'az'], dropped: 0 });
    // "a.b" and "a_b" are both a_b: the first (the stored order) stays
    expect(tagLabels(';a.b=1;a_b=2;flag;=x;v=').text).toBe('a_b="1"');
    expect(tagLabels(';a.b=1;a_b=2;flag;=x;v=').dropped).toBe(4);
    expect(tagLabels(';path=C:\\dir;q="x"').text).toBe('path="C:\\\\dir",q="\\"x\\""');
    // a summary's own label: the tag is renamed, as Prometheus renames a target's clashing label
    expect(tagLabels(';quantile=high;z=1', 'quantile').text).toBe('exported_quantile="high",z="1"');
  });
});

describe('brubeck convention', () => {
  it('counters add up their flushes, C counters their increments; gauges and sets are the flush\'s; timers are summaries with quantiles from the percentiles', async () => {
    const server = await daemon({ aggregator: { percentiles: [0.5, 0.9, 0.99] } });
    await scrape(server); // the first scrape starts the reading of flushes
    const samples = Array.from({ length: 10 }, (_, i) => `api.latency:${i + 1}|ms`).join('\n');
    const first = flush(server, `api.requests:3|c\napi.requests:1|c|@0.5\nconn.total:100|C\nconn.total:130|C\ntemp:21.5|g\ntemp:-1.5|g\nusers:a|s\nusers:b|s\nusers:a|s\n${samples}\n`);
    let e = await scrape(server);
    expect(valueOf(e, 'api_requests')).toBe(5);
    expect(e.types.get('api_requests')).toBe('counter');
    expect(valueOf(e, 'conn_total')).toBe(30); // the first C value primes, then the increment
    expect(e.types.get('conn_total')).toBe('counter');
    expect(valueOf(e, 'temp')).toBe(20);
    expect(e.types.get('temp')).toBe('gauge');
    expect(valueOf(e, 'users')).toBe(2);
    expect(e.types.get('users')).toBe('gauge');
    expect(e.types.get('api_latency')).toBe('summary');
    expect(valueOf(e, 'api_latency', { quantile: '0' })).toBe(1);
    expect(valueOf(e, 'api_latency', { quantile: '1' })).toBe(10);
    // the median and percentile 0.5 are one quantile, once
    expect(valueOf(e, 'api_latency', { quantile: '0.5' })).toBe(carbon(first, 'api.latency.median'));
    expect(valueOf(e, 'api_latency', { quantile: '0.9' })).toBe(carbon(first, 'api.latency.percentile.90'));
    expect(valueOf(e, 'api_latency', { quantile: '0.99' })).toBe(carbon(first, 'api.latency.percentile.99'));
    expect(e.samples.filter((s) => s.name === 'api_latency').map((s) => s.labels.quantile)).toEqual(['0', '0.5', '0.9', '0.99', '1']);
    expect(valueOf(e, 'api_latency_sum')).toBe(55);
    expect(valueOf(e, 'api_latency_count')).toBe(10);
    expect(e.help.get('api_latency')).toBe('statsd timer api.latency');

    // second interval: totals go on, the flush's values replace the last
    const second = flush(server, 'api.requests:2|c\nconn.total:131|C\ntemp:7|g\nusers:z|s\napi.latency:100|ms\napi.latency:300|ms\n');
    e = await scrape(server);
    expect(valueOf(e, 'api_requests')).toBe(7);
    expect(valueOf(e, 'conn_total')).toBe(31);
    expect(valueOf(e, 'temp')).toBe(7);
    expect(valueOf(e, 'users')).toBe(1);
    expect(valueOf(e, 'api_latency', { quantile: '0' })).toBe(100);
    expect(valueOf(e, 'api_latency', { quantile: '0.9' })).toBe(carbon(second, 'api.latency.percentile.90'));
    expect(valueOf(e, 'api_latency_sum')).toBe(455);
    expect(valueOf(e, 'api_latency_count')).toBe(12);

    // third: nothing sent. brubeck reports each key once more (counters 0,
    // a timer's count 0 without quantiles): totals stay, no quantiles.
    flush(server, '');
    e = await scrape(server);
    expect(valueOf(e, 'api_requests')).toBe(7);
    expect(valueOf(e, 'api_latency_count')).toBe(12);
    expect(valueOf(e, 'api_latency', { quantile: '0.5' })).toBeUndefined();
    expect(valueOf(e, 'temp')).toBe(7);

    // fourth: brubeck is silent about them. Gauges and sets are gone (the
    // latest flush has no value for them); totals are still true and stay.
    flush(server, '');
    e = await scrape(server);
    expect(valueOf(e, 'temp')).toBeUndefined();
    expect(valueOf(e, 'users')).toBeUndefined();
    expect(e.types.has('temp')).toBe(false); // no HELP/TYPE for a family without samples
    expect(valueOf(e, 'api_requests')).toBe(7);
    expect(valueOf(e, 'api_latency_sum')).toBe(455);
    expect(dropped(e, 'unresolved')).toBe(0);
    expect(dropped(e, 'duplicate')).toBe(0);
    expect(dropped(e, 'limit')).toBe(0);
  });

  it('DogStatsD tags become labels (escaped, sanitized, valueless ones counted); names are sanitized', async () => {
    const server = await daemon();
    await scrape(server);
    flush(server, [
      'http.requests:1|c|#env:prod,region:eu-1',
      'http.requests:2|c|#env:dev',
      'http.requests:4|c|#region:eu-1,env:prod', // the same series: tags are sorted when stored
      'odd.tags:1|c|#path:C:\\dir,q:"x",__name__:evil,flag',
      '5xx.rate-limit:3|c',
      'req.time:5|ms|#quantile:high',
    ].join('\n'));
    const e = await scrape(server);
    expect(valueOf(e, 'http_requests', { env: 'prod', region: 'eu-1' })).toBe(5);
    expect(valueOf(e, 'http_requests', { env: 'dev' })).toBe(2);
    expect(e.samples.filter((s) => s.name === 'http_requests')).toHaveLength(2);
    expect(valueOf(e, 'odd_tags', { path: 'C:\\dir', q: '"x"', _name__: 'evil' })).toBe(1);
    expect(e.text).toContain('odd_tags{_name__="evil",path="C:\\\\dir",q="\\"x\\""} 1\n');
    expect(valueOf(e, 'statsd_native_prometheus_labels_dropped_total')).toBe(1); // #flag: no value
    expect(valueOf(e, '_5xx_rate_limit')).toBe(3);
    expect(valueOf(e, 'req_time', { exported_quantile: 'high', quantile: '0.5' })).toBe(5);
    expect(valueOf(e, 'req_time_count', { exported_quantile: 'high' })).toBe(1);
  });

  it('which key wrote a line comes from the aggregator\'s keys and the flush order, not the name: counter y.min beside timer y', async () => {
    const server = await daemon({ aggregator: { percentiles: [0.9] } });
    await scrape(server);
    // `a.min` (counter) is first seen before timer `a`; timer `b` before counter `b.min`.
    let lines = flush(server, 'a.min:7|c\na:2|ms\na:4|ms\nb:3|ms\nb.min:11|c\nb.max:13|c\n');
    expect(lines.filter(([n]) => n === 'a.min').map(([, v]) => v)).toEqual([7, 2]); // the same carbon name twice
    let e = await scrape(server);
    expect(valueOf(e, 'a_min')).toBe(7);
    expect(valueOf(e, 'a', { quantile: '0' })).toBe(2);
    expect(valueOf(e, 'a_count')).toBe(2);
    expect(valueOf(e, 'b_min')).toBe(11);
    expect(valueOf(e, 'b_max')).toBe(13);
    expect(valueOf(e, 'b', { quantile: '0' })).toBe(3);
    expect(valueOf(e, 'b', { quantile: '1' })).toBe(3);

    // the timers idle (count and count_ps only), the counters written again:
    // `b.min` right after timer b's last line is still the counter's
    lines = flush(server, 'a.min:1|c\nb.min:1|c\nb.max:1|c\n');
    expect(lines.map(([n]) => n).slice(0, -3)).toEqual(['a.min', 'a.count', 'a.count_ps', 'b.count', 'b.count_ps', 'b.min', 'b.max']);
    e = await scrape(server);
    expect(valueOf(e, 'a_min')).toBe(8);
    expect(valueOf(e, 'b_min')).toBe(12);
    expect(valueOf(e, 'b_max')).toBe(14);
    expect(valueOf(e, 'b', { quantile: '0' })).toBeUndefined();
    expect(valueOf(e, 'b_count')).toBe(1);
    expect(dropped(e, 'unresolved')).toBe(0);
  });

  it('a timer that stores no samples (maxSamplesPerKey 0) writes no median: counters m.median and m.percentile.90 after it are the counters\'', async () => {
    const server = await daemon({ aggregator: { maxSamplesPerKey: 0, percentiles: [0.9] } });
    await scrape(server);
    const lines = flush(server, 'm:5|ms\nm:7|ms\nm.median:3|c\nm.percentile.90:4|c\n');
    expect(lines.map(([n]) => n).slice(0, -3)).toEqual(['m.count', 'm.count_ps', 'm.min', 'm.max', 'm.sum', 'm.mean', 'm.median', 'm.percentile.90']);
    const e = await scrape(server);
    expect(valueOf(e, 'm_median')).toBe(3);
    expect(valueOf(e, 'm_percentile_90')).toBe(4);
    expect(e.samples.filter((s) => s.name === 'm').map((s) => [s.labels.quantile, s.value])).toEqual([['0', 5], ['1', 7]]);
    expect(valueOf(e, 'm_sum')).toBe(12);
  });

  it('a counter named like a timer\'s count line: both read right, the Prometheus name kept by the first (x_count), the other counted', async () => {
    const server = await daemon();
    await scrape(server);
    flush(server, 'x.count:3|c\nx:5|ms\nw:9|ms\nw.count:4|c\n');
    const e = await scrape(server);
    expect(valueOf(e, 'x_count')).toBe(3); // counter x.count; summary x would need x_count too
    expect(e.types.get('x_count')).toBe('counter');
    expect(e.types.has('x')).toBe(false);
    expect(valueOf(e, 'w_count')).toBe(1); // summary w's count, not counter w.count's 4
    expect(e.types.get('w')).toBe('summary');
    expect(valueOf(e, 'w', { quantile: '0.5' })).toBe(9);
    // left out: summary x (2 + 8 quantiles) and counter w.count (1)
    expect(dropped(e, 'duplicate')).toBe(11);
  });

  it('keys that sanitize to one name and labels: the first keeps it; one name as two types: the first type keeps it; statsd_native_ is the daemon\'s', async () => {
    const server = await daemon();
    await scrape(server);
    flush(server, 'dup.a:1|c\ndup-a:2|c\nmixed:5|g\nmixed:1|c|#env:x\nmixed:2|g|#env:y\nstatsd_native.lines_total:9|c\n');
    const e = await scrape(server);
    expect(valueOf(e, 'dup_a')).toBe(1);
    expect(e.samples.filter((s) => s.name === 'dup_a')).toHaveLength(1);
    expect(valueOf(e, 'mixed')).toBe(5);
    expect(valueOf(e, 'mixed', { env: 'y' })).toBe(2);
    expect(valueOf(e, 'mixed', { env: 'x' })).toBeUndefined();
    expect(e.types.get('mixed')).toBe('gauge');
    expect(valueOf(e, 'statsd_native_lines_total')).toBe(server.stats.aggregator.lines); // the daemon's, not the key's 9
    expect(dropped(e, 'duplicate')).toBe(3);
    // counted again each flush they are left out of (brubeck reports each key once more, idle)
    flush(server, 'dup-a:2|c\n');
    expect(dropped(await scrape(server), 'duplicate')).toBe(6);
  });
});

describe('etsy convention', () => {
  it('legacy namespace: counters from stats_counts, gauges, sets, timers with upper_90 as 0.9; a user gauge named statsd.timestamp_lag and a counter named timers.w.count', async () => {
    const server = await daemon({ aggregator: { convention: 'etsy' } });
    await scrape(server);
    const timings = Array.from({ length: 20 }, (_, i) => `svc.lat:${(i + 1) * 10}|ms|#env:prod`).join('\n');
    const first = flush(server, `svc.hits:4|c\nsvc.hits:1|c|@0.1\nsvc.temp:3|g\nsvc.temp:+2|g\nsvc.users:u1|s\nsvc.users:u2|s\n${timings}\nstatsd.timestamp_lag:77|g\nw:5|ms\ntimers.w.count:6|c\n`);
    let e = await scrape(server);
    expect(valueOf(e, 'svc_hits')).toBe(14);
    expect(valueOf(e, 'svc_temp')).toBe(5);
    expect(valueOf(e, 'svc_users')).toBe(2);
    expect(valueOf(e, 'svc_lat', { env: 'prod', quantile: '0' })).toBe(10);
    expect(valueOf(e, 'svc_lat', { env: 'prod', quantile: '1' })).toBe(200);
    expect(valueOf(e, 'svc_lat', { env: 'prod', quantile: '0.5' })).toBe(carbon(first, 'stats.timers.svc.lat.median;env=prod'));
    expect(valueOf(e, 'svc_lat', { env: 'prod', quantile: '0.9' })).toBe(carbon(first, 'stats.timers.svc.lat.upper_90;env=prod'));
    expect(valueOf(e, 'svc_lat_sum', { env: 'prod' })).toBe(2100);
    expect(valueOf(e, 'svc_lat_count', { env: 'prod' })).toBe(20);
    expect(valueOf(e, 'statsd_timestamp_lag')).toBe(77);
    expect(valueOf(e, 'timers_w_count')).toBe(6);
    expect(valueOf(e, 'w_count')).toBe(1);

    // the second flush has etsy's own timestamp_lag line, named as the user's gauge
    const second = flush(server, 'svc.hits:1|c\nstatsd.timestamp_lag:78|g\ntimers.w.count:1|c\nw:1|ms\n');
    expect(second.filter(([n]) => n === 'stats.gauges.statsd.timestamp_lag')).toHaveLength(2);
    e = await scrape(server);
    expect(valueOf(e, 'svc_hits')).toBe(15);
    expect(valueOf(e, 'statsd_timestamp_lag')).toBe(78);
    expect(valueOf(e, 'timers_w_count')).toBe(7);
    expect(valueOf(e, 'w_count')).toBe(2);
    expect(valueOf(e, 'svc_lat_count', { env: 'prod' })).toBe(20);
    expect(dropped(e, 'unresolved')).toBe(0);
  });

  it('deleteIdleStats: a gauge freed by the flush that reports it is still read (by its namespace), nothing unresolved', async () => {
    const server = await daemon({ aggregator: { convention: 'etsy', deleteIdleStats: true } });
    await scrape(server);
    flush(server, 'g:5|g\nc:2|c\ngauges.x:1|c\n');
    expect(server.aggregator.snapshot(undefined, { samples: false }).map((k) => k.key)).toEqual(['c', 'gauges.x']); // g is freed
    let e = await scrape(server);
    expect(valueOf(e, 'g')).toBe(5);
    expect(valueOf(e, 'c')).toBe(2);
    expect(valueOf(e, 'gauges_x')).toBe(1);
    // idle: etsy deletes the counters and reports nothing; the totals stay, the gauge is gone
    flush(server, '');
    e = await scrape(server);
    expect(valueOf(e, 'g')).toBeUndefined();
    expect(valueOf(e, 'c')).toBe(2);
    expect(dropped(e, 'unresolved')).toBe(0);
  });

  it('new namespace with a suffix, without flushed counts: a counter is its rate × the interval', async () => {
    const server = await daemon({
      flushInterval: 20_000,
      aggregator: { convention: 'etsy', legacyNamespace: false, globalPrefix: 'p', globalSuffix: 'sfx', flushCounts: false, percentThreshold: [50, 99.9, -10] },
    });
    await scrape(server);
    const timings = Array.from({ length: 1000 }, (_, i) => `t:${i + 1}|ms`).join('\n');
    const lines = flush(server, `c:5|c\ng:1|g\ns:x|s\n${timings}\n`);
    const e = await scrape(server);
    expect(carbon(lines, 'p.counters.c.rate.sfx')).toBe(0.25);
    expect(valueOf(e, 'c')).toBe(5);
    expect(valueOf(e, 'g')).toBe(1);
    expect(valueOf(e, 's')).toBe(1);
    // 0.5 is the median's (not upper_50's); 99.9 is 0.999; top10 has no quantile
    expect(e.samples.filter((s) => s.name === 't').map((s) => s.labels.quantile)).toEqual(['0', '0.5', '0.999', '1']);
    expect(valueOf(e, 't', { quantile: '0.5' })).toBe(carbon(lines, 'p.timers.t.median.sfx'));
    expect(valueOf(e, 't', { quantile: '0.999' })).toBe(carbon(lines, 'p.timers.t.upper_99_9.sfx'));
    expect(valueOf(e, 't_count')).toBe(1000);
    expect(dropped(e, 'unresolved')).toBe(0);
  });
});

describe('bounds', () => {
  it('at most maxSeries samples: a series keeps its place, new ones past it are left out and counted each flush, absent ones make room', async () => {
    const server = await daemon({ prometheus: { maxSeries: 13 }, aggregator: { percentiles: [0.9] } });
    await scrape(server);
    // a summary costs 2 + its quantiles (0, 0.5, 0.9, 1): 6
    flush(server, 'k1:1|c\nk2:1|c\nt1:5|ms\nk3:1|c\nt2:5|ms\nk4:1|c\nk5:1|c\n');
    let e = await scrape(server);
    expect(statsdSamples(e).map((s) => s.name).filter((n, i, all) => all.indexOf(n) === i)).toEqual(['k1', 'k2', 't1', 't1_sum', 't1_count', 'k3', 'k4', 'k5']);
    expect(statsdSamples(e)).toHaveLength(11);
    expect(valueOf(e, 'statsd_native_prometheus_series')).toBe(11);
    expect(valueOf(e, 'statsd_native_prometheus_max_series')).toBe(13);
    expect(dropped(e, 'limit')).toBe(6); // t2

    // t2 first this time: the held ones keep their places; t2 is left out again
    flush(server, 't2:1|ms\nk1:1|c\nk2:1|c\nt1:5|ms\nk3:1|c\nk4:1|c\nk5:1|c\n');
    e = await scrape(server);
    expect(valueOf(e, 't2_count')).toBeUndefined();
    expect(valueOf(e, 'k5')).toBe(2);
    expect(dropped(e, 'limit')).toBe(12);

    // counters not written this flush (after brubeck's one idle report) give way to new keys
    flush(server, 't2:1|ms\n'); // everything else reported idle once more
    flush(server, 't2:1|ms\nn1:1|c\n');
    e = await scrape(server);
    expect(valueOf(e, 't2_count')).toBe(1);
    expect(valueOf(e, 'n1')).toBe(1);
    // 11 held + 7 new > 13: the oldest absent ones (k1, k2, t1) went; k3 k4 k5 keep their totals
    expect(valueOf(e, 'k1')).toBeUndefined();
    expect(valueOf(e, 't1_count')).toBeUndefined();
    expect(valueOf(e, 'k3')).toBe(2);
    expect(statsdSamples(e)).toHaveLength(10);
    expect(dropped(e, 'limit')).toBe(18);
    expect(valueOf(e, 'statsd_native_prometheus_series')).toBe(statsdSamples(e).length);
  });

  it('the defaults and their checks', async () => {
    const server = await daemon();
    const e = await scrape(server);
    expect(valueOf(e, 'statsd_native_prometheus_max_series')).toBe(DEFAULT_PROMETHEUS_MAX_SERIES);
    expect(server.options.prometheus).toEqual({ maxSeries: DEFAULT_PROMETHEUS_MAX_SERIES, idleTimeout: DEFAULT_PROMETHEUS_IDLE_TIMEOUT_S });
    expect(() => new StatsdServer({ prometheus: { maxSeries: -1 } })).toThrow(/Expected an integer between 0 and \d+ for prometheus.maxSeries/);
    expect(() => new StatsdServer({ prometheus: { maxSerie: 1 } as never })).toThrow(/maxSerie/);
    expect(() => new StatsdServer({ prometheus: 'yes' as never })).toThrow(/Expected false or \{ maxSeries\?, idleTimeout\? \} for prometheus/);
    const off = await daemon({ prometheus: false });
    expect((await httpGet(off.httpPort, '/metrics')).status).toBe(404);
  });

  it('reads flushes from the first scrape until idleTimeout without one; totals of keys not flushed for idleTimeout are freed', async () => {
    const server = new StatsdServer({ flushInterval: 60_000 });
    servers.push(server);
    const exposition = new PrometheusExposition(server, { maxSeries: 100, idleTimeout: 60 });
    const flushAt = (lines: string, now: number) => {
      server.aggregator.ingest(lines);
      exposition.read(server.flush(), now);
    };
    const t0 = 1_000_000;
    flushAt('before.scrape:1|c\n', t0); // nobody scraped yet: not read
    let e = parseExposition(exposition.scrape(t0));
    expect(statsdSamples(e)).toEqual([]);
    expect(valueOf(e, 'statsd_native_prometheus_flushes_total')).toBe(0);

    flushAt('c:2|c\nlate:1|c\n', t0 + 1000);
    flushAt('c:3|c\n', t0 + 2000);
    e = parseExposition(exposition.scrape(t0 + 2000));
    expect(valueOf(e, 'c')).toBe(5);
    expect(valueOf(e, 'late')).toBe(1);
    // `late` is no longer flushed (brubeck's one idle report was at t0 + 2 s)
    for (let t = 3; t <= 62; t++) flushAt('c:1|c\n', t0 + t * 1000);
    expect(valueOf(parseExposition(exposition.scrape(t0 + 62_000)), 'late')).toBe(1); // 60 s after its last flush
    flushAt('c:1|c\n', t0 + 63_000);
    e = parseExposition(exposition.scrape(t0 + 63_000));
    expect(valueOf(e, 'late')).toBeUndefined();
    expect(valueOf(e, 'c')).toBe(66);

    // no scrape for more than idleTimeout: the state is freed, counting starts again at the next scrape
    flushAt('c:1|c\n', t0 + 124_000);
    e = parseExposition(exposition.scrape(t0 + 124_000));
    expect(valueOf(e, 'c')).toBeUndefined();
    flushAt('c:4|c\n', t0 + 125_000);
    expect(valueOf(parseExposition(exposition.scrape(t0 + 125_000)), 'c')).toBe(4);
  });

  it('memory: the state holds at most maxSeries samples however many keys come', async () => {
    const server = await daemon({ prometheus: { maxSeries: 1000 } });
    await scrape(server);
    for (let round = 0; round < 3; round++) {
      const lines = Array.from({ length: 5000 }, (_, i) => `flood.r${round}.k${i}:1|c`).join('\n');
      flush(server, lines);
    }
    const e = await scrape(server);
    expect(statsdSamples(e)).toHaveLength(1000);
    expect(valueOf(e, 'statsd_native_prometheus_series')).toBe(1000);
    // Flush 1: 1000 of round 0 in, 4000 out. Flush 2: round 0 written again
    // (brubeck's idle report), so it keeps its room: the other 4000 and
    // round 1 out. Flush 3: round 0 silent gives way to round 1 (written
    // before round 2, idle): 1000 of it in, the rest out.
    expect(dropped(e, 'limit')).toBe(4000 + 9000 + 9000);
    expect(statsdSamples(e).every((s) => s.name.startsWith('flood_r1_'))).toBe(true);
  });
});

describe('the daemon\'s own metrics', () => {
  it('statsd_native_*: the server\'s counters, errors by reason, each sink by name (two of one name told apart)', async () => {
    const server = await daemon({ history: {}, sinks: [new History()] });
    server.aggregator.ingest('ok:1|c\nbad:x|c\nworse|c\n');
    server.flush();
    const e = await scrape(server);
    const stats = server.stats;
    expect(valueOf(e, 'statsd_native_lines_total')).toBe(stats.aggregator.lines);
    expect(valueOf(e, 'statsd_native_lines_total')).toBe(1);
    expect(valueOf(e, 'statsd_native_errors_total', { reason: 'bad_value' })).toBe(stats.aggregator.byReason.bad_value);
    expect(e.samples.filter((s) => s.name === 'statsd_native_errors_total').reduce((n, s) => n + s.value, 0)).toBe(2);
    expect(valueOf(e, 'statsd_native_keys')).toBe(1);
    expect(valueOf(e, 'statsd_native_flushes_total')).toBe(1);
    expect(valueOf(e, 'statsd_native_http_requests_total')).toBe(stats.http.requests);
    expect(valueOf(e, 'statsd_native_sink_flushes_sent_total', { sink: 'history', type: stats.sinks[0]!.type })).toBe(1);
    expect(valueOf(e, 'statsd_native_sink_flushes_sent_total', { sink: 'history#2', type: stats.sinks[1]!.type })).toBe(1);
    expect(e.samples.find((s) => s.name === 'statsd_native_info')?.labels).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), convention: 'brubeck' });
    for (const [name, type] of e.types) {
      if (!name.startsWith('statsd_native_')) continue;
      if (name.endsWith('_total')) expect(type, name).toBe('counter');
      else expect(type, name).toBe('gauge');
    }
  });
});
