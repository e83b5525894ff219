// Number formatting for bench/: the one rate formatter, and the report's durations, ratios and chart values.
'use strict';

// rate(x, style) is every "1.23M lines/s" in bench/: the suites' progress lines
// and notes, the report's tables and the README rows. The styles keep each
// place's established look:
//   'short' (default)  1.23G  1.23M  12.3k  12.3     notes, progress lines
//   'table'            1.23 G 1.23 M 123 k  12.3     the report's rate columns
//   'round'            1.5M   250k   50k    12       rates chosen by hand (steps)
const STYLES = {
  short: { space: '', k: 1, unit: 1, trim: false },
  table: { space: ' ', k: 0, unit: 1, trim: false },
  round: { space: '', k: 1, unit: 0, trim: true },
};

function rate(x, style = 'short') {
  const s = STYLES[style];
  if (s === undefined) throw new Error(`rate style is one of ${Object.keys(STYLES).join(', ')}, not ${style}`);
  const fixed = (v, digits) => (s.trim ? String(+v.toFixed(digits)) : v.toFixed(digits));
  if (x >= 1e9) return `${fixed(x / 1e9, 2)}${s.space}G`;
  if (x >= 1e6) return `${fixed(x / 1e6, 2)}${s.space}M`;
  if (x >= 1e3) return `${fixed(x / 1e3, s.k)}${s.space}k`;
  return x.toFixed(s.unit);
}

/** A count with thousands separators: 1,234,567. */
const int = (x) => Math.round(x).toLocaleString('en');

/** 22.2 → "22", 4.13 → "4.1". */
function ratioText(r) {
  return r >= 9.95 ? r.toFixed(0) : r.toFixed(1);
}

/** Seconds as "67.1 ns", "29.6 ms". */
function duration(seconds) {
  const [scale, unit] = seconds >= 0.9995 ? [1, 's'] : seconds >= 0.9995e-3 ? [1e3, 'ms'] : seconds >= 0.9995e-6 ? [1e6, 'µs'] : [1e9, 'ns'];
  return `${+(seconds * scale).toPrecision(3)} ${unit}`;
}

/** 3 significant digits with k/M/G: 14.9 M, 670 k, 29.6 (chart values, series cells). */
function si(x) {
  const abs = Math.abs(x);
  const [scaled, suffix] =
    abs >= 1e9 ? [x / 1e9, ' G'] : abs >= 1e6 ? [x / 1e6, ' M'] : abs >= 1e3 ? [x / 1e3, ' k'] : [x, ''];
  return `${sig(scaled)}${suffix}`;
}

/** Axis ticks: 1k, 2.5M, 20, 0.5, 1024. */
function compact(x) {
  const abs = Math.abs(x);
  if (Number.isInteger(x) && abs < 1e4 && x % 1000 !== 0) return String(x);
  if (abs >= 1e9) return `${+(x / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(x / 1e3).toPrecision(3)}k`;
  return `${+x.toPrecision(3)}`;
}

function sig(x) {
  const abs = Math.abs(x);
  if (abs === 0) return '0';
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

module.exports = { rate, int, ratioText, duration, si, compact };
