/**
 * FrameRing tests: push/publish/pop/release on one thread, full-ring drops, index wrap-around, and a real
 * cross-thread run: a worker_thread producer pushes 100k numbered frames, the main thread consumes them
 * with waitAsync and checks every frame's number and bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FrameRing } from './ring.js';

/** Ring control words (ring.ts): head at int 0, tail at int 16, drops at int 32; 48 ints in all. */
const kCtlInts = 48;

function frame(seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seq * 31 + i) & 0xff;
  return f;
}

test('push is invisible until publish; pop returns frames in order with their lengths; empty pop is -1', () => {
  const prod = new FrameRing(8, 128);
  const cons = new FrameRing(8, 128, prod.sab); // the consumer's own view, as on another thread
  const src = new Uint8Array(300);
  src.set(frame(1, 60), 10);
  src.set(frame(2, 14), 100);
  assert.equal(prod.push(src, 10, 60), true);
  assert.equal(prod.push(src, 100, 14), true);
  assert.equal(cons.available(), 0, 'not published yet');
  assert.equal(cons.pop(new Uint8Array(128), 0), -1);
  prod.publish();
  assert.equal(cons.available(), 2);
  const dst = new Uint8Array(200).fill(0xee);
  assert.equal(cons.pop(dst, 5), 60);
  assert.deepEqual(dst.subarray(5, 65), frame(1, 60));
  assert.equal(dst[4], 0xee);
  assert.equal(dst[65], 0xee, 'pop writes exactly len bytes');
  assert.equal(cons.pop(dst, 0), 14);
  assert.deepEqual(dst.subarray(0, 14), frame(2, 14));
  assert.equal(cons.pop(dst, 0), -1);
  assert.equal(cons.available(), 0);
  cons.release();
  assert.equal(prod.drops, 0);
  // a zero-length and a full-capacity entry
  assert.equal(prod.push(src, 0, 0), true);
  assert.equal(prod.push(frame(3, 128), 0, 128), true);
  prod.publish();
  assert.equal(cons.pop(dst, 0), 0);
  assert.equal(cons.pop(dst, 0), 128);
  assert.deepEqual(dst.subarray(0, 128), frame(3, 128));
});

test('a full ring drops and counts; space returns only after the consumer releases', () => {
  const prod = new FrameRing(4, 64);
  const cons = new FrameRing(4, 64, prod.sab);
  const f = frame(9, 64);
  for (let i = 0; i < 4; i++) assert.equal(prod.push(f, 0, 20 + i), true);
  assert.equal(prod.push(f, 0, 20), false, 'fifth push into a 4-entry ring');
  assert.equal(prod.drops, 1);
  prod.publish();
  const dst = new Uint8Array(64);
  assert.equal(cons.pop(dst, 0), 20);
  assert.equal(cons.pop(dst, 0), 21);
  assert.equal(prod.push(f, 0, 30), false, 'popped but not released: still full');
  assert.equal(prod.drops, 2);
  cons.release();
  assert.equal(prod.push(f, 0, 30), true);
  assert.equal(prod.push(f, 0, 31), true);
  assert.equal(prod.push(f, 0, 32), false);
  assert.equal(prod.drops, 3);
  prod.publish();
  assert.deepEqual(
    [cons.pop(dst, 0), cons.pop(dst, 0), cons.pop(dst, 0), cons.pop(dst, 0), cons.pop(dst, 0)],
    [22, 23, 30, 31, -1],
  );
  assert.equal(cons.drops, 3, 'both views read the same drop counter');
});

test('a frame longer than the entry capacity is dropped and counted, the ring unchanged', () => {
  const r = new FrameRing(4, 64);
  assert.equal(r.push(new Uint8Array(65), 0, 65), false);
  assert.equal(r.drops, 1);
  r.publish();
  assert.equal(r.available(), 0);
});

test('constructor rejects sizes that are not powers of two', () => {
  assert.throws(() => new FrameRing(3, 64), RangeError);
  assert.throws(() => new FrameRing(1, 64), RangeError);
  assert.throws(() => new FrameRing(0, 64), RangeError);
});

// Regression: the first FrameRing compared `pendingTail - head >= size` as doubles, so once the tail had
// wrapped to -2^31 and the head had not, the ring never looked full and overwrote unread frames.
test('indices wrap past 2^31: the ring still fills at exactly `size` and pops in order', () => {
  const size = 8;
  const cap = 16;
  const sab = new SharedArrayBuffer(kCtlInts * 4 + size * 4 + size * cap);
  const ctl = new Int32Array(sab, 0, kCtlInts);
  ctl[0] = ctl[16] = 0x7ffffffc; // head = tail = 2^31 - 4: the tail wraps to -2^31 after four pushes
  const prod = new FrameRing(size, cap, sab);
  const cons = new FrameRing(size, cap, sab);
  let accepted = 0;
  for (let i = 0; i < size + 4; i++) if (prod.push(frame(i, cap), 0, cap)) accepted++;
  prod.publish();
  assert.equal(accepted, size, 'a ring of 8 accepts 8 frames before it is full');
  assert.equal(prod.drops, 4);
  assert.equal(cons.available(), size);
  const dst = new Uint8Array(cap);
  for (let i = 0; i < size; i++) {
    assert.equal(cons.pop(dst, 0), cap);
    assert.deepEqual(dst, frame(i, cap), `frame ${i} intact across the wrap`);
  }
  assert.equal(cons.pop(dst, 0), -1);
});

