/**
 * Capture taps in a single-threaded Engine with MemoryNic ports: `in` copies frames as received (tag
 * still on), `out` as delivered (tag inserted by egress), metadata per entry, nothing when off, a full
 * ring loses copies (counted per port) but never frames, long frames are cut to the entry capacity, a
 * removed port stops its capture, and no pool slot leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRing } from '../dataplane/ring.js';
import { buildEthernet } from '../packet/frame.js';
import { MemoryNic } from '../ports/memory.js';
import {
  createCaptureShared,
  kCaptureIn,
  kCaptureOut,
  kCaptureRingSize,
  kMeta,
  type CaptureShared,
} from './capture.js';
import { Engine } from './engine.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function frame(src: string, dst: string, len: number, vid?: number): Uint8Array {
  const payload = new Uint8Array(len - 14 - (vid === undefined ? 0 : 4));
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + len) & 0xff;
  return buildEthernet({ src, dst, ethertype: 0x0800, payload, ...(vid === undefined ? {} : { vlan: { vid } }) });
}

interface Entry {
  port: number;
  direction: number;
  id: number;
  sec: number;
  usec: number;
  origLen: number;
  bytes: Uint8Array;
}

function drain(shared: CaptureShared): Entry[] {
  const ring = new FrameRing(kCaptureRingSize, shared.capacity, shared.ring, kMeta.count);
  const buf = new Uint8Array(shared.capacity);
  const out: Entry[] = [];
  let len: number;
  while ((len = ring.pop(buf, 0)) >= 0) {
    out.push({
      port: ring.getMeta(kMeta.port),
      direction: ring.getMeta(kMeta.direction),
      id: ring.getMeta(kMeta.id),
      sec: ring.getMeta(kMeta.sec) >>> 0,
      usec: ring.getMeta(kMeta.usec),
      origLen: ring.getMeta(kMeta.origLen),
      bytes: buf.slice(0, len),
    });
  }
  ring.release();
  return out;
}

/** A trunk port (VLAN 10 tagged, no native) and an access-10 port, each with a MemoryNic. */
function rig() {
  const e = new Engine();
  const trunk = e.addPort({ mode: 'trunk', allowed: [10] });
  const access = e.addPort({ mode: 'access', vid: 10 });
  const nt = new MemoryNic();
  const na = new MemoryNic();
  e.attach(trunk, nt);
  e.attach(access, na);
  const shared = createCaptureShared(e.pool.maxFrame);
  return { e, trunk, access, nt, na, shared, free0: e.pool.available };
}

test('in is the frame as received (tagged), out as delivered (tag inserted); metadata per entry; no slot leaks', () => {
  const { e, trunk, access, nt, na, shared, free0 } = rig();
  e.capture.start(trunk, kCaptureIn | kCaptureOut, 7, shared);
  e.capture.start(access, kCaptureIn | kCaptureOut, 8, shared);
  const tagged = frame(A, BCAST, 64, 10);
  const before = Date.now() / 1000;
  nt.inject(tagged);
  const untagged = frame(B, A, 60);
  na.inject(untagged);
  const got = drain(shared);
  assert.equal(got.length, 4);
  // trunk in: byte-exact with the tag; access out: the tag stripped
  assert.deepEqual([got[0].port, got[0].direction, got[0].id, got[0].origLen], [trunk, kCaptureIn, 7, 64]);
  assert.deepEqual(got[0].bytes, tagged);
  assert.deepEqual([got[1].port, got[1].direction, got[1].id], [access, kCaptureOut, 8]);
  assert.deepEqual(got[1].bytes, na.received[0]);
  assert.equal(got[1].bytes.length, 60);
  // access in: untagged; trunk out: tagged VLAN 10 (what the trunk NIC received)
  assert.deepEqual([got[2].port, got[2].direction], [access, kCaptureIn]);
  assert.deepEqual(got[2].bytes, untagged);
  assert.deepEqual([got[3].port, got[3].direction], [trunk, kCaptureOut]);
  assert.deepEqual(got[3].bytes, nt.received[0]);
  assert.equal((got[3].bytes[12] << 8) | got[3].bytes[13], 0x8100);
  assert.equal(((got[3].bytes[14] << 8) | got[3].bytes[15]) & 0xfff, 10);
  for (const g of got) {
    const t = g.sec + g.usec / 1e6;
    assert.ok(t >= before - 1 && t <= Date.now() / 1000 + 1, `timestamp ${t} is wall-clock time`);
    assert.ok(g.usec >= 0 && g.usec < 1e6);
  }
  assert.equal(e.pool.available, free0, 'every slot is back in the pool');
});

test('off costs nothing and copies nothing; stop clears the port, direction bits are honoured', () => {
  const { e, trunk, access, nt, na, shared } = rig();
  nt.inject(frame(A, BCAST, 64, 10));
  assert.equal(e.capture.armed, 0);
  e.capture.start(access, kCaptureOut, 1, shared);
  assert.equal(e.capture.inPorts, 0, 'an out-only capture leaves the in-tap off');
  nt.inject(frame(A, BCAST, 64, 10)); // delivered to access: one out copy
  na.inject(frame(B, A, 60)); // received on access: not captured (out only)
  let got = drain(shared);
  assert.deepEqual(
    got.map((g) => [g.port, g.direction]),
    [[access, kCaptureOut]],
  );
  e.capture.stop(access);
  assert.equal(e.capture.armed, 0);
  nt.inject(frame(A, BCAST, 64, 10));
  got = drain(shared);
  assert.equal(got.length, 0);
  assert.equal(trunk >= 0, true);
});

test('a full ring loses copies, counted per port and in the ring, never the frames themselves', () => {
  const { e, trunk, nt, na, shared, free0 } = rig();
  e.capture.start(trunk, kCaptureIn, 3, shared);
  const f = frame(A, B, 100, 10);
  const total = kCaptureRingSize + 76;
  const batch: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    batch.push(f);
    if (batch.length === 200) {
      nt.injectBatch(batch);
      batch.length = 0;
    }
  }
  nt.injectBatch(batch);
  assert.equal(na.received.length, total, 'the switch forwarded every frame');
  const lost = new Float64Array(shared.lost);
  assert.equal(lost[trunk], 76);
  assert.equal(new FrameRing(kCaptureRingSize, shared.capacity, shared.ring, kMeta.count).drops, 76);
  assert.equal(drain(shared).length, kCaptureRingSize);
  assert.equal(e.pool.available, free0);
  // a new capture of the port starts its loss count from zero
  e.capture.start(trunk, kCaptureIn, 4, shared);
  assert.equal(lost[trunk], 0);
});

test('a frame longer than the entry capacity is cut to it, with its length on the wire kept', () => {
  const e = new Engine();
  const a = e.addPort();
  const b = e.addPort();
  const na = new MemoryNic();
  e.attach(a, na);
  e.attach(b, new MemoryNic());
  const shared = createCaptureShared(64);
  e.capture.start(a, kCaptureIn, 9, shared);
  const f = frame(A, B, 300);
  na.inject(f);
  const [g] = drain(shared);
  assert.equal(g.bytes.length, 64);
  assert.equal(g.origLen, 300);
  assert.deepEqual(g.bytes, f.subarray(0, 64));
});

test('removing a port stops its capture', () => {
  const { e, trunk, shared } = rig();
  e.capture.start(trunk, kCaptureIn | kCaptureOut, 5, shared);
  assert.equal(e.capture.armed, 1);
  e.removePort(trunk);
  assert.equal(e.capture.armed, 0);
  assert.equal(e.capture.inPorts, 0);
  assert.equal(e.capture.idOf(trunk), 0);
});
