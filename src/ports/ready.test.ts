/**
 * ReadyWaiters: every waiter is settled by the next settle() (resolved or rejected), and only once; a wait()
 * after a settle() waits for the following one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadyWaiters } from './ready.js';

const state = (p: Promise<void>): Promise<string> =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: Error) => `rejected: ${e.message}`,
    ),
    new Promise<string>((r) => setImmediate(() => r('pending'))),
  ]);

test('settle(null) resolves every waiter so far; settle(err) rejects the next round', async () => {
  const w = new ReadyWaiters();
  const a = w.wait();
  const b = w.wait();
  assert.equal(await state(a), 'pending');
  w.settle(null);
  assert.deepEqual(await Promise.all([state(a), state(b)]), ['resolved', 'resolved']);

  const c = w.wait();
  assert.equal(await state(c), 'pending', 'a wait after settle waits for the next one');
  w.settle(new Error('closed'));
  assert.equal(await state(c), 'rejected: closed');
  w.settle(new Error('again')); // nobody left: nothing happens
  assert.equal(await state(c), 'rejected: closed');
});
