import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock } from '../dataplane/clock.js';
import { Counters } from '../dataplane/counters.js';
import { Batch, Graph } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { buildArpRequest, buildIpv6, buildTcp4, buildTcp6, buildUdp4 } from '../packet/frame.js';
import { TcpFlag } from '../packet/tcp.js';
import { PortAcls } from './acls.js';
import { policyDrops } from './counters.js';
import type { ExtAclRule } from './config.js';

const kVm = 1; // the port under test
const kPeer = 2;
const vm = { mac: '52:54:00:00:00:01', ip: '10.0.0.1', ip6: '2001:db8::1' };
const peer = { mac: '52:54:00:00:00:02', ip: '10.0.0.2', ip6: '2001:db8::2' };

function setup(flowTableSize?: number) {
  const pool = new PacketPool({ slots: 256, slotSize: 2048 });
  const counters = new Counters();
  const clock = new Clock(true);
  const acls = new PortAcls(pool, counters, clock, flowTableSize);
  const graph = new Graph(pool, counters).add(acls.ingress);
  const batch = new Batch();
  /** Send frames from `port` through the ingress node; returns which survived (true = passed). */
  const send = (port: number, ...frames: Uint8Array[]): boolean[] => {
    batch.count = 0;
    const slots: number[] = [];
    for (const f of frames) {
      const s = pool.load(f, port);
      assert.ok(s >= 0);
      slots.push(s);
      batch.slots[batch.count++] = s;
    }
    graph.run(batch);
    const kept = new Set(Array.from(batch.slots.subarray(0, batch.count)));
    for (const s of kept) pool.free(s);
    return slots.map((s) => kept.has(s));
  };
  /** Deliver a frame to port d through the egress check; returns true when it passes. */
  const deliver = (d: number, f: Uint8Array): boolean => {
    const s = pool.load(f, kPeer);
    assert.ok(s >= 0);
    try {
      if (acls.egressOn[d] === 0) return true;
      const r = acls.admitEgress(d, s);
      assert.ok(r === 0 || r === policyDrops['acl-deny']);
      return r === 0;
    } finally {
      pool.free(s);
    }
  };
  const g = () => {
    const all = counters.readGlobal();
    return [all.flowsActive, all.flowsCreated, all.flowsExpired, all.flowsRefused];
  };
  return { pool, counters, clock, acls, send, deliver, g };
}

const synOut = (localPort: number, remotePort: number, remoteIp = peer.ip) =>
  buildTcp4({
    srcMac: vm.mac,
    dstMac: peer.mac,
    srcIp: vm.ip,
    dstIp: remoteIp,
    srcPort: localPort,
    dstPort: remotePort,
  });
const synAckIn = (localPort: number, remotePort: number, remoteIp = peer.ip) =>
  buildTcp4({
    srcMac: peer.mac,
    dstMac: vm.mac,
    srcIp: remoteIp,
    dstIp: vm.ip,
    srcPort: remotePort,
    dstPort: localPort,
    flags: TcpFlag.syn | TcpFlag.ack,
  });

const webClient: ExtAclRule[] = [
  {
    action: 'allow',
    direction: 'outbound',
    weight: 100,
    protocol: 'tcp',
    remotePort: '80',
    stateful: true,
    idleTimeout: 10,
  },
  { action: 'deny', direction: 'outbound', weight: 2, protocol: 'tcp' },
  { action: 'deny', direction: 'inbound', weight: 1 },
];

test('no rules: everything passes, nothing is switched on', () => {
  const { acls, send, deliver, pool } = setup(64);
  assert.deepEqual(send(kVm, synOut(1, 2), synOut(3, 4)), [true, true]);
  assert.equal(deliver(kVm, synAckIn(1, 2)), true);
  assert.equal(acls.ingressOn[kVm], 0);
  assert.equal(acls.egressOn[kVm], 0);
  const s = pool.load(synAckIn(1, 2));
  assert.equal(acls.admitEgress(kVm, s), 0);
  pool.free(s);
  assert.deepEqual(acls.stats(kVm), { acls: [], extendedAcls: [] });
});

