/**
 * Framing: golden bytes both ways for the QEMU (4-byte) and VDE (2-byte) prefixes, reassembly across every
 * split point, a fast-check property over random frames and random chunking, and the error rules
 * (0 -> malformed, > slot -> oversize, > 69632 -> fatal framing-error, pool empty -> no-buffer).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PacketPool } from '../dataplane/pool.js';
import {
  countUnencodable,
  encodeBatch,
  FrameReassembler,
  kFlushEvery,
  kMaxStreamFrame,
  type PrefixBytes,
} from './framing.js';
import { RecordingSink } from '../testing/recording-sink.js';

const smallPool = () => new PacketPool({ slots: 64, slotSize: 2048 }); // maxFrame 1920

/** Reference encoder written independently of encodeBatch (plain byte pushes). */
function refEncode(frames: Uint8Array[], prefix: PrefixBytes, lens?: number[]): Buffer {
  const parts: number[] = [];
  frames.forEach((f, i) => {
    const len = lens?.[i] ?? f.length;
    if (prefix === 4) parts.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
    else parts.push((len >>> 8) & 255, len & 255);
    for (const b of f) parts.push(b);
  });
  return Buffer.from(parts);
}

function frameOf(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 255;
  return b;
}

// A broadcast ARP-ish Ethernet header plus two payload bytes: 16 bytes.
const golden = Buffer.from('ffffffffffff' + '525400123456' + '0806' + 'abcd', 'hex');

test('encodeBatch golden bytes: 4-byte QEMU prefix', () => {
  const pool = smallPool();
  const slots = Int32Array.of(pool.load(golden), pool.load(golden.subarray(0, 14)));
  const out = encodeBatch(pool, slots, 2, 4);
  assert.equal(
    out.toString('hex'),
    '00000010' + 'ffffffffffff5254001234560806abcd' + '0000000e' + 'ffffffffffff5254001234560806',
  );
});

test('encodeBatch golden bytes: 2-byte VDE prefix', () => {
  const pool = smallPool();
  const slots = Int32Array.of(pool.load(golden));
  assert.equal(encodeBatch(pool, slots, 1, 2).toString('hex'), '0010' + 'ffffffffffff5254001234560806abcd');
  assert.equal(encodeBatch(pool, slots, 0, 2).length, 0);
});

test('encodeBatch copies large frames (native copy path) exactly', () => {
  const pool = smallPool();
  const big = frameOf(1920, 3);
  const slots = Int32Array.of(pool.load(big), pool.load(frameOf(127, 4)), pool.load(frameOf(128, 5)));
  const frames = [big, frameOf(127, 4), frameOf(128, 5)];
  assert.deepEqual(encodeBatch(pool, slots, 3, 4), refEncode(frames, 4));
  assert.deepEqual(encodeBatch(pool, slots, 3, 2), refEncode(frames, 2));
});

test('reassembler golden bytes: decodes both prefixes', () => {
  for (const prefix of [4, 2] as const) {
    const sink = new RecordingSink(smallPool());
    const r = new FrameReassembler(sink, prefix);
    const hex = (prefix === 4 ? '00000010' : '0010') + 'ffffffffffff5254001234560806abcd';
    assert.equal(r.feed(Buffer.from(hex, 'hex')), true);
    assert.deepEqual(sink.frames, [golden]);
    assert.equal(sink.flushes, 1);
  }
});

test('reassembly at every split point (2 and 3 chunks) of a 3-frame stream, both prefixes', () => {
  // 1-byte frame (runt: delivered, the datapath judges it), a minimum Ethernet frame, a 200-byte frame.
  const frames = [frameOf(1, 1), frameOf(60, 2), frameOf(200, 3)];
  for (const prefix of [4, 2] as const) {
    const wire = refEncode(frames, prefix);
    const n = wire.length;
    const pool = smallPool();
    for (let a = 0; a <= n; a++) {
      for (let b = a; b <= n; b++) {
        const sink = new RecordingSink(pool);
        const r = new FrameReassembler(sink, prefix);
        r.feed(wire.subarray(0, a));
        r.feed(wire.subarray(a, b));
        r.feed(wire.subarray(b));
        assert.deepEqual(sink.frames, frames, `prefix ${prefix} split ${a},${b}`);
        assert.deepEqual(sink.drops, {});
      }
    }
    assert.equal(pool.available, 64, 'no slot leaked');
    // one byte at a time
    const sink = new RecordingSink(pool);
    const r = new FrameReassembler(sink, prefix);
    for (let i = 0; i < n; i++) r.feed(wire.subarray(i, i + 1));
    assert.deepEqual(sink.frames, frames);
    assert.equal(sink.flushes, 3, 'one flush per chunk that completed a frame');
  }
});

