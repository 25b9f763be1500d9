/**
 * Port mirroring taps on a real pool and counters: ingress copies are the bytes as sent (a tag still on,
 * even when the real ingress node then strips it or drops the frame), egress copies the bytes as
 * delivered, 'both', one copy per destination, nothing from or to a destination's own traffic, set()
 * toggling, bounded queues, pool exhaustion counted without leaks, offload metadata carried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../dataplane/counters.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { switchDrops } from '../switch/counters.js';
import { policyCounters } from './counters.js';
import { Batch, Graph } from '../dataplane/graph.js';
import { kGsoTcp4, kOffNeedsCsum, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { buildEthernet, buildTcp4, buildUdp4 } from '../packet/frame.js';
import { IngressNode } from '../switch/ingress.js';
import { PortTable } from '../switch/port-table.js';
import { kMirrorIn, kMirrorOut, kMirrorQueueLen, Mirror } from './mirror.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const SRC = 1;
const OTHER = 2;
const DST = 5;
const DST2 = 7;

function setup(slots = 1024): { pool: PacketPool; counters: Counters; m: Mirror } {
  const pool = new PacketPool({ slots, slotSize: 2048 });
  const counters = new Counters();
  return { pool, counters, m: new Mirror(pool, counters) };
}

function udp(i: number, vid?: number): Uint8Array {
  return buildUdp4({
    srcMac: A,
    dstMac: B,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1000 + i,
    dstPort: 53,
    payload: new Uint8Array(20 + i).fill(i),
    ...(vid === undefined ? {} : { vlan: { vid, pcp: 5 } }),
  });
}

function batchOf(pool: PacketPool, frames: Array<[Uint8Array, number]>): Batch {
  const b = new Batch();
  for (const [bytes, port] of frames) {
    const s = pool.load(bytes, port);
    assert.ok(s >= 0);
    b.slots[b.count++] = s;
  }
  return b;
}

/** The copies queued for destination d, as bytes. */
function copiesFor(m: Mirror, pool: PacketPool, d: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < m.count[d]; i++) out.push(pool.copyOut(m.slots[d][i]));
  return out;
}

function dirtyPorts(m: Mirror): number[] {
  return Array.from(m.dirty.subarray(0, m.dirtyCount));
}

function mirrorCopies(counters: Counters, p: number): number {
  return counters.c[Counters.port(p, policyCounters.mirrorCopies)];
}

function freeBatch(pool: PacketPool, b: Batch): void {
  for (let i = 0; i < b.count; i++) pool.free(b.slots[i]);
}

test('ingress copies are byte-identical, a tagged frame keeps its tag, metadata of the source', () => {
  const { pool, counters, m } = setup();
  const start = pool.available;
  m.set(SRC, 'source', 'ingress');
  m.set(DST, 'destination');
  assert.equal(m.active, true);
  assert.equal(m.flags[SRC], kMirrorIn);
  const sent = [udp(1), udp(2, 10), buildEthernet({ src: A, dst: B, ethertype: 0x88b5, payload: new Uint8Array(3) })];
  const b = batchOf(pool, [
    [sent[0], SRC],
    [udp(9), OTHER],
    [sent[1], SRC],
    [sent[2], SRC],
  ]);
  pool.meta32[(b.slots[2] << Meta.shift) + Meta.vid] = 10;
  pool.meta32[(b.slots[2] << Meta.shift) + Meta.pcp] = 5;
  m.tapIn(b);
  assert.deepEqual(dirtyPorts(m), [DST]);
  assert.deepEqual(copiesFor(m, pool, DST), sent, 'as sent, tag included, nothing from the other port');
  const tagged = m.slots[DST][1];
  assert.deepEqual(
    [
      pool.meta32[(tagged << Meta.shift) + Meta.port],
      pool.meta32[(tagged << Meta.shift) + Meta.vid],
      pool.meta32[(tagged << Meta.shift) + Meta.pcp],
      pool.meta32[(tagged << Meta.shift) + Meta.refs],
    ],
    [SRC, 10, 5, 1],
  );
  assert.equal(mirrorCopies(counters, SRC), 3);
  assert.equal(mirrorCopies(counters, OTHER), 0);
  // the originals are untouched and still the caller's
  assert.deepEqual(pool.copyOut(b.slots[0]), sent[0]);
  m.discard();
  assert.equal(m.dirtyCount, 0);
  assert.equal(m.count[DST], 0);
  freeBatch(pool, b);
  assert.equal(pool.available, start, 'no slot leaked');
});

