/**
 * vnet-hdr.ts: golden virtio_net_hdr bytes both ways (the header a Linux TAP hands over for a TCPv4 TSO
 * frame with timestamps, TCPv6, USO, a plain partial checksum, DATA_VALID, nothing), then every refusal
 * with its reason and the slot's metadata left exactly as it was, and a fast-check property that pins
 * the accept/refuse rule (virtio spec 1.1 section 5.1.6 plus what segment.ts can do) over random headers.
 *
 * The golden bytes are written out by hand from the virtio layout (little-endian u16s), not produced by
 * the code under test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  kGsoEcn,
  kGsoNone,
  kGsoTcp4,
  kGsoTcp6,
  kGsoUdpL4,
  kOffDataValid,
  kOffNeedsCsum,
  PacketPool,
} from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { build, loadPartial, payloadOf, timestampOption } from '../offload/fixtures.js';
import { kVnetHdrLen, readVnetHdr, writeVnetHdr } from './vnet-hdr.js';

const pool = new PacketPool({ slots: 64, slotSize: 65792 }); // 64 KiB + 256: a whole GSO frame fits
const kMss4 = 1448; // 1500 - 20 IPv4 - 20 TCP - 12 timestamp option: Linux's MSS on Ethernet
const kMss6 = 1428; // 1500 - 40 IPv6 - 20 TCP - 12 timestamp option
const ts = timestampOption(0x11223344, 0x55667788);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Where tap.ts reads/writes the header: just in front of the frame, in the headroom. */
const hdrAt = (s: number) => pool.slotBase(s) + pool.headroom - kVnetHdrLen;
const hdrBytes = (s: number) => pool.bytes.slice(hdrAt(s), hdrAt(s) + kVnetHdrLen);
type OffloadMeta = [oflags: number, gsoType: number, gsoSize: number, csumStart: number, csumOffset: number];
const meta = (s: number): OffloadMeta => [
  pool.meta32[(s << Meta.shift) + Meta.oflags]!,
  pool.meta32[(s << Meta.shift) + Meta.gsoType]!,
  pool.meta16[(s << Meta16.shift) + Meta16.gsoSize]!,
  pool.meta32[(s << Meta.shift) + Meta.csumStart]!,
  pool.meta16[(s << Meta16.shift) + Meta16.csumOffset]!,
];
function setMeta(s: number, m: OffloadMeta): void {
  [
    pool.meta32[(s << Meta.shift) + Meta.oflags],
    pool.meta32[(s << Meta.shift) + Meta.gsoType],
    pool.meta16[(s << Meta16.shift) + Meta16.gsoSize],
    pool.meta32[(s << Meta.shift) + Meta.csumStart],
    pool.meta16[(s << Meta16.shift) + Meta16.csumOffset],
  ] = m;
}

/** Golden header, fields in virtio order; u16s little-endian. */
function golden(
  flags: number,
  gsoType: number,
  hdrLen: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
): string {
  const b = Buffer.alloc(kVnetHdrLen);
  b[0] = flags;
  b[1] = gsoType;
  b.writeUInt16LE(hdrLen, 2);
  b.writeUInt16LE(gsoSize, 4);
  b.writeUInt16LE(csumStart, 6);
  b.writeUInt16LE(csumOffset, 8);
  return b.toString('hex'); // num_buffers (10..11) stays 0
}

test('golden helper: the TCPv4 TSO header spelled out byte by byte', () => {
  // flags NEEDS_CSUM, gso TCPV4, hdr_len 66 (0x42), gso_size 1448 (0x05a8), csum_start 34 (0x22), csum_offset 16
  assert.equal(golden(1, 1, 66, 1448, 34, 16), '01' + '01' + '4200' + 'a805' + '2200' + '1000' + '0000');
});

interface Case {
  name: string;
  frame: () => Uint8Array;
  load: (f: Uint8Array) => number;
  hdr: string;
  meta: OffloadMeta;
}

