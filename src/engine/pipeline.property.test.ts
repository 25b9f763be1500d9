/**
 * Property test of the whole pipeline (fast-check): random frames (0..2000 bytes of random bytes, often
 * with chosen MACs, sometimes with an 802.1Q or QinQ tag, sometimes a second 802.1Q tag behind it) from
 * random ingress ports of a 4-port switch
 * with random VLAN modes, MTUs and link states, injected in mixed-port batches, with link and VLAN
 * changes between batches.
 *
 * Design notes: README.md in this folder, section "pipeline.property.test.ts".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Clock } from '../dataplane/clock.js';
import { Counters, type PortField } from '../dataplane/counters.js';
import { PacketPool } from '../dataplane/pool.js';
import { MemoryNic } from '../ports/memory.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import { addTag, stripTag } from '../testing/frames.js';
import { Engine } from './engine.js';

const kPorts = 4;
const kMagic = 0x5eedf00d;
// fast-check's default size ('small') caps generated arrays near 10 elements whatever maxLength says;
// every array below asks for size 'max' so lengths really span 0..2000 bytes and 1..40 frames.

// ---- generators ----

/** MACs the generator draws from: 6 unicast (so learning and known unicast happen), broadcast, multicast. */
const macs: number[][] = [
  [0x02, 0, 0, 0, 0, 1],
  [0x02, 0, 0, 0, 0, 2],
  [0x52, 0x54, 0x80, 0, 0, 3], // lo word negative as int32
  [0x02, 0, 0, 0, 0, 4],
  [0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe],
  [0x02, 0, 0, 0, 0, 6],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
];

const vidArb = fc.constantFrom(0, 1, 10, 20, 30, 4095, 77);

const vlanArb: fc.Arbitrary<VlanConfig> = fc.oneof(
  fc.constant<VlanConfig>({ mode: 'untagged' }),
  fc.constantFrom(1, 10, 20).map((vid): VlanConfig => ({ mode: 'access', vid })),
  fc
    .record({
      allowed: fc.subarray([1, 10, 20, 30]),
      native: fc.option(fc.constantFrom(1, 10, 20, 30), { nil: undefined }),
      pruned: fc.option(fc.subarray([10, 20]), { nil: undefined }),
    })
    .map(({ allowed, native, pruned }): VlanConfig => ({ mode: 'trunk', allowed, native, pruned })),
  // private VLANs under primary 10 (shared with access 10 and trunks carrying 10)
  fc
    .record({
      pvlan: fc.constantFrom('isolated' as const, 'community' as const, 'promiscuous' as const),
      secondary: fc.subarray([100, 101, 102], { minLength: 1 }),
    })
    .map(
      ({ pvlan, secondary }): VlanConfig => ({
        mode: 'private',
        pvlan,
        primary: 10,
        secondary: pvlan === 'promiscuous' ? secondary : secondary.slice(0, 1),
      }),
    ),
);

/** Private VLAN reachability, from the rules as the brief states them (docs/vlans.md). */
function pvlanReach(a: VlanConfig, b: VlanConfig): boolean {
  const promisc = (v: VlanConfig) => v.mode !== 'private' || v.pvlan === 'promiscuous';
  const serves = (p: VlanConfig, q: VlanConfig) =>
    p.mode !== 'private' || (q.mode === 'private' && p.secondary.includes(q.secondary[0]));
  if (promisc(a) && promisc(b)) return true;
  if (promisc(a)) return serves(a, b);
  if (promisc(b)) return serves(b, a);
  return (
    a.mode === 'private' &&
    b.mode === 'private' &&
    a.pvlan === 'community' &&
    b.pvlan === 'community' &&
    a.secondary[0] === b.secondary[0]
  );
}

