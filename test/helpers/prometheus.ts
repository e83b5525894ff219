// Debian's Prometheus for integration tests (DESIGN §8): a private config and
// TSDB under a temp dir, a free loopback port, one scrape job at 1 s. Values
// are read back through its HTTP API (/api/v1/query). No Prometheus process
// outlives the test process.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort } from './carbon';
import { sleep } from './receivers';

export const PROMETHEUS = '/usr/bin/prometheus';

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusMissing(): string | undefined {
  try {
    fs.accessSync(PROMETHEUS, fs.constants.X_OK);
    return undefined;
  } catch {
    return `${PROMETHEUS} is not installed (apt-get install prometheus; .ci/run does it)`;
  }
}

// Every Prometheus this process started and has not seen exit: killed on exit.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** One element of an instant query's vector. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** GET http://127.0.0.1:port{urlPath}: status and body. */
function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

export class Prometheus {
  readonly dir: string;
  port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #log = '';

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Starts Prometheus scraping `target` (host:port, path /metrics) every
   * second, with its config and TSDB in a new temp dir and its web API on a
   * free loopback port (retrying with another port if it was taken
   * meanwhile); resolves once /-/ready answers 200.
   */
  static async start(target: string): Promise<Prometheus> {
    const missing = prometheusMissing();
    if (missing) throw new Error(missing);
    installExitHook();
    const p = new Prometheus(fs.mkdtempSync(path.join(os.tmpdir(), 'sne-prometheus-')));
    fs.writeFileSync(
      path.join(p.dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: statsd',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await p.#launch(await freePort());
        return p;
      } catch (error) {
        lastError = error as Error;
        await p.stop({ keepDir: true });
      }
    }
    fs.rmSync(p.dir, { recursive: true, force: true });
    throw lastError!;
  }

  /** Prometheus's output so far (for failure messages). */
  get log(): string {
    return this.#log.slice(-4000);
  }

  async #launch(port: number): Promise<void> {
    this.port = port;
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, LANG: 'C.UTF-8' } },
    );
    const keep = (d: Buffer) => {
      this.#log = (this.#log + d.toString('utf8')).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#child = child;
    live.add(child);
    this.#exited = new Promise((resolve) => {
      const done = () => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) done();
      else child.once('exit', done);
      child.once('error', done);
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!this.#child) throw new Error(`prometheus exited during start-up\n${this.log}`);
      const ready = await get(port, '/-/ready').catch(() => undefined);
      if (ready?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready on port ${port} within 30 s\n${this.log}`);
      await sleep(100);
    }
  }

  /** An instant query (PromQL `expr`, evaluated now) through /api/v1/query. */
  async query(expr: string): Promise<VectorSample[]> {
    const { status, body } = await get(this.port, `/api/v1/query?query=${encodeURIComponent(expr)}`);
    const answer = JSON.parse(body) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (status !== 200 || answer.status !== 'success') throw new Error(`query ${expr}: ${status} ${answer.error ?? body}`);
    if (answer.data!.resultType !== 'vector') throw new Error(`query ${expr}: a ${answer.data!.resultType}, not a vector`);
    return answer.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The type Prometheus recorded for `metric` from the TYPE lines it scraped (/api/v1/metadata). */
  async metadataType(metric: string): Promise<string | undefined> {
    const { body } = await get(this.port, `/api/v1/metadata?metric=${encodeURIComponent(metric)}`);
    return (JSON.parse(body) as { data: Record<string, { type: string }[]> }).data[metric]?.[0]?.type;
  }

  /** The scrape targets' health, as /api/v1/targets reports it. */
  async targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]> {
    const { body } = await get(this.port, '/api/v1/targets');
    return (JSON.parse(body) as { data: { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] } }).data.activeTargets;
  }

  /** Stops Prometheus (SIGTERM, SIGKILL after `graceMs`) and removes its temp dir unless `keepDir`. */
  async stop(options: { graceMs?: number; keepDir?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (child && this.#exited) {
      child.kill('SIGTERM');
      const ended = await Promise.race([this.#exited.then(() => true), sleep(options.graceMs ?? 10_000).then(() => false)]);
      if (!ended) {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    this.#child = undefined;
    if (!options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