const cases: Case[] = [
  {
    // 14 Ethernet + 20 IPv4 = 34 = csum_start; 34 + 20 TCP + 12 timestamps = 66 = hdr_len
    name: 'TCPv4 TSO with timestamps (what Linux sends with TUNSETOFFLOAD)',
    frame: () => build({ tcpOptions: ts, payload: payloadOf(3 * kMss4 + 7) }),
    load: (f) => loadPartial(pool, f, kGsoTcp4, kMss4),
    hdr: golden(1, 1, 66, 1448, 34, 16),
    meta: [kOffNeedsCsum, kGsoTcp4, kMss4, 34, 16],
  },
  {
    // 14 + 40 IPv6 = 54 = csum_start; 54 + 32 = 86 = hdr_len; ECN bit (0x80) carried through
    name: 'TCPv6 TSO with timestamps and the ECN bit',
    frame: () => build({ v6: true, tcpOptions: ts, payload: payloadOf(2 * kMss6 + 1) }),
    load: (f) => loadPartial(pool, f, kGsoTcp6 | kGsoEcn, kMss6),
    hdr: golden(1, 0x84, 86, 1428, 54, 16),
    meta: [kOffNeedsCsum, kGsoTcp6 | kGsoEcn, kMss6, 54, 16],
  },
  {
    // tagged: 18 + 20 = 38 = csum_start; UDP checksum at offset 6; hdr_len = 38 + 8
    name: 'UDP L4 (USO), tagged',
    frame: () => build({ udp: true, vlan: { vid: 10 }, payload: payloadOf(3000) }),
    load: (f) => loadPartial(pool, f, kGsoUdpL4, 1200, true),
    hdr: golden(1, 5, 46, 1200, 38, 6),
    meta: [kOffNeedsCsum, kGsoUdpL4, 1200, 38, 6],
  },
  {
    name: 'partial checksum only (no GSO): hdr_len and gso_size 0',
    frame: () => build({ payload: payloadOf(100) }),
    load: (f) => loadPartial(pool, f, kGsoNone, 0),
    hdr: golden(1, 0, 0, 0, 34, 16),
    meta: [kOffNeedsCsum, kGsoNone, 0, 34, 16],
  },
  {
    name: 'DATA_VALID only: flags 2, everything else 0',
    frame: () => build({ payload: payloadOf(100) }),
    load: (f) => {
      const s = pool.load(f);
      setMeta(s, [kOffDataValid, kGsoNone, 0, 0, 0]);
      return s;
    },
    hdr: golden(2, 0, 0, 0, 0, 0),
    meta: [kOffDataValid, kGsoNone, 0, 0, 0],
  },
  {
    name: 'a complete frame: all twelve bytes 0',
    frame: () => build({ payload: payloadOf(100) }),
    load: (f) => pool.load(f),
    hdr: golden(0, 0, 0, 0, 0, 0),
    meta: [0, kGsoNone, 0, 0, 0],
  },
];

for (const c of cases) {
  test(`writeVnetHdr golden: ${c.name}`, () => {
    const before = pool.available;
    const s = c.load(c.frame());
    pool.bytes.fill(0xee, hdrAt(s), hdrAt(s) + kVnetHdrLen); // stale bytes: every one must be written
    writeVnetHdr(pool, s, hdrAt(s));
    assert.equal(hex(hdrBytes(s)), c.hdr);
    pool.free(s);
    assert.equal(pool.available, before);
  });

  test(`readVnetHdr golden: ${c.name}`, () => {
    const before = pool.available;
    const f = c.frame();
    const s = pool.load(f);
    setMeta(s, [0x7f, 0x7f, 0x7f, 0x7f, 0x7f]); // junk: every field must be overwritten
    pool.bytes.set(Buffer.from(c.hdr, 'hex'), hdrAt(s));
    assert.equal(readVnetHdr(pool, s, hdrAt(s), f.length), 0);
    assert.deepEqual(meta(s), c.meta);
    pool.free(s);
    assert.equal(pool.available, before);
  });
}

test('write ignores stale checksum/GSO fields when the flags say there is nothing to describe', () => {
  const s = pool.load(build({ payload: payloadOf(64) }));
  setMeta(s, [0, kGsoNone, 1448, 34, 16]); // left over from a previous life of the slot
  writeVnetHdr(pool, s, hdrAt(s));
  assert.equal(hex(hdrBytes(s)), golden(0, 0, 0, 0, 0, 0));
  pool.free(s);
});

test('read keeps NEEDS_CSUM and DATA_VALID, drops other flag bits (RSC_INFO = 4)', () => {
  const f = build({ payload: payloadOf(64) });
  const s = pool.load(f);
  pool.bytes.set(Buffer.from(golden(1 | 2 | 4, 0, 0, 0, 34, 16), 'hex'), hdrAt(s));
  assert.equal(readVnetHdr(pool, s, hdrAt(s), f.length), 0);
  assert.deepEqual(meta(s), [kOffNeedsCsum | kOffDataValid, kGsoNone, 0, 34, 16]);
  pool.free(s);
});

// ---- refusals: the reason, and the metadata exactly as it was ----

const kFrameLen = 200; // any frame: the header is checked against this length only
const sentinel: OffloadMeta = [kOffDataValid, kGsoTcp6, 999, 77, 55];

