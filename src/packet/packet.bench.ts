/**
 * Micro-benchmark: what one header read costs through the pool's long-lived DataView, the way the
 * datapath classifies a frame (inner EtherType + VID). Not run by the tests.
 *
 *   npx tsc -p tsconfig.json && node dist/packet/packet.bench.js
 *
 * It reads from 64 frames spread over one buffer (half tagged, half not, like a trunk port) so the JIT
 * cannot fold the reads into constants, and sums the results so they cannot be dropped. For contrast it
 * also times making a DataView per frame, which the datapath avoids.
 */
import { buildIcmpEcho } from './frame.js';
import * as vlan from './vlan.js';

const kIterations = 10_000_000; // enough for ~tens of ms per run: timer noise well below 1%
const kFrames = 64; // distinct frames cycled through (a power of two: index with a mask)
const kSlot = 2048; // bytes per frame slot, like a small pool
const kViewPerFrameIterations = 1_000_000; // the slow variant needs fewer rounds for a stable number

const bytes = new Uint8Array(kFrames * kSlot);
const view = new DataView(bytes.buffer);
for (let i = 0; i < kFrames; i++) {
  const f = buildIcmpEcho({
    srcMac: '52:54:00:12:34:56',
    dstMac: '52:54:00:65:43:21',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    vlan: i & 1 ? { vid: 1 + i, pcp: i & 7 } : undefined,
  });
  bytes.set(f, i * kSlot);
}

function longLived(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const off = (i & (kFrames - 1)) * kSlot;
    acc += vlan.innerEthertype(view, off) + (vlan.isTagged(view, off) ? vlan.vid(view, off) : 0);
  }
  return acc;
}

function viewPerFrame(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const off = (i & (kFrames - 1)) * kSlot;
    const v = new DataView(bytes.buffer, off, kSlot); // what a per-packet view object costs
    acc += vlan.innerEthertype(v, 0) + (vlan.isTagged(v, 0) ? vlan.vid(v, 0) : 0);
  }
  return acc;
}

function time(name: string, fn: (n: number) => number, n: number): void {
  fn(n / 10); // warm up: let the JIT optimise before timing
  const t0 = process.hrtime.bigint();
  const sink = fn(n);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name}: ${(ns / n).toFixed(2)} ns/op over ${n} reads (checksum ${sink})`);
}

time('ethertype+vid, long-lived DataView', longLived, kIterations);
time('ethertype+vid, DataView per frame ', viewPerFrame, kViewPerFrameIterations);
