// The emitter over real sockets (DESIGN §6): exact wire lines over UDP v4/v6,
// TCP, unix datagram and unix stream; the packet limit; negative gauges; the
// count convention; local aggregation, timer sampling and sample rates checked
// by our Aggregator on the receiving side; call validation; flushInterval 0.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Aggregator, Emitter, type EmitterOptions, type MetricInput, StatsdError, formatLine, parse } from '../../src';
import { Random, randomName } from '../helpers/random';
import { StreamReceiver, UdpReceiver, UnixDatagramReceiver, sleep, tempDir, waitFor } from '../helpers/receivers';

// ------------------------------------------------------------------ helpers

const open: Emitter[] = [];

/** An emitter closed after the test. Long flushInterval: tests flush explicitly. */
function emitter(options: EmitterOptions): Emitter {
  const e = new Emitter({ flushInterval: 60_000, env: {}, ...options });
  open.push(e);
  return e;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

/** Every call type once, with prefix 'app'; EXPECTED is what must arrive. */
function emitAll(e: Emitter): void {
  e.increment('reqs');
  e.increment('reqs', 4);
  e.decrement('errs', 2);
  e.gauge('temp', 21.5);
  e.gauge('neg', -5);
  e.gaugeAdd('conns', 3);
  e.gaugeAdd('conns', -1);
  e.timing('lat', 12.5);
  e.timing('lat', 3);
  e.histogram('size', 512);
  e.distribution('dist', 0.25);
  e.set('users', 'alice');
  e.set('users', 'bob');
  e.set('users', 'alice');
  e.set('ids', 7);
  e.count('total', 42);
  e.increment('tagged', 1, 1, ['env:prod', 'az:eu-1']);
  e.timing('tagged', 2, 1, ['env:prod']);
}

const EXPECTED = [
  'app.reqs:5|c',
  'app.errs:-2|c',
  'app.temp:21.5|g',
  'app.neg:0|g',
  'app.neg:-5|g',
  'app.conns:+2|g',
  'app.lat:12.5|ms',
  'app.lat:3|ms',
  'app.size:512|h',
  'app.dist:0.25|d',
  'app.users:alice|s',
  'app.users:bob|s',
  'app.ids:7|s',
  'app.total:42|C',
  'app.tagged:1|c|#env:prod,az:eu-1',
  'app.tagged:2|ms|#env:prod',
];

/**
 * Every negative gauge line `x:-N|g` directly follows `x:0|g` in the same
 * packet. Only for packets without relative decrements (gaugeAdd(x, -N)),
 * which look the same on the wire and have no zero before them.
 */
function expectNegativeGaugesPaired(packetLines: string[]): void {
  for (let i = 0; i < packetLines.length; i++) {
    const m = /^([^:]+):-[^|]*\|g(\|.*)?$/.exec(packetLines[i]!);
    if (m === null) continue;
    if (packetLines[i - 1] === `${m[1]}:0|g${m[2] ?? ''}`) continue;
    throw new Error(`negative gauge line ${JSON.stringify(packetLines[i])} without "0|g" before it in ${JSON.stringify(packetLines)}`);
  }
}

/** Every multi-line unit (a negative gauge's "0|g" + "-N|g") arrived whole, in one packet, in order. */
function expectUnitsWhole(packets: string[], units: string[]): void {
  const adjacent = new Set<string>();
  for (const p of packets) {
    const lines = p.split('\n');
    for (let i = 1; i < lines.length; i++) adjacent.add(`${lines[i - 1]}\n${lines[i]}`);
  }
  for (const u of units) {
    if (u.includes('\n') && !adjacent.has(u)) throw new Error(`unit ${JSON.stringify(u)} did not arrive whole in one packet`);
  }
}

async function quiet(ms = 30): Promise<void> {
  await sleep(ms);
}

// ------------------------------------------------------------------ transports

describe('exact wire lines per transport', () => {
  it('UDP v4: one datagram, the expected lines, no trailing newline', async () => {
    const udp = await UdpReceiver.start('udp4');
    try {
      const e = emitter({ endpoint: udp.endpoint, prefix: 'app' });
      expect(e.enabled).toBe(true);
      expect(e.endpoint).toMatchObject({ transport: 'udp', host: '127.0.0.1', port: udp.port });
      emitAll(e);
      await e.flush();
      await waitFor(() => udp.datagrams.length > 0, 2000, 'a datagram');
      await quiet();
      expect(udp.datagrams).toHaveLength(1);
      const text = udp.texts[0]!;
      expect(text.endsWith('\n')).toBe(false);
      const lines = text.split('\n');
      expect([...lines].sort()).toEqual([...EXPECTED].sort());
      expectNegativeGaugesPaired(lines);
      expect(e.stats).toEqual({ sent: EXPECTED.length, dropped: 0, packets: 1, bytes: Buffer.byteLength(text), errors: 0, keys: expect.any(Number), keysDropped: 0 });
    } finally {
      await udp.close();
    }
  });

  it('UDP v6 to [::1]', async (ctx) => {
    let udp: UdpReceiver;
    try {
      udp = await UdpReceiver.start('udp6');
    } catch (error) {
      ctx.skip(`this machine cannot bind UDP on ::1 (${(error as Error).message})`);
      return;
    }
    try {
      const e = emitter({ endpoint: udp.endpoint, prefix: 'app' });
      expect(e.endpoint).toMatchObject({ transport: 'udp', host: '::1', port: udp.port });
      emitAll(e);
      await e.flush();
      await waitFor(() => udp.datagrams.length > 0, 2000, 'a datagram over v6');
      await quiet();
      expect(udp.datagrams).toHaveLength(1);
      expect(udp.texts[0]!.split('\n').sort()).toEqual([...EXPECTED].sort());
      expect(e.stats.errors).toBe(0);
    } finally {
      await udp!.close();
    }
  });

  it('TCP: newline-framed, every packet ends in "\\n"', async () => {
    const tcp = await StreamReceiver.start({ port: 0 });
    try {
      const e = emitter({ endpoint: `tcp://127.0.0.1:${tcp.port}`, prefix: 'app' });
      emitAll(e);
      await e.flush();
      await waitFor(() => tcp.lines.length >= EXPECTED.length, 2000, 'the TCP lines');
      await quiet();
      const text = tcp.text;
      expect(text.endsWith('\n')).toBe(true);
      expect(text.slice(0, -1).split('\n').sort()).toEqual([...EXPECTED].sort());
      expectNegativeGaugesPaired(text.slice(0, -1).split('\n'));
      expect(tcp.connections).toBe(1);
      expect(e.stats).toMatchObject({ sent: EXPECTED.length, dropped: 0, bytes: Buffer.byteLength(text), errors: 0 });
    } finally {
      await tcp.close();
    }
  });

  it('TCP: many small packets concatenate into whole lines (framing)', async () => {
    const tcp = await StreamReceiver.start({ port: 0 });
    try {
      const e = emitter({ endpoint: `tcp://127.0.0.1:${tcp.port}`, maxPacketBytes: 40 });
      for (let i = 0; i < 300; i++) e.increment(`k${i}`, i + 1);
      await e.flush();
      await waitFor(() => tcp.lines.length >= 300, 3000, '300 TCP lines');
      expect(tcp.text.endsWith('\n')).toBe(true);
      const batch = parse(tcp.text);
      expect(batch.errors.total).toBe(0);
      expect(batch.length).toBe(300);
      const got = new Map(batch.toArray().map((m) => [m.name, m.value]));
      for (let i = 0; i < 300; i++) expect(got.get(`k${i}`)).toBe(i + 1);
      expect(e.stats.packets).toBeGreaterThan(1);
      expect(e.stats.sent).toBe(300);
    } finally {
      await tcp.close();
    }
  });

  it('unix datagram: one datagram at the socket path', async () => {
    const dir = tempDir();
    const rx = new UnixDatagramReceiver(path.join(dir, 'statsd.sock'));
    try {
      const e = emitter({ endpoint: `unix://${rx.path}`, prefix: 'app' });
      expect(e.endpoint).toMatchObject({ transport: 'unix', path: rx.path });
      emitAll(e);
      await e.flush();
      await waitFor(() => rx.datagrams.length > 0, 2000, 'a unix datagram');
      await quiet();
      expect(rx.datagrams).toHaveLength(1);
      const lines = rx.texts[0]!.split('\n');
      expect([...lines].sort()).toEqual([...EXPECTED].sort());
      expectNegativeGaugesPaired(lines);
      expect(e.stats).toMatchObject({ sent: EXPECTED.length, dropped: 0, packets: 1, errors: 0 });
    } finally {
      rx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unix stream: newline-framed at the socket path', async () => {
    const dir = tempDir();
    const socketPath = path.join(dir, 'statsd.sock');
    const rx = await StreamReceiver.start({ path: socketPath });
    try {
      const e = emitter({ endpoint: `unixstream://${socketPath}`, prefix: 'app' });
      emitAll(e);
      await e.flush();
      await waitFor(() => rx.lines.length >= EXPECTED.length, 2000, 'the unix stream lines');
      await quiet();
      expect(rx.text.endsWith('\n')).toBe(true);
      expect(rx.text.slice(0, -1).split('\n').sort()).toEqual([...EXPECTED].sort());
      expect(e.stats).toMatchObject({ sent: EXPECTED.length, dropped: 0, errors: 0 });
    } finally {
      await rx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ on one UDP receiver

describe('over UDP', () => {
  // a receiver per test, so a late packet of one test never lands in another
  let udp: UdpReceiver;
  beforeEach(async () => {
    udp = await UdpReceiver.start('udp4');
  });
  afterEach(async () => {
    await udp.close();
  });

  async function received(e: Emitter, atLeast = 1): Promise<string[]> {
    await e.flush();
    await waitFor(() => udp.datagrams.length >= atLeast, 2000, `${atLeast} datagram(s)`);
    await quiet();
    return udp.lines;
  }

  it('globalTags follow the call tags', async () => {
    const e = emitter({ endpoint: udp.endpoint, globalTags: ['svc:api', 'v:2'] });
    e.increment('a');
    e.gauge('b', 1, ['env:prod']);
    expect((await received(e)).sort()).toEqual(['a:1|c|#svc:api,v:2', 'b:1|g|#env:prod,svc:api,v:2']);
  });

  it('the same name with other tags or another type is another key', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.increment('x');
    e.increment('x', 1, 1, ['a:1']);
    e.increment('x', 1, 1, ['a:2']);
    e.increment('x', 1, 1, ['a:1']);
    e.gauge('x', 3);
    e.timing('x', 4);
    e.histogram('x', 5);
    e.distribution('x', 6);
    e.count('x', 7);
    e.set('x', 'm');
    expect((await received(e)).sort()).toEqual(
      ['x:1|c', 'x:2|c|#a:1', 'x:1|c|#a:2', 'x:3|g', 'x:4|ms', 'x:5|h', 'x:6|d', 'x:7|C', 'x:m|s'].sort(),
    );
  });

  it('handles write to the same keys as the calls', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    const c = e.counter('hits');
    c.add();
    c.add(4);
    e.increment('hits', 10);
    const g = e.gaugeHandle('level');
    g.set(10);
    g.add(-3);
    e.gaugeHandle('drift').add(-2);
    const t = e.timer('op');
    t.record(5);
    expect(t.time(() => 'r')).toBe('r');
    const elapsed = t.start()();
    expect(elapsed).toBeGreaterThanOrEqual(0);
    await t.time(async () => {
      await sleep(15);
    });
    const lines = await received(e);
    expect(lines).toContain('hits:15|c');
    expect(lines).toContain('level:7|g');
    expect(lines).toContain('drift:-2|g');
    const op = lines.filter((l) => l.startsWith('op:')).map((l) => parse(l).at(0)!);
    expect(op).toHaveLength(4);
    expect(op.every((m) => m.type === 'ms' && m.sampleRate === 1)).toBe(true);
    expect(op[0]!.value).toBe(5);
    // the async timing covers the 15 ms sleep
    expect(Math.max(...op.map((m) => m.value as number))).toBeGreaterThanOrEqual(14);
  });

  it('a handle timer records a throwing function and rethrows', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    expect(() =>
      e.timer('boom').time(() => {
        throw new Error('x');
      }),
    ).toThrow('x');
    const lines = await received(e);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^boom:[0-9.e-]+\|ms$/);
  });

  // ---------------------------------------------------------- packet limit

  it('property: random metrics and limits — no datagram over the limit, nothing lost', async () => {
    const r = new Random(0x5eed);
    const MEMBER_CHARS = [...'abcdefxyz0189', ':', ' ', '@', '#', ',', '.', '-', 'é', '日', '😀'];
    const TAG_CHARS = [...'abcdefghij0123', ':', '_', '-', '.', '/', 'é'];
    const VALUES = [0, 1, -1, 7, 12.5, -3.25, 1e21, -1e-7, 0.1, 123456789.125, 2 ** 53, -42];
    const word = (chars: string[], min: number, max: number) => {
      let s = '';
      for (let n = r.int(min, max); n > 0; n--) s += r.pick(chars);
      return s;
    };
    let droppedTotal = 0;
    let pairsTotal = 0;
    for (let trial = 0; trial < 12; trial++) {
      udp.clear();
      const limit = r.bool(0.5) ? r.int(16, 160) : r.int(160, 1432);
      const prefix = r.bool(0.3) ? 'p.q' : '';
      const e = emitter({ endpoint: udp.endpoint, maxPacketBytes: limit, prefix });
      const units: string[] = []; // what each call must put on the wire, as one unit
      const count = r.int(50, 300);
      for (let i = 0; i < count; i++) {
        const name = `${randomName(r, r.bool(0.05) ? 400 : 20)}_${i}`;
        const tags = r.bool(0.3) ? Array.from({ length: r.int(1, 3) }, () => word(TAG_CHARS, 1, 10)) : undefined;
        const value = r.pick(VALUES);
        const kind = r.int(0, 7);
        let input: MetricInput;
        switch (kind) {
          case 0:
            e.increment(name, value, 1, tags);
            input = { name, type: 'c', value };
            break;
          case 1:
            e.gauge(name, value, tags);
            input = { name, type: 'g', value };
            break;
          case 2:
            e.gaugeAdd(name, value, tags);
            input = { name, type: 'g', value, relative: true };
            break;
          case 3:
            e.timing(name, Math.abs(value), 1, tags);
            input = { name, type: 'ms', value: Math.abs(value) };
            break;
          case 4:
            e.histogram(name, value, 1, tags);
            input = { name, type: 'h', value };
            break;
          case 5:
            e.distribution(name, value, 1, tags);
            input = { name, type: 'd', value };
            break;
          case 6: {
            const member = word(MEMBER_CHARS, 1, 12);
            e.set(name, member, tags);
            input = { name, type: 's', value: member };
            break;
          }
          default:
            e.count(name, Math.abs(value), tags);
            input = { name, type: 'C', value: Math.abs(value) };
        }
        units.push(formatLine({ ...input, name: (prefix ? `${prefix}.` : '') + input.name, tags: tags ?? [] }));
      }
      const fits = units.filter((u) => Buffer.byteLength(u) <= limit);
      droppedTotal += units.length - fits.length;
      pairsTotal += fits.filter((u) => u.includes('\n')).length;
      const expectedLines = fits.flatMap((u) => u.split('\n'));
      await e.flush();
      await waitFor(
        () => udp.lines.length >= expectedLines.length,
        3000,
        `trial ${trial}: ${expectedLines.length} lines under limit ${limit} (got ${udp.lines.length})`,
      );
      await quiet(20);
      const context = `trial ${trial}, maxPacketBytes ${limit}`;
      expectUnitsWhole(udp.texts, fits);
      for (const d of udp.datagrams) {
        expect(d.length, context).toBeLessThanOrEqual(limit);
        const lines = d.toString('utf8').split('\n');
        const batch = parse(d);
        expect(batch.errors.total, `${context}: ${JSON.stringify(batch.errors.examples)}`).toBe(0);
        expect(batch.lines, context).toBe(lines.length);
      }
      expect([...udp.lines].sort(), context).toEqual([...expectedLines].sort());
      expect(e.stats, context).toMatchObject({ sent: expectedLines.length, packets: udp.datagrams.length, errors: 0 });
      // dropped: in wire lines (a negative gauge pair is two) or, as now, in
      // calls; which one is pinned by 'stats count a dropped negative-gauge pair…'
      const over = units.filter((u) => Buffer.byteLength(u) > limit);
      const overLines = over.reduce((n, u) => n + u.split('\n').length, 0);
      expect([over.length, overLines], context).toContain(e.stats.dropped);
      await e.close();
    }
    // the seed exercises both rules: lines over the limit, and pairs that must stay whole
    expect(droppedTotal).toBeGreaterThan(0);
    expect(pairsTotal).toBeGreaterThan(10);
  });

  it('a line longer than the limit is dropped and counted, never sent; its neighbours go', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    const long = 'x'.repeat(1500);
    e.increment('before');
    e.increment(long);
    e.timing(long, 1);
    e.increment('after');
    const lines = await received(e);
    expect(lines.sort()).toEqual(['after:1|c', 'before:1|c']);
    expect(udp.datagrams.every((d) => d.length <= 1432)).toBe(true);
    expect(e.stats).toMatchObject({ sent: 2, dropped: 2, errors: 0 });
  });

  // BUG (pinned): stats count wire lines when sent (a negative gauge is two:
  // "0|g" and "-N|g") but one when the pair is too long for a packet, so
  // sent + dropped no longer adds up to the lines the calls produced.
  it('stats count a dropped negative-gauge pair as the two lines it is', async () => {
    const e = emitter({ endpoint: udp.endpoint, maxPacketBytes: 24 });
    e.gauge('n', -5); // "n:0|g\nn:-5|g": 12 bytes, fits
    e.gauge('longer.name', -5); // "longer.name:0|g\nlonger.name:-5|g": 32 bytes, dropped whole
    await received(e);
    expect(udp.lines).toEqual(['n:0|g', 'n:-5|g']);
    expect(e.stats.sent).toBe(2);
    expect(e.stats.dropped).toBe(2);
  });

  it('maxPacketBytes is exact: a line of exactly the limit is sent, one byte more is dropped', async () => {
    const e = emitter({ endpoint: udp.endpoint, maxPacketBytes: 32 });
    const fits = 'a'.repeat(32 - ':1|c'.length);
    const over = 'b'.repeat(33 - ':1|c'.length);
    e.increment(fits);
    e.increment(over);
    const lines = await received(e);
    expect(lines).toEqual([`${fits}:1|c`]);
    expect(udp.datagrams[0]!.length).toBe(32);
    expect(e.stats.dropped).toBe(1);
  });

  // ---------------------------------------------------------- negative gauges

  it('a negative gauge arrives as "0|g" then "-N|g" in the same datagram', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.gauge('temp', -5);
    e.gauge('tagged', -0.5, ['k:v']);
    e.gauge('later', 4);
    e.gaugeAdd('later', -10); // absolute 4 - 10 = -6
    e.gaugeAdd('delta', -3); // relative: a decrement on purpose
    e.gauge('zero', -0);
    const lines = await received(e);
    expect(udp.datagrams).toHaveLength(1);
    expect(lines).toEqual(
      expect.arrayContaining(['temp:0|g', 'temp:-5|g', 'tagged:0|g|#k:v', 'tagged:-0.5|g|#k:v', 'later:0|g', 'later:-6|g']),
    );
    expect(lines.indexOf('temp:-5|g')).toBe(lines.indexOf('temp:0|g') + 1);
    expect(lines.indexOf('later:-6|g')).toBe(lines.indexOf('later:0|g') + 1);
    expect(lines).toContain('delta:-3|g');
    expect(lines).not.toContain('delta:0|g');
    expect(lines).toContain('zero:0|g');
    expect(lines.filter((l) => l.startsWith('zero:'))).toEqual(['zero:0|g']);
  });

  it('negative gauges near packet boundaries are never split from their "0|g"', async () => {
    for (const limit of [24, 25, 26, 31, 40, 57]) {
      udp.clear();
      const e = emitter({ endpoint: udp.endpoint, maxPacketBytes: limit });
      const names = Array.from({ length: 40 }, (_, i) => `g${'x'.repeat(i % 5)}${i}`);
      names.forEach((n, i) => e.gauge(n, i % 2 ? -(i + 1) : i + 1));
      await e.flush();
      await quiet(40);
      for (const d of udp.datagrams) {
        expect(d.length).toBeLessThanOrEqual(limit);
        expectNegativeGaugesPaired(d.toString().split('\n'));
      }
      // every gauge whose pair fits in `limit` arrived; a pair that does not fit is dropped whole
      for (const [i, n] of names.entries()) {
        const unit = i % 2 ? `${n}:0|g\n${n}:-${i + 1}|g` : `${n}:${i + 1}|g`;
        const got = udp.lines.filter((l) => l.startsWith(`${n}:`));
        if (unit.length <= limit) expect(got, `limit ${limit}`).toEqual(unit.split('\n'));
        else expect(got, `limit ${limit}: ${n} must not arrive half`).toEqual([]);
      }
      await e.close();
    }
  });

  // ---------------------------------------------------------- conventions

  it('count(): brubeck sends the totals as "C"', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    const packets: string[][] = [];
    for (const total of [10, 15, 15, 3]) {
      udp.clear();
      e.count('jobs', total);
      packets.push(await received(e));
    }
    expect(packets).toEqual([['jobs:10|C'], ['jobs:15|C'], ['jobs:15|C'], ['jobs:3|C']]);
  });

  it('count(): etsy sends the changes as "c" (a drop is a restart: the new total)', async () => {
    const e = emitter({ endpoint: udp.endpoint, convention: 'etsy' });
    const packets: string[][] = [];
    for (const total of [10, 15, 15, 3, 4]) {
      udp.clear();
      e.count('jobs', total);
      packets.push(await received(e));
    }
    expect(packets).toEqual([['jobs:10|c'], ['jobs:5|c'], ['jobs:0|c'], ['jobs:3|c'], ['jobs:1|c']]);
  });

  it('etsy convention changes only count(): increments stay "c", gauges "g"', async () => {
    const e = emitter({ endpoint: udp.endpoint, convention: 'etsy' });
    e.increment('a', 2);
    e.gauge('g', -1);
    e.count('t', 5, ['k:v']);
    expect((await received(e)).sort()).toEqual(['a:2|c', 'g:-1|g', 'g:0|g', 't:5|c|#k:v']);
  });

  // ---------------------------------------------------------- aggregation

  it('N increments become one line with the sum; a gauge its last value; a set its members', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    for (let i = 0; i < 1000; i++) e.increment('n');
    for (let i = 0; i < 250; i++) e.decrement('n', 2);
    for (let i = 0; i < 300; i++) e.gauge('last', i);
    for (let i = 0; i < 100; i++) e.gaugeAdd('sum', 1);
    for (let i = 0; i < 500; i++) e.set('uniq', i % 7);
    const lines = await received(e);
    expect(lines.filter((l) => l.startsWith('n:'))).toEqual(['n:500|c']);
    expect(lines.filter((l) => l.startsWith('last:'))).toEqual(['last:299|g']);
    expect(lines.filter((l) => l.startsWith('sum:'))).toEqual(['sum:+100|g']);
    expect(lines.filter((l) => l.startsWith('uniq:')).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((m) => `uniq:${m}|s`));
  });

  it('each interval sends only what changed in it', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.increment('a');
    e.gauge('g', 1);
    e.timing('t', 1);
    e.set('s', 'x');
    expect(await received(e)).toHaveLength(4);
    udp.clear();
    e.increment('a', 2);
    expect(await received(e)).toEqual(['a:2|c']);
    udp.clear();
    await e.flush();
    await quiet(40);
    expect(udp.datagrams).toHaveLength(0);
  });

  it('timings beyond maxSamplesPerKey: the kept lines carry rates with Σ 1/rate = calls', async () => {
    const e = emitter({ endpoint: udp.endpoint, maxSamplesPerKey: 64 });
    const N = 1000;
    for (let i = 0; i < N; i++) e.timing('t', i);
    for (let i = 0; i < 10; i++) e.timing('few', i); // under the cap: all kept, no rate
    const lines = await received(e);
    const t = parse(lines.filter((l) => l.startsWith('t:')).join('\n')).toArray();
    expect(t).toHaveLength(64);
    const sum = t.reduce((s, m) => s + 1 / m.sampleRate, 0);
    expect(Math.abs(sum - N)).toBeLessThan(1e-6 * N);
    for (const m of t) expect(Number.isInteger(m.value) && (m.value as number) >= 0 && (m.value as number) < N).toBe(true);
    expect(new Set(t.map((m) => m.value)).size).toBe(64);
    // a reservoir over all calls, not the first 64: P(all kept < 500) = 2^-64
    expect(Math.max(...t.map((m) => m.value as number))).toBeGreaterThanOrEqual(500);
    expect(lines.filter((l) => l.startsWith('few:')).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `few:${i}|ms`).sort(),
    );
  });

  it('timings over the cap with a call sample rate: Σ 1/rate = calls / callRate, checked by our Aggregator', async () => {
    // rate 0.5 on every call; cap 100 < kept calls → rates 0.5 · 100 / kept
    const e = emitter({ endpoint: udp.endpoint, maxSamplesPerKey: 100 });
    const N = 4000;
    for (let i = 0; i < N; i++) e.timing('t', 1, 0.5);
    await received(e);
    const agg = new Aggregator({ flushInterval: 1000 });
    for (const d of udp.datagrams) agg.ingest(d);
    const count = carbonValue(agg.flush({ timestamp: 1 }).carbon, 't.count');
    // kept calls K ~ Binomial(4000, 0.5): sd(2K) = 2·√1000 ≈ 63; 6 sd
    expect(Math.abs(count - N)).toBeLessThan(6 * 2 * Math.sqrt(N * 0.25));
    expect(udp.lines.filter((l) => l.startsWith('t:'))).toHaveLength(100);
  });

  // ---------------------------------------------------------- sample rates

  it('sampleRate < 1: the server-side count equals the calls (6 sigma)', async () => {
    const e = emitter({ endpoint: udp.endpoint, maxSamplesPerKey: 1 << 16 });
    const N = 100_000;
    const p = 0.1;
    for (let i = 0; i < N; i++) e.increment('hits', 1, p);
    const M = 20_000;
    const q = 0.25;
    for (let i = 0; i < M; i++) e.timing('lat', 3, q);
    for (let i = 0; i < M; i++) e.histogram('size', 3, q);
    await e.flush();
    await waitFor(() => udp.lines.some((l) => l.startsWith('hits:')), 2000, 'the hits line');
    await waitFor(() => udp.lines.filter((l) => l.startsWith('size:')).length > 0, 2000, 'the size lines');
    await quiet(50);
    const agg = new Aggregator({ flushInterval: 1000 });
    for (const d of udp.datagrams) expect(agg.ingest(d).errors).toBe(0);
    const carbon = agg.flush({ timestamp: 1 }).carbon;
    // count = (1/p)·K, K ~ Binomial(N, p): sd = √(N(1-p)/p)
    expect(Math.abs(carbonValue(carbon, 'hits') - N)).toBeLessThan(6 * Math.sqrt((N * (1 - p)) / p));
    const sd = Math.sqrt((M * (1 - q)) / q);
    expect(Math.abs(carbonValue(carbon, 'lat.count') - M)).toBeLessThan(6 * sd);
    expect(Math.abs(carbonValue(carbon, 'size.count') - M)).toBeLessThan(6 * sd);
    // the kept timings carry the rate: every line says @0.25
    expect(udp.lines.filter((l) => l.startsWith('lat:')).every((l) => l === 'lat:3|ms|@0.25')).toBe(true);
  });

  // ---------------------------------------------------------- validation

  it('invalid values throw StatsdError at the call and nothing is sent', async () => {
    const e = emitter({ endpoint: udp.endpoint, flushInterval: 0 });
    const calls: [string, () => void][] = [
      ['increment NaN', () => e.increment('a', NaN)],
      ['increment Infinity', () => e.increment('a', Infinity)],
      ['increment "5"', () => e.increment('a', '5' as unknown as number)],
      ['increment null', () => e.increment('a', null as unknown as number)],
      ['increment rate 0', () => e.increment('a', 1, 0)],
      ['increment rate -1', () => e.increment('a', 1, -1)],
      ['increment rate 2', () => e.increment('a', 1, 2)],
      ['decrement NaN', () => e.decrement('a', NaN)],
      ['count undefined', () => e.count('a', undefined as unknown as number)],
      ['count "5"', () => e.count('a', '5' as unknown as number)],
      ['gauge undefined', () => e.gauge('a', undefined as unknown as number)],
      ['gauge -Infinity', () => e.gauge('a', -Infinity)],
      ['gauge 5n', () => e.gauge('a', 5n as unknown as number)],
      ['gaugeAdd NaN', () => e.gaugeAdd('a', NaN)],
      ['timing "5"', () => e.timing('a', '5' as unknown as number)],
      ['timing rate NaN', () => e.timing('a', 1, NaN)],
      ['histogram Infinity', () => e.histogram('a', Infinity)],
      ['distribution undefined', () => e.distribution('a', undefined as unknown as number)],
      ['set member with |', () => e.set('a', 'x|y')],
      ['set member with newline', () => e.set('a', 'x\ny')],
      ['set member empty', () => e.set('a', '')],
      ['set member NaN', () => e.set('a', NaN)],
      ['set member object', () => e.set('a', {} as unknown as string)],
      ['name with a space', () => e.increment('a b')],
      ['name with ":"', () => e.increment('a:b')],
      ['name with "|"', () => e.gauge('a|b', 1)],
      ['name with newline', () => e.timing('a\nb', 1)],
      ['empty name', () => e.increment('')],
      ['name ending in "."', () => e.set('a.', 'x')],
      ['name not a string', () => e.increment(5 as unknown as string)],
      ['tag with a space', () => e.increment('a', 1, 1, ['bad tag'])],
      ['tag with ","', () => e.gauge('a', 1, ['a,b'])],
      ['empty tag', () => e.timing('a', 1, 1, [''])],
    ];
    const notThrowing: string[] = [];
    for (const [what, call] of calls) {
      try {
        call();
        notThrowing.push(what);
      } catch (error) {
        if (!(error instanceof StatsdError)) notThrowing.push(`${what} (threw ${String(error)})`);
      }
    }
    expect(notThrowing).toEqual([]);
    await sleep(50);
    await e.flush();
    await quiet(30);
    expect(udp.texts).toEqual([]);
    e.increment('ok');
    await waitFor(() => udp.datagrams.length > 0, 2000, 'the valid line');
    await quiet();
    expect(udp.texts).toEqual(['ok:1|c']);
    expect(e.stats).toMatchObject({ sent: 1, dropped: 0, errors: 0 });
  });

  it('the error names its reason code', () => {
    const e = emitter({ endpoint: udp.endpoint });
    expect(() => e.gauge('a', NaN)).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_VALUE' }));
    expect(() => e.increment('a', 1, 3)).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_RATE' }));
    expect(() => e.increment('a b')).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_NAME' }));
    expect(() => e.increment('a', 1, 1, ['x y'])).toThrow(expect.objectContaining({ code: 'ERR_STATSD_BAD_TAG' }));
  });

  // ---------------------------------------------------------- flushInterval 0

  it('flushInterval 0: each synchronous batch of calls goes out as one packet, without flush()', async () => {
    const e = emitter({ endpoint: udp.endpoint, flushInterval: 0 });
    for (let i = 0; i < 30; i++) e.increment(`k${i}`);
    e.gauge('g', 2);
    e.timing('t', 3);
    e.set('s', 'm');
    await waitFor(() => udp.datagrams.length >= 1, 2000, 'the first batch');
    await quiet(30);
    expect(udp.datagrams).toHaveLength(1);
    expect(udp.lines).toHaveLength(33);
    e.increment('second');
    e.increment('second');
    e.gauge('g', 5);
    await waitFor(() => udp.datagrams.length >= 2, 2000, 'the second batch');
    await quiet(30);
    expect(udp.datagrams).toHaveLength(2);
    expect(udp.texts[1]!.split('\n').sort()).toEqual(['g:5|g', 'second:2|c']);
  });

  it('flushInterval > 0: the timer flushes without flush()', async () => {
    const e = emitter({ endpoint: udp.endpoint, flushInterval: 50 });
    e.increment('tick', 3);
    await waitFor(() => udp.datagrams.length >= 1, 2000, 'the interval flush');
    expect(udp.texts).toEqual(['tick:3|c']);
  });

  it('close() sends what is pending; later calls are ignored', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.increment('pending', 2);
    await e.close();
    await waitFor(() => udp.datagrams.length >= 1, 2000, 'the closing flush');
    expect(udp.texts).toEqual(['pending:2|c']);
    e.increment('late');
    e.gauge('late', 1);
    await e.flush();
    await e.close();
    await quiet(40);
    expect(udp.texts).toEqual(['pending:2|c']);
  });

  it('Symbol.asyncDispose closes (and flushes)', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.timing('disposed', 1);
    await e[Symbol.asyncDispose]();
    await waitFor(() => udp.datagrams.length >= 1, 2000, 'the dispose flush');
    expect(udp.texts).toEqual(['disposed:1|ms']);
    e.timing('disposed', 2);
    await e.flush();
    await quiet(40);
    expect(udp.datagrams).toHaveLength(1);
  });

  // ---------------------------------------------------------- pinned bugs

  it('handles with flushInterval 0 are sent without flush(), like the calls', async () => {
    const e = emitter({ endpoint: udp.endpoint, flushInterval: 0 });
    e.counter('hc').add(2);
    e.gaugeHandle('hg').set(3);
    e.timer('ht').record(4);
    await sleep(300);
    expect(udp.lines.sort()).toEqual(['hc:2|c', 'hg:3|g', 'ht:4|ms']);
  });

  it('a handle refuses a bad value at the call, as the calls do', () => {
    const e = emitter({ endpoint: udp.endpoint });
    const accepted: string[] = [];
    const tries: [string, () => void][] = [
      ['counter.add(NaN)', () => e.counter('c').add(NaN)],
      ['counter.add("5")', () => e.counter('c').add('5' as unknown as number)],
      ['gaugeHandle.set(undefined)', () => e.gaugeHandle('g').set(undefined as unknown as number)],
      ['gaugeHandle.add(Infinity)', () => e.gaugeHandle('g').add(Infinity)],
      ['timer.record(NaN)', () => e.timer('t').record(NaN)],
    ];
    for (const [what, call] of tries) {
      try {
        call();
        accepted.push(what);
      } catch (error) {
        if (!(error instanceof StatsdError)) accepted.push(`${what} (threw ${String(error)})`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('one bad handle value never costs the other metrics of the flush their delivery', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    e.increment('ok', 1);
    e.gauge('fine', 2);
    try {
      e.timer('bad').record(NaN);
    } catch {
      // refusing it at the call is the better behaviour (previous test)
    }
    const lines = await e.flush().then(async () => {
      await sleep(100);
      return udp.lines;
    });
    expect(lines.sort()).toEqual(['fine:2|g', 'ok:1|c']);
    expect(e.stats.dropped).toBe(0);
  });

  it('after close(), handle writes and flush() send nothing', async () => {
    const e = emitter({ endpoint: udp.endpoint });
    const c = e.counter('after');
    await e.close();
    c.add(1);
    e.gaugeHandle('after.g').set(1);
    await e.flush();
    await sleep(100);
    expect(udp.texts).toEqual([]);
  });
});

/** The value of one carbon plaintext line by name. */
function carbonValue(carbon: Buffer, name: string): number {
  for (const line of carbon.toString('utf8').split('\n')) {
    const [n, v] = line.split(' ');
    if (n === name) return Number(v);
  }
  throw new Error(`no carbon line ${name} in:\n${carbon.toString('utf8')}`);
}

describe('options', () => {
  it('reject malformed values at construction', () => {
    const bad: EmitterOptions[] = [
      { maxPacketBytes: 10 },
      { maxPacketBytes: 70_000 },
      { maxPacketBytes: 1.5 },
      { flushInterval: -1 },
      { maxSamplesPerKey: 0 },
      { maxQueueBytes: -1 },
      { convention: 'graphite' as 'etsy' },
      { prefix: 5 as unknown as string },
      { globalTags: 'env:prod' as unknown as string[] },
    ];
    for (const o of bad) {
      expect(() => new Emitter({ endpoint: '127.0.0.1:9', env: {}, ...o }), JSON.stringify(o)).toThrow(
        expect.objectContaining({ code: 'ERR_STATSD_INVALID_OPTION' }),
      );
    }
  });

  // BUG (pinned): a prefix or global tag that no line can carry is accepted by
  // the constructor; then every call throws bad_name / bad_tag (and a disabled
  // emitter never notices). STYLE.md: "Validate options once in TS".
  it('reject a prefix or global tag that no line could carry, at construction', () => {
    const bad: EmitterOptions[] = [
      { prefix: 'bad prefix' },
      { prefix: 'a:b' },
      { prefix: 'a|b' },
      { globalTags: ['bad tag'] },
      { globalTags: ['a,b'] },
      { globalTags: [''] },
    ];
    const accepted: string[] = [];
    for (const o of bad) {
      try {
        const e = new Emitter({ endpoint: '127.0.0.1:9', env: {}, ...o });
        open.push(e);
        accepted.push(JSON.stringify(o));
      } catch (error) {
        expect((error as StatsdError).code).toBe('ERR_STATSD_INVALID_OPTION');
      }
    }
    expect(accepted).toEqual([]);
  });
});
