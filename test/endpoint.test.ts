// Where an emitter sends (DESIGN §6, brubeck-fripp.md §4.6): the option, else
// FLUX_FRIPP_STATSD, else STATSD_HOST/STATSD_PORT, else a disabled emitter.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Emitter, type Endpoint, StatsdError, parseEndpoint, resolveEndpoint } from '../src';

type Env = Record<string, string>;

function thrown(fn: () => unknown): StatsdError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StatsdError);
    return error as StatsdError;
  }
  throw new Error('expected a StatsdError, nothing was thrown');
}

describe('parseEndpoint: good endpoints', () => {
  const cases: [string, Partial<Endpoint>][] = [
    ['127.0.0.1:8125', { transport: 'udp', host: '127.0.0.1', port: 8125 }],
    ['localhost:1', { transport: 'udp', host: 'localhost', port: 1 }],
    ['statsd.example.com:65535', { transport: 'udp', host: 'statsd.example.com', port: 65535 }],
    ['[::1]:8125', { transport: 'udp', host: '::1', port: 8125 }],
    ['[fe80::1:2]:9125', { transport: 'udp', host: 'fe80::1:2', port: 9125 }],
    ['udp://10.0.0.1:8125', { transport: 'udp', host: '10.0.0.1', port: 8125 }],
    ['udp://[::1]:8125', { transport: 'udp', host: '::1', port: 8125 }],
    ['tcp://127.0.0.1:2003', { transport: 'tcp', host: '127.0.0.1', port: 2003 }],
    ['tcp://[::1]:2003', { transport: 'tcp', host: '::1', port: 2003 }],
    ['unix:///var/run/statsd.sock', { transport: 'unix', path: '/var/run/statsd.sock' }],
    ['unixstream:///tmp/s.sock', { transport: 'unixstream', path: '/tmp/s.sock' }],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(parseEndpoint(text)).toMatchObject({ ...expected, source: 'endpoint' });
  });

  it('names its source when given one', () => {
    expect(parseEndpoint('h:1', 'FLUX_FRIPP_STATSD').source).toBe('FLUX_FRIPP_STATSD');
  });
});

