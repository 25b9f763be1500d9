/**
 * End to end: the poll window (README "Poll window") on the real daemon, 2 workers, TAP hosts in
 * namespaces. No timing is asserted; the counters in `vswitch queues` are the evidence:
 *   1. off (the default): pings pass and no worker ever opens a window;
 *   2. `switch tune --poll-window 500` at runtime: the setting shows in `queues`, and a ping's reply, which
 *      B's kernel queues on its TAP while the worker is still writing the request, is caught by the window
 *      (caught work > 0) instead of waiting for a wake of its own;
 *   3. back to 0: windows stop opening, whatever traffic passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueuesStatus } from '../control/model.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const sum = (s: QueuesStatus, k: 'pollWindows' | 'pollWindowCatches' | 'pollWindowFrames') =>
  s.workers.reduce((a, w) => a + (w[k] ?? 0), 0);

describe('poll window', { skip }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 2, switch: { workers: 2 } }));
  after(() => lab.stop());

  test('off by default, caught work once on, off again at 0', async () => {
    const [h1, h2] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0);
    let st = await lab.daemon.json<QueuesStatus>('queues', 's1');
    assert.equal(st.pollWindowUs, 0);
    assert.equal(sum(st, 'pollWindows'), 0, 'nothing polls with the window off');
    assert.match((await lab.daemon.cli('queues', 's1')).stdout, /poll window off/);

    const tuned = await lab.daemon.cli('switch', 'tune', 's1', '--poll-window', '500');
    assert.equal(tuned.code, 0, tuned.stderr);
    assert.match(tuned.stdout, /poll window 500 us/);
    // each round trip gives the window a reply to catch; allow a few rounds for a busy machine
    for (let i = 0; i < 10 && sum(st, 'pollWindowCatches') === 0; i++) {
      assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0);
      st = await lab.daemon.json<QueuesStatus>('queues', 's1');
    }
    console.log(
      `# poll window 500 us: ${sum(st, 'pollWindows')} windows, ${sum(st, 'pollWindowCatches')} caught work, ${sum(st, 'pollWindowFrames')} frames`,
    );
    assert.equal(st.pollWindowUs, 500);
    assert.ok(sum(st, 'pollWindows') > 0, 'windows opened after wakes that did work');
    assert.ok(sum(st, 'pollWindowCatches') > 0, 'a window caught a reply');
    assert.ok(sum(st, 'pollWindowFrames') >= sum(st, 'pollWindowCatches'));
    assert.match((await lab.daemon.cli('queues', 's1')).stdout, /poll window 500 us/);
    assert.ok(
      st.workers.every((w) => w.gc !== undefined && w.gc.minor >= 0 && w.gc.longPauses <= w.gc.minor + w.gc.major),
      'GC counts per worker',
    );

    assert.equal((await lab.daemon.cli('switch', 'tune', 's1', '--poll-window', '0')).code, 0);
    const before0 = sum(await lab.daemon.json<QueuesStatus>('queues', 's1'), 'pollWindows');
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0);
    assert.equal(
      sum(await lab.daemon.json<QueuesStatus>('queues', 's1'), 'pollWindows'),
      before0,
      'no window once set back to 0',
    );
    const bad = await lab.daemon.cli('switch', 'tune', 's1', '--poll-window', '5000');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--poll-window: 5000 is out of range; use microseconds from 0 \(off\) to 1000/);
  });
});
