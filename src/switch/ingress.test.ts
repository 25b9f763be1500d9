/**
 * The ingress node's VLAN classification per port mode, on a real pool and counters: which tagged frames
 * each mode accepts (and into which VLAN, with which PCP and which bytes left), and which it drops with
 * which reason. The double-tagging cases are the point: an access, untagged or private VLAN port refuses
 * every VLAN-tagged frame (its own VID included), and a priority tag with a second tag behind it is
 * refused on every port, so no inner tag ever reaches an untagged egress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters, declaredRows } from '../dataplane/counters.js';
import '../engine/counter-layout.js';
import { portCounters, switchDrops } from './counters.js';
import { Batch, Graph } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildUdp4, toHex } from '../packet/frame.js';
import { IngressNode } from './ingress.js';
import { PortTable } from './port-table.js';
import type { VlanConfig } from './vlan-config.js';

const P = 3; // the ingress port under test

/** An untagged 60-byte UDP frame; the tags are inserted after the MACs. */
const base = buildUdp4({
  srcMac: '02:00:00:00:00:0a',
  dstMac: '02:00:00:00:00:0b',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort: 1,
  dstPort: 2,
  payload: new Uint8Array(18).fill(7),
});

/** `base` with 802.1Q tags (outer first), each [pcp, vid]. */
function tagged(...tags: Array<[number, number]>): Uint8Array {
  const f = new Uint8Array(base.length + 4 * tags.length);
  f.set(base.subarray(0, 12));
  tags.forEach(([pcp, vid], i) => f.set([0x81, 0x00, (pcp << 5) | (vid >> 8), vid & 0xff], 12 + 4 * i));
  f.set(base.subarray(12), 12 + 4 * tags.length);
  return f;
}

type Outcome = { vid: number; pcp: number; bytes: string } | string;

/** Run one frame through a fresh ingress node on a port in `mode`: what survived, or the drop reason. */
function ingress(mode: VlanConfig, frame: Uint8Array): Outcome {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const counters = new Counters();
  const ports = new PortTable();
  ports.add(P, mode, 1500);
  ports.linkUp[P] = 1;
  const graph = new Graph(pool, counters).add(new IngressNode(pool, ports, counters));
  const b = new Batch();
  b.slots[b.count++] = pool.load(frame, P);
  graph.run(b);
  if (b.count === 1) {
    const s = b.slots[0];
    const out = {
      vid: pool.meta32[(s << Meta.shift) + Meta.vid],
      pcp: pool.meta32[(s << Meta.shift) + Meta.pcp],
      bytes: toHex(pool.copyOut(s)),
    };
    pool.free(s);
    assert.equal(counters.c[Counters.port(P, portCounters.vlanStripped)], frame[12] === 0x81 ? 1 : 0);
    return out;
  }
  const reasons = declaredRows('drop')
    .filter((r) => counters.c[Counters.portDrop(P, r.index)] === 1)
    .map((r) => r.name);
  assert.equal(reasons.length, 1, `one drop reason, got ${reasons}`);
  assert.equal(pool.available, 64, 'the dropped slot was freed');
  return reasons[0];
}

/** Accepted into `vid` with `pcp`, the outer tag removed (`rest` = the tags left inside, outer first). */
const into = (vid: number, pcp: number, ...rest: Array<[number, number]>): Outcome => ({
  vid,
  pcp,
  bytes: toHex(tagged(...rest)),
});

const untagged: VlanConfig = { mode: 'untagged' };
const access30: VlanConfig = { mode: 'access', vid: 30 };
const isolated: VlanConfig = { mode: 'private', pvlan: 'isolated', primary: 30, secondary: [31] };
const community: VlanConfig = { mode: 'private', pvlan: 'community', primary: 30, secondary: [32] };
const promiscuous: VlanConfig = { mode: 'private', pvlan: 'promiscuous', primary: 30, secondary: [31, 32] };
const trunk: VlanConfig = { mode: 'trunk', allowed: [20, 30], native: 30 };

