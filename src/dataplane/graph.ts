/**
 * The node graph (VPP / Snabb style): a batch of packet slots flows through an ordered list of nodes; each
 * node processes the whole batch and writes each packet's next step into the slot's `aux` (0 = go on,
 * n > 0 = drop with reason code n). It never calls the next node per packet. After each node the graph
 * compacts the batch in place, counts each drop against the packet's ingress port and the node, and frees
 * the slot. No allocation per packet or per batch: the batch arrays are preallocated.
 *
 * The same Graph runs inside a datapath worker and directly in a test's thread: it knows no feature and no
 * thread, only nodes, a pool and counters.
 */
import { Counters } from './counters.js';
import type { PacketPool } from './pool.js';
import { Meta } from './slot-meta.js';

/** Largest batch: 256 frames, 4 TAP read rounds of 64; beyond this the breath is split (latency bound). */
export const kMaxBatch = 256;

export class Batch {
  readonly slots = new Int32Array(kMaxBatch);
  count = 0;
}

export interface GraphNode {
  readonly name: string;
  /** True for a node that never drops (a tap): the graph skips compacting after it. */
  readonly passive?: boolean;
  /** Process `batch.slots[0..count)`, setting the slot's aux to a drop code for packets that stop here.
   *  May return how many it marked: 0 lets the graph skip the compaction pass (nothing returned: compact). */
  process(batch: Batch): number | void;
}

export class Graph {
  readonly nodes: GraphNode[] = [];
  constructor(
    readonly pool: PacketPool,
    readonly counters: Counters,
  ) {}

  add(node: GraphNode): this {
    this.nodes.push(node);
    return this;
  }

  /** Run the batch through every node; survivors of the last node are the caller's (the last node usually consumes all). */
  run(batch: Batch): void {
    const { pool, counters, nodes } = this;
    const c = counters.c;
    const m = pool.meta32;
    for (let n = 0; n < nodes.length; n++) {
      if (batch.count === 0) return;
      c[Counters.nodePackets(n)] += batch.count;
      const node = nodes[n];
      const marked = node.process(batch);
      if (node.passive === true || marked === 0) continue;
      // compact: keep slots whose aux is 0, count and free the rest
      const slots = batch.slots;
      let w = 0;
      let dropped = 0;
      for (let r = 0; r < batch.count; r++) {
        const s = slots[r];
        const at = s << Meta.shift;
        const code = m[at + Meta.aux];
        if (code === 0) {
          slots[w++] = s;
        } else {
          c[Counters.portDrop(m[at + Meta.port], code)]++;
          dropped++;
          m[at + Meta.aux] = 0;
          pool.free(s);
        }
      }
      batch.count = w;
      c[Counters.nodeDrops(n)] += dropped;
    }
  }
}
