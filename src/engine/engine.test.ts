/**
 * Engine tests: the whole single-threaded datapath (ingress -> learn -> forward -> egress -> transmit)
 * driven through MemoryNic endpoints, with a manual clock. Every scenario asserts the exact bytes each
 * port received and the exact counters (Counters.readPort / readGlobal), and that no pool slot leaked.
 *
 * Frames are built here by hand (a private helper; src/packet/frame.ts did not exist when this was
 * written), anchored by golden hex strings so the helper itself is checked; tags are inserted and stripped
 * by testing/frames.ts, shared with offload.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock } from '../dataplane/clock.js';
import { Counters, type PortField } from '../dataplane/counters.js';
import { PacketPool } from '../dataplane/pool.js';
import { MemoryNic } from '../ports/memory.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import { addTag, stripTag } from '../testing/frames.js';
import { Engine, type LinkChange } from './engine.js';

// ---- frames ----

type Mac = readonly number[];
const BCAST: Mac = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const MCAST: Mac = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
const mac = (n: number): Mac => [0x02, 0x00, 0x5e, 0x10, 0x00, n];
const A = mac(0xa);
const B = mac(0xb);
const C = mac(0xc);
const D = mac(0xd);

/** Untagged frame of `len` bytes in all: dst, src, EtherType, then a payload pattern; len < 14 truncates. */
function eth(dst: Mac, src: Mac, len = 60, type = 0x0800, seed = 1): Uint8Array {
  const f = new Uint8Array(Math.max(len, 14));
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  for (let i = 14; i < f.length; i++) f[i] = (seed * 13 + i * 7) & 0xff;
  return f.slice(0, len);
}

/** 802.1Q-tagged frame of `len` bytes in all (TPID 0x8100, TCI = pcp << 13 | vid); len < 18 truncates. */
function tagged(dst: Mac, src: Mac, pcp: number, vid: number, len = 64, type = 0x0800, seed = 1): Uint8Array {
  const inner = eth(dst, src, Math.max(len - 4, 14), type, seed);
  return addTag(inner, pcp, vid).slice(0, len);
}

const hex = (f: Uint8Array) => Buffer.from(f).toString('hex');

test('frame helpers produce the expected golden bytes', () => {
  assert.equal(hex(eth(B, A, 16, 0x0806)), '02005e10000b' + '02005e10000a' + '0806' + '6f76');
  assert.equal(
    hex(tagged(BCAST, A, 5, 10, 20, 0x0800)),
    'ffffffffffff' + '02005e10000a' + '8100' + 'a00a' + '0800' + '6f76',
  );
  assert.equal(hex(stripTag(tagged(BCAST, A, 5, 10, 20))), hex(eth(BCAST, A, 16)));
});

// ---- rig ----

const zeroFields: Record<PortField, number> = {
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
};
const zeroGlobal = {
  fdbEntries: 0,
  fdbLearned: 0,
  fdbAged: 0,
  fdbMoved: 0,
  fdbRefused: 0,
  fdbEvicted: 0,
  fdbFlushed: 0,
  breaths: 0,
  frames: 0,
  flowsActive: 0,
  flowsCreated: 0,
  flowsExpired: 0,
  flowsRefused: 0,
  flowsEarlyDropped: 0,
  flowsQuotaRefused: 0,
  pollWindows: 0,
  pollWindowCatches: 0,
  pollWindowFrames: 0,
  gcMinor: 0,
  gcMajor: 0,
  gcPauseUs: 0,
  gcMaxPauseUs: 0,
  gcLongPauses: 0,
};

interface Rig {
  eng: Engine;
  clock: Clock;
  pool: PacketPool;
  nics: MemoryNic[];
  events: LinkChange[];
  /** Frames each port received since the last call (and forget them). */
  take(): Uint8Array[][];
  /** Assert one port's full counter block: unspecified fields are 0 (linkChanges defaults to 1: the attach). */
  port(p: number, fields: Partial<Record<PortField, number>>, drops?: Record<string, number>): void;
  global(fields: Partial<typeof zeroGlobal>): void;
  /** Every pool slot is back on the free list. */
  noLeak(): void;
}

