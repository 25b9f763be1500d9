/**
 * The shaper as an egress node (policy/shaper.ts holds the token buckets and DRR classes): a destination
 * with a MaximumBandwidth has every frame wait its turn in its source class, even if tokens remain, so the
 * classes share a congested port fairly; a destination without one passes straight on. `flush` (end of a
 * breath) sends on what the tokens allow now and arms one reusable timer for the rest; when it fires,
 * `onDue` asks the pipeline to flush again.
 *
 * Counters: `qosDelayed` per destination for every frame held, `qos-queue-full` when its class queue is full.
 */
import type { Clock } from '../dataplane/clock.js';
import { Counters } from '../dataplane/counters.js';
import { kMaxBatch } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { VectorNode } from '../dataplane/vector-chain.js';
import type { EgressShaper } from './shaper.js';
import { policyCounters, policyDrops } from './counters.js';

export class ShaperNode extends VectorNode {
  readonly name = 'shaper';
  /** Held frames fell due: the owner flushes the egress walk (unless a breath in progress will). */
  onDue: () => void = () => {};
  /** Frames the shaper lets go in one pass for one port. */
  private readonly out = new Int32Array(kMaxBatch);
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due = Infinity;

  constructor(
    readonly shaper: EgressShaper,
    private readonly pool: PacketPool,
    private readonly counters: Counters,
    private readonly clock: Clock,
  ) {
    super();
  }

  protected push(p: number, slots: Int32Array, n: number): void {
    const shaper = this.shaper;
    if (shaper.shaped[p] === 0) {
      this.emit(p, slots, n);
      return;
    }
    const c = this.counters.c;
    for (let i = 0; i < n; i++) {
      if (shaper.enqueue(p, slots[i])) c[Counters.port(p, policyCounters.qosDelayed)]++;
      else {
        c[Counters.portDrop(p, policyDrops['qos-queue-full'])]++;
        this.pool.release(slots[i]);
      }
    }
  }

  /** Deliver what the tokens allow now, and arm the timer for the rest. */
  override flush(): void {
    const shaper = this.shaper;
    if (shaper.dirtyCount === 0) return;
    for (let k = 0; k < shaper.dirtyCount; ) {
      const p = shaper.dirty[k];
      const n = shaper.dequeue(p, this.out, kMaxBatch);
      this.emit(p, this.out, n);
      // dequeue may drop p from the dirty list (nothing left held): re-read the same index then
      if (k < shaper.dirtyCount && shaper.dirty[k] === p) k++;
    }
    const due = shaper.nextWakeMs();
    if (due === Infinity || (this.timer !== null && due >= this.due)) return;
    this.due = due;
    const ms = Math.max(1, Math.ceil(due - this.clock.nowMs));
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, ms);
    this.timer.unref(); // held frames never keep a process alive on their own
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.due = Infinity;
    this.onDue();
  };
}
