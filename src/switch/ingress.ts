/**
 * Ingress node: the edge check and VLAN classification of every received frame (DESIGN.md section 3,
 * step 1, and section 4). Length is checked here once; nodes after it trust the header.
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
 *   later node sees an untagged frame with `pool.vid`/`pool.pcp` set; egress re-inserts it where needed.
 *   Counted as the VLAN-strip offload.
 */
import { Counters } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
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
    const { view, aux, len, off } = pool;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const p = pool.port[s];
      const n = len[s];
      c[Counters.port(p, kRxFrames)]++;
      c[Counters.port(p, kRxBytes)] += n;
      if (ports.linkUp[p] === 0) {
        aux[s] = switchDrops['link-down'];
        continue;
      }
      if (n < eth.field.headerLen) {
        aux[s] = switchDrops.malformed;
        continue;
      }
      const start = pool.slotBase(s) + off[s];
      if (eth.isSrcGroup(view, start)) {
        aux[s] = switchDrops['src-multicast'];
        continue;
      }
      if (vlan.isTagged(view, start)) {
        if (n < vlan.field.headerLen) {
          aux[s] = switchDrops['truncated-vlan'];
          continue;
        }
        let vid = vlan.vid(view, start);
        if (vid === 0) {
          if (vlan.hasInnerTag(view, start)) {
            aux[s] = switchDrops['vlan-double-tagged'];
            continue;
          }
          vid = ports.pvid[p];
          if (vid === 0) {
            aux[s] = switchDrops['vlan-not-allowed'];
            continue;
          }
        } else if (ports.trunk[p] === 0) {
          aux[s] = switchDrops['vlan-tagged-on-access'];
          continue;
        } else if (vid === kVidReserved || !ports.isMember(p, vid)) {
          aux[s] = switchDrops['vlan-not-allowed'];
          continue;
        }
        pool.vid[s] = vid;
        pool.pcp[s] = vlan.pcp(view, start);
        vlan.popTag(view, start);
        off[s] += vlan.field.tagLen;
        len[s] = n - vlan.field.tagLen;
        if (pool.oflags[s] !== 0) pool.csumStart[s] -= vlan.field.tagLen; // partial checksum offsets are frame-relative
        if (pool.hdr[s] !== 0) shiftL2(pool, s, -vlan.field.tagLen); // and so are the header record's
        c[Counters.port(p, portCounters.vlanStripped)]++;
      } else {
        const vid = ports.pvid[p];
        if (vid === 0) {
          aux[s] = switchDrops['vlan-not-allowed'];
          continue;
        }
        pool.vid[s] = vid;
        pool.pcp[s] = 0;
      }
    }
  }
}
