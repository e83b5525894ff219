// Debian's carbon-c-relay (3.7) for integration tests: one consistent-hash
// cluster in front of given line receivers, listening on a free loopback TCP
// port only (a `listen` directive, so no UDP and no /tmp/.s.carbon-c-relay.*
// unix socket), in submission mode (-s) so its own carbon.relays.<host>.*
// statistics never enter the cluster. Everything it writes is in its temp dir;
// no relay outlives the test process.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { accepts, freePort } from './carbon';

export const CARBON_C_RELAY = '/usr/bin/carbon-c-relay';

/** Why carbon-c-relay cannot run here, or undefined when it can. */
export function carbonCRelayMissing(): string | undefined {
  try {
    fs.accessSync(CARBON_C_RELAY, fs.constants.X_OK);
    return undefined;
  } catch {
    return `${CARBON_C_RELAY} is not installed (apt-get install carbon-c-relay)`;
  }
}

/** The relay's consistent-hash cluster types (carbon-c-relay(1), CLUSTERS). */
export type RelayHash = 'jump_fnv1a_ch' | 'carbon_ch' | 'fnv1a_ch';
const HASHES: readonly RelayHash[] = ['jump_fnv1a_ch', 'carbon_ch', 'fnv1a_ch'];

export interface CarbonCRelayOptions {
  /**
   * Line receivers as `host:port`, optionally `host:port=instance`. Order
   * matters for jump_fnv1a_ch: bucket i is the i-th destination (those with an
   * instance come first, sorted by it). carbon_ch hashes host and instance but
   * not port, so destinations sharing a host need distinct instances.
   */
  destinations: string[];
  hash?: RelayHash;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// host:port[=instance]           127.0.0.1:2003=a
//                                ^^^^^^^^^ ^^^^ ^
const DESTINATION = /^([^\s:;#=]+):(\d{1,5})(?:=([^\s;#]+))?$/;

function validate(options: CarbonCRelayOptions): Required<CarbonCRelayOptions> {
  const hash = options.hash ?? 'jump_fnv1a_ch';
  if (!HASHES.includes(hash)) throw new Error(`Expected one of ${HASHES.join(', ')} for hash but received ${String(hash)}`);
  const { destinations } = options;
  if (!Array.isArray(destinations) || destinations.length === 0) {
    throw new Error(`Expected a non-empty array of host:port for destinations but received ${JSON.stringify(destinations)}`);
  }
  const keys = new Set<string>();
  for (const destination of destinations) {
    const match = DESTINATION.exec(destination);
    if (!match) throw new Error(`Expected host:port[=instance] for destinations but received ${JSON.stringify(destination)}`);
    // carbon_ch places a member on the ring by host and instance only: two
    // members that differ only in port get the same positions, one gets all.
    const key = hash === 'carbon_ch' ? `${match[1]}=${match[3] ?? ''}` : destination;
    if (keys.has(key)) {
      throw new Error(`Expected distinct ${hash === 'carbon_ch' ? 'host=instance pairs (carbon_ch ignores the port)' : 'members'} for destinations but received ${JSON.stringify(destinations)}`);
    }
    keys.add(key);
  }
  return { destinations: [...destinations], hash };
}

export class CarbonCRelay {
  readonly dir: string;
  readonly port: number;
  readonly hash: RelayHash;
  readonly destinations: readonly string[];
  #child: ChildProcess | undefined;
  readonly #exited: Promise<void>;
  #log = '';

  private constructor(dir: string, port: number, options: Required<CarbonCRelayOptions>, child: ChildProcess) {
    this.dir = dir;
    this.port = port;
    this.hash = options.hash;
    this.destinations = options.destinations;
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
   * Writes a private config under a new temp dir and starts the relay on a
   * free loopback port (retrying with another port if it was taken
   * meanwhile); resolves once the port accepts connections. The relay does
   * not check destinations at start: a down one is retried and its metrics
   * are queued (see `log`).
   */
  static async start(options: CarbonCRelayOptions): Promise<CarbonCRelay> {
    const missing = carbonCRelayMissing();
    if (missing) throw new Error(missing);
    const valid = validate(options);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sne-carbon-c-relay-'));
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'relay.conf');
      fs.writeFileSync(config, configText(port, valid));
      // -s: no statistics into the cluster; drops and queue pressure go to
      // the log instead. Foreground is the default (-D would daemonise).
      const child = spawn(CARBON_C_RELAY, ['-f', config, '-s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
      const relay = new CarbonCRelay(dir, port, valid, child);
      try {
        await relay.#ready(15_000);
        return relay;
      } catch (error) {
        lastError = error as Error;
        await relay.stop({ kill: true, keepDir: true });
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastError!;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The relay's stdout and stderr so far, last 8 KB (start-up config, connect failures, drops). */
  get log(): string {
    return this.#log;
  }

  async #ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#child) throw new Error(`carbon-c-relay exited during start-up\n${this.#log}`);
      if (await accepts(this.port)) return;
      if (Date.now() > deadline) throw new Error(`carbon-c-relay did not open port ${this.port} within ${timeoutMs} ms\n${this.#log}`);
      await sleep(50);
    }
  }

  /**
   * Stops the relay: SIGTERM (it tries to send what it has queued), SIGKILL
   * after `graceMs`; `kill: true` sends SIGKILL at once. Removes the temp dir
   * unless `keepDir`.
   */
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

/** The relay's whole configuration: one listener, one cluster, one route. */
function configText(port: number, options: Required<CarbonCRelayOptions>): string {
  return [
    '# written by test/helpers/carbon-c-relay.ts',
    `listen type linemode 127.0.0.1:${port} proto tcp;`,
    // Under -s nothing is submitted; this only makes the drop and queue
    // warnings reach the log within a second instead of a minute.
    'statistics submit every 1 seconds;',
    `cluster scaleout ${options.hash}`,
    ...options.destinations.map((d) => `    ${d}`),
    '    ;',
    'match * send to scaleout stop;',
    '',
  ].join('\n');
}
