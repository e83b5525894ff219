// The real command line (`node dist/cli.js serve …`) as a child process for
// integration tests: output collected, listening ports read from its start-up
// line, stopped by signal; every child is killed when the test process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

const live = new Set<ChildProcess>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

export interface Listening {
  udp?: number;
  tcp?: number;
  unix?: string;
  http?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class DaemonProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /**
   * Spawns `node dist/cli.js ...args` (no start-up wait). `serve` without
   * --config or --http gets `--http 127.0.0.1:0`, so tests running at once do
   * not all take the default HTTP port; `defaults: true` runs it as given.
   */
  static spawn(args: string[], options: { cwd?: string; defaults?: boolean } = {}): DaemonProcess {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\``);
    hook();
    if (args[0] === 'serve' && !options.defaults && !args.some((a) => a === '--config' || a === '--http' || a.startsWith('--config=') || a.startsWith('--http='))) {
      args = [...args, '--http', '127.0.0.1:0'];
    }
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLUX_FRIPP_STATSD: undefined, STATSD_HOST: undefined, STATSD_PORT: undefined },
    });
    live.add(child);
    return new DaemonProcess(child);
  }

  /** Spawns and waits until ready(); rejects with its output if it exits first. */
  static async start(args: string[], options: { cwd?: string; timeoutMs?: number; defaults?: boolean } = {}): Promise<DaemonProcess> {
    const daemon = DaemonProcess.spawn(args, options);
    try {
      await daemon.ready(options.timeoutMs);
    } catch (error) {
      await daemon.stop('SIGKILL');
      throw error;
    }
    return daemon;
  }

  /**
   * Waits for the "listening on …" line, then 100 ms more: the CLI installs its
   * SIGTERM/SIGINT handlers only after printing that line (src/commands/serve.ts),
   * so a signal sent at once may find none (pinned in daemon.test.ts).
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => /listening on /.test(this.stderr), timeoutMs, 'the listening line');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  /** The inputs from the start-up line. */
  get listening(): Listening {
    const line = /listening on ([^;]*);/.exec(this.stderr)?.[1] ?? '';
    const port = (scheme: string) => {
      const m = new RegExp(`${scheme}://[^,\\s]*:(\\d+)`).exec(line);
      return m ? Number(m[1]) : undefined;
    };
    return { udp: port('udp'), tcp: port('tcp'), http: port('http'), unix: /unix:\/\/([^,\s]+)/.exec(line)?.[1] };
  }

  /** stdout as lines (complete ones only). */
  get stdoutLines(): string[] {
    const end = this.stdout.lastIndexOf('\n');
    return end < 0 ? [] : this.stdout.slice(0, end).split('\n');
  }

  /** Polls `done` every 10 ms; rejects (with the process output) after timeoutMs or if the process exits first. */
  async waitFor(done: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const describe = () => (typeof what === 'string' ? what : what());
    while (!done()) {
      if (this.exit) throw new Error(`daemon exited (${JSON.stringify(this.exit)}) before ${describe()}\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** GET /stats from its --http port (JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async stats(): Promise<any> {
    const port = this.listening.http;
    if (port === undefined) throw new Error('the daemon has no --http port');
    return (await httpGet(port, '/stats')).json;
  }

  get output(): string {
    return `--- stderr\n${this.stderr.slice(-3000)}\n--- stdout\n${this.stdout.slice(-3000)}`;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 8000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Waits for the process to end by itself (SIGKILL after timeoutMs). */
  async ended(timeoutMs = 10_000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Sends each payload as one UDP datagram to 127.0.0.1:port, in order. */
export async function sendUdp(port: number, payloads: (string | Buffer)[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) => socket.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** GET http://127.0.0.1:port{urlPath} (raw path, sent as is). */
export function httpGet(port: number, urlPath: string, method = 'GET'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${urlPath}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A UDP port that was free a moment ago (bound on 127.0.0.1:0, then released). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** carbon plaintext lines "name value ts" → [{name, value, ts}]. */
export function carbonLines(text: string): { name: string; value: number; ts: number }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, value, ts] = l.split(' ');
      return { name: name!, value: Number(value), ts: Number(ts) };
    });
}

/** Values of `name` in carbon text, in order. */
export function valuesOf(text: string, name: string): number[] {
  return carbonLines(text)
    .filter((l) => l.name === name)
    .map((l) => l.value);
}

/** The counts of the daemon's last log line ("stopped; N flushes made (D datapoints); <sink>: …"). */
export interface ShutdownReport {
  made: number;
  madeDatapoints: number;
  written: number;
  writtenDatapoints: number;
  dropped: number;
  datapointsDropped: number;
  /** Carbon sinks only (0 for stdout). */
  replayed: number;
  replaysDropped: number;
}

/** Reads the shutdown line's counts for the sink whose name matches `sink` (a regex source: 'stdout carbon', 'graphite [^:]+:\\d+'). */
export function shutdownReport(stderr: string, sink: string): ShutdownReport {
  const m = new RegExp(
    `stopped; (\\d+) flush(?:es)? made \\((\\d+) datapoints?\\); ${sink}: (\\d+) flush(?:es)? written \\((\\d+) datapoints?\\), ` +
      '(\\d+) dropped \\((\\d+) datapoints?\\)(?:, (\\d+) queued again after a broken connection \\((\\d+) of those given up\\))?',
  ).exec(stderr);
  if (!m) throw new Error(`no shutdown report in:\n${stderr}`);
  const n = m.slice(1).map((x) => Number(x ?? 0));
  return {
    made: n[0]!,
    madeDatapoints: n[1]!,
    written: n[2]!,
    writtenDatapoints: n[3]!,
    dropped: n[4]!,
    datapointsDropped: n[5]!,
    replayed: n[6]!,
    replaysDropped: n[7]!,
  };
}
