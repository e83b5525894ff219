// TCP line input framing at connection end (issue "[1/7] Daemon reliability
// II" item 1): only '\n'-terminated lines are aggregated; an unterminated tail
// is dropped and counted in tcp.truncated_lines whether the sender closed
// cleanly or reset, because Node often reports a reset as a clean 'end'. The
// daemon is the real CLI in a child process, the senders real sockets.
import * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { DaemonProcess, httpGet, valuesOf } from '../helpers/daemon-cli';
import { until } from '../helpers/receivers';

const daemons: DaemonProcess[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});

async function daemon(): Promise<DaemonProcess> {
  const d = await DaemonProcess.start(['serve', '--port', '0', '--tcp-port', '0', '--http', '0', '--flush-interval', '600000']);
  daemons.push(d);
  return d;
}

/** Connects, writes `text`, then ends with `how`: a FIN, or an RST (SO_LINGER 0). Resolves once closed. */
async function send(port: number, text: string, how: 'end' | 'reset'): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // On loopback the bytes are in the daemon's receive queue once the write
  // completes, so the reset cannot discard them on our side.
  await new Promise<void>((resolve) => socket.write(text, () => resolve()));
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end();
  await closed;
}

/** Waits until the daemon accepted `n` connections and holds none. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function allClosed(d: DaemonProcess, n: number): Promise<any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let s: any;
  await until(
    async () => {
      s = await d.stats();
      return s.tcp.accepted === n && s.tcp.connections === 0;
    },
    30_000,
    () => `${n} connections accepted and closed: ${JSON.stringify(s?.tcp)}`,
  );
  return s;
}

describe('TCP input: an unterminated last line is never aggregated', () => {
  it('senders that write `whole:1|c\\ncut:5|c` and reset: every whole line counts, no cut line does, each cut is counted', async () => {
    const d = await daemon();
    const port = d.listening.tcp!;
    const SENDERS = 1000; // bounded: well under the daemon's 1024 connections and the fd limit
    const AT_ONCE = 50;
    for (let i = 0; i < SENDERS; i += AT_ONCE) {
      await Promise.all(Array.from({ length: AT_ONCE }, () => send(port, 'whole:1|c\ncut:5|c', 'reset')));
    }
    const s = await allClosed(d, SENDERS);
    expect(s.tcp.truncated_lines).toBe(SENDERS);
    expect(s.metrics).toBe(SENDERS); // the whole lines, and only them
    expect(s.errors).toBe(0);
    expect((await httpGet(d.listening.http!, '/metric/cut')).status).toBe(404);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'whole')).toEqual([SENDERS]);
    expect(valuesOf(d.stdout, 'cut')).toEqual([]);
  }, 120_000);

  it('a clean close (FIN) after a line without its newline: the line is dropped and counted, the lines before it kept', async () => {
    const d = await daemon();
    await send(d.listening.tcp!, 'clean.whole:1|c\nx:1|c', 'end');
    const s = await allClosed(d, 1);
    expect(s.tcp).toMatchObject({ truncated_lines: 1, resets: 0, accepted: 1 });
    expect(s.metrics).toBe(1);
    expect((await httpGet(d.listening.http!, '/metric/x')).status).toBe(404);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(valuesOf(d.stdout, 'clean.whole')).toEqual([1]);
    expect(valuesOf(d.stdout, 'x')).toEqual([]);
  });
});
