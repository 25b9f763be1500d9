/**
 * The ends of the egress walk, where a vector meets the NIC of its port (ports/nic.ts):
 *
 *   attached  right after the shaper: a port with no NIC on this worker gets nothing; the whole vector is
 *             dropped as `link-down` before any offload work is spent on it
 *   transmit  the last node: one `Nic.transmit` call per vector (one N-API call for TAP, one socket write
 *             for streams), `txFrames`/`txBytes` for what the NIC took, and each slot's queue reference
 *             released, whatever the NIC did with it
 *
 * Both read the same per-port NIC table, which the engine fills as NICs are attached and detached.
 */
import { Counters, kMaxPorts } from '../dataplane/counters.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { VectorNode } from '../dataplane/vector-chain.js';
import type { Nic } from '../ports/nic.js';
import { portCounters, switchDrops } from '../switch/counters.js';

/** The NIC of each port on this worker, null where there is none (or only a remote one). */
export type NicTable = Array<Nic | null>;

export function createNicTable(): NicTable {
  return new Array<Nic | null>(kMaxPorts).fill(null);
}

export class AttachedNode extends VectorNode {
  readonly name = 'attached';
  constructor(
    private readonly nics: NicTable,
    private readonly pool: PacketPool,
    private readonly counters: Counters,
  ) {
    super();
  }

  protected push(p: number, slots: Int32Array, n: number): void {
    if (this.nics[p] !== null) {
      this.emit(p, slots, n);
      return;
    }
    this.counters.c[Counters.portDrop(p, switchDrops['link-down'])] += n;
    for (let i = 0; i < n; i++) this.pool.release(slots[i]);
  }
}

export class TransmitNode extends VectorNode {
  readonly name = 'transmit';
  constructor(
    private readonly nics: NicTable,
    private readonly pool: PacketPool,
    private readonly counters: Counters,
  ) {
    super();
  }

  protected push(p: number, list: Int32Array, n: number): void {
    const pool = this.pool;
    const c = this.counters.c;
    const sent = this.nics[p]!.transmit(list, n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = list[i];
      if (i < sent) bytes += pool.meta32[(s << Meta.shift) + Meta.len];
      pool.release(s);
    }
    c[Counters.port(p, portCounters.txFrames)] += sent;
    c[Counters.port(p, portCounters.txBytes)] += bytes;
  }
}
