// Inputs the libFuzzer targets (test/fuzz/) found to break the native core,
// replayed through the public API in a child process (test/helpers/
// aggregator-child.cjs), so a crash fails one test instead of the worker.
// The same inputs, in the fuzzers' encoding, are in test/fuzz/regressions/.
//
// A finding still open is kept as a `test.fails` (it passes while the bug is
// there and fails once it is fixed; then it becomes a plain `test`). None is
// open now. See docs/reliability.md.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, test } from 'vitest';

import type { AggregatorOptions } from '../../src';

const CHILD = path.join(__dirname, '..', 'helpers', 'aggregator-child.cjs');

// The sanitizer run (test/sanitize/run.sh) fails on any report in its log
// directory; an open finding is an expected crash here, so its report goes to
// stderr instead (the exit status still tells).
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['ASAN_OPTIONS', 'UBSAN_OPTIONS'] as const) {
    if (env[name]) env[name] = env[name].split(':').filter((o) => !o.startsWith('log_path=')).join(':');
  }
  return env;
}

/** Ingests `packets` into a fresh Aggregator in a child and flushes once. */
function ingestAndFlush(
  options: AggregatorOptions,
  packets: string[],
): Promise<{ status: string; carbon?: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      const line = stdout.split('\n').find((l) => l !== '');
      resolve({ status, carbon: line ? (JSON.parse(line) as { carbon: string }).carbon : undefined, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify({ options, cases: [{ packets, timestamp: 1700000000 }] }));
  });
}

describe('fuzzer findings', () => {
  // Found by test/fuzz/aggregate.cc (input 00 ff 00 00 "t:1|ms"): with no sample
  // storage, flushing a timer that saw samples indexes an empty vector.
  // brubeck: native/histogram.cc:50 BrubeckPercentile reads samples_[rank - 1]
  // with rank clamped to n = 0, i.e. samples_[SIZE_MAX] (called from
  // native/aggregator.cc:356 for the median, guarded only by !h.empty(), which
  // counts samples seen, not stored). etsy: native/aggregator.cc:391
  // WriteEtsyTimer reads v[0] of the empty sample vector. Fixed: percentiles
  // need stored samples; counts come from the exact totals.
  for (const convention of ['brubeck', 'etsy'] as const) {
    test(`maxSamplesPerKey 0 (${convention}): a timer flushes its count without crashing`, async () => {
      const r = await ingestAndFlush({ convention, maxSamplesPerKey: 0 }, ['t:1|ms\nt:2|ms|@0.5']);
      expect(r.status, r.stderr.slice(-1500)).toBe('exit code 0');
      expect(r.carbon).toMatch(convention === 'brubeck' ? /^t\.count 3 1700000000$/m : /^stats\.timers\.t\.count 3 1700000000$/m);
    });
  }
});