test('indices wrap past 2^31: pop and available stay correct when the consumer keeps up', () => {
  const size = 8;
  const cap = 16;
  const sab = new SharedArrayBuffer(kCtlInts * 4 + size * 4 + size * cap);
  const ctl = new Int32Array(sab, 0, kCtlInts);
  ctl[0] = ctl[16] = 0x7ffffffa;
  const prod = new FrameRing(size, cap, sab);
  const cons = new FrameRing(size, cap, sab);
  const dst = new Uint8Array(cap);
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 3; i++) assert.equal(prod.push(frame(round * 3 + i, cap), 0, cap), true);
    prod.publish();
    assert.equal(cons.available(), 3);
    for (let i = 0; i < 3; i++) {
      assert.equal(cons.pop(dst, 0), cap);
      assert.deepEqual(dst, frame(round * 3 + i, cap));
    }
    cons.release();
  }
  assert.equal(ctl[16], (0x7ffffffa + 18) | 0, 'tail wrapped to a negative int32');
  assert.equal(prod.drops, 0);
});

// ---- cross-thread ----

const kFrames = 100_000;

/** Producer body run in a worker (eval'd CommonJS, so it imports the compiled ring module by URL). */
const producerSource = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.ringUrl).then(({ FrameRing }) => {
  const { sab, size, cap, n, retry } = workerData;
  const ring = new FrameRing(size, cap, sab);
  const buf = new Uint8Array(cap);
  const dv = new DataView(buf.buffer);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let failed = 0;
  for (let seq = 0; seq < n; seq++) {
    const len = 4 + (seq % 61);
    dv.setUint32(0, seq);
    for (let i = 4; i < len; i++) buf[i] = (seq + i) & 0xff;
    while (!ring.push(buf, 0, len)) {
      failed++;
      if (!retry) break;
      ring.publish();
      Atomics.wait(nap, 0, 0, 0.05); // let the consumer catch up
    }
    if ((seq & 31) === 31) ring.publish(); // publish once per 32-frame batch
  }
  ring.publish();
  parentPort.postMessage({ failed });
});
`;

async function runCrossThread(
  size: number,
  retry: boolean,
): Promise<{ seqs: number[]; failed: number; drops: number; badBytes: number }> {
  const cap = 64;
  const ring = new FrameRing(size, cap);
  const worker = new Worker(producerSource, {
    eval: true,
    workerData: { ringUrl: new URL('./ring.js', import.meta.url).href, sab: ring.sab, size, cap, n: kFrames, retry },
  });
  let result: { failed: number } | null = null;
  let error: unknown = null;
  worker.on('message', (m: { failed: number }) => (result = m));
  worker.on('error', (e) => (error = e));
  // Atomics.waitAsync does not ref Node's event loop (nodejs/node#61941): once the worker has exited, a
  // pending wait alone would let the process end mid-test. Hold a ref'd timer while consuming.
  const keepAlive = setInterval(() => {}, 1000);
  const seqs: number[] = [];
  let badBytes = 0;
  const dst = new Uint8Array(cap);
  const dv = new DataView(dst.buffer);
  for (;;) {
    let len: number;
    while ((len = ring.pop(dst, 0)) >= 0) {
      const seq = dv.getUint32(0);
      if (len !== 4 + (seq % 61)) badBytes++;
      for (let i = 4; i < len; i++) if (dst[i] !== ((seq + i) & 0xff)) badBytes++;
      seqs.push(seq);
    }
    ring.release();
    if (error) throw error;
    if (result !== null && ring.available() === 0) break;
    const p = ring.waitAsync(20);
    if (p) await p;
    else await new Promise((r) => setImmediate(r)); // data raced in: loop, but let the message event run
  }
  clearInterval(keepAlive);
  await worker.terminate();
  return { seqs, failed: (result as unknown as { failed: number }).failed, drops: ring.drops, badBytes };
}

test('cross-thread: 100k frames from a worker arrive complete and in order (producer retries when full)', async () => {
  const { seqs, failed, drops, badBytes } = await runCrossThread(1024, true);
  assert.equal(badBytes, 0);
  assert.equal(seqs.length, kFrames);
  for (let i = 0; i < kFrames; i++) if (seqs[i] !== i) assert.fail(`frame #${i} has sequence ${seqs[i]}`);
  assert.equal(drops, failed, 'every refused push is counted as a ring drop');
});

test('cross-thread: a small ring with a producer that never waits: counted drops, strictly increasing sequence', async () => {
  const { seqs, failed, drops, badBytes } = await runCrossThread(64, false);
  assert.equal(badBytes, 0);
  for (let i = 1; i < seqs.length; i++)
    if (!(seqs[i] > seqs[i - 1])) assert.fail(`sequence not increasing at #${i}: ${seqs[i - 1]} then ${seqs[i]}`);
  assert.equal(drops, failed);
  assert.equal(seqs.length + drops, kFrames, 'every frame is either received or counted as dropped');
});
