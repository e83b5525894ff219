// The daemon's health beside the charts: /stats (brubeck's fields) and the
// page API's own counters, redrawn after each flush.

const STATS = [
  ['metrics', 'Lines received', (s) => s.metrics],
  ['errors', 'Bad lines', (s) => s.errors],
  ['unique_keys', 'Keys', (s) => s.unique_keys],
  ['kernel_drops', 'Kernel drops (UDP)', (s) => s.samplers.reduce((n, x) => n + (x.kernel_drops ?? 0), 0)],
  ['keys_dropped', 'Keys refused (limits)', (s) => s.keys_dropped],
  ['flushes', 'Flushes', (s) => s.flushes],
  ['datapoints_flushed', 'Datapoints flushed', (s) => s.datapoints_flushed],
];

/** Draws `stats` (/stats) and `status` (/api/status) into the health panel's elements. */
export function renderHealth({ statsList, errorsList, sinksBody }, stats, status) {
  const rows = STATS.map(([id, label, get]) => [id, label, get(stats)]);
  rows.push(['history_series', 'History series', status.history ? status.history.series : 'off']);
  rows.push(['api_refused', 'Page requests refused', status.api.refused]);
  statsList.replaceChildren(...rows.map(([id, label, value]) => pair(id, label, value)));

  const reasons = Object.entries(stats.errors_by_reason).filter(([, n]) => n > 0);
  errorsList.replaceChildren(...(reasons.length ? reasons.map(([reason, n]) => pair(reason, reason, n)) : [none()]));

  sinksBody.replaceChildren(
    ...stats.backends.map((b) => {
      const tr = document.createElement('tr');
      tr.dataset.sink = b.name;
      const connected = cell(b.connected ? 'yes' : 'no');
      connected.className = b.connected ? 'ok' : 'bad';
      tr.append(cell(b.name), connected, cell(count(b.backlog)), cell(count(b.flushes_dropped)));
      return tr;
    }),
  );
}

function pair(id, label, value) {
  const div = document.createElement('div');
  div.dataset.stat = id;
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = typeof value === 'number' ? count(value) : value;
  div.append(dt, dd);
  return div;
}

function none() {
  const dt = document.createElement('dt');
  dt.className = 'none';
  dt.textContent = 'none';
  return dt;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

/** 1234567 → "1,234,567". */
function count(n) {
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}
