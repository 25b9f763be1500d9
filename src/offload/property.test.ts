/**
 * Property tests (fast-check): for random payload lengths 0..64000 and MSS 536..9000, over IPv4/IPv6,
 * tagged or not, with or without TCP timestamps (and IPv4 options for segmentation alone):
 * - segmenting a GSO frame gives segments of at most MSS whose checksums all verify, whose payloads
 *   concatenate to the original's and whose sequence numbers are contiguous;
 * - coalescing those segments gives back the original GSO frame, bytes and offload metadata (or, for a
 *   single segment, the original with its checksum completed);
 * - after freeing everything pool.available is back where it started.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { kGsoTcp4, kGsoTcp6, PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { verifyIpv4Header } from '../packet/checksum.js';
import { completeChecksum, verifyL4Checksum } from './checksum.js';
import { CoalesceResult, coalesceTcp } from './coalesce.js';
import { build, kTcpAck, kTcpPsh, loadPartial, offsets, timestampOption } from './fixtures.js';
import { segmentGso, segmentTcp, segmentUdpL4 } from './segment.js';

const pool = new PacketPool({ slots: 512, slotSize: 65792 }); // 64 KiB + 256: a whole GSO frame fits
const out = new Int32Array(256); // 64000 / 536 = 120 segments at most
const res = new CoalesceResult(256);
const kRuns = 200; // each run moves up to 64 KB three times: about 2 s in all

const arb = fc.record({
  total: fc.integer({ min: 0, max: 64000 }),
  mss: fc.integer({ min: 536, max: 9000 }), // RFC 9293 default MSS .. a 9000-byte jumbo
  v6: fc.boolean(),
  tagged: fc.boolean(),
  ts: fc.boolean(),
  ipOptions: fc.boolean(),
  psh: fc.boolean(),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  ident: fc.integer({ min: 0, max: 0xffff }),
  seed: fc.integer({ min: 0, max: 255 }),
});

test('segment then coalesce gives back the GSO frame; every checksum verifies; no slot leaked', () => {
  fc.assert(
    fc.property(arb, (r) => {
      const start = pool.available;
      const payload = new Uint8Array(r.total);
      for (let i = 0; i < r.total; i++) payload[i] = (i * 131 + r.seed + (i >> 9)) & 0xff;
      const ipOptions = r.ipOptions && !r.v6 ? new Uint8Array([1, 1, 1, 0]) : undefined; // NOPs + EOL
      const spec = {
        v6: r.v6,
        vlan: r.tagged ? { vid: 1 + (r.seed & 0xfff), pcp: r.seed & 7 } : undefined,
        tcpOptions: r.ts ? timestampOption(r.seed * 1000, 42) : undefined,
        ipOptions,
        seq: r.seq,
        ident: r.ident,
        flags: kTcpAck | (r.psh ? kTcpPsh : 0),
      };
      const whole = build({ ...spec, payload });
      const gso = loadPartial(pool, whole, r.v6 ? kGsoTcp6 : kGsoTcp4, r.mss);
      const original = pool.copyOut(gso);
      const { l3, l4 } = offsets(whole);
      const hdr = whole.length - r.total;

      const n = segmentTcp(pool, gso, r.mss, out, 0);
      assert.equal(n, Math.max(1, Math.ceil(r.total / r.mss)));
      let off = 0;
      for (let k = 0; k < n; k++) {
        const s = out[k]!;
        const f = pool.frameStart(s);
        const chunk = pool.meta32[(s << Meta.shift) + Meta.len]! - hdr;
        assert.ok(chunk <= r.mss && (k === n - 1 || chunk === r.mss), `segment ${k} size ${chunk}`);
        assert.ok(verifyL4Checksum(pool, s), `segment ${k} L4 checksum`);
        if (!r.v6) assert.ok(verifyIpv4Header(pool.bytes, f + l3), `segment ${k} IPv4 checksum`);
        assert.equal(pool.view.getUint32(f + l4 + 4), (r.seq + off) >>> 0, `segment ${k} seq`);
        assert.deepEqual(pool.bytes.subarray(f + hdr, f + hdr + chunk), payload.subarray(off, off + chunk));
        off += chunk;
      }
      assert.equal(off, r.total);

      const kept = coalesceTcp(pool, out, n, pool.maxFrame, res);
      if (ipOptions) {
        assert.equal(kept, n, 'IPv4 options: nothing merges');
      } else if (n === 1) {
        assert.equal(kept, 1);
        assert.equal(completeChecksum(pool, gso), 0);
        assert.deepEqual(pool.copyOut(out[0]!), pool.copyOut(gso), 'one segment = the original, checksum completed');
      } else {
        assert.equal(kept, 1, 'one flow, in order: one GSO frame');
        const m = out[0]!;
        assert.deepEqual(pool.copyOut(m), original, 'bytes of the original GSO frame');
        assert.deepEqual(
          [
            pool.meta32[(m << Meta.shift) + Meta.gsoType],
            pool.meta16[(m << Meta16.shift) + Meta16.gsoSize],
            pool.meta32[(m << Meta.shift) + Meta.oflags],
            pool.meta32[(m << Meta.shift) + Meta.csumStart],
            pool.meta16[(m << Meta16.shift) + Meta16.csumOffset],
          ],
          [
            pool.meta32[(gso << Meta.shift) + Meta.gsoType],
            r.mss,
            pool.meta32[(gso << Meta.shift) + Meta.oflags],
            pool.meta32[(gso << Meta.shift) + Meta.csumStart],
            pool.meta16[(gso << Meta16.shift) + Meta16.csumOffset],
          ],
        );
        assert.equal(completeChecksum(pool, m), 0);
        assert.ok(verifyL4Checksum(pool, m));
      }
      for (let i = 0; i < res.count; i++) pool.free(out[i]!);
      for (let i = 0; i < res.freedCount; i++) pool.free(res.freed[i]!);
      pool.free(gso);
      assert.equal(pool.available, start);
    }),
    { numRuns: kRuns },
  );
});

test('fuzz: mutated and truncated frames with random offload metadata never throw and never leak a slot', () => {
  const seeds = [
    build({ payload: new Uint8Array(3000) }),
    build({ v6: true, vlan: { vid: 9 }, payload: new Uint8Array(2500), tcpOptions: timestampOption(1, 2) }),
    build({ udp: true, payload: new Uint8Array(2000) }),
    build({ ipOptions: new Uint8Array([1, 1, 1, 0]), payload: new Uint8Array(1000) }),
  ];
  const arbFrame = fc.record({
    which: fc.integer({ min: 0, max: seeds.length - 1 }),
    cut: fc.integer({ min: 0, max: 3200 }),
    flips: fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), // header bytes
    gsoType: fc.constantFrom(0, 1, 3, 4, 5, 0x81, 0x84, 0x42),
    gsoSize: fc.integer({ min: -10, max: 70000 }),
    oflags: fc.integer({ min: 0, max: 3 }),
    csumStart: fc.integer({ min: -5, max: 3300 }),
    csumOffset: fc.integer({ min: -5, max: 3300 }),
  });
  fc.assert(
    fc.property(arbFrame, arbFrame, (a, b) => {
      const start = pool.available;
      const slots = new Int32Array(2);
      [a, b].forEach((r, i) => {
        const f = seeds[r.which]!.slice(0, Math.max(0, Math.min(r.cut, seeds[r.which]!.length)));
        for (const [at, v] of r.flips) if (at < f.length) f[at] = v;
        const s = pool.load(f);
        pool.meta32[(s << Meta.shift) + Meta.gsoType] = r.gsoType;
        pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = r.gsoSize;
        pool.meta32[(s << Meta.shift) + Meta.oflags] = r.oflags;
        pool.meta32[(s << Meta.shift) + Meta.csumStart] = r.csumStart;
        pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = r.csumOffset;
        slots[i] = s;
      });
      for (const fn of [
        () => segmentTcp(pool, slots[0]!, pool.meta16[(slots[0]! << Meta16.shift) + Meta16.gsoSize]!, out, 0),
        () => segmentGso(pool, slots[0]!, out, 0),
        () => segmentUdpL4(pool, slots[0]!, 1000, out, 0),
      ]) {
        const n = fn();
        for (let i = 0; i < n; i++) {
          assert.ok(verifyL4Checksum(pool, out[i]!), 'whatever was produced verifies');
          pool.free(out[i]!);
        }
      }
      completeChecksum(pool, slots[1]!);
      const kept = coalesceTcp(pool, slots, 2, pool.maxFrame, res);
      for (let i = 0; i < kept; i++) pool.free(slots[i]!);
      for (let i = 0; i < res.freedCount; i++) pool.free(res.freed[i]!);
      assert.equal(pool.available, start);
    }),
    { numRuns: 1000 },
  );
});
