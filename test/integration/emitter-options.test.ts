// Emitter options over a real socket: frozen tag arrays, DogStatsD multi-value lines.
import * as dgram from 'node:dgram';

import { expect, it } from 'vitest';

import { Emitter, parse } from '../../src';

it('frozen and mutable tag arrays give the same lines; a mutated array is a new key', async () => {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(...m.toString().split('\n')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const emitter = new Emitter({ endpoint: `127.0.0.1:${socket.address().port}` });
  const frozen = Object.freeze(['env:prod']);
  const mutable = ['env:prod'];
  emitter.increment('hits', 1, 1, frozen);
  emitter.increment('hits', 2, 1, frozen);
  emitter.increment('hits', 4, 1, mutable);
  mutable[0] = 'env:dev';
  emitter.increment('hits', 8, 1, mutable);
  emitter.timing('lat', 5, 1, frozen);
  await emitter.close();
  await new Promise((r) => setTimeout(r, 50));
  socket.close();
  expect(received.sort()).toEqual(['hits:7|c|#env:prod', 'hits:8|c|#env:dev', 'lat:5|ms|#env:prod'].sort());
});

it('dogstatsd: packs a key\'s timings into multi-value lines that fit the packet', async () => {
  const socket = dgram.createSocket('udp4');
  const packets: Buffer[] = [];
  socket.on('message', (m) => packets.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const emitter = new Emitter({ endpoint: `127.0.0.1:${socket.address().port}`, dogstatsd: true, maxPacketBytes: 200 });
  const values = Array.from({ length: 300 }, (_, i) => i * 1.5);
  for (const v of values) emitter.timing('api.lat', v, 1, ['env:prod']);
  emitter.histogram('size', 3);
  await emitter.close();
  await new Promise((r) => setTimeout(r, 50));
  socket.close();
  const lines = packets.flatMap((p) => p.toString().split('\n'));
  expect(packets.every((p) => p.length <= 200)).toBe(true);
  expect(lines.filter((l) => l.startsWith('api.lat:')).length).toBeLessThan(300 / 5); // packed, not one per value
  expect(lines).toContain('size:3|h');
  const got = packets.flatMap((p) => parse(p).toArray()).filter((m) => m.name === 'api.lat');
  expect(got.map((m) => m.value)).toEqual(values);
  expect(got.every((m) => m.tags[0] === 'env:prod' && m.sampleRate === 1)).toBe(true);
});
