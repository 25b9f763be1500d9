/**
 * End to end VLANs: access hosts in VLAN 10 and 20 are isolated; a trunk port (a scripted QEMU-stream
 * endpoint, since host 8021q interfaces are unavailable here) carrying 10 and 20 tagged and native VLAN 30
 * untagged answers each host in its own VLAN; the tag it sees on the wire is checked, and a pruned VLAN is
 * no longer carried. Hosts: h1 access 10, h2 access 20, h3 access 10, h4 access 30.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StreamPeer } from '../testing/stream-peer.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const kTrunkIp = '10.77.0.100';
const kTrunkMac = '02:00:00:00:01:00';

describe('VLANs between namespace hosts and a trunk', { skip }, () => {
  const lab = new SwitchLab();
  let trunk: StreamPeer;

  before(async () => {
    await lab.start({
      hosts: 4,
      vlans: [
        { mode: 'access', vid: 10 },
        { mode: 'access', vid: 20 },
        { mode: 'access', vid: 10 },
        { mode: 'access', vid: 30 },
      ],
      trunkPath: true,
    });
    trunk = new StreamPeer(lab.trunkPath);
    await trunk.connect();
    trunk.respondAs(kTrunkIp, kTrunkMac);
    const r = await lab.daemon.cli('port', 'vlan', 's1', 'trunk', 'trunk', '10,20', '--native', '30');
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await trunk?.close();
    await lab.stop();
  });

  test('access VLAN 10 and access VLAN 20 cannot reach each other; same VLAN can', async () => {
    const [h1, h2, h3] = lab.hosts;
    assert.equal(await lab.ping(h1, h3.ip4), 0);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2, wait: 1 }), 100);
    assert.equal(await lab.ping(h2, h3.ip4, { count: 2, wait: 1 }), 100);
    const c = await lab.counters();
    assert.equal(c.ports.p2.txUnicast, 0, 'no unicast ever crossed into VLAN 20');
  });

  test('the trunk answers each host in its own VLAN: 10 and 20 tagged, native 30 untagged', async () => {
    const [h1, h2, , h4] = lab.hosts;
    trunk.answered.length = 0;
    assert.equal(await lab.ping(h1, kTrunkIp), 0, 'VLAN 10 through the trunk');
    assert.equal(await lab.ping(h2, kTrunkIp), 0, 'VLAN 20 through the trunk');
    assert.equal(await lab.ping(h4, kTrunkIp), 0, 'native VLAN 30 through the trunk');
    const tags = (ip: string) => new Set(trunk.answered.filter((a) => a.from === ip).map((a) => a.vid));
    assert.deepEqual(tags(h1.ip4), new Set([10]));
    assert.deepEqual(tags(h2.ip4), new Set([20]));
    assert.deepEqual(tags(h4.ip4), new Set([null]), 'native VLAN frames are untagged on the wire');
    const c = await lab.counters();
    assert.ok(c.ports.trunk.vlanInserted > 0 && c.ports.trunk.vlanStripped > 0, 'tag insert/strip counted as offloads');
  });

  test('a tagged frame for a VLAN the access port does not carry is dropped and counted', async () => {
    const before = (await lab.counters()).ports.trunk.drops['vlan-not-allowed'] ?? 0;
    // VLAN 99 is not allowed on the trunk
    const { buildArpRequest } = await import('../packet/frame.js');
    trunk.send(buildArpRequest({ srcMac: kTrunkMac, srcIp: kTrunkIp, targetIp: '10.77.0.1', vlan: { vid: 99 } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await lab.counters()).ports.trunk.drops['vlan-not-allowed'], before + 1);
  });

  test('pruning VLAN 20 from the trunk stops it being carried; settings are visible', async () => {
    const [h1, h2] = lab.hosts;
    const r = await lab.daemon.cli('port', 'vlan', 's1', 'trunk', 'trunk', '10,20', '--native', '30', '--pruned', '20');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await lab.ping(h2, kTrunkIp, { count: 2, wait: 1 }), 100);
    assert.equal(await lab.ping(h1, kTrunkIp), 0);
    const ports: Array<{ name: string; vlan: unknown }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(ports.find((p) => p.name === 'trunk')?.vlan, {
      mode: 'trunk',
      allowed: [10, 20],
      native: 30,
      pruned: [20],
    });
  });
});
