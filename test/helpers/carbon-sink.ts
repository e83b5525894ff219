// A Graphite plaintext receiver on loopback for integration tests: every
// accepted connection is one flush (etsy statsd opens one per flush), kept as
// its parsed lines once the peer ends it.
import * as net from 'node:net';

export interface CarbonLine {
  name: string;
  value: string;
  timestamp: number;
  /** The line as received. */
  raw: string;
}

export interface CarbonFlush {
  lines: CarbonLine[];
  /** Date.now() when the connection ended. */
  receivedAt: number;
}

export function parseCarbon(text: string): CarbonLine[] {
  const lines: CarbonLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    // "name value ts": names have no spaces (both producers sanitize them).
    const parts = raw.split(' ');
    if (parts.length !== 3) throw new Error(`carbon line not "name value ts": ${JSON.stringify(raw)}`);
    lines.push({ name: parts[0]!, value: parts[1]!, timestamp: Number(parts[2]), raw });
  }
  return lines;
}

export class CarbonSink {
  readonly #server: net.Server;
  readonly #flushes: CarbonFlush[] = [];
  readonly #waiters: { index: number; resolve: (f: CarbonFlush) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1 on a free port. */
  static async start(): Promise<CarbonSink> {
    const server = net.createServer();
    const sink = new CarbonSink(server);
    server.on('connection', (socket) => sink.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return sink;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Flushes completed so far, in the order their connections ended. */
  get flushes(): readonly CarbonFlush[] {
    return this.#flushes;
  }

  /** Resolves with flush number `index` (0-based) once it has been received. */
  flush(index: number, timeoutMs: number): Promise<CarbonFlush> {
    const done = this.#flushes[index];
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.#waiters.findIndex((w) => w.timer === timer);
        if (at >= 0) this.#waiters.splice(at, 1);
        reject(new Error(`no carbon flush #${index} within ${timeoutMs} ms (got ${this.#flushes.length})`));
      }, timeoutMs);
      this.#waiters.push({ index, resolve, reject, timer });
    });
  }

  async close(): Promise<void> {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error('carbon sink closed'));
    }
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('end', () => {
      socket.end();
      this.#flushes.push({ lines: parseCarbon(Buffer.concat(chunks).toString('utf8')), receivedAt: Date.now() });
      const index = this.#flushes.length - 1;
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i]!;
        if (w.index === index) {
          clearTimeout(w.timer);
          this.#waiters.splice(i, 1);
          w.resolve(this.#flushes[index]!);
        }
      }
    });
  }
}
