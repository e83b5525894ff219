// Debian's graphite-web (1.1) for integration tests, started as the seed's
// flow starts it: `graphite-manage migrate`, then `runserver` on loopback. A
// private settings module (GRAPHITE_SETTINGS_MODULE) points it at a given
// whisper dir, a private sqlite database and log dir; no carbonlink (it
// reads only what carbon wrote to whisper). Killed when the test process exits.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort } from './carbon';

export const GRAPHITE_MANAGE = '/usr/bin/graphite-manage';

/** Why graphite-web cannot run here, or undefined when it can. */
export function graphiteWebMissing(): string | undefined {
  try {
    fs.accessSync(GRAPHITE_MANAGE, fs.constants.X_OK);
    return undefined;
  } catch {
    return `${GRAPHITE_MANAGE} is not installed (apt-get install graphite-web; .ci/run does it)`;
  }
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class GraphiteWeb {
  readonly dir: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';

  private constructor(dir: string, port: number, child: ChildProcess) {
    this.dir = dir;
    this.port = port;
    this.#child = child;
    live.add(child);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.#log = (this.#log + d).slice(-8000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#log = (this.#log + d).slice(-8000)));
    this.#exited = new Promise((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  }

  /** Migrates a private database and serves graphite-web over `whisperDir` on a free loopback port. */
  static async start(whisperDir: string, timeoutMs = 90_000): Promise<GraphiteWeb> {
    const missing = graphiteWebMissing();
    if (missing) throw new Error(missing);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-graphite-web-'));
    fs.mkdirSync(path.join(dir, 'log'));
    const py = (s: string) => JSON.stringify(s); // a Python string literal
    fs.writeFileSync(
      path.join(dir, 'sne_graphite_settings.py'),
      [
        "SECRET_KEY = 'statsd-native-test'",
        `STORAGE_DIR = ${py(dir)}`,
        `WHISPER_DIR = ${py(whisperDir)}`,
        `STANDARD_DIRS = [${py(whisperDir)}]`,
        `INDEX_FILE = ${py(path.join(dir, 'index'))}`,
        `LOG_DIR = ${py(path.join(dir, 'log'))}`,
        'LOG_ROTATION = False',
        'CARBONLINK_HOSTS = []',
        'DEFAULT_XFILES_FACTOR = 0',
        "TIME_ZONE = 'UTC'",
        `DATABASES = {'default': {'NAME': ${py(path.join(dir, 'graphite.db'))}, 'ENGINE': 'django.db.backends.sqlite3'}}`,
        '',
      ].join('\n'),
    );
    // Debian's python3 and a clean environment (the python3 on PATH is not Debian's).
    const env = { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', PYTHONPATH: dir, GRAPHITE_SETTINGS_MODULE: 'sne_graphite_settings' };
    await new Promise<void>((resolve, reject) => {
      execFile(GRAPHITE_MANAGE, ['migrate', '--run-syncdb', '--noinput'], { env, timeout: timeoutMs }, (error, _stdout, stderr) =>
        error ? reject(new Error(`graphite-manage migrate failed: ${error.message}\n${stderr.slice(-3000)}`)) : resolve(),
      );
    });
    const port = await freePort();
    const child = spawn(GRAPHITE_MANAGE, ['runserver', '--noreload', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const web = new GraphiteWeb(dir, port, child);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/metrics/find?query=*`);
        if (r.ok) return web;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        await web.stop();
        throw new Error(`graphite-web did not start on port ${port}:\n${web.#log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** GET `urlPath` (with its query) and parse the JSON answer; throws with the body on a non-200. */
  async get(urlPath: string): Promise<unknown> {
    const r = await fetch(`http://127.0.0.1:${this.port}${urlPath}`);
    const text = await r.text();
    if (!r.ok) throw new Error(`graphite-web ${urlPath}: ${r.status} ${text.slice(0, 500)}`);
    return JSON.parse(text);
  }

  get log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
