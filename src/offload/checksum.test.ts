/**
 * Checksum completion: a frame built by packet/frame.ts (full checksum, the reference) is turned into
 * what Linux hands over (checksum field = folded pseudo-header sum, NEEDS_CSUM), completed, and must come
 * back byte-identical. Plus the captured partial frames from packet/golden.ts (tshark-verified values),
 * UDP's 0 -> 0xffff rule, and bad offsets (an error code, nothing written, no throw).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kGsoNone, kOffNeedsCsum, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { onesSum, pseudoSumAt } from '../packet/checksum.js';
import { fromHex } from '../packet/frame.js';
import * as g from '../packet/golden.js';
import { completeChecksum, verifyL4Checksum } from './checksum.js';
import { kErrCsumBadOffset } from './errors.js';
import { build, loadPartial, offsets, payloadOf, type Spec } from './fixtures.js';

const pool = new PacketPool({ slots: 512, slotSize: 65792 }); // 64 KiB + 256: a whole GSO frame fits

test('completing a partial checksum reproduces the software-built frame: TCP/UDP, v4/v6, tagged or not', () => {
  const specs: Spec[] = [
    { payload: payloadOf(1448) },
    { payload: payloadOf(1), vlan: { vid: 10, pcp: 5 } },
    { v6: true, payload: payloadOf(1000, 3) },
    { v6: true, vlan: { vid: 4094 }, payload: payloadOf(0) },
    { udp: true, payload: payloadOf(1472) },
    { udp: true, v6: true, vlan: { vid: 7 }, payload: payloadOf(333, 9) },
    { ipOptions: new Uint8Array([0x94, 0x04, 0x00, 0x00]), payload: payloadOf(77) }, // router alert option
  ];
  for (const spec of specs) {
    const want = build(spec);
    const s = loadPartial(pool, want, kGsoNone, 0, spec.udp);
    assert.ok(!verifyL4Checksum(pool, s), 'partial checksum does not verify yet');
    assert.equal(completeChecksum(pool, s), 0);
    assert.deepEqual(pool.copyOut(s), want);
    assert.equal(pool.meta32[(s << Meta.shift) + Meta.oflags]! & kOffNeedsCsum, 0, 'NEEDS_CSUM cleared');
    assert.ok(verifyL4Checksum(pool, s));
    pool.free(s);
  }
});

test('captured partial frames (veth offload) complete to the values tshark computed', () => {
  for (const [partial, full, udp] of [
    [g.capTcpSynPartial, g.capTcpSyn, false],
    [g.capUdpPartial, g.capUdp, true],
  ] as const) {
    const s = pool.load(fromHex(partial));
    pool.meta32[(s << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
    pool.meta32[(s << Meta.shift) + Meta.csumStart] = 34; // 14 Ethernet + 20 IPv4
    pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = udp ? 6 : 16;
    assert.equal(completeChecksum(pool, s), 0);
    assert.deepEqual(pool.copyOut(s), fromHex(full));
    pool.free(s);
  }
});

test('a computed 0 is sent as 0xffff for UDP (csumOffset 6) but stays 0 for TCP', () => {
  for (const udp of [true, false]) {
    // Pick two payload bytes so the whole sum is 0xffff, i.e. the checksum comes out 0.
    const p = payloadOf(100, 1);
    p[0] = 0;
    p[1] = 0;
    const probe = build({ udp, payload: p });
    const { l3, l4 } = offsets(probe);
    const csumAt = l4 + (udp ? 6 : 16);
    probe[csumAt] = 0;
    probe[csumAt + 1] = 0;
    const sum = onesSum(probe, l4, probe.length - l4, pseudoSumAt(probe, l3, udp ? 17 : 6, probe.length - l4));
    const fix = 0xffff - sum;
    p[0] = fix >> 8;
    p[1] = fix & 0xff;
    const want = build({ udp, payload: p });
    assert.equal((want[csumAt]! << 8) | want[csumAt + 1]!, udp ? 0xffff : 0, 'the reference builder agrees');
    const s = loadPartial(pool, want, kGsoNone, 0, udp);
    assert.equal(completeChecksum(pool, s), 0);
    assert.deepEqual(pool.copyOut(s), want);
    assert.ok(verifyL4Checksum(pool, s));
    pool.free(s);
  }
});

test('no NEEDS_CSUM: nothing to do, nothing written', () => {
  const f = build({ payload: payloadOf(10) });
  const s = pool.load(f);
  f[50] ^= 0xff; // what the pool holds is unchanged either way
  pool.view.setUint16(pool.frameStart(s) + 50, 0x1234);
  assert.equal(completeChecksum(pool, s), 0);
  assert.equal(pool.view.getUint16(pool.frameStart(s) + 50), 0x1234);
  pool.free(s);
});

test('bad offsets: csum-bad-offset, nothing written, flag kept, no throw, no slot leaked', () => {
  const before = pool.available;
  const f = build({ payload: payloadOf(20) });
  const cases: [number, number][] = [
    [f.length, 0], // start at the end
    [f.length + 100, 16], // start past the end
    [34, f.length], // offset past the end
    [f.length - 1, 0], // the 2-byte field would straddle the end
    [-2, 16], // negative start (a garbage 16-bit field read as signed elsewhere)
    [34, -1],
  ];
  for (const [start, offset] of cases) {
    const s = pool.load(f);
    pool.meta32[(s << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
    pool.meta32[(s << Meta.shift) + Meta.csumStart] = start;
    pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = offset;
    assert.equal(completeChecksum(pool, s), kErrCsumBadOffset, `start ${start} offset ${offset}`);
    assert.deepEqual(pool.copyOut(s), f);
    assert.equal(pool.meta32[(s << Meta.shift) + Meta.oflags], kOffNeedsCsum);
    pool.free(s);
  }
  assert.equal(pool.available, before);
});

test('verifyL4Checksum: good frames pass, a flipped payload bit or a non-TCP/UDP frame fails', () => {
  for (const hex of [g.capTcpSyn, g.capTcpRst, g.capUdp]) {
    const s = pool.load(fromHex(hex));
    assert.ok(verifyL4Checksum(pool, s), hex.slice(0, 30));
    pool.bytes[pool.frameStart(s) + pool.meta32[(s << Meta.shift) + Meta.len]! - 1]! ^= 1;
    assert.ok(!verifyL4Checksum(pool, s));
    pool.free(s);
  }
  const icmp = pool.load(fromHex(g.capIcmpEcho));
  assert.ok(!verifyL4Checksum(pool, icmp), 'ICMP is not TCP/UDP');
  pool.free(icmp);
});
