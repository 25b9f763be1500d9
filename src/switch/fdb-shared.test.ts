/**
 * The MAC table shared by N workers (fdb.ts): two threads learn disjoint address sets and fight over a
 * common set (moves) at the same time; afterwards every address is present exactly once, the shared count
 * equals the entries, and lookups on either side agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Fdb } from './fdb.js';

const learner = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ Fdb }) => {
  const { sab, size, me, n, common } = workerData;
  const fdb = new Fdb(size, sab);
  for (let r = 0; r < 20; r++) {
    for (let i = 0; i < n; i++) fdb.learn((1 << 16) | me, i, me, r);          // own addresses, refreshed
    for (let i = 0; i < common; i++) fdb.learn((1 << 16) | 0xff, i, me, r);  // shared ones move back and forth
  }
  parentPort.postMessage({ learned: fdb.learned, moved: fdb.moved });
});
`;

test('two threads learning at once: no lost, duplicated or torn entries', async () => {
  const size = 8192;
  const fdb = new Fdb(size);
  const url = new URL('./fdb.js', import.meta.url).href;
  const n = 2000;
  const common = 100;
  const run = (me: number) =>
    new Promise<{ learned: number; moved: number }>((resolve, reject) => {
      const w = new Worker(learner, { eval: true, workerData: { url, sab: fdb.sab, size, me, n, common } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const [a, b] = await Promise.all([run(1), run(2)]);
  const entries = fdb.entries(100);
  const keys = new Set(entries.map((e) => `${e.vid}/${e.hi}/${e.lo}`));
  assert.equal(keys.size, entries.length, 'no duplicate keys');
  assert.equal(entries.length, 2 * n + common);
  assert.equal(fdb.count, entries.length, 'shared count matches');
  assert.equal(a.learned + b.learned, 2 * n + common, 'each address learned once, by one of them');
  for (let i = 0; i < n; i++) {
    assert.equal(fdb.lookup((1 << 16) | 1, i), 1);
    assert.equal(fdb.lookup((1 << 16) | 2, i), 2);
  }
  for (let i = 0; i < common; i++) assert.ok([1, 2].includes(fdb.lookup((1 << 16) | 0xff, i)));
});
