/**
 * Port mirroring (Hyper-V PortMirroring None | Source | Destination; docs/design.md, pipeline step 3;
 * docs/policy.md): every frame of a source port is copied, byte for byte, to every destination port of the
 * switch, like a SPAN session on a physical switch.
 *
 * It is a tap (dataplane/tap.ts):
 *   ingress (in):  as the source's endpoint sent it, before the ingress node strips a tag (frames the
 *                  graph later drops are still mirrored, as a SPAN of the wire would show them)
 *   egress (out):  as delivered to the source's endpoint, after VLAN tagging and the offload fix-ups
 *
 * Design notes: README.md in this folder, section "mirror.ts".
 */
import { Counters, kMaxPorts } from '../dataplane/counters.js';
import { kMaxBatch } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { copySlotMeta, Meta } from '../dataplane/slot-meta.js';
import { kTapIn, kTapOut, Tap } from '../dataplane/tap.js';
import type { VectorNode } from '../dataplane/vector-chain.js';
import type { MirrorDirection, MirrorMode } from './config.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { policyCounters } from './counters.js';

/** flags bit: the port's received frames (switch ingress) are mirrored. */
export const kMirrorIn = kTapIn;
/** flags bit: the frames delivered to the port (switch egress) are mirrored. */
export const kMirrorOut = kTapOut;
/** Copies per destination per breath: one full batch each way (256 frames sent by sources and as many
 *  delivered to them); a busier breath loses copies (counted), never frames. */
export const kMirrorQueueLen = kMaxBatch * 2;

const kModeNone = 0;
const kModeSource = 1;
const kModeDestination = 2;
const kNoSlots = new Int32Array(0);

/** Per port, `flags` holds kMirrorIn | kMirrorOut bits in effect (0 unless a destination exists). */
export class Mirror extends Tap {
  /** Any source with any destination configured. */
  active = false;
  /** Per destination port: copies queued this breath (slots[d][0..count[d])). */
  readonly count = new Int32Array(kMaxPorts);
  /** Per destination port: the queued copy slots (an empty array for ports that are not destinations). */
  readonly slots: Int32Array[] = [];
  /** Destinations with copies queued this breath, in first-touch order: dirty[0..dirtyCount). */
  readonly dirty = new Int32Array(kMaxPorts);
  dirtyCount = 0;

  /** Configuration as set (mode and direction bits per port); `flags` is derived from it. */
  private readonly mode = new Uint8Array(kMaxPorts);
  private readonly dir = new Uint8Array(kMaxPorts);
  /** Destination ports in ascending order: dests[0..destCount). */
  private readonly dests = new Int32Array(kMaxPorts);
  private destCount = 0;

  constructor(
    pool: PacketPool,
    private readonly counters: Counters,
  ) {
    super(pool);
    for (let p = 0; p < kMaxPorts; p++) this.slots.push(kNoSlots);
  }

  // ---- control path ----

  /** Set a port's PortMirroring mode and, for a source, which direction is mirrored (default 'both'). */
  set(port: number, mode: MirrorMode, direction: MirrorDirection = 'both'): void {
    checkPort(port);
    if (mode !== 'none' && mode !== 'source' && mode !== 'destination')
      throw new Error(`invalid mirror mode '${String(mode)}': expected none, source or destination`);
    if (direction !== 'ingress' && direction !== 'egress' && direction !== 'both')
      throw new Error(`invalid mirror direction '${String(direction)}': expected ingress, egress or both`);
    this.discard(); // changes come between breaths, when nothing is pending; never strand a copy if not
    this.mode[port] = mode === 'source' ? kModeSource : mode === 'destination' ? kModeDestination : kModeNone;
    this.dir[port] =
      mode !== 'source'
        ? 0
        : direction === 'ingress'
          ? kMirrorIn
          : direction === 'egress'
            ? kMirrorOut
            : kMirrorIn | kMirrorOut;
    if (mode === 'destination' && this.slots[port].length === 0) this.slots[port] = new Int32Array(kMirrorQueueLen);
    this.rebuild();
  }