function rig(vlans: VlanConfig[], opts: { mtus?: number[]; agingSeconds?: number; slots?: number } = {}): Rig {
  const clock = new Clock(true);
  const pool = new PacketPool({ slots: opts.slots ?? 512, slotSize: 9472 });
  const events: LinkChange[] = [];
  const eng = new Engine({ clock, pool, agingSeconds: opts.agingSeconds, onLink: (e) => events.push(e) });
  const nics = vlans.map((vlan, i) => {
    const p = eng.addPort(vlan, opts.mtus?.[i] ?? 1500);
    assert.equal(p, i);
    const nic = new MemoryNic();
    eng.attach(p, nic);
    return nic;
  });
  assert.deepEqual(
    events,
    vlans.map((_, port) => ({ port, up: true, reason: 'nic-connected', flushedMacs: 0 })),
  );
  events.length = 0;
  const free0 = pool.available;
  return {
    eng,
    clock,
    pool,
    nics,
    events,
    take: () => nics.map((n) => n.received.splice(0)),
    port(p, fields, drops = {}) {
      assert.deepEqual(
        eng.counters.readPort(p),
        { fields: { ...zeroFields, linkChanges: 1, ...fields }, drops },
        `counters of port ${p}`,
      );
    },
    global(fields) {
      assert.deepEqual(eng.counters.readGlobal(), { ...zeroGlobal, ...fields });
    },
    noLeak() {
      assert.equal(pool.available, free0, 'every pool slot returned');
    },
  };
}

const untagged: VlanConfig = { mode: 'untagged' };
const access = (vid: number): VlanConfig => ({ mode: 'access', vid });
const trunk = (allowed: number[], native?: number, pruned?: number[]): VlanConfig => ({
  mode: 'trunk',
  allowed,
  native,
  pruned,
});
const four = (): VlanConfig[] => [untagged, untagged, untagged, untagged];

// ---- forwarding ----

test('unknown unicast floods to every other port, never the ingress; learned unicast reaches only its port', () => {
  const r = rig(four());
  const f1 = eth(B, A, 60);
  assert.equal(r.nics[0].inject(f1), true);
  assert.deepEqual(r.take(), [[], [f1], [f1], [f1]]);
  const f2 = eth(A, B, 100, 0x0800, 2);
  r.nics[1].inject(f2);
  assert.deepEqual(r.take(), [[f2], [], [], []], 'A was learned on port 0');
  const f3 = eth(B, A, 70, 0x0800, 3);
  r.nics[0].inject(f3);
  assert.deepEqual(r.take(), [[], [f3], [], []], 'both ends learned: ports 2 and 3 see nothing');
  r.port(0, { rxFrames: 2, rxBytes: 130, txFrames: 1, txBytes: 100, txUnicast: 1 });
  r.port(1, { rxFrames: 1, rxBytes: 100, txFrames: 2, txBytes: 130, txUnicast: 1, txFlood: 1 });
  r.port(2, { txFrames: 1, txBytes: 60, txFlood: 1 });
  r.port(3, { txFrames: 1, txBytes: 60, txFlood: 1 });
  r.global({ fdbEntries: 2, fdbLearned: 2, breaths: 3, frames: 3 });
  const names = r.eng.nodeNames();
  // the ingress graph sees 3 frames; the egress nodes see the 5 deliveries they became
  assert.deepEqual(names, [
    'tap-in',
    'ingress',
    'guard',
    'acl-in',
    'learn',
    'forward',
    'storm',
    'egress',
    'shaper',
    'attached',
    'offload',
    'tap-out',
    'transmit',
  ]);
  const c = r.eng.counters.c;
  assert.deepEqual(
    names.map((_, n) => [c[Counters.nodePackets(n)], c[Counters.nodeDrops(n)]]),
    names.map((_, n) => [n < names.indexOf('shaper') ? 3 : 5, 0]),
  );
  r.noLeak();
});

test('broadcast and multicast flood to every other port even when all MACs are known', () => {
  const r = rig(four());
  r.nics[0].inject(eth(B, A));
  r.nics[1].inject(eth(A, B));
  r.nics[2].inject(eth(A, C));
  r.take();
  const bc = eth(BCAST, C, 42, 0x0806);
  r.nics[2].inject(bc);
  assert.deepEqual(r.take(), [[bc], [bc], [], [bc]]);
  const mc = eth(MCAST, A, 80, 0x86dd);
  r.nics[0].inject(mc);
  assert.deepEqual(r.take(), [[], [mc], [mc], [mc]]);
  r.port(3, { txFrames: 3, txBytes: 60 + 42 + 80, txFlood: 3 });
  r.global({ fdbEntries: 3, fdbLearned: 3, breaths: 5, frames: 5 });
  r.noLeak();
});

