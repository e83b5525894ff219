// The key-sharding relay (issue [7/7] item 1) in front of real daemons: each
// key is aggregated by exactly one daemon, totals are exact, bad lines are
// counted and never take good ones with them, a daemon that stops answering
// /ping has its keys moved to the next one up (counted) and back when it
// returns; adding a node moves ~1/N of the keys.
import * as dgram from 'node:dgram';

import { afterEach, describe, expect, it } from 'vitest';

import type { KeySnapshot } from '../../src/aggregator/aggregator';
import { StatsdServer } from '../../src/daemon/server';
import { KeyRouter } from '../../src/scale/key-router';
import { Relay } from '../../src/scale/relay';
import { DaemonProcess } from '../helpers/daemon-cli';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const servers: StatsdServer[] = [];
const relays: Relay[] = [];
const daemons: DaemonProcess[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.stop(100);
  for (const s of servers.splice(0)) await s.stop(100);
  for (const d of daemons.splice(0)) await d.stop();
});

async function daemon(udpPort = 0, httpPort = 0): Promise<StatsdServer> {
  const s = new StatsdServer({ udp: { address: '127.0.0.1', port: udpPort }, http: { address: '127.0.0.1', port: httpPort }, flushInterval: 3_600_000 });
  await s.start();
  servers.push(s);
  return s;
}

async function relayTo(nodes: StatsdServer[], options: Partial<ConstructorParameters<typeof Relay>[0]> = {}): Promise<Relay> {
  const r = new Relay({ nodes: nodes.map((s) => ({ host: '127.0.0.1', port: s.udpPort, httpPort: s.httpPort })), udp: { port: 0 }, http: { port: 0 }, healthInterval: 50, ...options });
  await r.start();
  relays.push(r);
  return r;
}

/** Sends `payloads` to the relay, a few at a time (loopback UDP with room in the buffers). */
async function send(port: number, payloads: string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  for (let i = 0; i < payloads.length; i++) {
    await new Promise<void>((resolve, reject) => socket.send(payloads[i]!, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    if (i % 50 === 49) await sleep(2);
  }
  socket.close();
}

/** Counter keys per daemon: key → value of its live counter. */
function counters(s: StatsdServer): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of s.aggregator.snapshot(undefined, { samples: false }) as KeySnapshot[]) if (k.kind === 'counter') out.set(k.key, k.value ?? NaN);
  return out;
}

/** `keys` counter lines `<prefix><i>:<i % 7 + 1>|c`, packed 40 to a datagram. */
function lines(prefix: string, keys: number): { payloads: string[]; total: Map<string, number> } {
  const total = new Map<string, number>();
  const all: string[] = [];
  for (let i = 0; i < keys; i++) {
    all.push(`${prefix}${i}:${(i % 7) + 1}|c`);
    total.set(`${prefix}${i}`, (i % 7) + 1);
  }
  const payloads: string[] = [];
  for (let i = 0; i < all.length; i += 40) payloads.push(all.slice(i, i + 40).join('\n'));
  return { payloads, total };
}

