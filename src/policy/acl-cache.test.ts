/**
 * The basic-ACL verdict cache (acl.ts: `probe` straight from the frame bytes, `lookup` after a parse) must
 * be invisible: for any rule set and frame, a warm table decides exactly as a cold one and counts every
 * frame on the same rules. Property test: random rule sets over a small address space (so rules and
 * frames collide often), random frames of every shape the probe handles or declines (IPv4 with broken
 * headers, IPv6, ARP, tagged, short), each judged by a fresh table and then three times by a warm one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildArpRequest, buildEthernet, buildUdp4, buildUdp6 } from '../packet/frame.js';
import { compileAcls, kDirIn, kDirOut, type AclTable } from './acl.js';
import type { AclRule } from './config.js';
import { family, walked } from '../packet/walk.js';
import { FlowKey } from './flow-key.js';

const macs = ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:01:02', '52:54:80:00:00:02']; // the last: low word >= 2^31
const ip4s = ['10.0.0.1', '10.0.0.2', '10.0.1.2', '192.168.0.1'];
const ip6s = ['2001:db8::1', '2001:db8::2', '2001:db8:1::2', '2001:db8::1:0:0:2'];

const selector = fc.oneof(
  fc.constantFrom(...macs).map((m) => ({ mac: m })),
  fc
    .record({ a: fc.constantFrom(...ip4s), n: fc.constantFrom(0, 8, 16, 24, 32) })
    .map(({ a, n }) => ({ ip: `${a}/${n}` })),
  fc
    .record({ a: fc.constantFrom(...ip6s), n: fc.constantFrom(0, 48, 127, 128, 128) })
    .map(({ a, n }) => ({ ip: `${a}/${n}` })),
  fc.constant({ ip: 'any' }),
);

const rule: fc.Arbitrary<AclRule> = fc
  .record({
    action: fc.constantFrom('allow' as const, 'deny' as const, 'meter' as const),
    direction: fc.constantFrom('inbound' as const, 'outbound' as const, 'both' as const),
    local: fc.option(selector, { nil: undefined }),
    remote: selector,
  })
  .filter(
    ({ local, remote }) =>
      !local ||
      !('ip' in local && 'ip' in remote) ||
      local.ip === 'any' ||
      remote.ip === 'any' ||
      local.ip.includes(':') === remote.ip.includes(':'),
  )
  .map(({ action, direction, local, remote }) => {
    const r: AclRule = { action, direction };
    if (local) Object.assign(r, 'mac' in local ? { localMac: local.mac } : { localIp: local.ip });
    Object.assign(r, 'mac' in remote ? { remoteMac: remote.mac } : { remoteIp: remote.ip });
    return r;
  });

const frame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .record({
      s: fc.constantFrom(...macs),
      d: fc.constantFrom(...macs),
      si: fc.constantFrom(...ip4s),
      di: fc.constantFrom(...ip4s),
    })
    .map(({ s, d, si, di }) => buildUdp4({ srcMac: s, dstMac: d, srcIp: si, dstIp: di, srcPort: 1, dstPort: 2 })),
  // IPv6 between one MAC pair: keys that differ only in address words, where the inner words matter
  fc
    .record({ si: fc.constantFrom(...ip6s), di: fc.constantFrom(...ip6s) })
    .map(({ si, di }) =>
      buildUdp6({ srcMac: macs[0]!, dstMac: macs[1]!, srcIp: si, dstIp: di, srcPort: 1, dstPort: 2 }),
    ),
  fc
    .record({ s: fc.constantFrom(...macs) })
    .map(({ s }) => buildArpRequest({ srcMac: s, srcIp: '10.0.0.1', targetIp: '10.0.0.2' })),
  // IPv4 with a broken header (version, IHL, total length) or cut short: family 0 for the probe and the parse alike
  fc
    .record({
      s: fc.constantFrom(...macs),
      d: fc.constantFrom(...macs),
      at: fc.constantFrom(14, 16, 17),
      val: fc.integer({ min: 0, max: 255 }),
      cut: fc.integer({ min: 14, max: 60 }),
    })
    .map(({ s, d, at, val, cut }) => {
      const f = buildUdp4({
        srcMac: s,
        dstMac: d,
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: 1,
        dstPort: 2,
        payload: new Uint8Array(8),
      });
      f[at] = val;
      return f.subarray(0, Math.min(cut, f.length));
    }),
  fc.record({ s: fc.constantFrom(...macs), d: fc.constantFrom(...macs) }).map(({ s, d }) =>
    buildUdp4({
      srcMac: s,
      dstMac: d,
      srcIp: '10.0.0.1',
      dstIp: '10.0.1.2',
      srcPort: 1,
      dstPort: 2,
      vlan: { vid: 5 },
    }),
  ),
  fc
    .record({ s: fc.constantFrom(...macs), d: fc.constantFrom(...macs) })
    .map(({ s, d }) => buildEthernet({ src: s, dst: d, ethertype: 0x88b5, payload: new Uint8Array(4) })),
);

/** The engine's order (acls.ts check): probe from the header record, else parse and evaluate. */
function judge(t: AclTable, dir: number, pool: PacketPool, key: FlowKey, f: Uint8Array): number {
  const s = pool.load(f, 0);
  try {
    const start = pool.slotBase(s) + pool.meta32[(s << Meta.shift) + Meta.off]!;
    const fam = family(walked(pool, s));
    const r = t.probe(dir, pool.view, start, pool.meta32[(s << Meta.shift) + Meta.l3]!, fam, f.length);
    if (r >= 0) return r;
    key.parse(pool, s);
    return t.evaluate(dir, key, f.length);
  } finally {
    pool.free(s);
  }
}

test('property: the verdict cache never changes a decision or a counter', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const key = new FlowKey();
  fc.assert(
    fc.property(
      fc.array(rule, { minLength: 1, maxLength: 12 }),
      fc.array(frame, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(1, 2, 8),
      (rules, frames, bits) => {
        const warm = compileAcls(rules, bits); // a tiny cache: entries collide and get replaced
        for (const dir of [kDirOut, kDirIn])
          for (const f of frames) {
            const cold = compileAcls(rules);
            const want = judge(cold, dir, pool, key, f);
            for (let i = 0; i < 3; i++) assert.equal(judge(warm, dir, pool, key, f), want);
            // the warm table counted this frame three times on the same rules the cold one counted once
            const before = Array.from(warm.hits);
            judge(warm, dir, pool, key, f);
            const delta = Array.from(warm.hits).map((x, i) => x - before[i]!);
            assert.deepEqual(delta, Array.from(cold.hits));
          }
        assert.ok(warm.cacheStats[0]! > 0, 'the cache answered some lookups');
      },
    ),
    { numRuns: 400 },
  );
});