describe('parseEndpoint: malformed endpoints throw a StatsdError naming the value', () => {
  // [value, a fragment the message must hold to say what is wrong]
  const cases: [string, RegExp][] = [
    ['localhost', /colon/],
    ['', /colon/],
    [':8125', /empty host/],
    ['host:0', /port "0"/],
    ['host:99999', /port "99999"/],
    ['host:65536', /port "65536"/],
    ['host:domain', /port "domain"/],
    ['host:-1', /port "-1"/],
    ['host:', /port ""/],
    ['host:8125 ', /port "8125 "/],
    ['host:8125.5', /port/],
    ['::1:8125', /brackets/],
    ['fe80::1:8125', /brackets/],
    ['h:1:2', /brackets|port/],
    ['[::1]', /\[ipv6\]:port/],
    ['[::1]:', /port ""/],
    ['[::1]8125', /\[ipv6\]:port/],
    ['[not-v6]:8125', /not an IPv6 address/],
    ['[127.0.0.1]:8125', /not an IPv6 address/],
    ['my host:8125', /space/],
    ['http://host:80', /unknown scheme http:\/\//],
    ['udp6://host:80', /unknown scheme|brackets/],
    ['tcp://host', /colon/],
    ['tcp://host:0', /port "0"/],
    ['udp://:8125', /empty host/],
    ['unix://relative/path.sock', /absolute/],
    ['unixstream://', /absolute/],
  ];
  it.each(cases)('%j', (text, why) => {
    const error = thrown(() => parseEndpoint(text));
    expect(error.code).toBe('ERR_STATSD_INVALID_OPTION');
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toMatch(why);
  });
});

describe('resolveEndpoint: option, FLUX_FRIPP_STATSD, STATSD_HOST/STATSD_PORT', () => {
  const cases: [string, string | undefined, Env, Partial<Endpoint> | undefined][] = [
    ['nothing set', undefined, {}, undefined],
    ['empty variables count as unset', undefined, { FLUX_FRIPP_STATSD: '', STATSD_HOST: '', STATSD_PORT: '' }, undefined],
    ['option only', '127.0.0.1:9', {}, { host: '127.0.0.1', port: 9, source: 'endpoint' }],
    [
      'option wins over every variable',
      'tcp://127.0.0.1:9',
      { FLUX_FRIPP_STATSD: '10.0.0.1:8125', STATSD_HOST: '10.0.0.2', STATSD_PORT: '7' },
      { transport: 'tcp', host: '127.0.0.1', port: 9, source: 'endpoint' },
    ],
    [
      'a valid option wins over a malformed variable',
      '127.0.0.1:9',
      { FLUX_FRIPP_STATSD: 'garbage' },
      { host: '127.0.0.1', port: 9, source: 'endpoint' },
    ],
    ['FLUX_FRIPP_STATSD host:port', undefined, { FLUX_FRIPP_STATSD: 'brubeck.local:8125' }, { transport: 'udp', host: 'brubeck.local', port: 8125, source: 'FLUX_FRIPP_STATSD' }],
    ['FLUX_FRIPP_STATSD [::1]:port', undefined, { FLUX_FRIPP_STATSD: '[::1]:8125' }, { host: '::1', port: 8125, source: 'FLUX_FRIPP_STATSD' }],
    ['FLUX_FRIPP_STATSD with a scheme', undefined, { FLUX_FRIPP_STATSD: 'unix:///run/s.sock' }, { transport: 'unix', path: '/run/s.sock', source: 'FLUX_FRIPP_STATSD' }],
    [
      'FLUX_FRIPP_STATSD wins over STATSD_HOST/PORT',
      undefined,
      { FLUX_FRIPP_STATSD: '10.0.0.1:1', STATSD_HOST: '10.0.0.2', STATSD_PORT: '2' },
      { host: '10.0.0.1', port: 1, source: 'FLUX_FRIPP_STATSD' },
    ],
    ['STATSD_HOST and STATSD_PORT', undefined, { STATSD_HOST: '10.0.0.2', STATSD_PORT: '9125' }, { transport: 'udp', host: '10.0.0.2', port: 9125, source: 'STATSD_HOST/STATSD_PORT' }],
    ['STATSD_HOST alone: port 8125', undefined, { STATSD_HOST: 'metrics' }, { host: 'metrics', port: 8125 }],
    ['STATSD_PORT alone: localhost', undefined, { STATSD_PORT: '9125' }, { host: 'localhost', port: 9125 }],
    ['STATSD_HOST an IPv6 literal', undefined, { STATSD_HOST: '::1', STATSD_PORT: '9125' }, { host: '::1', port: 9125 }],
  ];
  it.each(cases)('%s', (_, option, env, expected) => {
    const endpoint = resolveEndpoint(option, env);
    if (expected === undefined) expect(endpoint).toBeUndefined();
    else expect(endpoint).toMatchObject(expected);
  });

  const bad: [string, Env, string, string][] = [
    ['FLUX_FRIPP_STATSD without a colon', { FLUX_FRIPP_STATSD: 'localhost' }, 'FLUX_FRIPP_STATSD', 'localhost'],
    ['FLUX_FRIPP_STATSD bare IPv6', { FLUX_FRIPP_STATSD: '::1:8125' }, 'FLUX_FRIPP_STATSD', '::1:8125'],
    ['FLUX_FRIPP_STATSD port 0', { FLUX_FRIPP_STATSD: 'h:0' }, 'FLUX_FRIPP_STATSD', 'h:0'],
    ['FLUX_FRIPP_STATSD empty host', { FLUX_FRIPP_STATSD: ':8125' }, 'FLUX_FRIPP_STATSD', ':8125'],
    [
      'malformed FLUX_FRIPP_STATSD does not fall back to STATSD_HOST',
      { FLUX_FRIPP_STATSD: 'h:99999', STATSD_HOST: '127.0.0.1', STATSD_PORT: '8125' },
      'FLUX_FRIPP_STATSD',
      'h:99999',
    ],
    ['STATSD_PORT not a number', { STATSD_HOST: 'h', STATSD_PORT: 'domain' }, 'STATSD_HOST/STATSD_PORT', 'domain'],
    ['STATSD_PORT out of range', { STATSD_PORT: '70000' }, 'STATSD_HOST/STATSD_PORT', '70000'],
  ];
  it.each(bad)('%s throws naming the variable and the value', (_, env, variable, value) => {
    const error = thrown(() => resolveEndpoint(undefined, env));
    expect(error.code).toBe('ERR_STATSD_INVALID_OPTION');
    expect(error.message).toContain(variable);
    expect(error.message).toContain(value);
  });

  it('a malformed option names "endpoint", not a variable', () => {
    const error = thrown(() => resolveEndpoint('nohost', { FLUX_FRIPP_STATSD: '127.0.0.1:1' }));
    expect(error.message).toMatch(/^endpoint="nohost"/);
  });
});

describe('Emitter endpoint selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('a malformed FLUX_FRIPP_STATSD fails the constructor with a message naming it', () => {
    const error = thrown(() => new Emitter({ env: { FLUX_FRIPP_STATSD: 'localhost' } }));
    expect(error.message).toContain('FLUX_FRIPP_STATSD');
    expect(error.message).toContain('"localhost"');
  });

  it('reads process.env by default', async () => {
    vi.stubEnv('FLUX_FRIPP_STATSD', '127.0.0.1:9');
    vi.stubEnv('STATSD_HOST', '');
    vi.stubEnv('STATSD_PORT', '');
    const e = new Emitter();
    expect(e.enabled).toBe(true);
    expect(e.endpoint).toMatchObject({ transport: 'udp', host: '127.0.0.1', port: 9, source: 'FLUX_FRIPP_STATSD' });
    await e.close();
  });

  it('the env option replaces process.env', () => {
    vi.stubEnv('FLUX_FRIPP_STATSD', '127.0.0.1:9');
    const e = new Emitter({ env: {} });
    expect(e.enabled).toBe(false);
    expect(e.endpoint).toBeUndefined();
  });

  it('the endpoint option wins over the environment', async () => {
    const e = new Emitter({ endpoint: 'tcp://127.0.0.1:9', env: { FLUX_FRIPP_STATSD: '10.0.0.1:8125' } });
    expect(e.enabled).toBe(true);
    expect(e.endpoint).toMatchObject({ transport: 'tcp', host: '127.0.0.1', port: 9, source: 'endpoint' });
    await e.close();
  });
});

