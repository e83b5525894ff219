// Debian's victoria-metrics (1.79 single-node) for integration tests: private
// storage in a temp dir, HTTP API and Graphite plaintext listener on free
// loopback ports, and a read-back of one Graphite series through
// /api/v1/export. VictoriaMetrics keeps the Graphite name with its dots as
// __name__ and turns `;k=v` tags into labels. No process outlives the test.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { accepts, freePort } from './carbon';

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics';

/** Why victoria-metrics cannot run here, or undefined when it can. */
export function victoriaMetricsMissing(): string | undefined {
  try {
    fs.accessSync(VICTORIA_METRICS, fs.constants.X_OK);
    return undefined;
  } catch {
    return `${VICTORIA_METRICS} is not installed (apt-get install victoria-metrics)`;
  }
}

/** One datapoint as [unix seconds, value]. */
export type Point = [number, number];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class VictoriaMetrics {
  readonly dir: string;
  readonly httpPort: number;
  /** TCP (and UDP, same number) Graphite plaintext port. */
  readonly graphitePort: number;
  #child: ChildProcess | undefined;
  readonly #exited: Promise<void>;
  #log = '';

  private constructor(dir: string, httpPort: number, graphitePort: number, child: ChildProcess) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.graphitePort = graphitePort;
    this.#child = child;
    live.add(child);
    const keep = (d: string) => (this.#log = (this.#log + d).slice(-8000));
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    this.#exited = new Promise((resolve) => {
      const done = () => {
        live.delete(child);
        this.#child = undefined;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (error) => (keep(`spawn failed: ${error.message}\n`), done()));
    });
  }

  /**
   * Starts victoria-metrics on a new temp dir and free loopback ports
   * (retrying with others if one was taken meanwhile); resolves once
   * /health answers and the Graphite port accepts connections.
   */
  static async start(): Promise<VictoriaMetrics> {
    const missing = victoriaMetricsMissing();
    if (missing) throw new Error(missing);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-victoria-metrics-'));
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const httpPort = await freePort();
      let graphitePort = await freePort();
      while (graphitePort === httpPort) graphitePort = await freePort();
      const args = [
        `-storageDataPath=${path.join(dir, 'data')}`,
        `-httpListenAddr=127.0.0.1:${httpPort}`,
        `-graphiteListenAddr=127.0.0.1:${graphitePort}`,
        // The default keeps one month and silently drops older rows; tests
        // write fixed timestamps. Rows beyond now + 2 days are dropped anyway.
        '-retentionPeriod=100y',
        // Only /api/v1/query* use these: no hiding of the last 30 s, no
        // response cache over data that tests rewrite.
        '-search.latencyOffset=0s',
        '-search.disableCache',
      ];
      const child = spawn(VICTORIA_METRICS, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
      const vm = new VictoriaMetrics(dir, httpPort, graphitePort, child);
      try {
        await vm.#ready(30_000);
        return vm;
      } catch (error) {
        lastError = error as Error;
        await vm.stop({ kill: true, keepDir: true });
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastError!;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Its log so far (stderr), last 8 KB. */
  get log(): string {
    return this.#log;
  }

  async #ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#child) throw new Error(`victoria-metrics exited during start-up\n${this.#log}`);
      if ((await accepts(this.graphitePort)) && (await this.#text('/health').catch(() => '')) === 'OK') return;
      if (Date.now() > deadline) throw new Error(`victoria-metrics did not start within ${timeoutMs} ms\n${this.#log}`);
      await sleep(50);
    }
  }

  async #text(pathAndQuery: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.httpPort}${pathAndQuery}`);
    const body = await response.text();
    if (!response.ok) throw new Error(`victoria-metrics ${pathAndQuery}: HTTP ${response.status}: ${body.slice(0, 2000)}`);
    return body;
  }

  /** GET `path` of the HTTP API with `params` (repeated for arrays); the parsed JSON answer. */
  async query(apiPath: string, params: Record<string, string | number | (string | number)[]> = {}): Promise<unknown> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
    }
    const text = await this.#text(`${apiPath}?${search}`);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`victoria-metrics ${apiPath}: not JSON (${(error as Error).message}): ${text.slice(0, 2000)}`);
    }
  }

  /**
   * Makes everything written to the Graphite TCP port before the call
   * visible to reads: waits (polling, up to `timeoutMs`) until no loopback
   * socket of that port holds unread or unsent bytes and no connection waits
   * to be accepted, and every row parsed so far is in storage — both holding
   * on three polls in a row, to cover a block read but not yet parsed — then
   * forces buffered rows and index entries into searchable parts (without
   * that, new rows show up only after ~5 s). "Written" means handed to the
   * kernel: a client's write callback has run.
   */
  async flush(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    let last = '';
    for (;;) {
      const idle = loopbackQueuesEmpty(this.graphitePort);
      const counters = parseCounters(await this.#text('/metrics'));
      const read = counters.get('vm_protoparser_rows_read_total{type="graphite"}') ?? 0;
      const stored = counters.get('vm_rows_added_to_storage_total') ?? 0;
      const state = `${read}/${stored}`;
      quiet = idle && stored >= read && state === last ? quiet + 1 : 0;
      last = state;
      if (quiet >= 2) break;
      if (Date.now() > deadline) {
        throw new Error(`victoria-metrics did not settle within ${timeoutMs} ms (sockets idle: ${idle}, graphite rows read ${read}, rows stored ${stored})\n${this.#log}`);
      }
      await sleep(50);
    }
    await this.#text('/internal/force_flush');
  }

  /**
   * The datapoints of one Graphite series, oldest first: `name` as written,
   * tags included (`a.b;k=v`; the series must carry exactly those tags).
   * Empty when there is none. One read; call flush() first.
   */
  async series(name: string): Promise<Point[]> {
    const want = graphiteLabels(name);
    const answer = (await this.query('/api/v1/export', {
      'match[]': `{__name__=${JSON.stringify(want.__name__)}}`,
      format: 'promapi', // values as strings: plain JSON even for ±Inf
      start: 0,
      end: Math.floor(Date.now() / 1000) + 2 * 86400, // the default end, now, would hide future rows
    })) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    const found = answer.data.result.find((s) => sameLabels(s.metric, want));
    return (found?.values ?? []).map(([t, v]) => [t, parseSampleValue(v)]);
  }

  /** SIGTERM (it flushes to disk), SIGKILL after `graceMs`; `kill: true` at once. Removes the temp dir unless `keepDir`. */
  async stop(options: { kill?: boolean; graceMs?: number; keepDir?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (child) {
      child.kill(options.kill ? 'SIGKILL' : 'SIGTERM');
      const gone = await Promise.race([this.#exited.then(() => true), sleep(options.graceMs ?? 5000).then(() => false)]);
      if (!gone) {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    if (!options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The labels VictoriaMetrics gives a Graphite name: `a.b;k=v` → {__name__: 'a.b', k: 'v'} (empty tags dropped, as it does). */
function graphiteLabels(name: string): Record<string, string> {
  const [metric, ...tags] = name.split(';');
  const labels: Record<string, string> = { __name__: metric! };
  for (const tag of tags) {
    const eq = tag.indexOf('=');
    if (eq > 0 && eq < tag.length - 1) labels[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  return labels;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Prometheus API sample values are strings; ±Inf is spelled "+Inf"/"-Inf", which Number() does not read. */
function parseSampleValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

/** `/metrics` text as series → value, the series key as printed (`name{labels}`). */
function parseCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/**
 * True when no 127.0.0.1 TCP socket with `port` at either end has bytes
 * queued: the listener has no connection waiting for accept() (its rx_queue),
 * servers have read all they received, clients have had all they sent
 * acknowledged. Linux only (/proc/net/tcp); elsewhere it cannot tell and says true.
 */
function loopbackQueuesEmpty(port: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return true;
  }
  // sl local_address rem_address st tx_queue:rx_queue ...
  //  0: 0100007F:55F3 0100007F:A2C4 01 00000000:00000000
  //     ^^^^^^^^^^^^^ ^^^^^^^^^^^^^    ^^^^^^^^^^^^^^^^^
  const endpoint = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n').slice(1)) {
    const [, local, remote, , queues] = line.trim().split(/\s+/);
    if ((local === endpoint || remote === endpoint) && queues !== '00000000:00000000') return false;
  }
  return true;
}
