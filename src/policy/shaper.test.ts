/**
 * EgressShaper tests, driven by a manual clock: the long-run rate of MaximumBandwidth (within 1 %), the
 * burst allowance and its cap, the one-frame debt of a GSO frame, DRR shares in weight and absolute mode
 * (backlogged classes, work conserving, exact order), queue-full and held limits, isolation between
 * destination ports, setRate(0) release, drop(), nextWakeMs, and no allocation on the per-frame path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Clock } from '../dataplane/clock.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildUdp4 } from '../packet/frame.js';
import { EgressShaper } from './shaper.js';

/** A UDP/IPv4 frame of exactly `len` bytes (14 Ethernet + 20 IPv4 + 8 UDP + payload). */
function frameOf(len: number): Uint8Array {
  const f = buildUdp4({
    srcMac: '52:54:00:00:00:01',
    dstMac: '52:54:00:00:00:02',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 5000,
    dstPort: 6000,
    payload: new Uint8Array(len - 42),
  });
  assert.equal(f.length, len);
  return f;
}

const f1514 = frameOf(1514);
const out = new Int32Array(4096);

function setup(
  mode: 'weight' | 'absolute' = 'weight',
  opts?: { queueFrames?: number; heldLimit?: number; quantumBytes?: number },
) {
  const pool = new PacketPool({ slots: 8192, slotSize: 2048 });
  const clock = new Clock(true);
  const sh = new EgressShaper(pool, clock, mode, opts);
  return { pool, clock, sh };
}

/** Enqueue one frame from source port `src` for port d; returns the slot (or -1 when refused, slot freed). */
function put(pool: PacketPool, sh: EgressShaper, d: number, src: number, bytes = f1514): number {
  const s = pool.load(bytes, src);
  assert.ok(s >= 0, 'pool has room');
  if (sh.enqueue(d, s)) return s;
  pool.release(s);
  return -1;
}

/** Dequeue everything allowed now; returns bytes moved, per-source bytes added into `bySrc`, slots released. */
function take(pool: PacketPool, sh: EgressShaper, d: number, bySrc?: Float64Array): number {
  const n = sh.dequeue(d, out, out.length);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = out[i];
    bytes += pool.meta32[(s << Meta.shift) + Meta.len];
    if (bySrc) bySrc[pool.meta32[(s << Meta.shift) + Meta.port]] += pool.meta32[(s << Meta.shift) + Meta.len];
    pool.release(s);
  }
  return bytes;
}

/** Keep each source's class queue for d topped up to `depth` frames. */
function topUp(pool: PacketPool, sh: EgressShaper, d: number, srcs: number[], depth = 64): void {
  for (const src of srcs) while (sh.queued(d, src) < depth) assert.ok(put(pool, sh, d, src) >= 0);
}

test('long-run rate of a backlogged 50 Mbit/s port is within 1 % (1514-byte frames, 1 ms steps)', () => {
  const { pool, clock, sh } = setup();
  sh.setRate(1, 50e6);
  assert.equal(sh.shaped[1], 1);
  assert.equal(sh.depth[1], 65536, 'default depth: 10 ms at 50 Mbit/s is 62500 bytes, below 64 KiB');
  let bytes = 0;
  topUp(pool, sh, 1, [2], 128);
  bytes += take(pool, sh, 1); // the initial burst
  const burst = bytes;
  const seconds = 10;
  for (let ms = 0; ms < seconds * 1000; ms++) {
    clock.advance(1);
    topUp(pool, sh, 1, [2], 128);
    bytes += take(pool, sh, 1);
  }
  const rate = ((bytes - burst) * 8) / seconds;
  assert.ok(Math.abs(rate - 50e6) / 50e6 < 0.01, `rate ${rate} bits/s`);
  // exact within one frame: the depth plus the time's worth, plus at most one frame of debt
  assert.ok(bytes <= 65536 + 6.25e6 * seconds + 1514 && bytes >= 6.25e6 * seconds, `total ${bytes}`);
});

