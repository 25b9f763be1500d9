/**
 * Workers added and retired on a running switch (runtime/switch-runtime.ts setWorkers), with real traffic
 * through real TAPs: h1 pings h2 every 5 ms while the switch goes 1 -> 2 workers, its RSS table is pointed
 * at the new worker (so the new worker really switches the pings), then 2 -> 1 (the retiring worker's
 * buckets move home and the TAP NIC it hosts is handed to worker 0 without closing it), and again.
 *
 * Checks: no ping lost; no link event and no MAC flush on either port (the TAPs never closed); the second
 * worker switched frames while it existed; `vswitch queues` shows the worker count; `config show` keeps
 * every port and reports the new worker count; bad counts refused with the legal range, nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Queues {
  workers: Array<{ worker: number; frames: number }>;
  rss: { size: number; entries: number[] };
}

describe('workers added and retired on a running switch', { skip }, () => {
  const lab = new SwitchLab();
  before(async () => {
    await lab.start({ hosts: 2, switch: { workers: 1, dvmq: { enabled: false } } });
  });
  after(async () => {
    await lab.stop();
  });

  test('1 -> 2 -> 1 -> 2 -> 1 workers under a 5 ms ping: nothing lost, links untouched', async () => {
    const [h1, h2] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    const before = await lab.counters();
    const ping = lab.lab.exec(h1.ns, ['ping', '-4', '-c', '800', '-i', '0.005', '-W', '1', h2.ip4], {
      timeoutMs: 60_000,
    });
    await sleep(300);
    await lab.daemon.cli('switch', 'tune', 's1', '--workers', '2');
    let q = await lab.daemon.json<Queues>('queues', 's1');
    assert.equal(q.workers.length, 2);
    await lab.daemon.cli('rss', 'set', 's1', new Array(q.rss.size).fill(1).join(','));
    await lab.daemon.cli('queue', 'move', 's1', '0', '1');
    await sleep(500);
    q = await lab.daemon.json<Queues>('queues', 's1');
    assert.ok(q.workers[1]!.frames > 20, `worker 1 switched ${q.workers[1]!.frames} frames`);
    await lab.daemon.cli('switch', 'tune', 's1', '--workers', '1');
    q = await lab.daemon.json<Queues>('queues', 's1');
    assert.equal(q.workers.length, 1);
    assert.deepEqual([...new Set(q.rss.entries)], [0], 'every bucket back on worker 0');
    await sleep(300);
    await lab.daemon.cli('switch', 'tune', 's1', '--workers', '2');
    await lab.daemon.cli('rss', 'set', 's1', new Array(q.rss.size).fill(1).join(','));
    await sleep(300);
    await lab.daemon.cli('switch', 'tune', 's1', '--workers', '1');
    const r = await ping;
    assert.match(r.stdout, /800 packets transmitted, 800 received, 0% packet loss/, r.stdout);
    const c = await lab.counters();
    for (const p of ['p1', 'p2'])
      assert.equal(c.ports[p].linkChanges, before.ports[p].linkChanges, `${p}: no link change`);
    assert.equal(c.fdb.flushed, before.fdb.flushed, 'no MAC flushed');
    const cfg = await lab.daemon.json<{ switches: Array<{ workers?: number; ports: unknown[] }> }>('config', 'show');
    assert.equal(cfg.switches[0]!.workers, 1);
    assert.equal(cfg.switches[0]!.ports.length, 2);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
  });

  test('bad worker counts are refused with the legal range; the switch keeps its workers', async () => {
    for (const bad of ['0', '65', 'two']) {
      const r = await lab.daemon.cli('switch', 'tune', 's1', '--workers', bad);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--workers: .*(out of range; use an integer from 1 to 64|whole number)/);
    }
    const q = await lab.daemon.json<Queues>('queues', 's1');
    assert.equal(q.workers.length, 1);
  });
});
