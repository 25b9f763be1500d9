/**
 * PacketPool tests: slot allocation and exhaustion, metadata reset, egress reference counting, frame copy
 * in and out, and a second view over the same SharedArrayBuffers (what another thread would build).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kHeadroom, PacketPool } from './pool.js';
import { Meta } from './slot-meta.js';

const shape = { slots: 64, slotSize: 2048 };

test('alloc hands out every slot once, then -1; free makes one available again', () => {
  const pool = new PacketPool(shape);
  assert.equal(pool.available, 64);
  assert.equal(pool.maxFrame, 2048 - kHeadroom);
  const got = new Set<number>();
  for (let i = 0; i < 64; i++) {
    const s = pool.alloc();
    assert.ok(s >= 0 && s < 64, `slot ${s} in range`);
    got.add(s);
  }
  assert.equal(got.size, 64, 'no slot handed out twice');
  assert.equal(pool.available, 0);
  assert.equal(pool.alloc(), -1);
  assert.equal(pool.alloc(), -1, 'still exhausted');
  pool.free(17);
  assert.equal(pool.available, 1);
  assert.equal(pool.alloc(), 17);
  assert.equal(pool.alloc(), -1);
});

test('alloc resets the slot metadata to an empty frame at the headroom', () => {
  const pool = new PacketPool(shape);
  const s = pool.alloc();
  pool.meta32[(s << Meta.shift) + Meta.off] = 40;
  pool.meta32[(s << Meta.shift) + Meta.len] = 99;
  pool.meta32[(s << Meta.shift) + Meta.refs] = 3;
  pool.meta32[(s << Meta.shift) + Meta.vid] = 10;
  pool.meta32[(s << Meta.shift) + Meta.pcp] = 5;
  pool.meta32[(s << Meta.shift) + Meta.aux] = 2;
  pool.free(s);
  assert.equal(pool.alloc(), s, 'free list is LIFO: the same slot comes back');
  assert.deepEqual(
    [
      pool.meta32[(s << Meta.shift) + Meta.off],
      pool.meta32[(s << Meta.shift) + Meta.len],
      pool.meta32[(s << Meta.shift) + Meta.refs],
      pool.meta32[(s << Meta.shift) + Meta.vid],
      pool.meta32[(s << Meta.shift) + Meta.pcp],
      pool.meta32[(s << Meta.shift) + Meta.aux],
    ],
    [kHeadroom, 0, 0, 0, 0, 0],
  );
  assert.equal(pool.slotBase(s), s * 2048);
  assert.equal(pool.frameStart(s), s * 2048 + kHeadroom);
  pool.meta32[(s << Meta.shift) + Meta.off] = kHeadroom - 4;
  assert.equal(pool.frameStart(s), s * 2048 + kHeadroom - 4);
});

test('release frees a slot only when its last egress reference is dropped', () => {
  const pool = new PacketPool(shape);
  const s = pool.alloc();
  pool.meta32[(s << Meta.shift) + Meta.refs] = 3;
  const before = pool.available;
  pool.release(s);
  pool.release(s);
  assert.equal(pool.available, before, 'two of three references released: still held');
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.refs], 1);
  pool.release(s);
  assert.equal(pool.available, before + 1);
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.refs], 0);
});

test('load copies a frame into a fresh slot at the headroom; copyOut copies it back', () => {
  const pool = new PacketPool(shape);
  const frame = Uint8Array.from({ length: 60 }, (_, i) => i * 7);
  const s = pool.load(frame, 3);
  assert.ok(s >= 0);
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.len], 60);
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.port], 3);
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.off], kHeadroom);
  assert.deepEqual(pool.bytes.subarray(pool.frameStart(s), pool.frameStart(s) + 60), frame);
  assert.equal(pool.view.getUint8(pool.frameStart(s) + 59), (59 * 7) & 0xff);
  const out = pool.copyOut(s);
  assert.deepEqual(out, frame);
  out[0] = 0xff;
  assert.equal(pool.bytes[pool.frameStart(s)], 0, 'copyOut is a copy, not a view');
  // largest frame fits exactly; one more byte does not and consumes no slot
  const avail = pool.available;
  assert.equal(pool.load(new Uint8Array(pool.maxFrame + 1)), -1);
  assert.equal(pool.available, avail);
  const big = pool.load(new Uint8Array(pool.maxFrame).fill(0xab));
  assert.ok(big >= 0);
  assert.equal(pool.meta32[(big << Meta.shift) + Meta.len], pool.maxFrame);
  assert.equal(pool.bytes[pool.slotBase(big) + 2047], 0xab, 'last byte is the last byte of the slot');
});

test('load returns -1 when the pool is exhausted', () => {
  const pool = new PacketPool(shape);
  for (let i = 0; i < 64; i++) assert.ok(pool.load(new Uint8Array(14)) >= 0);
  assert.equal(pool.load(new Uint8Array(14)), -1);
});

test('a second view over the same SharedArrayBuffers sees the same bytes and metadata', () => {
  const a = new PacketPool(shape);
  const s = a.load(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), 2);
  a.meta32[(s << Meta.shift) + Meta.vid] = 42;
  const b = new PacketPool(shape, { data: a.data, meta: a.meta });
  assert.deepEqual(b.copyOut(s), a.copyOut(s));
  assert.equal(b.meta32[(s << Meta.shift) + Meta.vid], 42);
  assert.equal(b.meta32[(s << Meta.shift) + Meta.port], 2);
  b.meta32[(s << Meta.shift) + Meta.pcp] = 6;
  assert.equal(a.meta32[(s << Meta.shift) + Meta.pcp], 6);
});

test('constructor rejects bad shapes', () => {
  assert.throws(() => new PacketPool({ slots: 63, slotSize: 2048 }), RangeError);
  assert.throws(() => new PacketPool({ slots: 64, slotSize: 2047 }), RangeError);
  assert.throws(() => new PacketPool({ slots: 64, slotSize: 1984 }), RangeError);
  assert.throws(() => new PacketPool({ slots: 64.5, slotSize: 2048 }), RangeError);
});

// ---- shared pool (N workers): per-worker caches over one shared free list ----

import { Worker } from 'node:worker_threads';
import { createSharedPool } from './pool.js';

const churn = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ PacketPool }) => {
  const { shape, shared, owner, me, rounds } = workerData;
  const pool = new PacketPool(shape, shared);
  const own = new Int32Array(owner);
  const held = [];
  let dup = 0, got = 0;
  let x = me * 7919 + 1;
  for (let i = 0; i < rounds; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    if ((x & 3) !== 0 || held.length === 0) {
      const s = pool.alloc();
      if (s >= 0) {
        got++;
        if (Atomics.compareExchange(own, s, 0, me) !== 0) dup++;
        held.push(s);
      }
    } else {
      const s = held.splice(x % held.length, 1)[0];
      Atomics.store(own, s, 0);
      pool.free(s);
    }
  }
  for (const s of held) { Atomics.store(own, s, 0); pool.free(s); }
  pool.flushCache();
  parentPort.postMessage({ dup, got });
});
`;

test('shared pool: two threads allocating and freeing never hold the same slot; every slot comes back', async () => {
  const shape = { slots: 512, slotSize: 2048 };
  const { shared } = createSharedPool(shape);
  const owner = new SharedArrayBuffer(shape.slots * 4);
  const url = new URL('./pool.js', import.meta.url).href;
  const run = (me: number) =>
    new Promise<{ dup: number; got: number }>((resolve, reject) => {
      const w = new Worker(churn, { eval: true, workerData: { url, shape, shared, owner, me, rounds: 200_000 } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const [a, b] = await Promise.all([run(1), run(2)]);
  assert.equal(a.dup + b.dup, 0, 'no slot handed to two holders at once');
  assert.ok(a.got > 10_000 && b.got > 10_000);
  const view = new PacketPool(shape, shared);
  assert.equal(view.available, shape.slots, 'every slot back in the shared list');
  const seen = new Set<number>();
  for (let i = 0; i < shape.slots; i++) seen.add(view.alloc());
  assert.equal(seen.size, shape.slots);
  assert.equal(seen.has(-1), false);
});
