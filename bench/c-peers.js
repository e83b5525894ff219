// The compare-daemons suite's C peers from Debian (collectd's statsd plugin; netdata, detected only) and the Graphite sink that counts any server's counter increments by run prefix.
'use strict';

// The bench never installs anything: a peer whose binary is missing is
// skipped, and the suite says so in a note (`apt-get install
// --no-install-recommends collectd-core` brings collectd).

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { freePort, peerServer, sleep, track, udpSocket } = require('./processes');

const COLLECTD = '/usr/sbin/collectd';
const NETDATA = '/usr/sbin/netdata';

// A run's keys are `load.<8 hex digits>.<type>.key<k>` (src/load/load.ts
// runPrefix). Each server names a flushed counter its own way; the sink
// knows these three, each giving the increments of one interval:
//   ours (brubeck)               load.abcd1234.c.key7 <n> <ts>
//   etsy statsd                  stats_counts.load.abcd1234.c.key7 <n> <ts>
//   collectd (CounterSum true,   <host>.statsd.count-load_abcd1234_c_key7 <n> <ts>
//     write_graphite, '.' → '_')
const NAMES = [/^(load\.[0-9a-f]{8})\.c\./, /^stats_counts\.(load\.[0-9a-f]{8})\.c\./, /\.statsd\.count-load_([0-9a-f]{8})_c_/];

function prefixOf(name) {
  for (const re of NAMES) {
    const m = re.exec(name);
    if (m) return m[1].startsWith('load.') ? m[1] : `load.${m[1]}`;
  }
  return undefined;
}

/**
 * A Graphite plaintext TCP sink on a free loopback port that sums counter
 * increments per run prefix: { port, counted(prefix), waitFor(prefix, n, ms), close() }.
 * waitFor resolves once `n` increments of that run arrived or `ms` passed: the
 * same rule as `statsd-native load --sink --wait`.
 */
async function counterSink() {
  const counts = new Map();
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let rest = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      const text = rest + chunk;
      const end = text.lastIndexOf('\n');
      rest = text.slice(end + 1);
      for (const line of text.slice(0, end + 1).split('\n')) {
        const [name, value] = line.split(' ');
        const prefix = name && prefixOf(name);
        if (prefix !== undefined) counts.set(prefix, (counts.get(prefix) ?? 0) + Number(value));
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const counted = (prefix) => counts.get(prefix) ?? 0;
  return {
    port: server.address().port,
    counted,
    async waitFor(prefix, n, ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && counted(prefix) < n) await sleep(50);
      return counted(prefix);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** collectd's version ("5.12.0") if /usr/sbin/collectd runs and has the statsd and write_graphite plugins, else undefined. */
function collectdVersion() {
  if (!fs.existsSync(COLLECTD)) return undefined;
  if (!['statsd', 'write_graphite'].every((p) => fs.existsSync(`/usr/lib/collectd/${p}.so`))) return undefined;
  const r = spawnSync(COLLECTD, ['-h'], { encoding: 'utf8' });
  const m = /collectd (\d+\.\d+\.\d+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : 'unknown version';
}

/**
 * Starts collectd in the foreground with a private config: only its statsd
 * plugin, on a free loopback UDP port (its own recv loop, the default receive
 * buffer), dispatching every `flushMs` with CounterSum (a `count` per counter
 * per interval, etsy's stats_counts), and write_graphite to 127.0.0.1:`sinkPort`,
 * flushed every interval (without FlushInterval it holds a partial buffer
 * until it fills). Its log (one error per line it cannot parse, `|h` among
 * them) goes to /dev/null. Resolves once the UDP port is bound:
 * { child, udpPort, stop() } (stop also removes the config).
 */
async function startCollectd({ sinkPort, flushMs, graceMs = 300 }) {
  const udpPort = await freePort('udp');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statsd-collectd-'));
  const config = path.join(dir, 'collectd.conf');
  const interval = flushMs / 1000;
  fs.writeFileSync(
    config,
    `Hostname "bench"
FQDNLookup false
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval ${interval}
AutoLoadPlugin false
LoadPlugin statsd
<LoadPlugin write_graphite>
  FlushInterval ${interval}
</LoadPlugin>
<Plugin statsd>
  Host "127.0.0.1"
  Port "${udpPort}"
  CounterSum true
</Plugin>
<Plugin write_graphite>
  <Node "sink">
    Host "127.0.0.1"
    Port "${sinkPort}"
    Protocol "tcp"
    EscapeCharacter "_"
    StoreRates false
  </Node>
</Plugin>
`,
  );
  const child = track(spawn(COLLECTD, ['-f', '-C', config], { stdio: 'ignore' }));
  const deadline = Date.now() + 15_000;
  while (udpSocket(udpPort) === undefined) {
    if (child.exitCode !== null) throw new Error(`collectd exited with ${child.exitCode} (try ${COLLECTD} -t -C ${config})`);
    if (Date.now() > deadline) throw new Error('collectd did not bind its statsd port in 15 s');
    await sleep(20);
  }
  return peerServer(child, udpPort, dir, graceMs);
}

/**
 * Why netdata is not measured: it is detected only. Its statsd is part of the
 * whole agent (collectors, web server, database under /var), which would need
 * a private netdata.conf and exporting.conf and was not available here to
 * develop the case against.
 */
function netdataNote() {
  return fs.existsSync(NETDATA)
    ? `netdata is installed (${NETDATA}) but not measured: this suite does not yet drive its statsd (a private netdata.conf and a Graphite exporting.conf), which was not available to develop against.`
    : `netdata's statsd is not measured: ${NETDATA} is not installed (Debian's \`netdata\` package; the bench installs nothing).`;
}

module.exports = { counterSink, collectdVersion, startCollectd, netdataNote, prefixOf };
