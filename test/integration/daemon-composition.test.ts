// The daemon as a composition (issue [4/7] items 2-3): one ServerOptions
// vocabulary resolved once, config file and flags merged into it, bind
// failures with Node's code for every input, HTTP routes registered from
// outside, and sinks that report through events without the server taking
// over their owner's callback.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { GraphiteSink, type Sink, StatsdError, StatsdServer, StreamSink } from '../../src';
import { optionsFromArgs } from '../../src/commands/serve';
import { DEFAULT_HOST, DEFAULT_STATSD_PORT } from '../../src/daemon/config/defaults';
import { mergeServerOptions, resolveServerOptions } from '../../src/daemon/config/server-options';
import { keeper } from '../helpers/keeper-sink';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function started(server: StatsdServer): StatsdServer {
  cleanups.push(() => server.stop(0));
  return server;
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'composition-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('one ServerOptions vocabulary', () => {
  it('one flush interval: aggregator.flushInterval is refused, naming the top-level one', () => {
    expect(() => new StatsdServer({ aggregator: { flushInterval: 1000 } as never })).toThrow(/top-level flushInterval, not aggregator\.flushInterval/);
    const server = new StatsdServer({ flushInterval: 1234 });
    expect(server.options.aggregator.flushInterval).toBe(1234);
  });

  it('defaults are filled in once, from the DEFAULT_* constants', () => {
    const resolved = resolveServerOptions({ udp: {}, tcp: {} });
    expect(resolved.udp).toMatchObject({ address: DEFAULT_HOST, port: DEFAULT_STATSD_PORT, workers: 1 });
    expect(resolved.tcp).toMatchObject({ address: DEFAULT_HOST, port: DEFAULT_STATSD_PORT, maxConnections: 1024, maxLineBytes: 8192 });
    expect(resolveServerOptions({ tcp: {}, limits: { maxConnections: 7 } }).tcp?.maxConnections).toBe(7);
    expect(resolveServerOptions({ tcp: {}, aggregator: { maxLineBytes: 100 } }).tcp?.maxLineBytes).toBe(100);
  });

  it('ports and hosts are checked where they are resolved, with the option named', () => {
    expect(() => resolveServerOptions({ udp: { port: 70000 } })).toThrow(/udp\.port/);
    expect(() => resolveServerOptions({ tcp: { port: -1 } })).toThrow(/tcp\.port/);
    expect(() => resolveServerOptions({ http: { address: 'a b' } })).toThrow(/http\.address/);
    expect(() => new GraphiteSink({ host: '127.0.0.1', port: 0 })).toThrow(/port.*from 1 to 65535/);
    expect(() => new GraphiteSink({ port: 2003 } as never)).toThrow(/host/);
  });

  it('a group that is not an object, or sinks that are not a list, is an option error (not a TypeError)', () => {
    for (const options of [{ udp: null }, { tcp: 5 }, { limits: null }, { http: [] }, { sinks: 'ab' }]) {
      expect(() => new StatsdServer(options as never)).toThrow(StatsdError);
    }
    expect(() => optionsFromArgs(['--unix', ''])).not.toThrow(); // the flag is read…
    expect(() => new StatsdServer(optionsFromArgs(['--unix', '']).options)).toThrow(/unix/); // …and '' refused
  });

  it('graphite and stdout options become sinks after the given ones', () => {
    const server = new StatsdServer({ graphite: { host: '127.0.0.1', port: 2003, format: 'pickle' }, stdout: 'json', limits: { maxBacklog: 3 } });
    expect(server.sinks.map((s) => s.name)).toEqual(['graphite pickle 127.0.0.1:2003', 'stdout json']);
  });

  it('a merge keeps what the override leaves undefined', () => {
    const merged = mergeServerOptions({ udp: { address: '0.0.0.0', port: 1 }, flushInterval: 5 }, { udp: { port: 2, address: undefined }, flushInterval: undefined });
    expect(merged).toEqual({ udp: { address: '0.0.0.0', port: 2 }, flushInterval: 5 });
  });

  it('flags go over the config file, group by group', () => {
    const file = tempFile('config.json', JSON.stringify({ samplers: [{ type: 'statsd', address: '127.0.0.2', port: 9125 }], limits: { maxConnections: 9 } }));
    const { options } = optionsFromArgs(['--config', file, '--port', '0', '--tcp-port', '0']);
    // --port changes the port only; --tcp-port listens on the sampler's address.
    expect(options.udp).toMatchObject({ address: '127.0.0.2', port: 0 });
    expect(options.tcp).toEqual({ address: '127.0.0.2', port: 0 });
    expect(resolveServerOptions(options).tcp?.maxConnections).toBe(9);
    expect(options.stdout).toBe('carbon'); // no carbon backend: flushes go to stdout
  });

  it('a file value a flag replaces is not checked on its own; bare IPv6 in --http as before', () => {
    const file = tempFile('config.js', '{ flushInterval: 1000.5, port: 0 }');
    const { options } = optionsFromArgs(['--config', file, '--flush-interval', '1000', '--http', '::1:8080']);
    expect(resolveServerOptions(options)).toMatchObject({ flushInterval: 1000, http: { address: '::1', port: 8080 } });
  });

  it('a bad flag is a thrown StatsdError, not an exit', () => {
    expect(() => optionsFromArgs(['--port', '99999'])).toThrow(StatsdError);
    expect(() => optionsFromArgs(['--pickle'])).toThrow(/--pickle needs a carbon backend/);
    expect(() => optionsFromArgs(['--nope'])).toThrow(expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }));
  });

  it('--shards N reaches the aggregator; a count it cannot take is refused by name', () => {
    const { options } = optionsFromArgs(['--port', '0', '--shards', '4']);
    expect(resolveServerOptions(options).aggregator.shards).toBe(4);
    expect(new StatsdServer(options).aggregator.stats.keys).toBe(0);
    for (const bad of ['0', '65', 'x']) {
      expect(() => new StatsdServer(optionsFromArgs(['--port', '0', '--shards', bad]).options)).toThrow(/shards/);
    }
  });
});

