import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildArpRequest, buildIcmp6Echo, buildIcmpEcho, buildTcp4, buildTcp6, buildUdp4 } from '../packet/frame.js';
import type { ExtAclRule } from './config.js';
import { FlowTable } from './conntrack.js';
import { compileExtAcls, kDirIn, kDirOut, parsePortRange, parseProtocol, type ExtAclTable } from './ext-acl.js';
import { FlowKey } from './flow-key.js';

const pool = new PacketPool({ slots: 64, slotSize: 2048 });
const key = new FlowKey();
const vm = { mac: '52:54:00:00:00:01', ip: '10.0.0.1', ip6: '2001:db8::1' };
const peer = { mac: '52:54:00:00:00:02', ip: '10.0.0.2', ip6: '2001:db8::2' };

function withKey<T>(frame: Uint8Array, f: (bytes: number) => T): T {
  const s = pool.load(frame);
  assert.ok(s >= 0);
  try {
    key.parse(pool, s);
    return f(pool.meta32[(s << Meta.shift) + Meta.len]!);
  } finally {
    pool.free(s);
  }
}
/** Position of the first matching rule (or -1). */
function first(t: ExtAclTable, dir: number, frame: Uint8Array): number {
  return withKey(frame, (n) => t.evaluate(dir, key, n));
}
/** 0 pass / 1 deny through admit (flow table included). */
function admit(
  t: ExtAclTable,
  dir: number,
  frame: Uint8Array,
  flows: FlowTable | null = null,
  now = 0,
  port = 1,
): number {
  return withKey(frame, (n) => t.admit(dir, port, key, n, flows, now));
}

function tcpOut(localPort: number, remotePort: number, remoteIp = peer.ip, flags?: number): Uint8Array {
  return buildTcp4({
    srcMac: vm.mac,
    dstMac: peer.mac,
    srcIp: vm.ip,
    dstIp: remoteIp,
    srcPort: localPort,
    dstPort: remotePort,
    flags,
  });
}
function tcpIn(localPort: number, remotePort: number, remoteIp = peer.ip, flags?: number): Uint8Array {
  return buildTcp4({
    srcMac: peer.mac,
    dstMac: vm.mac,
    srcIp: remoteIp,
    dstIp: vm.ip,
    srcPort: remotePort,
    dstPort: localPort,
    flags,
  });
}
function udpOut(localPort: number, remotePort: number): Uint8Array {
  return buildUdp4({
    srcMac: vm.mac,
    dstMac: peer.mac,
    srcIp: vm.ip,
    dstIp: peer.ip,
    srcPort: localPort,
    dstPort: remotePort,
  });
}

test('weight orders the rules (higher first), whatever the array order; first match wins; no match = allow', () => {
  const rules: ExtAclRule[] = [
    { action: 'deny', direction: 'outbound', weight: 10, protocol: 'tcp' },
    { action: 'allow', direction: 'outbound', weight: 20, protocol: 'tcp', remotePort: '80' },
  ];
  for (const rs of [rules, [...rules].reverse()]) {
    const t = compileExtAcls(rs);
    assert.equal(admit(t, kDirOut, tcpOut(40000, 80)), 0);
    assert.equal(admit(t, kDirOut, tcpOut(40000, 81)), 1);
    assert.equal(admit(t, kDirOut, udpOut(40000, 81)), 0, 'no rule for UDP: allow');
    assert.equal(admit(t, kDirIn, tcpIn(40000, 81)), 0, 'no inbound rules: allow');
  }
  const flipped = compileExtAcls([
    { action: 'deny', direction: 'outbound', weight: 30, protocol: 'tcp' },
    { action: 'allow', direction: 'outbound', weight: 20, protocol: 'tcp', remotePort: '80' },
  ]);
  assert.equal(admit(flipped, kDirOut, tcpOut(40000, 80)), 1, 'the heavier deny shadows the allow');
});

