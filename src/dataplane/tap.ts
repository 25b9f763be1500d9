/**
 * Taps: the one mechanism that lets a feature observe frames as a port's wire shows them, without owning
 * them. Capture (engine/capture.ts: copies into a ring for pcap) and port mirroring (policy/mirror.ts:
 * copies into new slots for destination ports) are both taps; each supplies only `copy`.
 *
 *   in:  every frame of a batch as received, before ingress strips a tag     (TapInNode, first graph node)
 *   out: every frame of a destination's vector as handed to the NIC          (TapOutNode, before transmit)
 *
 * Zero cost when off (VPP's tracing idea): `flags` holds one byte per port (kTapIn | kTapOut) and
 * `inPorts` counts ports with the in bit, so an idle tap costs one integer test per batch for `in` and one
 * byte test per destination vector for `out`, nothing per packet. Flags are written by the thread that owns
 * the pipeline, between breaths, so a batch never sees a tap half switched on.
 */
import { kMaxPorts } from './counters.js';
import type { Batch, GraphNode } from './graph.js';
import type { PacketPool } from './pool.js';
import { Meta } from './slot-meta.js';
import { VectorNode } from './vector-chain.js';

/** flags bit: frames the port sends (switch ingress) are tapped. */
export const kTapIn = 1;
/** flags bit: frames delivered to the port (switch egress) are tapped. */
export const kTapOut = 2;

export abstract class Tap {
  /** Per port: kTapIn | kTapOut bits in effect. */
  readonly flags = new Uint8Array(kMaxPorts);
  /** Ports with the in bit: tapIn returns at once when 0. */
  inPorts = 0;

  constructor(protected readonly pool: PacketPool) {}

  /** Copy one frame tapped on `port` in `direction` (kTapIn or kTapOut). Never frees or changes the slot. */
  protected abstract copy(port: number, direction: number, slot: number): void;

  /** End of a breath: make the copies visible; copies that must themselves be delivered go to `deliver`. */
  flush(_deliver: VectorNode): void {}

  /** The in-tap over a received batch: copy every frame whose ingress port has the in bit. */
  tapIn(batch: Batch): void {
    if (this.inPorts === 0) return;
    const flags = this.flags;
    const m = this.pool.meta32;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      const p = m[at + Meta.port];
      if ((flags[p] & kTapIn) !== 0) this.copy(p, kTapIn, s);
    }
  }

  /** The out-tap over `list[0..n)`, about to be delivered to `port`. */
  tapOut(port: number, list: Int32Array, n: number): void {
    if ((this.flags[port] & kTapOut) === 0) return;
    for (let i = 0; i < n; i++) this.copy(port, kTapOut, list[i]);
  }
}

/** First node of the ingress graph: every tap's in-copies, as received. Never drops. */
export class TapInNode implements GraphNode {
  readonly name = 'tap-in';
  readonly passive = true;
  constructor(private readonly taps: readonly Tap[]) {}

  process(batch: Batch): void {
    const taps = this.taps;
    for (let i = 0; i < taps.length; i++) taps[i].tapIn(batch);
  }
}

/**
 * The egress node just before transmit: every tap's out-copies, as delivered (after tagging and the
 * offload fix-ups). At the end of a breath each tap flushes (in reverse order, so copies a tap delivers are
 * themselves seen by the taps before it); copies to deliver enter the walk at `deliverAt`.
 */
export class TapOutNode extends VectorNode {
  readonly name = 'tap-out';
  /** `deliverAt`: where copies that must be delivered (mirror copies) enter the egress walk. */
  constructor(
    private readonly taps: readonly Tap[],
    private readonly deliverAt: VectorNode,
  ) {
    super();
  }

  protected push(port: number, slots: Int32Array, n: number): void {
    const taps = this.taps;
    for (let i = 0; i < taps.length; i++) taps[i].tapOut(port, slots, n);
    this.emit(port, slots, n);
  }

  override flush(): void {
    for (let i = this.taps.length - 1; i >= 0; i--) this.taps[i].flush(this.deliverAt);
  }
}
