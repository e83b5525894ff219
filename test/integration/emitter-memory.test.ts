// Memory is bounded and returned (issue [2/7] item 3): a key costs little
// while idle (timing samples and set members are held only within an
// interval), keys idle for idleIntervals are forgotten, and their slots are
// reused. Measured in a child process with --expose-gc
// (test/helpers/emitter-memory-child.cjs): V8 heap + array buffers after full
// GCs, 50,000 keys of each type. Before: a timer key held two 1,000-sample
// Float64Arrays for good (~16 KB), and no key was ever freed.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { Emitter, StatsdError } from '../../src';

const CHILD = path.join(__dirname, '..', 'helpers', 'emitter-memory-child.cjs');
const KEYS = 50_000;

describe('bytes per key', () => {
  it.each(['c', 'g', 'ms', 's'])('%s: at most 200 B per idle key, forgotten after idleIntervals, slots reused', (type) => {
    const run = spawnSync(process.execPath, ['--expose-gc', CHILD, type, String(KEYS)], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    if (process.env.MEASURE) console.log(type, JSON.stringify(r));
    expect(r.keysHeld).toBe(KEYS);
    expect(r.idleBytesPerKey!).toBeLessThan(200);
    expect(r.keysAfterIdle).toBe(0);
    // forgotten keys leave their slots to new ones: new keys cost a fraction of the first
    expect(r.reusedBytesPerKey!).toBeLessThan(r.idleBytesPerKey! / 2);
    expect(r.dropped).toBe(0);
  }, 90_000);
});

describe('frozen tag arrays', () => {
  // Each new frozen array gets its slots remembered by identity; that memory
  // must go with the array (it once stayed for as long as the key lived:
  // 74 MiB after 300k calls on one key).
  it('300,000 calls on one key, each with a new frozen tags array, hold next to nothing', () => {
    const run = spawnSync(process.execPath, ['--expose-gc', CHILD, 'frozen', '50000'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    if (process.env.MEASURE) console.log('frozen', JSON.stringify(r));
    expect(r.keysHeld).toBe(1);
    expect(r.idleBytesPerKey! * KEYS).toBeLessThan(4 << 20); // all 300k calls: under 4 MiB held
  }, 90_000);
});

describe('maxKeys', () => {
  it('calls for new keys past maxKeys are dropped and counted; known keys go on; a handle past it is a StatsdError', async () => {
    const e = new Emitter({ endpoint: '127.0.0.1:9', flushInterval: 3_600_000, maxKeys: 3, env: {} });
    e.on('error', () => {});
    e.increment('a');
    e.gauge('b', 1);
    e.timing('c', 1);
    e.increment('d'); // the fourth key
    e.set('e', 'x');
    e.increment('a', 2);
    expect(e.stats).toMatchObject({ keys: 3, keysDropped: 2, dropped: 2 });
    expect(() => e.counter('f')).toThrow(StatsdError);
    await e.close();
  });
});
