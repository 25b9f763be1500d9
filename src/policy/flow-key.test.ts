import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import {
  buildArpRequest,
  buildEthernet,
  buildIcmp6Echo,
  buildIcmpEcho,
  buildIpv4,
  buildIpv6,
  buildTcp4,
  buildTcp6,
  buildUdp4,
  buildUdp6,
} from '../packet/frame.js';
import { parseIpv4, parseIpv6 } from '../packet/ipaddr.js';
import { FlowKey, kf, kFamily4, kFamilyNone, kProtoUnknown, kSignFlip } from './flow-key.js';

const pool = new PacketPool({ slots: 64, slotSize: 2048 });
const mac = { srcMac: '52:54:00:12:34:56', dstMac: '02:00:00:ab:cd:ef' };
const key = new FlowKey();

/** Load a frame, parse it, copy out what we check. `fill` = value of the slot bytes after the frame. */
function parse(frame: Uint8Array, fill = 0) {
  const s = pool.load(frame);
  assert.ok(s >= 0);
  const after = pool.slotBase(s) + pool.meta32[(s << Meta.shift) + Meta.off]! + frame.length;
  pool.bytes.fill(fill, after, pool.slotBase(s) + pool.slotSize);
  try {
    const ok = key.parse(pool, s);
    return {
      ok,
      family: key.family,
      protocol: key.protocol,
      hasPorts: key.hasPorts,
      srcPort: key.srcPort,
      dstPort: key.dstPort,
      laterFragment: key.laterFragment,
      l4Off: key.l4Off,
      ethertype: key.ethertype,
      srcMac: [key.srcMacHi, key.srcMacLo],
      dstMac: [key.dstMacHi, key.dstMacLo],
      src: Array.from(key.src),
      dst: Array.from(key.dst),
      v: Array.from(key.v),
    };
  } finally {
    pool.free(s);
  }
}

function words6(text: string): number[] {
  const b = parseIpv6(text);
  const v = new DataView(b.buffer);
  return [0, 1, 2, 3].map((i) => v.getInt32(4 * i));
}
function words4(text: string): number[] {
  return [parseIpv4(text) | 0, 0, 0, 0];
}

/** The L4 bytes of a TCP/IPv6 frame built by frame.ts (after the 14 + 40 header bytes). */
function tcp6Payload(srcPort: number, dstPort: number): Uint8Array {
  return buildTcp6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort, dstPort }).slice(54);
}

/** An IPv6 extension header of `len8` 8-byte units (hop-by-hop / routing / destination options). */
function ext(next: number, len8 = 1): number[] {
  const h = new Array<number>(len8 * 8).fill(0);
  h[0] = next;
  h[1] = len8 - 1;
  return h;
}
function frag(next: number, offset8: number, more: boolean): number[] {
  const w = (offset8 << 3) | (more ? 1 : 0);
  return [next, 0, w >> 8, w & 0xff, 0, 0, 0x12, 0x34];
}

test('IPv4 TCP: MACs, addresses in word 0, protocol, ports, L4 offset', () => {
  const r = parse(buildTcp4({ ...mac, srcIp: '10.0.0.1', dstIp: '192.168.1.200', srcPort: 40000, dstPort: 80 }));
  assert.equal(r.ok, true);
  assert.equal(r.family, kFamily4);
  assert.equal(r.protocol, 6);
  assert.deepEqual([r.hasPorts, r.srcPort, r.dstPort], [1, 40000, 80]);
  assert.deepEqual(r.src, words4('10.0.0.1'));
  assert.deepEqual(r.dst, words4('192.168.1.200'));
  assert.deepEqual(r.srcMac, [0x5254, 0x00123456]);
  assert.deepEqual(r.dstMac, [0x0200, 0x00abcdef]);
  assert.equal(r.l4Off, 34);
  assert.equal(r.ethertype, 0x0800);
  // the rule vector: the same fields, address words sign-flipped
  assert.equal(r.v[kf.family], 4);
  assert.equal(r.v[kf.src], (parseIpv4('10.0.0.1') | 0) ^ kSignFlip);
  assert.equal(r.v[kf.dst], (parseIpv4('192.168.1.200') | 0) ^ kSignFlip);
  assert.equal(r.v[kf.dst + 1], kSignFlip);
  assert.deepEqual(
    [r.v[kf.srcMacHi], r.v[kf.srcMacLo], r.v[kf.dstMacHi], r.v[kf.dstMacLo]],
    [0x5254, 0x00123456, 0x0200, 0x00abcdef],
  );
  assert.deepEqual([r.v[kf.protocol], r.v[kf.hasPorts], r.v[kf.srcPort], r.v[kf.dstPort]], [6, 1, 40000, 80]);
});