test('long-run rate holds with irregular breaths (0.3..2.7 ms) and a fractional rate', () => {
  const { pool, clock, sh } = setup();
  sh.setRate(4, 12_345_678);
  topUp(pool, sh, 4, [1]);
  const burst = take(pool, sh, 4);
  let bytes = 0;
  let t = 0;
  for (let k = 0; t < 5000; k++) {
    const step = 0.3 + ((k * 7919) % 25) / 10;
    clock.advance(step);
    t += step;
    topUp(pool, sh, 4, [1]);
    bytes += take(pool, sh, 4);
  }
  const rate = (bytes * 8) / (t / 1000);
  assert.ok(burst > 0);
  assert.ok(Math.abs(rate - 12_345_678) / 12_345_678 < 0.01, `rate ${rate}`);
});

test('burst allowance: a full bucket sends depth bytes at once (plus one frame of debt) and is capped after idling', () => {
  const { pool, clock, sh } = setup();
  sh.setRate(1, 8e6, 20000); // 1000 bytes/ms, 20000-byte bucket
  for (let i = 0; i < 30; i++) put(pool, sh, 1, 2);
  // 13 frames leave 318 tokens (>= 0), so the 14th goes too and leaves a debt of 1196
  assert.equal(sh.dequeue(1, out, out.length), 14);
  for (let i = 0; i < 14; i++) pool.release(out[i]);
  assert.ok(Math.abs(sh.tokens[1] - (20000 - 14 * 1514)) < 1e-9);
  assert.equal(sh.dequeue(1, out, out.length), 0, 'nothing more until the debt is paid');
  clock.advance(1.196);
  assert.equal(take(pool, sh, 1), 1514, 'one frame once the tokens are back to 0');
  sh.drop(1);
  clock.advance(10_000); // ten idle seconds earn no more than the depth
  for (let i = 0; i < 30; i++) put(pool, sh, 1, 2);
  assert.equal(take(pool, sh, 1), 14 * 1514);
  sh.drop(1);
});

test('default depth is 10 ms at the rate when that exceeds 64 KiB', () => {
  const { sh } = setup();
  sh.setRate(3, 1e9);
  assert.equal(sh.depth[3], 1.25e6);
  sh.setRate(3, 1e6);
  assert.equal(sh.depth[3], 65536);
  assert.ok(sh.tokens[3] <= 65536, 'a rate change caps the tokens at the new depth');
});

test('a GSO frame costs its whole length and leaves at most one frame of debt; nextWakeMs is when the debt is paid', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 65792 });
  const clock = new Clock(true);
  const sh = new EgressShaper(pool, clock, 'weight');
  sh.setRate(1, 8e6); // 1000 bytes/ms, depth 65536
  const big = frameOf(60000);
  for (let i = 0; i < 3; i++) assert.ok(sh.enqueue(1, pool.load(big, 2)));
  assert.equal(sh.dequeue(1, out, 8), 2, 'the second goes with 5536 tokens and leaves a 54464-byte debt');
  pool.release(out[0]);
  pool.release(out[1]);
  assert.ok(Math.abs(sh.tokens[1] + 54464) < 1e-9);
  assert.ok(Math.abs(sh.nextWakeMs() - 54.464) < 1e-9, `wake ${sh.nextWakeMs()}`);
  clock.advance(54.464);
  assert.equal(sh.nextWakeMs(), clock.nowMs);
  assert.equal(sh.dequeue(1, out, 8), 1);
  pool.release(out[0]);
  assert.equal(sh.nextWakeMs(), Infinity);
  assert.equal(pool.available, 64);
});

test('weights 1:3 with both classes backlogged share the bytes 3.0 +/- 0.1', () => {
  const { pool, clock, sh } = setup('weight');
  sh.setRate(1, 50e6);
  sh.setShare(2, 1);
  sh.setShare(3, 3);
  const bySrc = new Float64Array(256);
  for (let ms = 0; ms < 4000; ms++) {
    topUp(pool, sh, 1, [2, 3]);
    take(pool, sh, 1, bySrc);
    clock.advance(1);
  }
  const ratio = bySrc[3] / bySrc[2];
  assert.ok(Math.abs(ratio - 3) <= 0.1, `ratio ${ratio}`);
  assert.ok(Math.abs(((bySrc[2] + bySrc[3]) * 8) / 4 - 50e6) / 50e6 < 0.01, 'the classes share the whole rate');
});

