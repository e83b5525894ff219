// A seeded, deterministic corpus of realistic statsd traffic shared by the benches.
'use strict';

// What the corpus looks like (the same seed always gives the same bytes):
// - a pool of `keys` metric names, 20-60 bytes, skewed short (mean ~30), dotted
//   words like `flux.api.checkout.latency`; each key has one type for life:
//   c 35%, ms 30%, g 15%, h 10%, s 10%;
// - ~10% of keys carry DogStatsD tags (1-3 of `k:v`), so ~10% of lines are tagged;
// - c/ms/h keys are sampled (`|@0.1`, `|@0.25`, `|@0.5`, `|@0.01`) often enough
//   that ~10% of all lines carry a rate;
// - values: counters small integers, timers 0-2000 ms with up to 3 decimals,
//   histograms integers, gauges integers or 2-decimal values (15% relative `+n`/`-n`),
//   set members numeric user ids (what clients send, and what statsd-parser accepts);
// - keys are drawn with a mild skew (a few hot keys, a long tail);
// - lines are packed greedily into packets of at most `packetBytes` (1432: a
//   1500-byte MTU less headers), '\n' between lines and none at the end, the way
//   hot-shots and our own `pack` fill a datagram, so ~35 lines per packet.

// The package's one seeded PRNG (src/load/prng.ts): floats in [0, 1).
const { mulberry32 } = require('../dist/load/prng');

const WORDS = [
  'api', 'web', 'db', 'cache', 'queue', 'worker', 'frontend', 'backend', 'requests',
  'latency', 'errors', 'hits', 'misses', 'bytes', 'sent', 'received', 'user', 'login',
  'checkout', 'payment', 'search', 'render', 'template', 'http', 'status', '2xx', '5xx',
  'redis', 'mysql', 'pool', 'active', 'idle', 'gc', 'heap', 'cpu', 'mem', 'disk', 'io',
  'read', 'write', 'flux', 'fripp', 'jobs', 'batch', 'import', 'export', 'sync',
  'session', 'auth', 'token', 'upload', 'image', 'resize', 'kafka', 'lag', 'consumer',
];
const TAG_KEYS = ['env', 'region', 'host', 'service', 'version', 'shard'];
const TAG_VALUES = ['prod', 'staging', 'eu-west-1', 'us-east-2', 'web-12', 'api', '1.4.2', 'a7'];
const TYPES = [
  ['c', 0.35],
  ['ms', 0.3],
  ['g', 0.15],
  ['h', 0.1],
  ['s', 0.1],
];
const RATES = [0.1, 0.25, 0.5, 0.01];

function makeKeys(random, count) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const seen = new Set();
  const keys = [];
  while (keys.length < count) {
    // 20..60 bytes, mean ~30: short names are the common case
    const length = 20 + Math.floor(41 * random() ** 3);
    let name = '';
    while (name.length < length) {
      const word = random() < 0.15 ? `${pick(WORDS)}-${Math.floor(random() * 64)}` : pick(WORDS);
      name += (name === '' ? '' : '.') + word;
    }
    name = name.slice(0, length);
    if (name.endsWith('.')) name = name.slice(0, -1) + 'x';
    if (seen.has(name)) continue;
    seen.add(name);

    let u = random();
    let type = TYPES[TYPES.length - 1][0];
    for (const [t, share] of TYPES) {
      if (u < share) {
        type = t;
        break;
      }
      u -= share;
    }
    const sampled = type === 'c' || type === 'ms' || type === 'h';
    const sampleRate = sampled && random() < 0.11 / 0.75 ? pick(RATES) : 1;
    const tags = [];
    if (random() < 0.11) {
      const n = 1 + Math.floor(random() * 3);
      for (let i = 0; i < n; i++) tags.push(`${TAG_KEYS[i * 2 % TAG_KEYS.length]}:${pick(TAG_VALUES)}`);
    }
    keys.push({ name, type, sampleRate, tags });
  }
  return keys;
}

function makeMetric(random, key) {
  const metric = { name: key.name, type: key.type, value: 0 };
  switch (key.type) {
    case 'c':
      metric.value = 1 + Math.floor(random() ** 4 * 20);
      break;
    case 'ms':
      // half whole milliseconds, half with microsecond precision (12.345)
      metric.value = random() < 0.5 ? Math.floor(random() ** 3 * 2000) : Math.round(random() ** 3 * 2e6) / 1000;
      break;
    case 'h':
      metric.value = Math.floor(random() * 10000);
      break;
    case 'g':
      if (random() < 0.15) {
        const delta = 1 + Math.floor(random() * 9);
        metric.value = random() < 0.5 ? delta : -delta;
        metric.relative = true;
      } else {
        metric.value = random() < 0.5 ? Math.floor(random() * 100000) : Math.round(random() * 10000) / 100;
      }
      break;
    case 's':
      metric.value = String(100000 + Math.floor(random() * 900000));
      break;
  }
  if (key.sampleRate !== 1) metric.sampleRate = key.sampleRate;
  if (key.tags.length > 0) metric.tags = key.tags;
  return metric;
}