describe('a disabled emitter (nothing set)', () => {
  const e = new Emitter({ env: {} });

  it('is disabled and has no endpoint', () => {
    expect(e.enabled).toBe(false);
    expect(e.endpoint).toBeUndefined();
  });

  it('accepts every call as a no-op', async () => {
    e.increment('a');
    e.increment('a', 2, 0.5, ['env:prod']);
    e.decrement('a', 3);
    e.count('total', 10);
    e.gauge('g', -5);
    e.gaugeAdd('g', 2);
    e.timing('t', 1.5, 0.25);
    e.histogram('h', 1);
    e.distribution('d', 2);
    e.set('s', 'member');
    e.set('s', 42);
    e.counter('hc').add(1);
    e.gaugeHandle('hg').set(3);
    e.gaugeHandle('hg').add(-1);
    const timer = e.timer('ht');
    timer.record(2);
    expect(timer.time(() => 7)).toBe(7);
    expect(typeof timer.start()()).toBe('number');
    await e.flush();
    expect(e.stats).toMatchObject({ sent: 0, dropped: 0, packets: 0, bytes: 0, errors: 0, keysDropped: 0 });
  });

  // The same program must not start throwing when an endpoint is configured:
  // values are checked whether or not the emitter sends.
  const badValues: [string, () => void][] = [
    ['increment NaN', () => e.increment('a', NaN)],
    ['increment Infinity', () => e.increment('a', Infinity)],
    ['increment "5"', () => e.increment('a', '5' as unknown as number)],
    ['increment rate 0', () => e.increment('a', 1, 0)],
    ['increment rate 1.5', () => e.increment('a', 1, 1.5)],
    ['decrement -Infinity', () => e.decrement('a', -Infinity)],
    ['count undefined', () => e.count('a', undefined as unknown as number)],
    ['gauge NaN', () => e.gauge('a', NaN)],
    ['gauge undefined', () => e.gauge('a', undefined as unknown as number)],
    ['gaugeAdd "5"', () => e.gaugeAdd('a', '5' as unknown as number)],
    ['timing Infinity', () => e.timing('a', Infinity)],
    ['timing rate NaN', () => e.timing('a', 1, NaN)],
    ['histogram NaN', () => e.histogram('a', NaN)],
    ['distribution undefined', () => e.distribution('a', undefined as unknown as number)],
    ['set member with |', () => e.set('a', 'x|y')],
    ['set member with newline', () => e.set('a', 'x\ny')],
    ['set member empty', () => e.set('a', '')],
    ['set member NaN', () => e.set('a', NaN)],
  ];
  it.each(badValues)('still throws a StatsdError for %s', (_, call) => {
    expect(call).toThrow(StatsdError);
  });

  // BUG (pinned): a disabled emitter checks values but not names, so a name an
  // enabled emitter rejects passes silently until an endpoint is configured.
  const badNames: [string, () => void][] = [
    ['a name with a space', () => e.increment('bad name')],
    ['a name with ":"', () => e.gauge('a:b', 1)],
    ['a name ending in "."', () => e.timing('a.', 1)],
    ['an empty name', () => e.set('', 'x')],
    ['a bad tag', () => e.increment('a', 1, 1, ['bad tag'])],
  ];
  it('throws for bad names and tags, as an enabled emitter does', () => {
    const silent = badNames.filter(([, call]) => {
      try {
        call();
        return true;
      } catch (error) {
        return !(error instanceof StatsdError);
      }
    });
    expect(silent.map(([what]) => what)).toEqual([]);
  });

  it('an enabled emitter rejects those names (the reference behaviour)', async () => {
    const on = new Emitter({ endpoint: '127.0.0.1:9' });
    expect(() => on.increment('bad name')).toThrow(StatsdError);
    expect(() => on.increment('a', 1, 1, ['bad tag'])).toThrow(StatsdError);
    await on.close();
  });
});