test('weights: an unconfigured source gets weight 1; DRR order is exact for small frames', () => {
  const { pool, sh } = setup('weight');
  sh.setRate(1, 1e6, 1e9); // a deep bucket: the order alone is under test
  sh.setShare(5, 2);
  for (let i = 0; i < 6; i++) put(pool, sh, 1, 4); // weight 1 (default), arrived first
  for (let i = 0; i < 6; i++) put(pool, sh, 1, 5); // weight 2
  assert.equal(sh.shareOf(4), 1);
  const n = sh.dequeue(1, out, 9);
  const order = Array.from(out.subarray(0, n), (s) => pool.meta32[(s << Meta.shift) + Meta.port]);
  assert.deepEqual(order, [4, 5, 5, 4, 5, 5, 4, 5, 5]);
  for (let i = 0; i < n; i++) pool.release(out[i]);
  sh.drop(1);
});

test('absolute mode: shares in proportion to bits/s; a port with none gets the smallest configured share', () => {
  const { pool, clock, sh } = setup('absolute');
  sh.setRate(1, 50e6);
  sh.setShare(2, 10e6);
  sh.setShare(3, 30e6);
  assert.equal(sh.shareOf(4), 10e6, 'port 4 has none: the smallest configured');
  const bySrc = new Float64Array(256);
  for (let ms = 0; ms < 4000; ms++) {
    topUp(pool, sh, 1, [2, 3, 4]);
    take(pool, sh, 1, bySrc);
    clock.advance(1);
  }
  const r32 = bySrc[3] / bySrc[2];
  const r42 = bySrc[4] / bySrc[2];
  assert.ok(Math.abs(r32 - 3) <= 0.1, `30M:10M ratio ${r32}`);
  assert.ok(Math.abs(r42 - 1) <= 0.05, `default:10M ratio ${r42}`);
});

test('absolute mode: the default share is at least 1 Mbit/s, and 1 Mbit/s when nothing is configured', () => {
  const { pool, clock, sh } = setup('absolute');
  assert.equal(sh.shareOf(9), 1e6);
  sh.setShare(2, 500e3);
  sh.setShare(3, 2e6);
  assert.equal(sh.shareOf(4), 1e6);
  sh.setRate(1, 20e6);
  const bySrc = new Float64Array(256);
  for (let ms = 0; ms < 4000; ms++) {
    topUp(pool, sh, 1, [2, 3, 4]);
    take(pool, sh, 1, bySrc);
    clock.advance(1);
  }
  // 0.5 : 2 : 1
  assert.ok(Math.abs(bySrc[3] / bySrc[2] - 4) <= 0.1, `2M:0.5M ${bySrc[3] / bySrc[2]}`);
  assert.ok(Math.abs(bySrc[4] / bySrc[2] - 2) <= 0.1, `1M:0.5M ${bySrc[4] / bySrc[2]}`);
});

test('work conserving: a class with nothing queued gives its share to the others', () => {
  const { pool, clock, sh } = setup('weight');
  sh.setRate(1, 50e6);
  sh.setShare(2, 1);
  sh.setShare(3, 3); // the big share, but idle
  const bySrc = new Float64Array(256);
  take(pool, sh, 1); // nothing held yet
  for (let ms = 0; ms < 2000; ms++) {
    topUp(pool, sh, 1, [2]);
    take(pool, sh, 1, bySrc);
    clock.advance(1);
  }
  const rate = (bySrc[2] * 8) / 2;
  assert.ok(rate > 50e6 * 0.99 && rate < 50e6 * 1.05, `the weight-1 class alone gets the whole rate: ${rate}`);
  assert.equal(bySrc[3], 0);
});

test('a full class queue refuses; other classes still enqueue; heldLimit caps the total', () => {
  const { pool, sh } = setup('weight', { queueFrames: 4, heldLimit: 6 });
  sh.setRate(1, 1e6);
  const start = pool.available;
  for (let i = 0; i < 4; i++) assert.ok(put(pool, sh, 1, 2) >= 0);
  assert.equal(put(pool, sh, 1, 2), -1, 'class (1, 2) is full');
  assert.ok(put(pool, sh, 1, 3) >= 0, 'class (1, 3) has its own queue');
  assert.ok(put(pool, sh, 1, 3) >= 0);
  assert.equal(sh.heldTotal, 6);
  assert.equal(put(pool, sh, 1, 4), -1, 'heldLimit reached');
  assert.equal(put(pool, sh, 7, 2), -1, 'a port never shaped holds nothing');
  assert.equal(sh.drop(1), 6);
  assert.equal(pool.available, start);
});

