// Carbon-side relay for running etsy statsd's own graphite tests against our
// daemon (see stats.js beside it).
//
// etsy statsd's graphite backend opens one TCP connection per flush and ends
// it; the tests read each connection until it closes and treat one connection
// as one flush. Our daemon keeps one persistent connection to carbon. The
// relay listens where our daemon sends, and re-delimits that stream into one
// downstream connection per flush to the test's carbon, bytes unchanged.
//
// A flush is a burst of whole datapoints:
//  - plaintext: whole lines (`name value timestamp\n`); the downstream
//    connection is ended when a line's timestamp differs from the previous
//    line's, or after `quietMs` without data;
//  - pickle: whole messages (4-byte big-endian length, then the pickle); the
//    connection is ended after `quietMs` without data.
// A partial line or message is held until it is complete, so a connection is
// only ever ended between datapoints. Nothing is parsed beyond that framing.
'use strict';

const net = require('node:net');

class FlushRelay {
  /**
   * @param {{ downstreamHost: string, downstreamPort: number, format?: 'plaintext' | 'pickle', quietMs?: number, log?: (m: string) => void }} options
   */
  constructor(options) {
    this.host = options.downstreamHost;
    this.port = options.downstreamPort;
    this.format = options.format === 'pickle' ? 'pickle' : 'plaintext';
    // Short: etsy's collect_for() calls a test back again for every connection
    // that ends after one was open at its timeout (it removes the wrong
    // listener), so a downstream connection should be open as briefly as
    // etsy's own (a flush is one write from our daemon: no gap inside it).
    this.quietMs = options.quietMs ?? 5;
    this.log = options.log ?? (() => {});
    this.pending = Buffer.alloc(0); // bytes of an incomplete line or message
    this.current = undefined; // the downstream connection of the flush being relayed
    this.lastTimestamp = undefined;
    this.quietTimer = undefined;
    this.closed = false;
    this.flushes = 0;
    this.server = net.createServer((upstream) => this.#accept(upstream));
    this.upstreams = new Set();
  }

  /** Listens on 127.0.0.1 (port 0: any); resolves to the port. */
  listen(port = 0) {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve(this.server.address().port));
    });
  }

  /**
   * Stops relaying but keeps accepting: the open flush is ended and what
   * arrives from now on is read and dropped, so a daemon that is shutting down
   * delivers its last flush at once instead of waiting for carbon.
   */
  discard() {
    this.closed = true;
    clearTimeout(this.quietTimer);
    this.#endFlush();
  }

  /** discard(), then closes the listening socket and every upstream connection. */
  close() {
    this.discard();
    for (const u of this.upstreams) u.destroy();
    this.server.close();
  }

  #accept(upstream) {
    this.upstreams.add(upstream);
    upstream.on('data', (chunk) => this.#data(chunk));
    upstream.on('error', () => {});
    upstream.on('close', () => {
      this.upstreams.delete(upstream);
      // A reconnecting daemon starts at a flush boundary: drop a torn tail.
      this.pending = Buffer.alloc(0);
    });
  }

  #data(chunk) {
    if (this.closed) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.format === 'pickle') this.#pickleUnits();
    else this.#lineUnits();
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.#endFlush(), this.quietMs);
  }

  #lineUnits() {
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf(10, start);
      if (nl < 0) break;
      const line = this.pending.subarray(start, nl + 1);
      // The timestamp is the last space-separated field of a plaintext line.
      const text = line.toString('latin1').trimEnd();
      const timestamp = text.slice(text.lastIndexOf(' ') + 1);
      if (this.current && timestamp !== this.lastTimestamp) this.#endFlush();
      this.lastTimestamp = timestamp;
      this.#write(line);
      start = nl + 1;
    }
    this.pending = this.pending.subarray(start);
  }

  #pickleUnits() {
    while (this.pending.length >= 4) {
      const size = 4 + this.pending.readUInt32BE(0);
      if (this.pending.length < size) break;
      this.#write(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
    }
  }

  #write(bytes) {
    if (!this.current) {
      this.flushes++;
      const socket = net.connect(this.port, this.host);
      socket.on('error', (error) => this.log(`relay: flush ${this.flushes} to ${this.host}:${this.port}: ${error.message}`));
      this.current = socket;
    }
    this.current.write(Buffer.from(bytes)); // a copy: `pending` is reused
  }

  #endFlush() {
    if (this.current) this.current.end();
    this.current = undefined;
  }
}

module.exports = { FlushRelay };