test('ingress copy is taken before the real ingress node strips the tag or drops the frame', () => {
  const { pool, counters, m } = setup();
  const start = pool.available;
  const ports = new PortTable();
  ports.add(SRC, { mode: 'trunk', allowed: [10] }, 1500);
  ports.linkUp[SRC] = 1;
  const graph = new Graph(pool, counters).add(new IngressNode(pool, ports, counters));
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  const tagged = udp(3, 10);
  const notAllowed = udp(4, 20); // VLAN 20 is not on the trunk: ingress drops it
  const runt = new Uint8Array(10); // shorter than an Ethernet header: malformed
  const b = batchOf(pool, [
    [tagged, SRC],
    [notAllowed, SRC],
    [runt, SRC],
  ]);
  m.tapIn(b);
  graph.run(b);
  assert.equal(b.count, 1, 'only the allowed tagged frame survives ingress');
  assert.equal(pool.meta32[(b.slots[0] << Meta.shift) + Meta.len], tagged.length - 4, 'the original was stripped');
  assert.equal(counters.c[Counters.portDrop(SRC, switchDrops['vlan-not-allowed'])], 1);
  assert.equal(counters.c[Counters.portDrop(SRC, switchDrops.malformed)], 1);
  assert.deepEqual(
    copiesFor(m, pool, DST),
    [tagged, notAllowed, runt],
    'the wire as the endpoint sent it, drops included',
  );
  m.discard();
  freeBatch(pool, b);
  assert.equal(pool.available, start);
});

test('egress copies are the frames as delivered to the source', () => {
  const { pool, counters, m } = setup();
  m.set(SRC, 'source', 'egress');
  m.set(DST, 'destination');
  assert.equal(m.flags[SRC], kMirrorOut);
  assert.equal(m.inPorts, 0);
  // delivered to SRC: one tagged by egress, one untagged, both from another port
  const delivered = [udp(5, 30), udp(6)];
  const b = batchOf(pool, [
    [delivered[0], OTHER],
    [delivered[1], OTHER],
  ]);
  // what SRC itself sends is not mirrored in 'egress' mode
  const own = batchOf(pool, [[udp(7), SRC]]);
  m.tapIn(own);
  assert.equal(m.dirtyCount, 0);
  m.tapOut(SRC, b.slots, b.count);
  assert.deepEqual(copiesFor(m, pool, DST), delivered);
  for (let i = 0; i < 2; i++)
    assert.equal(
      pool.meta32[(m.slots[DST][i] << Meta.shift) + Meta.port],
      SRC,
      'a copy is accounted to the mirrored port',
    );
  assert.equal(mirrorCopies(counters, SRC), 2);
  assert.equal(mirrorCopies(counters, OTHER), 0);
  // a port that is not egress-mirrored: tapOut copies nothing
  m.tapOut(OTHER, b.slots, b.count);
  assert.equal(m.count[DST], 2);
  m.discard();
  freeBatch(pool, b);
  freeBatch(pool, own);
});

test("'both' (the default) mirrors what the source sends and what it receives", () => {
  const { pool, counters, m } = setup();
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  assert.equal(m.flags[SRC], kMirrorIn | kMirrorOut);
  const sent = udp(8);
  const received = udp(9, 40);
  const inB = batchOf(pool, [[sent, SRC]]);
  const outB = batchOf(pool, [[received, OTHER]]);
  m.tapIn(inB);
  m.tapOut(SRC, outB.slots, outB.count);
  assert.deepEqual(copiesFor(m, pool, DST), [sent, received]);
  assert.equal(mirrorCopies(counters, SRC), 2);
  m.discard();
  freeBatch(pool, inB);
  freeBatch(pool, outB);
});

test('a frame from one mirrored source delivered to another is copied once (at ingress)', () => {
  const { pool, counters, m } = setup();
  const SRC2 = 3;
  m.set(SRC, 'source');
  m.set(SRC2, 'source', 'egress');
  m.set(DST, 'destination');
  const f = udp(10);
  const b = batchOf(pool, [[f, SRC]]);
  m.tapIn(b);
  m.tapOut(SRC2, b.slots, b.count); // the same frame, delivered to the second source
  assert.deepEqual(copiesFor(m, pool, DST), [f]);
  // but with the first source mirrored on egress only, the delivery to SRC2 is the copy
  m.discard();
  m.set(SRC, 'source', 'egress');
  m.tapIn(b);
  assert.equal(m.count[DST], 0);
  m.tapOut(SRC2, b.slots, b.count);
  assert.deepEqual(copiesFor(m, pool, DST), [f]);
  assert.equal(pool.meta32[(m.slots[DST][0] << Meta.shift) + Meta.port], SRC2);
  assert.equal(mirrorCopies(counters, SRC) + mirrorCopies(counters, SRC2), 2);
  m.discard();
  freeBatch(pool, b);
});

