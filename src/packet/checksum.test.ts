import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fillL4Checksum,
  finish,
  fold,
  ipv4HeaderChecksum,
  l4Checksum,
  onesSum,
  pseudoSum4,
  pseudoSumAt,
  update16,
  verify,
  verifyIpv4Header,
  verifyL4,
} from './checksum.js';
import { fromHex } from './frame.js';
import * as g from './golden.js';

const kEth = 14; // untagged Ethernet header
const kIp4 = 20; // IPv4 header without options
const kIp6 = 40; // IPv6 fixed header

test('RFC 1071 section 3 example: sum ddf2, checksum 220d', () => {
  const b = fromHex(g.rfc1071Bytes);
  assert.equal(onesSum(b, 0, b.length), 0xddf2);
  assert.equal(finish(onesSum(b, 0, b.length)), 0x220d);
});

test('odd length pads the last byte with zero; chaining at even offsets equals one pass', () => {
  const b = fromHex('0001 f203 f4f5 f6');
  assert.equal(onesSum(b, 0, 7), onesSum(fromHex('0001 f203 f4f5 f600'), 0, 8));
  const r = fromHex(g.rfc1071Bytes);
  assert.equal(onesSum(r, 4, 4, onesSum(r, 0, 4)), 0xddf2);
});

test('fold handles sums above 2^32 with end-around carry', () => {
  assert.equal(fold(0x1_0000_0000), 1);
  assert.equal(fold(0xffff * 100000), 0xffff); // a non-zero multiple of 0xffff is 'negative zero'
  assert.equal(fold(2 ** 40 + 5), 0x105); // 2^16 = 1 (mod 0xffff), so 2^40 = 2^8
  assert.equal(fold(0x1fffe), 0xffff);
});

test('IPv4 header checksum: Wikipedia example b861 and the captured headers', () => {
  const w = fromHex(g.wikiIpv4Header);
  assert.equal(ipv4HeaderChecksum(w, 0), 0xb861);
  assert.ok(verifyIpv4Header(w, 0));
  for (const [hex, want] of [
    [g.capIcmpEcho, 0xf30c],
    [g.capTcpSyn, 0x6212],
    [g.capTcpRst, 0x26bc],
    [g.capIcmpPortUnreachable, 0x6066],
  ] as const) {
    const f = fromHex(hex);
    assert.equal(ipv4HeaderChecksum(f, kEth), want);
    assert.ok(verifyIpv4Header(f, kEth));
    f[kEth + 8]! -= 1; // TTL changed without fixing the checksum
    assert.ok(!verifyIpv4Header(f, kEth));
  }
});

test('RFC 1624 incremental update equals a full recompute (TTL decrement)', () => {
  const f = fromHex(g.capIcmpEcho);
  const old = (f[kEth + 8]! << 8) | f[kEth + 9]!;
  f[kEth + 8] = 63;
  const next = (f[kEth + 8]! << 8) | f[kEth + 9]!;
  const inc = update16(0xf30c, old, next);
  assert.equal(inc, ipv4HeaderChecksum(f, kEth));
  assert.equal(inc, 0xf40c);
});

test('pseudo-header sum equals what Linux left in a partial-checksum SYN and UDP datagram', () => {
  // The kernel stores the folded pseudo-header sum for the NIC (or us) to complete.
  assert.equal(pseudoSum4(0x0a090001, 0x0a090002, 6, 40), 0x1443);
  assert.equal(pseudoSum4(0x0a090001, 0x0a090002, 17, 13), 0x1433);
  const syn = fromHex(g.capTcpSynPartial);
  assert.equal(pseudoSumAt(syn, kEth, 6, 40), 0x1443);
});

test('offload fix-up: fillL4Checksum turns the partial checksums into the values tshark computed', () => {
  const syn = fromHex(g.capTcpSynPartial);
  assert.ok(!verifyL4(syn, kEth, kEth + kIp4, 40, 6));
  assert.ok(fillL4Checksum(syn, kEth, kEth + kIp4, 40, 6));
  assert.deepEqual(syn, fromHex(g.capTcpSyn));
  assert.ok(verifyL4(syn, kEth, kEth + kIp4, 40, 6));

  const u = fromHex(g.capUdpPartial);
  assert.ok(fillL4Checksum(u, kEth, kEth + kIp4, 13, 17));
  assert.deepEqual(u, fromHex(g.capUdp));
  assert.ok(verifyL4(u, kEth, kEth + kIp4, 13, 17));

  assert.equal(fillL4Checksum(u, kEth, kEth + kIp4, 13, 47), false, 'GRE is not ours to checksum');
});

