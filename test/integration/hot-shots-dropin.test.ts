// The StatsD drop-in against hot-shots 17 itself: the same calls, each client to
// its own real receiver (UDP a packet per line, UDP packed, TCP) and in mock
// mode, give the same lines; every deliberate difference is asserted on both.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';

import HotShots from 'hot-shots';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { StatsD } from '../../src';
import { StreamReceiver, UdpReceiver, UnixDatagramReceiver, sleep, tempDir, waitFor } from '../helpers/receivers';

// The table calls both libraries with argument shapes their typings do not all
// list (tags or callbacks in any position), so clients are typed loosely here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;
type Lib = 'hot-shots' | 'ours';
/** Calls on a client; may return child clients (their mockBuffers count too). */
type Calls = (c: Client) => unknown;

const LIBS: Record<Lib, new (options?: Client) => Client> = { 'hot-shots': HotShots, ours: StatsD };
const NOW = Date.UTC(2024, 0, 2, 3, 4, 5);
const RANDOM = [0.1, 0.9, 0.3, 0.7, 0.05, 0.6, 0.45, 0.55];
const noop = (): void => {};

function client(lib: Lib, options: object): Client {
  return new LIBS[lib]({ includeDataDogTags: false, ...options });
}

function closed(c: Client): Promise<void> {
  return new Promise((resolve) => c.close(() => resolve()));
}

/**
 * Runs `fn` with Math.random replaying RANDOM, Date frozen at NOW, and
 * process.hrtime.bigint advancing 12.5 ms a read (so every timer measures
 * 12.5 ms): both libraries sample, date and time the same.
 */
async function controlled<T>(fn: () => T): Promise<Awaited<T>> {
  let i = 0;
  let t = 10n ** 12n;
  const random = vi.spyOn(Math, 'random').mockImplementation(() => RANDOM[i++ % RANDOM.length]!);
  const hrtime = vi.spyOn(process.hrtime, 'bigint').mockImplementation(() => (t += 12_500_000n));
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
    random.mockRestore();
    hrtime.mockRestore();
  }
}

async function runMock(lib: Lib, options: object, calls: Calls): Promise<string[]> {
  const c = client(lib, { ...options, mock: true });
  const children = await controlled(() => calls(c));
  return [c, ...(Array.isArray(children) ? children : [])].flatMap((x: Client) => x.mockBuffer as string[]);
}

async function runUdp(lib: Lib, options: object, calls: Calls, lines: number): Promise<{ packets: string[]; lines: string[] }> {
  const r = await UdpReceiver.start();
  try {
    const c = client(lib, { ...options, host: '127.0.0.1', port: r.port });
    await controlled(() => calls(c));
    await closed(c);
    await waitFor(() => r.lines.length >= lines, 5000, `${lines} lines from ${lib}, got ${JSON.stringify(r.lines)}`);
    await sleep(20); // anything extra would show
    return { packets: r.texts, lines: r.lines };
  } finally {
    await r.close();
  }
}

async function runTcp(lib: Lib, options: object, calls: Calls, lines: number): Promise<string[]> {
  const r = await StreamReceiver.start({ port: 0 });
  try {
    const c = client(lib, { ...options, protocol: 'tcp', host: '127.0.0.1', port: r.port });
    await controlled(() => calls(c));
    await waitFor(() => r.lines.length >= lines, 5000, `${lines} lines from ${lib} over TCP, got ${JSON.stringify(r.lines)}`);
    await closed(c);
    await sleep(20);
    return r.lines;
  } finally {
    await r.close();
  }
}

const sorted = (a: readonly string[]): string[] => [...a].sort();

