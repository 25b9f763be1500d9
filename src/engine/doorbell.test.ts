/**
 * Native doorbells (engine/doorbell.ts, native/tap.c bell/ring): a ring from another thread runs the bell's
 * callback on the owner's loop; QueueTables.ring reaches it once the hook is installed; rings coalesce while
 * a call is pending; a ring with no bell, or after unbell, is a no-op; unbell is idempotent. Waits on
 * conditions, no timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { QueueTables } from '../queues/queue-tables.js';
import { tapAddonAvailable } from '../ports/tap-native.js';
import { nativeDoorbells } from './doorbell.js';

const skip = tapAddonAvailable() ? false : 'TAP addon not built';

async function until(what: string, done: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!done()) {
    if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a ring from another thread wakes the bell on this loop; unbell stops it', { skip }, async () => {
  const addon = nativeDoorbells()!;
  assert.ok(addon);
  const words = new Int32Array(new SharedArrayBuffer(64));
  let calls = 0;
  const id = addon.bell(words, 3, () => calls++);
  addon.ring(words, 2); // another word: nothing
  const addonFile = new URL('../../build/Release/vswitch_tap.node', import.meta.url).pathname;
  const w = new Worker(
    `const { workerData } = require('node:worker_threads');
     const a = require(workerData.addonFile);
     a.ring(workerData.words, 3);`,
    { eval: true, workerData: { addonFile, words } },
  );
  await new Promise((r) => w.once('exit', r));
  await until('the ring from the worker', () => calls === 1);
  // several rings before the loop turns: one call at least, never lost
  addon.ring(words, 3);
  addon.ring(words, 3);
  await until('the second ring', () => calls >= 2);
  assert.equal(addon.unbell(id), true);
  assert.equal(addon.unbell(id), false, 'idempotent');
  const before = calls;
  addon.ring(words, 3); // no bell any more: a no-op
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, before);
  assert.throws(() => addon.ring(words, 16), /doorbell index outside the array/);
});

test('QueueTables.ring reaches a worker sleeping on a native doorbell', { skip }, async () => {
  const addon = nativeDoorbells()!;
  assert.ok(QueueTables.onRing !== null, 'hook installed');
  const t = new QueueTables();
  let woke = 0;
  const id = addon.bell(t.a, QueueTables.doorbell(1), () => woke++);
  t.ring(1);
  await until('the doorbell', () => woke === 1);
  addon.unbell(id);
});