test('port ranges: edges, single ports, 0 and 65535; local vs remote port per direction', () => {
  const t = compileExtAcls([{ action: 'deny', direction: 'both', weight: 1, remotePort: '1024-2048' }]);
  assert.equal(first(t, kDirOut, tcpOut(5, 1023)), -1);
  assert.equal(first(t, kDirOut, tcpOut(5, 1024)), 0);
  assert.equal(first(t, kDirOut, tcpOut(5, 2048)), 0);
  assert.equal(first(t, kDirOut, tcpOut(5, 2049)), -1);
  assert.equal(first(t, kDirOut, tcpOut(1500, 5)), -1, 'outbound: the local port is the source port');
  assert.equal(first(t, kDirIn, tcpIn(5, 1500)), 0, 'inbound: the remote port is the source port');
  assert.equal(first(t, kDirIn, tcpIn(1500, 5)), -1);
  const edges = compileExtAcls([
    { action: 'deny', direction: 'outbound', weight: 2, localPort: '0' },
    { action: 'deny', direction: 'outbound', weight: 1, localPort: '65535' },
  ]);
  assert.equal(first(edges, kDirOut, tcpOut(0, 80)), 0);
  assert.equal(first(edges, kDirOut, tcpOut(65535, 80)), 1);
  assert.equal(first(edges, kDirOut, tcpOut(1, 80)), -1);
  const all = compileExtAcls([{ action: 'deny', direction: 'outbound', weight: 1, localPort: '0-65535' }]);
  assert.equal(first(all, kDirOut, udpOut(33333, 53)), 0);
  assert.equal(
    first(all, kDirOut, buildIcmpEcho({ srcMac: vm.mac, dstMac: peer.mac, srcIp: vm.ip, dstIp: peer.ip })),
    -1,
    'ICMP has no ports: a port rule never matches it',
  );
  assert.deepEqual(parsePortRange(' 80 - 90 ', 'x'), [80, 90]);
  assert.deepEqual(parsePortRange(443, 'x'), [443, 443]);
  assert.deepEqual(parsePortRange(undefined, 'x'), [-1, -1]);
});

test('protocol: names and numbers, ICMP and ICMPv6, absent = any', () => {
  const t = compileExtAcls([
    { action: 'deny', direction: 'outbound', weight: 4, protocol: 'udp' },
    { action: 'deny', direction: 'outbound', weight: 3, protocol: 6, remotePort: '22' },
    { action: 'deny', direction: 'outbound', weight: 2, protocol: 'icmp' },
    { action: 'deny', direction: 'outbound', weight: 1, protocol: 'ICMPv6' as 'icmpv6' }, // names are case-insensitive,
  ]);
  assert.equal(first(t, kDirOut, udpOut(1, 2)), 0);
  assert.equal(first(t, kDirOut, tcpOut(1, 22)), 1);
  assert.equal(first(t, kDirOut, tcpOut(1, 23)), -1);
  assert.equal(first(t, kDirOut, buildIcmpEcho({ srcMac: vm.mac, dstMac: peer.mac, srcIp: vm.ip, dstIp: peer.ip })), 2);
  assert.equal(
    first(t, kDirOut, buildIcmp6Echo({ srcMac: vm.mac, dstMac: peer.mac, srcIp: vm.ip6, dstIp: peer.ip6 })),
    3,
  );
  const any = compileExtAcls([{ action: 'deny', direction: 'outbound', weight: 1 }]);
  assert.equal(admit(any, kDirOut, udpOut(1, 2)), 1);
  assert.equal(
    admit(
      any,
      kDirOut,
      buildTcp6({ srcMac: vm.mac, dstMac: peer.mac, srcIp: vm.ip6, dstIp: peer.ip6, srcPort: 1, dstPort: 2 }),
    ),
    1,
  );
  assert.equal(
    admit(any, kDirOut, buildArpRequest({ srcMac: vm.mac, srcIp: vm.ip, targetIp: peer.ip })),
    0,
    'extended ACLs are IP-only: ARP passes',
  );
  assert.equal(parseProtocol('17', 'x'), 17);
  assert.equal(parseProtocol(undefined, 'x'), -1);
});

test('IP prefixes in extended rules: local and remote, IPv4 and IPv6', () => {
  const t = compileExtAcls([
    { action: 'allow', direction: 'both', weight: 3, remoteIp: '10.0.0.0/30' },
    { action: 'deny', direction: 'both', weight: 2, localIp: '10.0.0.1' },
    { action: 'deny', direction: 'both', weight: 1, remoteIp: '2001:db8::/64', protocol: 'tcp' },
  ]);
  assert.equal(admit(t, kDirOut, tcpOut(1, 2, '10.0.0.3')), 0);
  assert.equal(admit(t, kDirOut, tcpOut(1, 2, '10.0.0.4')), 1);
  assert.equal(admit(t, kDirIn, tcpIn(1, 2, '10.0.0.4')), 1, 'inbound: local = destination');
  assert.equal(admit(t, kDirIn, tcpIn(1, 2, '10.0.0.2')), 0);
  const t6 = buildTcp6({
    srcMac: vm.mac,
    dstMac: peer.mac,
    srcIp: '2001:db9::1',
    dstIp: '2001:db8::99',
    srcPort: 1,
    dstPort: 2,
  });
  assert.equal(admit(t, kDirOut, t6), 1);
  assert.equal(admit(t, kDirIn, t6), 0, 'inbound: 2001:db8::99 is the local side');
  const v4only = compileExtAcls([{ action: 'deny', direction: 'outbound', weight: 1, remoteIp: '0.0.0.0/0' }]);
  assert.equal(admit(v4only, kDirOut, t6), 0, 'an IPv4 prefix never matches IPv6');
  assert.equal(admit(v4only, kDirOut, tcpOut(1, 2)), 1);
  const anyIp = compileExtAcls([{ action: 'deny', direction: 'outbound', weight: 1, remoteIp: 'any' }]);
  assert.equal(admit(anyIp, kDirOut, t6), 1);
  assert.equal(admit(anyIp, kDirOut, tcpOut(1, 2)), 1);
});