test('IPv4 UDP, ICMP (no ports), IPv6 UDP and ICMPv6', () => {
  const u = parse(buildUdp4({ ...mac, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 53, dstPort: 65535 }));
  assert.deepEqual([u.family, u.protocol, u.hasPorts, u.srcPort, u.dstPort], [4, 17, 1, 53, 65535]);
  const i = parse(buildIcmpEcho({ ...mac, srcIp: '1.2.3.4', dstIp: '5.6.7.8' }));
  assert.deepEqual([i.family, i.protocol, i.hasPorts, i.srcPort, i.dstPort], [4, 1, 0, 0, 0]);
  const u6 = parse(buildUdp6({ ...mac, srcIp: 'fe80::1', dstIp: 'ff02::1:2', srcPort: 546, dstPort: 547 }));
  assert.deepEqual([u6.family, u6.protocol, u6.hasPorts, u6.srcPort, u6.dstPort], [6, 17, 1, 546, 547]);
  assert.deepEqual(u6.src, words6('fe80::1'));
  assert.deepEqual(u6.dst, words6('ff02::1:2'));
  const e6 = parse(buildIcmp6Echo({ ...mac, srcIp: '2001:db8::1', dstIp: 'ffff:ffff::ffff' }));
  assert.deepEqual([e6.family, e6.protocol, e6.hasPorts], [6, 58, 0]);
  assert.deepEqual(e6.dst, words6('ffff:ffff::ffff'));
  assert.equal(e6.l4Off, 54);
});

