/**
 * Offloads through the whole engine (docs/offloads.md): MemoryNic endpoints play offload-capable and
 * plain ports (`offloadCaps`), inject GSO frames and partial checksums with their virtio metadata, and
 * every port's delivery is compared byte for byte with frames built independently by packet/frame.ts (via
 * offload/fixtures.ts), with its delivered metadata and exact counters, and no pool slot leaked.
 *
 * Covered: software LSO toward a port without TSO and passthrough toward one with it (unicast and one
 * flood serving both); checksum completion toward a port without CSUM; 802.1Q insert/strip around
 * offloaded frames (csumStart moves with the tag); RSC toward a TSO port and `rsc: false`; metadata that
 * lies, dropped at egress and counted, the pool whole again and traffic still flowing; and a fast-check
 * property: segment in one engine, coalesce in a second, the GSO frame comes back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { declaredRows, type PortField } from '../dataplane/counters.js';
import './counter-layout.js';
import { kGsoNone, kGsoTcp4, kGsoTcp6, kGsoUdpL4, kOffNeedsCsum, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import { verifyIpv4Header, verifyL4 } from '../packet/checksum.js';
import {
  build,
  kTcpAck,
  kTcpFin,
  kTcpPsh,
  loadPartial,
  offsets,
  payloadOf,
  timestampOption,
  type Spec,
} from '../offload/fixtures.js';
import { kCapCsum, kCapTso, kCapUso } from '../ports/nic.js';
import { MemoryNic, type DeliveredMeta, type FrameMeta } from '../ports/memory.js';
import { addTag } from '../testing/frames.js';
import { Engine } from './engine.js';

/** A 64 KiB GSO frame + vnet header + tag + headroom, as pool.ts kDefaultSlotSize. */
const kSlotSize = 65792;
/** 64000 / 536 = 120 segments of one frame at most; 512 leaves room for several in flight. */
const kSlots = 512;
/** 1500 MTU - 20 IPv4 - 20 TCP - 12 timestamps: Linux's MSS on Ethernet. */
const kMss = 1448;
/** The usual jumbo ceiling: room for 9000-byte MSS segments plus headers (property test). */
const kJumboMtu = 9216;
const kAll = kCapCsum | kCapTso | kCapUso;
const ts = timestampOption(0x01020304, 0x0a0b0c0d);
/** fixtures.ts MACs: every built frame goes A -> B. */
const kMacB = [0x52, 0x54, 0x00, 0x65, 0x43, 0x21];

const untagged: VlanConfig = { mode: 'untagged' };
const access = (vid: number): VlanConfig => ({ mode: 'access', vid });
const trunk = (allowed: number[]): VlanConfig => ({ mode: 'trunk', allowed });

// ---- frames ----

const scratch = new PacketPool({ slots: 64, slotSize: kSlotSize });

/** `frame` as a TAP with IFF_VNET_HDR hands it over: L4 checksum field = pseudo-header sum, and its metadata. */
function partial(
  frame: Uint8Array,
  gsoType: number,
  gsoSize: number,
  udp = false,
): { bytes: Uint8Array; meta: DeliveredMeta } {
  const s = loadPartial(scratch, frame, gsoType, gsoSize, udp);
  const out = { bytes: scratch.copyOut(s), meta: metaOf(scratch, s) };
  scratch.free(s);
  return out;
}

function metaOf(pool: PacketPool, s: number): DeliveredMeta {
  return {
    flags: pool.meta32[(s << Meta.shift) + Meta.oflags]!,
    gsoType: pool.meta32[(s << Meta.shift) + Meta.gsoType]!,
    gsoSize: pool.meta16[(s << Meta16.shift) + Meta16.gsoSize]!,
    csumStart: pool.meta32[(s << Meta.shift) + Meta.csumStart]!,
    csumOffset: pool.meta16[(s << Meta16.shift) + Meta16.csumOffset]!,
  };
}

