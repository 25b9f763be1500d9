/**
 * Ingress node: the edge check and VLAN classification of every received frame (docs/design.md,
 * pipeline step 1; docs/vlans.md). Length is checked here once; nodes after it trust the header.
 *
 * - shorter than 14 bytes: `malformed`; TPID 0x8100 but shorter than 18: `truncated-vlan`
 *   (frames of 14..59 bytes are legal: the kernel never pads TAP frames, an ARP is 42 bytes)
 * - group source MAC: `src-multicast`; port link down (admin disconnected): `link-down`
 * - classification by the port's pvid/membership (switch/port-table.ts): a tagged frame keeps its PCP;
 *   VID 0 is a priority tag (classified to the pvid); 0x88a8 (QinQ) is just an EtherType here
 * - no VLAN hopping: a VLAN-tagged frame on a port that is not a trunk is `vlan-tagged-on-access` (its own
 *   VID too: stripping it would expose an inner tag, [30, 20] on access 30 leaving a native-30 trunk as
 *   VLAN 20), and a priority tag with an 802.1Q tag behind it is `vlan-double-tagged` on any port
 * - the tag is stripped in place (the frame moves 4 bytes into its headroom: 12 bytes copied) so every
 *   later node sees an untagged frame with the slot's `vid`/`pcp` set; egress re-inserts it where needed.
 *   Counted as the VLAN-strip offload.
 */
import { Counters } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import * as eth from '../packet/ethernet.js';
import * as vlan from '../packet/vlan.js';
import { shiftL2 } from '../packet/walk.js';
import type { PortTable } from './port-table.js';
import { portCounters, switchDrops } from './counters.js';

const kVidReserved = 0xfff; // 802.1Q reserves VID 4095
// per-frame counter rows as module constants (small integers the JIT folds, not property loads)
const kRxFrames = portCounters.rxFrames;
const kRxBytes = portCounters.rxBytes;

export class IngressNode implements GraphNode {
  readonly name = 'ingress';
  constructor(
    private readonly pool: PacketPool,
    private readonly ports: PortTable,
    private readonly counters: Counters,
  ) {}

  process(batch: Batch): void {
    const { pool, ports } = this;
    const c = this.counters.c;
    const { view } = pool;
    const m = pool.meta32;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      const p = m[at + Meta.port];
      const n = m[at + Meta.len];
      c[Counters.port(p, kRxFrames)]++;
      c[Counters.port(p, kRxBytes)] += n;
      if (ports.linkUp[p] === 0) {
        m[at + Meta.aux] = switchDrops['link-down'];
        continue;
      }
      if (n < eth.field.headerLen) {
        m[at + Meta.aux] = switchDrops.malformed;
        continue;
      }
      const start = pool.slotBase(s) + m[at + Meta.off];
      if (eth.isSrcGroup(view, start)) {
        m[at + Meta.aux] = switchDrops['src-multicast'];
        continue;
      }
      if (vlan.isTagged(view, start)) {
        if (n < vlan.field.headerLen) {
          m[at + Meta.aux] = switchDrops['truncated-vlan'];
          continue;
        }
        let vid = vlan.vid(view, start);
        if (vid === 0) {
          if (vlan.hasInnerTag(view, start)) {
            m[at + Meta.aux] = switchDrops['vlan-double-tagged'];
            continue;
          }
          vid = ports.pvid[p];
          if (vid === 0) {
            m[at + Meta.aux] = switchDrops['vlan-not-allowed'];
            continue;
          }
        } else if (ports.trunk[p] === 0) {
          m[at + Meta.aux] = switchDrops['vlan-tagged-on-access'];
          continue;
        } else if (vid === kVidReserved || !ports.isMember(p, vid)) {
          m[at + Meta.aux] = switchDrops['vlan-not-allowed'];
          continue;
        }
        m[at + Meta.vid] = vid;
        m[at + Meta.pcp] = vlan.pcp(view, start);
        vlan.popTag(view, start);
        m[at + Meta.off] += vlan.field.tagLen;
        m[at + Meta.len] = n - vlan.field.tagLen;
        if (m[at + Meta.oflags] !== 0) m[at + Meta.csumStart] -= vlan.field.tagLen; // partial checksum offsets are frame-relative
        if (m[at + Meta.hdr] !== 0) shiftL2(pool, s, -vlan.field.tagLen); // and so are the header record's
        c[Counters.port(p, portCounters.vlanStripped)]++;
      } else {
        const vid = ports.pvid[p];
        if (vid === 0) {
          m[at + Meta.aux] = switchDrops['vlan-not-allowed'];
          continue;
        }
        m[at + Meta.vid] = vid;
        m[at + Meta.pcp] = 0;
      }
    }
  }
}
