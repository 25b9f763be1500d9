/**
 * Coalescing (RSC) tests: segments built independently by packet/frame.ts merge into one GSO frame that
 * equals, byte for byte, the frame a TAP would hand over for the whole payload (partial checksum, GSO
 * metadata); and each stop condition of docs/offloads.md starts a new run (one test per condition).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kGsoNone, kGsoTcp4, kGsoTcp6, kOffDataValid, kOffNeedsCsum, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { ipv4HeaderChecksum } from '../packet/checksum.js';
import { completeChecksum, verifyL4Checksum } from './checksum.js';
import { CoalesceResult, coalesceTcp } from './coalesce.js';
import { build, kTcpAck, kTcpPsh, loadPartial, offsets, payloadOf, timestampOption, type Spec } from './fixtures.js';

const pool = new PacketPool({ slots: 512, slotSize: 65792 }); // 64 KiB + 256: a whole GSO frame fits
const kMss = 1448; // Linux's MSS on a 1500-byte Ethernet link with timestamps
const res = new CoalesceResult(256);
const kNoLimit = 1 << 20; // maxBytes that never binds: the slot and the 65535 IP length do

type Seg = Omit<Spec, 'payload'> & {
  len?: number;
  mutate?: (f: Uint8Array) => void;
  oflags?: number;
  gsoType?: number;
  refs?: number;
};

/** Load segment k of a flow (seq advancing by the previous lengths); per-segment overrides in `segs`. */
function loadFlow(
  segs: Seg[],
  common: Omit<Spec, 'payload'> = {},
): { slots: Int32Array; frames: Uint8Array[]; payloads: Uint8Array[] } {
  const slots = new Int32Array(segs.length);
  const frames: Uint8Array[] = [];
  const payloads: Uint8Array[] = [];
  let seq = 100000;
  segs.forEach((seg, k) => {
    const payload = payloadOf(seg.len ?? kMss, k * 13);
    const f = build({ ...common, seq, ident: 7 + k, flags: kTcpAck, ...seg, payload });
    seg.mutate?.(f);
    const s = pool.load(f);
    pool.meta32[(s << Meta.shift) + Meta.oflags] = seg.oflags ?? 0;
    pool.meta32[(s << Meta.shift) + Meta.gsoType] = seg.gsoType ?? kGsoNone;
    pool.meta32[(s << Meta.shift) + Meta.refs] = seg.refs ?? 0;
    slots[k] = s;
    frames.push(f);
    payloads.push(payload);
    seq += payload.length;
  });
  return { slots, frames, payloads };
}

/** Coalesce and return the run sizes: e.g. [2, 1] = first output holds 2 segments, second 1. */
function runs(slots: Int32Array, frames: Uint8Array[], maxBytes = kNoLimit): number[] {
  const inSlots = Array.from(slots);
  const n = coalesceTcp(pool, slots, slots.length, maxBytes, res);
  assert.equal(res.count, n);
  assert.equal(n + res.freedCount, inSlots.length, 'every slot either kept or freed');
  const sizes: number[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    const at = inSlots.indexOf(s, next);
    assert.ok(at >= next, 'kept slots stay in order');
    let k = at + 1;
    while (k < inSlots.length && res.freed.subarray(0, res.freedCount).includes(inSlots[k]!)) k++;
    sizes.push(k - at);
    // The kept frame's payload length is the sum of its members'.
    const { l4 } = offsets(frames[at]!);
    const hdr = l4 + (pool.bytes[pool.frameStart(s) + l4 + 12]! >> 4) * 4;
    let want = 0;
    for (let j = at; j < k; j++) want += frames[j]!.length - hdr;
    if (k - at > 1) assert.equal(pool.meta32[(s << Meta.shift) + Meta.len], hdr + want, 'merged length');
    next = k;
  }
  return sizes;
}

function freeAll(slots: Int32Array): void {
  for (let i = 0; i < res.count; i++) pool.free(slots[i]!);
  for (let i = 0; i < res.freedCount; i++) pool.free(res.freed[i]!);
}

