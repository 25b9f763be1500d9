import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildArpRequest, buildTcp4, buildUdp4, buildUdp6 } from '../packet/frame.js';
import { compileAcls, kDirIn, kDirOut, parseIpSelector, type AclTable } from './acl.js';
import type { AclRule } from './config.js';
import { FlowKey } from './flow-key.js';

const pool = new PacketPool({ slots: 64, slotSize: 2048 });
const key = new FlowKey();
const vmMac = '52:54:00:00:00:01';
const peerMac = '52:54:00:00:00:02';
const ALLOW = 0;
const DENY = 1;

/** Evaluate a frame against a table in a direction, the way PortAcls does (pool slot, FlowKey). */
function ev(t: AclTable, dir: number, frame: Uint8Array): number {
  const s = pool.load(frame);
  assert.ok(s >= 0);
  try {
    key.parse(pool, s);
    return t.evaluate(dir, key, pool.meta32[(s << Meta.shift) + Meta.len]!);
  } finally {
    pool.free(s);
  }
}

/** An outbound frame (the VM at `local` sends to `remote`) and the inbound one (remote sends to the VM). */
function out4(local: string, remote: string, extra = 0): Uint8Array {
  return buildUdp4({
    srcMac: vmMac,
    dstMac: peerMac,
    srcIp: local,
    dstIp: remote,
    srcPort: 1000,
    dstPort: 2000,
    payload: new Uint8Array(extra),
  });
}
function in4(local: string, remote: string, extra = 0): Uint8Array {
  return buildUdp4({
    srcMac: peerMac,
    dstMac: vmMac,
    srcIp: remote,
    dstIp: local,
    srcPort: 2000,
    dstPort: 1000,
    payload: new Uint8Array(extra),
  });
}
function out6(local: string, remote: string): Uint8Array {
  return buildUdp6({ srcMac: vmMac, dstMac: peerMac, srcIp: local, dstIp: remote, srcPort: 1000, dstPort: 2000 });
}
function in6(local: string, remote: string): Uint8Array {
  return buildUdp6({ srcMac: peerMac, dstMac: vmMac, srcIp: remote, dstIp: local, srcPort: 2000, dstPort: 1000 });
}
const arp = buildArpRequest({ srcMac: vmMac, srcIp: '10.0.0.1', targetIp: '10.0.0.2' });

test('no match = allow; a remote IPv4 /24 deny denies only inside the prefix', () => {
  const t = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '10.1.2.0/24' }]);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.77')), DENY);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.0')), DENY);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.255')), DENY);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.3.0')), ALLOW);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.1.255')), ALLOW);
  assert.equal(ev(t, kDirIn, in4('10.0.0.1', '10.1.2.77')), ALLOW, 'outbound rule: inbound not checked');
  assert.equal(ev(t, kDirOut, out6('2001:db8::1', '2001:db8::2')), ALLOW, 'IPv4 rule never matches IPv6');
  assert.equal(ev(t, kDirOut, arp), ALLOW, 'IP rule never matches ARP');
});

test('IPv4 /32 and a bare address are host prefixes; /0 matches every IPv4 frame and nothing else', () => {
  for (const remoteIp of ['10.1.2.3/32', '10.1.2.3']) {
    const t = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp }]);
    assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.3')), DENY);
    assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.2')), ALLOW);
    assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.1.2.4')), ALLOW);
  }
  const all4 = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '0.0.0.0/0' }]);
  assert.equal(ev(all4, kDirOut, out4('10.0.0.1', '255.255.255.255')), DENY);
  assert.equal(ev(all4, kDirOut, out4('10.0.0.1', '0.0.0.0')), DENY);
  assert.equal(ev(all4, kDirOut, out6('2001:db8::1', '2001:db8::2')), ALLOW);
  assert.equal(ev(all4, kDirOut, arp), ALLOW);
});

