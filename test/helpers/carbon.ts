// Debian's carbon-cache (graphite-carbon) for integration tests (DESIGN §8,
// shared/reference/carbon.md): a private config and storage dir, free high
// loopback ports, no tagdb, no user switch. Values are read back with Debian's
// /usr/bin/whisper-fetch (its #!/usr/bin/python3 has the whisper module; the
// python3 on PATH does not). No carbon process outlives the test process.
// Over 300 lines: config, start, stop and readback of one carbon, used
// together by every carbon test.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CARBON_CACHE = '/usr/bin/carbon-cache';
export const WHISPER_FETCH = '/usr/bin/whisper-fetch';

/** Why carbon cannot run here, or undefined when it can. */
export function carbonMissing(): string | undefined {
  for (const file of [CARBON_CACHE, WHISPER_FETCH]) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      return `${file} is not installed (apt-get install graphite-carbon python3-whisper; .ci/run does it)`;
    }
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Every carbon-cache this process started and has not seen exit: killed on exit.
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

/** A TCP port that was free a moment ago (bound on 127.0.0.1:0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface CarbonPorts {
  line: number;
  pickle: number;
  query: number;
}

/** One whisper-fetch answer: values[i] is the datapoint at start + i * step. */
export interface Series {
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
}

/** The datapoint at unix second `t`, null when empty, undefined when outside the series. */
export function valueAt(series: Series, t: number): number | null | undefined {
  const i = (t - series.start) / series.step;
  if (!Number.isInteger(i) || i < 0 || i >= series.values.length) return undefined;
  return series.values[i]!;
}

/** Every non-empty datapoint as [timestamp, value]. */
export function points(series: Series): [number, number][] {
  const out: [number, number][] = [];
  series.values.forEach((v, i) => {
    if (v !== null) out.push([series.start + i * series.step, v]);
  });
  return out;
}

export class Carbon {
  readonly dir: string;
  ports: CarbonPorts;
  #child: ChildProcess | undefined;
  #schemas = '';
  #exited: Promise<void> | undefined;

  private constructor(dir: string, ports: CarbonPorts) {
    this.dir = dir;
    this.ports = ports;
  }

