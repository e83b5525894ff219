// Tag arrays: frozen ones take the identity fast path, mutable ones are read each call.
import * as dgram from 'node:dgram';

import { expect, it } from 'vitest';

import { Emitter } from '../../src';

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