for (const [name, common] of [
  ['IPv4', {}],
  ['IPv4 tagged with timestamps', { vlan: { vid: 10, pcp: 5 }, tcpOptions: timestampOption(1, 2) }],
  ['IPv6', { v6: true }],
  ['IPv6 tagged with timestamps', { v6: true, vlan: { vid: 100 }, tcpOptions: timestampOption(3, 4) }],
] as const) {
  test(`${name}: 4 segments (last short) merge into the GSO frame a TAP would hand over`, () => {
    const before = pool.available;
    const segs: Seg[] = [{}, {}, { flags: kTcpAck | kTcpPsh }, { len: 100 }];
    const { slots, frames, payloads } = loadFlow(segs, { ...common, ttl: 64 });
    const merged = Array.from(slots.subarray(1));
    const n = coalesceTcp(pool, slots, 4, kNoLimit, res);
    assert.equal(n, 1);
    assert.deepEqual(Array.from(res.freed.subarray(0, res.freedCount)), merged, 'merged-away slots returned in order');
    const s = slots[0]!;
    // The expected GSO frame: the whole payload under the first segment's headers, PSH ORed in.
    const whole = new Uint8Array(payloads.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of payloads) {
      whole.set(p, o);
      o += p.length;
    }
    const want = build({ ...common, ttl: 64, seq: 100000, ident: 7, flags: kTcpAck | kTcpPsh, payload: whole });
    const ref = loadPartial(pool, want, common.v6 ? kGsoTcp6 : kGsoTcp4, kMss);
    assert.deepEqual(pool.copyOut(s), pool.copyOut(ref), 'bytes equal the TAP-style GSO frame');
    assert.deepEqual(
      [
        pool.meta32[(s << Meta.shift) + Meta.oflags],
        pool.meta32[(s << Meta.shift) + Meta.gsoType],
        pool.meta16[(s << Meta16.shift) + Meta16.gsoSize],
        pool.meta32[(s << Meta.shift) + Meta.csumStart],
        pool.meta16[(s << Meta16.shift) + Meta16.csumOffset],
      ],
      [
        pool.meta32[(ref << Meta.shift) + Meta.oflags],
        pool.meta32[(ref << Meta.shift) + Meta.gsoType],
        kMss,
        pool.meta32[(ref << Meta.shift) + Meta.csumStart],
        16,
      ],
    );
    assert.equal(completeChecksum(pool, s), 0);
    assert.deepEqual(pool.copyOut(s), want, 'completing the partial checksum gives the software-built frame');
    assert.ok(verifyL4Checksum(pool, s));
    pool.free(ref);
    freeAll(slots);
    assert.equal(pool.available, before);
    assert.equal(frames.length, 4);
  });
}

test('first IP ID kept, minimum TTL, PSH = OR of all, DATA_VALID and NEEDS_CSUM inputs accepted', () => {
  const segs: Seg[] = [
    { ttl: 64 },
    { ttl: 30, flags: kTcpAck | kTcpPsh },
    { ttl: 50, oflags: kOffDataValid },
    { ttl: 64 },
  ];
  const { slots, frames } = loadFlow(segs);
  // Segment 3 arrives with a partial checksum (a local sender): trusted.
  const s3 = slots[3]!;
  pool.view.setUint16(pool.frameStart(s3) + 34 + 16, 0x1111);
  pool.meta32[(s3 << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
  pool.meta32[(s3 << Meta.shift) + Meta.csumStart] = 34;
  pool.meta16[(s3 << Meta16.shift) + Meta16.csumOffset] = 16;
  assert.deepEqual(runs(slots, frames), [4]);
  const f = pool.frameStart(slots[0]!);
  assert.equal(pool.view.getUint16(f + 14 + 4), 7, 'first IP ID');
  assert.equal(pool.bytes[f + 14 + 8], 30, 'minimum TTL');
  assert.equal(pool.bytes[f + 34 + 13], kTcpAck | kTcpPsh, 'PSH ORed');
  assert.equal(
    ipv4HeaderChecksum(pool.bytes, f + 14),
    pool.view.getUint16(f + 14 + 10),
    'IPv4 header checksum recomputed',
  );
  assert.equal(pool.view.getUint16(f + 14 + 2), 20 + 20 + 4 * kMss, 'total length');
  assert.equal(completeChecksum(pool, slots[0]!), 0);
  assert.ok(verifyL4Checksum(pool, slots[0]!));
  freeAll(slots);
});

test('two flows back to back, and interleaved flows (only adjacent segments merge)', () => {
  const b = { srcPort: 40001 };
  let { slots, frames } = loadFlow([
    {},
    {},
    { ...b, seq: 9000 },
    { ...b, seq: 9000 + kMss },
    { ...b, seq: 9000 + 2 * kMss },
  ]);
  assert.deepEqual(runs(slots, frames), [2, 3]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { ...b, seq: 9000 }, { seq: 100000 + kMss }, { ...b, seq: 9000 + kMss }]));
  assert.deepEqual(runs(slots, frames), [1, 1, 1, 1]);
  freeAll(slots);
});

