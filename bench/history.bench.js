// History and the Graphite render API (issue [6/7]): /render latency for N series × 360 points, ours against graphite-web over whisper files holding the same points; history memory and flush-recording time per series held.
'use strict';

// render (a sweep over N series in one request): a StatsdServer from dist/
// with http, history { window 3600 } and flushInterval 10 s (360 points a
// series), its history filled with 360 flushes of 1000 series plus the N
// asked for (`svc.s<i>.rate`), then GET /render?target=svc.*.rate&from=-1h
// &format=json (and sumSeries of it) from a client in the same process, one
// request at a time, 30 requests (10 with --quick) after 3 warm-ups; y is the
// median wall time of a request, answer parsed. graphite-web: Debian's 1.1
// (runserver, as the seed runs it; sqlite; no memcached) over whisper files
// written with Debian's python3-whisper holding the same 360 points
// (retention 10s:1h), the same requests.
//
// memory (a sweep over series held): a fresh `node --expose-gc` process,
// History({ window: 3600, flushInterval: 10000 }) recording 360 flushes of N
// series (names ~24 B); RSS after three full GCs less RSS before, per series,
// and the history's own count of its bytes (HISTORY_SERIES_OVERHEAD + 8 B a
// point + the name). time: the median wall time of one flush's
// History.write (native parse of the carbon text and one column written) on
// the JS thread, per series.

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { quick } = require('./args');
const { runSuite } = require('./harness');

const ROOT = path.join(__dirname, '..');
const POINTS = 360;
const STEP = 10;
const BACKGROUND = 1000;
const REQUESTS = quick ? 10 : 30;
const RENDER_XS = quick ? [100] : [10, 100, 1000];
const PEER_XS = quick ? [100] : [10, 100];
const MEMORY_XS = quick ? [10_000] : [1000, 10_000, 100_000];
const GRAPHITE_MANAGE = '/usr/bin/graphite-manage';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const targets = (n) => ['svc.*.rate', 'sumSeries(svc.*.rate)'].map((t) => `/render?target=${encodeURIComponent(t)}&from=-1h&format=json`).concat(n);

/** One flush's carbon text: `n` svc series and the background ones, values varying with the flush. */
function flushText(n, f, t) {
  let text = '';
  for (let i = 0; i < n; i++) text += `svc.s${i}.rate ${(i * 7 + f) % 97} ${t}\n`;
  for (let i = 0; i < BACKGROUND; i++) text += `bg.k${i}.count ${f} ${t}\n`;
  return text;
}