// Calls whose lines must be the same, byte for byte; `packedAlike: false` marks
// a case whose lines match but whose packets differ on purpose (see below).
const SAME: [string, object, Calls, { packedAlike?: boolean }?][] = [
  ['increment with and without a value', {}, (c) => {
    c.increment('a');
    c.increment('a', 5);
    c.increment('a', 0);
    c.increment('a', -2.5);
    c.increment('a', 1e21);
    c.increment('a', 10n, 1);
  }],
  ['increment: tags, rates and callbacks in every position', {}, (c) => {
    c.increment('a', ['t:1', 'flag']);
    c.increment('a', { k: 'v', n: 2 });
    c.increment('a', noop);
    c.increment('a', 1, noop);
    c.increment('a', 2, ['t:2']);
    c.increment('a', 3, { k: 'v' }, noop);
    c.increment('a', 4, ['t'], noop);
    c.increment('a', 1, 0.5);
    c.increment('a', 1, 0.5, ['t:r']);
    c.increment('a', 1, 0.5, noop);
    c.increment('a', 1, 0.25, { k: 'v' }, noop);
    c.increment('a', undefined, undefined, ['u']);
    c.increment('a', null, 1, ['n']);
    c.increment('a', '7', 1);
    c.increment('a', 1, {}, ['empty-rate-object']);
    c.increment('a', 1, 1, []);
  }],
  ['decrement', {}, (c) => {
    c.decrement('d');
    c.decrement('d', 4);
    c.decrement('d', ['t:1']);
    c.decrement('d', 2, 0.5, ['t:2'], noop);
  }],
  ['gauge, gaugeDelta', {}, (c) => {
    c.gauge('g', 5);
    c.gauge('g', 0);
    c.gauge('g', 1.25, ['t']);
    c.gauge('g', 2, 0.5);
    c.gauge('g', '-7'); // a string is sent as given: relative when signed, in both
    c.gaugeDelta('g', 3);
    c.gaugeDelta('g', -3.5, ['t']);
    c.gaugeDelta('g', 0);
  }],
  ['histogram, distribution', {}, (c) => {
    c.histogram('h', 1.5);
    c.histogram('h', 2, ['t:1'], noop);
    c.distribution('d', 3);
    c.distribution('d', 4, 0.5, { k: 'v' });
  }],
  ['timing with numbers and a Date', {}, (c) => {
    c.timing('t', 12);
    c.timing('t', 0.125, 0.5);
    c.timing('t', new Date(NOW - 42));
    c.timing('t', new Date(NOW - 7), ['since:date']);
  }],
  ['set, unique', {}, (c) => {
    c.set('s', 'alice');
    c.unique('s', 42);
    c.set('s', 'a:b', ['t']);
    c.unique('s', 'bob', noop);
  }],
  ['several stats in one call', {}, (c) => {
    c.increment(['m1', 'm2'], 1, ['t']);
    c.gauge(['g1', 'g2'], 3, noop);
  }],
  ['an options object in the rate position', {}, (c) => {
    c.increment('o', 1, { sampleRate: 0.5, tags: ['o:1'] });
    c.gauge('o', 1, { timestamp: new Date(1_700_000_000_000) });
    c.histogram('o', 3, { tags: { k: 'v' }, timestamp: 1_700_000_000.4 }, noop);
  }],
  ['prefix, suffix, global tags as an array', { prefix: 'svc', suffix: 'eu', globalTags: ['env:prod', 'az'] }, (c) => {
    c.increment('a');
    c.increment('a', ['env:dev', 'x']); // a call's key replaces the global one
    c.timing('t', 5, { env: 'stage' });
  }],
  ['global tags as an object, a default sampleRate', { prefix: 'svc.', suffix: '.x', globalTags: { env: 'prod', 'k|e:y': 'v@1,2#' }, sampleRate: 0.5 }, (c) => {
    c.increment('a');
    c.increment('a');
    c.gauge('g', 1, 1);
    c.gauge('g', 2, 0.25);
  }],
  ['childClient', { prefix: 'root', globalTags: ['env:prod', 'team:a'] }, (c) => {
    const child = c.childClient({ prefix: 'child', suffix: 'x', globalTags: { env: 'dev' } });
    const grandchild = child.childClient({ prefix: 'g', globalTags: ['extra'] });
    child.increment('a');
    grandchild.gauge('b', 1, ['team:b']);
    c.increment('c');
    return [child, grandchild];
  }, { packedAlike: false }],
  ['names and tags sanitized as hot-shots does', {}, (c) => {
    c.increment('a:b|c\rd\ne');
    c.increment('x', ['k|e:y@z', 'a,b#c', '#lead', 'url:http://h:1/p']);
    c.increment('x', { 'k:e': 'v|,@#', n: 'a:b' });
    c.increment(123);
  }],
  ['events', {}, (c) => {
    c.event('deploy');
    c.event('deploy', 'v2 is out\nall good', {
      date_happened: new Date(1_700_000_000_000),
      hostname: 'web1',
      aggregation_key: 'k1',
      priority: 'low',
      source_type_name: 'ci',
      alert_type: 'success',
    }, ['env:prod']);
    c.event('t', 'x', undefined, noop);
    c.event('t', '', { priority: 'normal' }, { k: 'v' }, noop);
  }],
  ['events and checks with prefix, suffix and global tags', { prefix: 'p', suffix: 's', globalTags: ['g:1'] }, (c) => {
    c.event('e', 'body', null, ['g:2']);
    c.check('c', c.CHECKS.CRITICAL, { message: 'm' });
  }],
  ['service checks', {}, (c) => {
    c.check('db.up', c.CHECKS.OK);
    c.check('db.up', 2, { date_happened: 1_700_000_000, hostname: 'db1', message: 'down for maintenance' }, { env: 'prod' });
    c.check('db.up', 1, null, noop);
    c.check('db.up', 3, {}, ['a:b', 'c'], noop);
  }],
  ['timer, asyncTimer, asyncDistTimer', {}, async (c) => {
    c.timer(() => 1, 'sync')();
    c.timer((a: number, b: number) => a + b, 'sync.args', 0.5)(1, 2);
    // hot-shots drops the static tags here (they sit in the rate position and
    // the context's tags win): the same in both
    c.timer((_: string, ctx: { addTags(t: object): void }) => ctx.addTags(['dyn:1']), 'sync.ctx', ['t:1'])('x');
    c.timer((ctx: { addTags(t: object): void }) => ctx.addTags({ k: 'v' }), 'sync.ctx2', undefined, ['t:2'])();
    await c.asyncTimer(async () => 1, 'async')();
    await c.asyncTimer(async () => {
      throw new Error('fails');
    }, 'async.fails', ['t'])().catch(noop);
    await c.asyncDistTimer(async (ctx: { addTags(t: object): void }) => ctx.addTags({ k: 'v' }), 'dist', undefined, ['t:3'])();
  }],
  ['telegraf', { telegraf: true, globalTags: { env: 'prod' }, prefix: 'tg' }, (c) => {
    c.increment('a', ['k:v', 'flag']);
    c.gauge('g', 5);
    c.timing('t', 3, 0.5, { 'a,b': 'c\\' });
    c.increment('ts', 1, { timestamp: 1_700_000_000 }); // telegraf: no timestamp
  }],
  ['tagPrefix, tagSeparator', { tagPrefix: '#', tagSeparator: ';', globalTags: ['a:1'] }, (c) => {
    c.increment('a', ['b:2', 'c']);
  }],
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(SAME)('the same lines: %s', (_, options, calls, how) => {
  it('mock: the same mockBuffer', async () => {
    const theirs = await runMock('hot-shots', options, calls);
    expect(theirs.length).toBeGreaterThan(0);
    expect(await runMock('ours', options, calls)).toEqual(theirs);
  });

  it('UDP, maxBufferSize 0: the same lines, a packet each', async () => {
    const expected = (await runMock('hot-shots', options, calls)).length;
    const theirs = await runUdp('hot-shots', options, calls, expected);
    const ours = await runUdp('ours', options, calls, expected);
    expect(sorted(ours.lines)).toEqual(sorted(theirs.lines));
    expect(ours.packets.length).toBe(theirs.packets.length);
  });

  it('UDP, maxBufferSize 100: the same packets', async () => {
    const packed = { ...options, maxBufferSize: 100 };
    const expected = (await runMock('hot-shots', packed, calls)).length;
    const theirs = await runUdp('hot-shots', packed, calls, expected);
    const ours = await runUdp('ours', packed, calls, expected);
    expect(sorted(ours.lines)).toEqual(sorted(theirs.lines));
    if (how?.packedAlike !== false) expect(sorted(ours.packets)).toEqual(sorted(theirs.packets));
    for (const p of ours.packets) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(100);
  });

  it('TCP: the same lines, in order', async () => {
    const expected = (await runMock('hot-shots', options, calls)).length;
    const theirs = await runTcp('hot-shots', options, calls, expected);
    expect(await runTcp('ours', options, calls, expected)).toEqual(theirs);
  });
});

describe('protocol uds (unix datagram)', () => {
  it('the same packets: both pack into 8192 bytes by default', async () => {
    const calls: Calls = (c) => {
      for (let i = 0; i < 300; i++) c.increment(`uds.counter.${i % 7}`, i, ['env:prod']);
      c.gauge('uds.gauge', 3);
      c.event('uds event', 'text');
    };
    const packets = async (lib: Lib) => {
      const r = new UnixDatagramReceiver(path.join(tempDir(), 'dsd.sock'));
      try {
        const c = client(lib, { protocol: 'uds', path: r.path });
        calls(c);
        await closed(c);
        await waitFor(() => r.lines.length >= 302, 5000, `${lib}: 302 lines over uds`);
        return r.texts;
      } finally {
        r.close();
      }
    };
    const theirs = await packets('hot-shots');
    expect(theirs.length).toBeGreaterThan(1);
    expect(await packets('ours')).toEqual(theirs);
  });
});

describe('protocol stream (a caller\'s Writable)', () => {
  it('the same text, a line per write; close() destroys the stream', async () => {
    const text = async (lib: Lib, maxBufferSize: number) => {
      const stream = new PassThrough();
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      const c = client(lib, { protocol: 'stream', stream, maxBufferSize });
      c.increment('a', ['t:1']);
      c.gauge('g', 2);
      c.event('e', 'x');
      await closed(c);
      await sleep(10);
      expect(stream.destroyed).toBe(true);
      return Buffer.concat(chunks).toString();
    };
    for (const max of [0, 1432]) {
      const theirs = await text('hot-shots', max);
      expect(theirs).toContain('a:1|c|#t:1\n');
      expect(await text('ours', max)).toBe(theirs);
    }
  });
});

/** Callback arguments as comparable data: errors become their class and code. */
function recorder(): { calls: unknown[][]; cb: (...args: unknown[]) => void } {
  const calls: unknown[][] = [];
  return {
    calls,
    cb: (...args) => calls.push(args.map((a) => (a instanceof Error ? `${a.name}:${(a as NodeJS.ErrnoException).code}` : a))),
  };
}

describe('callbacks and errors as hot-shots calls them', () => {
  const calls: Calls = (c) => {
    const r = recorder();
    c.increment('a', 1, r.cb);
    c.increment(['a', 'b'], 1, r.cb);
    c.increment('a', 1, 0.5, r.cb); // RANDOM[0] = 0.1: sent
    c.increment('a', 1, 0.5, r.cb); // 0.9: sampled out, called back at once
    c.event('e', 'x', {}, r.cb);
    c.check('c', 0, {}, r.cb);
    return r.calls;
  };

  it.each([
    ['mock', { mock: true }],
    ['buffered (queued signal, no arguments)', { maxBufferSize: 1432 }],
  ])('%s: the same callback arguments, at the call', async (_, options) => {
    const got = async (lib: Lib) => {
      const c = client(lib, { host: '127.0.0.1', port: 9, ...options });
      const recorded = await controlled(() => calls(c));
      const now = structuredClone(recorded);
      c.close();
      return now;
    };
    const theirs = await got('hot-shots');
    expect(theirs).toHaveLength(6);
    expect(await got('ours')).toEqual(theirs);
  });

  it('unbuffered UDP: called once sent, with the same arguments', async () => {
    const got = async (lib: Lib) => {
      const r = await UdpReceiver.start();
      const c = client(lib, { host: '127.0.0.1', port: r.port });
      const recorded = (await controlled(() => calls(c))) as unknown[][];
      await waitFor(() => recorded.length >= 6, 3000, `${lib} callbacks`);
      await closed(c);
      await r.close();
      return sorted(recorded.map((a) => JSON.stringify(a)));
    };
    const theirs = await got('hot-shots');
    expect(await got('ours')).toEqual(theirs);
  });

  it('a refused TCP connection reaches errorHandler (ECONNREFUSED); no call throws', async () => {
    const errors = async (lib: Lib) => {
      const seen: string[] = [];
      const c = client(lib, { protocol: 'tcp', host: '127.0.0.1', port: 1, errorHandler: (e: NodeJS.ErrnoException) => seen.push(String(e.code)) });
      expect(() => {
        c.increment('a');
        c.gauge('g', 1, ['t']);
        c.event('e');
      }).not.toThrow();
      await waitFor(() => seen.includes('ECONNREFUSED'), 3000, `${lib} ECONNREFUSED`);
      c.close(noop); // hot-shots' close never calls back on a refused connection: not awaited
      return seen.includes('ECONNREFUSED');
    };
    expect(await errors('hot-shots')).toBe(true);
    expect(await errors('ours')).toBe(true);
  });

  it('telegraf events and checks: the callback, else errorHandler, gets the error', async () => {
    for (const lib of ['hot-shots', 'ours'] as const) {
      const r = recorder();
      const handled: string[] = [];
      const c = client(lib, { mock: true, telegraf: true, errorHandler: (e: Error) => handled.push(e.message) });
      c.event('e', 'x', {}, [], r.cb);
      c.check('c', 0, {}, [], r.cb);
      c.event('e');
      expect(r.calls, lib).toEqual([['Error:undefined'], ['Error:undefined']]);
      expect(handled, lib).toEqual(['Not supported by Telegraf / InfluxDB']);
    }
  });
});

describe('deliberate differences (README "Migrating from hot-shots")', () => {
  /** hot-shots' and our mockBuffer for the same calls. */
  async function both(calls: Calls, options: object = {}): Promise<{ theirs: string[]; ours: string[]; c: StatsD }> {
    const theirs = await runMock('hot-shots', options, calls);
    const c = client('ours', { ...options, mock: true, errorHandler: noop }) as StatsD;
    await controlled(() => calls(c));
    return { theirs, ours: c.mockBuffer!, c };
  }

  it('a negative gauge is sent as 0 then -N, in one packet: "x:-5|g" is a decrement to statsd, brubeck, Telegraf', async () => {
    const { theirs, ours } = await both((c) => c.gauge('x', -5, ['t']));
    expect(theirs).toEqual(['x:-5|g|#t']);
    expect(ours).toEqual(['x:0|g|#t', 'x:-5|g|#t']);
    const wire = await runUdp('ours', {}, (c) => c.gauge('x', -5), 2);
    expect(wire.packets).toEqual(['x:0|g\nx:-5|g']);
    // gaugeDelta and signed strings stay relative, as in hot-shots
    expect((await both((c) => c.gaugeDelta('x', -5))).ours).toEqual(['x:-5|g']);
  });

  it('NaN, Infinity and values no server reads are refused: counted, and the callback or errorHandler gets a StatsdError', async () => {
    const values = [NaN, Infinity, -Infinity, undefined, 'abc', true, {}];
    const { theirs } = await both((c) => values.forEach((v) => c.gauge('g', v, 1)));
    expect(theirs).toEqual(['g:NaN|g', 'g:Infinity|g', 'g:-Infinity|g', 'g:undefined|g', 'g:abc|g', 'g:true|g', 'g:[object Object]|g']);

    const handled: Error[] = [];
    const c = new StatsD({ mock: true, errorHandler: (e) => handled.push(e) });
    const r = recorder();
    expect(() => {
      values.forEach((v) => c.gauge('g', v as number, 1));
      c.increment('i', NaN, r.cb);
      c.timing('t', Infinity, ['x'], r.cb);
      c.gaugeDelta('d', NaN, r.cb);
    }).not.toThrow();
    expect(c.mockBuffer).toEqual([]);
    expect(handled.map((e) => [e.name, (e as NodeJS.ErrnoException).code])).toEqual(values.map(() => ['StatsdError', 'ERR_STATSD_BAD_VALUE']));
    expect(r.calls).toEqual([0, 1, 2].map(() => ['StatsdError:ERR_STATSD_BAD_VALUE']));
    expect(c.stats.refused).toBe(values.length + 3);
  });

  it('with neither callback nor errorHandler, a refusal is counted and printed at most once per code', () => {
    const print = vi.spyOn(console, 'error').mockImplementation(noop);
    const c = new StatsD({ mock: true });
    c.increment('a', NaN);
    c.increment('b', NaN);
    expect(c.stats.refused).toBe(2);
    expect(print.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('names a server cannot read get "_" for spaces, control bytes and a trailing "."; an empty name is refused', async () => {
    const { theirs, ours, c } = await both((c) => {
      c.increment('my metric');
      c.increment('tab\there');
      c.increment('ends.');
      c.increment('');
    });
    expect(theirs).toEqual(['my metric:1|c', 'tab\there:1|c', 'ends.:1|c', ':1|c']);
    expect(ours).toEqual(['my_metric:1|c', 'tab_here:1|c', 'ends_:1|c']);
    expect(c.stats.refused).toBe(1);
    const r = recorder();
    c.increment('', 1, r.cb);
    expect(r.calls).toEqual([['StatsdError:ERR_STATSD_BAD_NAME']]);
  });

  it('tags with spaces or control bytes get "_"; empty tags are left out', async () => {
    const { theirs, ours } = await both((c) => {
      c.increment('a', ['a b', '', 'c\td', 'ok']);
      c.increment('a', ['']);
    });
    expect(theirs).toEqual(['a:1|c|#a b,,c\td,ok', 'a:1|c|#']);
    expect(ours).toEqual(['a:1|c|#a_b,c_d,ok', 'a:1|c']);
  });

  it('set members: "|" and control bytes become "_"; an empty member is refused', async () => {
    const { theirs, ours, c } = await both((c) => {
      c.set('s', 'a|b');
      c.set('s', 'x\ty');
      c.set('s', '');
    });
    expect(theirs).toEqual(['s:a|b|s', 's:x\ty|s', 's:|s']);
    expect(ours).toEqual(['s:a_b|s', 's:x_y|s']);
    expect(c.stats.refused).toBe(1);
  });

  it('a line longer than maxBufferSize is dropped and counted, never sent oversized', async () => {
    const long = 'n'.repeat(80);
    const theirs = await runUdp('hot-shots', { maxBufferSize: 64 }, (c) => {
      c.increment('a');
      c.increment(long);
    }, 2);
    expect(theirs.packets).toEqual(['a:1|c', `${long}:1|c`]); // 84 bytes past a 64-byte limit

    const r = await UdpReceiver.start();
    const errors: string[] = [];
    const c = new StatsD({ host: '127.0.0.1', port: r.port, maxBufferSize: 64, errorHandler: (e) => errors.push(String((e as NodeJS.ErrnoException).code)) });
    c.increment('a');
    c.increment(long);
    await closed(c);
    await waitFor(() => r.texts.length >= 1, 3000, 'the short line');
    await sleep(20);
    expect(r.texts).toEqual(['a:1|c']);
    expect(errors).toEqual(['ERR_STATSD_TOO_LONG']);
    expect(c.stats).toMatchObject({ sent: 1, dropped: 1 });
    await r.close();
  });

  it('event lengths count UTF-8 bytes; newlines in titles and check messages are escaped; "|" in fields becomes "_"', async () => {
    const { theirs, ours } = await both((c) => {
      c.event('café', 'naïve');
      c.event('two\nlines', 'text');
      c.event('t', 'x', { hostname: 'a|b', aggregation_key: 'k\nv' });
      c.check('svc|x', 0, { hostname: 'h|1', message: 'line1\nline2' });
    });
    expect(theirs).toEqual([
      '_e{4,5}:café|naïve',
      '_e{9,4}:two\nlines|text',
      '_e{1,1}:t|x|h:a|b|k:k\nv',
      '_sc|svc|x|0|h:h|1|m:line1\nline2',
    ]);
    expect(ours).toEqual([
      '_e{5,6}:café|naïve',
      '_e{10,4}:two\\nlines|text',
      '_e{1,1}:t|x|h:a_b|k:k_v',
      '_sc|svc_x|0|h:h_1|m:line1\\nline2',
    ]);
  });

  it('a child shares its parent\'s buffer and its byte count: packets stay within maxBufferSize (hot-shots counts per client)', async () => {
    const calls: Calls = (c) => {
      c.childClient({ prefix: 'child' }).increment('a'.repeat(40));
      c.increment('b'.repeat(40));
    };
    const theirs = await runUdp('hot-shots', { maxBufferSize: 64 }, calls, 2);
    const ours = await runUdp('ours', { maxBufferSize: 64 }, calls, 2);
    expect(theirs.packets).toEqual([`child.${'a'.repeat(40)}:1|c\n${'b'.repeat(40)}:1|c`]); // 93 bytes
    expect(ours.packets).toEqual([`child.${'a'.repeat(40)}:1|c`, `${'b'.repeat(40)}:1|c`]);
  });

  it("hot-shots' aggregation option is accepted with a warning: every call is still sent as a line", async () => {
    const print = vi.spyOn(console, 'error').mockImplementation(noop);
    const theirs = client('hot-shots', { mock: true, aggregation: true });
    const ours = client('ours', { mock: true, aggregation: true });
    for (const c of [theirs, ours]) {
      c.increment('a');
      c.increment('a', 2);
    }
    expect(theirs.mockBuffer).toEqual([]); // summed until its aggregation flush
    expect(ours.mockBuffer).toEqual(['a:1|c', 'a:2|c']);
    expect(print.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("'aggregation' is not supported")]);
    theirs.close();
  });

  it('after close(), a call is not queued silently: the callback gets ERR_STATSD_CLOSED', async () => {
    const r = recorder();
    const hs = client('hot-shots', { host: '127.0.0.1', port: 9, maxBufferSize: 1432 });
    await closed(hs);
    hs.increment('late', 1, r.cb);
    const ours = client('ours', { host: '127.0.0.1', port: 9, maxBufferSize: 1432 });
    await closed(ours);
    ours.increment('late', 1, r.cb);
    expect(r.calls).toEqual([[], ['Error:ERR_STATSD_CLOSED']]);
    expect(ours.stats.dropped).toBe(1);
  });

  it('telegraf events without a callback or errorHandler: hot-shots throws, ours does not', () => {
    const print = vi.spyOn(console, 'error').mockImplementation(noop);
    expect(() => client('hot-shots', { mock: true, telegraf: true }).event('e')).toThrow('Not supported by Telegraf');
    expect(() => client('ours', { mock: true, telegraf: true }).event('e')).not.toThrow();
    expect(print.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('UDP goes over a connected socket: a receiver that is not there shows as ECONNREFUSED (hot-shots never learns it)', async () => {
    const port = await (async () => {
      const r = await UdpReceiver.start();
      const p = r.port;
      await r.close();
      return p;
    })();
    const seen = async (lib: Lib) => {
      const errors: string[] = [];
      const c = client(lib, { host: '127.0.0.1', port, errorHandler: (e: NodeJS.ErrnoException) => errors.push(String(e.code)) });
      for (let i = 0; i < 5; i++) {
        c.increment('a');
        await sleep(20);
      }
      await closed(c);
      return errors;
    };
    expect(await seen('hot-shots')).toEqual([]);
    expect(await seen('ours')).toContain('ECONNREFUSED');
  });

  it('with no host, port, protocol or DD_* variable, FLUX_FRIPP_STATSD (then STATSD_HOST) names the endpoint', async () => {
    const r = await UdpReceiver.start();
    const c = new StatsD({ env: { FLUX_FRIPP_STATSD: `127.0.0.1:${r.port}` } });
    c.increment('fripp');
    await closed(c);
    await waitFor(() => r.lines.length >= 1, 3000, 'the line');
    expect(r.lines).toEqual(['fripp:1|c']);
    await r.close();
  });
});

describe('module shapes, as hot-shots exports them', () => {
  // dist/ is the built package (`npm run build`), resolved by name like a user would
  const root = path.join(__dirname, '..', '..');
  const requireHere = createRequire(path.join(root, 'package.json'));

  it("require('statsd-native/hot-shots') is the class, with .StatsD and .default (as require('hot-shots'))", () => {
    const theirs = requireHere('hot-shots');
    const ours = requireHere('statsd-native/hot-shots');
    for (const m of [theirs, ours]) {
      expect(typeof m).toBe('function');
      expect(m.StatsD).toBe(m);
    }
    expect(ours.default).toBe(ours);
    expect(requireHere('statsd-native').StatsD).toBe(ours);
    expect(new ours({ mock: true }).mockBuffer).toEqual([]);
  });

  it("import StatsD, { StatsD } from 'statsd-native/hot-shots' (as from 'hot-shots')", async () => {
    const { execFileSync } = await import('node:child_process');
    const code = `
      import Theirs, { StatsD as TheirsNamed } from 'hot-shots';
      import Ours, { StatsD as OursNamed } from 'statsd-native/hot-shots';
      import { StatsD as Main } from 'statsd-native';
      console.log(Theirs === TheirsNamed, Ours === OursNamed, Ours === Main, new Ours({ mock: true }).mockBuffer.length);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('true true true 0');
  });
});