test('IPv6: hop-by-hop, destination options, routing, AH and a first fragment before TCP are walked', () => {
  const payload = Uint8Array.from([
    ...ext(60), // hop-by-hop -> destination options
    ...ext(43, 2), // destination options (16 bytes) -> routing
    ...ext(51), // routing -> AH
    ...[44, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // AH, length 2 -> (2 + 2) * 4 = 16 bytes -> fragment
    ...frag(6, 0, true), // first fragment -> TCP
    ...tcp6Payload(1234, 443),
  ]);
  const r = parse(buildIpv6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', nextHeader: 0, payload }));
  assert.deepEqual([r.family, r.protocol, r.hasPorts, r.srcPort, r.dstPort, r.laterFragment], [6, 6, 1, 1234, 443, 0]);
  assert.equal(r.l4Off, 14 + 40 + 8 + 16 + 8 + 16 + 8);
});

test('later fragments report the protocol without ports (IPv4 offset, IPv6 fragment header)', () => {
  const f4 = buildUdp4({ ...mac, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 53, dstPort: 53 });
  f4[14 + 6] = 0x00;
  f4[14 + 7] = 0x10; // offset 16 units, no MF
  const r4 = parse(f4);
  assert.deepEqual([r4.family, r4.protocol, r4.hasPorts, r4.laterFragment], [4, 17, 0, 1]);
  const first4 = buildUdp4({ ...mac, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 53, dstPort: 54 });
  first4[14 + 6] = 0x20; // MF, offset 0: a first fragment keeps its ports
  const rf = parse(first4);
  assert.deepEqual([rf.hasPorts, rf.srcPort, rf.dstPort, rf.laterFragment], [1, 53, 54, 0]);
  const payload = Uint8Array.from([...frag(6, 185, false), ...tcp6Payload(1, 2)]);
  const r6 = parse(buildIpv6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', nextHeader: 44, payload }));
  assert.deepEqual([r6.family, r6.protocol, r6.hasPorts, r6.laterFragment], [6, 6, 0, 1]);
});

test('a truncated or endless IPv6 extension chain reports kProtoUnknown but keeps the addresses', () => {
  // destination options header claiming 64 bytes in a 16-byte payload
  const bad = Uint8Array.from([60, 7, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(0)]);
  const r = parse(buildIpv6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', nextHeader: 60, payload: bad }));
  assert.deepEqual([r.family, r.protocol, r.hasPorts], [6, kProtoUnknown, 0]);
  assert.deepEqual(r.src, words6('2001:db8::1'));
  // nine destination-options headers in a row: beyond the walk limit
  const many: number[] = [];
  for (let i = 0; i < 9; i++) many.push(...ext(i < 8 ? 60 : 6));
  const r2 = parse(
    buildIpv6({
      ...mac,
      srcIp: '2001:db8::1',
      dstIp: '2001:db8::2',
      nextHeader: 60,
      payload: Uint8Array.from([...many, ...tcp6Payload(1, 2)]),
    }),
  );
  assert.equal(r2.protocol, kProtoUnknown);
  // eight are fine
  const eight: number[] = [];
  for (let i = 0; i < 8; i++) eight.push(...ext(i < 7 ? 60 : 6));
  const r3 = parse(
    buildIpv6({
      ...mac,
      srcIp: '2001:db8::1',
      dstIp: '2001:db8::2',
      nextHeader: 60,
      payload: Uint8Array.from([...eight, ...tcp6Payload(7, 8)]),
    }),
  );
  assert.deepEqual([r3.protocol, r3.srcPort, r3.dstPort], [6, 7, 8]);
});

test('non-IP frames: family 0, MACs still set; short frames: parse() false', () => {
  const a = parse(buildArpRequest({ srcMac: mac.srcMac, srcIp: '10.0.0.1', targetIp: '10.0.0.2' }));
  assert.deepEqual([a.ok, a.family, a.protocol, a.ethertype], [true, kFamilyNone, 0, 0x0806]);
  assert.deepEqual(a.srcMac, [0x5254, 0x00123456]);
  assert.deepEqual(a.dstMac, [0xffff, -1]);
  const short = parse(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
  assert.deepEqual([short.ok, short.family], [false, 0]);
  // IPv4 EtherType with a bad version nibble: not IP
  const t = buildTcp4({ ...mac, srcIp: '1.1.1.1', dstIp: '2.2.2.2', srcPort: 1, dstPort: 2 });
  t[14] = 0x65;
  assert.equal(parse(t).family, kFamilyNone);
});

test('IPv4 header options are skipped to find the ports', () => {
  const opts = buildTcp4({ ...mac, srcIp: '1.1.1.1', dstIp: '2.2.2.2', srcPort: 1111, dstPort: 2222 });
  // rebuild with IHL 6 (one NOP option word) by hand: header 24 bytes
  const ip = opts.slice(14, 34);
  const l4 = opts.slice(34);
  ip[0] = 0x46;
  const total = 24 + l4.length;
  ip[2] = total >> 8;
  ip[3] = total & 0xff;
  const frame = buildEthernet({
    dst: mac.dstMac,
    src: mac.srcMac,
    ethertype: 0x0800,
    payload: Uint8Array.from([...ip, 1, 1, 1, 1, ...l4]),
  });
  const r = parse(frame);
  assert.deepEqual([r.family, r.srcPort, r.dstPort, r.l4Off], [4, 1111, 2222, 38]);
});

test('a tagged frame (defence: policy normally sees untagged ones) is read behind its tag', () => {
  const r = parse(
    buildUdp4({ ...mac, vlan: { vid: 10 }, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 9, dstPort: 10 }),
  );
  assert.deepEqual([r.family, r.srcPort, r.dstPort], [4, 9, 10]);
});

test('truncated frames never throw and never read past the frame length (same result whatever follows)', () => {
  const frames = [
    buildTcp4({ ...mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 }),
    buildUdp6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 3, dstPort: 4 }),
    buildIpv6({
      ...mac,
      srcIp: '2001:db8::1',
      dstIp: '2001:db8::2',
      nextHeader: 0,
      payload: Uint8Array.from([...ext(44), ...frag(6, 0, false), ...tcp6Payload(5, 6)]),
    }),
    buildIpv4({ ...mac, srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 6, payload: Uint8Array.from([0, 80]) }), // 2-byte TCP: no ports
  ];
  for (const f of frames) {
    for (let n = 0; n <= f.length; n++) {
      const cut = f.slice(0, n);
      const a = parse(cut, 0x00);
      const b = parse(cut, 0xff);
      assert.deepEqual(a, b, `length ${n}`);
    }
  }
  assert.equal(parse(frames[3]!).hasPorts, 0);
});

test('property: random bytes never throw, and bytes past the frame never matter', () => {
  const head = fc.constantFrom([0x08, 0x00], [0x86, 0xdd], [0x81, 0x00], [0x08, 0x06]);
  fc.assert(
    fc.property(head, fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (et, rest, v6ish) => {
      const f = new Uint8Array(12 + 2 + rest.length);
      f[12] = et[0];
      f[13] = et[1];
      f.set(rest, 14);
      if (rest.length > 0) f[14] = v6ish ? 0x60 | (rest[0]! & 0xf) : 0x45; // plausible version nibbles
      assert.deepEqual(parse(f, 0x00), parse(f, 0xff));
    }),
    { numRuns: 2000 },
  );
});
