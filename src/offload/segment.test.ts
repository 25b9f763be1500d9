/**
 * Segmentation golden tests: a GSO frame of 3*MSS+100 payload bytes (MSS 1448) is segmented and every
 * segment must equal, byte for byte, the frame packet/frame.ts builds independently for that slice (its
 * own seq, IP ID, flags and checksums). Then the bad inputs: each one an error code, never a throw, and
 * pool.available unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kGsoEcn, kGsoNone, kGsoTcp4, kGsoTcp6, kGsoUdpL4, kOffNeedsCsum, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { verifyIpv4Header } from '../packet/checksum.js';
import { buildArpRequest } from '../packet/frame.js';
import { kErrGsoMalformed, kErrGsoUnsupported, kErrNoBuffer, kErrOutFull, offloadErrorName } from './errors.js';
import {
  build,
  kTcpAck,
  kTcpCwr,
  kTcpFin,
  kTcpPsh,
  loadPartial,
  offsets,
  payloadOf,
  timestampOption,
  type Spec,
} from './fixtures.js';
import { verifyL4Checksum } from './checksum.js';
import { segmentGso, segmentTcp } from './segment.js';

const pool = new PacketPool({ slots: 512, slotSize: 65792 }); // 64 KiB + 256: a whole GSO frame fits
const kMss = 1448; // 1500 MTU - 20 IPv4 - 20 TCP - 12 timestamps: what Linux uses on Ethernet
const out = new Int32Array(128);

interface Case {
  name: string;
  spec: Omit<Spec, 'payload'>;
}

const cases: Case[] = [
  { name: 'IPv4 untagged', spec: {} },
  { name: 'IPv4 tagged (VID 10, PCP 5)', spec: { vlan: { vid: 10, pcp: 5 } } },
  {
    name: 'IPv4 with options (router alert + NOPs), tagged',
    spec: { ipOptions: new Uint8Array([0x94, 0x04, 0, 0, 1, 1, 1, 0]), vlan: { vid: 3 } },
  },
  { name: 'IPv4 with TCP timestamps', spec: { tcpOptions: timestampOption(0x01020304, 0x0a0b0c0d) } },
  { name: 'IPv6 untagged', spec: { v6: true } },
  {
    name: 'IPv6 tagged with timestamps and traffic class',
    spec: { v6: true, vlan: { vid: 4094, pcp: 1 }, tcpOptions: timestampOption(7, 8), trafficClass: 0xb8 },
  },
];

for (const c of cases) {
  test(`segmentTcp golden: ${c.name}, 3*1448+100 bytes -> 4 segments equal to frame.ts builds`, () => {
    const before = pool.available;
    const total = 3 * kMss + 100;
    const payload = payloadOf(total, 5);
    const seq = 0xfffff800; // wraps past 2^32 during the frame
    const ident = 0xfffe; // wraps past 0xffff during the frame
    const flags = kTcpAck | kTcpPsh | kTcpFin | kTcpCwr;
    const gso = build({ ...c.spec, payload, seq, ident, flags });
    const s = loadPartial(pool, gso, c.spec.v6 ? kGsoTcp6 : kGsoTcp4, kMss);
    pool.meta32[(s << Meta.shift) + Meta.port] = 4;
    pool.meta32[(s << Meta.shift) + Meta.vid] = 10;
    pool.meta32[(s << Meta.shift) + Meta.pcp] = 5;
    const original = pool.copyOut(s);

    const n = segmentTcp(pool, s, kMss, out, 2);
    assert.equal(n, 4, offloadErrorName(n));
    const hdr = gso.length - total;
    for (let k = 0; k < n; k++) {
      const seg = out[2 + k]!;
      const slice = payload.subarray(k * kMss, Math.min(total, (k + 1) * kMss));
      let f = kTcpAck;
      if (k === 0) f |= kTcpCwr;
      if (k === n - 1) f |= kTcpPsh | kTcpFin;
      const want = build({
        ...c.spec,
        payload: slice,
        seq: (seq + k * kMss) >>> 0,
        ident: (ident + k) & 0xffff,
        flags: f,
      });
      assert.equal(
        pool.meta32[(seg << Meta.shift) + Meta.len],
        hdr + (k === n - 1 ? 100 : kMss),
        `segment ${k} length`,
      );
      assert.deepEqual(pool.copyOut(seg), want, `segment ${k} bytes`);
      assert.ok(verifyL4Checksum(pool, seg), `segment ${k} TCP checksum`);
      if (!c.spec.v6)
        assert.ok(
          verifyIpv4Header(pool.bytes, pool.frameStart(seg) + offsets(want).l3),
          `segment ${k} IPv4 header checksum`,
        );
      assert.deepEqual(
        [
          pool.meta32[(seg << Meta.shift) + Meta.oflags],
          pool.meta32[(seg << Meta.shift) + Meta.gsoType],
          pool.meta16[(seg << Meta16.shift) + Meta16.gsoSize],
          pool.meta32[(seg << Meta.shift) + Meta.csumStart],
          pool.meta16[(seg << Meta16.shift) + Meta16.csumOffset],
        ],
        [0, kGsoNone, 0, 0, 0],
        'segment metadata cleared',
      );
      assert.deepEqual(
        [
          pool.meta32[(seg << Meta.shift) + Meta.port],
          pool.meta32[(seg << Meta.shift) + Meta.vid],
          pool.meta32[(seg << Meta.shift) + Meta.pcp],
        ],
        [4, 10, 5],
        'port/vid/pcp copied',
      );
    }
    assert.deepEqual(pool.copyOut(s), original, 'the original is left as it was');
    assert.equal(pool.meta32[(s << Meta.shift) + Meta.gsoType], c.spec.v6 ? kGsoTcp6 : kGsoTcp4);
    for (let k = 0; k < n; k++) pool.free(out[2 + k]!);
    pool.free(s);
    assert.equal(pool.available, before);
  });
}

test('payload that fits one MSS, an exact multiple, and no payload at all', () => {
  for (const [total, want] of [
    [1000, 1],
    [kMss, 1],
    [2 * kMss, 2],
    [0, 1],
  ] as const) {
    const payload = payloadOf(total);
    const gso = build({ payload, flags: kTcpAck | kTcpPsh });
    const s = loadPartial(pool, gso, kGsoTcp4, kMss);
    const n = segmentGso(pool, s, out, 0);
    assert.equal(n, want, `${total} bytes`);
    if (n === 1) assert.deepEqual(pool.copyOut(out[0]!), gso, 'one segment: the original with its checksum completed');
    for (let k = 0; k < n; k++) {
      assert.ok(verifyL4Checksum(pool, out[k]!));
      pool.free(out[k]!);
    }
    pool.free(s);
  }
});

test('the kGsoEcn bit is accepted; CWR stays on the first segment only', () => {
  const payload = payloadOf(3000);
  const gso = build({ payload, flags: kTcpAck | kTcpCwr });
  const s = loadPartial(pool, gso, kGsoTcp4 | kGsoEcn, 1000);
  assert.equal(segmentGso(pool, s, out, 0), 3);
  const flagsAt = offsets(gso).l4 + 13;
  assert.deepEqual(
    [0, 1, 2].map((k) => pool.bytes[pool.frameStart(out[k]!) + flagsAt]),
    [kTcpAck | kTcpCwr, kTcpAck, kTcpAck],
  );
  for (let k = 0; k < 3; k++) pool.free(out[k]!);
  pool.free(s);
});

test('segmentUdpL4 golden: each segment a full UDP datagram equal to frame.ts builds, IDs incrementing', () => {
  for (const v6 of [false, true]) {
    const before = pool.available;
    const mss = 1400;
    const total = 2 * mss + 1;
    const payload = payloadOf(total, 11);
    const spec = { udp: true, v6, vlan: v6 ? { vid: 20 } : undefined, ident: 0x1234 };
    const gso = build({ ...spec, payload });
    const s = loadPartial(pool, gso, kGsoUdpL4, mss, true);
    const n = segmentGso(pool, s, out, 0);
    assert.equal(n, 3);
    for (let k = 0; k < n; k++) {
      const want = build({
        ...spec,
        ident: 0x1234 + k,
        payload: payload.subarray(k * mss, Math.min(total, (k + 1) * mss)),
      });
      assert.deepEqual(pool.copyOut(out[k]!), want, `UDP segment ${k}`);
      assert.ok(verifyL4Checksum(pool, out[k]!));
      pool.free(out[k]!);
    }
    pool.free(s);
    assert.equal(pool.available, before);
  }
});

/** Run `mutate` on a freshly loaded GSO frame and expect `code`, no throw, no slot leaked. */
function expectError(
  name: string,
  code: number,
  mutate: (s: number) => void,
  spec: Partial<Spec> = {},
  fn = segmentGso,
): void {
  const gso = build({ payload: payloadOf(5000), ...spec });
  const s = loadPartial(pool, gso, spec.v6 ? kGsoTcp6 : kGsoTcp4, kMss, spec.udp);
  if (spec.udp) pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoUdpL4;
  mutate(s);
  const before = pool.available;
  let rc = 0;
  assert.doesNotThrow(() => {
    rc = fn(pool, s, out, 0);
  }, name);
  assert.equal(offloadErrorName(rc), offloadErrorName(code), name);
  assert.equal(rc, code, name);
  assert.equal(pool.available, before, `${name}: no slot leaked`);
  pool.free(s);
}