const none: DeliveredMeta = { flags: 0, gsoType: kGsoNone, gsoSize: 0, csumStart: 0, csumOffset: 0 };

/** The segments Linux's tcp_gso_segment makes of build(spec + payload): seq/ID advance, PSH/FIN last only. */
function segmentsOf(spec: Omit<Spec, 'payload'>, payload: Uint8Array, mss: number): Uint8Array[] {
  const seq = spec.seq ?? 1000;
  const ident = spec.ident ?? 0;
  const flags = spec.flags ?? kTcpAck;
  const n = payload.length === 0 ? 1 : Math.ceil(payload.length / mss);
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const f = k < n - 1 ? flags & ~(kTcpPsh | kTcpFin) : flags;
    out.push(
      build({
        ...spec,
        payload: payload.subarray(k * mss, (k + 1) * mss),
        seq: (seq + k * mss) >>> 0,
        ident: (ident + k) & 0xffff,
        flags: f,
      }),
    );
  }
  return out;
}

/** L4 checksum (and IPv4 header checksum) of a delivered frame verify, read independently of offload/. */
function checksumsOk(f: Uint8Array): boolean {
  const { l3, l4, v6 } = offsets(f);
  const ipEnd = v6 ? l3 + 40 + ((f[l3 + 4]! << 8) | f[l3 + 5]!) : l3 + ((f[l3 + 2]! << 8) | f[l3 + 3]!);
  const proto = v6 ? f[l3 + 6]! : f[l3 + 9]!;
  return verifyL4(f, l3, l4, ipEnd - l4, proto) && (v6 || verifyIpv4Header(f, l3));
}

/** A 60-byte frame from `src` to broadcast (local experimental EtherType 0x88b5) so the switch learns `src`. */
function hello(src: number[]): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

const sum = (fs: Uint8Array[]) => fs.reduce((a, f) => a + f.length, 0);

// ---- rig ----

const zeroFields = Object.fromEntries(declaredRows('port').map(({ name }) => [name, 0])) as Record<PortField, number>;

interface PortSpec {
  vlan?: VlanConfig;
  caps?: number;
  mtu?: number;
}

interface Rig {
  eng: Engine;
  pool: PacketPool;
  nics: MemoryNic[];
  /** What each port received since the last call (and forget it): frames and their metadata. */
  take(): Array<{ frames: Uint8Array[]; metas: DeliveredMeta[] }>;
  /** One port's whole counter block: unspecified fields 0 (linkChanges 1: the attach). */
  port(p: number, fields: Partial<Record<PortField, number>>, drops?: Record<string, number>): void;
  noLeak(): void;
}

function rig(specs: PortSpec[], opts: { rsc?: boolean; slots?: number } = {}): Rig {
  const pool = new PacketPool({ slots: opts.slots ?? kSlots, slotSize: kSlotSize });
  const eng = new Engine({ pool, rsc: opts.rsc });
  const nics = specs.map((sp, i) => {
    const p = eng.addPort(sp.vlan ?? untagged, sp.mtu ?? 1500);
    assert.equal(p, i);
    const nic = new MemoryNic({ offloadCaps: sp.caps ?? 0 });
    eng.attach(p, nic);
    return nic;
  });
  const free0 = pool.available;
  return {
    eng,
    pool,
    nics,
    take: () => nics.map((n) => ({ frames: n.received.splice(0), metas: n.receivedMeta.splice(0) })),
    port(p, fields, drops = {}) {
      assert.deepEqual(
        eng.counters.readPort(p),
        { fields: { ...zeroFields, linkChanges: 1, ...fields }, drops },
        `counters of port ${p}`,
      );
    },
    noLeak() {
      assert.equal(pool.available, free0, 'every pool slot returned');
    },
  };
}

// ---- (a) segmentation vs passthrough ----

