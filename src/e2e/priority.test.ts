/**
 * End to end 802.1p priority (IeeePriorityTag, docs/vlans.md: "Keep PCP unless the port forbids
 * priority tags"): the PCP of frames a port sends is kept by default and carried on a tagged egress; with
 * `vswitch port policy SW PORT --priority-tag off` it is cleared to 0 at ingress, and `on` keeps it again.
 * The setting is per port and acts on frames FROM the port only.
 *
 * Senders are scripted QEMU-stream endpoints (testing/stream-peer.ts) sending ICMP echo requests with an
 * 802.1Q tag of PCP 5: the kernel here has no 8021q (no `ip link add ... type vlan`), no act_vlan and no
 * bridge VLAN filtering, so no namespace host can put a priority on a frame. What the switch delivers is
 * seen by a real tcpdump -e on a namespace host's TAP ("vlan 10, p 5").
 *
 * Ports: p1 (h1) trunk 10, the receiver, with ieeePriorityTag false in the config file (its own setting
 * must not touch frames sent TO it); 'trunk' (vm1) trunk 10; vm2, added with the CLI, trunk 10 and later
 * access 10 for priority-tagged (VID 0) frames.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildIcmpEcho, type VlanTag } from '../packet/frame.js';
import { StreamPeer } from '../testing/stream-peer.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const kVid = 10;
const kVm1 = { mac: '02:00:00:00:78:01', ip: '10.77.0.101' };
const kVm2 = { mac: '02:00:00:00:78:02', ip: '10.77.0.102' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('802.1p priority kept or cleared per port (IeeePriorityTag)', { skip }, () => {
  const lab = new SwitchLab();
  let vm1: StreamPeer;
  let vm2: StreamPeer;
  let echoId = 0x7800;

  async function ok(...args: string[]): Promise<string> {
    const r = await lab.daemon.cli(...args);
    assert.equal(r.code, 0, `vswitch ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async function priorityTag(port: string): Promise<boolean | undefined> {
    const st: { policy: { ieeePriorityTag?: boolean } } = await lab.daemon.json('port', 'policy', 's1', port);
    return st.policy.ieeePriorityTag;
  }

  /**
   * Send ICMP echo requests from `peer` to h1 (one every 100 ms, at most 50, each with a fresh ICMP id per
   * call) until tcpdump on h1's TAP has seen `count` of them in VLAN 10; returns the PCP each arrived with,
   * read from `tcpdump -e` ("vlan 10, p 5"). Sending until seen absorbs a peer that is not attached yet.
   */
  async function pcpsAtH1(
    peer: StreamPeer,
    from: { mac: string; ip: string },
    tag: VlanTag | undefined,
    count = 3,
  ): Promise<number[]> {
    const h1 = lab.hosts[0];
    const id = echoId++;
    const cap = await lab.capture(h1, `vlan ${kVid} and icmp and icmp[4:2] == ${id}`, { count, timeoutMs: 10_000 });
    let settled = false;
    cap.done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let seq = 1; seq <= 50 && !settled; seq++) {
      peer.send(buildIcmpEcho({ srcMac: from.mac, dstMac: h1.mac, srcIp: from.ip, dstIp: h1.ip4, id, seq, vlan: tag }));
      await sleep(100);
    }
    const out = await cap.done;
    const lines = out.split('\n');
    assert.equal(lines.length, count, out);
    return lines.map((l) => {
      const m = l.match(/ethertype 802\.1Q \(0x8100\).*?: vlan (\d+), p (\d+),.*ethertype IPv4.*ICMP echo request/);
      assert.ok(m, `not a VLAN-tagged echo request: ${l}`);
      assert.equal(Number(m[1]), kVid, l);
      return Number(m[2]);
    });
  }

  before(async () => {
    await lab.start({
      hosts: 1,
      vlans: [{ mode: 'trunk', allowed: [kVid] }],
      policy: [{ ieeePriorityTag: false }],
      trunkPath: true,
    });
    await ok('port', 'vlan', 's1', 'trunk', 'trunk', String(kVid));
    await ok('port', 'add', 's1', 'vm2', '--listen', lab.daemon.path('vm2.sock'), '--vlan', `trunk ${kVid}`);
    vm1 = new StreamPeer(lab.trunkPath);
    await vm1.connect();
    vm2 = new StreamPeer(lab.daemon.path('vm2.sock'));
    await vm2.connect();
  });
  after(async () => {
    await vm1?.close();
    await vm2?.close();
    await lab.stop();
  });

  test('default (priority-tag on): the PCP of tagged frames from a trunk port arrives unchanged on a tagged egress', async () => {
    assert.equal(await priorityTag('trunk'), undefined, 'not set: the default');
    assert.match(await ok('port', 'policy', 's1', 'trunk'), /priority-tag on/);
    assert.deepEqual(await pcpsAtH1(vm1, kVm1, { vid: kVid, pcp: 5 }), [5, 5, 5]);
    assert.deepEqual(await pcpsAtH1(vm2, kVm2, { vid: kVid, pcp: 7 }), [7, 7, 7], 'any PCP is carried as sent');
    assert.deepEqual(await pcpsAtH1(vm1, kVm1, { vid: kVid, pcp: 0 }), [0, 0, 0]);
    // p1 forbids priority tags (config file): that is about frames from h1, not frames delivered to it
    assert.equal(await priorityTag('p1'), false, 'p1 ieeePriorityTag false from the config file');
    assert.match(await ok('port', 'policy', 's1', 'p1'), /priority-tag off/);
  });

  test('--priority-tag off clears the PCP to 0 at ingress from that port only; --priority-tag on keeps it again', async () => {
    assert.match(await ok('port', 'policy', 's1', 'trunk', '--priority-tag', 'off'), /priority-tag off/);
    assert.equal(await priorityTag('trunk'), false);
    assert.deepEqual(
      await pcpsAtH1(vm1, kVm1, { vid: kVid, pcp: 5 }),
      [0, 0, 0],
      'PCP cleared: trunk forbids priority tags',
    );
    assert.deepEqual(await pcpsAtH1(vm2, kVm2, { vid: kVid, pcp: 5 }), [5, 5, 5], 'vm2 (default) still keeps its PCP');

    assert.match(await ok('port', 'policy', 's1', 'trunk', '--priority-tag', 'on'), /priority-tag on/);
    assert.equal(await priorityTag('trunk'), true);
    assert.deepEqual(await pcpsAtH1(vm1, kVm1, { vid: kVid, pcp: 5 }), [5, 5, 5], 'PCP kept again');

    const c = await lab.counters();
    assert.deepEqual(c.ports.trunk.drops, {}, `nothing from trunk was dropped: ${JSON.stringify(c.ports.trunk.drops)}`);
  });

  test('priority-tagged frames (VID 0) on an access port: classified into VLAN 10 with their PCP, cleared when forbidden', async () => {
    assert.match(await ok('port', 'vlan', 's1', 'vm2', 'access', String(kVid)), /access 10/);
    assert.deepEqual(
      await pcpsAtH1(vm2, kVm2, { vid: 0, pcp: 5 }),
      [5, 5, 5],
      'VID 0 is a priority tag, not a VLAN: PCP kept',
    );
    assert.deepEqual(await pcpsAtH1(vm2, kVm2, undefined), [0, 0, 0], 'an untagged frame has no priority to keep');

    await ok('port', 'policy', 's1', 'vm2', '--priority-tag', 'off');
    assert.equal(await priorityTag('vm2'), false);
    assert.deepEqual(await pcpsAtH1(vm2, kVm2, { vid: 0, pcp: 5 }), [0, 0, 0], 'PCP of the priority tag cleared');

    await ok('port', 'policy', 's1', 'vm2', '--priority-tag', 'on');
    assert.equal(await priorityTag('vm2'), true);
    assert.deepEqual(await pcpsAtH1(vm2, kVm2, { vid: 0, pcp: 5 }), [5, 5, 5], 'kept again');
  });
});
