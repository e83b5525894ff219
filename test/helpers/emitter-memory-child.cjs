// Measures what an Emitter holds per key (from src/, transpiled with the
// typescript devDependency); run by test/integration/emitter-memory.test.ts in
// a child process with --expose-gc, so the heap is this process's alone.
//
// argv: type (c g ms s), keys. Each key is used once (a timing: 20 samples),
// flushed to a UDP receiver; then the emitter idles for idleIntervals + 3 of
// its 100 ms intervals. stdout: one JSON line { idleBytesPerKey, freedBytesPerKey, keysHeld,
// keysAfterIdle, sent, dropped } where bytes are V8 heap + array buffers after
// full GCs, over the baseline before the keys.
'use strict';
const dgram = require('node:dgram');
const path = require('node:path');

require('./require-ts.cjs');

const { Emitter } = require(path.join(__dirname, '..', '..', 'src', 'index.ts'));

const type = process.argv[2];
const keys = Number(process.argv[3]);
const IDLE = 10; // intervals of 100 ms: the idle measurement is well within them

async function held() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

(async () => {
  const receiver = dgram.createSocket('udp4');
  receiver.on('message', () => {});
  await new Promise((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const e = new Emitter({ endpoint: `127.0.0.1:${receiver.address().port}`, flushInterval: 100, idleIntervals: IDLE, env: {} });
  // names built beforehand, kept alive to the end: they are the caller's, not the emitter's
  const names = Array.from({ length: keys }, (_, i) => `mem.key.${i}`);
  await e.flush();
  const before = await held();
  for (const name of names) {
    if (type === 'frozen') {
      // one busy key, a new frozen tags array every call (immer-frozen state, say)
      for (let i = 0; i < 6; i++) e.increment('mem.frozen', 1, 1, Object.freeze(['env:prod']));
    } else if (type === 'c') e.increment(name);
    else if (type === 'g') e.gauge(name, 1);
    else if (type === 'ms') for (let j = 0; j < 20; j++) e.timing(name, j);
    else e.set(name, 'member');
  }
  await e.flush();
  const idle = await held();
  const keysHeld = e.stats.keys;
  // idle: the emitter's own flushes (every 100 ms) age the keys
  await new Promise((resolve) => setTimeout(resolve, (IDLE + 3) * 100));
  const freed = await held();
  const keysAfterIdle = e.stats.keys;
  // as many new keys again: they take the freed slots
  const again = Array.from({ length: keys }, (_, i) => `mem.again.${i}`);
  const beforeAgain = await held();
  for (const name of again) e.increment(name);
  await e.flush();
  const reused = await held();
  const stats = e.stats;
  await e.close();
  receiver.close();
  process.stdout.write(
    `${JSON.stringify({
      idleBytesPerKey: (idle - before) / keys,
      freedBytesPerKey: (freed - before) / keys,
      reusedBytesPerKey: (reused - beforeAgain) / keys,
      keysHeld,
      keysAfterIdle,
      sent: stats.sent,
      dropped: stats.dropped,
      names: names.length + again.length,
    })}\n`,
  );
})();