test('hit counters per rule (frames and bytes), ids from rule.id or position', () => {
  const t = compileExtAcls([
    { id: 100, action: 'allow', direction: 'outbound', weight: 5, protocol: 'tcp', remotePort: '443' },
    { action: 'deny', direction: 'outbound', weight: 1 },
  ]);
  assert.deepEqual(t.ids, [100, 2]);
  const a = tcpOut(1, 443);
  const b = udpOut(1, 53);
  admit(t, kDirOut, a);
  admit(t, kDirOut, a);
  admit(t, kDirOut, b);
  assert.deepEqual(Array.from(t.hits), [2, 2 * a.length, 1, b.length]);
});

test('stateful allow: the SYN creates a flow, the reply passes a lower-weight inbound deny-all, unsolicited inbound is denied', () => {
  const flows = new FlowTable(16);
  const t = compileExtAcls([
    {
      action: 'allow',
      direction: 'outbound',
      weight: 100,
      protocol: 'tcp',
      remotePort: '80',
      stateful: true,
      idleTimeout: 30,
    },
    { action: 'deny', direction: 'inbound', weight: 1 },
  ]);
  assert.equal(t.hasStateful, true);
  assert.equal(admit(t, kDirIn, tcpIn(40000, 80), flows, 0), 1, 'before any SYN: denied');
  assert.equal(admit(t, kDirOut, tcpOut(40000, 80), flows, 0), 0);
  assert.deepEqual([flows.active, flows.created], [1, 1]);
  assert.equal(admit(t, kDirIn, tcpIn(40000, 80), flows, 1), 0, 'the SYN-ACK');
  assert.equal(admit(t, kDirIn, tcpIn(40001, 80), flows, 1), 1, 'another local port');
  assert.equal(admit(t, kDirIn, tcpIn(40000, 80, '10.0.0.3'), flows, 1), 1, 'another peer');
  assert.equal(admit(t, kDirOut, tcpOut(40000, 80), flows, 2), 0, 'the ACK: the flow, not a second entry');
  assert.equal(flows.created, 1);
  assert.equal(admit(t, kDirIn, tcpIn(40000, 80), flows, 32), 0, 'idle 30 s of 30: alive');
  assert.equal(admit(t, kDirIn, tcpIn(40000, 80), flows, 63), 1, 'idle 31 s: expired, denied');
  assert.equal(flows.expired, 1);
  // flow passes count on the creating rule: SYN + (SYN-ACK, ACK, reply at 32) = 4 frames
  assert.equal(t.hits[0], 4);
  assert.equal(t.hits[2], 4, 'deny-all: the 3 unsolicited frames and the late one');
  // without a flow table the rule is an ordinary allow
  assert.equal(admit(t, kDirOut, tcpOut(40002, 80), null), 0);
});

test('compile errors are clear', () => {
  const bad: [unknown, RegExp][] = [
    [{ action: 'meter', direction: 'both', weight: 1 }, /action must be/],
    [{ action: 'deny', direction: 'sideways', weight: 1 }, /direction must be/],
    [{ action: 'deny', direction: 'both' }, /weight must be a number/],
    [{ action: 'deny', direction: 'both', weight: 1, protocol: 'sctpx' }, /protocol must be/],
    [{ action: 'deny', direction: 'both', weight: 1, protocol: 256 }, /protocol must be/],
    [{ action: 'deny', direction: 'both', weight: 1, localPort: '70000' }, /port must be/],
    [{ action: 'deny', direction: 'both', weight: 1, localPort: '90-80' }, /port must be/],
    [{ action: 'deny', direction: 'both', weight: 1, remotePort: 'http' }, /port must be/],
    [{ action: 'deny', direction: 'both', weight: 1, remoteIp: '10.0.0.0/40' }, /0\.\.32/],
    [{ action: 'deny', direction: 'both', weight: 1, stateful: true }, /allow rules only/],
    [{ action: 'allow', direction: 'both', weight: 1, stateful: true, idleTimeout: 0 }, /idleTimeout/],
    [{ action: 'allow', direction: 'both', weight: 1, localIp: '10.0.0.1', remoteIp: '::1' }, /different IP versions/],
  ];
  for (const [rule, re] of bad) assert.throws(() => compileExtAcls([rule as ExtAclRule]), re, JSON.stringify(rule));
  assert.throws(
    () =>
      compileExtAcls([
        { action: 'deny', direction: 'both', weight: 5 },
        { action: 'allow', direction: 'inbound', weight: 5 },
      ]),
    /weight 5 used twice for inbound/,
  );
  // the same weight in different directions is fine
  compileExtAcls([
    { action: 'deny', direction: 'outbound', weight: 5 },
    { action: 'allow', direction: 'inbound', weight: 5 },
  ]);
});
