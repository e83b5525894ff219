#!/usr/bin/env bash
# Runs the whole vitest suite against the ASan + UBSan addon (native/CMakeLists.txt,
# built by `npm run build:sanitize`). Fails on a failing test and on any sanitizer
# report, also one from a child process a test started (reports go to log files).
# Extra arguments go to vitest. Ends with "sanitize: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

addon=$PWD/build-sanitize/Release/statsd_native.node
if [ ! -f "$addon" ]; then
  echo "test/sanitize/run.sh: $addon is missing; run \`npm run build:sanitize\`" >&2
  exit 2
fi
# node is not built with ASan, so its runtime must be loaded first: the one the
# addon links (gcc's libasan.so.N), preloaded into node and every child process.
libasan=$(ldd "$addon" | awk '/libasan/ { print $3 }')
if [ ! -f "$libasan" ]; then
  echo "test/sanitize/run.sh: cannot find the ASan runtime the addon links" >&2
  exit 2
fi

logs=$PWD/build-sanitize/reports
rm -rf "$logs" && mkdir -p "$logs"
results=$PWD/build-sanitize/vitest-results.json
rm -f "$results"

export STATSD_NATIVE_ADDON=$addon
export LD_PRELOAD=$libasan
# detect_leaks=0: LeakSanitizer would report V8's and node's own never-freed
# allocations at exit. The addon's memory is bounded by test/integration/key-flood.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"

# Preflight: the package loads this addon, with the ASan runtime in the process.
node -e '
  require("./dist/core/native.js");
  const fs = require("fs");
  const maps = fs.readFileSync("/proc/self/maps", "utf8");
  for (const want of [process.env.STATSD_NATIVE_ADDON, process.env.LD_PRELOAD].map((f) => fs.realpathSync(f))) {
    if (!maps.includes(want)) { console.error(`sanitize preflight: ${want} is not loaded`); process.exit(1); }
  }
' || { echo "sanitize: 0 passed, 1 failed"; exit 1; }

npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
status=$?

reports=$(find "$logs" -type f -size +0 | sort)
if [ -n "$reports" ]; then
  echo "test/sanitize/run.sh: sanitizer reports:" >&2
  for f in $reports; do echo "== $f" >&2; cat "$f" >&2; done
  status=1
fi

if [ -f "$results" ]; then
  node -e '
    const r = require(process.argv[1]);
    const extra = Number(process.argv[2]);
    console.log(`sanitize: ${r.numPassedTests} passed, ${r.numFailedTests + extra} failed`);
    if (r.numTotalTests === 0) process.exit(1);
  ' "$results" "$([ -n "$reports" ] && echo 1 || echo 0)" || status=1
else
  echo "sanitize: 0 passed, 1 failed"
  status=1
fi
exit $status