describe('inputs', () => {
  async function busyPort(): Promise<number> {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    return (blocker.address() as net.AddressInfo).port;
  }

  it.each(['tcp', 'http'] as const)('a %s bind failure rejects with EADDRINUSE, and the inputs started before are closed', async (kind) => {
    const port = await busyPort();
    const server = new StatsdServer({ udp: { port: 0 }, [kind]: { port } });
    const error = await server.start().then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).toBe('EADDRINUSE');
    expect(error?.message).toContain(`${kind}://127.0.0.1:${port}`);
    // the UDP input it had bound is closed again: its port can be bound
    const udpPort = server.udpPort;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(udpPort, '127.0.0.1', () => resolve());
    });
    socket.close();
  });

  it('a UDP bind failure has the same shape', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => socket.close());
    const server = new StatsdServer({ udp: { port: socket.address().port } });
    await expect(server.start()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('udp://127.0.0.1:') });
  });
});

describe('stop()', () => {
  it('makes no scheduled flush while the inputs close (a TCP sender slow to finish)', async () => {
    const server = new StatsdServer({ tcp: { port: 0 }, flushInterval: 50 });
    await server.start();
    const flushes: number[] = [];
    server.on('flush', (f: { timestamp: number }) => flushes.push(f.timestamp));
    // A sender that never closes its side: stop() waits ~1 s, then cuts it off.
    const client = net.connect({ port: server.tcpPort, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    client.write('a:1|c\n');
    await new Promise((r) => setTimeout(r, 100));
    const before = flushes.length;
    await server.stop(0);
    client.destroy();
    // The final flush, and one scheduled flush if it was under way when stop()
    // was called (a race of the 50 ms timer with this test; before: ~20).
    expect(flushes.length - before).toBeLessThanOrEqual(2);
  });

  it('called while start() is still binding: what start() bound is closed, and nothing flushes after', async () => {
    const server = new StatsdServer({ tcp: { port: 0 }, http: { port: 0 }, flushInterval: 20 });
    let flushes = 0;
    server.on('flush', () => flushes++);
    const starting = server.start();
    const stopping = server.stop(0);
    await Promise.all([starting, stopping]);
    const port = server.tcpPort;
    expect(port).toBeGreaterThan(0);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true); // before: the port stayed open and flushes went on
    const seen = flushes;
    await new Promise((r) => setTimeout(r, 100));
    expect(flushes).toBe(seen);
  });

  it('lets go of its sinks: one sink used by server after server gathers no listeners', async () => {
    const sink = new GraphiteSink({ host: '127.0.0.1', port: 9 });
    for (let i = 0; i < 12; i++) {
      const server = new StatsdServer({ sinks: [sink] });
      await server.start();
      await server.stop(0);
    }
    expect(sink.listenerCount('fault')).toBe(0);
    expect(sink.listenerCount('recover')).toBe(0);
  });

  it('stdout sinks of servers started and stopped in turn add one error listener to the stream, not one each', async () => {
    const stream = new PassThrough();
    stream.resume();
    for (let i = 0; i < 15; i++) {
      const server = new StatsdServer({ sinks: [new StreamSink({ format: 'carbon', stream })] });
      await server.start();
      await server.stop(0);
    }
    expect(stream.listenerCount('error')).toBe(1); // before: 15 (MaxListenersExceededWarning at 11)
  });
});

describe('TCP input around slow flushes (a scheduled flush holds TCP lines)', () => {
  /** Makes every scheduled (worker) flush take at least `ms` more. */
  function slowFlushes(server: StatsdServer, ms: number): void {
    const flushAsync = server.aggregator.flushAsync.bind(server.aggregator);
    server.aggregator.flushAsync = async (o) => {
      await new Promise((r) => setTimeout(r, ms));
      return flushAsync(o);
    };
  }

  async function connect(port: number): Promise<net.Socket> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    return socket;
  }

  it('flushes slower than the interval: lines arriving meanwhile go in between them, not at stop()', async () => {
    const { sink, counted } = keeper();
    const server = started(new StatsdServer({ tcp: { port: 0 }, flushInterval: 20, sinks: [sink] }));
    slowFlushes(server, 60);
    await server.start();
    const socket = await connect(server.tcpPort);
    cleanups.push(() => socket.destroy());
    for (let i = 0; i < 20; i++) {
      socket.write('tcp.slow:1|c\n'.repeat(50));
      await new Promise((r) => setTimeout(r, 25));
    }
    // Before stop(): the lines are in flushes already (before: 0 until stop).
    await expect.poll(() => counted('tcp.slow'), { timeout: 10_000 }).toBe(1000);
  });

  it('stop() during a long scheduled flush: every TCP line sent is in a flush', async () => {
    const { sink, counted } = keeper();
    const server = new StatsdServer({ tcp: { port: 0 }, flushInterval: 100, sinks: [sink] });
    await server.start();
    slowFlushes(server, 1500); // longer than the inputs' 1 s cut-off at stop
    const sockets = await Promise.all([1, 2, 3, 4].map(() => connect(server.tcpPort)));
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    await new Promise((r) => server.once('flush', r)); // a scheduled flush took the aggregator…
    await new Promise((r) => setTimeout(r, 120)); // …and the next one (slow) is under way
    for (const s of sockets) s.write('tcp.stop:1|c\n'.repeat(50_000)); // 650 KB each: more than a read, so paused with bytes unread
    await new Promise((r) => setTimeout(r, 100));
    await server.stop(0);
    expect(counted('tcp.stop')).toBe(200_000);
  });
});

