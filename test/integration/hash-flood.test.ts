// Keys crafted to collide in the aggregator's key table (a hash flood) must cost
// about what as many ordinary keys cost. The key hash (native/key_table.h
// HashKey) was unseeded and invertible, so a sender could compute names whose
// hashes share their low 32 bits: they all probed one chain, and each new key
// walked it (quadratic). The keys below are computed against that unseeded
// hash; with the per-process random seed they no longer collide.
import { isUtf8 } from 'node:buffer';

import { describe, expect, test } from 'vitest';

import { Aggregator } from '../../src';

const M = (1n << 64n) - 1n;
const K = 0x9e3779b97f4a7c15n;
const C2 = 0xd6e8feb86659fd93n;

// Inverse of an odd number modulo 2^64 (Newton's iteration).
function inverse(a: bigint): bigint {
  let x = a;
  for (let i = 0; i < 6; i++) x = (x * (2n - ((a * x) & M))) & M;
  return x;
}
const K_INV = inverse(K);
const C2_INV = inverse(C2);

function word(bytes: Uint8Array, at: number): bigint {
  let w = 0n;
  for (let i = 7; i >= 0; i--) w = (w << 8n) | BigInt(bytes[at + i]!);
  return w;
}

// What Python's str.split() splits at beyond ASCII (see native/codec.h CheckText).
const UNICODE_SPACE = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

// Names of 15 bytes whose table key ('0' kind byte + name: 16 bytes, two words)
// hashes to values with the same low 32 bits, computed by inverting HashKey's
// last word and finalizer. Bytes a name may not hold are skipped.
function collidingNames(count: number): Buffer[] {
  const first = Buffer.from('0collide');
  let h = 0x243f6a8885a308d3n ^ ((16n * K) & M);
  h = ((h ^ word(first, 0)) * K) & M;
  h ^= h >> 29n;
  const names: Buffer[] = [];
  const seen = new Set<string>();
  let seed = 1n;
  while (names.length < count) {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & M;
    let x = (seed & 0xffffffff00000000n) | 0x12345678n; // the hash we want
    x ^= x >> 32n;
    x = (x * C2_INV) & M;
    x ^= x >> 32n;
    x = (x * K_INV) & M; // the tail step (no tail bytes)
    x ^= (x >> 29n) ^ (x >> 58n);
    x = (x * K_INV) & M;
    const second = x ^ h;
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(second);
    if (bytes.some((b) => b < 0x21 || b === 0x7f || b === 0x3a || b === 0x7c) || bytes[7] === 0x2e) continue;
    const name = Buffer.concat([first.subarray(1), bytes]);
    // The parser refuses names that are not UTF-8 (bad_encoding), the brubeck
    // convention those with a Unicode space carbon splits at: only ~1 in 200 is
    // left (~4M tries for 20k names, ~10 s here).
    if (!isUtf8(name) || UNICODE_SPACE.test(name.toString('utf8'))) continue;
    const hex = name.toString('hex');
    if (seen.has(hex)) continue; // 2^32 wanted hashes over ~4M tries: some repeat
    seen.add(hex);
    names.push(name);
  }
  return names;
}

function ordinaryNames(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`ordinary${String(i).padStart(7, '0')}`));
}

/** Milliseconds to ingest one counter line per name, 100 lines a packet. */
function ingestMs(names: Buffer[]): { ms: number; keys: number } {
  const aggregator = new Aggregator();
  const packets: Buffer[] = [];
  for (let i = 0; i < names.length; i += 100) {
    packets.push(Buffer.concat(names.slice(i, i + 100).flatMap((n) => [n, Buffer.from(':1|c\n')])));
  }
  const started = process.hrtime.bigint();
  for (const p of packets) aggregator.ingest(p);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  expect(aggregator.stats.byReason).toEqual(expect.objectContaining({ bad_name: 0, bad_encoding: 0 }));
  return { ms, keys: aggregator.stats.keys };
}

describe('hash flood', () => {
  test('20k keys crafted to collide cost about what 20k ordinary keys cost', { timeout: 120_000 }, () => {
    const count = 20_000;
    const ordinary = ingestMs(ordinaryNames(count));
    const colliding = ingestMs(collidingNames(count));
    console.log(`hash flood: ${count} ordinary keys ${ordinary.ms.toFixed(1)} ms, colliding ${colliding.ms.toFixed(1)} ms`);
    expect(colliding.keys).toBe(count);
    expect(colliding.ms).toBeLessThan(10 * ordinary.ms + 50);
  });
});