  /**
   * Writes a private config under a new temp dir and starts carbon-cache on
   * free loopback ports (retrying with other ports if one was taken meanwhile);
   * resolves once the line receiver accepts connections. `schemas` replaces
   * the storage-schemas.conf sections put before the default one (1s:1h,10s:1d).
   */
  static async start(options: { schemas?: string } = {}): Promise<Carbon> {
    const missing = carbonMissing();
    if (missing) throw new Error(missing);
    installExitHook();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-carbon-'));
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const ports = await distinctFreePorts();
      const carbon = new Carbon(dir, ports);
      carbon.#schemas = options.schemas ?? '';
      try {
        await carbon.#launch();
        return carbon;
      } catch (error) {
        lastError = error as Error;
        await carbon.stop({ keepDir: true });
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastError!;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** carbon's console output and logs so far (for failure messages). */
  get log(): string {
    let text = '';
    for (const file of ['console.log', 'console.log.1', 'creates.log']) {
      try {
        text += `--- ${file}\n${fs.readFileSync(path.join(this.dir, 'log', file), 'utf8').slice(-4000)}`;
      } catch {
        // not there
      }
    }
    return text;
  }

  #writeConfig(): string {
    const dir = this.dir;
    const { line, pickle, query } = this.ports;
    for (const sub of ['conf', 'storage/whisper', 'storage/lists', 'log', 'run']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    const conf = path.join(dir, 'conf', 'carbon.conf');
    fs.writeFileSync(
      conf,
      [
        '[cache]',
        `STORAGE_DIR = ${dir}/storage/`,
        `LOCAL_DATA_DIR = ${dir}/storage/whisper/`,
        `WHITELISTS_DIR = ${dir}/storage/lists/`,
        `CONF_DIR = ${dir}/conf/`,
        `LOG_DIR = ${dir}/log/`,
        `PID_DIR = ${dir}/run/`,
        'DATABASE = whisper',
        'ENABLE_LOGROTATION = False',
        'USER =',
        'ENABLE_TAGS = False',
        'MAX_CACHE_SIZE = inf',
        'MAX_UPDATES_PER_SECOND = inf',
        'MAX_CREATES_PER_MINUTE = inf',
        'LINE_RECEIVER_INTERFACE = 127.0.0.1',
        `LINE_RECEIVER_PORT = ${line}`,
        'ENABLE_UDP_LISTENER = False',
        'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
        `PICKLE_RECEIVER_PORT = ${pickle}`,
        'CACHE_QUERY_INTERFACE = 127.0.0.1',
        `CACHE_QUERY_PORT = ${query}`,
        'LOG_LISTENER_CONNECTIONS = False',
        'LOG_CREATES = True',
        'WHISPER_AUTOFLUSH = True',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'conf', 'storage-schemas.conf'), `${this.#schemas}\n[default]\npattern = .*\nretentions = 1s:1h,10s:1d\n`);
    fs.writeFileSync(
      path.join(dir, 'conf', 'storage-aggregation.conf'),
      '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n',
    );
    return conf;
  }

  async #launch(): Promise<void> {
    const { line, pickle } = this.ports;
    if (await accepts(line)) throw new Error(`carbon line port ${line} is already in use`);
    const conf = this.#writeConfig();
    const pidfile = path.join(this.dir, 'run', 'carbon-cache.pid');
    fs.rmSync(pidfile, { force: true }); // a SIGKILLed carbon leaves it behind
    const consoleLog = fs.openSync(path.join(this.dir, 'log', 'console.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(CARBON_CACHE, [`--config=${conf}`, '--nodaemon', `--pidfile=${pidfile}`, 'start'], {
        stdio: ['ignore', consoleLog, consoleLog],
        // Debian's python3 and a clean environment (no pyenv, no PYTHONPATH).
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, LANG: 'C.UTF-8' },
      });
    } finally {
      fs.closeSync(consoleLog);
    }
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
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!this.#child) throw new Error(`carbon-cache exited during start-up\n${this.log}`);
      if ((await accepts(line)) && (await accepts(pickle))) return;
      if (Date.now() > deadline) throw new Error(`carbon-cache did not open port ${line} within 15 s\n${this.log}`);
      await sleep(50);
    }
  }

  /**
   * Stops carbon-cache: SIGTERM (it writes its cache out, ~2 s), then SIGKILL
   * after `graceMs`. `kill: true` sends SIGKILL at once (a crash). Removes the
   * temp dir unless `keepDir`.
   */
  async stop(options: { kill?: boolean; graceMs?: number; keepDir?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (child && this.#exited) {
      child.kill(options.kill ? 'SIGKILL' : 'SIGTERM');
      const killed = await Promise.race([this.#exited.then(() => true), sleep(options.graceMs ?? 8000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    this.#child = undefined;
    if (!options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Starts carbon again on the same ports and storage (whisper files kept).
   * Retries for a few seconds if a port is still held (TIME_WAIT listeners).
   */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('carbon-cache is still running');
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.#launch();
        return;
      } catch (error) {
        lastError = error as Error;
        if (this.#child) await this.stop({ kill: true, keepDir: true });
        await sleep(250);
      }
    }
    throw lastError!;
  }

  /** The whisper file of a metric (dots are directories). */
  /**
   * Where carbon keeps `metric`. A tagged name (`a.b;k=v`) goes, as carbon
   * 1.1 stores it (carbon/util.py TaggedSeries.encode, TAG_HASH_FILENAMES on
   * by default), under _tagged/ in a file named by its sha256; carbon sorts
   * the tags first, so give them sorted.
   */
  whisperFile(metric: string): string {
    const root = path.join(this.dir, 'storage', 'whisper');
    if (metric.includes(';')) {
      const hash = createHash('sha256').update(metric).digest('hex');
      return path.join(root, '_tagged', hash.slice(0, 3), hash.slice(3, 6), `${hash}.wsp`);
    }
    return path.join(root, `${metric.split('.').join('/')}.wsp`);
  }

  /** One whisper-fetch --json of datapoints in (from, until]; undefined if the file does not exist yet. */
  fetchOnce(metric: string, from: number, until: number): Promise<Series | undefined> {
    const file = this.whisperFile(metric);
    if (!fs.existsSync(file)) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      execFile(
        WHISPER_FETCH,
        ['--json', `--from=${from}`, `--until=${until}`, file],
        { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeout: 10_000 },
        (error, stdout, stderr) => {
          if (error) return reject(new Error(`whisper-fetch ${metric}: ${error.message} ${stderr}`));
          try {
            resolve(JSON.parse(stdout) as Series);
          } catch (parseError) {
            reject(new Error(`whisper-fetch ${metric}: not JSON (${(parseError as Error).message}): ${stdout}`));
          }
        },
      );
    });
  }

  /**
   * Polls whisper-fetch (every 100 ms, up to `timeoutMs`) until `ready` holds
   * for the series; by default until some datapoint in (from, until] is set.
   * Rejects with the last series seen and carbon's log.
   */
  async fetch(
    metric: string,
    from: number,
    until: number,
    options: { timeoutMs?: number; ready?: (s: Series) => boolean } = {},
  ): Promise<Series> {
    const ready = options.ready ?? ((s: Series) => s.values.some((v) => v !== null));
    const deadline = Date.now() + (options.timeoutMs ?? 15000);
    let last: Series | undefined;
    for (;;) {
      last = await this.fetchOnce(metric, from, until);
      if (last && ready(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(
          `whisper has no ${options.ready ? 'expected' : ''} data for ${metric} in (${from}, ${until}] after ` +
            `${options.timeoutMs ?? 15000} ms: ${last ? JSON.stringify(points(last)) : 'no whisper file'}\n${this.log}`,
        );
      }
      await sleep(100);
    }
  }

  /** The value at unix second `t`, polling until it is set. */
  async valueAt(metric: string, t: number, timeoutMs = 15000): Promise<number> {
    const series = await this.fetch(metric, t - 1, t, { timeoutMs, ready: (s) => valueAt(s, t) != null });
    return valueAt(series, t)!;
  }
}

async function distinctFreePorts(): Promise<CarbonPorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [line, pickle, query] = [...ports] as [number, number, number];
  return { line, pickle, query };
}
