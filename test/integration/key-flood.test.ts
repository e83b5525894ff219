// A flood of unique keys (hostile or buggy senders) keeps the aggregator's memory
// bounded: past maxKeys (default 1e6) new keys are dropped and counted, and RSS
// stops growing. Measured in a child process (test/helpers/key-flood-child.cjs)
// so the RSS is the aggregator's process alone, not the test worker's.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, test } from 'vitest';

const CHILD = path.join(__dirname, '..', 'helpers', 'key-flood-child.cjs');
const KEYS_PER_ROUND = 10_000_000;
const ROUNDS = 2;
const MAX_KEYS = 1_000_000; // the Aggregator default

// Bounds, set from measurements on the CI machine (2 cores, node 20, release
// addon): runs measured an ingest plateau of 312-317 MiB (+0 MiB over the last
// 8.75M keys of a round), 584-586 MiB after the first flush (its 125 MB of carbon
// text is held twice: native buffer and Buffer copy), 614 MiB peak over both
// rounds (611 in CI). The child's RSS includes node and the typescript compiler (~100 MiB).
const PLATEAU_GROWTH_MIB = 32; // RSS growth while keys are being dropped
const INGEST_PEAK_MIB = 448; // peak RSS before the first flush
const PEAK_MIB = 896; // peak RSS over both rounds, flushes included

// Under AddressSanitizer (npm run test:sanitize) RSS holds ASan's shadow memory
// and freed-memory quarantine (measured: 964 MiB plateau, 1113 MiB peak), so
// only the plateau (flat there too) and the counters are checked.
const sanitized = (process.env.LD_PRELOAD ?? '').includes('libasan');

interface Round {
  samples: [number, number][];
  ingestPeak: number;
  carbonBytes: number;
  afterFlush: number;
  peak: number;
}
interface FloodResult {
  rounds: Round[];
  stats: { keys: number; keysDropped: number; lines: number; errors: number };
  peakMiB: number;
  ms: number;
}

function runFlood(): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, String(ROUNDS), String(KEYS_PER_ROUND)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`flood child ended with ${signal ?? `exit code ${code}`}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(stdout) as FloodResult);
    });
  });
}

describe('unique key flood', () => {
  test(
    `${ROUNDS} x ${KEYS_PER_ROUND / 1e6}M unique keys: ${MAX_KEYS / 1e6}M kept, the rest dropped and counted, RSS bounded`,
    async () => {
      const r = await runFlood();
      const summary = r.rounds.map((round) => ({
        ingestPeak: Math.round(round.ingestPeak),
        afterFlush: Math.round(round.afterFlush),
        peak: Math.round(round.peak),
      }));
      console.log(`key flood: ${JSON.stringify(summary)}, peak ${Math.round(r.peakMiB)} MiB, ${r.ms} ms`);

      // Nothing lost silently: every line is aggregated or counted as dropped.
      const sent = ROUNDS * KEYS_PER_ROUND;
      expect(r.stats).toEqual({ keys: MAX_KEYS, keysDropped: sent - MAX_KEYS, lines: MAX_KEYS, errors: sent - MAX_KEYS });

      // Once the table is full (samples from 1.25M keys on), RSS stays flat.
      for (const [i, round] of r.rounds.entries()) {
        const plateau = round.samples.filter(([keys]) => keys >= 1_250_000).map(([, mib]) => mib);
        expect(plateau.length, `round ${i} samples`).toBeGreaterThan(10);
        const growth = Math.max(...plateau) - plateau[0]!;
        expect(growth, `round ${i}: RSS growth (MiB) while dropping keys`).toBeLessThan(PLATEAU_GROWTH_MIB);
      }
      if (!sanitized) {
        expect(r.rounds[0]!.ingestPeak, 'peak RSS (MiB) before the first flush').toBeLessThan(INGEST_PEAK_MIB);
        expect(r.peakMiB, 'peak RSS (MiB), flushes included').toBeLessThan(PEAK_MIB);
      }
    },
    120_000,
  );
});
