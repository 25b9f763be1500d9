/**
 * sum16 must equal packet/checksum onesSum bit for bit (0 versus 0xffff included), at every alignment,
 * length and initial value, over a SharedArrayBuffer like the pool's and over a subarray with an odd
 * byteOffset (the fallback path).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { onesSum } from '../packet/checksum.js';
import { sum16 } from './sum.js';

test('sum16 equals onesSum for random regions, alignments and initial values', () => {
  const buf = new Uint8Array(new SharedArrayBuffer(4096));
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 2000 }),
      fc.nat(1000),
      fc.integer({ min: 0, max: 0x3ffff }),
      (data, at, initial) => {
        buf.set(data, at);
        assert.equal(sum16(buf, at, data.length, initial), onesSum(buf, at, data.length, initial));
      },
    ),
    { numRuns: 500 },
  );
});

test('sum16 on a subarray with an odd byteOffset and on all-zero / all-0xff regions', () => {
  const base = new Uint8Array(new ArrayBuffer(1024));
  for (let i = 0; i < base.length; i++) base[i] = (i * 31 + 7) & 0xff;
  const sub = base.subarray(3);
  for (const [s, n] of [
    [0, 500],
    [1, 501],
    [2, 64],
    [5, 33],
  ] as const)
    assert.equal(sum16(sub, s, n, 9), onesSum(sub, s, n, 9));
  const z = new Uint8Array(256);
  assert.equal(sum16(z, 0, 256, 0), 0, 'all zero sums to 0, not 0xffff');
  z.fill(0xff);
  assert.equal(sum16(z, 0, 256, 0), 0xffff);
  assert.equal(sum16(z, 2, 200, 0), onesSum(z, 2, 200, 0));
});
