// Per-call cost of the StatsD drop-in vs hot-shots 17: ns per increment and per
// timing call, real UDP to a receiver in another process, maxBufferSize 8192.
// A plain script (not a suite of bench/run.js): `npm run build && node bench/statsd-percall.js`.
'use strict';
const { fork } = require('node:child_process');
const os = require('node:os');

const HotShots = require('hot-shots');
const { StatsD } = require('../dist');

const CALLS = Number(process.env.CALLS || 200_000);
const BATCH = 10_000; // calls between yields, so sends complete as they would in a service
const ROUNDS = 5;

// The receiver counts lines in its own process, off our clock.
function startReceiver() {
  const child = fork(__filename, ['receiver'], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('message', (m) => resolve({ child, port: m.port })));
}

if (process.argv[2] === 'receiver') {
  const socket = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let lines = 0;
  socket.on('message', (m) => {
    for (let i = m.indexOf(10); i !== -1; i = m.indexOf(10, i + 1)) lines++;
    lines++;
  });
  process.on('message', (m) => m === 'count' && process.send({ lines }));
  process.on('disconnect', () => socket.close());
  socket.bind(0, '127.0.0.1', () => process.send({ port: socket.address().port }));
  return;
}

const yieldNow = () => new Promise((resolve) => setImmediate(resolve));

async function measure(make, call, port) {
  const client = make(port);
  for (let i = 0; i < 50_000; i++) call(client, i); // warm up
  await yieldNow();
  const perCall = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let done = 0; done < CALLS; done += BATCH) {
      for (let i = 0; i < BATCH; i++) call(client, i);
      await yieldNow();
    }
    perCall.push(Number(process.hrtime.bigint() - start) / CALLS);
  }
  await new Promise((resolve) => client.close(() => resolve()));
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(ROUNDS / 2)]; // median
}

const TAGS = ['env:prod', 'route:/api'];
const cases = {
  'increment(name)': (c) => c.increment('requests'),
  'timing(name, ms)': (c, i) => c.timing('latency', i & 1023),
  'increment(name, 1, tags)': (c) => c.increment('requests', 1, TAGS),
  'timing(name, ms, tags)': (c, i) => c.timing('latency', i & 1023, TAGS),
};
const contenders = {
  'hot-shots 17': (port) => new HotShots({ host: '127.0.0.1', port, maxBufferSize: 8192 }),
  'statsd-native StatsD': (port) => new StatsD({ host: '127.0.0.1', port, maxBufferSize: 8192 }),
};

(async () => {
  const { child, port } = await startReceiver();
  console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}; ${CALLS} calls x ${ROUNDS} rounds, median`);
  for (const [name, call] of Object.entries(cases)) {
    const ns = {};
    for (const [who, make] of Object.entries(contenders)) ns[who] = await measure(make, call, port);
    const [theirs, ours] = Object.values(ns);
    console.log(`${name.padEnd(26)} hot-shots ${theirs.toFixed(0).padStart(5)} ns  ours ${ours.toFixed(0).padStart(4)} ns  (${(theirs / ours).toFixed(1)}x)`);
  }
  child.send('count');
  const { lines } = await new Promise((resolve) => child.once('message', resolve));
  console.log(`receiver got ${lines} lines`);
  child.disconnect();
})();