interface FrameSpec {
  port: number;
  bytes: Uint8Array;
  dst: number; // index into macs, or -1 keep random
  src: number;
  tag: null | { tpid: number; pcp: number; vid: number; inner: number | null }; // inner: VID of a second 802.1Q tag
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  port: fc.integer({ min: 0, max: kPorts - 1 }),
  bytes: fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 80, size: 'max' }) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 2000, size: 'max' }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1490, maxLength: 1530, size: 'max' }) },
  ),
  dst: fc.integer({ min: -1, max: macs.length - 1 }),
  src: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: -1, max: macs.length - 1 }) },
  ),
  tag: fc.option(
    fc.record({
      tpid: fc.constantFrom(0x8100, 0x8100, 0x8100, 0x88a8),
      pcp: fc.integer({ min: 0, max: 7 }),
      vid: vidArb,
      inner: fc.option(vidArb, { nil: null, freq: 2 }),
    }),
    { nil: null, freq: 2 },
  ),
});

type Ctl =
  | { t: 'admin'; port: number; up: boolean }
  | { t: 'nic'; port: number; up: boolean }
  | { t: 'vlan'; port: number; vlan: VlanConfig }
  | { t: 'mtu'; port: number; mtu: number };

const ctlArb: fc.Arbitrary<Ctl> = fc.oneof(
  fc.record({ t: fc.constant('admin' as const), port: fc.integer({ min: 0, max: kPorts - 1 }), up: fc.boolean() }),
  fc.record({ t: fc.constant('nic' as const), port: fc.integer({ min: 0, max: kPorts - 1 }), up: fc.boolean() }),
  fc.record({ t: fc.constant('vlan' as const), port: fc.integer({ min: 0, max: kPorts - 1 }), vlan: vlanArb }),
  fc.record({
    t: fc.constant('mtu' as const),
    port: fc.integer({ min: 0, max: kPorts - 1 }),
    mtu: fc.constantFrom(64, 1500, 9000),
  }),
);

const setupArb = fc.record({
  vlans: fc.array(vlanArb, { minLength: kPorts, maxLength: kPorts }),
  mtus: fc.array(fc.constantFrom(64, 1500, 9000), { minLength: kPorts, maxLength: kPorts }),
});

const stepArb = fc.record({
  ctl: fc.array(ctlArb, { maxLength: 2, size: 'max' }),
  frames: fc.array(frameArb, { minLength: 1, maxLength: 40, size: 'max' }),
});

/** Apply MACs/tag to the random bytes, then stamp a unique id in the last 8 bytes when there is room. */
function materialize(spec: FrameSpec, id: number): Uint8Array {
  const f = Uint8Array.from(spec.bytes);
  if (spec.dst >= 0) f.set(macs[spec.dst].slice(0, Math.max(0, Math.min(6, f.length))), 0);
  if (spec.src >= 0 && f.length > 6) f.set(macs[spec.src].slice(0, Math.min(6, f.length - 6)), 6);
  if (spec.tag && f.length > 12) {
    const t = spec.tag;
    const tci = (t.pcp << 13) | t.vid;
    f.set([t.tpid >> 8, t.tpid & 0xff, tci >> 8, tci & 0xff].slice(0, f.length - 12), 12);
    if (t.inner !== null && f.length > 16)
      f.set([0x81, 0x00, t.inner >> 8, t.inner & 0xff].slice(0, f.length - 16), 16);
  }
  if (f.length >= 26) {
    const v = new DataView(f.buffer);
    v.setUint32(f.length - 8, kMagic);
    v.setUint32(f.length - 4, id);
  }
  return f;
}

// ---- the model (docs/design.md, docs/vlans.md) ----

interface ModelPort {
  vlan: VlanConfig;
  mtu: number;
  adminUp: boolean;
  nicUp: boolean;
}

type Counts = Record<PortField, number>;
const zero = (): Counts => ({
  rxFrames: 0,
  rxBytes: 0,
  txFrames: 0,
  txBytes: 0,
  txUnicast: 0,
  txFlood: 0,
  vlanStripped: 0,
  vlanInserted: 0,
  linkChanges: 0,
  offSegmented: 0,
  offSegments: 0,
  offCsum: 0,
  offCoalesced: 0,
  mirrorCopies: 0,
  qosDelayed: 0,
  macLimitRefused: 0,
});

