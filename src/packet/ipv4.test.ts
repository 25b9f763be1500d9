import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyIpv4Header } from './checksum.js';
import { fromHex } from './frame.js';
import * as g from './golden.js';
import * as ipv4 from './ipv4.js';
import { Ipv4Check } from './ipv4.js';

const kEth = 14;

test('golden ICMP echo: IPv4 accessors', () => {
  const f = fromHex(g.capIcmpEcho);
  const v = new DataView(f.buffer);
  assert.equal(ipv4.check(v, kEth, f.length - kEth), Ipv4Check.ok);
  assert.equal(ipv4.version(v, kEth), 4);
  assert.equal(ipv4.ihl(v, kEth), 5);
  assert.equal(ipv4.headerLen(v, kEth), 20);
  assert.equal(ipv4.dscp(v, kEth), 0);
  assert.equal(ipv4.ecn(v, kEth), 0);
  assert.equal(ipv4.totalLength(v, kEth), 84);
  assert.equal(ipv4.ident(v, kEth), 0x3388);
  assert.equal(ipv4.dontFragment(v, kEth), true);
  assert.equal(ipv4.moreFragments(v, kEth), false);
  assert.equal(ipv4.isFragment(v, kEth), false);
  assert.equal(ipv4.ttl(v, kEth), 64);
  assert.equal(ipv4.protocol(v, kEth), ipv4.IpProto.icmp);
  assert.equal(ipv4.checksum(v, kEth), 0xf30c);
  assert.equal(ipv4.src(v, kEth), 0x0a090001);
  assert.equal(ipv4.dst(v, kEth), 0x0a090002);
});

test('golden datagrams parse to a Repr and emit back byte for byte (checksum recomputed)', () => {
  const f = fromHex(g.capIcmpPortUnreachable);
  const r = ipv4.parse(f.subarray(kEth));
  assert.deepEqual(
    { ...r, payload: r.payload.length },
    {
      dscp: 48, // TOS 0xc0: CS6, what Linux uses for ICMP errors
      ecn: 0,
      ident: 0x0586,
      dontFragment: false,
      moreFragments: false,
      fragOffset: 0,
      ttl: 64,
      protocol: 1,
      src: '10.9.0.2',
      dst: '10.9.0.1',
      options: new Uint8Array(0),
      payload: 41,
    },
  );
  for (const hex of [g.capIcmpEcho, g.capIcmpPortUnreachable, g.capTcpSyn, g.capTcpRst, g.capUdp]) {
    const ip = fromHex(hex).subarray(kEth);
    const rr = ipv4.parse(ip);
    const out = new Uint8Array(ipv4.bufferLen(rr));
    assert.equal(ipv4.emit(rr, out, 0), ip.length);
    assert.deepEqual(out, ip);
  }
  const w = fromHex(g.wikiIpv4Header + '00'.repeat(0x73 - 20));
  const wr = ipv4.parse(w);
  const wo = new Uint8Array(ipv4.bufferLen(wr));
  ipv4.emit(wr, wo, 0);
  assert.deepEqual(wo.subarray(0, 20), fromHex(g.wikiIpv4Header));
});

test('Ethernet padding after total length is not payload', () => {
  const f = fromHex(g.capTcpRst); // 40-byte datagram
  const padded = new Uint8Array(60);
  padded.set(f);
  const ip = padded.subarray(kEth);
  assert.equal(ipv4.check(new DataView(padded.buffer), kEth, ip.length), Ipv4Check.ok);
  assert.equal(ipv4.parse(ip).payload.length, 20);
});

test('options are carried as bytes and counted in IHL (Router Alert, RFC 2113)', () => {
  const r = ipv4.parse(fromHex(g.capUdp).subarray(kEth));
  const withRa = { ...r, options: fromHex('94040000') };
  const out = new Uint8Array(ipv4.bufferLen(withRa));
  ipv4.emit(withRa, out, 0);
  const v = new DataView(out.buffer);
  assert.equal(ipv4.ihl(v, 0), 6);
  assert.equal(ipv4.totalLength(v, 0), 37);
  assert.ok(verifyIpv4Header(out, 0));
  assert.deepEqual(ipv4.parse(out), withRa);
  assert.throws(
    () => ipv4.emit({ ...r, options: new Uint8Array(3) }, new Uint8Array(64), 0),
    /multiple of 4 bytes, at most 40; got 3/,
  );
});

test('fragments: offset in bytes, MF, later fragments', () => {
  const r = ipv4.parse(fromHex(g.capUdp).subarray(kEth));
  const frag = { ...r, dontFragment: false, moreFragments: true, fragOffset: 1480 };
  const out = new Uint8Array(ipv4.bufferLen(frag));
  ipv4.emit(frag, out, 0);
  const v = new DataView(out.buffer);
  assert.equal(v.getUint16(6), 0x2000 | 185, '1480 / 8 = 185 units, MF set');
  assert.equal(ipv4.fragOffset(v, 0), 1480);
  assert.ok(ipv4.isFragment(v, 0));
  assert.ok(ipv4.isLaterFragment(v, 0));
  assert.deepEqual(ipv4.parse(out), frag);
  assert.throws(() => ipv4.emit({ ...r, fragOffset: 100 }, new Uint8Array(64), 0), /multiple of 8/);
});

test('check rejects truncated, wrong version, IHL < 5, IHL past the buffer, total length out of range', () => {
  const base = fromHex(g.capIcmpEcho).slice(kEth); // 84-byte datagram
  const at = (mut: (b: Uint8Array) => void, len = base.length) => {
    const b = base.slice();
    mut(b);
    return ipv4.check(new DataView(b.buffer), 0, len);
  };
  assert.equal(
    at(() => {}, 19),
    Ipv4Check.truncated,
  );
  assert.equal(
    at((b) => (b[0] = 0x65)),
    Ipv4Check.version,
  );
  assert.equal(
    at((b) => (b[0] = 0x44)),
    Ipv4Check.ihl,
  );
  assert.equal(
    at((b) => (b[0] = 0x4f), 40),
    Ipv4Check.ihl,
    'IHL 15 = 60 bytes > 40 available',
  );
  assert.equal(
    at(() => {}, 83),
    Ipv4Check.totalLength,
    'total length 84 > 83 bytes',
  );
  assert.equal(
    at((b) => (b[3] = 19)),
    Ipv4Check.totalLength,
    'total length below the header',
  );
  assert.throws(
    () => ipv4.parse(base.subarray(0, 83)),
    /malformed IPv4 header: total length out of range \(83 bytes available\)/,
  );
  assert.throws(() => ipv4.parse(new Uint8Array([0x44, ...new Array(30).fill(0)])), /IHL below 5/);
});

test('writers: TTL, total length, checksum, addresses', () => {
  const f = fromHex(g.capIcmpEcho);
  const v = new DataView(f.buffer);
  ipv4.setTtl(v, kEth, 1);
  ipv4.setSrc(v, kEth, 0xc0000201);
  ipv4.setDst(v, kEth, 0xc0000202);
  ipv4.setTotalLength(v, kEth, 84);
  assert.ok(!verifyIpv4Header(f, kEth));
  ipv4.setChecksum(v, kEth, 0);
  const r = ipv4.parse(f.subarray(kEth));
  assert.equal(r.ttl, 1);
  assert.equal(r.src, '192.0.2.1');
  assert.equal(r.dst, '192.0.2.2');
});
