// The report's curve fit: quantity = a·x^b per series of a sweep, by least squares on logs, and what b says about growth.
'use strict';

const { compact } = require('./format');

/** A sweep's x as the report writes it: "1M keys", "64 B". */
function xText(group, x) {
  return `${compact(x)}${group.x.unit && group.x.unit !== group.x.label ? ` ${group.x.unit}` : ''}`;
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

/** One line per series of a group with `fit`: the fitted exponent and what it means. */
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

module.exports = { fits, xText };
