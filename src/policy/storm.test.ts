/**
 * StormNode tests with a manual clock: exact pass counts over several simulated seconds (whole and
 * fractional refills), the 100 ms burst depth, known unicast never limited and never charged, ports
 * independent, limits switched off and changed, drops counted as `storm-limit` through a real Graph.
 * the slot's dst is set by hand as the forwarding node would (a port index, or the flood mark).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock } from '../dataplane/clock.js';
import { Counters, kMaxPorts } from '../dataplane/counters.js';
import { Batch, Graph, kMaxBatch } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildArpRequest, buildUdp4 } from '../packet/frame.js';
import { StormNode } from './storm.js';

const kFloodMark = -1; // what switch/forward.ts writes for broadcast, multicast and unknown unicast
const pool = new PacketPool({ slots: 512, slotSize: 2048 });
const bcast = buildArpRequest({ srcMac: '52:54:00:12:34:56', srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
const ucast = buildUdp4({
  srcMac: '52:54:00:12:34:56',
  dstMac: '52:54:00:65:43:21',
  srcIp: '10.9.0.1',
  dstIp: '10.9.0.2',
  srcPort: 4000,
  dstPort: 53,
});

/** One batch of [port, dst] frames through the node; how many of each port's frames passed. */
function run(node: StormNode, frames: [port: number, dst: number][]): Map<number, number> {
  assert.ok(frames.length <= kMaxBatch);
  const batch = new Batch();
  for (const [port, dst] of frames) {
    const s = pool.load(dst === kFloodMark ? bcast : ucast, port);
    assert.ok(s >= 0);
    pool.meta32[(s << Meta.shift) + Meta.dst] = dst;
    batch.slots[batch.count++] = s;
  }
  node.process(batch);
  const passed = new Map<number, number>();
  for (let i = 0; i < batch.count; i++) {
    const s = batch.slots[i];
    const p = pool.meta32[(s << Meta.shift) + Meta.port];
    if (!passed.has(p)) passed.set(p, 0);
    if (pool.meta32[(s << Meta.shift) + Meta.aux] === 0) passed.set(p, passed.get(p)! + 1);
    pool.meta32[(s << Meta.shift) + Meta.aux] = 0;
    pool.free(s);
  }
  return passed;
}

/** `count` flood frames from `port` in one batch; how many passed. */
function flood(node: StormNode, port: number, count: number): number {
  return (
    run(
      node,
      Array.from({ length: count }, () => [port, kFloodMark] as [number, number]),
    ).get(port) ?? 0
  );
}

test('burst: a newly limited port may send depth = ceil(pps / 10) flood frames at once, then none', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 100);
  assert.equal(flood(node, 1, 50), 10, '100 ms of 100 pps');
  assert.equal(flood(node, 1, 50), 0, 'a second batch at the same clock value earns nothing');
  // depth for other rates: at least one frame, rounded up
  for (const [pps, depth] of [
    [1, 1],
    [5, 1],
    [10, 1],
    [11, 2],
    [25, 3],
    [1000, 100],
    [2560, 256],
  ]) {
    node.set(2, 0);
    node.set(2, pps);
    assert.equal(flood(node, 2, 256), depth, `${pps} pps`);
  }
  // idling refills only up to the depth
  clock.advance(60_000);
  assert.equal(flood(node, 1, 200), 10);
});

test('exact counts over simulated seconds: depth + rate x time for a sender that never stops', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 100);
  let passed = flood(node, 1, 50); // the burst
  // 5 s in 10 ms breaths, 5 flood frames each: one token per breath
  for (let k = 0; k < 500; k++) {
    clock.advance(10);
    passed += flood(node, 1, 5);
  }
  assert.equal(passed, 10 + 500);
  // 3 s in 3 ms breaths (0.3 frames earned per breath): no drift from fractional tokens
  node.set(3, 100);
  flood(node, 3, 10); // drain the burst
  let p3 = 0;
  for (let k = 0; k < 1000; k++) {
    clock.advance(3);
    p3 += flood(node, 3, 2);
  }
  assert.equal(p3, 300);
  // 1 pps, a batch every 250 ms for 4 s: the burst of 1, then one per second
  node.set(4, 1);
  let p4 = flood(node, 4, 10);
  for (let k = 0; k < 16; k++) {
    clock.advance(250);
    p4 += flood(node, 4, 10);
  }
  assert.equal(p4, 1 + 4);
  // an idle gap mid-run earns at most the depth
  node.set(5, 50);
  let p5 = flood(node, 5, 100); // 5
  clock.advance(1000);
  p5 += flood(node, 5, 100); // 5 again, not 50
  for (let k = 0; k < 100; k++) {
    clock.advance(20);
    p5 += flood(node, 5, 3); // 1 per 20 ms
  }
  assert.equal(p5, 5 + 5 + 100);
});