describe('the flush schedule', () => {
  it('keeps flushing when the wall clock steps back an hour', async () => {
    const server = started(new StatsdServer({ flushInterval: 50 }));
    const stamps: number[] = [];
    server.on('flush', (f: { timestamp: number }) => stamps.push(f.timestamp));
    await server.start();
    await new Promise((r) => server.once('flush', r));
    const realNow = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    try {
      const seen = stamps.length;
      // before: no flush for the hour the clock went back
      await expect.poll(() => stamps.length, { timeout: 2000 }).toBeGreaterThan(seen + 1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a sink that throws', () => {
  it('is reported; the sinks after it get the flush; stop() settles', async () => {
    const { sink: good, counted } = keeper();
    const bad: Sink = { ...good, name: 'bad', write: () => { throw new Error('boom'); } };
    const server = new StatsdServer({ sinks: [bad, good], flushInterval: 60_000 });
    const errors: string[] = [];
    server.on('error', (e: Error) => errors.push(e.message));
    await server.start();
    server.aggregator.ingest('a.b:1|c');
    server.flush();
    expect(counted('a.b')).toBe(1);
    expect(errors).toEqual(['bad: write failed: boom']);
    await expect(server.stop(0)).resolves.toBeUndefined();
  });
});

describe('HTTP routes', () => {
  it('a route registered from outside is served beside the health routes; one that throws is a 500 and an error event', async () => {
    const server = started(new StatsdServer({ http: { port: 0 } }));
    const errors: string[] = [];
    server.on('error', (e: Error) => errors.push(e.message));
    server.route('/hello', (_req, res) => res.end('hi'));
    server.route('/things/', (_req, res, p) => res.end(p.slice('/things/'.length)));
    server.route('/broken', () => {
      throw new Error('route bug');
    });
    await server.start();
    expect(await get(server.httpPort, '/hello')).toEqual({ status: 200, body: 'hi' });
    expect(await get(server.httpPort, '/things/a.b?x=1')).toEqual({ status: 200, body: 'a.b' });
    expect((await get(server.httpPort, '/broken')).status).toBe(500);
    expect(errors).toEqual(['http /broken: route bug']);
    expect((await get(server.httpPort, '/ping')).status).toBe(200);
    expect((await get(server.httpPort, '/nothing')).status).toBe(404);
  });
});

describe('sink reports', () => {
  it("the server listens to a sink's events and leaves the owner's onError in place", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r)); // nothing listens there now
    const sink = new GraphiteSink({ host: '127.0.0.1', port });
    const ownerSaw: string[] = [];
    sink.onError = (e) => ownerSaw.push(e.message);
    const server = started(new StatsdServer({ sinks: [sink], flushInterval: 60_000 }));
    const serverSaw: string[] = [];
    server.on('error', (e: Error) => serverSaw.push(e.message));
    expect(sink.onError).toBeDefined();
    await server.start();
    server.aggregator.ingest('a:1|c');
    server.flush();
    await expect.poll(() => serverSaw.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(ownerSaw).toEqual(serverSaw);
    expect(serverSaw[0]).toMatch(/ECONNREFUSED/);
  });
});