class Model {
  readonly ports: ModelPort[];
  readonly fdb = new Map<string, number>(); // "vid/mac" -> port
  readonly counts: Counts[] = [];
  readonly drops: Array<Record<string, number>> = [];
  readonly out: Uint8Array[][] = [];
  learned = 0;
  moved = 0;
  flushed = 0;
  breaths = 0;
  frames = 0;

  constructor(vlans: VlanConfig[], mtus: number[]) {
    this.ports = vlans.map((vlan, i) => ({ vlan, mtu: mtus[i], adminUp: true, nicUp: true }));
    for (let p = 0; p < vlans.length; p++) {
      this.counts.push({ ...zero(), linkChanges: 1 });
      this.drops.push({});
      this.out.push([]);
    }
  }

  up(p: number): boolean {
    return this.ports[p].adminUp && this.ports[p].nicUp;
  }

  /** VLAN of untagged frames on p, 0 for none. */
  pvid(p: number): number {
    const v = this.ports[p].vlan;
    return v.mode === 'untagged' ? 1 : v.mode === 'access' ? v.vid : v.mode === 'private' ? v.primary : (v.native ?? 0);
  }

  carries(p: number, vid: number): boolean {
    const v = this.ports[p].vlan;
    if (v.mode === 'untagged') return vid === 1;
    if (v.mode === 'access') return vid === v.vid;
    if (v.mode === 'private') return vid === v.primary;
    return (v.allowed.includes(vid) && !(v.pruned ?? []).includes(vid)) || v.native === vid;
  }

  private drop(p: number, reason: string): void {
    this.drops[p][reason] = (this.drops[p][reason] ?? 0) + 1;
  }

  private flushPort(p: number): void {
    for (const [k, port] of this.fdb)
      if (port === p) {
        this.fdb.delete(k);
        this.flushed++;
      }
  }

  ctl(c: Ctl): void {
    const port = this.ports[c.port];
    if (c.t === 'vlan') {
      port.vlan = c.vlan;
      this.flushPort(c.port);
    } else if (c.t === 'mtu') port.mtu = c.mtu;
    else {
      const was = this.up(c.port);
      if (c.t === 'admin') port.adminUp = c.up;
      else port.nicUp = c.up;
      if (was !== this.up(c.port)) {
        this.counts[c.port].linkChanges++;
        if (was) this.flushPort(c.port);
      }
    }
  }

