// Launcher standing in for etsy statsd's `stats.js` when etsy statsd 0.9's own
// graphite tests (node_modules/statsd/test/graphite_*.js) run against our
// daemon: they spawn `node stats.js <config>` in their working directory, so
// test/integration/etsy-suite.test.ts runs them with this directory as cwd.
//
//   node stats.js CONFIG
//
// Runs `node <repo>/dist/cli.js serve --config CONFIG` on the same etsy config
// file (our config reader picks the etsy convention for it by itself; this
// checks it did), pointed at a FlushRelay (relay.js) that forwards our one
// persistent carbon connection to the config's graphiteHost and graphitePort
// (graphitePicklePort with graphiteProtocol "pickle") as one connection per
// flush, as etsy's graphite backend writes. The daemon is pointed at the relay
// with `--graphite 127.0.0.1:RELAY [--pickle]`, which overrides the file's
// carbon address and nothing else, so the file is read as given.
//
// Prints `server is up` on stdout once our daemon logs "listening on", as etsy
// statsd does once it is up. SIGTERM / SIGINT stop the daemon (it flushes what
// it holds into the relay, which drops it: the test's carbon is gone by then)
// and exit when it has; the launcher exits with the daemon's code if the
// daemon exits on its own, and stops the daemon if its own parent goes away.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const { FlushRelay } = require('./relay');

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');

function log(message) {
  process.stderr.write(`etsy-suite launcher: ${message}\n`);
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    log('usage: node stats.js CONFIG');
    process.exit(1);
  }
  // etsy statsd evaluates the file as a JavaScript object literal (lib/config.js).
  const config = vm.runInNewContext(`(${fs.readFileSync(file, 'utf8')}\n)`, {}, { filename: file, timeout: 1000 });

  const args = [CLI, 'serve', '--config', file];
  let relay;
  if (config.graphiteHost !== undefined) {
    const pickle = config.graphiteProtocol === 'pickle';
    relay = new FlushRelay({
      downstreamHost: String(config.graphiteHost),
      downstreamPort: Number(pickle ? config.graphitePicklePort ?? 2004 : config.graphitePort ?? 2003),
      format: pickle ? 'pickle' : 'plaintext',
      log,
    });
    const port = await relay.listen(0);
    args.push('--graphite', `127.0.0.1:${port}`);
    if (pickle) args.push('--pickle');
  }

  const daemon = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  let up = false;
  let stderr = '';
  daemon.stdout.pipe(process.stdout);
  daemon.stderr.setEncoding('utf8').on('data', (text) => {
    process.stderr.write(text);
    if (up) return;
    stderr += text;
    const line = stderr.split('\n').find((l) => l.includes('listening on'));
    if (!line) return;
    up = true;
    if (!/; etsy convention;/.test(line)) {
      log(`the daemon did not pick the etsy convention for ${file}: ${line}`);
      stop();
      return;
    }
    process.stdout.write('server is up\n');
  });
  daemon.on('exit', (code, signal) => {
    if (relay) relay.close();
    if (!stopping) log(`the daemon exited on its own (code ${code}, signal ${signal})`);
    process.exit(stopping ? 0 : code || 1);
  });

  function stop() {
    if (stopping) return;
    stopping = true;
    if (relay) relay.discard();
    daemon.kill('SIGTERM');
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The test runner may be killed without stopping us: stop with it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 250);
}

main().catch((error) => {
  log(error.stack || String(error));
  process.exit(1);
});