test("'any' matches every IPv4 and IPv6 frame, not ARP", () => {
  const t = compileAcls([{ action: 'deny', direction: 'both', remoteIp: 'any' }]);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '8.8.8.8')), DENY);
  assert.equal(ev(t, kDirIn, in4('10.0.0.1', '8.8.8.8')), DENY);
  assert.equal(ev(t, kDirOut, out6('2001:db8::1', '2001:4860::8888')), DENY);
  assert.equal(ev(t, kDirIn, in6('2001:db8::1', '2001:4860::8888')), DENY);
  assert.equal(ev(t, kDirOut, arp), ALLOW);
  assert.equal(
    ev(compileAcls([{ action: 'deny', direction: 'both', localIp: 'ANY' }]), kDirOut, out4('1.1.1.1', '2.2.2.2')),
    DENY,
  );
});

test('IPv6 prefixes: /64, /128, ::/0, a prefix ending inside a word', () => {
  const t64 = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '2001:db8:0:5::/64' }]);
  assert.equal(ev(t64, kDirOut, out6('2001:db8::1', '2001:db8:0:5:ffff:ffff:ffff:ffff')), DENY);
  assert.equal(ev(t64, kDirOut, out6('2001:db8::1', '2001:db8:0:6::1')), ALLOW);
  assert.equal(ev(t64, kDirOut, out4('10.0.0.1', '10.0.0.2')), ALLOW, 'IPv6 rule never matches IPv4');
  const t128 = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '2001:db8::2/128' }]);
  assert.equal(ev(t128, kDirOut, out6('2001:db8::1', '2001:db8::2')), DENY);
  assert.equal(ev(t128, kDirOut, out6('2001:db8::1', '2001:db8::3')), ALLOW);
  assert.equal(ev(t128, kDirOut, out6('2001:db8::1', '2001:db9::2')), ALLOW);
  const bare = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '2001:db8::2' }]);
  assert.equal(ev(bare, kDirOut, out6('2001:db8::1', '2001:db8::2')), DENY);
  assert.equal(ev(bare, kDirOut, out6('2001:db8::1', '2001:db8::2:0')), ALLOW);
  const all6 = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '::/0' }]);
  assert.equal(ev(all6, kDirOut, out6('2001:db8::1', 'ff02::1')), DENY);
  assert.equal(ev(all6, kDirOut, out4('10.0.0.1', '10.0.0.2')), ALLOW);
  const t37 = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: 'fd00:0:1800::/37' }]); // 37: 5 bits into word 1
  assert.equal(ev(t37, kDirOut, out6('2001:db8::1', 'fd00:0:1fff:ffff::1')), DENY);
  assert.equal(ev(t37, kDirOut, out6('2001:db8::1', 'fd00:0:2000::1')), ALLOW);
  assert.equal(ev(t37, kDirOut, out6('2001:db8::1', 'fd00:0:17ff::1')), ALLOW);
});

test('MAC rules: local = source of outbound, destination of inbound; remote the other side; ARP matches', () => {
  const local = compileAcls([{ action: 'deny', direction: 'both', localMac: vmMac }]);
  assert.equal(ev(local, kDirOut, out4('10.0.0.1', '10.0.0.2')), DENY);
  assert.equal(ev(local, kDirOut, arp), DENY);
  assert.equal(ev(local, kDirIn, in4('10.0.0.1', '10.0.0.2')), DENY);
  const other = buildUdp4({
    srcMac: '52:54:00:00:00:09',
    dstMac: peerMac,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1,
    dstPort: 2,
  });
  assert.equal(ev(local, kDirOut, other), ALLOW);
  const remote = compileAcls([{ action: 'deny', direction: 'both', remoteMac: '52-54-00-00-00-02' }]);
  assert.equal(ev(remote, kDirOut, out4('10.0.0.1', '10.0.0.2')), DENY, 'outbound: remote = destination MAC');
  assert.equal(ev(remote, kDirIn, in4('10.0.0.1', '10.0.0.2')), DENY, 'inbound: remote = source MAC');
  assert.equal(ev(remote, kDirOut, arp), ALLOW, 'ARP request goes to broadcast, not the peer');
  const bcast = compileAcls([{ action: 'deny', direction: 'outbound', remoteMac: 'ff:ff:ff:ff:ff:ff' }]);
  assert.equal(ev(bcast, kDirOut, arp), DENY, 'lo32 0xffffffff compares as int32');
});

