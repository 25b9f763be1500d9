/**
 * Multi-queue TAP ports (IFF_MULTI_QUEUE, docs/queues.md): on a 2-worker switch every worker opens its
 * own kernel queue of each TAP, the kernel spreads the host's flows over the queues, and each worker reads
 * its own. Checks, with real TAPs in namespaces: the kernel reports two queues on each TAP (`ip -d link`:
 * numqueues 2); 64 sequenced UDP flows h1 -> h2 arrive complete and in order in every flow while both
 * workers switch a share; ping both ways still works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueuesStatus } from '../control/model.js';
import { netnsSkipReason } from '../testing/netns.js';
import { runSeqSender, seqReport, startSeqReceiver } from '../testing/udp-seq.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();

describe('multi-queue TAP ports on 2 workers', { skip }, () => {
  const lab = new SwitchLab();
  before(async () => {
    // Dynamic VMQ off: buckets spread round robin from the start, so both workers switch
    await lab.start({ hosts: 2, multiQueue: true, switch: { workers: 2, dvmq: { enabled: false } } });
    await lab.lab.ip(lab.hosts[0]!.ns, 'link', 'set', 'dev', lab.hosts[0]!.tap, 'txqueuelen', '20000');
  });
  after(() => lab.stop());

  test('one kernel queue per worker; 64 flows in order, both workers switching', async () => {
    const [h1, h2] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
    for (const h of [h1, h2]) {
      const d = await lab.lab.ip(h.ns, '-d', 'link', 'show', 'dev', h.tap);
      assert.match(d, /multi_queue numqueues 2\b/, `${h.tap}: ${d}`);
    }
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    assert.equal(await lab.ping(h2, h1.ip4, { count: 2 }), 0);
    const st0 = await lab.daemon.json<QueuesStatus>('queues', 's1');
    const rx = await startSeqReceiver(lab.lab, h2.ns, { port: 7100, flows: 64 });
    const tx = await runSeqSender(lab.lab, h1.ns, { dst: h2.ip4, port: 7100, flows: 64, count: 500, pps: 20_000 });
    const r = seqReport(tx, await rx.result);
    const st1 = await lab.daemon.json<QueuesStatus>('queues', 's1');
    const frames = st1.workers.map((w, i) => w.frames - st0.workers[i]!.frames);
    const handed = st1.workers.map((w, i) => w.handedOver - st0.workers[i]!.handedOver);
    console.log(
      `# multi-queue: ${r.text}; frames switched by worker ${JSON.stringify(frames)}; handed over ${JSON.stringify(handed)}`,
    );
    assert.equal(r.reordered, 0, 'no datagram out of order in any flow');
    assert.ok(r.received >= r.sent * 0.99, `received ${r.received} of ${r.sent}`);
    assert.ok(
      frames.every((f) => f > 1000),
      `both workers switched: ${JSON.stringify(frames)}`,
    );
    // each worker read some flows from its own kernel queue and handed those whose bucket the other serves
    assert.ok(
      handed.every((f) => f > 100),
      `both workers read (and handed over) frames: ${JSON.stringify(handed)}`,
    );
  });
});