test('verifyL4 accepts software-computed checksums from real frames, v4 and v6, and rejects a flipped bit', () => {
  const cases = [
    [g.capTcpRst, kIp4, 6],
    [g.capIcmpEcho, kIp4, 1],
    [g.capIcmpPortUnreachable, kIp4, 1],
    [g.capIcmp6Echo, kIp6, 58],
    [g.capNeighborAdvert, kIp6, 58],
    [g.capRouterSolicit, kIp6, 58],
  ] as const;
  for (const [hex, ipLen, proto] of cases) {
    const f = fromHex(hex);
    const l4 = kEth + ipLen;
    assert.ok(verifyL4(f, kEth, l4, f.length - l4, proto), hex.slice(0, 40));
    f[f.length - 1]! ^= 0x01;
    assert.ok(!verifyL4(f, kEth, l4, f.length - l4, proto));
  }
});

test('l4Checksum over ICMPv4 uses no pseudo-header; over ICMPv6 it does', () => {
  const f = fromHex(g.capIcmpEcho);
  const l4 = kEth + kIp4;
  f[l4 + 2] = 0;
  f[l4 + 3] = 0;
  assert.equal(l4Checksum(f, kEth, l4, 64, 1), 0xe8d6);
  const f6 = fromHex(g.capIcmp6Echo);
  const l6 = kEth + kIp6;
  f6[l6 + 2] = 0;
  f6[l6 + 3] = 0;
  assert.equal(l4Checksum(f6, kEth, l6, 64, 58), 0x8ecd);
  assert.notEqual(finish(onesSum(f6, l6, 64)), 0x8ecd);
});

test('UDP: zero checksum means none over IPv4 but is invalid over IPv6; a computed 0 is sent as ffff', () => {
  const u = fromHex(g.capUdp);
  u[kEth + kIp4 + 6] = 0;
  u[kEth + kIp4 + 7] = 0;
  assert.ok(verifyL4(u, kEth, kEth + kIp4, 13, 17));
  // IPv6 UDP with a zero checksum: build a v6 header in front of the same datagram.
  const v6 = fromHex(
    '6000000000 0d 11 40 20010db8000000000000000000000001 20010db8000000000000000000000002 c38c270f000d0000 68656c6c6f',
  );
  assert.ok(!verifyL4(v6, 0, kIp6, 13, 17));
  assert.ok(fillL4Checksum(v6, 0, kIp6, 13, 17));
  assert.ok(verifyL4(v6, 0, kIp6, 13, 17));
  // Choose the last two payload bytes so that the checksum comes out 0: the stored value must be ffff.
  const z = fromHex(g.capUdp);
  const l4 = kEth + kIp4;
  z[l4 + 6] = 0;
  z[l4 + 7] = 0;
  z[l4 + 8] = 0;
  z[l4 + 9] = 0; // 'he' -> 0000, then solve for those two bytes
  const need = fold(~onesSum(z, l4, 13, pseudoSumAt(z, kEth, 17, 13)) & 0xffff) || 0xffff;
  z[l4 + 8] = need >> 8;
  z[l4 + 9] = need & 0xff;
  assert.equal(l4Checksum(z, kEth, l4, 13, 17), 0, 'the one-pass checksum is 0 for this payload');
  assert.ok(fillL4Checksum(z, kEth, l4, 13, 17));
  assert.equal((z[l4 + 6]! << 8) | z[l4 + 7]!, 0xffff);
  assert.ok(verifyL4(z, kEth, l4, 13, 17));
});

test('verify on a region that includes its checksum', () => {
  const w = fromHex(g.wikiIpv4Header);
  assert.ok(verify(w, 0, w.length));
  w[0] = 0x46;
  assert.ok(!verify(w, 0, w.length));
});