// --- stop conditions: one test each ---

test('stop: bad checksum on an incoming segment (it passes through alone, unmerged)', () => {
  const { slots, frames } = loadFlow([{}, { mutate: (f) => (f[f.length - 1]! ^= 1) }, {}, {}]);
  assert.deepEqual(runs(slots, frames), [1, 1, 2]);
  freeAll(slots);
});

test('stop: bad checksum on the run head (the head is left alone, the next segment starts a run)', () => {
  const { slots, frames } = loadFlow([{ mutate: (f) => (f[f.length - 1]! ^= 1) }, {}, {}]);
  assert.deepEqual(runs(slots, frames), [1, 2]);
  freeAll(slots);
});

test('a bad checksum marked DATA_VALID is trusted (the sender vouched for it)', () => {
  const { slots, frames } = loadFlow([{}, { mutate: (f) => (f[f.length - 1]! ^= 1), oflags: kOffDataValid }, {}]);
  assert.deepEqual(runs(slots, frames), [3]);
  freeAll(slots);
});

for (const [name, flags] of [
  ['SYN', 0x02],
  ['FIN', 0x01],
  ['RST', 0x04],
  ['URG', 0x20],
  ['ECE', 0x40],
  ['CWR', 0x80],
  ['no ACK', 0],
] as const) {
  test(`stop: TCP flags other than ACK/PSH (${name})`, () => {
    const { slots, frames } = loadFlow([{}, { flags: name === 'no ACK' ? 0 : kTcpAck | flags }, {}, {}]);
    assert.deepEqual(runs(slots, frames), [1, 1, 2]);
    freeAll(slots);
  });
}

test('stop: TCP options other than timestamp (MSS, SACK permitted, window scale)', () => {
  for (const opt of [
    [2, 4, 0x05, 0xb4], // MSS 1460
    [1, 1, 4, 2], // NOP NOP SACK-permitted
    [1, 3, 3, 7], // NOP window scale 7
  ]) {
    const o = new Uint8Array(opt);
    const { slots, frames } = loadFlow([{ tcpOptions: o }, { tcpOptions: o }, {}], {});
    assert.deepEqual(runs(slots, frames), [1, 1, 1], `option ${opt}`);
    freeAll(slots);
  }
});

test('stop: timestamp changed (option bytes must be identical); equal timestamps merge', () => {
  const t1 = timestampOption(1000, 77);
  const t2 = timestampOption(1001, 77);
  let { slots, frames } = loadFlow([{ tcpOptions: t1 }, { tcpOptions: t1 }, { tcpOptions: t2 }, { tcpOptions: t2 }]);
  assert.deepEqual(runs(slots, frames), [2, 2]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{ tcpOptions: t1 }, {}]));
  assert.deepEqual(runs(slots, frames), [1, 1], 'timestamp present then absent');
  freeAll(slots);
});

test('stop: IPv4 options', () => {
  const ra = new Uint8Array([0x94, 0x04, 0, 0]); // router alert
  const { slots, frames } = loadFlow([{}, { ipOptions: ra }, { ipOptions: ra }, {}]);
  assert.deepEqual(runs(slots, frames), [1, 1, 1, 1]);
  freeAll(slots);
});

test('stop: IPv6 extension header', () => {
  const { slots } = loadFlow([{}, { hopByHop: true }, { hopByHop: true }, {}], { v6: true });
  assert.equal(coalesceTcp(pool, slots, 4, kNoLimit, res), 4);
  assert.equal(res.freedCount, 0);
  freeAll(slots);
});

test('stop: IPv4 fragment (MF set)', () => {
  const mf = (f: Uint8Array) => {
    f[14 + 6] = 0x20; // MF, offset 0: a first fragment
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    const c = ipv4HeaderChecksum(f, 14);
    f[14 + 10] = c >> 8;
    f[14 + 11] = c & 0xff;
  };
  const { slots, frames } = loadFlow([{}, { mutate: mf }, {}, {}]);
  assert.deepEqual(runs(slots, frames), [1, 1, 2]);
  freeAll(slots);
});

test('stop: ECN change (IPv4 ECN bits)', () => {
  const ce = (f: Uint8Array) => {
    f[14 + 1] = f[14 + 1]! | 3; // ECN CE
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    const c = ipv4HeaderChecksum(f, 14);
    f[14 + 10] = c >> 8;
    f[14 + 11] = c & 0xff;
  };
  const { slots, frames } = loadFlow([{}, {}, { mutate: ce }, {}]);
  assert.deepEqual(runs(slots, frames), [2, 1, 1]);
  freeAll(slots);
});

