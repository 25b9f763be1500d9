/**
 * Micro-benchmark: nanoseconds per `rssHash` on a TCP/IPv4 frame in the pool (parse L2/L3 + a 12-byte
 * Toeplitz), and on TCP/IPv6 (36 bytes) for contrast. Not run by the tests.
 *
 *   npx tsc -p tsconfig.json && node dist/queues/rss.bench.js
 *
 * It cycles over 64 pool slots holding different flows (half of them 802.1Q-tagged, like a trunk port) so
 * the JIT cannot fold the work into a constant, and XORs the hashes into a sink so they cannot be dropped.
 */
import { PacketPool } from '../dataplane/pool.js';
import { buildTcp4, buildTcp6 } from '../packet/frame.js';
import { rssHash } from './rss.js';

const kIterations = 10_000_000; // ~0.1-0.5 s per run: timer noise well below 1%
const kFrames = 64; // distinct flows cycled through (a power of two: index with a mask)

const pool = new PacketPool({ slots: 2 * kFrames, slotSize: 2048 });
const slots4 = new Int32Array(kFrames);
const slots6 = new Int32Array(kFrames);
for (let i = 0; i < kFrames; i++) {
  const l2 = { srcMac: '52:54:00:12:34:56', dstMac: '52:54:00:65:43:21', vlan: i & 1 ? { vid: 10 } : undefined };
  slots4[i] = pool.load(
    buildTcp4({ ...l2, srcIp: `10.0.${i}.1`, dstIp: '10.1.0.2', srcPort: 40000 + i, dstPort: 443 }),
  );
  slots6[i] = pool.load(
    buildTcp6({ ...l2, srcIp: `2001:db8::${i + 1}`, dstIp: '2001:db8:1::2', srcPort: 40000 + i, dstPort: 443 }),
  );
}

function run(slots: Int32Array, n: number): number {
  let sink = 0; // a sum, not XOR: 64 flows each seen an even number of times would XOR to 0
  for (let i = 0; i < n; i++) sink += rssHash(pool, slots[i & (kFrames - 1)]!);
  return sink;
}

function time(name: string, slots: Int32Array): void {
  run(slots, kIterations / 10); // warm up: let the JIT optimise before timing
  const t0 = process.hrtime.bigint();
  const sink = run(slots, kIterations);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name}: ${(ns / kIterations).toFixed(2)} ns/hash over ${kIterations} frames (sink ${sink})`);
}

time('rssHash TCP/IPv4', slots4);
time('rssHash TCP/IPv6', slots6);