describe('relay in front of three daemons', () => {
  it('each key is aggregated by exactly one daemon, the one KeyRouter names, and the totals are exact', async () => {
    const nodes = [await daemon(), await daemon(), await daemon()];
    const relay = await relayTo(nodes);
    const { payloads, total } = lines('k', 3000);
    await send(relay.udpPort, payloads);
    await send(relay.udpPort, payloads); // twice: every counter is 2 × its value
    await until('every line aggregated', () => nodes.reduce((a, s) => a + s.aggregator.stats.lines, 0) === 6000);
    const router = new KeyRouter(3);
    const seen = new Map<string, number>();
    nodes.forEach((s, i) => {
      for (const [key, value] of counters(s)) {
        expect(seen.has(key), key).toBe(false);
        seen.set(key, value);
        expect(router.nodeOf(`${key}:1|c`), key).toBe(i);
      }
    });
    expect(seen.size).toBe(3000);
    for (const [key, value] of total) expect(seen.get(key), key).toBe(2 * value);
    for (const s of nodes) expect(counters(s).size).toBeGreaterThan(800); // spread: ~1000 each
    const stats = relay.stats;
    expect(stats.router).toMatchObject({ lines: 6000, moved: 0, unroutable: 0, errors: 0 });
    expect(stats.nodes.reduce((a, n) => a + n.linesSent, 0)).toBe(6000);
    expect(stats.nodes.every((n) => n.linesDropped === 0 && n.up)).toBe(true);
  });

  it('a key with its tags in any order goes to one daemon; bad lines are counted by reason, the good ones beside them kept', async () => {
    const nodes = [await daemon(), await daemon(), await daemon()];
    const relay = await relayTo(nodes);
    const payloads = ['t:1|c|#b:2,a:1\nbad line\nt:2|c|#a:1,b:2', 't:4|c|#a:1,b:2,a:1\nx:1|zz\nok:1|c'];
    await send(relay.udpPort, payloads);
    await until('the good lines aggregated', () => nodes.reduce((a, s) => a + s.aggregator.stats.lines, 0) === 4);
    const holders = nodes.filter((s) => counters(s).get('t;a=1;b=2') !== undefined);
    expect(holders).toHaveLength(1);
    expect(counters(holders[0]!).get('t;a=1;b=2')).toBe(7);
    expect(relay.stats.router).toMatchObject({ lines: 4, errors: 2, byReason: { bad_name: 1, bad_type: 1 } });
  });

  it('a daemon that stops answering /ping: its keys go to the next daemon up (counted as moved), and back once it answers', async () => {
    const nodes = [await daemon(), await daemon(), await daemon()];
    const relay = await relayTo(nodes);
    const router = new KeyRouter(3);
    const { payloads, total } = lines('f', 600);
    const homeOf1 = [...total.keys()].filter((k) => router.nodeOf(`${k}:1|c`) === 1);
    const [udp1, http1] = [nodes[1]!.udpPort, nodes[1]!.httpPort];
    const down = new Promise((resolve) => relay.once('down', resolve));
    await nodes[1]!.stop(100);
    servers.splice(servers.indexOf(nodes[1]!), 1);
    await down;
    await send(relay.udpPort, payloads);
    await until('every line aggregated by nodes 0 and 2', () => nodes[0]!.aggregator.stats.lines + nodes[2]!.aggregator.stats.lines === 600);
    // node 1's keys went to node 2 (the next up), the others stayed home
    for (const k of homeOf1) expect(counters(nodes[2]!).get(k), k).toBe(total.get(k));
    expect(relay.stats.router.moved).toBe(homeOf1.length);
    expect(relay.stats.nodes[1]).toMatchObject({ up: false, downs: 1 });
    // it comes back on the same ports: its keys go home again
    const back = await daemon(udp1, http1);
    await new Promise((resolve) => relay.once('up', resolve));
    await send(relay.udpPort, payloads);
    await until('the second round aggregated', () => back.aggregator.stats.lines === homeOf1.length);
    for (const k of homeOf1) expect(counters(back).get(k), k).toBe(total.get(k));
    expect(relay.stats.router.moved).toBe(homeOf1.length); // nothing moved this time
  });

  it('a daemon gone between polls is marked down by the first datagram refused, not at the next scheduled poll', async () => {
    const nodes = [await daemon(), await daemon()];
    const relay = await relayTo(nodes, { healthInterval: 600_000 }); // one poll at start, the next in 10 minutes
    await sleep(200);
    const down = new Promise((resolve) => relay.once('down', resolve));
    await nodes[1]!.stop(100);
    servers.splice(servers.indexOf(nodes[1]!), 1);
    const { payloads } = lines('q', 200);
    let marked = false;
    void down.then(() => (marked = true));
    const deadline = Date.now() + 10_000;
    while (!marked && Date.now() < deadline) {
      await send(relay.udpPort, payloads.slice(0, 2)); // some of these keys are node 1's: refused (ECONNREFUSED)
      await sleep(50);
    }
    expect(marked).toBe(true);
    expect(relay.stats.nodes[1]).toMatchObject({ up: false, downs: 1 });
    expect(relay.stats.nodes[1]!.sendErrors).toBeGreaterThan(0);
  });

  it('every node down: lines are counted unroutable, none is sent', async () => {
    const nodes = [await daemon(), await daemon()];
    const relay = await relayTo(nodes);
    const downs = new Promise<void>((resolve) => {
      let n = 0;
      relay.on('down', () => ++n === 2 && resolve());
    });
    for (const s of nodes) await s.stop(100);
    servers.length = 0;
    await downs;
    await send(relay.udpPort, ['a:1|c\nb:1|c']);
    await until('the lines counted', () => relay.stats.router.unroutable === 2);
    expect(relay.stats.nodes.reduce((a, n) => a + n.linesSent, 0)).toBe(0);
    expect((await fetch(`http://127.0.0.1:${relay.httpPort}/ping`)).status).toBe(503);
  });

  it('packets stay within maxPacketBytes, a longer line goes alone, and lines keep their order per key', async () => {
    const [node] = [await daemon()];
    const relay = await relayTo([node!], { maxPacketBytes: 64 });
    const long = `${'l'.repeat(100)}:1|c`;
    await send(relay.udpPort, [`g:1|g\n${long}\ng:2|g\ng:3|g`]);
    await until('four lines', () => node!.aggregator.stats.lines === 4);
    expect((node!.aggregator.snapshot('g') as KeySnapshot[])[0]).toMatchObject({ value: 3 });
    expect(relay.stats.router.oversize).toBe(1);
    expect(node!.stats.udp.datagrams).toBeGreaterThanOrEqual(2);
  });
});