test('a MAC seen on another port moves: fdbMoved counted, traffic follows it', () => {
  const r = rig(four());
  r.nics[0].inject(eth(B, A));
  r.nics[1].inject(eth(A, B));
  r.take();
  const moved = eth(B, A, 64);
  r.nics[2].inject(moved); // A now behind port 2
  assert.deepEqual(r.take(), [[], [moved], [], []]);
  r.global({ fdbEntries: 2, fdbLearned: 2, fdbMoved: 1, breaths: 3, frames: 3 });
  const back = eth(A, B, 90);
  r.nics[1].inject(back);
  assert.deepEqual(r.take(), [[], [], [back], []], 'only the new port');
  r.port(0, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: 60, txUnicast: 1 });
  r.port(2, { rxFrames: 1, rxBytes: 64, txFrames: 2, txBytes: 150, txUnicast: 1, txFlood: 1 });
  r.noLeak();
});

test('aging: entries idle for agingSeconds are removed by housekeeping, refreshed ones stay', () => {
  const r = rig(four(), { agingSeconds: 2 });
  r.nics[0].inject(eth(B, A)); // t = 0: learn A
  r.nics[1].inject(eth(A, B)); // t = 0: learn B
  r.clock.advance(1000);
  const fc = eth(A, C);
  r.nics[2].inject(fc); // t = 1: learn C
  assert.equal(r.eng.housekeeping(), 0);
  r.clock.advance(999); // t = 1.999
  assert.equal(r.eng.housekeeping(), 0);
  r.take();
  r.clock.advance(1); // t = 2.000: A and B idle for 2 s
  assert.equal(r.eng.housekeeping(), 2);
  r.global({ fdbEntries: 1, fdbLearned: 3, fdbAged: 2, breaths: 3, frames: 3 });
  const f = eth(A, C, 60, 0x0800, 9);
  r.nics[2].inject(f); // A unknown again: flood; refreshes C at t = 2
  assert.deepEqual(r.take(), [[f], [f], [], [f]]);
  r.clock.advance(1000); // t = 3: C idle 1 s
  assert.equal(r.eng.housekeeping(), 0);
  r.clock.advance(1000); // t = 4
  assert.equal(r.eng.housekeeping(), 1);
  r.global({ fdbEntries: 0, fdbLearned: 3, fdbAged: 3, breaths: 4, frames: 4 });
  r.noLeak();
});

test('same-port: a destination learned on the ingress port is dropped, never sent back', () => {
  const r = rig(four());
  r.nics[0].inject(eth(BCAST, B)); // B behind port 0
  r.take();
  r.nics[0].inject(eth(B, A, 70)); // A and B both behind port 0 (e.g. a hub or a nested switch)
  r.nics[0].inject(eth(A, A, 80)); // to itself
  assert.deepEqual(r.take(), [[], [], [], []]);
  r.port(0, { rxFrames: 3, rxBytes: 210 }, { 'same-port': 2 });
  r.port(1, { txFrames: 1, txBytes: 60, txFlood: 1 });
  const c = r.eng.counters.c;
  assert.equal(c[Counters.nodeDrops(r.eng.nodeNames().indexOf('forward'))], 2, 'dropped by the forward node');
  r.noLeak();
});

// ---- link state ----