test('another port is unaffected by a congested one; unshaped ports are marked as such', () => {
  const { pool, clock, sh } = setup();
  sh.setRate(1, 1e6, 3000);
  sh.setRate(2, 1e6, 3000);
  for (let i = 0; i < 50; i++) put(pool, sh, 1, 5);
  assert.equal(take(pool, sh, 1), 2 * 1514, 'port 1: its bucket, then congested');
  assert.equal(sh.held[1], 48);
  put(pool, sh, 2, 5); // same source, other destination
  assert.equal(sh.dequeue(2, out, 8), 1, 'port 2 sends at once');
  pool.release(out[0]);
  assert.equal(sh.shaped[3], 0);
  assert.equal(sh.dequeue(3, out, 8), 0);
  assert.equal(sh.dirtyCount, 1);
  assert.equal(sh.dirty[0], 1);
  clock.advance(1);
  sh.drop(1);
});

test('setRate(0) releases the held frames at the next dequeue, without tokens', () => {
  const { pool, sh } = setup();
  const start = pool.available;
  sh.setRate(1, 1e6, 2000);
  for (let i = 0; i < 20; i++) put(pool, sh, 1, 2 + (i % 3));
  assert.equal(take(pool, sh, 1), 2 * 1514);
  assert.ok(sh.nextWakeMs() > 0);
  sh.setRate(1, 0);
  assert.equal(sh.shaped[1], 0);
  assert.equal(sh.dirtyCount, 1, 'still visited');
  assert.equal(sh.nextWakeMs(), 0, 'can go now');
  assert.equal(sh.dequeue(1, out, 5), 5, 'bounded by max');
  for (let i = 0; i < 5; i++) pool.release(out[i]);
  assert.equal(take(pool, sh, 1), 13 * 1514);
  assert.equal(sh.dirtyCount, 0);
  assert.equal(sh.nextWakeMs(), Infinity);
  assert.equal(pool.available, start);
});

test('drop() releases every frame held for a port and leaves the others; refs are honoured', () => {
  const { pool, sh } = setup();
  const start = pool.available;
  sh.setRate(1, 1e6, 1);
  sh.setRate(2, 1e6, 1);
  for (let i = 0; i < 10; i++) put(pool, sh, 1, 3);
  for (let i = 0; i < 7; i++) put(pool, sh, 1, 4);
  for (let i = 0; i < 5; i++) put(pool, sh, 2, 3);
  // a flooded frame held for both ports: one slot, two references
  const s = pool.load(f1514, 6);
  pool.meta32[(s << Meta.shift) + Meta.refs] = 2;
  assert.ok(sh.enqueue(1, s) && sh.enqueue(2, s));
  assert.equal(sh.drop(1), 18);
  assert.equal(sh.held[1], 0);
  assert.equal(sh.queued(1, 3), 0);
  assert.equal(sh.held[2], 6);
  assert.equal(pool.available, start - 6, 'the shared slot survives for port 2');
  assert.equal(sh.dirtyCount, 1);
  assert.equal(sh.dirty[0], 2);
  assert.equal(sh.drop(2), 6);
  assert.equal(pool.available, start);
  assert.equal(sh.dirtyCount, 0);
  assert.equal(sh.heldTotal, 0);
  assert.equal(sh.drop(2), 0);
  // the port works again after a drop
  assert.ok(put(pool, sh, 1, 3) >= 0);
  assert.equal(sh.held[1], 1);
  assert.equal(sh.drop(1), 1);
  assert.equal(pool.available, start);
});