for (const v6 of [false, true]) {
  const name = v6 ? 'TCPv6' : 'TCPv4';
  const gsoType = v6 ? kGsoTcp6 : kGsoTcp4;
  const spec = { v6, tcpOptions: ts, seq: 0xfffff000, ident: 0xfffe, flags: kTcpAck | kTcpPsh }; // seq and IP ID wrap mid-frame
  const payload = payloadOf(3 * kMss + 100, 3);
  const gso = build({ ...spec, payload });
  const hdrLen = gso.length - payload.length; // 66 over IPv4, 86 over IPv6
  // what Linux puts in gso_size with timestamps at MTU 1500: 1500 - 20 - 32 over IPv4, 1500 - 40 - 32 over IPv6
  const mss = v6 ? 1428 : kMss;

  test(`${name} GSO frame unicast to a port without caps arrives as 4 wire segments, counted there`, () => {
    const r = rig([{ caps: kCapCsum | kCapTso }, {}]);
    r.nics[1].inject(hello(kMacB));
    r.take();
    const input = partial(gso, gsoType, mss);
    assert.equal(r.nics[0].inject(input.bytes, input.meta), true);
    const got = r.take();
    const want = segmentsOf(spec, payload, mss);
    assert.equal(want.length, 4);
    assert.deepEqual(got[1]!.frames, want);
    assert.deepEqual(
      got[1]!.metas,
      want.map(() => none),
      'segments are complete frames: no offload metadata',
    );
    for (const f of got[1]!.frames) {
      assert.ok(f.length <= mss + hdrLen, `segment of ${f.length} bytes fits MSS + headers`);
      assert.ok(checksumsOk(f), 'segment checksums verify');
    }
    assert.deepEqual(got[0]!.frames, []);
    r.port(0, { rxFrames: 1, rxBytes: gso.length, txFrames: 1, txBytes: 60, txFlood: 1 });
    r.port(1, {
      rxFrames: 1,
      rxBytes: 60,
      txFrames: 4,
      txBytes: sum(want),
      txUnicast: 1,
      offSegmented: 1,
      offSegments: 4,
    });
    r.noLeak();
  });

  test(`${name} GSO frame unicast to a TSO port passes through whole with its metadata, nothing counted`, () => {
    const r = rig([{ caps: kCapCsum | kCapTso }, { caps: kAll }]);
    r.nics[1].inject(hello(kMacB));
    r.take();
    const input = partial(gso, gsoType, mss);
    r.nics[0].inject(input.bytes, input.meta);
    const got = r.take();
    assert.deepEqual(got[1]!.frames, [input.bytes]);
    assert.deepEqual(got[1]!.metas, [
      { flags: kOffNeedsCsum, gsoType, gsoSize: mss, csumStart: v6 ? 54 : 34, csumOffset: 16 },
    ]);
    r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: gso.length, txUnicast: 1 });
    r.noLeak();
  });
}

test('one flooded GSO frame: the port without caps gets segments, the TSO port the whole frame', () => {
  const r = rig([{ caps: kAll }, {}, { caps: kCapCsum | kCapTso }]);
  const spec = { tcpOptions: ts, flags: kTcpAck | kTcpPsh };
  const payload = payloadOf(5 * kMss + 1, 9);
  const input = partial(build({ ...spec, payload }), kGsoTcp4, kMss);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  const want = segmentsOf(spec, payload, kMss);
  assert.equal(want.length, 6);
  assert.deepEqual(got[1]!.frames, want);
  assert.ok(got[1]!.frames.every(checksumsOk));
  assert.deepEqual(got[2]!.frames, [input.bytes], "the shared original is untouched by the other port's segmentation");
  assert.deepEqual(got[2]!.metas, [input.meta]);
  r.port(0, { rxFrames: 1, rxBytes: input.bytes.length });
  r.port(1, { txFrames: 6, txBytes: sum(want), txFlood: 1, offSegmented: 1, offSegments: 6 });
  r.port(2, { txFrames: 1, txBytes: input.bytes.length, txFlood: 1 });
  r.noLeak();
});