const refusals: Array<[name: string, hdr: string, want: 'bad-vnet-hdr' | 'gso-unsupported']> = [
  ['checksum field one byte past the end (190 + 9 + 2 = 201 > 200)', golden(1, 0, 0, 0, 190, 9), 'bad-vnet-hdr'],
  ['csum_start alone beyond the frame', golden(1, 0, 0, 0, 0xffff, 16), 'bad-vnet-hdr'],
  ['csum_offset beyond the frame on a GSO header', golden(1, 1, 66, 1448, 34, 0xfff0), 'bad-vnet-hdr'],
  ['UFO (gso_type 3): the switch does not fragment UDP', golden(1, 3, 42, 1472, 34, 6), 'gso-unsupported'],
  ['UFO with the ECN bit (0x83)', golden(1, 0x83, 42, 1472, 34, 6), 'gso-unsupported'],
  ['gso_type 2: not a virtio value', golden(1, 2, 66, 1448, 34, 16), 'gso-unsupported'],
  ['gso_type 6: not a virtio value', golden(1, 6, 66, 1448, 34, 16), 'gso-unsupported'],
  ['an unknown type wins over a bad checksum offset', golden(1, 3, 0, 1448, 0xffff, 0xffff), 'gso-unsupported'],
  ['TSO without NEEDS_CSUM', golden(0, 1, 66, 1448, 34, 16), 'bad-vnet-hdr'],
  ['TSO with only DATA_VALID', golden(2, 4, 86, 1428, 54, 16), 'bad-vnet-hdr'],
  ['TSO with gso_size 0', golden(1, 1, 66, 0, 34, 16), 'bad-vnet-hdr'],
  ['USO with gso_size 0', golden(1, 5, 42, 0, 34, 6), 'bad-vnet-hdr'],
];

for (const [name, hdr, want] of refusals) {
  test(`readVnetHdr refuses: ${name} -> ${want}, metadata untouched`, () => {
    const s = pool.alloc();
    pool.meta32[(s << Meta.shift) + Meta.len] = kFrameLen;
    setMeta(s, sentinel);
    pool.bytes.set(Buffer.from(hdr, 'hex'), hdrAt(s));
    assert.equal(readVnetHdr(pool, s, hdrAt(s), kFrameLen), want);
    assert.deepEqual(meta(s), sentinel);
    pool.free(s);
  });
}

test('the checksum field may end exactly at the frame end (190 + 8 + 2 = 200)', () => {
  const s = pool.alloc();
  pool.bytes.set(Buffer.from(golden(1, 0, 0, 0, 190, 8), 'hex'), hdrAt(s));
  assert.equal(readVnetHdr(pool, s, hdrAt(s), kFrameLen), 0);
  assert.deepEqual(meta(s), [kOffNeedsCsum, kGsoNone, 0, 190, 8]);
  pool.free(s);
});

test('property: any 12 header bytes are accepted exactly when the virtio rules allow, and read/write round-trips', () => {
  const known = new Set([kGsoNone, kGsoTcp4, kGsoTcp6, kGsoUdpL4]);
  const s = pool.alloc();
  fc.assert(
    fc.property(
      fc.record({
        flags: fc.integer({ min: 0, max: 255 }),
        gso: fc.oneof(fc.constantFrom(0, 1, 4, 5, 0x81, 0x84), fc.integer({ min: 0, max: 255 })),
        hdrLen: fc.integer({ min: 0, max: 0xffff }),
        gsoSize: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff })),
        csumStart: fc.integer({ min: 0, max: 300 }),
        csumOffset: fc.integer({ min: 0, max: 40 }),
        len: fc.integer({ min: 14, max: 300 }),
      }),
      (h) => {
        setMeta(s, sentinel);
        pool.bytes.set(
          Buffer.from(golden(h.flags, h.gso, h.hdrLen, h.gsoSize, h.csumStart, h.csumOffset), 'hex'),
          hdrAt(s),
        );
        const rc = readVnetHdr(pool, s, hdrAt(s), h.len);
        const needs = (h.flags & 1) !== 0;
        const isGso = (h.gso & 0x7f) !== 0;
        const want = !known.has(h.gso & 0x7f)
          ? 'gso-unsupported'
          : (needs && h.csumStart + h.csumOffset + 2 > h.len) ||
              (isGso && (h.gsoSize === 0 || !needs)) ||
              h.gso === 0x80
            ? 'bad-vnet-hdr'
            : 0;
        assert.equal(rc, want);
        if (rc !== 0) {
          assert.deepEqual(meta(s), sentinel);
          return;
        }
        assert.deepEqual(meta(s), [h.flags & 3, h.gso, h.gsoSize, h.csumStart, h.csumOffset]);
        // Emit what was read: the same fields come back (hdr_len is derived from the frame: not compared).
        writeVnetHdr(pool, s, hdrAt(s));
        const back = Buffer.from(hdrBytes(s));
        assert.equal(back[0], h.flags & 3, 'flags');
        assert.equal(back[1], h.gso, 'gso_type');
        // gso_size is emitted whenever gso_type is non-zero (a lone ECN bit, 0x80, is refused above)
        assert.equal(back.readUInt16LE(4), h.gso !== 0 ? h.gsoSize : 0, 'gso_size');
        assert.equal(back.readUInt16LE(6), needs ? h.csumStart : 0, 'csum_start');
        assert.equal(back.readUInt16LE(8), needs ? h.csumOffset : 0, 'csum_offset');
        assert.equal(back.readUInt16LE(10), 0, 'num_buffers');
      },
    ),
    { numRuns: 2000 }, // microseconds each: 2000 runs cover every gso_type byte several times over
  );
  pool.free(s);
});