/** Median ms of REQUESTS GETs of each path (after 3 warm-ups), and the points in the first answer. */
async function timeRequests(port, paths) {
  let points = 0;
  const times = [];
  for (const p of paths) {
    for (let i = 0; i < 3 + REQUESTS; i++) {
      const start = process.hrtime.bigint();
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      const body = await r.json();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (!r.ok) throw new Error(`${p}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
      if (i >= 3) times.push(ms);
      if (i === 0 && p === paths[0]) points = body.reduce((a, s) => a + s.datapoints.length, 0);
    }
  }
  return { y: median(times), points, p90: [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.9)] };
}

async function renderOurs(_context, params) {
  const { StatsdServer } = require(path.join(ROOT, 'dist', 'daemon', 'server.js'));
  const n = params.x;
  const server = new StatsdServer({ http: { address: '127.0.0.1', port: 0 }, history: { window: 3600 }, flushInterval: STEP * 1000, udp: { address: '127.0.0.1', port: 0 } });
  await server.start();
  const now = Math.floor(Date.now() / 1000);
  const last = now - (now % STEP);
  for (let f = 0; f < POINTS; f++) {
    const t = last - (POINTS - 1 - f) * STEP;
    server.history.write({ carbon: Buffer.from(flushText(n, f, t)), metrics: n + BACKGROUND, timestamp: t });
  }
  const r = await timeRequests(server.httpPort, targets(n).slice(0, 2));
  await server.stop();
  return { ...r, text: `${r.y.toFixed(1)} ms (p90 ${r.p90.toFixed(1)}; ${r.points} points)` };
}

async function renderGraphiteWeb(_context, params) {
  const n = params.x;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-bench-gw-'));
  const whisper = path.join(dir, 'whisper');
  const now = Math.floor(Date.now() / 1000);
  const last = now - (now % STEP);
  // The same points, written with Debian's whisper module (the python3 on PATH is not Debian's).
  const script = `
import os, sys, whisper
root, n, last, points, step, bg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def write(name, value):
    p = os.path.join(root, *name.split('.')) + '.wsp'
    os.makedirs(os.path.dirname(p), exist_ok=True)
    whisper.create(p, [(step, points)], xFilesFactor=0)
    whisper.update_many(p, [(last - (points - 1 - f) * step, value(f)) for f in range(points)], now=last + 1)
for i in range(n): write('svc.s%d.rate' % i, lambda f: (i * 7 + f) % 97)
for i in range(bg): write('bg.k%d.count' % i, lambda f: f)
`;
  execFileSync('/usr/bin/python3', ['-c', script, whisper, String(n), String(last), String(POINTS), String(STEP), String(BACKGROUND)]);
  fs.writeFileSync(
    path.join(dir, 'sne_graphite_settings.py'),
    [
      "SECRET_KEY = 'statsd-native-bench'",
      `STORAGE_DIR = ${JSON.stringify(dir)}`,
      `WHISPER_DIR = ${JSON.stringify(whisper)}`,
      `STANDARD_DIRS = [${JSON.stringify(whisper)}]`,
      `LOG_DIR = ${JSON.stringify(dir)}`,
      'LOG_ROTATION = False',
      'CARBONLINK_HOSTS = []',
      "TIME_ZONE = 'UTC'",
      `DATABASES = {'default': {'NAME': ${JSON.stringify(path.join(dir, 'graphite.db'))}, 'ENGINE': 'django.db.backends.sqlite3'}}`,
      '',
    ].join('\n'),
  );
  const env = { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', PYTHONPATH: dir, GRAPHITE_SETTINGS_MODULE: 'sne_graphite_settings' };
  execFileSync(GRAPHITE_MANAGE, ['migrate', '--run-syncdb', '--noinput'], { env, stdio: 'ignore' });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(GRAPHITE_MANAGE, ['runserver', '--noreload', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/metrics/find?query=*`)).ok) break;
      } catch {
        if (i > 300) throw new Error('graphite-web did not start');
      }
      await sleep(200);
    }
    const r = await timeRequests(port, targets(n).slice(0, 2).map((p) => `${p}&noCache=1`));
    return { ...r, text: `${r.y.toFixed(1)} ms (p90 ${r.p90.toFixed(1)}; ${r.points} points)` };
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function memory(_context, params) {
  const { History } = require(path.join(ROOT, 'dist', 'daemon', 'history', 'history.js'));
  const n = params.x;
  let text = '';
  for (let i = 0; i < n; i++) text += `app.host${i % 100}.k${i} ${i} 0\n`;
  const carbon = Buffer.from(text);
  const gc = () => {
    for (let i = 0; i < 3; i++) global.gc();
  };
  gc();
  const before = process.memoryUsage().rss;
  const history = new History({ window: 3600, flushInterval: STEP * 1000, maxBytes: 2 ** 30 });
  const times = [];
  for (let f = 0; f < POINTS; f++) {
    const start = process.hrtime.bigint();
    history.write({ carbon, metrics: n, timestamp: 1_700_000_000 + f * STEP });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  gc();
  const rss = (process.memoryUsage().rss - before) / n;
  const stats = history.history;
  const write = median(times);
  return { y: rss, own: stats.bytes / n, series: stats.series, write, text: `${rss.toFixed(0)} B/series RSS (counted: ${(stats.bytes / n).toFixed(0)} B; a flush recorded in ${(write * 1e3).toFixed(1)} ms, ${((write / n) * 1e9).toFixed(0)} ns/series)` };
}

const hasGraphiteWeb = fs.existsSync(GRAPHITE_MANAGE);

runSuite({
  suite: 'history',
  title: 'History and the Graphite render API: /render latency, memory per series',
  description: `/render of N series × ${POINTS} points (flush interval ${STEP} s, 1 h window) with ${BACKGROUND} other series held; history memory for 1k-100k series of ${POINTS} points`,
  groups: [
    {
      name: 'render',
      title: `/render latency: N series × ${POINTS} points, median of ${REQUESTS} requests of each of two targets`,
      kind: 'series',
      unit: 'ms',
      better: 'lower',
      x: { label: 'series in the answer', unit: 'series', log: true },
      y: { label: 'ms per request', log: true },
      series: {
        ours: { name: 'statsd-native /render (history)', ours: true, xs: RENDER_XS, run: renderOurs },
        ...(hasGraphiteWeb && { 'graphite-web': { name: 'graphite-web 1.1 (Debian, runserver) over whisper', xs: PEER_XS, run: renderGraphiteWeb } }),
      },
    },
    {
      name: 'memory',
      title: `History memory per series (${POINTS} points each)`,
      kind: 'series',
      unit: 'B/series',
      better: 'lower',
      x: { label: 'series held', unit: 'series', log: true },
      y: { label: 'RSS growth per series' },
      series: { rss: { name: 'History, process RSS growth', ours: true, xs: MEMORY_XS, node: ['--expose-gc'], run: memory } },
    },
  ],
  notes: [
    'Target (issue [6/7]): /render of 100 series × 360 points in ≤ 50 ms on this machine; history memory within the stated bound (HISTORY_SERIES_OVERHEAD + 8 B a point + the name: 2,952 B for a 24-byte name at 360 points) at 100k series.',
    'render: the client is in the server\'s process for ours (one request at a time, so it only adds its own parse of the answer); graphite-web runs as its own Python process (Django runserver, single-threaded), asked the same two targets over the same points.',
    `The machine has ${os.cpus().length} cores.`,
  ],
});
