import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultWindow, kFaultWindowMs, kMaxFaults } from './fault-window.js';

test('the limit is reached by kMaxFaults faults inside the window, not by faults spread wider', () => {
  const w = new FaultWindow();
  for (let i = 0; i < kMaxFaults - 1; i++) assert.equal(w.add(i * 1000), null);
  assert.equal(w.add(kMaxFaults * 1000), kMaxFaults);

  const spread = new FaultWindow();
  // one fault every window/4 + 1 ms: never 5 within any 60 s
  for (let i = 0; i < 20; i++) assert.equal(spread.add(i * (kFaultWindowMs / 4 + 1)), null, `fault ${i}`);
});

test('a custom limit and window', () => {
  const w = new FaultWindow(2, 100);
  assert.equal(w.add(0), null);
  assert.equal(w.add(101), null); // the first one left the window
  assert.equal(w.add(150), 2);
});