test('two destinations each get exactly one copy of each frame, in their own slots', () => {
  const { pool, counters, m } = setup();
  const start = pool.available;
  m.set(DST2, 'destination');
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  const frames = [udp(11), udp(12, 7)];
  const b = batchOf(pool, [
    [frames[0], SRC],
    [frames[1], SRC],
  ]);
  m.tapIn(b);
  assert.deepEqual(dirtyPorts(m).sort(), [DST, DST2]);
  assert.deepEqual(copiesFor(m, pool, DST), frames);
  assert.deepEqual(copiesFor(m, pool, DST2), frames);
  const all = new Set([...m.slots[DST].subarray(0, 2), ...m.slots[DST2].subarray(0, 2), b.slots[0], b.slots[1]]);
  assert.equal(all.size, 6, 'every copy is its own slot');
  assert.equal(mirrorCopies(counters, SRC), 4);
  // the engine's take: walk dirty, deliver, then reset; here the "delivery" releases each copy
  for (let k = 0; k < m.dirtyCount; k++) {
    const d = m.dirty[k];
    for (let i = 0; i < m.count[d]; i++) pool.release(m.slots[d][i]);
  }
  m.reset();
  assert.equal(m.dirtyCount, 0);
  assert.deepEqual([m.count[DST], m.count[DST2]], [0, 0]);
  freeBatch(pool, b);
  assert.equal(pool.available, start);
});

test("a destination's own traffic is never copied, nor the copies delivered to it", () => {
  const { pool, counters, m } = setup();
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  m.set(DST2, 'destination');
  assert.equal(m.flags[DST], 0, 'the engine never calls tapOut for a destination');
  const b = batchOf(pool, [
    [udp(13), DST],
    [udp(14), DST2],
  ]);
  m.tapIn(b);
  m.tapOut(DST, b.slots, b.count);
  assert.equal(m.dirtyCount, 0);
  // a destination turned into a source stops being a destination: never both
  m.set(DST2, 'source');
  assert.equal(m.modeOf(DST2), 'source');
  m.tapIn(b);
  assert.deepEqual(dirtyPorts(m), [DST], 'DST2 frames go to DST only, none back to DST2');
  assert.equal(m.count[DST2], 0);
  assert.equal(mirrorCopies(counters, DST), 0);
  m.discard();
  freeBatch(pool, b);
});

test('set() toggles: active only with a source and a destination; clear and none turn it off', () => {
  const { pool, m } = setup();
  assert.equal(m.active, false);
  m.set(SRC, 'source');
  assert.equal(m.active, false, 'a source without a destination copies nothing');
  assert.equal(m.flags[SRC], 0);
  assert.equal(m.inPorts, 0);
  m.set(DST, 'destination');
  assert.equal(m.active, true);
  assert.deepEqual([m.flags[SRC], m.inPorts], [kMirrorIn | kMirrorOut, 1]);
  m.set(SRC, 'source', 'egress');
  assert.deepEqual([m.flags[SRC], m.inPorts], [kMirrorOut, 0]);
  m.set(SRC, 'source', 'ingress');
  assert.deepEqual([m.flags[SRC], m.inPorts], [kMirrorIn, 1]);
  const b = batchOf(pool, [[udp(15), SRC]]);
  m.tapIn(b);
  assert.equal(m.count[DST], 1);
  // a configuration change between breaths never strands a pending copy
  const before = pool.available;
  m.clear(DST);
  assert.equal(pool.available, before + 1);
  assert.equal(m.active, false);
  assert.equal(m.flags[SRC], 0);
  m.tapIn(b);
  assert.equal(m.dirtyCount, 0);
  m.set(DST, 'destination');
  m.set(SRC, 'none');
  assert.equal(m.active, false);
  assert.equal(m.modeOf(SRC), 'none');
  m.tapIn(b);
  assert.equal(m.dirtyCount, 0);
  freeBatch(pool, b);
  assert.throws(() => m.set(-1, 'source'), /invalid port index/);
  assert.throws(() => m.set(256, 'destination'), /invalid port index/);
  assert.throws(() => m.set(1, 'mirror' as never), /invalid mirror mode/);
  assert.throws(() => m.set(1, 'source', 'sideways' as never), /invalid mirror direction/);
});

