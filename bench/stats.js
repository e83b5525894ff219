// Sample statistics for the suites that time their own runs: median, and the mean with its 95% interval as benchmark.js states it.
'use strict';

// 95% two-sided Student t quantiles by degrees of freedom 1..30 (as benchmark.js); 1.96 beyond.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { mean, rme: ± % of the mean at 95%, samples } of per-interval rates; rme 0 under two samples or a zero mean. */
function summarize(rates) {
  const n = rates.length;
  const mean = rates.reduce((a, b) => a + b, 0) / n;
  if (n < 2 || mean === 0) return { mean, rme: 0, samples: n };
  const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= T95.length ? T95[n - 2] : 1.96;
  return { mean, rme: ((t * sd) / Math.sqrt(n) / mean) * 100, samples: n };
}

const rmeOf = (rates) => summarize(rates).rme;

module.exports = { median, summarize, rmeOf };