test('nextWakeMs: Infinity when idle, the earliest debt payoff over the dirty ports', () => {
  const { pool, clock, sh } = setup();
  assert.equal(sh.nextWakeMs(), Infinity);
  sh.setRate(1, 8e6, 1000); // 1000 bytes/ms
  sh.setRate(2, 16e6, 1000); // 2000 bytes/ms
  for (let i = 0; i < 3; i++) put(pool, sh, 1, 5);
  for (let i = 0; i < 3; i++) put(pool, sh, 2, 5);
  take(pool, sh, 1); // one frame: debt 514
  take(pool, sh, 2); // one frame: debt 514
  assert.ok(Math.abs(sh.nextWakeMs() - 0.257) < 1e-9, `port 2 first: ${sh.nextWakeMs()}`);
  clock.advance(0.1);
  assert.ok(Math.abs(sh.nextWakeMs() - 0.257) < 1e-9, 'unchanged by the clock moving');
  clock.advance(0.157);
  assert.equal(sh.nextWakeMs(), clock.nowMs);
  assert.equal(take(pool, sh, 1), 0, 'port 1 not yet');
  assert.equal(take(pool, sh, 2), 1514);
  assert.ok(Math.abs(sh.nextWakeMs() - 0.514) < 1e-9, `port 1 next: ${sh.nextWakeMs()}`);
  // driving the clock by nextWakeMs alone drains both ports
  let wakes = 0;
  while (sh.dirtyCount > 0 && wakes < 100) {
    const w = sh.nextWakeMs();
    if (w > clock.nowMs) clock.advance(w - clock.nowMs);
    for (let k = sh.dirtyCount - 1; k >= 0; k--) take(pool, sh, sh.dirty[k]);
    wakes++;
  }
  assert.equal(sh.dirtyCount, 0);
  assert.ok(wakes <= 4, `every wake moved a frame (${wakes})`);
  assert.equal(sh.nextWakeMs(), Infinity);
});

test('control path validates its input', () => {
  const { sh } = setup('weight');
  assert.throws(() => sh.setRate(256, 1e6), /port must be/);
  assert.throws(() => sh.setRate(1, -1), /maximum bandwidth/);
  assert.throws(() => sh.setRate(1, 1e6, 0), /maximum burst/);
  assert.throws(() => sh.setShare(1, 101), /weight/);
  assert.throws(() => sh.setShare(1, 1.5), /weight/);
  assert.throws(() => sh.configure(1, { minimumBandwidthAbsolute: 1e6 }), /mode is weight/);
  sh.configure(1, { maximumBandwidth: 2e6, maximumBurst: 5000, minimumBandwidthWeight: 7 });
  assert.equal(sh.shaped[1], 1);
  assert.equal(sh.depth[1], 5000);
  assert.equal(sh.shareOf(1), 7);
  sh.configure(1, {});
  assert.equal(sh.shaped[1], 0);
  assert.equal(sh.shareOf(1), 1);
  const { sh: abs } = setup('absolute');
  assert.throws(() => abs.configure(1, { minimumBandwidthWeight: 5 }), /mode is absolute/);
  assert.throws(
    () =>
      new EgressShaper(new PacketPool({ slots: 64, slotSize: 2048 }), new Clock(true), 'weight', { queueFrames: 0 }),
    /queueFrames/,
  );
});

test('no allocation per frame: a warmed-up enqueue/dequeue loop triggers no GC and grows no heap', async () => {
  const { pool, clock, sh } = setup('weight');
  sh.setRate(1, 50e6);
  sh.setRate(2, 20e6);
  sh.setShare(3, 4);
  const slots = new Int32Array(512);
  const srcs = [3, 4, 5];
  const cycle = (rounds: number): number => {
    let moved = 0;
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < 24; k++) {
        const s = pool.alloc();
        pool.meta32[(s << Meta.shift) + Meta.len] = 1514;
        pool.meta32[(s << Meta.shift) + Meta.port] = srcs[k % 3];
        if (!sh.enqueue(1 + (k & 1), s)) pool.free(s);
      }
      clock.advance(0.5);
      for (let k = sh.dirtyCount - 1; k >= 0; k--) {
        const n = sh.dequeue(sh.dirty[k], slots, slots.length);
        for (let i = 0; i < n; i++) pool.release(slots[i]);
        moved += n;
      }
      if (sh.nextWakeMs() < 0) moved = -1;
    }
    return moved;
  };
  cycle(50_000); // warm up: let the optimizing compiler settle (interpreted code boxes doubles)
  // collect the earlier tests' garbage first, so a collection they owe does not land in the measurement
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const before = getHeapStatistics().used_heap_size;
  const moved = cycle(100_000); // 2.4 M frames offered
  const grown = getHeapStatistics().used_heap_size - before;
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  assert.ok(moved > 250_000, `moved ${moved}`); // 50 s at 70 Mbit/s of 1514-byte frames: 289 k
  assert.equal(gcs, 0, 'no garbage collection while 2.4 M frames went through');
  // under half a byte per frame (what is left is compiled-code metadata, not frames): one 8-byte number
  // per frame would be 19 MB and would have forced several scavenges
  assert.ok(grown < 1024 * 1024, `heap grew ${grown} bytes`);
  for (const d of [1, 2]) sh.drop(d);
});