test('link down (NIC disconnect): MACs flushed, event sent, port gets nothing; reconnect restores delivery and keeps VLANs', () => {
  const r = rig([access(10), access(10), untagged, access(10)]);
  const S = mac(0x5);
  assert.equal(
    r.eng.fdb.addStatic((10 << 16) | (S[0] << 8) | S[1], (S[2] << 24) | (S[3] << 16) | (S[4] << 8) | S[5], 1),
    true,
  );
  r.nics[0].inject(eth(B, A)); // flood to 1, 3
  r.nics[1].inject(eth(A, B)); // unicast to 0; B learned on 1
  r.take();
  r.nics[1].setConnected(false);
  assert.deepEqual(
    r.events,
    [{ port: 1, up: false, reason: 'nic-disconnected', flushedMacs: 1 }],
    'B flushed, the static entry kept',
  );
  assert.equal(r.nics[1].inject(eth(A, B)), false, 'a disconnected NIC cannot send');
  const f = eth(B, A, 66);
  r.nics[0].inject(f);
  assert.deepEqual(r.take(), [[], [], [], [f]], 'B unknown again: flood skips the down port');
  const bc = eth(BCAST, A, 61);
  r.nics[0].inject(bc);
  assert.deepEqual(r.take(), [[], [], [], [bc]]);
  r.nics[0].inject(eth(S, A, 62)); // static entry points at the down port
  assert.deepEqual(r.take(), [[], [], [], []]);
  r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: 60, txFlood: 1, linkChanges: 2 }, { 'link-down': 1 });
  r.global({ fdbEntries: 2, fdbLearned: 2, fdbFlushed: 1, breaths: 5, frames: 5 });

  r.nics[1].setConnected(true);
  assert.deepEqual(r.events.slice(1), [{ port: 1, up: true, reason: 'nic-connected', flushedMacs: 0 }]);
  r.nics[0].inject(bc);
  assert.deepEqual(r.take(), [[], [bc], [], [bc]], 'access 10 kept: VLAN 1 port 2 still gets nothing');
  const t20 = tagged(BCAST, B, 0, 20, 64);
  r.nics[1].inject(t20);
  const p3 = tagged(BCAST, B, 3, 0, 64);
  r.nics[1].inject(p3);
  assert.deepEqual(
    r.take(),
    [[stripTag(p3)], [], [], [stripTag(p3)]],
    'still access 10: tagged 20 refused, a priority tag classified to 10',
  );
  r.port(
    1,
    { rxFrames: 3, rxBytes: 188, txFrames: 2, txBytes: 121, txFlood: 2, vlanStripped: 1, linkChanges: 3 },
    { 'link-down': 1, 'vlan-tagged-on-access': 1 },
  );
  r.noLeak();
});

test('admin down/up: frames from the port are dropped link-down, flood skips it, up restores it', () => {
  const r = rig(four());
  r.nics[0].inject(eth(B, A));
  r.nics[1].inject(eth(A, B));
  r.take();
  r.eng.setAdmin(1, false);
  assert.deepEqual(r.events, [{ port: 1, up: false, reason: 'admin-down', flushedMacs: 1 }]);
  assert.equal(r.eng.isAdminUp(1), false);
  assert.equal(r.eng.isNicUp(1), true);
  assert.equal(r.nics[1].inject(eth(A, B, 77)), true, 'the NIC is still open');
  assert.deepEqual(r.take(), [[], [], [], []], 'nothing leaves an admin-down port');
  const f = eth(B, A, 68);
  r.nics[0].inject(f);
  assert.deepEqual(r.take(), [[], [], [f], [f]], 'B was flushed and not re-learned; port 1 skipped');
  r.eng.setAdmin(1, false); // no change, no event
  r.eng.setAdmin(1, true);
  r.eng.setAdmin(1, true);
  assert.deepEqual(r.events.slice(1), [{ port: 1, up: true, reason: 'admin-up', flushedMacs: 0 }]);
  r.nics[0].inject(f);
  assert.deepEqual(r.take(), [[], [f], [f], [f]]);
  r.port(1, { rxFrames: 2, rxBytes: 137, txFrames: 2, txBytes: 128, txFlood: 2, linkChanges: 3 }, { 'link-down': 1 });
  r.global({ fdbEntries: 1, fdbLearned: 2, fdbFlushed: 1, breaths: 5, frames: 5 });
  r.noLeak();
});

test('detach: the port keeps its settings, its NIC is closed and it is link down', () => {
  const r = rig([access(10), access(10), access(10), access(20)]);
  r.nics[1].inject(eth(A, B));
  r.take();
  r.eng.detach(1);
  assert.deepEqual(r.events, [{ port: 1, up: false, reason: 'nic-disconnected', flushedMacs: 1 }]);
  assert.equal(r.eng.nic(1), null);
  assert.equal(r.nics[1].inject(eth(A, B)), false);
  const n = new MemoryNic();
  r.eng.attach(1, n);
  const bc = eth(BCAST, A);
  r.nics[0].inject(bc);
  assert.deepEqual([n.received, r.nics[2].received, r.nics[3].received], [[bc], [bc], []]);
  r.noLeak();
});

