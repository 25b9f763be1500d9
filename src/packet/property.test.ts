/**
 * Property tests (fast-check): every Repr survives emit -> parse, every parse -> emit reproduces the
 * bytes, check() agrees with the lengths, and checksums of random data verify. Oracles from outside this
 * code where one exists: WHATWG URL's IPv6 serializer (same zero-run rule as RFC 5952) and a naive
 * modulo-0xffff checksum reference.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as arp from './arp.js';
import {
  fillL4Checksum,
  finish,
  fold,
  ipv4HeaderChecksum,
  onesSum,
  update16,
  verify,
  verifyIpv4Header,
  verifyL4,
} from './checksum.js';
import * as eth from './ethernet.js';
import { buildTcp4, buildUdp4, buildUdp6 } from './frame.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ipaddr.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { formatMac, parseMac } from './mac.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import * as vlan from './vlan.js';

const kRuns = { numRuns: 300 };
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const payload = fc.uint8Array({ maxLength: 300 });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
const ip4 = u32.map(formatIpv4);
const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));
const words = (n: number) =>
  fc.integer({ min: 0, max: n }).chain((k) => fc.uint8Array({ minLength: 4 * k, maxLength: 4 * k }));

/** Emit into a buffer with random slack on both sides; parse back from exactly the emitted bytes. */
function roundTrip<R>(
  repr: R,
  bufferLen: (r: R) => number,
  emit: (r: R, b: Uint8Array, o: number) => number,
  parse: (b: Uint8Array) => R,
  lead: number,
): void {
  const n = bufferLen(repr);
  const buf = new Uint8Array(lead + n + 3);
  assert.equal(emit(repr, buf, lead), n);
  const bytes = buf.slice(lead, lead + n);
  assert.deepEqual(parse(bytes), { ...repr }); // fc.record builds null-prototype objects
  const again = new Uint8Array(n);
  emit(parse(bytes), again, 0);
  assert.deepEqual(again, bytes);
}

test('Ethernet: Repr round trip; parse(bytes) emits the same bytes; check matches length', () => {
  fc.assert(
    fc.property(fc.record({ dst: mac, src: mac, ethertype: u16, payload }), fc.nat(9), (r, lead) =>
      roundTrip(r, eth.bufferLen, eth.emit, eth.parse, lead),
    ),
    kRuns,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 100 }), fc.nat(100), (b, len) => {
      const out = new Uint8Array(b.length);
      eth.emit(eth.parse(b), out, 0);
      assert.deepEqual(out, b);
      assert.equal(eth.check(new DataView(b.buffer), 0, Math.min(len, b.length)), Math.min(len, b.length) >= 14);
    }),
    kRuns,
  );
});

test('802.1Q: Repr round trip, push/pop round trip, check needs 18 bytes only when tagged', () => {
  const tag = fc.record({
    pcp: fc.integer({ min: 0, max: 7 }),
    dei: fc.boolean(),
    vid: fc.integer({ min: 0, max: 4095 }),
    ethertype: u16,
    payload,
  });
  fc.assert(
    fc.property(tag, fc.nat(9), (r, lead) => roundTrip(r, vlan.bufferLen, vlan.emit, vlan.parse, lead)),
    kRuns,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 80 }), u16, fc.nat(8), (frame, tci, head) => {
      const buf = new Uint8Array(head + 4 + frame.length);
      buf.set(frame, head + 4);
      const v = new DataView(buf.buffer);
      const off = vlan.pushTag(v, head + 4, tci);
      assert.equal(off, head);
      assert.ok(vlan.isTagged(v, off));
      assert.equal(vlan.tci(v, off), tci);
      assert.equal(vlan.innerEthertype(v, off), (frame[12]! << 8) | frame[13]!);
      assert.deepEqual(buf.subarray(off + 18), frame.subarray(14));
      assert.deepEqual(buf.subarray(vlan.popTag(v, off)), frame);
    }),
    kRuns,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 18, maxLength: 40 }), fc.boolean(), fc.nat(40), (b, tagged, len) => {
      if (tagged) b.set([0x81, 0x00], 12);
      const n = Math.min(len, b.length);
      const isTag = b[12] === 0x81 && b[13] === 0x00;
      assert.equal(vlan.check(new DataView(b.buffer), 0, n), n >= (isTag ? 18 : 14));
    }),
    kRuns,
  );
});

