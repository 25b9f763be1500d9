/**
 * The header walk: golden records for each kind of frame, a record shifted across a tag strip or insert
 * equals a fresh walk of the new bytes (fast-check), and the stages read the record rather than the bytes
 * (a frame walked once and then rewritten is still judged by what was recorded).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { rssHash, kNoHash } from '../queues/rss.js';
import { FlowKey } from '../policy/flow-key.js';
import { buildEthernet, buildTcp6, buildUdp4 } from './frame.js';
import * as vlan from './vlan.js';
import {
  family,
  kFamBad,
  kFamIpv4,
  kFamIpv6,
  kFamNone,
  kFragFirst,
  kFragLater,
  kInnerTag,
  protocol,
  shiftL2,
  walk,
  walked,
} from './walk.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const udp4 = (opts: { vid?: number; payload?: number } = {}) =>
  buildUdp4({
    srcMac: A,
    dstMac: B,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1000,
    dstPort: 53,
    payload: new Uint8Array(opts.payload ?? 20),
    ...(opts.vid === undefined ? {} : { vlan: { vid: opts.vid } }),
  });
const tcp6 = (vid?: number) =>
  buildTcp6({
    srcMac: A,
    dstMac: B,
    srcIp: 'fd00::1',
    dstIp: 'fd00::2',
    srcPort: 1000,
    dstPort: 80,
    ...(vid === undefined ? {} : { vlan: { vid } }),
  });

function record(
  pool: PacketPool,
  f: Uint8Array,
): { fam: number; proto: number; l3: number; l4: number; flags: number } {
  const s = pool.load(f);
  const h = walk(pool, s);
  assert.ok(h > 0 && h < 1 << 16, `hdr ${h} is a small integer (never a heap number per frame)`);
  const out = {
    fam: family(h),
    proto: protocol(h),
    l3: pool.meta32[(s << Meta.shift) + Meta.l3],
    l4: pool.meta32[(s << Meta.shift) + Meta.l4],
    flags: h & (kFragFirst | kFragLater | kInnerTag),
  };
  pool.free(s);
  return out;
}

test('golden records: IPv4/UDP, tagged IPv6/TCP, fragments, bad headers, non-IP, short and double-tagged frames', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  assert.deepEqual(record(pool, udp4()), { fam: kFamIpv4, proto: 17, l3: 14, l4: 34, flags: 0 });
  assert.deepEqual(record(pool, tcp6(7)), { fam: kFamIpv6, proto: 6, l3: 18, l4: 58, flags: 0 });
  const first = udp4();
  first[14 + 6] = 0x20; // MF, offset 0
  assert.deepEqual(record(pool, first), { fam: kFamIpv4, proto: 17, l3: 14, l4: 34, flags: kFragFirst });
  const later = udp4();
  later[14 + 7] = 0x10; // offset 16 x 8 bytes
  assert.equal(record(pool, later).flags, kFragLater);
  const opts = udp4();
  opts[14] = 0x46; // IHL 6 claims 24 header bytes: still within the datagram, so L4 moves 4 on
  assert.equal(record(pool, opts).l4, 38);
  const bad = udp4();
  bad[14 + 3] = 0xff; // total length beyond the frame
  assert.equal(record(pool, bad).fam, kFamBad);
  assert.deepEqual(record(pool, buildEthernet({ src: A, dst: B, ethertype: 0x0806, payload: new Uint8Array(28) })), {
    fam: kFamNone,
    proto: 0,
    l3: 14,
    l4: 0,
    flags: 0,
  });
  assert.deepEqual(record(pool, udp4().subarray(0, 13)), { fam: kFamNone, proto: 0, l3: 0, l4: 0, flags: 0 });
  assert.deepEqual(
    record(pool, udp4({ vid: 5 }).subarray(0, 16)),
    { fam: kFamBad, proto: 0, l3: 0, l4: 0, flags: 0 },
    'a tag cut short',
  );
  const qinq = buildEthernet({
    src: A,
    dst: B,
    ethertype: 0x8100,
    payload: new Uint8Array([0, 5, 0x08, 0x00, ...udp4().subarray(14)]),
    vlan: { vid: 9 },
  });
  assert.deepEqual(
    record(pool, qinq),
    { fam: kFamNone, proto: 0, l3: 18, l4: 0, flags: kInnerTag },
    'one tag is skipped, not two',
  );
});

test('property: a record shifted across a tag strip or insert equals a fresh walk of the new bytes', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const frames = fc.oneof(
    fc
      .record({
        vid: fc.option(fc.integer({ min: 1, max: 4094 }), { nil: undefined }),
        payload: fc.integer({ min: 0, max: 40 }),
      })
      .map((o) => udp4(o)),
    fc.option(fc.integer({ min: 1, max: 4094 }), { nil: undefined }).map((v) => tcp6(v)),
    fc.uint8Array({ minLength: 14, maxLength: 80 }),
  );
  fc.assert(
    fc.property(frames, fc.nat(255), fc.nat(255), (f, at, val) => {
      const g = f.slice();
      if (g.length > 14) g[14 + (at % (g.length - 14))] = val; // disturb the headers after L2
      const s = pool.load(g);
      walk(pool, s);
      const start = pool.frameStart(s);
      if (vlan.isTagged(pool.view, start) && pool.meta32[(s << Meta.shift) + Meta.len] >= vlan.field.headerLen) {
        vlan.popTag(pool.view, start);
        pool.meta32[(s << Meta.shift) + Meta.off] += 4;
        pool.meta32[(s << Meta.shift) + Meta.len] -= 4;
        shiftL2(pool, s, -4);
      } else {
        vlan.pushTag(pool.view, start, 10);
        pool.meta32[(s << Meta.shift) + Meta.off] -= 4;
        pool.meta32[(s << Meta.shift) + Meta.len] += 4;
        shiftL2(pool, s, 4);
      }
      const kept = [
        pool.meta32[(s << Meta.shift) + Meta.hdr],
        pool.meta32[(s << Meta.shift) + Meta.l3],
        pool.meta32[(s << Meta.shift) + Meta.l4],
      ];
      const h = walk(pool, s);
      if (kept[0] !== 0)
        assert.deepEqual(kept, [h, pool.meta32[(s << Meta.shift) + Meta.l3], pool.meta32[(s << Meta.shift) + Meta.l4]]);
      pool.free(s);
    }),
    { numRuns: 2000 },
  );
});

test('stages read the record: a frame walked once is hashed and keyed as recorded, not walked again', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const s = pool.load(udp4());
  assert.notEqual(rssHash(pool, s), kNoHash);
  const h = pool.meta32[(s << Meta.shift) + Meta.hdr];
  pool.view.setUint16(pool.frameStart(s) + 12, 0x0806); // the bytes now claim ARP
  assert.equal(walked(pool, s), h, 'the record stands');
  assert.notEqual(rssHash(pool, s), kNoHash, 'RSS hashed the recorded IPv4/UDP');
  const key = new FlowKey();
  key.parse(pool, s);
  assert.deepEqual([key.family, key.protocol, key.srcPort, key.dstPort], [4, 17, 1000, 53], 'the ACL flow key too');
  pool.meta32[(s << Meta.shift) + Meta.hdr] = 0; // a stage that moved the bytes clears it: the next one walks again
  assert.equal(rssHash(pool, s), kNoHash);
});