// ---- VLANs ----

test('access VLANs are isolated; the MAC table is keyed by (VLAN, MAC)', () => {
  const r = rig([access(10), access(10), access(20), access(20)]);
  const b10 = eth(BCAST, A, 60);
  r.nics[0].inject(b10);
  const b20 = eth(BCAST, A, 61);
  r.nics[2].inject(b20); // the same MAC in VLAN 20: a second entry, not a move
  assert.deepEqual(r.take(), [[], [b10], [], [b20]]);
  const u = eth(A, D, 62);
  r.nics[3].inject(u); // A in VLAN 20 is on port 2
  assert.deepEqual(r.take(), [[], [], [u], []]);
  const u2 = eth(A, C, 63);
  r.nics[1].inject(u2); // A in VLAN 10 is on port 0
  assert.deepEqual(r.take(), [[u2], [], [], []]);
  r.global({ fdbEntries: 4, fdbLearned: 4, fdbMoved: 0, breaths: 4, frames: 4 });
  // tagged ingress on an access port: every VID refused, its own included (no double-tag hop); a priority
  // tag (VID 0) is classified to the port's VLAN and stripped
  r.nics[0].inject(tagged(BCAST, A, 0, 10, 70));
  r.nics[0].inject(tagged(BCAST, A, 0, 20, 70));
  const p0 = tagged(BCAST, A, 0, 0, 70);
  r.nics[0].inject(p0);
  assert.deepEqual(r.take(), [[], [stripTag(p0)], [], []]);
  r.port(
    0,
    { rxFrames: 4, rxBytes: 270, txFrames: 1, txBytes: 63, txUnicast: 1, vlanStripped: 1 },
    { 'vlan-tagged-on-access': 2 },
  );
  r.noLeak();
});

test('trunk: tagged 10/20 with PCP preserved, native 30 untagged, exact bytes both ways', () => {
  const r = rig([access(10), access(20), access(30), trunk([10, 20], 30)]);
  const u10 = eth(BCAST, A, 60);
  r.nics[0].inject(u10);
  const p5 = tagged(BCAST, A, 5, 0, 64, 0x0800, 2); // priority 5 in a priority tag (an access port takes no VLAN tag)
  r.nics[0].inject(p5);
  const p3 = tagged(BCAST, B, 3, 0, 64, 0x0800, 3);
  r.nics[1].inject(p3);
  const u30 = eth(BCAST, C, 60, 0x0800, 4);
  r.nics[2].inject(u30);
  const got = r.take();
  assert.deepEqual(got[3], [addTag(u10, 0, 10), addTag(stripTag(p5), 5, 10), addTag(stripTag(p3), 3, 20), u30]);
  assert.equal(hex(got[3][1].subarray(12, 16)), '8100a00a', 'TPID 0x8100, TCI 5 << 13 | 10');
  assert.equal(hex(got[3][2].subarray(12, 16)), '81006014', 'TCI 3 << 13 | 20');
  assert.deepEqual(
    got[3][1].subarray(16),
    p5.subarray(16),
    'the priority tag became the VLAN tag, the rest byte for byte',
  );
  assert.deepEqual(got.slice(0, 3), [[], [], []]);
  // from the trunk
  const t10 = tagged(BCAST, D, 2, 10, 80, 0x0800, 5);
  const t20 = tagged(BCAST, D, 7, 20, 81, 0x0800, 6);
  const t30 = tagged(BCAST, D, 1, 30, 82, 0x0800, 7); // native VLAN arriving tagged: accepted
  const un = eth(BCAST, D, 83, 0x0800, 8); // untagged: native 30
  for (const f of [t10, t20, t30, un]) r.nics[3].inject(f);
  r.nics[3].inject(tagged(BCAST, D, 0, 40, 84)); // not allowed
  r.nics[3].inject(tagged(BCAST, D, 0, 4095, 85)); // reserved VID
  assert.deepEqual(r.take(), [[stripTag(t10)], [stripTag(t20)], [stripTag(t30), un], []]);
  r.port(
    3,
    {
      rxFrames: 6,
      rxBytes: 80 + 81 + 82 + 83 + 84 + 85,
      txFrames: 4,
      txBytes: 64 + 64 + 64 + 60,
      txFlood: 4,
      vlanStripped: 3,
      vlanInserted: 3,
    },
    { 'vlan-not-allowed': 2 },
  );
  r.port(0, { rxFrames: 2, rxBytes: 124, txFrames: 1, txBytes: 76, txFlood: 1, vlanStripped: 1 });
  r.noLeak();
});