test('ARP: Repr round trip', () => {
  const r = fc.record({ operation: u16, senderMac: mac, senderIp: ip4, targetMac: mac, targetIp: ip4 });
  fc.assert(
    fc.property(r, fc.nat(9), (x, lead) => roundTrip(x, arp.bufferLen, arp.emit, arp.parse, lead)),
    kRuns,
  );
});

const ipv4Repr = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: u16,
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
  ttl: u8,
  protocol: u8,
  src: ip4,
  dst: ip4,
  options: words(10),
  payload,
});

test('IPv4: Repr round trip, header checksum verifies, check rejects every truncation', () => {
  fc.assert(
    fc.property(ipv4Repr, fc.nat(9), (r, lead) => {
      roundTrip(r, ipv4.bufferLen, ipv4.emit, ipv4.parse, lead);
      const b = new Uint8Array(ipv4.bufferLen(r));
      ipv4.emit(r, b, 0);
      assert.ok(verifyIpv4Header(b, 0));
      assert.equal(ipv4HeaderChecksum(b, 0), ipv4.checksum(new DataView(b.buffer), 0));
      const v = new DataView(b.buffer);
      assert.equal(ipv4.check(v, 0, b.length), ipv4.Ipv4Check.ok);
      assert.notEqual(ipv4.check(v, 0, b.length - 1), ipv4.Ipv4Check.ok);
      assert.notEqual(ipv4.check(v, 0, 20 + r.options.length - 1), ipv4.Ipv4Check.ok);
    }),
    kRuns,
  );
});

test('IPv6: Repr round trip', () => {
  const r = fc
    .record({
      trafficClass: u8,
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      nextHeader: u8,
      hopLimit: u8,
      src: ip6,
      dst: ip6,
      payload,
    })
    .filter((x) => !(x.nextHeader === 0 && x.payload.length === 0)); // an empty hop-by-hop datagram reads as a jumbogram: rejected
  fc.assert(
    fc.property(r, fc.nat(9), (x, lead) => roundTrip(x, ipv6.bufferLen, ipv6.emit, ipv6.parse, lead)),
    kRuns,
  );
});

test('ICMP, ICMPv6, TCP, UDP: Repr round trips (with and without pseudo-header checksums)', () => {
  const icmpR = fc.record({ type: u8, code: u8, rest: u32, payload });
  fc.assert(
    fc.property(icmpR, fc.nat(9), (x, lead) => roundTrip(x, icmp.bufferLen, icmp.emit, icmp.parse, lead)),
    kRuns,
  );
  fc.assert(
    fc.property(icmpR, ip6, ip6, (x, src, dst) => {
      roundTrip(x, icmpv6.bufferLen, (r, b, o) => icmpv6.emit(r, b, o, { src, dst }), icmpv6.parse, 0);
    }),
    kRuns,
  );
  const tcpR = fc.record({
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    urgent: u16,
    options: words(10),
    payload,
  });
  fc.assert(
    fc.property(tcpR, ip4, ip4, (x, src, dst) =>
      roundTrip(x, tcp.bufferLen, (r, b, o) => tcp.emit(r, b, o, { src, dst }), tcp.parse, 1),
    ),
    kRuns,
  );
  const udpR = fc.record({ srcPort: u16, dstPort: u16, payload });
  fc.assert(
    fc.property(udpR, fc.nat(9), (x, lead) => roundTrip(x, udp.bufferLen, udp.emit, udp.parse, lead)),
    kRuns,
  );
});