test('basic ACL deny on ingress (outbound) and egress (inbound): dropped as acl-deny, counted per port', () => {
  const { acls, send, deliver, counters } = setup(64);
  acls.set(kVm, [{ action: 'deny', direction: 'both', remoteIp: '10.0.0.66' }], []);
  assert.equal(acls.ingressOn[kVm], 1);
  assert.equal(acls.egressOn[kVm], 1);
  assert.deepEqual(send(kVm, synOut(1, 80), synOut(1, 80, '10.0.0.66'), synOut(2, 80)), [true, false, true]);
  assert.deepEqual(send(kPeer, synOut(1, 80, '10.0.0.66')), [true], 'the peer port has no rules');
  assert.equal(deliver(kVm, synAckIn(1, 80, '10.0.0.66')), false);
  assert.equal(deliver(kVm, synAckIn(1, 80)), true);
  assert.equal(counters.readPort(kVm).drops['acl-deny'], 1);
  assert.deepEqual(acls.stats(kVm).acls, [{ id: 1, frames: 2, bytes: 2 * synOut(1, 80).length }]);
});

test('stateful: outbound SYN creates a flow, the reply passes the inbound deny-all, unsolicited inbound is denied', () => {
  const { acls, send, deliver, g } = setup(64);
  acls.set(kVm, [], webClient);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), false, 'nothing opened yet');
  assert.deepEqual(send(kVm, synOut(40000, 80), synOut(40000, 22)), [true, false]);
  assert.deepEqual(g(), [1, 1, 0, 0]);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), true, 'the reply');
  assert.equal(deliver(kVm, synAckIn(40000, 80, '10.0.0.3')), false, 'unsolicited: another peer');
  assert.equal(deliver(kVm, synAckIn(40001, 80)), false, 'unsolicited: another local port');
  assert.equal(deliver(kVm, synAckIn(40000, 22)), false, 'the denied SYN opened nothing');
  assert.equal(
    deliver(
      kVm,
      buildUdp4({ srcMac: peer.mac, dstMac: vm.mac, srcIp: peer.ip, dstIp: vm.ip, srcPort: 80, dstPort: 40000 }),
    ),
    false,
    'UDP is not the TCP flow',
  );
  assert.equal(
    deliver(kVm, buildArpRequest({ srcMac: peer.mac, srcIp: peer.ip, targetIp: vm.ip })),
    true,
    'extended ACLs leave ARP alone',
  );
  const st = acls.stats(kVm).extendedAcls;
  assert.deepEqual(
    st.map((r) => [r.id, r.frames]),
    [
      [1, 2],
      [2, 1],
      [3, 5],
    ],
  );
});

test('stateful: an inbound stateful allow (a server) lets the outbound replies through an outbound deny-all', () => {
  const { acls, send, deliver } = setup(64);
  acls.set(
    kVm,
    [],
    [
      { action: 'allow', direction: 'inbound', weight: 10, protocol: 'tcp', localPort: '22', stateful: true },
      { action: 'deny', direction: 'both', weight: 1 },
    ],
  );
  const synIn = buildTcp4({
    srcMac: peer.mac,
    dstMac: vm.mac,
    srcIp: peer.ip,
    dstIp: vm.ip,
    srcPort: 5555,
    dstPort: 22,
  });
  const synAckOut = buildTcp4({
    srcMac: vm.mac,
    dstMac: peer.mac,
    srcIp: vm.ip,
    dstIp: peer.ip,
    srcPort: 22,
    dstPort: 5555,
    flags: TcpFlag.syn | TcpFlag.ack,
  });
  assert.deepEqual(send(kVm, synAckOut), [false], 'no flow yet');
  assert.equal(deliver(kVm, synIn), true);
  assert.deepEqual(send(kVm, synAckOut), [true]);
  assert.deepEqual(send(kVm, synOut(22, 5556)), [false]);
});