test('USO (UDP GSO) to a TSO port without kCapUso is segmented; to a port with kCapUso it passes whole', () => {
  const r = rig([{ caps: kAll }, { caps: kCapCsum | kCapTso }, { caps: kAll }]);
  const payload = payloadOf(2 * 1400 + 5, 4);
  const spec = { udp: true, ident: 0x4000 };
  const input = partial(build({ ...spec, payload }), kGsoUdpL4, 1400, true);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  const want = [0, 1, 2].map((k) =>
    build({ ...spec, ident: 0x4000 + k, payload: payload.subarray(k * 1400, (k + 1) * 1400) }),
  );
  assert.deepEqual(got[1]!.frames, want);
  assert.ok(got[1]!.frames.every(checksumsOk));
  assert.deepEqual(got[2]!.frames, [input.bytes]);
  assert.deepEqual(got[2]!.metas, [input.meta]);
  r.port(1, { txFrames: 3, txBytes: sum(want), txFlood: 1, offSegmented: 1, offSegments: 3 });
  r.port(2, { txFrames: 1, txBytes: input.bytes.length, txFlood: 1 });
  r.noLeak();
});

// ---- (b) checksum completion ----

for (const [name, udp, v6] of [
  ['TCPv4', false, false],
  ['UDPv6', true, true],
] as const) {
  const frame = build({ udp, v6, payload: payloadOf(777, 2) });
  const l4 = v6 ? 54 : 34;
  const csumOffset = udp ? 6 : 16;

  test(`${name} partial checksum to a port without kCapCsum arrives completed (offCsum)`, () => {
    const r = rig([{ caps: kCapCsum }, {}]);
    r.nics[1].inject(hello(kMacB));
    r.take();
    const input = partial(frame, kGsoNone, 0, udp);
    assert.notDeepEqual(input.bytes, frame, 'the input really carries a partial checksum');
    r.nics[0].inject(input.bytes, input.meta);
    const got = r.take();
    assert.deepEqual(got[1]!.frames, [frame], 'the same bytes a software stack sends');
    assert.ok(checksumsOk(got[1]!.frames[0]!));
    assert.equal(got[1]!.metas[0]!.flags & kOffNeedsCsum, 0, 'NEEDS_CSUM cleared: nothing left to do downstream');
    r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: frame.length, txUnicast: 1, offCsum: 1 });
    r.noLeak();
  });

  test(`${name} partial checksum to a kCapCsum port arrives untouched, NEEDS_CSUM kept`, () => {
    const r = rig([{ caps: kCapCsum }, { caps: kCapCsum }]);
    r.nics[1].inject(hello(kMacB));
    r.take();
    const input = partial(frame, kGsoNone, 0, udp);
    r.nics[0].inject(input.bytes, input.meta);
    const got = r.take();
    assert.deepEqual(got[1]!.frames, [input.bytes]);
    assert.deepEqual(got[1]!.metas, [
      { flags: kOffNeedsCsum, gsoType: kGsoNone, gsoSize: 0, csumStart: l4, csumOffset },
    ]);
    r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: frame.length, txUnicast: 1 });
    r.noLeak();
  });
}

test('a flooded partial checksum: the plain port gets it completed; what the CSUM port gets is self-consistent', () => {
  // Completion happens in place on the shared slot ("whole for everyone", offload/egress.ts), so the CSUM
  // port sees either the partial bytes with NEEDS_CSUM or the completed bytes without it - never a mix.
  const r = rig([{ caps: kCapCsum }, {}, { caps: kCapCsum }]);
  const frame = build({ payload: payloadOf(300) });
  const input = partial(frame, kGsoNone, 0);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  assert.deepEqual(got[1]!.frames, [frame]);
  assert.equal(got[2]!.frames.length, 1);
  const [f2, m2] = [got[2]!.frames[0]!, got[2]!.metas[0]!];
  if (m2.flags & kOffNeedsCsum) assert.deepEqual(f2, input.bytes);
  else assert.deepEqual(f2, frame);
  r.port(1, { txFrames: 1, txBytes: frame.length, txFlood: 1, offCsum: 1 });
  r.noLeak();
});