  /** One breath: ingress for all, learn for all, forward + egress in batch order. */
  batch(frames: Array<{ port: number; f: Uint8Array }>): void {
    if (frames.length === 0) return;
    this.breaths++;
    this.frames += frames.length;
    const live: Array<{ port: number; f: Uint8Array; vid: number; pcp: number }> = [];
    for (const { port, f } of frames) {
      const c = this.counts[port];
      c.rxFrames++;
      c.rxBytes += f.length;
      if (!this.up(port)) this.drop(port, 'link-down');
      else if (f.length < 14) this.drop(port, 'malformed');
      else if (f[6] & 1) this.drop(port, 'src-multicast');
      else if (f[12] === 0x81 && f[13] === 0x00) {
        if (f.length < 18) {
          this.drop(port, 'truncated-vlan');
          continue;
        }
        const tci = (f[14] << 8) | f[15];
        let vid = tci & 0xfff;
        // no VLAN hopping: only a trunk takes VLAN tags; a priority tag over a second tag hops anywhere
        if (vid === 0 && f[16] === 0x81 && f[17] === 0x00) {
          this.drop(port, 'vlan-double-tagged');
          continue;
        }
        if (vid !== 0 && this.ports[port].vlan.mode !== 'trunk') {
          this.drop(port, 'vlan-tagged-on-access');
          continue;
        }
        if (vid === 0) vid = this.pvid(port);
        else if (vid === 4095 || !this.carries(port, vid)) vid = 0;
        if (vid === 0) {
          this.drop(port, 'vlan-not-allowed');
          continue;
        }
        c.vlanStripped++;
        live.push({ port, f: stripTag(f), vid, pcp: tci >> 13 });
      } else {
        const vid = this.pvid(port);
        if (vid === 0) this.drop(port, 'vlan-not-allowed');
        else live.push({ port, f, vid, pcp: 0 });
      }
    }
    const key = (vid: number, f: Uint8Array, at: number) =>
      `${vid}/${Buffer.from(f.subarray(at, at + 6)).toString('hex')}`;
    for (const x of live) {
      const k = key(x.vid, x.f, 6);
      const had = this.fdb.get(k);
      if (had === undefined) this.learned++;
      else if (had !== x.port) this.moved++;
      this.fdb.set(k, x.port);
    }
    for (const x of live) {
      const group = (x.f[0] & 1) !== 0;
      const d = group ? undefined : this.fdb.get(key(x.vid, x.f, 0));
      if (d === x.port) {
        this.drop(x.port, 'same-port');
        continue;
      }
      const reach = (q: number) => pvlanReach(this.ports[x.port].vlan, this.ports[q].vlan);
      const dests =
        d === undefined
          ? [0, 1, 2, 3].filter((q) => q !== x.port && this.up(q) && this.carries(q, x.vid) && reach(q))
          : [d];
      for (const q of dests) {
        if (d !== undefined && !this.up(q)) {
          this.drop(q, 'link-down');
          continue;
        }
        if (d !== undefined && !this.carries(q, x.vid)) {
          this.drop(q, 'vlan-not-allowed');
          continue;
        }
        if (d !== undefined && !reach(q)) {
          this.drop(q, 'pvlan-isolated');
          continue;
        }
        if (x.f.length - 14 > this.ports[q].mtu) {
          this.drop(q, 'mtu-exceeded');
          continue;
        }
        let g = x.f;
        if (x.vid !== this.pvid(q)) {
          g = addTag(x.f, x.pcp, x.vid);
          this.counts[q].vlanInserted++;
        }
        this.out[q].push(g);
        const c = this.counts[q];
        c.txFrames++;
        c.txBytes += g.length;
        if (d === undefined) c.txFlood++;
        else c.txUnicast++;
      }
    }
  }
}

// ---- the property ----