test('local vs remote IP in both directions', () => {
  const t = compileAcls([{ action: 'deny', direction: 'both', localIp: '10.0.0.1' }]);
  assert.equal(ev(t, kDirOut, out4('10.0.0.1', '10.0.0.2')), DENY, 'outbound: local = source');
  assert.equal(ev(t, kDirIn, in4('10.0.0.1', '10.0.0.2')), DENY, 'inbound: local = destination');
  assert.equal(ev(t, kDirOut, out4('10.0.0.2', '10.0.0.1')), ALLOW, 'outbound to 10.0.0.1: that is remote');
  assert.equal(ev(t, kDirIn, in4('10.0.0.2', '10.0.0.1')), ALLOW, 'inbound from 10.0.0.1: that is remote');
  const r = compileAcls([{ action: 'deny', direction: 'inbound', remoteIp: '10.0.0.9' }]);
  assert.equal(ev(r, kDirIn, in4('10.0.0.1', '10.0.0.9')), DENY);
  assert.equal(ev(r, kDirIn, in4('10.0.0.9', '10.0.0.1')), ALLOW);
  assert.equal(ev(r, kDirOut, out4('10.0.0.1', '10.0.0.9')), ALLOW, 'inbound rule: outbound not checked');
  const pair = compileAcls([{ action: 'deny', direction: 'both', localIp: '10.0.0.0/24', remoteIp: '192.168.0.0/16' }]);
  assert.equal(ev(pair, kDirOut, out4('10.0.0.5', '192.168.3.4')), DENY);
  assert.equal(ev(pair, kDirIn, in4('10.0.0.5', '192.168.3.4')), DENY);
  assert.equal(ev(pair, kDirOut, out4('192.168.3.4', '10.0.0.5')), ALLOW);
  assert.equal(ev(pair, kDirOut, out4('10.0.0.5', '172.16.0.1')), ALLOW);
});

test('the most specific rule wins: longer prefix, MAC (48) over /32, a pair adds both sides', () => {
  const t = compileAcls([
    { action: 'deny', direction: 'outbound', remoteIp: '10.0.0.0/8' },
    { action: 'allow', direction: 'outbound', remoteIp: '10.1.0.0/16' },
    { action: 'deny', direction: 'outbound', remoteIp: '10.1.2.0/24' },
    { action: 'allow', direction: 'outbound', remoteIp: 'any' },
  ]);
  assert.equal(ev(t, kDirOut, out4('1.1.1.1', '10.9.9.9')), DENY);
  assert.equal(ev(t, kDirOut, out4('1.1.1.1', '10.1.9.9')), ALLOW);
  assert.equal(ev(t, kDirOut, out4('1.1.1.1', '10.1.2.9')), DENY);
  assert.equal(ev(t, kDirOut, out4('1.1.1.1', '11.0.0.1')), ALLOW);
  // deny all IP, allow a /24: the classic allow-list
  const allowList = compileAcls([
    { action: 'allow', direction: 'both', remoteIp: '192.168.1.0/24' },
    { action: 'deny', direction: 'both', remoteIp: 'any' },
  ]);
  assert.equal(ev(allowList, kDirOut, out4('192.168.1.10', '192.168.1.1')), ALLOW);
  assert.equal(ev(allowList, kDirOut, out4('192.168.1.10', '8.8.8.8')), DENY);
  assert.equal(ev(allowList, kDirOut, out6('2001:db8::1', '2001:db8::2')), DENY);
  // MAC (48) beats an IPv4 /32
  const mac = compileAcls([
    { action: 'deny', direction: 'outbound', remoteIp: '10.0.0.2' },
    { action: 'allow', direction: 'outbound', remoteMac: peerMac },
  ]);
  assert.equal(ev(mac, kDirOut, out4('10.0.0.1', '10.0.0.2')), ALLOW);
  // a pair /24 + /24 = 48 beats a /32 (32) ...
  const pair = compileAcls([
    { action: 'deny', direction: 'outbound', remoteIp: '10.0.1.7' },
    { action: 'allow', direction: 'outbound', localIp: '10.0.0.0/24', remoteIp: '10.0.1.0/24' },
  ]);
  assert.equal(ev(pair, kDirOut, out4('10.0.0.1', '10.0.1.7')), ALLOW);
  // ... and an IPv6 /64 beats a pair of IPv6 /16 + /16
  const six = compileAcls([
    { action: 'allow', direction: 'outbound', localIp: '2001::/16', remoteIp: '2001::/16' },
    { action: 'deny', direction: 'outbound', remoteIp: '2001:db8:1:2::/64' },
  ]);
  assert.equal(ev(six, kDirOut, out6('2001:db8::1', '2001:db8:1:2::5')), DENY);
  assert.equal(ev(six, kDirOut, out6('2001:db8::1', '2001:db8:1:3::5')), ALLOW);
});

