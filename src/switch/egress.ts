/**
 * Egress node, the replicate step and last node of the ingress graph (docs/design.md, pipeline step 4): turns
 * each forwarding decision into one vector per destination port (txq.ts), applying the VLAN egress rule,
 * link state and the MTU of each destination; the vectors then walk the egress list (engine/pipeline.ts).
 *
 * A frame arrives here untagged (ingress stripped it) with the slot's `vid`/`pcp`. A destination whose
 * pvid differs from the frame's VLAN gets it tagged (PCP kept). A flooded frame that goes out both tagged
 * and untagged needs two byte layouts: the untagged one stays in the original slot and a single tagged
 * clone is made; when every destination wants it tagged, the tag is inserted in place (4 bytes into the
 * headroom, 12 bytes moved). Each queued reference bumps the slot's `refs`; the engine releases after transmit.
 *
 * Design notes: README.md in this folder, section "egress.ts".
 */
import { Counters } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { copySlotMeta, Meta } from '../dataplane/slot-meta.js';
import type { TxQueues } from '../dataplane/txq.js';
import { kMaxPorts } from '../dataplane/counters.js';
import * as eth from '../packet/ethernet.js';
import * as vlan from '../packet/vlan.js';
import { shiftL2 } from '../packet/walk.js';
import { kFlood } from './forward.js';
import type { PortTable } from './port-table.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { portCounters, switchDrops } from './counters.js';

const kEthHeader = eth.field.headerLen;
// per-frame counter rows as module constants (small integers the JIT folds, not property loads)
const kTxUnicast = portCounters.txUnicast;
const kTxFlood = portCounters.txFlood;

/** A per-destination admission check applied at egress (inbound ACLs): `on[d]` says whether port d has one. */
export interface EgressFilter {
  readonly egressOn: Uint8Array;
  /** 0 to admit slot s to port d, else the drop code. */
  admitEgress(d: number, s: number): number;
}

const kNoFilter: EgressFilter = { egressOn: new Uint8Array(kMaxPorts), admitEgress: () => 0 };

export class EgressNode implements GraphNode {
  readonly name = 'egress';
  /** Scratch: destinations of the frame being flooded, and whether each wants a tag. */
  private readonly dests = new Int32Array(kMaxPorts);
  private readonly wantsTag = new Uint8Array(kMaxPorts);

  constructor(
    private readonly pool: PacketPool,
    private readonly ports: PortTable,
    private readonly txq: TxQueues,
    private readonly counters: Counters,
    private readonly filter: EgressFilter = kNoFilter,
  ) {}