/** The statsd text of a corpus metric, as hot-shots and our `pack` write it. */
function lineOf(m) {
  const value = typeof m.value === 'number' && m.relative && m.value >= 0 ? `+${m.value}` : `${m.value}`;
  let line = `${m.name}:${value}|${m.type}`;
  if (m.sampleRate !== undefined) line += `|@${m.sampleRate}`;
  if (m.tags !== undefined) line += `|#${m.tags.join(',')}`;
  return line;
}

/**
 * Builds the corpus. Options: seed (1), bytes (~1 MiB of packets), packetBytes
 * (1432), keys (2000). Returns:
 * - packets: Buffer[], each ≤ packetBytes, lines joined by '\n';
 * - bulk: all packets joined by '\n' in one Buffer;
 * - metrics: one MetricInput per line, in order (what `pack` takes);
 * - lines: number of lines; stats: shape figures for the report.
 */
function makeCorpus(opts = {}) {
  const seed = opts.seed ?? 1;
  const bytes = opts.bytes ?? 1 << 20;
  const packetBytes = opts.packetBytes ?? 1432;
  const random = mulberry32(seed);
  const keys = makeKeys(random, opts.keys ?? 2000);

  const packets = [];
  const metrics = [];
  let texts = [];
  let packetLength = 0;
  let total = 0;
  const flush = () => {
    const packet = Buffer.from(texts.join('\n'), 'utf8');
    packets.push(packet);
    total += packet.length + 1;
    texts = [];
    packetLength = 0;
  };
  for (;;) {
    const key = keys[Math.floor(keys.length * random() ** 1.5)];
    const metric = makeMetric(random, key);
    const line = lineOf(metric);
    const length = Buffer.byteLength(line);
    if (packetLength > 0 && packetLength + 1 + length > packetBytes) {
      flush();
      if (total >= bytes) break;
    }
    packetLength += (packetLength > 0 ? 1 : 0) + length;
    texts.push(line);
    metrics.push(metric);
  }
  // (the metric that did not fit in the last packet was never pushed)
  const lines = metrics.length;
  const newline = Buffer.from('\n');
  const bulk = Buffer.concat(packets.flatMap((p, i) => (i === 0 ? [p] : [newline, p])));

  let nameBytes = 0;
  let tagged = 0;
  let sampled = 0;
  const byType = {};
  for (const m of metrics) {
    nameBytes += m.name.length;
    if (m.tags) tagged++;
    if (m.sampleRate !== undefined) sampled++;
    byType[m.type] = (byType[m.type] ?? 0) + 1;
  }
  const stats = {
    seed,
    packets: packets.length,
    lines,
    bulkBytes: bulk.length,
    linesPerPacket: lines / packets.length,
    meanPacketBytes: packets.reduce((n, p) => n + p.length, 0) / packets.length,
    meanNameBytes: nameBytes / lines,
    tagged: tagged / lines,
    sampled: sampled / lines,
    byType: Object.fromEntries(Object.entries(byType).map(([t, n]) => [t, n / lines])),
  };
  return { packets, bulk, metrics, lines, stats };
}

/** One line describing a corpus, for reports. */
function describe(stats) {
  const pct = (x) => `${Math.round(x * 100)}%`;
  const types = Object.entries(stats.byType)
    .sort((a, b) => b[1] - a[1])
    .map(([t, x]) => `${t} ${pct(x)}`)
    .join(', ');
  return (
    `seed ${stats.seed}: ${stats.packets} packets (mean ${Math.round(stats.meanPacketBytes)} B, ` +
    `${stats.linesPerPacket.toFixed(1)} lines each), ${stats.lines} lines, ` +
    `${(stats.bulkBytes / 1048576).toFixed(2)} MiB; names mean ${stats.meanNameBytes.toFixed(1)} B; ` +
    `${pct(stats.tagged)} tagged, ${pct(stats.sampled)} with a sample rate; ${types}`
  );
}

module.exports = { makeCorpus, describe, lineOf };

if (require.main === module) {
  const corpus = makeCorpus();
  console.log(describe(corpus.stats));
  console.log(corpus.packets[0].toString());
}