test('deny wins ties of equal specificity, whatever the rule order', () => {
  const rules: AclRule[] = [
    { action: 'allow', direction: 'outbound', localIp: '10.0.0.0/8' },
    { action: 'deny', direction: 'outbound', remoteIp: '192.0.0.0/8' },
  ];
  assert.equal(ev(compileAcls(rules), kDirOut, out4('10.0.0.1', '192.1.1.1')), DENY);
  assert.equal(ev(compileAcls([...rules].reverse()), kDirOut, out4('10.0.0.1', '192.1.1.1')), DENY);
  assert.equal(ev(compileAcls(rules), kDirOut, out4('10.0.0.1', '193.1.1.1')), ALLOW);
  const same: AclRule[] = [
    { action: 'allow', direction: 'both', remoteMac: peerMac },
    { action: 'deny', direction: 'both', localMac: vmMac },
  ];
  assert.equal(ev(compileAcls(same), kDirOut, out4('10.0.0.1', '10.0.0.2')), DENY);
  assert.equal(ev(compileAcls(same), kDirIn, in4('10.0.0.1', '10.0.0.2')), DENY);
});

test('hit counters: the deciding allow/deny rule counts frames and bytes; a both-rule counts both directions', () => {
  const t = compileAcls([
    { id: 7, action: 'allow', direction: 'both', remoteIp: '10.0.1.0/24' },
    { action: 'deny', direction: 'both', remoteIp: '10.0.0.0/16' },
    { action: 'allow', direction: 'outbound', remoteIp: '10.0.0.0/8' },
  ]);
  assert.deepEqual(t.ids, [7, 2, 3]);
  const a = out4('10.9.0.1', '10.0.1.5', 10);
  const b = in4('10.9.0.1', '10.0.1.5', 20);
  const c = out4('10.9.0.1', '10.0.2.5', 30);
  assert.equal(ev(t, kDirOut, a), ALLOW);
  assert.equal(ev(t, kDirIn, b), ALLOW);
  assert.equal(ev(t, kDirOut, c), DENY);
  assert.equal(ev(t, kDirOut, c), DENY);
  assert.equal(ev(t, kDirOut, out4('10.9.0.1', '10.1.0.1')), ALLOW);
  assert.equal(ev(t, kDirOut, out4('10.9.0.1', '11.1.0.1')), ALLOW, 'no match: counted nowhere');
  assert.deepEqual(Array.from(t.hits), [
    2,
    a.length + b.length,
    2,
    2 * c.length,
    1,
    out4('10.9.0.1', '10.1.0.1').length,
  ]);
});