test('bad input: an error code, never a throw, no slot leaked', () => {
  const base = (s: number) => pool.frameStart(s);
  const l3 = 14;
  const l4 = 34;
  expectError(
    'csumStart past the end',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.csumStart] = pool.meta32[(s << Meta.shift) + Meta.len]! + 10),
  );
  expectError(
    'csumOffset past the end',
    kErrGsoMalformed,
    (s) => (pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = pool.meta32[(s << Meta.shift) + Meta.len]!),
  );
  expectError(
    'csumOffset not the TCP checksum field',
    kErrGsoMalformed,
    (s) => (pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = 6),
  );
  expectError(
    'csumStart not the L4 header',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.csumStart] = l3),
  );
  expectError('gsoSize 0', kErrGsoMalformed, (s) => (pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = 0));
  // the slot's gsoSize is 16 bits (as in virtio_net_hdr): values it cannot hold go to segmentTcp's mss
  expectError(
    'mss negative',
    kErrGsoMalformed,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, -5, o, 0),
  );
  expectError(
    'mss above 16 bits',
    kErrGsoMalformed,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, 0x10000, o, 0),
  );
  expectError(
    'GSO type UFO (3), not supported',
    kErrGsoUnsupported,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = 3),
  );
  expectError(
    'GSO type unknown (0x42)',
    kErrGsoUnsupported,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = 0x42),
  );
  expectError(
    'GSO type none through segmentGso',
    kErrGsoUnsupported,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoNone),
  );
  expectError(
    'GSO TCPv6 on an IPv4 frame',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoTcp6),
  );
  expectError(
    'GSO TCPv4 on an IPv6 frame',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoTcp4),
    { v6: true },
  );
  expectError(
    'UDP GSO type on a TCP frame',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoUdpL4),
  );
  expectError('IPv4 total length larger than the frame', kErrGsoMalformed, (s) =>
    pool.view.setUint16(base(s) + l3 + 2, pool.meta32[(s << Meta.shift) + Meta.len]! - l3 + 1),
  );
  expectError('IPv4 total length smaller than the frame', kErrGsoMalformed, (s) =>
    pool.view.setUint16(base(s) + l3 + 2, pool.meta32[(s << Meta.shift) + Meta.len]! - l3 - 1),
  );
  expectError('IPv4 total length below the header', kErrGsoMalformed, (s) => pool.view.setUint16(base(s) + l3 + 2, 10));
  expectError('IPv4 IHL below 5', kErrGsoMalformed, (s) => (pool.bytes[base(s) + l3] = 0x44));
  expectError(
    'IPv6 payload length disagrees',
    kErrGsoMalformed,
    (s) => pool.view.setUint16(base(s) + l3 + 4, pool.meta32[(s << Meta.shift) + Meta.len]! - l3 - 40 - 1),
    { v6: true },
  );
  expectError(
    'IPv6 payload length past the frame',
    kErrGsoMalformed,
    (s) => pool.view.setUint16(base(s) + l3 + 4, 0xffff),
    { v6: true },
  );
  expectError('TCP data offset past the frame', kErrGsoMalformed, (s) => {
    pool.meta32[(s << Meta.shift) + Meta.len] = l4 + 30; // 30 bytes of TCP: lengths agree...
    pool.view.setUint16(base(s) + l3 + 2, l4 + 30 - l3);
    pool.bytes[base(s) + l4 + 12] = 0xf0; // ...but the header claims 60
  });
  expectError('TCP data offset below 5', kErrGsoMalformed, (s) => (pool.bytes[base(s) + l4 + 12] = 0x40));
  expectError(
    'frame shorter than an Ethernet header',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.len] = 10),
  );
  expectError(
    'tagged frame cut inside the tag',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.len] = 16),
    { vlan: { vid: 5 } },
  );
  expectError(
    'frame cut inside the IP header',
    kErrGsoMalformed,
    (s) => (pool.meta32[(s << Meta.shift) + Meta.len] = 30),
  );
  expectError('IPv4 fragment (MF)', kErrGsoMalformed, (s) => (pool.bytes[base(s) + l3 + 6] = 0x20));
  expectError('IPv4 later fragment', kErrGsoMalformed, (s) => (pool.bytes[base(s) + l3 + 7] = 0x10));
  expectError('IPv6 hop-by-hop extension header (refused: not walked)', kErrGsoUnsupported, () => {}, {
    v6: true,
    hopByHop: true,
  });
  expectError('not TCP/UDP (GRE)', kErrGsoUnsupported, (s) => (pool.bytes[base(s) + l3 + 9] = 47));
  expectError('QinQ outer tag', kErrGsoUnsupported, (s) => pool.view.setUint16(base(s) + 12, 0x88a8));
  expectError('UDP length disagrees', kErrGsoMalformed, (s) => pool.view.setUint16(base(s) + l4 + 4, 100), {
    udp: true,
  });
  expectError(
    'output array too small',
    kErrOutFull,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, 30, o, 0),
  ); // 167 segments, room for 128
  expectError(
    'output start past the array',
    kErrOutFull,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, kMss, o, o.length - 2),
  );
  expectError(
    'mss NaN',
    kErrGsoMalformed,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, NaN, o, 0),
  );
  expectError(
    'mss fractional',
    kErrGsoMalformed,
    () => {},
    {},
    (p, s, o) => segmentTcp(p, s, 1000.5, o, 0),
  );

  const arp = pool.load(buildArpRequest({ srcMac: '52:54:00:12:34:56', srcIp: '10.0.0.1', targetIp: '10.0.0.2' }));
  pool.meta32[(arp << Meta.shift) + Meta.gsoType] = kGsoTcp4;
  pool.meta16[(arp << Meta16.shift) + Meta16.gsoSize] = kMss;
  assert.equal(segmentGso(pool, arp, out, 0), kErrGsoUnsupported, 'ARP');
  pool.free(arp);
});

