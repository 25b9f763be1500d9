/**
 * The egress half of the pipeline (Hyper-V's egress path, VPP's l2-output): the ingress graph ends by
 * replicating its batch into one vector per destination port (txq.ts); each vector then walks an ordered
 * list of VectorNodes, each handing what survives, or what it made (segments, merged frames), straight to
 * the next with one call per vector, never per packet. The walk goes ports -> nodes -> ports without
 * returning to a hub, and a new egress stage (VXLAN encap) is one node inserted in the list.
 *
 * A node may hold frames back (the shaper) or make frames that must be delivered later (mirror copies):
 * `flush()` runs once at the end of every breath, node by node in list order, and lets it push them on.
 * Counters: each node's row counts the frames that entered it (`packets`); drops are counted per port
 * with a reason by the node that drops, since an egress drop belongs to the destination port.
 */
import { Counters } from './counters.js';
import type { TxQueues } from './txq.js';

export abstract class VectorNode {
  abstract readonly name: string;
  private next: VectorNode | null = null;
  private c: Float64Array | null = null;
  private row = 0;

  /** Process `slots[0..n)` bound for `port`; pass survivors on with `emit`. The array is the caller's:
   *  read it now, never keep it. */
  protected abstract push(port: number, slots: Int32Array, n: number): void;

  /** End of a breath (and of a shaper wake-up): send on what this node held or made. */
  flush(): void {}

  /** Enter this node: count the frames, then process them. */
  input(port: number, slots: Int32Array, n: number): void {
    this.c![this.row] += n;
    this.push(port, slots, n);
  }

  /** Hand `slots[0..n)` to the next node (the last node never emits). */
  protected emit(port: number, slots: Int32Array, n: number): void {
    if (n > 0) this.next!.input(port, slots, n);
  }

  /** Wired by VectorChain. */
  link(next: VectorNode | null, counters: Counters, row: number): void {
    this.next = next;
    this.c = counters.c;
    this.row = Counters.nodePackets(row);
  }
}

export class VectorChain {
  /**
   * `nodes` in walk order; `firstRow` is the node counter row of the first (the ingress graph's nodes take
   * the rows before it).
   */
  constructor(
    readonly nodes: readonly VectorNode[],
    counters: Counters,
    firstRow: number,
  ) {
    for (let i = 0; i < nodes.length; i++)
      nodes[i].link(i + 1 < nodes.length ? nodes[i + 1] : null, counters, firstRow + i);
  }

  /** Walk every vector the ingress graph queued this breath, then flush every node. */
  run(txq: TxQueues): void {
    const head = this.nodes[0];
    for (let k = 0; k < txq.dirtyCount; k++) {
      const p = txq.dirty[k];
      const n = txq.count[p];
      txq.count[p] = 0;
      head.input(p, txq.slots[p], n);
    }
    txq.dirtyCount = 0;
    this.flush();
  }

  flush(): void {
    for (let i = 0; i < this.nodes.length; i++) this.nodes[i].flush();
  }
}