test('meter: the most specific matching meter rule counts frames and bytes exactly, whatever allow/deny decides', () => {
  const t = compileAcls([
    { action: 'meter', direction: 'both', remoteIp: 'any' },
    { action: 'meter', direction: 'outbound', remoteIp: '10.0.1.0/24' },
    { action: 'deny', direction: 'outbound', remoteIp: '10.0.1.66' },
    { action: 'meter', direction: 'inbound', localMac: vmMac },
  ]);
  let anyBytes = 0;
  let netBytes = 0;
  let macBytes = 0;
  for (let i = 0; i < 50; i++) {
    const f = out4('10.0.0.1', `10.0.1.${60 + (i % 10)}`, i);
    const v = ev(t, kDirOut, f);
    assert.equal(v, i % 10 === 6 ? DENY : ALLOW);
    netBytes += f.length;
    const g = out4('10.0.0.1', '10.0.2.1', 3 * i);
    assert.equal(ev(t, kDirOut, g), ALLOW);
    anyBytes += g.length;
    const h = in4('10.0.0.1', '10.0.1.1', i);
    assert.equal(ev(t, kDirIn, h), ALLOW);
    macBytes += h.length; // inbound: MAC (48) is more specific than 'any' (0); the /24 meter is outbound only
  }
  assert.equal(ev(t, kDirOut, arp), ALLOW, 'ARP: no IP meter matches');
  const h = t.hits;
  assert.deepEqual([h[0], h[1]], [50, anyBytes]);
  assert.deepEqual([h[2], h[3]], [50, netBytes]);
  assert.deepEqual([h[4], h[5]], [5, 5 * out4('10.0.0.1', '10.0.1.66').length + (6 + 16 + 26 + 36 + 46)]);
  assert.deepEqual([h[6], h[7]], [50, macBytes]);
});

test('compile errors are clear; host bits are masked; ids must be non-negative integers', () => {
  const bad: [unknown, RegExp][] = [
    [{ action: 'drop', direction: 'both', remoteIp: 'any' }, /action must be/],
    [{ action: 'deny', direction: 'up', remoteIp: 'any' }, /direction must be/],
    [{ action: 'deny', direction: 'both' }, /needs an address/],
    [{ action: 'deny', direction: 'both', remoteIp: '10.0.0.0/33' }, /0\.\.32/],
    [{ action: 'deny', direction: 'both', remoteIp: '2001:db8::/129' }, /0\.\.128/],
    [{ action: 'deny', direction: 'both', remoteIp: '10.0.0.256' }, /invalid IPv4/],
    [{ action: 'deny', direction: 'both', remoteIp: '2001:::1' }, /IPv6/],
    [{ action: 'deny', direction: 'both', remoteIp: 42 }, /IP prefix string/],
    [{ action: 'deny', direction: 'both', localMac: '52:54:00:00:00' }, /invalid MAC/],
    [{ action: 'deny', direction: 'both', localMac: vmMac, localIp: '10.0.0.1' }, /not both/],
    [{ action: 'deny', direction: 'both', localIp: '10.0.0.1', remoteIp: '2001:db8::1' }, /different IP versions/],
    [{ id: -1, action: 'deny', direction: 'both', localIp: '10.0.0.1' }, /id must be/],
  ];
  for (const [rule, re] of bad) assert.throws(() => compileAcls([rule as AclRule]), re, JSON.stringify(rule));
  assert.throws(() => compileAcls({} as AclRule[]), /array/);
  const s = parseIpSelector('10.1.2.3/8', 'x');
  assert.deepEqual(s.words, [10 << 24, 0, 0, 0]);
  assert.equal(s.bits, 8);
  const t = compileAcls([{ action: 'deny', direction: 'outbound', remoteIp: '10.1.2.3/8' }]);
  assert.equal(ev(t, kDirOut, out4('1.1.1.1', '10.200.0.1')), DENY);
  assert.equal(t.has(kDirOut), true);
  assert.equal(t.has(kDirIn), false);
});

test('truncated frames evaluate without throwing (MAC rules may still match an IP-less frame)', () => {
  const t = compileAcls([
    { action: 'deny', direction: 'outbound', remoteIp: '10.0.0.2' },
    { action: 'meter', direction: 'outbound', localMac: vmMac },
  ]);
  const f = buildTcp4({ srcMac: vmMac, dstMac: peerMac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 });
  for (let n = 14; n <= f.length; n++) {
    const v = ev(t, kDirOut, f.slice(0, n));
    assert.equal(v, n === f.length ? DENY : ALLOW, `length ${n}`); // IPv4 only once its total length fits
  }
  assert.equal(t.hits[2], f.length - 14 + 1);
});