test('trunk: unicast between access and trunk ports is tagged/untagged the same way', () => {
  const r = rig([access(10), access(20), untagged, trunk([10, 20])]);
  r.nics[3].inject(tagged(BCAST, D, 0, 10, 64)); // D learned in VLAN 10 on the trunk
  r.take();
  const f = eth(D, A, 100);
  r.nics[0].inject(f);
  assert.deepEqual(r.take(), [[], [], [], [addTag(f, 0, 10)]]);
  const back = tagged(A, D, 6, 10, 90);
  r.nics[3].inject(back);
  assert.deepEqual(r.take(), [[stripTag(back)], [], [], []]);
  const other = eth(D, B, 70); // D is unknown in VLAN 20: flood within 20 only
  r.nics[1].inject(other);
  assert.deepEqual(r.take(), [[], [], [], [addTag(other, 0, 20)]]);
  r.port(3, {
    rxFrames: 2,
    rxBytes: 154,
    txFrames: 2,
    txBytes: 178,
    txUnicast: 1,
    txFlood: 1,
    vlanStripped: 2,
    vlanInserted: 2,
  });
  r.noLeak();
});

test('pruned VLAN is not carried in either direction; a trunk without native refuses untagged frames', () => {
  const r = rig([access(10), access(20), untagged, trunk([10, 20], undefined, [20])]);
  r.nics[1].inject(eth(BCAST, B));
  const b10 = eth(BCAST, A);
  r.nics[0].inject(b10);
  assert.deepEqual(r.take(), [[], [], [], [addTag(b10, 0, 10)]]);
  r.nics[3].inject(tagged(BCAST, D, 0, 20, 64));
  r.nics[3].inject(eth(BCAST, D, 60));
  r.nics[3].inject(tagged(BCAST, D, 4, 0, 64)); // priority tag with no native VLAN to classify it to
  assert.deepEqual(r.take(), [[], [], [], []]);
  r.port(
    3,
    { rxFrames: 3, rxBytes: 188, txFrames: 1, txBytes: 64, txFlood: 1, vlanInserted: 1 },
    { 'vlan-not-allowed': 3 },
  );
  r.noLeak();
});

test('priority-tagged (VID 0) frames are classified to the port VLAN and keep their PCP', () => {
  const r = rig([access(10), access(10), access(20), trunk([10])]);
  const pt = tagged(BCAST, A, 6, 0, 64);
  r.nics[0].inject(pt);
  const got = r.take();
  assert.deepEqual(got, [[], [stripTag(pt)], [], [addTag(stripTag(pt), 6, 10)]]);
  assert.equal(hex(got[3][0].subarray(12, 16)), '8100c00a');
  r.port(0, { rxFrames: 1, rxBytes: 64, vlanStripped: 1 });
  r.port(3, { txFrames: 1, txBytes: 64, txFlood: 1, vlanInserted: 1 });
  r.noLeak();
});

test('QinQ (0x88a8) is carried as an untagged frame, untouched', () => {
  const r = rig([access(10), access(10), trunk([10]), access(20)]);
  // outer S-tag 0x88a8 VID 100, inner C-tag 0x8100 VID 5, IPv4
  const q = new Uint8Array([
    ...BCAST,
    ...A,
    0x88,
    0xa8,
    0x00,
    0x64,
    0x81,
    0x00,
    0x00,
    0x05,
    0x08,
    0x00,
    ...new Array(46).fill(0x5a),
  ]);
  r.nics[0].inject(q);
  assert.deepEqual(r.take(), [[], [q], [addTag(q, 0, 10)], []]);
  r.port(0, { rxFrames: 1, rxBytes: 68 });
  r.noLeak();
});