test('checksums of random payloads verify in whole frames, and a flipped payload bit is caught', () => {
  const spec4 = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' };
  fc.assert(
    fc.property(
      ip4,
      ip4,
      ip6,
      ip6,
      u16,
      u16,
      fc.uint8Array({ minLength: 1, maxLength: 400 }),
      fc.nat(),
      (a4, b4, a6, b6, sp, dp, data, bit) => {
        const frames = [
          [buildTcp4({ ...spec4, srcIp: a4, dstIp: b4, srcPort: sp, dstPort: dp, payload: data }), 20, 6],
          [buildUdp4({ ...spec4, srcIp: a4, dstIp: b4, srcPort: sp, dstPort: dp, payload: data }), 20, 17],
          [buildUdp6({ ...spec4, srcIp: a6, dstIp: b6, srcPort: sp, dstPort: dp, payload: data }), 40, 17],
        ] as const;
        for (const [f, ipLen, proto] of frames) {
          const l4 = 14 + ipLen;
          const len = f.length - l4;
          assert.ok(verifyL4(f, 14, l4, len, proto));
          const at = f.length - data.length + ((bit >> 3) % data.length);
          f[at]! ^= 1 << (bit & 7);
          assert.ok(!verifyL4(f, 14, l4, len, proto));
          assert.ok(fillL4Checksum(f, 14, l4, len, proto));
          assert.ok(verifyL4(f, 14, l4, len, proto));
        }
      },
    ),
    kRuns,
  );
});

/** Reference: one's complement sum as the sum of words modulo 0xffff (0 -> 0xffff unless all zero). */
function naiveSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s = (s + ((b[i]! << 8) | (b[i + 1] ?? 0))) % 0xffff;
  return s === 0 && b.some((x) => x !== 0) ? 0xffff : s;
}

test('onesSum matches a naive reference, chains at even splits, and update16 matches a recompute', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (b, k) => {
      assert.equal(onesSum(b, 0, b.length), naiveSum(b));
      const split = (k % (b.length + 1)) & ~1;
      assert.equal(onesSum(b, split, b.length - split, onesSum(b, 0, split)), onesSum(b, 0, b.length));
      const c = finish(onesSum(b, 0, b.length));
      const withSum = new Uint8Array(b.length + (b.length & 1) + 2);
      withSum.set(b);
      withSum[withSum.length - 2] = c >> 8;
      withSum[withSum.length - 1] = c & 0xff;
      assert.ok(verify(withSum, 0, withSum.length));
    }),
    kRuns,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), fc.nat(), u16, (b0, k, w) => {
      const b = b0.length & 1 ? b0.subarray(1) : b0;
      const i = (k % (b.length / 2)) * 2;
      const before = finish(onesSum(b, 0, b.length));
      const old = (b[i]! << 8) | b[i + 1]!;
      b[i] = w >> 8;
      b[i + 1] = w & 0xff;
      const after = finish(onesSum(b, 0, b.length));
      // RFC 1624's equation can yield 0x0000 where a recompute yields 0xffff (both are 'zero' sums).
      assert.equal(fold(update16(before, old, w)) % 0xffff, after % 0xffff);
    }),
    kRuns,
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (x) => {
      assert.equal(fold(x), ((x - 1) % 0xffff) + 1);
    }),
    kRuns,
  );
});

test('address text: IPv6 output equals the WHATWG URL serializer; IPv4 and MAC round trip', () => {
  fc.assert(
    fc.property(fc.ipV6(), (t) => {
      const ours = formatIpv6(parseIpv6(t));
      assert.equal(`[${ours}]`, new URL(`http://[${t}]/`).hostname);
      assert.deepEqual(parseIpv6(ours), parseIpv6(t));
    }),
    kRuns,
  );
  fc.assert(
    fc.property(fc.ipV4(), (t) => assert.equal(formatIpv4(parseIpv4(t)), t)),
    kRuns,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => assert.deepEqual(parseMac(formatMac(b)), b)),
    kRuns,
  );
});