// ---- (c) VLAN tags around offloaded frames ----

test('access-VLAN GSO source to trunks and an access port: tagged segments, tagged passthrough (csumStart + 4), untagged segments', () => {
  // 0 access 10 (TSO source) -> flood: 1 trunk plain, 2 trunk TSO, 3 access 10 plain. Two tagged, one
  // untagged destination: egress makes one tagged clone (cloneTagged), the original stays untagged.
  const r = rig([
    { vlan: access(10), caps: kAll },
    { vlan: trunk([10]) },
    { vlan: trunk([10]), caps: kAll },
    { vlan: access(10) },
  ]);
  const spec = { tcpOptions: ts, flags: kTcpAck | kTcpPsh, ident: 77 };
  const payload = payloadOf(2 * kMss + 10, 6);
  const input = partial(build({ ...spec, payload }), kGsoTcp4, kMss);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  const vlan = { vid: 10 };
  const wantTagged = segmentsOf({ ...spec, vlan }, payload, kMss);
  const wantPlain = segmentsOf(spec, payload, kMss);
  assert.deepEqual(got[1]!.frames, wantTagged);
  assert.ok(got[1]!.frames.every(checksumsOk));
  assert.deepEqual(got[2]!.frames, [addTag(input.bytes, 0, 10)]);
  assert.deepEqual(got[2]!.metas, [{ ...input.meta, csumStart: 38 }], 'csum_start follows the inserted tag: 18 + 20');
  assert.deepEqual(got[3]!.frames, wantPlain);
  assert.ok(got[3]!.frames.every(checksumsOk));
  r.port(1, { txFrames: 3, txBytes: sum(wantTagged), txFlood: 1, vlanInserted: 1, offSegmented: 1, offSegments: 3 });
  r.port(2, { txFrames: 1, txBytes: input.bytes.length + 4, txFlood: 1, vlanInserted: 1 });
  r.port(3, { txFrames: 3, txBytes: sum(wantPlain), txFlood: 1, offSegmented: 1, offSegments: 3 });
  r.noLeak();
});

test('access-VLAN GSO source unicast to a plain trunk: tag inserted in place, then segmented with valid checksums', () => {
  const r = rig([{ vlan: access(10), caps: kAll }, { vlan: trunk([10]) }]);
  r.nics[1].inject(addTag(hello(kMacB), 0, 10)); // learn B on the trunk, VLAN 10
  r.take();
  const spec = { tcpOptions: ts, flags: kTcpAck };
  const payload = payloadOf(4 * kMss, 8);
  const input = partial(build({ ...spec, payload }), kGsoTcp4, kMss);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  const want = segmentsOf({ ...spec, vlan: { vid: 10 } }, payload, kMss);
  assert.deepEqual(got[1]!.frames, want);
  assert.ok(got[1]!.frames.every(checksumsOk));
  r.port(1, {
    rxFrames: 1,
    rxBytes: 64,
    txFrames: 4,
    txBytes: sum(want),
    txUnicast: 1,
    vlanStripped: 1,
    vlanInserted: 1,
    offSegmented: 1,
    offSegments: 4,
  });
  r.noLeak();
});

test('tagged GSO frame from a trunk: stripped (csumStart - 4) then segmented for a plain access port; PCP kept for a TSO trunk', () => {
  const r = rig([{ vlan: trunk([10]), caps: kAll }, { vlan: access(10) }, { vlan: trunk([10]), caps: kAll }]);
  const spec = { flags: kTcpAck | kTcpPsh, ident: 0x1234 };
  const payload = payloadOf(3 * kMss - 1, 1);
  const input = partial(build({ ...spec, vlan: { vid: 10, pcp: 5 }, payload }), kGsoTcp4, kMss);
  assert.equal(input.meta.csumStart, 38);
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  const want = segmentsOf(spec, payload, kMss);
  assert.deepEqual(got[1]!.frames, want, 'untagged segments after the strip');
  assert.ok(got[1]!.frames.every(checksumsOk));
  assert.deepEqual(got[2]!.frames, [input.bytes], 'trunk to trunk: the same tag (VID 10, PCP 5) back on');
  assert.deepEqual(got[2]!.metas, [input.meta]);
  r.port(0, { rxFrames: 1, rxBytes: input.bytes.length, vlanStripped: 1 });
  r.port(1, { txFrames: 3, txBytes: sum(want), txFlood: 1, offSegmented: 1, offSegments: 3 });
  r.port(2, { txFrames: 1, txBytes: input.bytes.length, txFlood: 1, vlanInserted: 1 });
  r.noLeak();
});

