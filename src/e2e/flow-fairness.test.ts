/**
 * One port cannot starve the others of stateful ACL flows. h1 and h2 both sit behind "allow outbound
 * (stateful), deny inbound"; h1 sends one-way UDP to 300 destination ports (a scan: flows nobody answers),
 * far more than the switch's 16-entry flow table. h2's pings must still get flows, so their replies pass:
 * the table early-drops unanswered flows for new ones (counted). With a per-port quota (policy maxFlows),
 * h1's flows beyond it are refused and counted, and h2 is untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PortPolicy } from '../control/model.js';
import { netnsSkipReason } from '../testing/netns.js';
import { runSeqSender } from '../testing/udp-seq.js';
import { SwitchLab, type LabHost } from './lab.js';

const statefulOut: PortPolicy = {
  extendedAcls: [
    { action: 'allow', direction: 'outbound', weight: 10, stateful: true, idleTimeout: 600 },
    { action: 'deny', direction: 'inbound', weight: 1 },
  ],
};

describe('stateful flows: one port cannot fill the flow table for the others', { skip: netnsSkipReason() }, () => {
  const lab = new SwitchLab();
  before(() =>
    lab.start({ hosts: 3, switch: { flowTableSize: 16, workers: 1 }, policy: [statefulOut, statefulOut, undefined] }),
  );
  after(() => lab.stop());

  const flows = async () =>
    (await lab.counters()).flows as {
      active: number;
      created: number;
      refused: number;
      earlyDropped: number;
      quotaRefused: number;
    };
  /** A scan from h1: 300 one-way UDP flows to h3 (h3 answers none of them). */
  const scan = (base: number) =>
    runSeqSender(lab.lab, lab.hosts[0]!.ns, {
      dst: lab.hosts[2]!.ip4,
      port: 9,
      flows: 300,
      count: 1,
      pps: 3000,
      sportBase: base,
    });

  test('a scan from h1 fills the table; h2 still opens flows (early drop of unanswered ones) and its pings come back', async () => {
    const [, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
    await scan(20_000);
    const f0 = await flows();
    assert.equal(f0.active, 16, `the scan filled the flow table: ${JSON.stringify(f0)}`);
    assert.ok(
      f0.earlyDropped > 200,
      `the scan's own flows were early-dropped for its newer ones: ${JSON.stringify(f0)}`,
    );
    assert.equal(await lab.ping(h2, h3.ip4, { count: 3 }), 0, 'h2 opens a flow in the full table and its replies pass');
    const f1 = await flows();
    assert.equal(f1.refused, 0, `nothing refused: the table had unanswered flows to give up: ${JSON.stringify(f1)}`);
    assert.ok(f1.earlyDropped > f0.earlyDropped, 'h2 got its entry by an early drop');
  });

  test('policy maxFlows caps h1: its flows beyond the quota are refused and counted; h2 is untouched', async () => {
    const [h1, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
    const r = await lab.daemon.cli('port', 'policy', 's1', h1.port, '--max-flows', '4');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /max-flows 4/);
    await scan(30_000);
    const f = await flows();
    assert.ok(f.quotaRefused >= 296, `h1's flows beyond 4 refused: ${JSON.stringify(f)}`);
    const held: unknown[] = await lab.daemon.json('flows', 's1', '--port', h1.port);
    assert.ok(held.length <= 4, `h1 holds at most its quota: ${JSON.stringify(held)}`);
    assert.equal(await lab.ping(h2, h3.ip4, { count: 3 }), 0);
    const bad = await lab.daemon.cli('port', 'policy', 's1', h1.port, '--max-flows', '-1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-flows/);
  });
});