test('property: random frames (including 0-length and oversize) and random chunking give the same frames and counts', () => {
  const pool = smallPool();
  const lenArb = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 1920 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1919, 1920, 1921) },
    { weight: 1, arbitrary: fc.integer({ min: 1921, max: 5000 }) },
  );
  fc.assert(
    fc.property(
      fc.constantFrom<PrefixBytes>(4, 2),
      fc.array(fc.tuple(lenArb, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: 1 << 30 }), { maxLength: 20 }),
      (prefix, specs, cutSeeds) => {
        const frames = specs.map(([len, seed]) => frameOf(len, seed));
        const wire = refEncode(frames, prefix);
        const cuts = [...new Set(cutSeeds.map((c) => c % (wire.length + 1)))].sort((x, y) => x - y);
        const sink = new RecordingSink(pool);
        const r = new FrameReassembler(sink, prefix);
        let from = 0;
        for (const c of [...cuts, wire.length]) {
          assert.equal(r.feed(wire.subarray(from, c)), true);
          from = c;
        }
        const good = frames.filter((f) => f.length >= 1 && f.length <= pool.maxFrame);
        assert.deepEqual(sink.frames, good);
        const zeros = frames.filter((f) => f.length === 0).length;
        const big = frames.filter((f) => f.length > pool.maxFrame).length;
        assert.equal(sink.drops.malformed ?? 0, zeros);
        assert.equal(sink.drops.oversize ?? 0, big);
        assert.equal(pool.available, 64);
      },
    ),
    { numRuns: 500 },
  );
});

test('length 0 is dropped as malformed and the stream continues', () => {
  const sink = new RecordingSink(smallPool());
  const r = new FrameReassembler(sink, 4);
  const wire = Buffer.concat([Buffer.from('00000000', 'hex'), refEncode([golden], 4)]);
  assert.equal(r.feed(wire), true);
  assert.deepEqual(sink.drops, { malformed: 1 });
  assert.deepEqual(sink.frames, [golden]);
});

test('a frame longer than the slot but <= 69632 is skipped (oversize), even exactly 69632', () => {
  const sink = new RecordingSink(smallPool());
  const r = new FrameReassembler(sink, 4);
  const wire = Buffer.concat([refEncode([frameOf(kMaxStreamFrame, 1), frameOf(1921, 2)], 4), refEncode([golden], 4)]);
  // feed in 1000-byte chunks so the skip spans many chunks
  for (let i = 0; i < wire.length; i += 1000) assert.equal(r.feed(wire.subarray(i, i + 1000)), true);
  assert.deepEqual(sink.drops, { oversize: 2 });
  assert.deepEqual(sink.frames, [golden]);
});

test('a length above 69632 is fatal: framing-error, frames before it delivered, later input ignored until reset', () => {
  const sink = new RecordingSink(smallPool());
  const r = new FrameReassembler(sink, 4);
  const wire = Buffer.concat([refEncode([golden], 4), Buffer.from('00011001', 'hex'), refEncode([golden], 4)]); // 69633
  assert.equal(r.feed(wire), false);
  assert.equal(r.failed, true);
  assert.deepEqual(sink.drops, { 'framing-error': 1 });
  assert.deepEqual(sink.frames, [golden]);
  assert.equal(sink.flushes, 1, 'the frame before the error is flushed');
  assert.equal(r.feed(refEncode([golden], 4)), false);
  assert.equal(sink.frames.length, 1);
  r.reset();
  assert.equal(r.feed(refEncode([golden], 4)), true);
  assert.equal(sink.frames.length, 2);
  assert.deepEqual(sink.drops, { 'framing-error': 1 });
});

