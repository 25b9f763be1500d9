import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketPool } from '../dataplane/pool.js';
import {
  buildArpRequest,
  buildIcmp6Echo,
  buildIcmpEcho,
  buildIpv6,
  buildTcp4,
  buildTcp6,
  buildUdp4,
  buildUdp6,
  type VlanTag,
} from '../packet/frame.js';
import { parseIpv4, parseIpv6 } from '../packet/ipaddr.js';
import { IndirectionTable, kMaxIndirectionSize, kNoHash, rssHash } from './rss.js';
import { keyFromHex, kMicrosoftKeyHex } from './toeplitz.js';
import { referenceToeplitz } from './toeplitz.reference.js';

const kKey = keyFromHex(kMicrosoftKeyHex);
const pool = new PacketPool({ slots: 64, slotSize: 2048 });
const mac = { srcMac: '52:54:00:12:34:56', dstMac: '52:54:00:65:43:21' };

/** Hash a frame the way the datapath would: from a pool slot (frame at the headroom, not offset 0). */
function hashFrame(frame: Uint8Array): number {
  const s = pool.load(frame);
  assert.ok(s >= 0);
  try {
    return rssHash(pool, s);
  } finally {
    pool.free(s);
  }
}

function be16(n: number): number[] {
  return [n >> 8, n & 0xff];
}
function addr(text: string): number[] {
  if (text.includes(':')) return Array.from(parseIpv6(text));
  const a = parseIpv4(text);
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff];
}
/** The expected Toeplitz input, built independently of rss.ts: src, dst[, sport, dport]. */
function expected(src: string, dst: string, ports?: [number, number]): number {
  const bytes = [...addr(src), ...addr(dst), ...(ports ? [...be16(ports[0]), ...be16(ports[1])] : [])];
  return referenceToeplitz(kKey, Uint8Array.from(bytes));
}

const kTags: (VlanTag | undefined)[] = [undefined, { vid: 10, pcp: 5 }];

test("Microsoft's first vectors as real frames: TCP/IPv4 0x51ccc178, TCP/IPv6 0x40207d3d, tagged or not", () => {
  for (const vlan of kTags) {
    const t4 = buildTcp4({
      ...mac,
      vlan,
      srcIp: '66.9.149.187',
      dstIp: '161.142.100.80',
      srcPort: 2794,
      dstPort: 1766,
    });
    assert.equal(hashFrame(t4), 0x51ccc178);
    const i4 = buildIcmpEcho({ ...mac, vlan, srcIp: '66.9.149.187', dstIp: '161.142.100.80' });
    assert.equal(hashFrame(i4), 0x323e8fc2, 'ICMP hashes IPv4-only');
    const t6 = buildTcp6({
      ...mac,
      vlan,
      srcIp: '3ffe:2501:200:1fff::7',
      dstIp: '3ffe:2501:200:3::1',
      srcPort: 2794,
      dstPort: 1766,
    });
    assert.equal(hashFrame(t6), 0x40207d3d);
    const i6 = buildIcmp6Echo({ ...mac, vlan, srcIp: '3ffe:2501:200:1fff::7', dstIp: '3ffe:2501:200:3::1' });
    assert.equal(hashFrame(i6), 0x2cc18cd5, 'ICMPv6 hashes IPv6-only');
  }
});

test('golden frames: TCP and UDP over IPv4 and IPv6 hash the 4-tuple, ICMP the addresses', () => {
  for (const vlan of kTags) {
    const p: [number, number] = [40000, 443];
    const v4 = { ...mac, vlan, srcIp: '10.0.0.1', dstIp: '10.0.0.2' };
    const v6 = { ...mac, vlan, srcIp: '2001:db8::1', dstIp: '2001:db8:ffff::42' };
    assert.equal(
      hashFrame(buildTcp4({ ...v4, srcPort: p[0], dstPort: p[1], payload: new Uint8Array(100) })),
      expected(v4.srcIp, v4.dstIp, p),
    );
    assert.equal(hashFrame(buildUdp4({ ...v4, srcPort: p[0], dstPort: p[1] })), expected(v4.srcIp, v4.dstIp, p));
    assert.equal(
      hashFrame(buildUdp4({ ...v4, srcPort: p[0], dstPort: p[1], pad: true })),
      expected(v4.srcIp, v4.dstIp, p),
      'padding ignored',
    );
    assert.equal(hashFrame(buildIcmpEcho(v4)), expected(v4.srcIp, v4.dstIp));
    assert.equal(hashFrame(buildTcp6({ ...v6, srcPort: p[0], dstPort: p[1] })), expected(v6.srcIp, v6.dstIp, p));
    assert.equal(hashFrame(buildUdp6({ ...v6, srcPort: p[0], dstPort: p[1] })), expected(v6.srcIp, v6.dstIp, p));
    assert.equal(hashFrame(buildIcmp6Echo(v6)), expected(v6.srcIp, v6.dstIp));
  }
  // direction matters (Toeplitz is not symmetric): the reply is a different input
  const fwd = hashFrame(buildTcp4({ ...mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 }));
  const rev = hashFrame(buildTcp4({ ...mac, srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 2, dstPort: 1 }));
  assert.notEqual(fwd, rev);
});