  process(batch: Batch): void {
    const slots = batch.slots;
    const m = this.pool.meta32;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const d = m[(s << Meta.shift) + Meta.dst];
      if (d === kFlood) this.flood(s);
      else this.unicast(s, d);
    }
    batch.count = 0;
  }

  private unicast(s: number, d: number): void {
    const { pool, ports } = this;
    const m = pool.meta32;
    const at = s << Meta.shift;
    const c = this.counters.c;
    const vid = m[at + Meta.vid];
    let code = 0;
    if (ports.linkUp[d] === 0) code = switchDrops['link-down'];
    else if (!ports.isMember(d, vid)) code = switchDrops['vlan-not-allowed'];
    else if (
      (ports.pvlanKind[m[at + Meta.port]] | ports.pvlanKind[d]) !== 0 &&
      !ports.pvlanAllows(m[at + Meta.port], d)
    )
      code = switchDrops['pvlan-isolated'];
    else if (this.filter.egressOn[d] !== 0) code = this.filter.admitEgress(d, s); // inbound ACLs of d
    // GSO: its segment size is checked at delivery (offload/egress.ts)
    if (code === 0 && m[at + Meta.len] - kEthHeader > ports.mtu[d] && m[at + Meta.gsoType] === 0)
      code = switchDrops['mtu-exceeded'];
    if (code !== 0) {
      c[Counters.portDrop(d, code)]++;
      pool.free(s);
      return;
    }
    if (vid !== ports.pvid[d]) {
      this.insertTag(s);
      c[Counters.port(d, portCounters.vlanInserted)]++;
    }
    if (this.txq.push(d, s)) {
      m[at + Meta.refs] = 1;
      c[Counters.port(d, kTxUnicast)]++;
    } else {
      c[Counters.portDrop(d, mechanismDrops['ring-full'])]++;
      pool.free(s);
    }
  }

  private flood(s: number): void {
    const { pool, ports, dests, wantsTag } = this;
    const m = pool.meta32;
    const at = s << Meta.shift;
    const c = this.counters.c;
    const inPort = m[at + Meta.port];
    const vid = m[at + Meta.vid];
    // a GSO frame is exempt: its segments (gsoSize each) are what reach the wire
    const payload = m[at + Meta.gsoType] === 0 ? m[at + Meta.len] - kEthHeader : 0;
    let n = 0;
    let tagged = 0;
    for (let k = 0; k < ports.activeCount; k++) {
      const d = ports.active[k];
      if (d === inPort || ports.linkUp[d] === 0 || !ports.isMember(d, vid)) continue;
      if ((ports.pvlanKind[inPort] | ports.pvlanKind[d]) !== 0 && !ports.pvlanAllows(inPort, d)) continue;
      if (this.filter.egressOn[d] !== 0) {
        const code = this.filter.admitEgress(d, s);
        if (code !== 0) {
          c[Counters.portDrop(d, code)]++;
          continue;
        }
      }
      if (payload > ports.mtu[d]) {
        c[Counters.portDrop(d, switchDrops['mtu-exceeded'])]++;
        continue;
      }
      const t = vid !== ports.pvid[d] ? 1 : 0;
      dests[n] = d;
      wantsTag[n++] = t;
      tagged += t;
    }
    let tagSlot = -1;
    if (tagged > 0) {
      if (tagged === n) {
        this.insertTag(s);
        tagSlot = s;
      } else {
        tagSlot = this.cloneTagged(s);
        if (tagSlot < 0) c[Counters.portDrop(inPort, mechanismDrops['no-buffer'])]++;
      }
    }
    for (let k = 0; k < n; k++) {
      const d = dests[k];
      const slot = wantsTag[k] !== 0 ? tagSlot : s;
      if (slot < 0) continue;
      if (this.txq.push(d, slot)) {
        m[(slot << Meta.shift) + Meta.refs]++;
        c[Counters.port(d, kTxFlood)]++;
        if (wantsTag[k] !== 0) c[Counters.port(d, portCounters.vlanInserted)]++;
      } else c[Counters.portDrop(d, mechanismDrops['ring-full'])]++;
    }
    if (m[at + Meta.refs] === 0) pool.free(s);
    if (tagSlot >= 0 && tagSlot !== s && m[(tagSlot << Meta.shift) + Meta.refs] === 0) pool.free(tagSlot);
  }

  /** Push an 802.1Q tag into the headroom: move the 12 MAC bytes back 4, write TPID and TCI. */
  private insertTag(s: number): void {
    const pool = this.pool;
    const m = pool.meta32;
    const at = s << Meta.shift;
    vlan.pushTag(pool.view, pool.slotBase(s) + m[at + Meta.off], vlan.makeTci(m[at + Meta.pcp], m[at + Meta.vid]));
    m[at + Meta.off] -= vlan.field.tagLen;
    m[at + Meta.len] += vlan.field.tagLen;
    if (m[at + Meta.oflags] !== 0) m[at + Meta.csumStart] += vlan.field.tagLen;
    if (m[at + Meta.hdr] !== 0) shiftL2(pool, s, vlan.field.tagLen);
  }

  /** A tagged copy of an untagged slot in a new slot; -1 when the pool is exhausted. */
  private cloneTagged(s: number): number {
    const pool = this.pool;
    const m = pool.meta32;
    const t = pool.alloc();
    if (t < 0) return -1;
    const from = s << Meta.shift;
    const at = t << Meta.shift;
    // start the copy 4 bytes into the headroom so len + 4 always fits the slot
    const off = m[at + Meta.off] - vlan.field.tagLen;
    const src = pool.slotBase(s) + m[from + Meta.off];
    const dst = pool.slotBase(t) + off;
    const n = m[from + Meta.len];
    pool.bytes.copyWithin(dst, src, src + vlan.field.tpid);
    pool.view.setUint16(dst + vlan.field.tpid, vlan.kTpid);
    vlan.setTci(pool.view, dst, vlan.makeTci(m[from + Meta.pcp], m[from + Meta.vid]));
    pool.bytes.copyWithin(dst + vlan.field.ethertype, src + vlan.field.tpid, src + n);
    copySlotMeta(m, s, t); // VLAN, offload and header record travel with the copy, then the tag's shift
    m[at + Meta.off] = off;
    m[at + Meta.len] = n + vlan.field.tagLen;
    m[at + Meta.refs] = 0;
    if (m[at + Meta.oflags] !== 0) m[at + Meta.csumStart] += vlan.field.tagLen;
    if (m[at + Meta.hdr] !== 0) shiftL2(pool, t, vlan.field.tagLen);
    return t;
  }
}