test('property: random frames through the whole pipeline match the model, conserve frames and leak no slot', () => {
  fc.assert(
    fc.property(setupArb, fc.array(stepArb, { minLength: 1, maxLength: 6, size: 'max' }), (setup, steps) => {
      const pool = new PacketPool({ slots: 1024, slotSize: 4096 });
      const eng = new Engine({ clock: new Clock(true), pool });
      const nics: MemoryNic[] = [];
      for (let p = 0; p < kPorts; p++) {
        assert.equal(eng.addPort(setup.vlans[p], setup.mtus[p]), p);
        nics.push(new MemoryNic());
        eng.attach(p, nics[p]);
      }
      const model = new Model(setup.vlans, setup.mtus);
      const free0 = pool.available;
      let nextId = 1;
      const ingressOf = new Map<number, number>();
      let injected = 0;
      for (const step of steps) {
        for (const c of step.ctl) {
          if (c.t === 'admin') eng.setAdmin(c.port, c.up);
          else if (c.t === 'nic') nics[c.port].setConnected(c.up);
          else if (c.t === 'vlan') eng.setVlan(c.port, c.vlan);
          else eng.setMtu(c.port, c.mtu);
          model.ctl(c);
        }
        // one mixed-port batch, as several NICs delivering before one flush
        const batch = step.frames.map((spec) => {
          const id = nextId++;
          ingressOf.set(id, spec.port);
          return { port: spec.port, f: materialize(spec, id) };
        });
        for (const { port, f } of batch) {
          const s = pool.load(f, port);
          assert.ok(s >= 0, 'pool sized for the batch');
          eng.enqueue(port, s);
        }
        eng.breathe();
        injected += batch.length;
        model.batch(batch);

        assert.equal(pool.available, free0, 'no slot leaked or freed twice');
        // conservation and the ingress-port rule, from the ids alone
        const seen = new Map<number, Set<number>>();
        for (let p = 0; p < kPorts; p++)
          for (const g of nics[p].received) {
            if (g.length < 26) continue;
            const v = new DataView(g.buffer, g.byteOffset, g.length);
            if (v.getUint32(g.length - 8) !== kMagic) continue;
            const id = v.getUint32(g.length - 4);
            const from = ingressOf.get(id);
            assert.notEqual(from, undefined, 'delivered frame was injected');
            assert.notEqual(from, p, `frame ${id} went back to its ingress port ${p}`);
            const to = seen.get(id) ?? new Set<number>();
            assert.ok(!to.has(p), `frame ${id} delivered twice to port ${p}`);
            to.add(p);
            seen.set(id, to);
            assert.ok(to.size <= kPorts - 1);
          }
        const c = eng.counters;
        let rx = 0;
        let tx = 0;
        let txKinds = 0;
        for (let p = 0; p < kPorts; p++) {
          const f = c.readPort(p).fields;
          rx += f.rxFrames;
          tx += f.txFrames;
          txKinds += f.txUnicast + f.txFlood;
        }
        assert.equal(rx, injected, 'every injected frame counted as received');
        assert.equal(tx, txKinds, 'every transmitted frame is a unicast or a flood copy');
        // the model: exact bytes in order, exact counters
        for (let p = 0; p < kPorts; p++) {
          assert.deepEqual(nics[p].received, model.out[p], `frames delivered to port ${p}`);
          assert.deepEqual(c.readPort(p), { fields: model.counts[p], drops: model.drops[p] }, `counters of port ${p}`);
        }
        const g = c.readGlobal();
        assert.deepEqual(
          {
            entries: g.fdbEntries,
            learned: g.fdbLearned,
            moved: g.fdbMoved,
            flushed: g.fdbFlushed,
            refused: g.fdbRefused,
            aged: g.fdbAged,
            breaths: g.breaths,
            frames: g.frames,
          },
          {
            entries: model.fdb.size,
            learned: model.learned,
            moved: model.moved,
            flushed: model.flushed,
            refused: 0,
            aged: 0,
            breaths: model.breaths,
            frames: model.frames,
          },
        );
        // drops: each frame that reached no port has a counted reason somewhere
        let drops = 0;
        for (let p = 0; p < kPorts; p++) for (const n of Object.values(c.readPort(p).drops)) drops += n;
        const ingressDrops = [0, 1, 2].reduce((s, n) => s + c.c[Counters.nodeDrops(n)], 0);
        assert.equal(
          c.c[Counters.nodePackets(3)] + ingressDrops,
          injected,
          'every frame reached egress or was dropped with a reason before it',
        );
        assert.ok(drops >= ingressDrops);
      }
    }),
    { numRuns: 150 },
  );
});

test('property: full 256-frame batches of floods with mixed tagged/untagged receivers leak nothing', () => {
  fc.assert(
    fc.property(setupArb, fc.array(frameArb, { minLength: 256, maxLength: 256 }), (setup, specs) => {
      const pool = new PacketPool({ slots: 1024, slotSize: 4096 });
      const eng = new Engine({ clock: new Clock(true), pool });
      const nics: MemoryNic[] = [];
      for (let p = 0; p < kPorts; p++) {
        eng.addPort(setup.vlans[p], setup.mtus[p]);
        nics.push(new MemoryNic({ capture: false }));
        eng.attach(p, nics[p]);
      }
      const free0 = pool.available;
      for (const spec of specs) {
        const f = materialize({ ...spec, dst: 6 }, 0); // broadcast: every frame floods
        const s = pool.load(f, spec.port);
        eng.enqueue(spec.port, s); // the 256th enqueue runs the breath
      }
      eng.breathe();
      assert.equal(pool.available, free0);
      const g = eng.counters.readGlobal();
      assert.equal(g.frames, 256);
      assert.equal(g.breaths, 1);
      let tx = 0;
      let rx = 0;
      for (let p = 0; p < kPorts; p++) {
        const f = eng.counters.readPort(p).fields;
        tx += f.txFrames;
        rx += f.rxFrames;
        assert.equal(f.txFrames, nics[p].sent);
        assert.equal(f.txUnicast, 0);
      }
      assert.equal(rx, 256);
      assert.ok(tx <= 256 * (kPorts - 1));
    }),
    { numRuns: 40 },
  );
});