// ---- (d) RSC ----

for (const rsc of [true, false]) {
  test(`5 in-order MSS segments in one batch toward a TSO|CSUM port: ${rsc ? 'one GSO frame (offCoalesced 4)' : '5 frames with rsc: false'}`, () => {
    const r = rig([{}, { caps: kCapTso | kCapCsum }], { rsc });
    r.nics[1].inject(hello(kMacB));
    r.take();
    const seq = 0x7fffffff;
    const ident = 300;
    const payload = payloadOf(5 * kMss, 12);
    // what a sender's stack puts on the wire: complete checksums, IP ID + 1 each, PSH on the last
    const segs = segmentsOf({ tcpOptions: ts, seq, ident, flags: kTcpAck | kTcpPsh }, payload, kMss);
    assert.equal(r.nics[0].injectBatch(segs), 5);
    const got = r.take();
    if (rsc) {
      // First segment's IP ID, PSH = OR of all, the checksum left partial for the TSO port to finish.
      const whole = partial(build({ tcpOptions: ts, seq, ident, flags: kTcpAck | kTcpPsh, payload }), kGsoTcp4, kMss);
      assert.deepEqual(got[1]!.frames, [whole.bytes]);
      assert.deepEqual(got[1]!.metas, [
        { flags: kOffNeedsCsum, gsoType: kGsoTcp4, gsoSize: kMss, csumStart: 34, csumOffset: 16 },
      ]);
      r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: whole.bytes.length, txUnicast: 5, offCoalesced: 4 });
    } else {
      assert.deepEqual(got[1]!.frames, segs);
      assert.deepEqual(
        got[1]!.metas,
        segs.map(() => none),
      );
      r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 5, txBytes: sum(segs), txUnicast: 5 });
    }
    r.noLeak();
  });
}

test('RSC stops at a bad checksum: the corrupt segment and what follows are not merged into the run', () => {
  const r = rig([{}, { caps: kCapTso | kCapCsum }]);
  r.nics[1].inject(hello(kMacB));
  r.take();
  const payload = payloadOf(4 * kMss, 5);
  const segs = segmentsOf({ tcpOptions: ts }, payload, kMss);
  const bad = segs[2]!.slice();
  bad[bad.length - 1] ^= 0xff; // payload byte flipped: its TCP checksum no longer verifies
  r.nics[0].injectBatch([segs[0]!, segs[1]!, bad, segs[3]!]);
  const got = r.take();
  assert.equal(
    got[1]!.frames.length,
    3,
    'run [0,1], the bad one alone, then [3] alone (its predecessor was not merged)',
  );
  assert.deepEqual(
    got[1]!.frames[0],
    partial(build({ tcpOptions: ts, payload: payload.subarray(0, 2 * kMss) }), kGsoTcp4, kMss).bytes,
  );
  assert.deepEqual(got[1]!.frames.slice(1), [bad, segs[3]]);
  r.noLeak();
});

// ---- (e) metadata that lies, at egress ----