test('pool exhaustion: copies refused and counted as no-buffer on the source, frames untouched, no leak', () => {
  const { pool, counters, m } = setup(64);
  const start = pool.available;
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  m.set(DST2, 'destination');
  // fill the pool with 40 frames from the source: 24 slots left for 80 wanted copies
  const frames: Array<[Uint8Array, number]> = [];
  for (let i = 0; i < 40; i++) frames.push([udp(i % 30), SRC]);
  const b = batchOf(pool, frames);
  m.tapIn(b);
  assert.equal(pool.available, 0);
  assert.equal(m.count[DST] + m.count[DST2], 24);
  assert.equal(mirrorCopies(counters, SRC), 24);
  assert.equal(counters.c[Counters.portDrop(SRC, mechanismDrops['no-buffer'])], 56);
  for (let i = 0; i < 40; i++) assert.deepEqual(pool.copyOut(b.slots[i]), frames[i][0]);
  m.discard();
  freeBatch(pool, b);
  assert.equal(pool.available, start, 'every slot back after freeing the copies');
});

test('a destination takes at most kMirrorQueueLen copies per breath; beyond: ring-full on it', () => {
  const { pool, counters, m } = setup(2048);
  m.set(SRC, 'source', 'egress');
  m.set(DST, 'destination');
  const b = batchOf(pool, [[udp(16), OTHER]]);
  const list = new Int32Array(kMirrorQueueLen + 10).fill(b.slots[0]);
  m.tapOut(SRC, list, list.length);
  assert.equal(m.count[DST], kMirrorQueueLen);
  assert.equal(counters.c[Counters.portDrop(DST, mechanismDrops['ring-full'])], 10);
  assert.equal(mirrorCopies(counters, SRC), kMirrorQueueLen);
  m.reset();
  m.tapOut(SRC, list, 1);
  assert.equal(m.count[DST], 1, 'the bound is per breath');
  m.discard();
});

test('offload metadata travels with the copy (GSO and partial checksum)', () => {
  const { pool, m } = setup();
  m.set(SRC, 'source');
  m.set(DST, 'destination');
  const f = buildTcp4({
    srcMac: A,
    dstMac: B,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 4000,
    dstPort: 80,
    flags: 0x18,
    payload: new Uint8Array(1400).fill(0x5a),
  });
  const b = batchOf(pool, [[f, SRC]]);
  const s = b.slots[0];
  pool.meta32[(s << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
  pool.meta32[(s << Meta.shift) + Meta.gsoType] = kGsoTcp4;
  pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = 700;
  pool.meta32[(s << Meta.shift) + Meta.csumStart] = 34;
  pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = 16;
  pool.meta32[(s << Meta.shift) + Meta.vid] = 12;
  pool.meta32[(s << Meta.shift) + Meta.pcp] = 3;
  m.tapIn(b);
  const t = m.slots[DST][0];
  assert.deepEqual(
    [
      pool.meta32[(t << Meta.shift) + Meta.oflags],
      pool.meta32[(t << Meta.shift) + Meta.gsoType],
      pool.meta16[(t << Meta16.shift) + Meta16.gsoSize],
      pool.meta32[(t << Meta.shift) + Meta.csumStart],
      pool.meta16[(t << Meta16.shift) + Meta16.csumOffset],
      pool.meta32[(t << Meta.shift) + Meta.vid],
      pool.meta32[(t << Meta.shift) + Meta.pcp],
      pool.meta32[(t << Meta.shift) + Meta.port],
      pool.meta32[(t << Meta.shift) + Meta.refs],
      pool.meta32[(t << Meta.shift) + Meta.aux],
    ],
    [kOffNeedsCsum, kGsoTcp4, 700, 34, 16, 12, 3, SRC, 1, 0],
  );
  assert.deepEqual(pool.copyOut(t), f);
  m.discard();
  freeBatch(pool, b);
});

test('a frame moved into its headroom (tag pushed) is copied whole', () => {
  const { pool, m } = setup();
  m.set(SRC, 'source', 'egress');
  m.set(DST, 'destination');
  const f = udp(17, 99);
  const s = pool.alloc();
  pool.meta32[(s << Meta.shift) + Meta.off] = 4; // almost no headroom left, as after pushes in place
  pool.meta32[(s << Meta.shift) + Meta.len] = f.length;
  pool.meta32[(s << Meta.shift) + Meta.port] = OTHER;
  pool.bytes.set(f, pool.frameStart(s));
  const list = Int32Array.of(s);
  m.tapOut(SRC, list, 1);
  assert.deepEqual(pool.copyOut(m.slots[DST][0]), f);
  m.discard();
  pool.free(s);
});
