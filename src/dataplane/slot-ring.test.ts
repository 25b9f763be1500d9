/**
 * SlotRing: publish/commit semantics on one thread, a full ring refusing, index wrap-around, and a real
 * cross-thread run (a worker produces 200k (slot, queue) pairs in batches; the main thread checks order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { SlotRing } from './slot-ring.js';

test('push is invisible until publish; FIFO with queues; head published only at commit', () => {
  const p = new SlotRing(4);
  const c = new SlotRing(4, p.sab);
  assert.equal(p.push(7, 1), true);
  assert.equal(p.push(8, 2), true);
  assert.equal(c.available(), 0);
  assert.equal(p.unpublished, 2);
  p.publish();
  assert.equal(c.available(), 2);
  assert.equal(c.peekQueue(), 1);
  assert.equal(c.pop(), 7);
  assert.equal(c.peekQueue(), 2);
  assert.equal(c.pop(), 8);
  assert.equal(c.publishedHead(), 0, 'taken, not committed');
  c.commit();
  assert.equal(c.publishedHead(), 2);
  assert.equal(p.publishedTail(), 2);
});

test('a full ring refuses; space comes back only after commit; indices wrap', () => {
  const p = new SlotRing(4);
  const c = new SlotRing(4, p.sab);
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 4; i++) assert.equal(p.push(round * 4 + i, i), true);
    assert.equal(p.push(99, 0), false, 'full');
    p.publish();
    for (let i = 0; i < 4; i++) assert.equal(c.pop(), round * 4 + i);
    assert.equal(p.push(99, 0), false, 'still full until the consumer commits');
    c.commit();
  }
  assert.throws(() => new SlotRing(3), /power of two/);
});

const producer = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ SlotRing }) => {
  const ring = new SlotRing(workerData.size, workerData.sab);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < workerData.n; i++) {
    while (!ring.push(i, i % 384)) { ring.publish(); Atomics.wait(nap, 0, 0, 0.05); }
    if ((i & 63) === 63) ring.publish();
  }
  ring.publish();
  parentPort.postMessage('done');
});
`;

test('cross-thread: 200k pairs arrive complete and in order', async () => {
  const n = 200_000;
  const ring = new SlotRing(256);
  const w = new Worker(producer, {
    eval: true,
    workerData: { url: new URL('./slot-ring.js', import.meta.url).href, sab: ring.sab, size: 256, n },
  });
  let next = 0;
  let bad = 0;
  while (next < n) {
    let k = ring.available();
    if (k === 0) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    while (k-- > 0) {
      if (ring.peekQueue() !== next % 384) bad++;
      if (ring.pop() !== next) bad++;
      next++;
    }
    ring.commit();
  }
  await new Promise((r) => w.once('exit', r));
  assert.equal(bad, 0);
  assert.equal(next, n);
});
