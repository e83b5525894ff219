// The page's loop: follows the daemon's flushes through /api/status and,
// after each, reads the keys, the charted series and /stats again.
// It asks just after the next flush is due, so what a flush wrote is on the
// page a moment after it (a new key: within one flush of its first line).
import { getJson } from './api.js';
import { Chart } from './charts.js';
import { renderHealth } from './health.js';
import { KeyBrowser } from './keys.js';

/** Charts on the page at most: each is one request per flush. */
const MAX_CHARTS = 12;
/** ms after the flush is due that the page asks (the flush's own time to finish). */
const AFTER_FLUSH_MS = 50;
/** ms between asks at least (a late flush is waited for at this pace), and at most. */
const MIN_WAIT_MS = 250;
const MAX_WAIT_MS = 15_000;

const $ = (id) => document.getElementById(id);
const charts = new Map(); // `${kind}\n${key}` → Chart
let status = null;
let seenFlushes = -1;

const keys = new KeyBrowser({
  input: $('search'),
  count: $('key-count'),
  list: $('key-list'),
  isChosen: (key, kind) => charts.has(`${kind}\n${key}`),
  onToggle: toggle,
  onError: showError,
});

function toggle(key, kind) {
  const id = `${kind}\n${key}`;
  const chart = charts.get(id);
  if (chart) return remove(chart);
  if (charts.size >= MAX_CHARTS) return showError(new Error(`at most ${MAX_CHARTS} charts: remove one first`));
  const added = new Chart(key, kind, remove);
  charts.set(id, added);
  $('charts').append(added.element);
  $('charts-empty').hidden = true;
  if (status) added.refresh(status).catch(showError);
}

function remove(chart) {
  charts.delete(`${chart.kind}\n${chart.key}`);
  chart.destroy();
  $('charts-empty').hidden = charts.size > 0;
  keys.mark();
}

function showError(error) {
  $('error').textContent = String(error?.message ?? error);
  $('error').hidden = false;
}

function renderStatus(s) {
  const last = s.lastFlush == null ? 'no flush yet' : `last flush ${new Date(s.lastFlush * 1000).toLocaleTimeString()}`;
  $('status').textContent = `${s.convention} convention · flush every ${s.flushInterval / 1000} s · ${last} · ${s.keys} keys`;
}

/** Everything a flush changes, read again. */
async function refresh() {
  const [stats] = await Promise.all([
    getJson('/stats'),
    keys.load(),
    ...[...charts.values()].map((c) => c.refresh(status)),
  ]);
  renderHealth({ statsList: $('health-stats'), errorsList: $('health-errors'), sinksBody: $('health-sinks').tBodies[0] }, stats, status);
}

async function tick() {
  let wait = MIN_WAIT_MS * 4;
  try {
    status = await getJson('/api/status');
    renderStatus(status);
    if (status.flushes !== seenFlushes) {
      await refresh();
      seenFlushes = status.flushes;
      $('error').hidden = true;
    }
    const due = status.flushInterval - (status.sinceFlushMs ?? 0);
    wait = Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, due + AFTER_FLUSH_MS));
  } catch (error) {
    showError(error);
  }
  setTimeout(tick, wait);
}

tick();
