#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz/ with clang (ASan + UBSan), replays
# the regression inputs in test/fuzz/regressions/<target>/, then fuzzes each
# target for a bounded time from its seed corpus test/fuzz/corpus/<target>/.
# Fails on any finding: a crash, a sanitizer report, a broken invariant, a leak,
# a timeout. Findings are saved in build-fuzz/findings/ (and printed in hex).
#
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  targets to run (default: parse_line aggregate serialize path_pattern)
#   CXX_FUZZ      the clang++ to use (default: clang++, else clang++-14)
#   FUZZ_KNOWN=1  unmask the known open findings (see the targets' sources)
# Ends with "fuzz: N passed, N failed" (one per target).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-parse_line aggregate serialize path_pattern}
cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
if [ -z "$cxx" ]; then
  echo "test/fuzz/run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

# Core sources each target links (no napi.h: the core builds without node).
declare -A sources=(
  [parse_line]="codec.cc number.cc serializer.cc structure.cc"
  [aggregate]="aggregator.cc codec.cc etsy_names.cc flush_brubeck.cc flush_etsy.cc flush_statsd.cc graphite.cc histogram.cc
               line_stager.cc metric_key.cc number.cc snapshot.cc structure.cc"
  [serialize]="codec.cc number.cc serializer.cc structure.cc"
  [path_pattern]="path_pattern.cc"
)

out=build-fuzz
mkdir -p "$out/findings"
flags=(-std=c++17 -g -O1 -fno-exceptions -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Inative)
[ "${FUZZ_KNOWN:-0}" = 1 ] && flags+=(-DSTATSD_FUZZ_KNOWN)
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

passed=0
failed=0
for target in $targets; do
  if [ -z "${sources[$target]:-}" ]; then
    echo "fuzz $target: unknown target" >&2; failed=$((failed + 1)); continue
  fi
  bin=$out/$target
  srcs=()
  for s in ${sources[$target]}; do srcs+=("native/$s"); done
  if ! "$cxx" "${flags[@]}" "test/fuzz/$target.cc" "${srcs[@]}" -o "$bin"; then
    echo "fuzz $target: build failed" >&2; failed=$((failed + 1)); continue
  fi

  # Regression inputs: each must run clean (a directory of files, run once each).
  regressions=test/fuzz/regressions/$target
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$bin" -runs=0 "$regressions"/* > "$out/$target.replay.log" 2>&1; then
      echo "fuzz $target: a regression input fails again:" >&2
      tail -n 40 "$out/$target.replay.log" >&2
      failed=$((failed + 1)); continue
    fi
  fi

  # Fuzz from a scratch copy of the seeds, so the committed corpus stays small.
  work=$out/corpus/$target
  rm -rf "$work" && mkdir -p "$work"
  log=$out/$target.log
  rm -f "$out/findings/$target-"*
  "$bin" -max_total_time="$seconds" -timeout=10 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$out/findings/$target-" "$work" "test/fuzz/corpus/$target" > "$log" 2>&1
  status=$?
  execs=$(awk '/stat::number_of_executed_units/ { n = $2 } END { print n }' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ { n = $2 } END { print n }' "$log")
  units=$(ls "$work" | wc -l)
  summary="$seconds s, ${execs:-?} execs (${rate:-?}/s), corpus $units inputs"
  if [ $status -eq 0 ] && [ -z "$(ls "$out/findings/$target-"* 2>/dev/null)" ]; then
    echo "fuzz $target: $summary, no findings"
    passed=$((passed + 1))
  else
    echo "fuzz $target: FINDING ($summary, exit $status)" >&2
    grep -E "ERROR|runtime error|invariant broken|#[0-9]+ 0x|SUMMARY" "$log" | head -n 40 >&2
    for f in "$out/findings/$target-"*; do
      [ -f "$f" ] || continue
      echo "  input $f ($(wc -c < "$f") bytes), hex:" >&2
      od -An -tx1 -v "$f" | head -n 20 >&2
    done
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
