// Our Aggregator run case by case in a child process (aggregator-child.cjs):
// a case that crashes the process (a native fault) is reported as such and
// the remaining cases run in a fresh child.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import type { AggregatorOptions } from '../../src';

export interface IsolatedCase {
  packets: string[];
  timestamp: number;
  /** Flush once at this timestamp before ingesting (so the case's flush is a second one). */
  warmup?: number;
}

export type IsolatedResult = { ok: true; carbon: string; errors: number } | { ok: false; crash: string };

const CHILD = path.join(__dirname, 'aggregator-child.cjs');

function runChild(input: string, first: number): Promise<{ stdout: string; stderr: string; how: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, String(first)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, how: signal ? `signal ${signal}` : `exit code ${code}` });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Ingests each case's packets into a fresh Aggregator and flushes it once. */
export async function runIsolated(options: AggregatorOptions, cases: IsolatedCase[]): Promise<IsolatedResult[]> {
  const results: IsolatedResult[] = [];
  const input = JSON.stringify({ options, cases });
  while (results.length < cases.length) {
    const { stdout, stderr, how } = await runChild(input, results.length);
    for (const line of stdout.split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { index: number; carbon: string; errors: number };
      if (r.index === results.length) results.push({ ok: true, carbon: r.carbon, errors: r.errors });
    }
    if (results.length < cases.length) {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      results.push({ ok: false, crash: `our process died (${how})${tail ? `: ${tail}` : ''}` });
    }
  }
  return results;
}
