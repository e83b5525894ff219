// Table tests for formatLine and pack: exact wire text, validation, packet limits.
import { describe, expect, it } from 'vitest';

import { type MetricInput, StatsdError, formatLine, pack, parse } from '../src';

describe('formatLine', () => {
  it.each([
    [{ name: 'a.b', type: 'c', value: 1 }, 'a.b:1|c'],
    [{ name: 'a', type: 'C', value: 199812 }, 'a:199812|C'],
    [{ name: 'a', type: 'ms', value: 0.1 + 0.2 }, 'a:0.30000000000000004|ms'],
    [{ name: 'a', type: 'h', value: 1e21 }, 'a:1e+21|h'],
    [{ name: 'a', type: 'd', value: 1e-7 }, 'a:1e-7|d'],
    [{ name: 'a', type: 'g', value: 0.000001 }, 'a:0.000001|g'],
    [{ name: 'a', type: 'g', value: -0 }, 'a:0|g'],
    [{ name: 'a', type: 'g', value: 3, relative: true }, 'a:+3|g'],
    [{ name: 'a', type: 'g', value: -3, relative: true }, 'a:-3|g'],
    [{ name: 'a', type: 'g', value: -3 }, 'a:0|g\na:-3|g'],
    [{ name: 'a', type: 's', value: 'alice:1' }, 'a:alice:1|s'],
    [{ name: 'a', type: 's', value: 42 }, 'a:42|s'],
    [{ name: 'a', type: 'c', value: 1, sampleRate: 0.1, tags: ['env:prod', 'az'] }, 'a:1|c|@0.1|#env:prod,az'],
    [{ name: 'a', type: 'c', value: 1, sampleRate: 1, tags: [] }, 'a:1|c'],
    [{ name: 'a', type: 'g', value: 2, timestamp: 1700000000 }, 'a:2|g|T1700000000'],
  ] as [MetricInput, string][])('%j → %s', (metric, line) => {
    expect(formatLine(metric)).toBe(line);
  });

  it.each([
    [{ name: '', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a b', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a:b', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a|b', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a\nb', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a.', type: 'c', value: 1 }, 'ERR_STATSD_BAD_NAME'],
    [{ name: 'a', type: 'x', value: 1 }, 'ERR_STATSD_BAD_TYPE'],
    [{ name: 'a', type: 'c', value: NaN }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 'c', value: Infinity }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 'c', value: '1' }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 'g', value: undefined }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 's', value: 'x|y' }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 's', value: '' }, 'ERR_STATSD_BAD_VALUE'],
    [{ name: 'a', type: 'c', value: 1, sampleRate: 0 }, 'ERR_STATSD_BAD_RATE'],
    [{ name: 'a', type: 'c', value: 1, sampleRate: 2 }, 'ERR_STATSD_BAD_RATE'],
    [{ name: 'a', type: 'c', value: 1, tags: ['a,b'] }, 'ERR_STATSD_BAD_TAG'],
    [{ name: 'a', type: 'c', value: 1, tags: ['a b'] }, 'ERR_STATSD_BAD_TAG'],
    [{ name: 'a', type: 'c', value: 1, tags: [''] }, 'ERR_STATSD_BAD_TAG'],
    [{ name: 'a', type: 'c', value: 1, tags: ['a\nb'] }, 'ERR_STATSD_BAD_TAG'],
    [{ name: 'a', type: 'c', value: 1, timestamp: 1.5 }, 'ERR_STATSD_BAD_TIMESTAMP'],
  ] as [MetricInput, string][])('rejects %j with %s', (metric, code) => {
    expect(() => formatLine(metric)).toThrow(StatsdError);
    expect(() => formatLine(metric)).toThrow(expect.objectContaining({ code }));
  });

  it('sanitizes instead of throwing when asked', () => {
    expect(formatLine({ name: 'a b:c|d.', type: 'c', value: 1, tags: ['x y', '', 'k,v'] }, { sanitize: true })).toBe(
      'a_b_c_d_:1|c|#x_y,k_v',
    );
    expect(formatLine({ name: 'a\nb', type: 's', value: 'm\n|', tags: ['t\n'] }, { sanitize: true })).toBe(
      'a_b:m__|s|#t_',
    );
  });
});

describe('pack', () => {
  const metrics: MetricInput[] = Array.from({ length: 100 }, (_, i) => ({
    name: `service.requests.${i}`,
    type: 'c',
    value: i,
  }));

  it('fills packets up to the limit and splits only between lines', () => {
    const packets = pack(metrics, { maxPacketBytes: 100 });
    expect(packets.length).toBeGreaterThan(1);
    for (const p of packets) {
      expect(p.length).toBeLessThanOrEqual(100);
      expect(p.at(-1)).not.toBe(0x0a);
    }
    const names = packets.flatMap((p) => parse(p).toArray().map((m) => m.name));
    expect(names).toEqual(metrics.map((m) => m.name));
    // Greedy: no packet could have taken the first line of the next one.
    for (let i = 0; i + 1 < packets.length; i++) {
      const next = packets[i + 1]!.toString().split('\n')[0]!;
      expect(packets[i]!.length + 1 + Buffer.byteLength(next)).toBeGreaterThan(100);
    }
  });

  it('ends each packet with a newline for stream transports, within the limit', () => {
    const packets = pack(metrics, { maxPacketBytes: 64, trailingNewline: true });
    for (const p of packets) {
      expect(p.length).toBeLessThanOrEqual(64);
      expect(p.at(-1)).toBe(0x0a);
    }
  });

  it('keeps the two lines of a negative gauge in one packet', () => {
    const packets = pack(
      [{ name: 'fill.fill.fill', type: 'c', value: 1 }, { name: 'temp', type: 'g', value: -5 }],
      { maxPacketBytes: 26 },
    );
    expect(packets.map(String)).toEqual(['fill.fill.fill:1|c', 'temp:0|g\ntemp:-5|g']);
  });

  it('throws on a line that can never fit, or drops and counts it when asked', () => {
    const long: MetricInput = { name: 'x'.repeat(50), type: 'c', value: 1 };
    expect(() => pack([long], { maxPacketBytes: 40 })).toThrow(expect.objectContaining({ code: 'ERR_STATSD_TOO_LONG' }));
    const packets = pack([metrics[0]!, long, metrics[1]!], { maxPacketBytes: 40, oversize: 'drop' });
    expect(packets.dropped).toBe(1);
    expect(packets.map(String)).toEqual(['service.requests.0:0|c', 'service.requests.1:1|c']);
  });

  it('names the bad metric by index', () => {
    expect(() => pack([metrics[0]!, { name: 'bad name', type: 'c', value: 1 }])).toThrow(/metric 1 \("bad name"\)/);
    expect(() => pack([metrics[0]!, { name: 'ok', type: 'c', value: 1, tags: ['a\nb'] }])).toThrow(/metric 1/);
  });

  it('counts UTF-8 bytes, not UTF-16 units, against the limit', () => {
    const packets = pack(
      Array.from({ length: 10 }, () => ({ name: 'café.ünï', type: 'c', value: 1 }) as MetricInput),
      { maxPacketBytes: 30 },
    );
    for (const p of packets) expect(p.length).toBeLessThanOrEqual(30);
    expect(packets.flatMap((p) => parse(p).toArray()).length).toBe(10);
  });
});