  /** Port removed or mirroring turned off: same as set(port, 'none'). */
  clear(port: number): void {
    this.set(port, 'none');
  }

  /** The mode a port is set to (control path: show and tests). */
  modeOf(port: number): MirrorMode {
    checkPort(port);
    const m = this.mode[port];
    return m === kModeSource ? 'source' : m === kModeDestination ? 'destination' : 'none';
  }

  private rebuild(): void {
    let sources = 0;
    this.destCount = 0;
    for (let p = 0; p < kMaxPorts; p++) {
      if (this.mode[p] === kModeDestination) this.dests[this.destCount++] = p;
      else if (this.mode[p] === kModeSource) sources++;
    }
    this.active = sources > 0 && this.destCount > 0;
    this.inPorts = 0;
    for (let p = 0; p < kMaxPorts; p++) {
      const f = this.active ? this.dir[p] : 0;
      this.flags[p] = f;
      if ((f & kMirrorIn) !== 0) this.inPorts++;
    }
  }

  // ---- datapath ----

  /**
   * One tapped frame: in, a copy for every destination; out, the same, unless the frame's ingress port is
   * itself ingress-mirrored (it was copied when it came in).
   */
  protected copy(port: number, direction: number, slot: number): void {
    if (direction === kMirrorOut && (this.flags[this.pool.meta32[(slot << Meta.shift) + Meta.port]] & kMirrorIn) !== 0)
      return;
    this.copyAll(port, slot);
  }

  /** End of a breath: hand each destination's copies to the egress walk, then forget the lists. */
  override flush(deliver: VectorNode): void {
    for (let k = 0; k < this.dirtyCount; k++) {
      const d = this.dirty[k];
      deliver.input(d, this.slots[d], this.count[d]);
    }
    this.reset();
  }

  /** After the lists were delivered: forget them (the copies now belong to their deliveries). */
  reset(): void {
    for (let k = 0; k < this.dirtyCount; k++) this.count[this.dirty[k]] = 0;
    this.dirtyCount = 0;
  }

  /** Free every queued copy and reset (teardown, or a breath abandoned before delivery). */
  discard(): void {
    for (let k = 0; k < this.dirtyCount; k++) {
      const d = this.dirty[k];
      const list = this.slots[d];
      for (let i = 0; i < this.count[d]; i++) this.pool.free(list[i]);
    }
    this.reset();
  }

  /** One copy of slot s (mirrored on behalf of source port `src`) for each destination. */
  private copyAll(src: number, s: number): void {
    const { pool, dests, count } = this;
    const c = this.counters.c;
    const from = pool.frameStart(s);
    const len = pool.meta32[(s << Meta.shift) + Meta.len];
    // a frame with a tag pushed into its headroom may be longer than maxFrame: use less headroom then
    const off = len <= pool.maxFrame ? pool.headroom : pool.slotSize - len;
    for (let k = 0; k < this.destCount; k++) {
      const d = dests[k];
      const n = count[d];
      if (n >= kMirrorQueueLen) {
        c[Counters.portDrop(d, mechanismDrops['ring-full'])]++;
        continue;
      }
      const t = pool.alloc();
      if (t < 0) {
        c[Counters.portDrop(src, mechanismDrops['no-buffer'])]++;
        continue;
      }
      const to = pool.slotBase(t) + off;
      pool.bytes.copyWithin(to, from, from + len);
      copySlotMeta(pool.meta32, s, t); // VLAN, offload and header record travel with the copy
      const at = t << Meta.shift;
      pool.meta32[at + Meta.off] = off;
      pool.meta32[at + Meta.port] = src;
      pool.meta32[at + Meta.aux] = 0;
      pool.meta32[at + Meta.refs] = 1;
      pool.meta32[at + Meta.dst] = d;
      if (n === 0) this.dirty[this.dirtyCount++] = d;
      this.slots[d][n] = t;
      count[d] = n + 1;
      c[Counters.port(src, policyCounters.mirrorCopies)]++;
    }
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port >= kMaxPorts)
    throw new Error(`invalid port index ${port}: expected 0..${kMaxPorts - 1}`);
}
