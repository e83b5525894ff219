// The daemon's parser dialect and etsy's calculatedTimerMetrics, through the
// real command line: `dialect` in a brubeck config.json and in an etsy
// config.js, and `--dialect full|brubeck` over both. A line only the full
// dialect accepts (`a:1|s`: brubeck has no sets) is counted as bad_type on
// /stats with the brubeck dialect and accepted without it.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/daemon/config/file';
import { DaemonProcess, sendUdp } from '../helpers/daemon-cli';
import { tempDir, until } from '../helpers/receivers';

const daemons: DaemonProcess[] = [];
const dir = tempDir();

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const BRUBECK = (extra: object) => JSON.stringify({ samplers: [{ type: 'statsd', port: 0 }], backends: [], ...extra });

/**
 * Starts the daemon with `args` (plus a free UDP port and /stats), sends a set
 * line and a counter line, and returns /stats once both were read.
 */
async function run(args: string[]): Promise<{ metrics: number; errors: number; byReason: Record<string, number>; stderr: string }> {
  const d = DaemonProcess.spawn(['serve', ...args, '--port', '0', '--http', '0', '--flush-interval', '60000']);
  daemons.push(d);
  await d.ready();
  await sendUdp(d.listening.udp!, ['a:1|s\nb:1|c']);
  let stats: { metrics: number; errors: number; errors_by_reason: Record<string, number> } = { metrics: 0, errors: 0, errors_by_reason: {} };
  await until(
    async () => {
      stats = await d.stats();
      return stats.metrics + stats.errors === 2;
    },
    5000,
    () => `both lines counted on /stats: ${JSON.stringify(stats)}`,
  );
  return { metrics: stats.metrics, errors: stats.errors, byReason: stats.errors_by_reason, stderr: d.stderr };
}

describe('dialect', () => {
  it('default (full): a set line is accepted', async () => {
    const s = await run([]);
    expect(s).toMatchObject({ metrics: 2, errors: 0 });
    expect(s.byReason.bad_type).toBe(0);
  });

  it('--dialect brubeck: a set line is bad_type', async () => {
    const s = await run(['--dialect', 'brubeck']);
    expect(s).toMatchObject({ metrics: 1, errors: 1 });
    expect(s.byReason.bad_type).toBe(1);
  });

  it('brubeck config.json "dialect": "brubeck": a set line is bad_type, and the key is not reported as ignored', async () => {
    const s = await run(['--config', file('brubeck-dialect.json', BRUBECK({ dialect: 'brubeck' }))]);
    expect(s).toMatchObject({ metrics: 1, errors: 1 });
    expect(s.byReason.bad_type).toBe(1);
    expect(s.stderr).not.toMatch(/ignoring/);
  });

  it('etsy config.js dialect: \'brubeck\': a set line is bad_type (etsy convention kept)', async () => {
    const s = await run(['--config', file('etsy-dialect.js', "{ port: 0, dialect: 'brubeck' }")]);
    expect(s).toMatchObject({ metrics: 1, errors: 1 });
    expect(s.byReason.bad_type).toBe(1);
    expect(s.stderr).toMatch(/; etsy convention;/);
    expect(s.stderr).not.toMatch(/ignoring/);
  });

  it('--dialect overrides the file', async () => {
    const s = await run(['--config', file('brubeck-dialect-2.json', BRUBECK({ dialect: 'brubeck' })), '--dialect', 'full']);
    expect(s).toMatchObject({ metrics: 2, errors: 0 });
  });

  it.each([
    ['--dialect nope', ['--dialect', 'nope'], /--dialect is full or brubeck/],
    ['"dialect": "etsy" in config.json', ['--config', file('bad-dialect.json', BRUBECK({ dialect: 'etsy' }))], /bad-dialect\.json: .*dialect/],
    ['dialect: 1 in config.js', ['--config', file('bad-dialect.js', '{ port: 0, dialect: 1 }')], /bad-dialect\.js: .*dialect/],
  ])('%s stops the start with exit 1', async (_, args, message) => {
    const d = DaemonProcess.spawn(['serve', ...args, '--port', '0']);
    daemons.push(d);
    expect((await d.ended()).code).toBe(1);
    expect(d.stderr).toMatch(message);
  });
});

describe('etsy calculatedTimerMetrics', () => {
  it('is read from config.js into the aggregator options (not reported as ignored)', () => {
    const config = loadConfig(file('ctm.js', "{ port: 0, calculatedTimerMetrics: ['count_ps', 'count', 'count_percent', 'mean_percent', 'histogram'] }"));
    expect(config.options.aggregator?.calculatedTimerMetrics).toEqual(['count_ps', 'count', 'count_percent', 'mean_percent', 'histogram']);
    expect(config.warnings.join('\n')).not.toMatch(/calculatedTimerMetrics/);
  });

  it.each([
    ['a string', "'count'"],
    ['a list with a number', "['count', 1]"],
  ])('%s stops the start, naming the file', (_, value) => {
    const p = file('ctm-bad.js', `{ port: 0, calculatedTimerMetrics: ${value} }`);
    expect(() => loadConfig(p)).toThrow(/ctm-bad\.js: .*calculatedTimerMetrics/);
  });
});