test('IPv4 options are skipped: the ports are read after IHL*4 bytes', () => {
  const f = buildUdp4({ ...mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 53, dstPort: 5353 });
  const withOpts = new Uint8Array(f.length + 4); // add one 4-byte option (NOPs) after the 20-byte header
  withOpts.set(f.subarray(0, 34));
  withOpts.fill(1, 34, 38); // NOP options
  withOpts.set(f.subarray(34), 38);
  withOpts[14] = 0x46; // IHL 6
  new DataView(withOpts.buffer).setUint16(16, f.length - 14 + 4); // total length
  assert.equal(hashFrame(withOpts), expected('10.0.0.1', '10.0.0.2', [53, 5353]));
});

test('IPv4 fragments hash addresses only: first fragment (MF), later fragment (offset), tagged or not', () => {
  for (const vlan of kTags) {
    const l3 = vlan ? 18 : 14;
    const base = buildTcp4({ ...mac, vlan, srcIp: '192.0.2.1', dstIp: '198.51.100.7', srcPort: 1234, dstPort: 80 });
    const first = base.slice();
    first[l3 + 6] = 0x20; // MF set, offset 0: still carries the TCP header, but Microsoft says IP-only
    assert.equal(hashFrame(first), expected('192.0.2.1', '198.51.100.7'));
    const later = base.slice();
    later[l3 + 7] = 0xb9; // offset 185 * 8 = 1480, MF clear: the last fragment
    assert.equal(hashFrame(later), expected('192.0.2.1', '198.51.100.7'));
    const df = base.slice();
    df[l3 + 6] = 0x40; // DF alone is not a fragment
    assert.equal(hashFrame(df), expected('192.0.2.1', '198.51.100.7', [1234, 80]));
  }
});

test('IPv6 with an extension header (hop-by-hop, fragment) hashes addresses only', () => {
  const hbh = new Uint8Array(8 + 8); // hop-by-hop (next: TCP, len 0 -> 8 bytes, PadN) then 8 bytes
  hbh[0] = 6;
  hbh.set([1, 4, 0, 0, 0, 0], 2);
  const f = buildIpv6({ ...mac, srcIp: 'fe80::1', dstIp: 'ff02::16', nextHeader: 0, payload: hbh });
  assert.equal(hashFrame(f), expected('fe80::1', 'ff02::16'));
  const frag = buildIpv6({
    ...mac,
    srcIp: '2001:db8::1',
    dstIp: '2001:db8::2',
    nextHeader: 44,
    payload: new Uint8Array(16),
  });
  assert.equal(hashFrame(frag), expected('2001:db8::1', '2001:db8::2'));
});

test('a TCP/UDP datagram too short to hold both ports hashes addresses only', () => {
  const f = buildIpv6({
    ...mac,
    srcIp: '2001:db8::1',
    dstIp: '2001:db8::2',
    nextHeader: 17,
    payload: new Uint8Array(3),
  });
  assert.equal(hashFrame(f), expected('2001:db8::1', '2001:db8::2'));
});

