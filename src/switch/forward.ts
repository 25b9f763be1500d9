/**
 * Learning and forwarding nodes (docs/design.md, pipeline step 2; docs/forwarding.md): learn the source (VLAN, MAC) on
 * the ingress port, then look up the destination. Group destinations and unknown unicast become
 * `kFlood`; a destination learned on the ingress port is filtered (`same-port`): a frame never goes back
 * where it came from.
 *
 * Two nodes rather than one so a forwarding extension can replace lookup and keep
 * learning, as in the Hyper-V extensible switch.
 */
import { Counters } from '../dataplane/counters.js';
import type { Clock } from '../dataplane/clock.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import * as eth from '../packet/ethernet.js';
import { kLearnLimited, type Fdb } from './fdb.js';
import { portCounters, switchDrops } from './counters.js';

export const kFlood = -1;

export class LearnNode implements GraphNode {
  readonly name = 'learn';
  /** Learning never drops a frame: the graph skips compacting after it. */
  readonly passive = true;
  constructor(
    private readonly pool: PacketPool,
    private readonly fdb: Fdb,
    private readonly clock: Clock,
    private readonly counters: Counters,
  ) {}

  /** A port over its MAC limit still forwards (its frames are not the table's to judge); the address is
   *  just not learned, and counted. */
  process(batch: Batch): void {
    const { pool, fdb } = this;
    const { view } = pool;
    const m = pool.meta32;
    const c = this.counters.c;
    const now = this.clock.nowSec;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      const start = pool.slotBase(s) + m[at + Meta.off];
      const p = m[at + Meta.port];
      if (
        fdb.learn((m[at + Meta.vid] << 16) | eth.srcHi16(view, start), eth.srcLo32(view, start), p, now) ===
        kLearnLimited
      )
        c[Counters.port(p, portCounters.macLimitRefused)]++;
    }
  }
}

export class ForwardNode implements GraphNode {
  readonly name = 'forward';
  constructor(
    private readonly pool: PacketPool,
    private readonly fdb: Fdb,
  ) {}

  process(batch: Batch): number {
    const { pool, fdb } = this;
    const { view } = pool;
    const m = pool.meta32;
    const slots = batch.slots;
    let marked = 0;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      const start = pool.slotBase(s) + m[at + Meta.off];
      if (eth.isDstGroup(view, start)) {
        m[at + Meta.dst] = kFlood;
        continue;
      }
      const port = fdb.lookup((m[at + Meta.vid] << 16) | eth.dstHi16(view, start), eth.dstLo32(view, start));
      if (port < 0) m[at + Meta.dst] = kFlood;
      else if (port === m[at + Meta.port]) {
        m[at + Meta.aux] = switchDrops['same-port'];
        marked++;
      } else m[at + Meta.dst] = port;
    }
    return marked;
  }
}
