// The command line every bench file reads: `--quick` (or BENCH_QUICK=1 from
// bench/run.js) and `--name value` options.
'use strict';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';

/** The value `k` places after `--name` (the next one by default), or undefined. */
function arg(name, k = 1) {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + k];
}

module.exports = { argv, quick, arg };