test('idle timeout with a manual clock: refreshed flows live on; idle ones expire (lookup and expire())', () => {
  const { acls, send, deliver, clock, g } = setup(64);
  acls.set(kVm, [], webClient); // idle timeout 10 s
  send(kVm, synOut(40000, 80));
  clock.advance(10_000);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), true, 'idle 10 s of 10: alive');
  clock.advance(10_000);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), true, 'refreshed 10 s ago');
  clock.advance(11_000);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), false, 'idle 11 s: expired');
  assert.deepEqual(g(), [0, 1, 1, 0]);
  // housekeeping sweep
  send(kVm, synOut(40001, 80), synOut(40002, 80));
  assert.deepEqual(g(), [2, 3, 1, 0]);
  clock.advance(5_000);
  send(kVm, synOut(40002, 80)); // refresh one
  clock.advance(6_000);
  assert.equal(acls.expire(), 1);
  assert.deepEqual(g(), [1, 3, 2, 0]);
  assert.equal(deliver(kVm, synAckIn(40001, 80)), false);
  assert.equal(deliver(kVm, synAckIn(40002, 80)), true);
});

test('a flow table full of answered flows refuses new flows (counted): the SYN still passes, its reply does not', () => {
  const { acls, send, deliver, g } = setup(2);
  acls.set(kVm, [], webClient);
  assert.deepEqual(send(kVm, synOut(1, 80), synOut(2, 80)), [true, true]);
  assert.equal(deliver(kVm, synAckIn(1, 80)), true);
  assert.equal(deliver(kVm, synAckIn(2, 80)), true);
  assert.deepEqual(send(kVm, synOut(3, 80)), [true]);
  assert.deepEqual(g(), [2, 2, 0, 1]);
  assert.equal(deliver(kVm, synAckIn(3, 80)), false);
});

test('a flow table full of unanswered flows early-drops the stalest for a new one (counted)', () => {
  const { acls, send, deliver, g, counters } = setup(2);
  acls.set(kVm, [], webClient);
  assert.deepEqual(send(kVm, synOut(1, 80), synOut(2, 80), synOut(3, 80)), [true, true, true]);
  assert.deepEqual(g(), [2, 3, 0, 0]);
  assert.equal(counters.readGlobal().flowsEarlyDropped, 1);
  assert.equal(deliver(kVm, synAckIn(3, 80)), true, 'the newest flow got its entry');
});

test('policy maxFlows: a port beyond its quota gets no new flow (counted)', () => {
  const { acls, send, deliver, counters } = setup(64);
  acls.set(kVm, [], webClient, 1);
  assert.deepEqual(send(kVm, synOut(1, 80), synOut(2, 80)), [true, true]);
  assert.equal(deliver(kVm, synAckIn(1, 80)), true);
  assert.equal(deliver(kVm, synAckIn(2, 80)), false, 'over the quota: no flow, so the reply meets the deny');
  assert.equal(counters.readGlobal().flowsQuotaRefused, 1);
});

test('basic ACL runs first: a basic deny drops a reply even when its flow exists; meters count both ways', () => {
  const { acls, send, deliver } = setup(64);
  acls.set(
    kVm,
    [
      { action: 'deny', direction: 'inbound', remoteIp: '10.0.0.2' },
      { action: 'meter', direction: 'both', remoteIp: 'any' },
    ],
    webClient,
  );
  assert.deepEqual(send(kVm, synOut(40000, 80)), [true]);
  assert.equal(deliver(kVm, synAckIn(40000, 80)), false);
  const m = acls.stats(kVm).acls[1]!;
  assert.deepEqual([m.frames, m.bytes], [2, synOut(40000, 80).length + synAckIn(40000, 80).length]);
});