test('a slow sender under the rate never loses a frame', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 100);
  let passed = 0;
  for (let k = 0; k < 300; k++) {
    clock.advance(50);
    passed += flood(node, 1, 4); // 80 pps with bursts of 4, under 100 pps and under the depth of 10
  }
  assert.equal(passed, 1200);
});

test('known unicast is never limited and does not spend tokens', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 10); // depth 1
  for (let k = 0; k < 4; k++)
    assert.equal(
      run(
        node,
        Array.from({ length: 256 }, () => [1, 2] as [number, number]),
      ).get(1),
      256,
    );
  // the bucket is still full: one flood frame passes, unicast in the same batch all pass
  const mixed = run(node, [
    [1, kFloodMark],
    [1, 3],
    [1, kFloodMark],
    [1, 0],
    [1, kFloodMark],
    [1, 3],
  ]);
  assert.equal(mixed.get(1), 1 + 3);
});

test('ports are independent: each its own bucket, unlimited ports untouched', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 100); // depth 10
  node.set(2, 50); // depth 5
  const interleaved = (): [number, number][] => {
    const f: [number, number][] = [];
    for (let i = 0; i < 40; i++) f.push([1, kFloodMark], [2, kFloodMark], [3, kFloodMark]);
    return f;
  };
  let r = run(node, interleaved());
  assert.deepEqual([r.get(1), r.get(2), r.get(3)], [10, 5, 40]);
  let t1 = 0;
  let t2 = 0;
  for (let k = 0; k < 100; k++) {
    clock.advance(20); // 2 tokens for port 1, 1 for port 2
    r = run(node, interleaved());
    t1 += r.get(1)!;
    t2 += r.get(2)!;
    assert.equal(r.get(3), 40);
  }
  assert.deepEqual([t1, t2], [200, 100]);
  // draining port 1 does not touch port 2's bucket
  clock.advance(1000);
  assert.equal(flood(node, 1, 100), 10);
  assert.equal(flood(node, 2, 100), 5);
});

test('limits switch off, back on with a full bucket, and change keeping the tokens earned', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 100);
  assert.equal(flood(node, 1, 50), 10);
  node.set(1, 0);
  assert.equal(node.get(1), 0);
  assert.equal(flood(node, 1, 200), 200, 'off');
  node.set(1, 100);
  assert.equal(flood(node, 1, 50), 10, 're-enabled: a full bucket');
  // a raised limit does not hand out a fresh burst: the bucket stays empty and fills at the new rate
  node.set(1, 1000);
  assert.equal(node.get(1), 1000);
  assert.equal(flood(node, 1, 50), 0);
  clock.advance(10);
  assert.equal(flood(node, 1, 50), 10);
  // a lowered limit caps what was saved at the new depth
  clock.advance(1000);
  node.set(1, 20);
  assert.equal(flood(node, 1, 50), 2);
});

test('through a Graph: over-limit flood frames are counted as storm-limit on the ingress port', () => {
  const clock = new Clock(true);
  const counters = new Counters();
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(4, 30); // depth 3
  const graph = new Graph(pool, counters).add(node);
  const before = pool.available;
  const batch = new Batch();
  for (let i = 0; i < 10; i++) {
    const s = pool.load(bcast, 4);
    pool.meta32[(s << Meta.shift) + Meta.dst] = i % 2 === 0 ? kFloodMark : 7;
    batch.slots[batch.count++] = s;
  }
  graph.run(batch);
  assert.equal(batch.count, 5 + 3);
  assert.deepEqual(counters.readPort(4).drops, { 'storm-limit': 2 });
  for (let i = 0; i < batch.count; i++) pool.free(batch.slots[i]);
  assert.equal(pool.available, before);
});

test('short or empty frames and empty batches are fine: the node reads metadata only', () => {
  const clock = new Clock(true);
  const node = new StormNode(pool, clock, kFloodMark);
  node.set(1, 10);
  node.process(new Batch());
  const batch = new Batch();
  for (const n of [0, 1, 13]) {
    const s = pool.load(bcast.subarray(0, n), 1);
    pool.meta32[(s << Meta.shift) + Meta.dst] = kFloodMark;
    batch.slots[batch.count++] = s;
  }
  node.process(batch);
  assert.deepEqual(
    Array.from(batch.slots.subarray(0, 3), (s) => pool.meta32[(s << Meta.shift) + Meta.aux] !== 0),
    [false, true, true],
  );
  for (const s of batch.slots.subarray(0, 3)) {
    pool.meta32[(s << Meta.shift) + Meta.aux] = 0;
    pool.free(s);
  }
});

test('settings are validated on the control path', () => {
  const node = new StormNode(pool, new Clock(true), kFloodMark);
  assert.throws(() => node.set(-1, 10), /port index/);
  assert.throws(() => node.set(kMaxPorts, 10), /port index/);
  assert.throws(() => node.set(1, -1), />= 0/);
  assert.throws(() => node.set(1, Number.NaN), /finite/);
  assert.throws(() => node.set(1, Infinity), /finite/);
  assert.equal(node.get(1), 0);
});