test('a length with the top bit set is read unsigned: framing error, not a negative length', () => {
  for (const hex of ['ffffffff', '80000000']) {
    const sink = new RecordingSink(smallPool());
    const r = new FrameReassembler(sink, 4);
    assert.equal(r.feed(Buffer.from(hex + '00000000', 'hex')), false, hex);
    assert.deepEqual(sink.drops, { 'framing-error': 1 });
  }
});

test('an HTTP request is a framing error (the first 4 bytes read as a huge length)', () => {
  const sink = new RecordingSink(smallPool());
  const r = new FrameReassembler(sink, 4);
  assert.equal(r.feed(Buffer.from('GET / HTTP/1.1\r\n')), false);
  assert.deepEqual(sink.drops, { 'framing-error': 1 });
});

test('pool exhausted: the NIC counts no-buffer, the frame is skipped, the stream stays in sync', () => {
  const pool = smallPool();
  const sink = new RecordingSink(pool);
  sink.keep = true;
  const r = new FrameReassembler(sink, 2);
  const frames = Array.from({ length: 66 }, (_, i) => frameOf(100, i));
  assert.equal(r.feed(refEncode(frames, 2)), true);
  assert.equal(sink.frames.length, 64);
  assert.deepEqual(sink.drops, { 'no-buffer': 2 });
  for (const s of sink.kept) pool.free(s);
  sink.keep = false;
  assert.equal(r.feed(refEncode([golden], 2)), true);
  assert.deepEqual(sink.frames.at(-1), golden);
});

test('reset mid-frame frees the partial slot and counts it malformed; a partial prefix is simply forgotten', () => {
  const pool = smallPool();
  const sink = new RecordingSink(pool);
  const r = new FrameReassembler(sink, 4);
  const wire = refEncode([frameOf(500, 1)], 4);
  r.feed(wire.subarray(0, 200));
  assert.equal(pool.available, 63);
  r.reset();
  assert.equal(pool.available, 64);
  assert.deepEqual(sink.drops, { malformed: 1 });
  r.feed(wire.subarray(0, 2));
  r.reset();
  assert.deepEqual(sink.drops, { malformed: 1 });
  r.feed(wire);
  assert.deepEqual(sink.frames, [frameOf(500, 1)]);
});

test('one chunk of many frames is flushed every kFlushEvery frames, so a batch never exceeds it', () => {
  const pool = new PacketPool({ slots: 1024, slotSize: 2048 });
  const sink = new RecordingSink(pool);
  const r = new FrameReassembler(sink, 4);
  const frames = Array.from({ length: 600 }, (_, i) => frameOf(60, i));
  r.feed(refEncode(frames, 4));
  assert.equal(sink.frames.length, 600);
  assert.equal(sink.maxBatch, kFlushEvery);
  assert.equal(sink.flushes, Math.ceil(600 / kFlushEvery));
});

test('encodeBatch round-trips through the reassembler', () => {
  const pool = smallPool();
  const frames = [golden, frameOf(1, 9), frameOf(1920, 8), frameOf(129, 7)];
  const slots = Int32Array.from(frames.map((f) => pool.load(f)));
  for (const prefix of [4, 2] as const) {
    const sink = new RecordingSink(pool);
    new FrameReassembler(sink, prefix).feed(encodeBatch(pool, slots, slots.length, prefix));
    assert.deepEqual(sink.frames, frames);
  }
});

test('frames a 2-byte prefix cannot carry are left out of the batch and counted by the caller', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 65664 }); // maxFrame 65536 > 65535
  const slots = Int32Array.of(pool.load(frameOf(65536, 1)), pool.load(golden));
  assert.equal(countUnencodable(pool, slots, 2, 2), 1);
  assert.equal(countUnencodable(pool, slots, 2, 4), 0);
  assert.equal(encodeBatch(pool, slots, 2, 2).toString('hex'), '0010' + golden.toString('hex'));
  assert.equal(encodeBatch(pool, slots, 2, 4).length, 4 + 65536 + 4 + 16);
});