test('flood to a mix of tagged and untagged receivers: exact bytes on each, clone freed', () => {
  // tagged source, receivers: untagged (access), tagged (trunk), untagged (trunk native)
  const r = rig([trunk([10]), access(10), trunk([10, 20]), trunk([10, 20], 10)]);
  const f = tagged(BCAST, A, 4, 10, 100);
  r.nics[0].inject(f);
  const plain = stripTag(f);
  assert.deepEqual(r.take(), [[], [plain], [f], [plain]]);
  r.port(0, { rxFrames: 1, rxBytes: 100, vlanStripped: 1 });
  r.port(1, { txFrames: 1, txBytes: 96, txFlood: 1 });
  r.port(2, { txFrames: 1, txBytes: 100, txFlood: 1, vlanInserted: 1 });
  r.port(3, { txFrames: 1, txBytes: 96, txFlood: 1 });
  r.noLeak();
  // untagged source, every receiver wants it tagged: the tag is inserted in place
  const r2 = rig([access(10), trunk([10]), trunk([10, 20]), trunk([10], 20)]);
  const g = eth(BCAST, B, 60);
  r2.nics[0].inject(g);
  const gt = addTag(g, 0, 10);
  assert.deepEqual(r2.take(), [[], [gt], [gt], [gt]]);
  r2.noLeak();
  // a batch that mixes both layouts and unicast in one breath
  const r3 = rig([trunk([10], 10), access(10), trunk([10]), trunk([10], 10)]);
  const batch = [
    eth(BCAST, A, 60, 0x0800, 1),
    eth(C, A, 61, 0x0800, 2),
    tagged(BCAST, A, 7, 10, 62, 0x0800, 3),
    eth(BCAST, A, 63, 0x0800, 4),
  ];
  assert.equal(r3.nics[0].injectBatch(batch), 4);
  const [b0, b1, b2, b3] = batch;
  const s2 = stripTag(b2);
  assert.deepEqual(r3.take(), [
    [],
    [b0, b1, s2, b3],
    [addTag(b0, 0, 10), addTag(b1, 0, 10), b2, addTag(b3, 0, 10)],
    [b0, b1, s2, b3],
  ]);
  r3.global({ fdbEntries: 1, fdbLearned: 1, breaths: 1, frames: 4 });
  r3.noLeak();
});

// ---- edge checks ----

test('short frames: 14..59 bytes delivered unpadded; <14 malformed; tagged <18 truncated-vlan; group source dropped', () => {
  const r = rig([trunk([1], 1), untagged, access(1), trunk([1])]);
  const ok = [14, 15, 42, 59].map((n) => eth(BCAST, A, n, 0x0806, n));
  for (const f of ok) r.nics[0].inject(f);
  const t18 = tagged(BCAST, A, 2, 1, 18);
  r.nics[0].inject(t18);
  const got = r.take();
  assert.deepEqual(got[1], [...ok, stripTag(t18)]);
  assert.deepEqual(got[2], [...ok, stripTag(t18)]);
  assert.deepEqual(got[3], [...ok.map((f) => addTag(f, 0, 1)), t18]);
  assert.deepEqual(
    got[1].map((f) => f.length),
    [14, 15, 42, 59, 14],
    'no padding',
  );
  r.nics[0].inject(eth(BCAST, A, 13));
  r.nics[0].inject(new Uint8Array(0));
  r.nics[0].inject(tagged(BCAST, A, 0, 1, 16));
  r.nics[0].inject(tagged(BCAST, A, 0, 1, 17));
  r.nics[0].inject(eth(B, MCAST, 60));
  r.nics[0].inject(eth(B, BCAST, 60));
  assert.deepEqual(r.take(), [[], [], [], []]);
  r.port(
    0,
    { rxFrames: 11, rxBytes: 14 + 15 + 42 + 59 + 18 + 13 + 0 + 16 + 17 + 60 + 60, vlanStripped: 1 },
    { malformed: 2, 'truncated-vlan': 2, 'src-multicast': 2 },
  );
  const c = r.eng.counters.c;
  assert.equal(c[Counters.nodeDrops(r.eng.nodeNames().indexOf('ingress'))], 6);
  r.global({ fdbEntries: 1, fdbLearned: 1, breaths: 11, frames: 11 });
  r.noLeak();
});