test('access port: untagged and a bare priority tag (PCP kept) are accepted; every VLAN tag is dropped, its own VID included', () => {
  assert.deepEqual(ingress(access30, base), into(30, 0));
  assert.deepEqual(ingress(access30, tagged([5, 0])), into(30, 5), 'priority tag: VID 0 is not a VLAN');
  assert.equal(ingress(access30, tagged([0, 30])), 'vlan-tagged-on-access', 'its own VID, single tag');
  assert.equal(
    ingress(access30, tagged([0, 30], [0, 20])),
    'vlan-tagged-on-access',
    '[own, other]: the classic double-tag hop',
  );
  assert.equal(ingress(access30, tagged([0, 30], [0, 20], [0, 10], [0, 5])), 'vlan-tagged-on-access', 'four tags');
  assert.equal(ingress(access30, tagged([0, 20])), 'vlan-tagged-on-access', 'another VLAN');
  assert.equal(ingress(access30, tagged([0, 4095])), 'vlan-tagged-on-access', 'reserved VID');
  assert.equal(ingress(access30, tagged([5, 0], [0, 20])), 'vlan-double-tagged', '[0, other]: priority tag over a tag');
  assert.equal(ingress(access30, tagged([5, 0], [0, 0])), 'vlan-double-tagged', 'two priority tags');
  assert.equal(ingress(access30, tagged([0, 30]).subarray(0, 17)), 'truncated-vlan');
});

test('untagged and private VLAN ports refuse tags exactly as an access port does', () => {
  for (const [name, mode, pvid] of [
    ['untagged', untagged, 1],
    ['isolated', isolated, 30],
    ['community', community, 30],
    ['promiscuous', promiscuous, 30],
  ] as const) {
    assert.deepEqual(ingress(mode, base), into(pvid, 0), name);
    assert.deepEqual(ingress(mode, tagged([3, 0])), into(pvid, 3), `${name}: priority tag`);
    assert.equal(ingress(mode, tagged([0, pvid])), 'vlan-tagged-on-access', `${name}: own VLAN tagged`);
    assert.equal(ingress(mode, tagged([0, pvid], [0, 20])), 'vlan-tagged-on-access', `${name}: [own, other]`);
    assert.equal(ingress(mode, tagged([3, 0], [0, 20])), 'vlan-double-tagged', `${name}: [0, other]`);
  }
  assert.equal(ingress(isolated, tagged([0, 31])), 'vlan-tagged-on-access', 'a secondary VID is no way in either');
});

test("trunk: tags it carries are accepted (an inner tag is the trusted trunk peer's own business), a priority tag over a tag is not", () => {
  assert.deepEqual(ingress(trunk, base), into(30, 0), 'untagged: native');
  assert.deepEqual(ingress(trunk, tagged([2, 20])), into(20, 2));
  assert.deepEqual(ingress(trunk, tagged([2, 30])), into(30, 2), 'native arriving tagged');
  assert.deepEqual(ingress(trunk, tagged([6, 0])), into(30, 6), 'priority tag: native');
  assert.deepEqual(
    ingress(trunk, tagged([0, 20], [0, 10])),
    into(20, 0, [0, 10]),
    'outer tag removed, the inner one carried',
  );
  assert.equal(
    ingress(trunk, tagged([6, 0], [0, 20])),
    'vlan-double-tagged',
    'would leave a native-30 egress as VLAN 20',
  );
  assert.equal(ingress(trunk, tagged([0, 40])), 'vlan-not-allowed');
  assert.equal(ingress(trunk, tagged([0, 4095])), 'vlan-not-allowed');
  assert.equal(
    ingress({ mode: 'trunk', allowed: [20] }, tagged([6, 0])),
    'vlan-not-allowed',
    'no native VLAN: no untagged or priority-tagged frames',
  );
});

test('the drop reasons are declared once with their meaning', () => {
  assert.ok(switchDrops['vlan-tagged-on-access'] > 0 && switchDrops['vlan-double-tagged'] > 0);
  const meaning = Object.fromEntries(declaredRows('drop').map((r) => [r.name, r.meaning]));
  assert.match(meaning['vlan-tagged-on-access'], /access/);
  assert.match(meaning['vlan-double-tagged'], /priority tag/);
});