test('GSO metadata that lies is dropped at the plain egress port and counted; the pool is whole; traffic still flows', () => {
  const r = rig([{ caps: kAll }, {}]);
  r.nics[1].inject(hello(kMacB));
  r.take();
  const free0 = r.pool.available;
  const payload = payloadOf(3000, 7);
  const good = partial(build({ payload }), kGsoTcp4, kMss);
  const v6 = partial(build({ v6: true, payload }), kGsoTcp6, 1440); // 1500 - 40 - 20: within the MTU, so only the wrong GSO type is at fault
  const small = partial(build({ payload: payload.subarray(0, 300) }), kGsoNone, 0); // non-GSO: must fit the MTU
  const withIpLen = (delta: number) => {
    const b = good.bytes.slice();
    const v = new DataView(b.buffer);
    v.setUint16(14 + 2, v.getUint16(14 + 2) + delta); // IPv4 total length
    return b;
  };
  const lies: Array<[string, Uint8Array, FrameMeta, string]> = [
    ['gso_size 0', good.bytes, { ...good.meta, gsoSize: 0 }, 'gso-malformed'],
    ['csum_start beyond the frame', good.bytes, { ...good.meta, csumStart: good.bytes.length + 10 }, 'gso-malformed'],
    ['csum_start not at the TCP header', good.bytes, { ...good.meta, csumStart: 30 }, 'gso-malformed'],
    ['IP total length 1 longer than the frame', withIpLen(1), good.meta, 'gso-malformed'],
    ['IP total length 1 shorter than the frame', withIpLen(-1), good.meta, 'gso-malformed'],
    ['TCPv4 GSO type on an IPv6 frame', v6.bytes, { ...v6.meta, gsoType: kGsoTcp4 }, 'gso-malformed'],
    ['UFO (gso_type 3)', good.bytes, { ...good.meta, gsoType: 3 }, 'gso-unsupported'],
    [
      'partial checksum (no GSO) pointing past the end',
      small.bytes,
      { ...small.meta, csumStart: small.bytes.length - 1 },
      'bad-vnet-hdr',
    ],
  ];
  const drops: Record<string, number> = {};
  for (const [name, bytes, meta, reason] of lies) {
    r.nics[0].inject(bytes, meta);
    drops[reason] = (drops[reason] ?? 0) + 1;
    assert.deepEqual(r.take()[1]!.frames, [], `${name}: nothing delivered`);
    assert.deepEqual(r.eng.counters.readPort(1).drops, drops, `${name}: counted as ${reason} on the egress port`);
    assert.equal(r.pool.available, free0, `${name}: no slot leaked`);
  }
  r.nics[0].inject(good.bytes, good.meta);
  const want = segmentsOf({}, payload, kMss);
  assert.deepEqual(r.take()[1]!.frames, want, 'a good frame still flows afterwards');
  r.port(
    1,
    {
      rxFrames: 1,
      rxBytes: 60,
      txFrames: want.length,
      txBytes: sum(want),
      txUnicast: lies.length + 1,
      offSegmented: 1,
      offSegments: want.length,
    },
    drops,
  );
  assert.deepEqual(r.eng.counters.readPort(0).drops, {}, 'nothing blamed on the ingress port');
  r.noLeak();
});

test('segmenting with too few free slots is a no-buffer drop on the egress port; the pool is whole afterwards', () => {
  const r = rig([{ caps: kAll }, {}], { slots: 64 }); // 64 slots: fewer than the 120 segments below
  r.nics[1].inject(hello(kMacB));
  r.take();
  const payload = payloadOf(64000, 1);
  const big = partial(build({ payload }), kGsoTcp4, 536); // RFC 9293 default MSS: 120 segments
  r.nics[0].inject(big.bytes, big.meta);
  assert.deepEqual(r.take()[1]!.frames, []);
  assert.deepEqual(r.eng.counters.readPort(1).drops, { 'no-buffer': 1 });
  r.noLeak();
  const small = partial(build({ payload: payload.subarray(0, 2000) }), kGsoTcp4, 536);
  r.nics[0].inject(small.bytes, small.meta);
  assert.equal(r.take()[1]!.frames.length, 4, 'ceil(2000 / 536) = 4 segments once the pool has room');
  r.noLeak();
});

