/**
 * The slot metadata record: one 64-byte line per slot, its fields at distinct offsets, neighbours never
 * sharing a line, and a record copied whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketPool } from './pool.js';
import { copySlotMeta, Meta, Meta16 } from './slot-meta.js';

const fields32 = {
  off: Meta.off,
  len: Meta.len,
  port: Meta.port,
  vid: Meta.vid,
  pcp: Meta.pcp,
  aux: Meta.aux,
  dst: Meta.dst,
  refs: Meta.refs,
  hdr: Meta.hdr,
  l3: Meta.l3,
  l4: Meta.l4,
  hash: Meta.hash,
  oflags: Meta.oflags,
  gsoType: Meta.gsoType,
  csumStart: Meta.csumStart,
};

test('a record is one 64-byte line; the Int32 fields and the two Uint16 ones do not overlap', () => {
  assert.equal(Meta.words << 2, Meta.bytes);
  assert.equal(1 << Meta.shift, Meta.words);
  assert.equal(1 << Meta16.shift, Meta.words * 2);
  const bytes = new Set<number>();
  for (const [name, w] of Object.entries(fields32))
    for (let b = w * 4; b < w * 4 + 4; b++) {
      assert.ok(b < Meta.bytes && !bytes.has(b), `${name} at word ${w} overlaps or leaves the record`);
      bytes.add(b);
    }
  for (const [name, h] of Object.entries({ gsoSize: Meta16.gsoSize, csumOffset: Meta16.csumOffset }))
    for (let b = h * 2; b < h * 2 + 2; b++) {
      assert.ok(b < Meta.bytes && !bytes.has(b), `${name} at half-word ${h} overlaps or leaves the record`);
      bytes.add(b);
    }
});

test('each slot has its own line: writing every field of one slot leaves its neighbours alone', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  assert.equal(pool.meta.byteLength, 64 * Meta.bytes);
  const s = 10;
  for (const w of Object.values(fields32)) pool.meta32[(s << Meta.shift) + w] = -1;
  pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = 0xffff;
  pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = 0xffff;
  const line = new Uint8Array(pool.meta, s * Meta.bytes, Meta.bytes);
  assert.ok(line.every((b) => b === 0xff));
  const before = new Uint8Array(pool.meta, (s - 1) * Meta.bytes, Meta.bytes);
  const after = new Uint8Array(pool.meta, (s + 1) * Meta.bytes, Meta.bytes);
  assert.ok(before.every((b) => b === 0) && after.every((b) => b === 0));
});

test('copySlotMeta copies the whole record, the 16-bit fields included', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  for (let i = 0; i < Meta.words; i++) pool.meta32[(3 << Meta.shift) + i] = 1000 + i;
  copySlotMeta(pool.meta32, 3, 7);
  for (let i = 0; i < Meta.words; i++) assert.equal(pool.meta32[(7 << Meta.shift) + i], 1000 + i);
  assert.equal(pool.meta16[(7 << Meta16.shift) + Meta16.gsoSize], pool.meta16[(3 << Meta16.shift) + Meta16.gsoSize]);
});

test('alloc resets what a new frame must not inherit and points off at the headroom', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const s = pool.alloc();
  for (let i = 0; i < Meta.words; i++) pool.meta32[(s << Meta.shift) + i] = 77;
  pool.free(s);
  const t = pool.alloc();
  assert.equal(t, s);
  const at = t << Meta.shift;
  assert.equal(pool.meta32[at + Meta.off], pool.headroom);
  for (const f of [Meta.len, Meta.refs, Meta.vid, Meta.pcp, Meta.aux, Meta.oflags, Meta.gsoType, Meta.hdr])
    assert.equal(pool.meta32[at + f], 0);
});
