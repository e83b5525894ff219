// Runs the real etsy statsd (npm `statsd`, a devDependency) on loopback for
// differential tests: UDP in on a free port, management on a free port, its
// graphite backend pointed at a CarbonSink. Always stop() it (afterAll).
import { type ChildProcess, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const STATS_JS = path.join(__dirname, '..', '..', 'node_modules', 'statsd', 'stats.js');

export function etsyStatsdVersion(): string {
  const pkg = path.join(path.dirname(STATS_JS), 'package.json');
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Children still running when this process exits (a worker killed on a
// timeout, say) are killed with it, so no statsd outlives the test run.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface EtsyStatsdOptions {
  /** Port of the carbon plaintext receiver (127.0.0.1). */
  graphitePort: number;
  flushInterval: number;
  /** Any other statsd config keys (percentThreshold, graphite: {...}, histogram, ...). */
  extra?: Record<string, unknown>;
}

export class EtsyStatsd {
  readonly udpPort: number;
  readonly mgmtPort: number;
  readonly configFile: string;
  /** statsd's prefix for its own counters (config prefixStats, default 'statsd'). */
  readonly prefixStats: string;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #socket: dgram.Socket;
  #output = '';
  #exited: Promise<void>;
  #running = true;

  private constructor(
    child: ChildProcess,
    dir: string,
    configFile: string,
    udpPort: number,
    mgmtPort: number,
    socket: dgram.Socket,
    prefixStats: string,
  ) {
    this.mgmtPort = mgmtPort;
    this.prefixStats = prefixStats;
    this.#child = child;
    this.#dir = dir;
    this.configFile = configFile;
    this.udpPort = udpPort;
    this.#socket = socket;
    const onData = (chunk: Buffer) => {
      this.#output += chunk.toString('utf8');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    running.add(child);
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.#running = false;
        running.delete(child);
        resolve();
      }),
    );
  }

  /** Writes a config file to a temp dir and starts statsd; resolves once it says "server is up". */
  static async start(options: EtsyStatsdOptions): Promise<EtsyStatsd> {
    const [udpPort, mgmtPort] = [await freeUdpPort(), await freeTcpPort()];
    const config = {
      address: '127.0.0.1',
      port: udpPort,
      mgmt_address: '127.0.0.1',
      mgmt_port: mgmtPort,
      graphiteHost: '127.0.0.1',
      graphitePort: options.graphitePort,
      backends: ['./backends/graphite'],
      flushInterval: options.flushInterval,
      automaticConfigReload: false,
      ...options.extra,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etsy-statsd-'));
    const configFile = path.join(dir, 'config.js');
    // The config file is eval'd as a JS object literal; JSON is one.
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(process.execPath, [STATS_JS, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const socket = dgram.createSocket('udp4');
    const statsd = new EtsyStatsd(child, dir, configFile, udpPort, mgmtPort, socket, String(options.extra?.prefixStats ?? 'statsd'));
    try {
      await statsd.#waitFor('server is up', 10_000);
    } catch (e) {
      await statsd.stop();
      throw e;
    }
    return statsd;
  }

  /** Everything statsd wrote to stdout and stderr so far (bad lines are logged there). */
  get output(): string {
    return this.#output;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Sends one datagram to statsd's UDP server and resolves when it was handed to the kernel. */
  send(packet: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.send(packet, this.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * statsd's counter `name` (e.g. 'statsd.metrics_received') as it stands
   * now, read through the management port's `counters` command.
   */
  async counter(name: string): Promise<number> {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.createConnection(this.mgmtPort, '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write('counters\n'));
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.endsWith('END\n\n')) {
          socket.end();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    const quoted = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`'${quoted}': (\\d+)`).exec(reply);
    if (!match) throw new Error(`no counter ${name} in statsd's reply: ${reply.slice(0, 300)}`);
    return Number(match[1]);
  }

  /**
   * Sends datagrams in chunks, waiting after each chunk until statsd has read
   * every line sent so far (its `<prefixStats>.metrics_received` counter), so a burst
   * never overflows its UDP receive buffer. `lines` counts the non-empty lines.
   */
  async sendPaced(packets: { data: Buffer; lines: number }[], chunk = 16, timeoutMs = 5000): Promise<void> {
    const received = `${this.prefixStats}.metrics_received`;
    let expected = await this.counter(received);
    for (let i = 0; i < packets.length; i += chunk) {
      for (const p of packets.slice(i, i + chunk)) {
        await this.send(p.data);
        expected += p.lines;
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = await this.counter(received);
        if (seen === expected) break;
        if (seen > expected || Date.now() > deadline) {
          throw new Error(`statsd read ${seen} lines, expected ${expected} (a datagram was lost, or a flush intervened)`);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  }

  /** Kills statsd (SIGTERM, then SIGKILL), closes the socket, removes the temp dir. */
  async stop(): Promise<void> {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    if (this.#running) {
      this.#child.kill('SIGTERM');
      const killed = await Promise.race([
        this.#exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ]);
      if (!killed) {
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
    }
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async #waitFor(text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#output.includes(text)) {
      if (!this.#running) throw new Error(`etsy statsd exited before "${text}":\n${this.#output}`);
      if (Date.now() > deadline) throw new Error(`etsy statsd did not say "${text}" in ${timeoutMs} ms:\n${this.#output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