test('IPv6 stateful flow with extension headers before TCP', () => {
  const { acls, send, deliver } = setup(64);
  acls.set(
    kVm,
    [],
    [
      {
        action: 'allow',
        direction: 'outbound',
        weight: 9,
        protocol: 'tcp',
        remoteIp: '2001:db8::/64',
        remotePort: '443',
        stateful: true,
      },
      { action: 'deny', direction: 'both', weight: 1, protocol: 'tcp' },
    ],
  );
  const tcp = (src: string, dst: string, sp: number, dp: number) =>
    buildTcp6({ srcMac: vm.mac, dstMac: peer.mac, srcIp: src, dstIp: dst, srcPort: sp, dstPort: dp }).slice(54);
  const hbh = (next: number) => [next, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop with a PadN option
  const withExt = (src: string, dst: string, sp: number, dp: number) =>
    buildIpv6({
      srcMac: vm.mac,
      dstMac: peer.mac,
      srcIp: src,
      dstIp: dst,
      nextHeader: 0,
      payload: Uint8Array.from([...hbh(60), ...[6, 0, 0, 0, 0, 0, 0, 0], ...tcp(src, dst, sp, dp)]),
    });
  assert.deepEqual(send(kVm, withExt(vm.ip6, peer.ip6, 50000, 443), withExt(vm.ip6, peer.ip6, 50000, 444)), [
    true,
    false,
  ]);
  assert.equal(deliver(kVm, withExt(peer.ip6, vm.ip6, 443, 50000)), true);
  assert.equal(
    deliver(
      kVm,
      buildTcp6({ srcMac: peer.mac, dstMac: vm.mac, srcIp: peer.ip6, dstIp: vm.ip6, srcPort: 443, dstPort: 50000 }),
    ),
    true,
    'same flow without the extension headers',
  );
  assert.equal(deliver(kVm, withExt(peer.ip6, vm.ip6, 443, 50001)), false);
});

test('set replaces rules, resets counters and drops the port flows; bad input throws and keeps the old rules', () => {
  const { acls, send, deliver, g } = setup(64);
  acls.set(kVm, [], webClient);
  send(kVm, synOut(40000, 80));
  acls.set(kPeer, [], webClient);
  send(kPeer, synOut(40000, 80));
  assert.equal(g()[0], 2);
  assert.throws(() => acls.set(kVm, [{ action: 'deny', direction: 'both', remoteIp: 'nope' }], []), /remoteIp/);
  assert.throws(
    () => acls.set(kVm, [], [{ action: 'deny', direction: 'both', weight: 1, localPort: '99999' }]),
    /localPort/,
  );
  assert.equal(deliver(kVm, synAckIn(40000, 80)), true, 'old rules and flows still in place');
  acls.set(kVm, [], webClient);
  assert.equal(g()[0], 1, 'port 1 flows dropped, port 2 kept');
  assert.equal(deliver(kVm, synAckIn(40000, 80)), false);
  assert.deepEqual(
    acls.stats(kVm).extendedAcls.map((r) => r.frames),
    [0, 0, 1],
  );
  acls.clear(kVm);
  assert.equal(acls.ingressOn[kVm], 0);
  assert.equal(acls.egressOn[kVm], 0);
  assert.deepEqual(acls.stats(kVm), { acls: [], extendedAcls: [] });
  assert.throws(() => acls.set(-1, [], []), /port index/);
  assert.throws(() => acls.stats(999), /port index/);
  // a port with outbound-only rules is not switched on for egress, and vice versa
  acls.set(3, [{ action: 'deny', direction: 'outbound', localIp: 'any' }], []);
  assert.deepEqual([acls.ingressOn[3], acls.egressOn[3]], [1, 0]);
  acls.set(3, [], [{ action: 'deny', direction: 'inbound', weight: 1 }]);
  assert.deepEqual([acls.ingressOn[3], acls.egressOn[3]], [0, 1]);
});

test('truncated and malformed frames never throw, through ingress and egress', () => {
  const { acls, send, deliver } = setup(64);
  acls.set(kVm, [{ action: 'meter', direction: 'both', localMac: vm.mac }], webClient);
  const frames = [
    synOut(40000, 80),
    buildTcp6({ srcMac: vm.mac, dstMac: peer.mac, srcIp: vm.ip6, dstIp: peer.ip6, srcPort: 1, dstPort: 80 }),
  ];
  for (const f of frames)
    for (let n = 0; n <= f.length; n++) {
      send(kVm, f.slice(0, n));
      deliver(kVm, f.slice(0, n));
    }
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    const f = new Uint8Array(14 + (i % 90));
    for (let j = 0; j < f.length; j++) f[j] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    f[12] = i % 2 === 0 ? 0x08 : 0x86;
    f[13] = i % 2 === 0 ? 0x00 : 0xdd;
    if (f.length > 14) f[14] = i % 2 === 0 ? 0x45 : 0x60;
    send(kVm, f);
    deliver(kVm, f);
  }
});
