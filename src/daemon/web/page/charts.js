// One chart per chosen key: the key's series from /api/series drawn with
// uPlot (a global, from /web/uPlot.iife.min.js), redrawn after each flush.
// The legend shows the latest flushed values, or those under the cursor.
import { fmt, getJson } from './api.js';

/** Flushes one chart shows at most (the API's default; its cap is 2000). */
const POINTS = 360;
const HEIGHT = 220;
const PALETTE = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#7f7f7f', '#393b79', '#e7969c', '#637939', '#843c39', '#3182bd', '#fdae6b',
];

/**
 * Where a key's field is drawn: its scale (left axis first, a second one on
 * the right) and whether it is shown at first (the others are a legend click away).
 */
function placeOf(kind, field) {
  if (kind === 'timer') {
    if (/^(count|histogram)/.test(field)) return { scale: 'count', show: field === 'count_ps' };
    return { scale: 'ms', show: !/^(sum|std)/.test(field) };
  }
  if (field === 'rate') return { scale: '/s', show: true };
  return { scale: kind === 'gauge' || kind === 'monotonic' ? 'value' : 'count', show: true };
}

/** Scales in the order their axes are placed: the first on the left. */
const SCALES = ['ms', 'value', 'count', '/s'];

/** Ticks of the time axis, in seconds: flushes are stamped in whole seconds. */
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400];

/** The index of the latest flush with a value in any shown series, or null. */
function latestIndex(u) {
  for (let i = u.data[0].length - 1; i >= 0; i--) {
    for (let s = 1; s < u.series.length; s++) if (u.series[s].show && u.data[s][i] != null) return i;
  }
  return null;
}

/** With the cursor off the chart, the legend shows the latest values (uPlot's own shows none). */
function showLatest(u) {
  if (u.legend.idx == null) {
    const i = latestIndex(u);
    if (i != null) u.setLegend({ idx: i }, false);
  }
}

export class Chart {
  /** The chart's element, to be put in the page. */
  element;
  key;
  kind;
  #plotEl;
  #note;
  #plot = null;
  /** The fields the plot was made for: another set makes a new plot. */
  #fields = '';
  #resize;

  constructor(key, kind, onClose) {
    this.key = key;
    this.kind = kind;
    const article = document.createElement('article');
    article.className = 'chart';
    article.dataset.key = key;
    article.dataset.kind = kind;
    const header = document.createElement('header');
    const title = document.createElement('h2');
    title.textContent = key;
    const badge = document.createElement('span');
    badge.className = 'kind';
    badge.textContent = kind;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'close';
    close.title = 'Remove chart';
    close.setAttribute('aria-label', `Remove the chart of ${key}`);
    close.textContent = '×';
    close.addEventListener('click', () => onClose(this));
    header.append(title, badge, close);
    this.#plotEl = document.createElement('div');
    this.#plotEl.className = 'plot';
    this.#note = document.createElement('p');
    this.#note.className = 'note';
    article.append(header, this.#plotEl, this.#note);
    this.element = article;
    this.#resize = new ResizeObserver(() => this.#plot?.setSize({ width: this.#width(), height: HEIGHT }));
    this.#resize.observe(this.#plotEl);
  }

  /** Reads the key's series and draws them; `status` is /api/status's answer. */
  async refresh(status) {
    const q = new URLSearchParams({ key: this.key, kind: this.kind, points: String(POINTS) });
    const data = await getJson(`/api/series?${q}`);
    this.#draw(data, status);
  }

  destroy() {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.element.remove();
  }

  #draw(data, status) {
    const series = [...data.series];
    // brubeck writes a counter's total per flush only: its rate is that over the interval.
    if (this.kind === 'counter' && !series.some((s) => s.field === 'rate')) {
      const count = series.find((s) => s.field === 'count');
      const seconds = status.flushInterval / 1000;
      if (count) series.push({ field: 'rate', values: count.values.map((v) => (v == null ? null : v / seconds)) });
    }
    if (series.length === 0) {
      this.#plot?.destroy();
      this.#plot = null;
      this.#fields = '';
      this.#note.textContent = status.history
        ? 'No flushed values yet: they appear after the next flush.'
        : 'The daemon keeps no history: start it with the history option to chart keys.';
      return;
    }
    this.#note.textContent = data.seriesLeftOut > 0 ? `${data.seriesLeftOut} more series not shown (the API's cap).` : '';
    const columns = [data.times, ...series.map((s) => s.values)];
    const fields = series.map((s) => s.field).join('\n');
    if (fields !== this.#fields) {
      this.#plot?.destroy();
      this.#plot = new uPlot(this.#options(series, status.flushInterval / 1000), columns, this.#plotEl);
      this.#fields = fields;
    } else {
      this.#plot.setData(columns);
    }
    showLatest(this.#plot);
  }

  #options(series, seconds) {
    const places = series.map((s) => placeOf(this.kind, s.field));
    const scales = SCALES.filter((scale) => places.some((p) => p.scale === scale));
    const fields = series.map((s) => s.field);
    const scaleOptions = { x: { time: true } };
    const colors = series.map((_s, i) => PALETTE[i % PALETTE.length]);
    // A counter's rate is its count over the interval: one line, read per
    // flush on the left axis and per second on the right.
    if (fields.includes('count') && fields.includes('rate') && this.kind !== 'timer') {
      scaleOptions['/s'] = { from: 'count', range: (_u, min, max) => [min / seconds, max / seconds] };
      colors[fields.indexOf('rate')] = colors[fields.indexOf('count')];
    }
    const value = (_u, v, _s, idx) => (idx == null ? '—' : fmt(v));
    const tick = (_u, ticks) => ticks.map((t) => fmt(t));
    return {
      width: this.#width(),
      height: HEIGHT,
      scales: scaleOptions,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.field,
          scale: places[i].scale,
          show: places[i].show,
          stroke: colors[i],
          width: 1.5,
          // on the right axis: dashed, not to be read against the left one
          dash: places[i].scale !== scales[0] && this.kind === 'timer' ? [5, 4] : undefined,
          value,
        })),
      ],
      axes: [
        { incrs: TIME_INCRS },
        ...scales.map((scale, i) => ({ scale, label: scale, side: i === 0 ? 3 : 1, size: 60, values: tick, grid: { show: i === 0 } })),
      ],
      legend: { live: true },
      hooks: { setLegend: [showLatest] },
    };
  }

  #width() {
    return Math.max(200, this.#plotEl.clientWidth);
  }
}