test('MTU: longer than egress MTU + 14 (+4 when tagged) dropped mtu-exceeded there; a big-MTU port still gets it', () => {
  const r = rig([untagged, untagged, untagged, trunk([1])], { mtus: [1500, 1500, 9000, 1500] });
  const f1514 = eth(BCAST, A, 1514);
  r.nics[0].inject(f1514);
  assert.deepEqual(
    r.take(),
    [[], [f1514], [f1514], [addTag(f1514, 0, 1)]],
    '1514 fits everywhere, 1518 tagged fits the trunk',
  );
  const f1515 = eth(BCAST, A, 1515);
  r.nics[0].inject(f1515);
  assert.deepEqual(r.take(), [[], [], [f1515], []]);
  const j = eth(BCAST, A, 9014);
  r.nics[0].inject(j);
  r.nics[0].inject(eth(BCAST, A, 9015));
  assert.deepEqual(r.take(), [[], [], [j], []]);
  r.nics[1].inject(eth(A, B, 60)); // learn B on port 1
  r.nics[0].inject(eth(B, A, 1515)); // known unicast, too long for port 1
  r.nics[0].inject(eth(B, A, 1514));
  const got = r.take();
  assert.deepEqual(
    got.map((l) => l.map((f) => f.length)),
    [[60], [1514], [], []],
  );
  r.port(1, { rxFrames: 1, rxBytes: 60, txFrames: 2, txBytes: 3028, txUnicast: 1, txFlood: 1 }, { 'mtu-exceeded': 4 });
  r.port(2, { txFrames: 3, txBytes: 1514 + 1515 + 9014, txFlood: 3 }, { 'mtu-exceeded': 1 });
  r.port(3, { txFrames: 1, txBytes: 1518, txFlood: 1, vlanInserted: 1 }, { 'mtu-exceeded': 3 });
  r.noLeak();
});

// ---- batches and buffers ----

test('injectBatch of 300 frames: two breaths (256 + 44), all delivered in order', () => {
  const r = rig(four(), { slots: 1024 });
  const frames = Array.from({ length: 300 }, (_, i) => eth(BCAST, A, 60 + (i % 20), 0x0800, i));
  assert.equal(r.nics[0].injectBatch(frames), 300);
  const got = r.take();
  assert.deepEqual(got, [[], frames, frames, frames]);
  r.global({ fdbEntries: 1, fdbLearned: 1, breaths: 2, frames: 300 });
  r.noLeak();
});

test('pool exhaustion: receive counts no-buffer; a tagged flood clone that cannot be made is counted too', () => {
  const r = rig([access(10), access(10), trunk([10]), access(10)], { slots: 64 });
  const frames = Array.from({ length: 100 }, (_, i) => eth(BCAST, A, 60, 0x0800, i));
  assert.equal(r.nics[0].injectBatch(frames), 64, 'only 64 slots');
  const got = r.take();
  // all 64 slots hold the batch, so no tagged clone for the trunk can be allocated
  assert.deepEqual(got, [[], frames.slice(0, 64), [], frames.slice(0, 64)]);
  r.port(0, { rxFrames: 64, rxBytes: 64 * 60 }, { 'no-buffer': 36 + 64 });
  r.port(2, {});
  r.noLeak();
  const again = eth(BCAST, A, 60);
  r.nics[0].inject(again);
  assert.deepEqual(r.take(), [[], [again], [addTag(again, 0, 10)], [again]], 'recovers once slots are free');
  r.noLeak();
});

// ---- regressions: defects found by these tests and fixed in the datapath ----

test('setVlan: flushed MACs are visible in the global counters immediately', () => {
  const r = rig([access(10), access(10), untagged, untagged]);
  r.nics[0].inject(eth(BCAST, A));
  r.eng.setVlan(0, access(20));
  assert.equal(r.eng.fdb.count, 0, 'the table itself was flushed');
  r.global({ fdbEntries: 0, fdbLearned: 1, fdbFlushed: 1, breaths: 1, frames: 1 });
});

test('a tagged flood clone of a frame that fills its slot is not truncated', () => {
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const eng = new Engine({ clock: new Clock(true), pool });
  const nics = [access(10), access(10), trunk([10])].map((v) => {
    const nic = new MemoryNic();
    eng.attach(eng.addPort(v, 9000), nic);
    return nic;
  });
  // 63 frames hold slots 0..62, so the first frame's tagged clone takes the last slot, 63
  const frames = Array.from({ length: 63 }, (_, i) => eth(BCAST, A, pool.maxFrame, 0x0800, i + 1));
  assert.equal(nics[0].injectBatch(frames), 63);
  assert.equal(nics[2].received.length, 1);
  assert.equal(hex(nics[2].received[0].subarray(-8)), hex(addTag(frames[0], 0, 10).subarray(-8)));
});
