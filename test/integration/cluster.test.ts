// Scale-out on Graphite's own cluster engine (issue [7/7] item 4), all real
// processes on loopback: `statsd-native relay` in front of three
// `statsd-native serve` daemons, which flush every second to carbon-c-relay
// (jump_fnv1a_ch) in front of three carbon-caches; read back from every
// whisper file. A daemon is killed mid-run and started again. And a second
// topology with VictoriaMetrics as the store.
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Carbon, carbonMissing, freePort } from '../helpers/carbon';
import { CarbonCRelay, carbonCRelayMissing } from '../helpers/carbon-c-relay';
import { DaemonProcess, freeUdpPort } from '../helpers/daemon-cli';
import { VictoriaMetrics, victoriaMetricsMissing } from '../helpers/victoria-metrics';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEYS = 60;

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every series of a whisper tree, summed over its datapoints (one spawn of Debian's python3 per tree). */
function whisperTotals(root: string): Promise<Map<string, number>> {
  const script = `
import json, os, sys, time, whisper
root = sys.argv[1]
out = {}
now = int(time.time()) + 5
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith('.wsp'):
            p = os.path.join(d, f)
            (start, end, step), values = whisper.fetch(p, now - 3500, now)
            out[os.path.relpath(p, root)[:-4].replace(os.sep, '.')] = sum(v for v in values if v is not None)
print(json.dumps(out))`;
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/python3', ['-c', script, root], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(new Map(Object.entries(JSON.parse(stdout) as Record<string, number>))),
    ),
  );
}