test('no hash: ARP, a 13-byte frame, a bare tag, a truncated or bad IP header, QinQ', () => {
  assert.equal(hashFrame(buildArpRequest({ srcMac: mac.srcMac, srcIp: '10.0.0.1', targetIp: '10.0.0.2' })), kNoHash);
  assert.equal(
    hashFrame(buildArpRequest({ srcMac: mac.srcMac, srcIp: '10.0.0.1', targetIp: '10.0.0.2', vlan: { vid: 3 } })),
    kNoHash,
  );
  const t4 = buildTcp4({ ...mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 });
  assert.equal(hashFrame(t4.subarray(0, 13)), kNoHash, '13 bytes');
  assert.equal(hashFrame(new Uint8Array(0)), kNoHash, 'empty');
  const tagged = buildTcp4({ ...mac, vlan: { vid: 7 }, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 });
  assert.equal(hashFrame(tagged.subarray(0, 16)), kNoHash, 'tag without inner EtherType');
  assert.equal(hashFrame(t4.subarray(0, 14 + 19)), kNoHash, 'IPv4 header cut');
  assert.equal(hashFrame(t4.subarray(0, t4.length - 1)), kNoHash, 'IPv4 total length beyond the frame');
  const badVer = t4.slice();
  badVer[14] = 0x65; // version 6 under EtherType 0x0800
  assert.equal(hashFrame(badVer), kNoHash);
  const t6 = buildTcp6({ ...mac, srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 1, dstPort: 2 });
  assert.equal(hashFrame(t6.subarray(0, 14 + 39)), kNoHash, 'IPv6 header cut');
  assert.equal(hashFrame(t6.subarray(0, t6.length - 1)), kNoHash, 'IPv6 payload length beyond the frame');
  const qinq = tagged.slice();
  qinq[12] = 0x88;
  qinq[13] = 0xa8;
  assert.equal(hashFrame(qinq), kNoHash, '802.1ad outer tag is not parsed');
});

test('IndirectionTable: size validation names the value and the rule', () => {
  for (const bad of [96, 0, 256, -4, 1.5, 3, Number.NaN]) {
    assert.throws(
      () => new IndirectionTable(bad),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message === `RSS indirection table size must be a power of two from 1 to 128, got ${bad}`,
    );
  }
  for (let s = 1; s <= kMaxIndirectionSize; s *= 2) assert.equal(new IndirectionTable(s).size, s);
  assert.throws(() => new IndirectionTable(8, 0), /RSS worker count must be an integer from 1 to 65536, got 0/);
  assert.throws(() => new IndirectionTable(8, []), /at least one worker/);
  assert.throws(() => new IndirectionTable(8, [1, -1]), /RSS worker index must be an integer from 0 to 65535, got -1/);
});

test('IndirectionTable: round-robin fill, lookup by low bits, set, toJSON', () => {
  const t = new IndirectionTable(8, 3);
  assert.deepEqual(t.toJSON(), { size: 8, entries: [0, 1, 2, 0, 1, 2, 0, 1] });
  assert.equal(t.lookup(0xffffffff), 1, 'hash & 7 = 7');
  assert.equal(t.lookup(0x80000002), 2);
  t.fill([4, 6]);
  assert.deepEqual(t.toJSON().entries, [4, 6, 4, 6, 4, 6, 4, 6]);
  t.set(5, 9);
  assert.equal(t.lookup(13), 9, '13 & 7 = 5');
  assert.equal(t.lookup(5 + 8 * 1000), 9);
  assert.throws(() => t.set(8, 0), /RSS indirection table index must be an integer from 0 to 7, got 8/);
  assert.throws(() => t.set(0, 1.5), /RSS worker index must be an integer from 0 to 65535, got 1.5/);
  assert.equal(JSON.stringify(new IndirectionTable(2, 2)), '{"size":2,"entries":[0,1]}');
});

test('distribution: 10k random TCP/IPv4 4-tuples over a 128-entry, 4-worker table land 15%..35% per worker', () => {
  const kFlows = 10_000;
  const kWorkers = 4;
  const table = new IndirectionTable(kMaxIndirectionSize, kWorkers);
  const s = pool.load(buildTcp4({ ...mac, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 }));
  const ip = pool.frameStart(s) + 14;
  const v = pool.view;
  let x = 0x9e3779b9; // xorshift32 seed: fixed, so the test is deterministic
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const counts = new Array<number>(kWorkers).fill(0);
  for (let i = 0; i < kFlows; i++) {
    v.setUint32(ip + 12, next()); // src addr
    v.setUint32(ip + 16, next()); // dst addr
    v.setUint32(ip + 20, next()); // src port, dst port
    const h = rssHash(pool, s);
    assert.ok(h >= 0);
    counts[table.lookup(h)]!++;
  }
  pool.free(s);
  for (const c of counts) assert.ok(c >= 0.15 * kFlows && c <= 0.35 * kFlows, `per-worker counts ${counts.join(', ')}`);
});
