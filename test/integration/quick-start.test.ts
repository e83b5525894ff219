// README "Quick start" (issue [6/7] item 5): every command it gives is run
// here. Those that need root are replaced by the same programs on a private
// directory and free ports: `apt-get install` (the binaries must be there:
// .ci/run installs them), `systemctl restart carbon-cache` (carbon-cache
// started by test/helpers/carbon.ts with the README's storage-schemas section)
// and `sudo graphite-manage migrate` / `graphite-manage runserver` (run by
// test/helpers/graphite-web.ts with a private settings module). Fixed ports
// become free ones (other test files bind 8125 and 8080 at the same time):
// `npm start -- --port P --http H`, and the commands after it follow.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Carbon, carbonMissing, freePort } from '../helpers/carbon';
import { DaemonProcess, freeUdpPort } from '../helpers/daemon-cli';
import { externalEnv } from '../helpers/external-env';
import { GraphiteWeb, graphiteWebMissing } from '../helpers/graphite-web';

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SECTION = README.slice(README.indexOf('## Quick start'), README.indexOf('\n## ', README.indexOf('## Quick start') + 5));
const BLOCKS = [...SECTION.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }));
const COMMANDS = BLOCKS.filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')));
const PROMETHEUS = '/usr/bin/prometheus';

/** The one command of the section that starts with `prefix`. */
function command(prefix: string): string {
  const found = COMMANDS.filter((c) => c.startsWith(prefix));
  expect(found, `README Quick start: one command starting ${JSON.stringify(prefix)}`).toHaveLength(1);
  return found[0]!;
}
const block = (lang: string, i = 0) => BLOCKS.filter((b) => b.lang === lang)[i]!.text;

/** Runs `line` with bash (as a user would paste it); resolves with stdout. */
function bash(line: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/bash', ['-c', line], { cwd: ROOT, env: externalEnv(env), timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${line}: ${error.message} (exit ${String(error.code)}, signal ${String(error.signal)})\n${stderr}`)) : resolve(stdout),
    );
  });
}

