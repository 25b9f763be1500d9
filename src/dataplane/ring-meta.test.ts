/**
 * FrameRing extensions for packet capture: per-entry metadata words (layout unchanged when there are
 * none), and the allocation-free word copy for small frames, checked byte for byte against the bulk copy
 * for every length across the threshold, aligned and unaligned starts, unaligned source views, a
 * capacity that is not a multiple of 4, and a producer that switches source buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRing } from './ring.js';

test('byteLength: with no metadata the layout is the original one (ctl + lens + data)', () => {
  assert.equal(FrameRing.byteLength(8, 64), 48 * 4 + 8 * 4 + 8 * 64);
  assert.equal(FrameRing.byteLength(8, 64, 6), 48 * 4 + 8 * 4 + 8 * 6 * 4 + 8 * 64);
  assert.throws(() => new FrameRing(8, 64, new SharedArrayBuffer(100)), /smaller than its shape/);
  assert.throws(() => new FrameRing(8, 64, undefined, -1), RangeError);
});

test('metadata words travel with their entry and are visible after publish', () => {
  const prod = new FrameRing(4, 32, undefined, 3);
  const cons = new FrameRing(4, 32, prod.sab, 3);
  const src = new Uint8Array(32);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) {
      src[0] = round * 4 + i;
      assert.equal(prod.push(src, 0, 8 + i), true);
      prod.setMeta(0, round * 4 + i);
      prod.setMeta(1, -1 - i);
      prod.setMeta(2, 0xdeadbeef | 0);
    }
    assert.equal(prod.push(src, 0, 8), false, 'full: no entry, so no metadata to set');
    prod.publish();
    const dst = new Uint8Array(32);
    for (let i = 0; i < 4; i++) {
      assert.equal(cons.pop(dst, 0), 8 + i);
      assert.equal(dst[0], round * 4 + i);
      assert.deepEqual([cons.getMeta(0), cons.getMeta(1), cons.getMeta(2) >>> 0], [round * 4 + i, -1 - i, 0xdeadbeef]);
    }
    cons.release();
  }
});

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(new SharedArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return b;
}

test('every length from 0 to 300, aligned and unaligned starts: the entry holds exactly the source bytes', () => {
  const cap = 320;
  const prod = new FrameRing(4, cap);
  const cons = new FrameRing(4, cap, prod.sab);
  const src = pattern(4096, 3);
  const dst = new Uint8Array(cap + 8);
  for (let len = 0; len <= 300; len++) {
    for (const start of [128, 129, 130, 131, 4096 - 300]) {
      dst.fill(0xee);
      assert.equal(prod.push(src, start, len), true);
      prod.publish();
      assert.equal(cons.pop(dst, 4), len);
      cons.release();
      assert.deepEqual(dst.subarray(4, 4 + len), src.subarray(start, start + len), `len ${len} start ${start}`);
      assert.equal(dst[3], 0xee);
      assert.equal(dst[4 + len], 0xee, `len ${len} start ${start}: nothing written past the frame`);
    }
  }
});

test('a source view at an unaligned byte offset, a capacity not a multiple of 4, and switching sources', () => {
  const whole = pattern(1024, 5);
  const odd = new Uint8Array(whole.buffer, 1, 1000); // byteOffset 1: no word view possible
  const other = pattern(512, 9);
  for (const cap of [64, 66]) {
    const prod = new FrameRing(8, cap);
    const cons = new FrameRing(8, cap, prod.sab);
    const dst = new Uint8Array(cap);
    const cases: Array<[Uint8Array, number, number]> = [
      [whole, 0, 60],
      [odd, 3, 61],
      [other, 8, 64],
      [whole, 4, 17],
      [odd, 0, 64],
      [other, 0, 13],
    ];
    for (const [src, start, len] of cases) assert.equal(prod.push(src, start, len), true);
    prod.publish();
    for (const [src, start, len] of cases) {
      assert.equal(cons.pop(dst, 0), len);
      assert.deepEqual(dst.subarray(0, len), src.subarray(start, start + len), `cap ${cap} start ${start} len ${len}`);
    }
  }
});
