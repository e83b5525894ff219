// SVG charts for the benchmark report, written by hand: bar charts (ours vs peers) and line charts (cost over a sweep).
'use strict';

// Both take plain data and return the text of a standalone SVG with a white
// background (readable on GitHub's dark theme too) and no external resources.
// Text widths are estimated (no font metrics in Node), so labels are wrapped
// and boxes sized with a margin.
//
// Over 300 lines on purpose: the two charts share their SVG helpers (text,
// wrapping, header, caption), and splitting them would only move those into a
// third file that nothing else uses.

const { si, compact } = require('./format');

const FONT = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const WIDTH = 760;
const PAD = 16;
const OURS = '#1f6feb';
const OURS_LIGHT = '#8ab4f8';
const PEER = '#e8833a';
const PALETTE = ['#1f6feb', '#e8833a', '#2da44e', '#8250df', '#cf222e', '#6e7781'];
// so that series lying on top of each other stay distinguishable
const DASHES = ['', '8 4', '2 3', '10 3 2 3', '4 4', '1 2'];
const INK = '#1f2328';
const MUTED = '#59636e';
const GRID = '#e6e8eb';

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

/** Markdown case names (`code`, **bold**) as plain text. */
function plain(text) {
  return String(text).replace(/[`*]/g, '');
}

/** Estimated width of `text` in px at `size` (sans-serif averages ~0.56 em; digits 0.55). */
function textWidth(text, size, bold = false) {
  return String(text).length * size * (bold ? 0.62 : 0.57);
}

/** Splits text into lines of at most `width` px. */
function wrap(text, size, width) {
  // a word longer than the line (a path, say) is cut into pieces that fit
  const fit = Math.max(1, Math.floor(width / (size * 0.57)));
  const words = String(text)
    .split(' ')
    .flatMap((w) => (w.length <= fit ? [w] : w.match(new RegExp(`.{1,${fit}}`, 'g'))));
  const lines = [];
  let line = '';
  for (const word of words) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function text(x, y, content, { size = 12, weight, fill = INK, anchor, extra = '' } = {}) {
  const attrs = [`x="${round(x)}"`, `y="${round(y)}"`, `font-size="${size}"`, `fill="${fill}"`];
  if (weight) attrs.push(`font-weight="${weight}"`);
  if (anchor) attrs.push(`text-anchor="${anchor}"`);
  return `<text ${attrs.join(' ')}${extra}>${escape(content)}</text>`;
}

function round(x) {
  return Math.round(x * 10) / 10;
}

function svg(width, height, body, title) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${round(height)}" viewBox="0 0 ${width} ${round(height)}" font-family="${escape(FONT)}" role="img">`,
    `<title>${escape(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function header(title, subtitle) {
  const body = [];
  let y = PAD + 14;
  for (const line of wrap(title, 15, WIDTH - 2 * PAD)) {
    body.push(text(PAD, y, line, { size: 15, weight: 600 }));
    y += 20;
  }
  for (const line of wrap(subtitle, 12, WIDTH - 2 * PAD)) {
    body.push(text(PAD, y, line, { size: 12, fill: MUTED }));
    y += 16;
  }
  return { body, y: y + 6 };
}

function caption(lines, y) {
  const body = [];
  for (const line of lines.flatMap((l) => wrap(l, 11, WIDTH - 2 * PAD))) {
    body.push(text(PAD, y, line, { size: 11, fill: MUTED }));
    y += 15;
  }
  return { body, y };
}

/**
 * Horizontal bars, one per case, each labelled with its value, unit and its
 * ratio to the baseline. bars: [{ label, value, low?, high?, ours: bool,
 * baseline: bool, relative: '22x slower' }]; unit: 'lines/s'.
 */
function barChart({ title, subtitle, unit, bars, footer = [] }) {
  const head = header(title, subtitle ?? `${unit}, higher is better`);
  const body = [...head.body];
  let y = head.y;
  const max = Math.max(...bars.map((b) => Math.max(b.value, b.high ?? 0)), Number.MIN_VALUE);
  const valueTexts = bars.map((b) => `${si(b.value)} ${unit}`);
  const relTexts = bars.map((b) => b.relative ?? '');
  const room = Math.max(...bars.map((b, i) => textWidth(valueTexts[i], 12, true) + textWidth(relTexts[i], 12) + 18));
  const barMax = WIDTH - 2 * PAD - room;
  const scale = (v) => Math.max((v / max) * barMax, 2);

  for (let i = 0; i < bars.length; i++) {
    const b = bars[i];
    for (const line of wrap(plain(b.label), 12, WIDTH - 2 * PAD)) {
      y += 14;
      body.push(text(PAD, y, line, { size: 12, weight: b.baseline ? 600 : undefined }));
    }
    y += 5;
    const w = scale(b.value);
    const fill = b.ours ? (b.baseline ? OURS : OURS_LIGHT) : PEER;
    body.push(`<rect x="${PAD}" y="${round(y)}" width="${round(w)}" height="16" rx="2" fill="${fill}"/>`);
    if (b.low !== undefined && b.high !== undefined && (b.high - b.low) / b.high > 0.005) {
      // spread over the runs: a whisker from the lowest to the highest run
      const x0 = PAD + scale(b.low);
      const x1 = PAD + scale(b.high);
      const ym = y + 8;
      body.push(
        `<path d="M${round(x0)} ${round(ym)}H${round(x1)}M${round(x0)} ${round(ym - 4)}V${round(ym + 4)}M${round(x1)} ${round(ym - 4)}V${round(ym + 4)}" stroke="${INK}" stroke-opacity="0.55" stroke-width="1" fill="none"/>`,
      );
    }
    const tx = PAD + Math.max(w, b.high !== undefined ? scale(b.high) : 0) + 8;
    body.push(
      `<text x="${round(tx)}" y="${round(y + 12.5)}" font-size="12" fill="${INK}"><tspan font-weight="600">${escape(valueTexts[i])}</tspan>` +
        (relTexts[i] ? `<tspan fill="${MUTED}" dx="8">${escape(relTexts[i])}</tspan>` : '') +
        '</text>',
    );
    y += 16 + 10;
  }
  y += 8;
  // legend
  const legend = [
    [OURS, 'statsd-native (baseline)'],
    [OURS_LIGHT, 'statsd-native, other modes'],
    [PEER, 'peers'],
  ].filter(([color]) => bars.some((b) => (b.ours ? (b.baseline ? OURS : OURS_LIGHT) : PEER) === color));
  let x = PAD;
  for (const [color, name] of legend) {
    body.push(`<rect x="${x}" y="${round(y)}" width="10" height="10" rx="2" fill="${color}"/>`);
    body.push(text(x + 15, y + 9.5, name, { size: 11, fill: MUTED }));
    x += 15 + textWidth(name, 11) + 18;
  }
  y += 28;
  const cap = caption(footer, y);
  body.push(...cap.body);
  return svg(WIDTH, cap.y + PAD - 8, body, title);
}

function logTicks(min, max) {
  const ticks = [];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const steps = hi - lo <= 3 ? [1, 2, 5] : [1];
  for (let e = lo; e <= hi; e++) for (const s of steps) ticks.push(s * 10 ** e);
  return ticks.filter((t) => t >= min * 0.999 && t <= max * 1.001);
}

/** The 1-2-5 step at or below (down) or at or above v. */
function round125(v, down) {
  const e = Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((s) => s * 10 ** e);
  if (down) return [...steps].reverse().find((s) => s <= v * 1.0001) ?? steps[0];
  return steps.find((s) => s >= v * 0.9999) ?? steps[3];
}

function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * Lines over a sweep. series: [{ name, points: [{ x, y }] }] (the first
 * series gets our blue); x: { label, log, format(x) }; y: { label, unit,
 * log, zero }; reference: 'diagonal' draws y = x (e.g. delivered = offered).
 */
function lineChart({ title, subtitle, x: xAxis, y: yAxis, series, reference, footer = [] }) {
  const head = header(title, subtitle ?? '');
  const body = [...head.body];
  const legendWidth = 190;
  const left = PAD + 62;
  const right = WIDTH - PAD - legendWidth;
  const top = head.y + 8;
  const plotHeight = 280;
  const bottom = top + plotHeight;

  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((v) => Number.isFinite(v));
  const fmtX = xAxis.format ?? compact;

  // x: log or linear over the data; ticks at the measured x values when few
  let xMin = xs[0];
  let xMax = xs[xs.length - 1];
  if (reference === 'diagonal' && yAxis.log) {
    xMin = Math.min(xMin, Math.min(...ys));
    xMax = Math.max(xMax, Math.max(...ys));
  }
  if (xMin === xMax) {
    xMin = xAxis.log ? xMin / 2 : xMin - 1;
    xMax = xAxis.log ? xMax * 2 : xMax + 1;
  }
  const xPad = xAxis.log ? (Math.log(xMax) - Math.log(xMin)) * 0.04 : (xMax - xMin) * 0.04;
  const xf = xAxis.log
    ? (v) => left + ((Math.log(v) - Math.log(xMin) + xPad) / (Math.log(xMax) - Math.log(xMin) + 2 * xPad)) * (right - left)
    : (v) => left + ((v - xMin + xPad) / (xMax - xMin + 2 * xPad)) * (right - left);
  const xTicks = xs.length <= 10 ? xs : xAxis.log ? logTicks(xMin, xMax) : xs;

  // y: from 0 (or the lowest decade on a log axis) to a round maximum
  let yMin;
  let yMax;
  let yTicks;
  if (yAxis.log) {
    const lo = Math.min(...ys.filter((v) => v > 0), reference === 'diagonal' ? xMin : Infinity);
    const hi = Math.max(...ys, reference === 'diagonal' ? xMax : 0);
    yMin = round125(lo / 1.04, true);
    yMax = round125(hi * 1.04, false);
    yTicks = logTicks(yMin, yMax);
  } else {
    const hi = Math.max(...ys, 0);
    const step = niceStep(hi || 1, 5);
    yMin = 0;
    yMax = Math.ceil((hi * 1.05) / step) * step || step;
    yTicks = [];
    for (let t = 0; t <= yMax + step / 2; t += step) yTicks.push(t);
  }
  const yf = yAxis.log
    ? (v) => bottom - ((Math.log(Math.max(v, yMin)) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin))) * plotHeight
    : (v) => bottom - ((v - yMin) / (yMax - yMin)) * plotHeight;

  // grid and axes
  for (const t of yTicks) {
    const py = yf(t);
    body.push(`<line x1="${left}" x2="${right}" y1="${round(py)}" y2="${round(py)}" stroke="${GRID}"/>`);
    body.push(text(left - 6, py + 4, compact(t), { size: 11, fill: MUTED, anchor: 'end' }));
  }
  for (const t of xTicks) {
    const px = xf(t);
    body.push(`<line x1="${round(px)}" x2="${round(px)}" y1="${top}" y2="${bottom}" stroke="${GRID}"/>`);
    body.push(text(px, bottom + 16, fmtX(t), { size: 11, fill: MUTED, anchor: 'middle' }));
  }
  body.push(`<path d="M${left} ${top}V${bottom}H${right}" stroke="${MUTED}" fill="none"/>`);
  body.push(
    text((left + right) / 2, bottom + 36, `${xAxis.label}${xAxis.unit ? `, ${xAxis.unit}` : ''}${xAxis.log ? ' (log scale)' : ''}`, {
      size: 12,
      fill: INK,
      anchor: 'middle',
    }),
  );
  const yLabel = `${yAxis.label}${yAxis.unit ? `, ${yAxis.unit}` : ''}${yAxis.log ? ' (log scale)' : ''}`;
  body.push(
    text(PAD + 4, (top + bottom) / 2, yLabel, {
      size: 12,
      anchor: 'middle',
      extra: ` transform="rotate(-90 ${PAD + 4} ${round((top + bottom) / 2)})"`,
    }),
  );

  if (reference === 'diagonal') {
    const a = Math.max(xMin, yMin);
    const b = Math.min(xMax, yMax);
    body.push(
      `<line x1="${round(xf(a))}" y1="${round(yf(a))}" x2="${round(xf(b))}" y2="${round(yf(b))}" stroke="${MUTED}" stroke-dasharray="5 4"/>`,
    );
  }

  // series
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : '';
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${round(xf(p.x))} ${round(yf(p.y))}`).join('');
      body.push(`<path d="${d}" stroke="${color}" stroke-width="2.2" fill="none" stroke-linejoin="round"${dash}/>`);
    }
    for (const p of pts) {
      body.push(`<circle cx="${round(xf(p.x))}" cy="${round(yf(p.y))}" r="3.6" fill="#ffffff" stroke="${color}" stroke-width="2"/>`);
    }
  });

  // legend, right of the plot
  let ly = top + 6;
  const legendItems = series.map((s, i) => [s.color ?? PALETTE[i % PALETTE.length], plain(s.name), DASHES[i % DASHES.length], 2.2]);
  if (reference === 'diagonal') legendItems.push([MUTED, 'no loss (delivered = offered)', '5 4', 1]);
  for (const [color, name, dash, width] of legendItems) {
    const lx = right + 16;
    body.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${round(ly + 5)}" y2="${round(ly + 5)}" stroke="${color}" stroke-width="${width}"` +
        `${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    for (const line of wrap(name, 11, legendWidth - 34)) {
      body.push(text(lx + 28, ly + 9, line, { size: 11 }));
      ly += 14;
    }
    ly += 8;
  }

  const cap = caption(footer, Math.max(bottom + 62, ly + 10));
  body.push(...cap.body);
  return svg(WIDTH, cap.y + PAD - 8, body, title);
}

module.exports = { barChart, lineChart };