test('stop: DSCP change (IPv4) and traffic class change (IPv6)', () => {
  let { slots, frames } = loadFlow([{}, {}, { dscp: 46 }, { dscp: 46 }]);
  assert.deepEqual(runs(slots, frames), [2, 2]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { trafficClass: 0x01 }, { trafficClass: 0x01 }], { v6: true }));
  assert.deepEqual(runs(slots, frames), [1, 2]);
  freeAll(slots);
});

test('stop: sequence gap (and a retransmission)', () => {
  let { slots, frames } = loadFlow([{}, {}, { seq: 100000 + 3 * kMss }, { seq: 100000 + 4 * kMss }]);
  assert.deepEqual(runs(slots, frames), [2, 2], 'segment 2 skipped a segment: new run, 3 follows it');
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { seq: 100000 }]));
  assert.deepEqual(runs(slots, frames), [1, 1], 'same seq twice');
  freeAll(slots);
});

test('stop: size limit maxBytes (whole frame) and the slot size', () => {
  const { slots, frames } = loadFlow([{}, {}, {}, {}]);
  const seg = frames[0]!.length;
  assert.deepEqual(runs(slots, frames, seg + kMss), [2, 2], 'room for exactly two');
  freeAll(slots);
});

test('stop: 65535 bytes of IP length', () => {
  const segs: Seg[] = Array.from({ length: 50 }, () => ({}));
  const { slots, frames } = loadFlow(segs);
  // 20 IP + 20 TCP + 45 * 1448 = 65200 <= 65535 < 65200 + 1448
  assert.deepEqual(runs(slots, frames), [45, 5]);
  assert.equal(pool.view.getUint16(pool.frameStart(slots[0]!) + 14 + 2), 65200);
  freeAll(slots);
});

test('stop: an input segment that is itself GSO', () => {
  const { slots, frames } = loadFlow([{}, { gsoType: kGsoTcp4 }, {}, {}]);
  assert.deepEqual(runs(slots, frames), [1, 1, 2]);
  freeAll(slots);
});

test('stop: different VLAN or L2 header (same addresses and ports)', () => {
  let { slots, frames } = loadFlow([
    { vlan: { vid: 10 } },
    { vlan: { vid: 10 } },
    { vlan: { vid: 11 } },
    { vlan: { vid: 11 } },
  ]);
  assert.deepEqual(runs(slots, frames), [2, 2]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { vlan: { vid: 10 } }]));
  assert.deepEqual(runs(slots, frames), [1, 1], 'untagged then tagged');
  freeAll(slots);
});

test('stop: payload size: a larger segment than the first, or anything after a short one', () => {
  let { slots, frames } = loadFlow([{ len: 1000 }, { len: 1448 }, {}]);
  assert.deepEqual(runs(slots, frames), [1, 2]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { len: 500 }, { len: 500 }]));
  assert.deepEqual(runs(slots, frames), [2, 1]);
  freeAll(slots);
});

test('stop: ACK number or window change; a pure ACK (no payload)', () => {
  let { slots, frames } = loadFlow([{}, { ack: 5001 }, { ack: 5001 }]);
  assert.deepEqual(runs(slots, frames), [1, 2]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, {}, { window: 999 }]));
  assert.deepEqual(runs(slots, frames), [2, 1]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{}, { len: 0 }, { seq: 100000 + kMss }]));
  assert.deepEqual(runs(slots, frames), [1, 1, 1]);
  freeAll(slots);
});

test('stop: Ethernet padding, and a head still shared with another egress queue (refs > 1)', () => {
  let { slots, frames } = loadFlow([{ len: 4 }, { len: 4 }]);
  // 54 + 4 = 58 bytes: pad to 60 as a NIC would, IP length unchanged.
  for (const s of slots) pool.meta32[(s << Meta.shift) + Meta.len] = 60;
  assert.deepEqual(runs(slots, frames), [1, 1]);
  freeAll(slots);
  ({ slots, frames } = loadFlow([{ refs: 2 }, {}, {}]));
  assert.deepEqual(runs(slots, frames), [1, 2]);
  freeAll(slots);
});

test('freed array full: merging stops instead of overflowing', () => {
  const small = new CoalesceResult(1);
  const { slots } = loadFlow([{}, {}, {}, {}]);
  assert.equal(coalesceTcp(pool, slots, 4, kNoLimit, small), 3);
  assert.equal(small.freedCount, 1);
  for (let i = 0; i < small.count; i++) pool.free(slots[i]!);
  pool.free(small.freed[0]!);
});