test('no-buffer: pool too empty up front, and running out midway returns the slots already taken', () => {
  const gso = build({ payload: payloadOf(5000) }); // 4 segments at MSS 1448
  const s = loadPartial(pool, gso, kGsoTcp4, kMss);
  const hold: number[] = [];
  while (pool.available > 3) hold.push(pool.alloc());
  assert.equal(segmentGso(pool, s, out, 0), kErrNoBuffer);
  assert.equal(pool.available, 3);
  for (const h of hold) pool.free(h);

  // Another writer empties the pool under us: alloc fails on the third call.
  const before = pool.available;
  let calls = 0;
  const realAlloc = pool.alloc;
  pool.alloc = function (this: PacketPool) {
    return ++calls > 2 ? -1 : realAlloc.call(this);
  };
  try {
    assert.equal(segmentGso(pool, s, out, 0), kErrNoBuffer);
  } finally {
    pool.alloc = realAlloc;
  }
  assert.equal(pool.available, before, 'the two slots taken were returned');
  pool.free(s);
});

test('NEEDS_CSUM not set: the segments still carry full checksums (the partial field is never trusted)', () => {
  const payload = payloadOf(3000);
  const gso = build({ payload, v6: true });
  const s = loadPartial(pool, gso, kGsoTcp6, 1000);
  pool.meta32[(s << Meta.shift) + Meta.oflags] = 0;
  pool.view.setUint16(pool.frameStart(s) + offsets(gso).l4 + 16, 0xdead); // garbage in the field
  assert.equal(segmentGso(pool, s, out, 0), 3);
  for (let k = 0; k < 3; k++) {
    assert.ok(verifyL4Checksum(pool, out[k]!));
    pool.free(out[k]!);
  }
  assert.equal(pool.meta32[(s << Meta.shift) + Meta.oflags], 0);
  assert.equal(kOffNeedsCsum & pool.meta32[(s << Meta.shift) + Meta.oflags]!, 0);
  pool.free(s);
});

test('a segment that would not fit a fresh slot is refused (frame grown into its headroom)', () => {
  const small = new PacketPool({ slots: 64, slotSize: 2048 }); // maxFrame 1920
  const f = build({ payload: payloadOf(1924 - 54), vlan: undefined }); // 4 bytes more than maxFrame
  const s = small.alloc();
  small.meta32[(s << Meta.shift) + Meta.off] = 124; // as if a 4-byte tag had been pushed into the headroom
  small.bytes.set(f, small.frameStart(s));
  small.meta32[(s << Meta.shift) + Meta.len] = f.length;
  const before = small.available;
  assert.equal(segmentTcp(small, s, 9000, out, 0), kErrGsoMalformed);
  assert.equal(small.available, before);
  assert.equal(segmentTcp(small, s, 1000, out, 0), 2, 'a smaller MSS fits');
  assert.ok(verifyL4Checksum(small, out[0]!) && verifyL4Checksum(small, out[1]!));
});
