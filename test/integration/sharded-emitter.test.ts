// Sharded emitters (issue [7/7] item 2): an Emitter with `endpoints` sends
// each key to the node `statsd-native relay` over the same nodes would. Both
// run for real here, over sockets: 100k keys (a third of them tagged, tags in
// varying order) through an Emitter to three TCP collectors, and the same
// lines through a Relay to three UDP collectors; each key must land on the
// same collector index both ways.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { Emitter } from '../../src/emitter/emitter';
import { Relay } from '../../src/scale/relay';

const KEYS = 100_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** The key of a received line: its name, and its tags sorted (as the aggregator keys it). */
function keyOf(line: string): string {
  const name = line.slice(0, line.indexOf(':'));
  const tags = /\|#([^|]*)/.exec(line)?.[1];
  return tags ? `${name}#${tags.split(',').sort().join(',')}` : name;
}

/** Where each key arrived: key → collector index; a key seen at two collectors fails the test. */
class Landing {
  readonly at = new Map<string, number>();
  lines = 0;
  add(index: number, text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.lines++;
      const key = keyOf(line);
      const before = this.at.get(key);
      if (before !== undefined && before !== index) throw new Error(`${key} at collectors ${before} and ${index}`);
      this.at.set(key, index);
    }
  }
}

async function tcpCollector(landing: Landing, index: number): Promise<number> {
  const server = net.createServer((socket) => {
    let rest = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      const text = rest + d;
      const end = text.lastIndexOf('\n');
      rest = text.slice(end + 1);
      landing.add(index, text.slice(0, end + 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

async function udpCollector(landing: Landing, index: number): Promise<number> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  socket.on('message', (m) => landing.add(index, m.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket.address().port;
}

/** Key i: a counter, a third tagged (tags given in an order that varies with i). */
function call(i: number): { name: string; tags?: string[] } {
  if (i % 3 !== 0) return { name: `svc.k${i}` };
  const tags = [`host:h${i % 17}`, `env:e${i % 5}`];
  return { name: `svc.t${i}`, tags: i % 2 ? tags : tags.reverse() };
}

describe('sharded emitter ≡ relay', () => {
  it(`${KEYS} keys land on the same node through an Emitter with endpoints and through the relay`, async () => {
    const viaEmitter = new Landing();
    const viaRelay = new Landing();
    const tcpPorts = await Promise.all([0, 1, 2].map((i) => tcpCollector(viaEmitter, i)));
    const udpPorts = await Promise.all([0, 1, 2].map((i) => udpCollector(viaRelay, i)));

    const emitter = new Emitter({ endpoints: tcpPorts.map((p) => `tcp://127.0.0.1:${p}`), flushInterval: 3_600_000 });
    for (let i = 0; i < KEYS; i++) {
      const c = call(i);
      emitter.increment(c.name, 1, 1, c.tags);
    }
    await emitter.close();
    const deadline = Date.now() + 30_000;
    while (viaEmitter.lines < KEYS && Date.now() < deadline) await sleep(20);
    expect(emitter.stats).toMatchObject({ sent: KEYS, dropped: 0, errors: 0 });
    expect(viaEmitter.lines).toBe(KEYS);

    const relay = new Relay({ nodes: udpPorts.map((port) => ({ host: '127.0.0.1', port })), udp: { port: 0 } });
    await relay.start();
    closers.unshift(() => relay.stop(100));
    const socket = dgram.createSocket('udp4');
    closers.push(() => socket.close());
    // The same lines as the emitter wrote, 40 a datagram, 100 datagrams at a
    // time, each round waited for, so no socket buffer overflows on a busy machine.
    const lines = Array.from({ length: KEYS }, (_, i) => {
      const c = call(i);
      return `${c.name}:1|c${c.tags ? `|#${c.tags.join(',')}` : ''}`;
    });
    for (let start = 0; start < KEYS; start += 4000) {
      for (let p = start; p < Math.min(KEYS, start + 4000); p += 40) {
        await new Promise<void>((resolve, reject) => socket.send(lines.slice(p, p + 40).join('\n'), relay.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      }
      const want = Math.min(KEYS, start + 4000);
      const until = Date.now() + 20_000;
      while (viaRelay.lines < want && Date.now() < until) await sleep(5);
      expect(viaRelay.lines, `relay round ending at ${want}: ${JSON.stringify(relay.stats.nodes)}`).toBe(want);
    }

    expect(viaRelay.at.size).toBe(KEYS);
    expect(viaEmitter.at.size).toBe(KEYS);
    let differ = 0;
    for (const [key, node] of viaEmitter.at) if (viaRelay.at.get(key) !== node) differ++;
    expect(differ).toBe(0);
    const perNode = [0, 1, 2].map((n) => [...viaEmitter.at.values()].filter((v) => v === n).length);
    for (const n of perNode) expect(n).toBeGreaterThan(KEYS * 0.3);
  }, 120_000);

  it('a line the daemons could not take is counted dropped; a line of exactly maxPacketBytes goes in one packet of that size', async () => {
    const landing = new Landing();
    const sizes: number[] = [];
    const socket = dgram.createSocket('udp4');
    socket.on('message', (m) => {
      sizes.push(m.length);
      landing.add(0, m.toString());
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const port = socket.address().port;
    const emitter = new Emitter({ endpoints: [`127.0.0.1:${port}`, `127.0.0.1:${port}`], maxPacketBytes: 1432, flushInterval: 3_600_000 });
    emitter.increment(`${'n'.repeat(1432 - ':1|c'.length)}`); // exactly 1432 bytes
    emitter.increment('x'.repeat(9000)); // longer than the router's maxLineBytes (8192): the daemons would refuse it
    await emitter.close();
    const deadline = Date.now() + 5000;
    while (landing.lines < 1 && Date.now() < deadline) await sleep(10);
    await sleep(100);
    expect(sizes.every((n) => n <= 1432)).toBe(true);
    expect(landing.lines).toBe(1);
    expect(emitter.stats).toMatchObject({ sent: 1 });
    expect(emitter.stats.dropped).toBe(1);
  });

  it('endpoints: with endpoint, empty, or a unix socket, is refused by name', () => {
    expect(() => new Emitter({ endpoint: '127.0.0.1:1', endpoints: ['127.0.0.1:2'] })).toThrow(/either endpoint or endpoints/);
    expect(() => new Emitter({ endpoints: [] })).toThrow(/non-empty list/);
    expect(() => new Emitter({ endpoints: ['127.0.0.1:1', 'unix:///tmp/x.sock'] })).toThrow(/UDP or TCP endpoint for endpoints\[1\]/);
  });
});