describe('the relay keys lines as its daemons do', () => {
  it("etsy's sanitized names are one key, and lines etsy takes are routed", () => {
    const etsy = new KeyRouter(2, 1432, { convention: 'etsy' });
    for (let i = 0; i < 50; i++) expect(etsy.nodeOf(`req/s${i}:1|c`), `req/s${i}`).toBe(etsy.nodeOf(`req-s${i}:1|c`));
    expect(etsy.nodeOf('a b:1|c')).toBeGreaterThanOrEqual(0);
    expect(etsy.nodeOf('a:1|c|@2')).toBeGreaterThanOrEqual(0);
    expect(new KeyRouter(2).nodeOf('a b:1|c')).toBe(-1); // brubeck refuses a space, as its daemons do
  });

  it('a /ping that drips its answer neither stalls the other nodes\' polls nor holds sockets', async () => {
    const slow = await import('node:net').then((net) => {
      const sockets = new Set<import('node:net').Socket>();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
        const drip = setInterval(() => socket.writable && socket.write('x'), 20);
        socket.on('close', () => clearInterval(drip));
      });
      return new Promise<{ port: number; open: () => number; close: () => void }>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as import('node:net').AddressInfo).port, open: () => sockets.size, close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        } })),
      );
    });
    const closed = await daemon();
    const [udp1, http1] = [closed.udpPort, closed.httpPort];
    await closed.stop(100);
    servers.splice(servers.indexOf(closed), 1);
    const r = new Relay({ nodes: [{ host: '127.0.0.1', port: 9, httpPort: slow.port }, { host: '127.0.0.1', port: udp1, httpPort: http1 }], udp: { port: 0 }, healthInterval: 50, healthTimeout: 100 });
    await r.start();
    relays.push(r);
    await until('the closed node marked down', () => !r.stats.nodes[1]!.up, 5000);
    await sleep(500);
    expect(slow.open()).toBeLessThanOrEqual(3); // each ping closed at its deadline
    slow.close();
  });

  it('a send queue smaller than a packet is refused', () => {
    expect(() => new Relay({ nodes: [{ host: '127.0.0.1', port: 1 }], maxQueueBytes: 100 })).toThrow(/maxQueueBytes/);
  });
});

describe('the hash', () => {
  it('adding a fourth node to three moves ~1/4 of the keys, all to the new node', () => {
    const three = new KeyRouter(3);
    const four = new KeyRouter(4);
    let moved = 0;
    for (let i = 0; i < 100_000; i++) {
      const line = `svc.k${i}:1|c`;
      const a = three.nodeOf(line);
      const b = four.nodeOf(line);
      if (a !== b) {
        moved++;
        expect(b).toBe(3);
      }
    }
    expect(moved / 100_000).toBeGreaterThan(0.23);
    expect(moved / 100_000).toBeLessThan(0.27);
  });
});

describe('statsd-native relay (CLI)', () => {
  it('routes to --node daemons, polls their /ping, answers /stats, and reports its totals at SIGTERM', async () => {
    const a = await DaemonProcess.start(['serve', '--port', '0', '--flush-interval', '3600000']);
    const b = await DaemonProcess.start(['serve', '--port', '0', '--flush-interval', '3600000']);
    daemons.push(a, b);
    const node = (d: DaemonProcess) => `127.0.0.1:${d.listening.udp},http=${d.listening.http}`;
    const relay = await DaemonProcess.start(['relay', '--port', '0', '--http', '127.0.0.1:0', '--node', node(a), '--node', node(b)]);
    daemons.push(relay);
    expect(relay.stderr).toMatch(/routing by key to 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    const { payloads } = lines('c', 200);
    await send(relay.listening.udp!, payloads);
    await until('200 lines at the daemons', async () => (await a.stats()).metrics + (await b.stats()).metrics === 200);
    const stats = (await fetch(`http://127.0.0.1:${relay.listening.http}/stats`).then((r) => r.json())) as { lines: number; nodes: { lines_sent: number; up: boolean }[] };
    expect(stats.lines).toBe(200);
    expect(stats.nodes.map((n) => n.up)).toEqual([true, true]);
    expect(stats.nodes[0]!.lines_sent + stats.nodes[1]!.lines_sent).toBe(200);
    expect(await relay.stop()).toEqual({ code: 0, signal: null });
    expect(relay.stderr).toMatch(/stopped; 200 lines routed \(0 moved\), 0 bad, 0 unroutable/);
  });

  it('refuses a bad --node, or none, with one line', async () => {
    for (const [args, message] of [
      [['relay'], /at least one --node/],
      [['relay', '--node', 'nohost'], /--node expects HOST:PORT/],
      [['relay', '--node', '127.0.0.1:1,https=2'], /is not http=PORT/],
    ] as const) {
      const d = DaemonProcess.spawn([...args]);
      daemons.push(d);
      expect((await d.ended()).code).toBe(1);
      expect(d.stderr).toMatch(message);
    }
  });
});