/** One round: each key `cl.k<i>` gets i % 5 + 1, 30 lines a datagram. */
async function sendRound(port: number, sent: Map<string, number>): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const lines = Array.from({ length: KEYS }, (_, i) => `cl.k${i}:${(i % 5) + 1}|c`);
  for (let i = 0; i < lines.length; i += 30) {
    await new Promise<void>((resolve, reject) => socket.send(lines.slice(i, i + 30).join('\n'), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  socket.close();
  for (let i = 0; i < KEYS; i++) sent.set(`cl.k${i}`, (sent.get(`cl.k${i}`) ?? 0) + (i % 5) + 1);
}

const missing = carbonMissing() ?? carbonCRelayMissing();

describe.skipIf(missing !== undefined)('relay → 3 daemons → carbon-c-relay (jump_fnv1a_ch) → 3 carbon-caches', () => {
  const carbons: Carbon[] = [];
  let ccr: CarbonCRelay;
  const daemons: (DaemonProcess | undefined)[] = [];
  let relay: DaemonProcess;

  afterAll(async () => {
    await relay?.stop();
    for (const d of daemons) await d?.stop();
    await ccr?.stop();
    for (const c of carbons) await c.stop();
  });

  const serve = (udp: number, http: number, i: number) =>
    DaemonProcess.start(['serve', '--port', String(udp), '--http', `127.0.0.1:${http}`, '--flush-interval', '1000', '--server-name', `d${i}`, '--graphite', `127.0.0.1:${ccr.port}`]);
  const relayStats = async () => (await fetch(`http://127.0.0.1:${relay.listening.http}/stats`)).json() as Promise<{ lines: number; moved: number; nodes: { lines_sent: number; up: boolean }[] }>;

  it('every counter total arrives, each series in exactly one cache, each key at one daemon; a killed daemon loses at most what was sent to it before it was marked down, and nothing is counted twice', async () => {
    for (let i = 0; i < 3; i++) carbons.push(await Carbon.start());
    ccr = await CarbonCRelay.start({ destinations: carbons.map((c) => `127.0.0.1:${c.ports.line}`), hash: 'jump_fnv1a_ch' });
    const ports = await Promise.all([0, 1, 2].map(async () => ({ udp: await freeUdpPort(), http: await freePort() })));
    for (let i = 0; i < 3; i++) daemons.push(await serve(ports[i]!.udp, ports[i]!.http, i));
    relay = await DaemonProcess.start(['relay', '--port', '0', '--http', '127.0.0.1:0', '--health-interval', '200', ...ports.flatMap((p) => ['--node', `127.0.0.1:${p.udp},http=${p.http}`])]);
    const sent = new Map<string, number>();

    // Phase 1, all up: three rounds a second apart.
    for (let r = 0; r < 3; r++) {
      await sendRound(relay.listening.udp!, sent);
      await sleep(1000);
    }
    await until('the daemons to take phase 1', async () => {
      let lines = 0;
      for (const d of daemons) lines += (await d!.stats()).metrics;
      return lines === 3 * KEYS;
    });
    // every key at exactly one daemon: their line counts add up, and each held its own keys
    const held = await Promise.all(daemons.map(async (d) => (await d!.stats()).unique_keys as number));
    expect(held.reduce((a, b) => a + b, 0)).toBe(KEYS);
    await sleep(1500); // a flush after the last line: daemon 1 holds nothing unflushed

    // Phase 2: daemon 1 is killed (no shutdown flush); lines keep coming.
    const before = (await relayStats()).nodes[1]!.lines_sent;
    await daemons[1]!.stop('SIGKILL');
    daemons[1] = undefined;
    for (let r = 0; r < 3; r++) {
      await sendRound(relay.listening.udp!, sent);
      await sleep(400);
    }
    await until('the relay to mark daemon 1 down', async () => !(await relayStats()).nodes[1]!.up);
    const atDown = await relayStats();
    const lostBound = atDown.nodes[1]!.lines_sent - before; // sent to the dead daemon before it was marked down
    for (let r = 0; r < 3; r++) {
      await sendRound(relay.listening.udp!, sent);
      await sleep(400);
    }
    expect((await relayStats()).moved).toBeGreaterThan(0);
    await sleep(2500); // daemon 2's idle report of the moved keys (brubeck reports a key once more) is flushed

    // Phase 3: daemon 1 comes back on its ports; its keys go home.
    daemons[1] = await serve(ports[1]!.udp, ports[1]!.http, 1);
    await until('the relay to mark daemon 1 up', async () => (await relayStats()).nodes[1]!.up);
    await sleep(2500); // as above, for the keys going home
    for (let r = 0; r < 3; r++) {
      await sendRound(relay.listening.udp!, sent);
      await sleep(1000);
    }
    await sleep(2000);
    for (const d of daemons) await d!.stop(); // SIGTERM: each flushes and delivers what it holds
    const relayFinal = await relayStats();

    // Read back every whisper file of every cache.
    const expected = [...sent.values()].reduce((a, b) => a + b, 0);
    // Until carbon has written it all: every key's file there, the sum steady over three reads.
    let totals: Map<string, number>[] = [];
    let stored = -1;
    let steady = 0;
    const deadline = Date.now() + 30_000;
    while (steady < 3 && Date.now() < deadline) {
      await sleep(400);
      totals = await Promise.all(carbons.map((c) => whisperTotals(path.join(c.dir, 'storage', 'whisper'))));
      const sum = totals.reduce((a, t) => a + [...t].filter(([k]) => k.startsWith('cl.')).reduce((x, [, v]) => x + v, 0), 0);
      const all = [...sent.keys()].every((k) => totals.some((t) => t.has(k)));
      steady = all && sum === stored ? steady + 1 : 0;
      stored = sum;
    }
    // each series in exactly one cache, and the keys spread over all three
    for (let i = 0; i < KEYS; i++) expect(totals.filter((t) => t.has(`cl.k${i}`)).length, `cl.k${i}`).toBe(1);
    for (const t of totals) expect([...t.keys()].filter((k) => k.startsWith('cl.')).length).toBeGreaterThan(KEYS / 10);
    // Nothing counted twice: no key above what was sent. What is missing is
    // whole lines (each round gives key i the value i % 5 + 1), and no more of
    // them than the relay sent the killed daemon before marking it down.
    let linesLost = 0;
    for (const [key, value] of sent) {
      const diff = value - totals.find((t) => t.has(key))!.get(key)!;
      const perLine = (Number(key.slice('cl.k'.length)) % 5) + 1;
      expect(diff, key).toBeGreaterThanOrEqual(0);
      expect(diff % perLine, key).toBe(0);
      linesLost += diff / perLine;
    }
    expect(linesLost).toBeLessThanOrEqual(lostBound);
    expect(relayFinal.lines).toBe(12 * KEYS);
    // what the relay says it sent is every line, and carbon-c-relay dropped nothing
    expect(relayFinal.nodes.reduce((a, n) => a + n.lines_sent, 0)).toBe(12 * KEYS);
    expect(ccr.log).not.toMatch(/dropped/);
    console.log(`cluster: ${12 * KEYS} lines (total ${expected}) sent, total ${stored} stored; ${linesLost} lines lost, bound ${lostBound} (lines sent to the killed daemon before it was marked down); ${relayFinal.moved} lines moved`);
  }, 180_000);
});

describe.skipIf(victoriaMetricsMissing() !== undefined)('relay → 2 daemons → VictoriaMetrics (Graphite listener)', () => {
  let vm: VictoriaMetrics;
  const procs: DaemonProcess[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await vm?.stop();
  });

  it('every counter total is read back through its HTTP API', async () => {
    vm = await VictoriaMetrics.start();
    const a = await DaemonProcess.start(['serve', '--port', '0', '--flush-interval', '1000', '--server-name', 'va', '--graphite', `127.0.0.1:${vm.graphitePort}`]);
    const b = await DaemonProcess.start(['serve', '--port', '0', '--flush-interval', '1000', '--server-name', 'vb', '--graphite', `127.0.0.1:${vm.graphitePort}`]);
    procs.push(a, b);
    const relay = await DaemonProcess.start(['relay', '--port', '0', '--node', `127.0.0.1:${a.listening.udp},http=${a.listening.http}`, '--node', `127.0.0.1:${b.listening.udp},http=${b.listening.http}`]);
    procs.push(relay);
    const sent = new Map<string, number>();
    for (let r = 0; r < 3; r++) {
      await sendRound(relay.listening.udp!, sent);
      await sleep(1000);
    }
    await relay.stop();
    await a.stop();
    await b.stop();
    await vm.flush();
    for (const [key, value] of sent) {
      const points = await vm.series(key);
      expect(points.reduce((s, [, v]) => s + v, 0), key).toBe(value);
    }
  }, 90_000);
});