// ---- MTU of GSO frames: checked per segment at delivery ----

test('GSO segments larger than the egress MTU are refused as mtu-exceeded', {}, () => {
  // Linux's bridge refuses such a frame too (is_skb_forwardable -> skb_gso_validate_network_len).
  const r = rig([{ caps: kAll }, {}, { caps: kAll }]);
  const input = partial(build({ payload: payloadOf(12000) }), kGsoTcp4, 4000); // 4000-byte MSS: 4040-byte IP packets
  r.nics[0].inject(input.bytes, input.meta);
  const got = r.take();
  assert.deepEqual(
    got[1]!.frames.map((f) => f.length),
    [],
    'plain port: no oversized segments on the wire',
  );
  assert.deepEqual(got[2]!.frames.length, 0, 'TSO port: the segments it would cut are oversized too');
  assert.deepEqual(r.eng.counters.readPort(1).drops, { 'mtu-exceeded': 1 });
  r.noLeak();
});

// ---- (f) property: segment in one engine, coalesce in a second ----

test('property: GSO through a plain port then RSC toward a TSO port gives back the GSO frame; pools whole', () => {
  // Engine 1: port 0 (TSO source) -> port 1 (plain): segments. Engine 2: port 0 (plain) takes those
  // segments in one batch -> port 1 (TSO|CSUM): RSC. MTU 9216 so 9000-byte segments pass the egress check.
  const r1 = rig([{ caps: kAll, mtu: kJumboMtu }, { mtu: kJumboMtu }]);
  const r2 = rig([{ mtu: kJumboMtu }, { caps: kCapTso | kCapCsum, mtu: kJumboMtu }]);
  for (const r of [r1, r2]) {
    r.nics[1].inject(hello(kMacB)); // unicast: learn B on port 1
    r.take();
  }
  const free1 = r1.pool.available;
  const free2 = r2.pool.available;
  fc.assert(
    fc.property(
      fc.record({
        total: fc.integer({ min: 0, max: 64000 }), // up to a 64 KB GSO frame's payload
        mss: fc.integer({ min: 536, max: 9000 }), // RFC 9293 default MSS .. a 9000-byte jumbo
        v6: fc.boolean(),
        ts: fc.boolean(),
        seq: fc.integer({ min: 0, max: 0xffffffff }),
        ident: fc.integer({ min: 0, max: 0xffff }),
        seed: fc.integer({ min: 0, max: 255 }),
      }),
      (p) => {
        const spec = {
          v6: p.v6,
          tcpOptions: p.ts ? ts : undefined,
          seq: p.seq,
          ident: p.ident,
          flags: kTcpAck | kTcpPsh,
        };
        const payload = payloadOf(p.total, p.seed);
        const input = partial(build({ ...spec, payload }), p.v6 ? kGsoTcp6 : kGsoTcp4, p.mss);
        r1.nics[0].inject(input.bytes, input.meta);
        const segs = r1.take()[1]!.frames;
        const n = p.total === 0 ? 1 : Math.ceil(p.total / p.mss);
        assert.deepEqual(segs, segmentsOf(spec, payload, p.mss), 'segments as Linux makes them');
        assert.equal(segs.length, n);
        assert.ok(segs.every(checksumsOk));
        assert.equal(r1.pool.available, free1, 'engine 1 pool whole');

        r2.nics[0].injectBatch(segs);
        const back = r2.take()[1]!;
        assert.equal(r2.pool.available, free2, 'engine 2 pool whole');
        if (n === 1) {
          // nothing to merge: the one segment (a complete frame) passes as is
          assert.deepEqual(back.frames, segs);
          return;
        }
        assert.deepEqual(back.frames, [input.bytes], 'the original GSO frame, byte for byte');
        assert.deepEqual(back.metas, [input.meta]);
      },
    ),
    { numRuns: 60 }, // each run moves up to 64 KB through two engines (~10 ms): well under a second or two
  );
  r1.noLeak();
  r2.noLeak();
});