async function eventually<T>(what: string | (() => string), timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const r = await attempt();
      if (r !== undefined) return r;
      last = undefined; // answered, not yet with it
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('README Quick start', () => {
  it('the section has exactly the commands this file runs', () => {
    expect(COMMANDS).toEqual([
      'npm install',
      'npm start',
      'echo "hello.requests:1|c" > /dev/udp/127.0.0.1/8125',
      'sudo apt-get install graphite-carbon graphite-web',
      'sudo systemctl restart carbon-cache',
      'npx statsd-native serve --port 8126 --flush-interval 1000 --graphite 127.0.0.1:2003',
      'export FLUX_FRIPP_STATSD=127.0.0.1:8126',
      'echo "flux.job.submitted:1|c" > /dev/udp/127.0.0.1/8126',
      'sudo graphite-manage migrate --run-syncdb',
      'graphite-manage runserver 127.0.0.1:8000 --noreload',
      'curl -s "http://127.0.0.1:8000/render?target=flux.job.submitted&from=-5min&format=json"',
      'curl -s "http://127.0.0.1:8080/metrics/find?query=hello.*"',
      expect.stringMatching(/^curl -s -d "target=alias\(hello\.requests,'requests'\)&from=-1h&until=now&format=json&maxDataPoints=500" http:\/\/127\.0\.0\.1:8080\/render$/),
      'prometheus --config.file=prometheus.yml',
      'echo "hello.scraped:2|c" > /dev/udp/127.0.0.1/8125',
      expect.stringMatching(/^curl -s "http:\/\/127\.0\.0\.1:9090\/api\/v1\/query\?query=/),
    ]);
    // `npm install` is CI's own first step (npm ci, its clean form); the rest are run below.
  });

  describe('(a) npm start, (c) Grafana\'s requests, (d) Prometheus', () => {
    let npm: ChildProcess | undefined;
    let stderr = '';
    let stdout = '';
    let udp = 0;
    let http = 0;
    const dirs: string[] = [];
    let prometheus: ChildProcess | undefined;

    afterAll(async () => {
      for (const child of [npm, prometheus]) {
        if (child?.pid && child.exitCode === null) {
          try {
            process.kill(-child.pid, 'SIGTERM');
          } catch {
            // gone
          }
        }
      }
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it('(a) npm start serves the page and the series a line made, after one flush', async () => {
      // On free ports (npm start -- --port … --http …): other test files need
      // 8125 and 8080 meanwhile (etsy's own suite waits for 8125).
      udp = await freeUdpPort();
      http = await freePort();
      const args = ['start', '--', '--port', String(udp), '--http', `127.0.0.1:${http}`];
      npm = spawn('npm', args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLUX_FRIPP_STATSD: undefined } });
      npm.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      npm.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      await eventually('npm start to print its URL', 30_000, async () => (stderr.includes(`open http://127.0.0.1:${http}/`) ? true : undefined));
      expect(stderr).toMatch(new RegExp(`listening on udp://127\\.0\\.0\\.1:${udp}, http://127\\.0\\.0\\.1:${http}; brubeck convention; flushing every 10000 ms to stdout carbon, history`));
      await bash(command('echo "hello.requests:1').replace('/8125', `/${udp}`));
      const page = await fetch(`http://127.0.0.1:${http}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      // The key is there after the next flush (10 s at most).
      const points = await eventually('hello.requests in the history', 25_000, async () => {
        const r = (await (await fetch(`http://127.0.0.1:${http}/render?target=hello.requests&from=-1min`)).json()) as { datapoints: [number | null, number][] }[];
        const values = r[0]?.datapoints.map(([v]) => v).filter((v) => v !== null);
        return values?.length ? values : undefined;
      });
      expect(points).toEqual([1]);
      // and the flush was printed on stdout as carbon plaintext, stamped now
      const line = /^hello\.requests 1 (\d+)$/m.exec(stdout);
      expect(line, stdout.slice(-2000)).not.toBeNull();
      expect(Math.abs(Number(line![1]) - Date.now() / 1000)).toBeLessThan(60);
    }, 60_000);

    it('(c) the provisioning file points at the daemon, and answers what Grafana asks', async () => {
      expect(block('yaml', 0)).toMatch(/type: graphite[\s\S]*url: http:\/\/127\.0\.0\.1:8080/);
      const port = (c: string) => c.replaceAll('127.0.0.1:8080', `127.0.0.1:${http}`);
      const find = JSON.parse(await bash(port(command('curl -s "http://127.0.0.1:8080/metrics/find'))));
      expect(find).toEqual([{ text: 'requests', id: 'hello.requests', leaf: 1, expandable: 0, allowChildren: 0 }]);
      const render = JSON.parse(await bash(port(command('curl -s -d'))));
      expect(render).toHaveLength(1);
      expect(render[0].target).toBe('requests');
      expect(render[0].datapoints.filter(([v]: [number | null]) => v !== null).map(([v]: [number]) => v)).toEqual([1]);
    });

    it.skipIf(!fs.existsSync(PROMETHEUS))('(d) prometheus with the README\'s scrape config gets the counter sent after its first scrape', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-quick-prom-'));
      dirs.push(dir);
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), block('yaml', 1).replaceAll('127.0.0.1:8080', `127.0.0.1:${http}`));
      const web = await freePort();
      const [program, ...args] = command('prometheus ').split(' ');
      const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
      prometheus = spawn(program === 'prometheus' ? PROMETHEUS : program!, [...args, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${web}`], {
        cwd: dir,
        detached: true,
        stdio: ['ignore', log, log],
        env: externalEnv(),
      });
      fs.closeSync(log);
      const query = command('curl -s "http://127.0.0.1:9090').replace('127.0.0.1:9090', `127.0.0.1:${web}`);
      // /metrics reads flushes from its first scrape: the line goes once Prometheus has scraped.
      const up = `curl -s "http://127.0.0.1:${web}/api/v1/query?query=up"`;
      await eventually('prometheus to scrape the daemon', 60_000, async () => {
        const r = JSON.parse(await bash(up)) as { data?: { result?: { value: [number, string] }[] } };
        return r.data?.result?.[0]?.value[1] === '1' ? true : undefined;
      });
      await bash(command('echo "hello.scraped:2').replace('/8125', `/${udp}`));
      // A key first sent after the first scrape: its counter is what was sent
      // (the next flush's idle report adds 0).
      const seen: string[] = [];
      const value = await eventually(() => `the counter at 2 in prometheus (seen ${JSON.stringify(seen)})\n${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8').slice(-3000)}`, 60_000, async () => {
        const r = JSON.parse(await bash(query)) as { data?: { result?: { value: [number, string] }[] } };
        const v = r.data?.result?.[0]?.value[1];
        if (v !== undefined && seen[seen.length - 1] !== v) seen.push(v);
        return v === '2' ? v : undefined;
      });
      expect(Number(value)).toBe(2);
      expect(seen).toEqual(['2']); // never another value on the way
    }, 120_000);
  });

  describe.skipIf((carbonMissing() ?? graphiteWebMissing()) !== undefined)('(b) carbon-cache, the daemon on 8126, graphite-web', () => {
    let carbon: Carbon;
    let web: GraphiteWeb;
    let daemon: DaemonProcess;

    afterAll(async () => {
      await daemon?.stop();
      await web?.stop();
      await carbon?.stop();
    });

    it('a line sent where FLUX_FRIPP_STATSD points reaches graphite-web at 1 s resolution', async () => {
      for (const binary of ['/usr/bin/carbon-cache', '/usr/bin/graphite-manage']) expect(fs.existsSync(binary), binary).toBe(true); // what apt-get installs
      expect(command('sudo systemctl')).toBe('sudo systemctl restart carbon-cache');
      carbon = await Carbon.start({ schemas: block('ini') });
      const udp = await freeUdpPort();
      const serve = command('npx statsd-native serve').replace('--port 8126', `--port ${udp}`).replace('127.0.0.1:2003', `127.0.0.1:${carbon.ports.line}`);
      expect(serve.startsWith('npx statsd-native ')).toBe(true);
      daemon = await DaemonProcess.start(serve.split(' ').slice(2)); // `npx statsd-native` is dist/cli.js
      const endpoint = command('export FLUX_FRIPP_STATSD=').split('=')[1]!.replace(':8126', `:${udp}`);
      await bash(`${command('export FLUX_FRIPP_STATSD=').replace(':8126', `:${udp}`)}; ${command('echo "flux.job').replace('/8126', `/${udp}`)}`);
      expect(endpoint).toBe(`127.0.0.1:${udp}`);
      // graphite-manage migrate --run-syncdb, then runserver 127.0.0.1:PORT --noreload, on a private settings module
      expect(command('sudo graphite-manage migrate')).toContain('migrate --run-syncdb');
      expect(command('graphite-manage runserver')).toContain('--noreload');
      web = await GraphiteWeb.start(path.join(carbon.dir, 'storage', 'whisper'));
      const curl = command('curl -s "http://127.0.0.1:8000').replace('127.0.0.1:8000', `127.0.0.1:${web.port}`);
      const series = await eventually('flux.job.submitted in graphite-web', 30_000, async () => {
        const r = JSON.parse(await bash(curl)) as { datapoints: [number | null, number][] }[];
        return r[0]?.datapoints.some(([v]) => v === 1) ? r[0] : undefined;
      });
      // 1 s retention, one flush a second: consecutive seconds, the flush's 1 then brubeck's idle 0
      const present = series.datapoints.filter(([v]) => v !== null);
      expect(present[0]![0]).toBe(1);
      expect(series.datapoints[1]![1] - series.datapoints[0]![1]).toBe(1);
    }, 150_000);
  });
});
