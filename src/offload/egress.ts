/**
 * Egress offload node (docs/design.md, pipeline step 4; docs/offloads.md): what the switch does in software for a
 * destination whose endpoint lacks an offload, frame by frame just before delivery.
 *
 *   GSO frame, port without TSO/USO  -> segments of at most gsoSize (segment.ts); the port's queue reference
 *                                        to the big frame is released
 *   partial checksum, port w/o CSUM  -> completed in place (checksum.ts); the frame is then whole for everyone
 *   port with TSO and RSC enabled    -> in-order segments of one flow merged into GSO frames (coalesce.ts)
 *   otherwise                        -> passed through untouched (the big lever: 64 KB per write)
 *
 * Design notes: README.md in this folder, section "egress.ts".
 */
import { Counters } from '../dataplane/counters.js';
import { kGsoEcn, kGsoNone, kGsoUdpL4, kOffNeedsCsum, type PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { VectorNode } from '../dataplane/vector-chain.js';
import { kCapCsum, kCapTso, kCapUso } from '../ports/nic.js';
import * as eth from '../packet/ethernet.js';
import * as tcp from '../packet/tcp.js';
import { walked } from '../packet/walk.js';
import { completeChecksum } from './checksum.js';
import { coalesceTcp, CoalesceResult } from './coalesce.js';
import { kUdpHeader } from './headers.js';
import { segmentGso } from './segment.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { offloadCounters, offloadDrops } from './counters.js';
import { portDrops } from '../ports/counters.js';
import { switchDrops } from '../switch/counters.js';

/** Deliveries are handed to the NIC in chunks of this many frames, so a queue of 64 KB GSO frames being
 *  segmented never holds more than one chunk of segments (plus one frame's worth) in the pool at once. */
export const kChunk = 256;
/** Room for a chunk plus the segments of one more frame: 64 KB at the smallest sane MSS (536) is 123. */
const kOutLen = kChunk + 128;
/** RSC never builds a frame longer than 64 KB: the IPv4 total length limit, and what a TAP accepts. */
const kRscMaxBytes = 65535;

/** The segmenter's error codes (errors.ts, -1..-5) as the switch's drop reasons, indexed by -code. */
const kSegmentDrop = [
  0,
  offloadDrops['gso-malformed'], // csum-bad-offset: the GSO frame's offsets disagree with it
  offloadDrops['gso-malformed'],
  offloadDrops['gso-unsupported'],
  mechanismDrops['no-buffer'],
  mechanismDrops['ring-full'], // gso-out-full: no room left for this delivery's segments
];

export class OffloadNode extends VectorNode {
  readonly name = 'offload';
  readonly out = new Int32Array(kOutLen);
  private readonly res = new CoalesceResult(kOutLen);
  /** Receive segment coalescing toward offload-capable ports (switch setting `rsc`). */
  rsc = true;

  /** `caps[p]` is port p's offload capabilities (kCap*), `mtu[p]` its IP MTU. */
  constructor(
    private readonly pool: PacketPool,
    private readonly counters: Counters,
    private readonly caps: Int32Array,
    private readonly mtu: Int32Array,
  ) {
    super();
  }

  protected push(p: number, slots: Int32Array, n: number): void {
    const caps = this.caps[p];
    const mtu = this.mtu[p];
    let w = 0;
    for (let i = 0; i < n; i++) {
      w = this.fix(p, caps, mtu, slots[i], w);
      if (w >= kChunk) {
        this.emit(p, this.out, this.coalesce(p, caps, w));
        w = 0;
      }
    }
    if (w > 0) this.emit(p, this.out, this.coalesce(p, caps, w));
  }

  /** Append the delivery of slot s to port p (IP MTU `mtu`) at out[w..]; returns the new w. Releases s when replaced. */
  fix(p: number, caps: number, mtu: number, s: number, w: number): number {
    const at = s << Meta.shift;
    const pool = this.pool;
    const gso = pool.meta32[at + Meta.gsoType];
    if (gso !== kGsoNone) {
      const udp = (gso & ~kGsoEcn) === kGsoUdpL4;
      if (this.segmentL3Len(s, udp) > mtu) {
        // each segment would exceed the port's MTU, cut here or by the receiving kernel: refuse it whole, as
        // Linux's bridge does (skb_gso_validate_network_len)
        this.counters.c[Counters.portDrop(p, switchDrops['mtu-exceeded'])]++;
        pool.release(s);
        return w;
      }
      if ((caps & (udp ? kCapUso : kCapTso)) !== 0) {
        this.out[w] = s;
        return w + 1;
      }
      const c = this.counters.c;
      const k = segmentGso(pool, s, this.out, w);
      if (k < 0) {
        c[Counters.portDrop(p, kSegmentDrop[-k]!)]++;
        pool.release(s);
        return w;
      }
      for (let i = w; i < w + k; i++) pool.meta32[(this.out[i] << Meta.shift) + Meta.refs] = 1;
      c[Counters.port(p, offloadCounters.offSegmented)]++;
      c[Counters.port(p, offloadCounters.offSegments)] += k;
      pool.release(s);
      return w + k;
    }
    if ((pool.meta32[at + Meta.oflags] & kOffNeedsCsum) !== 0 && (caps & kCapCsum) === 0) {
      if (completeChecksum(pool, s) === 0) this.counters.c[Counters.port(p, offloadCounters.offCsum)]++;
      else {
        this.counters.c[Counters.portDrop(p, portDrops['bad-vnet-hdr'])]++;
        pool.release(s);
        return w;
      }
    }
    this.out[w] = s;
    return w + 1;
  }

  /** IP length of one full segment of GSO frame s (L3 + L4 headers + gsoSize), or 0 when its offsets are
   *  not inside the frame (the segmenter then refuses it with its own reason). */
  private segmentL3Len(s: number, udp: boolean): number {
    const at = s << Meta.shift;
    const pool = this.pool;
    const cs = pool.meta32[at + Meta.csumStart];
    if (cs < eth.field.headerLen || cs + tcp.field.dataOff >= pool.meta32[at + Meta.len] - 1) return 0; // the data offset byte is in the frame
    walked(pool, s);
    const l3 = pool.meta32[at + Meta.l3]; // 14, or 18 behind one 802.1Q tag
    const l4 = udp ? kUdpHeader : tcp.headerLen(pool.view, pool.frameStart(s) + cs); // UDP header, or TCP data offset
    return cs - l3 + l4 + pool.meta16[(s << Meta16.shift) + Meta16.gsoSize];
  }

  /** RSC over a chunk about to go to an offload-capable port: merged-away slots are released. */
  coalesce(p: number, caps: number, n: number): number {
    if (!this.rsc || (caps & kCapTso) === 0 || n < 2) return n;
    const res = this.res;
    const m = coalesceTcp(this.pool, this.out, n, kRscMaxBytes, res);
    for (let i = 0; i < res.freedCount; i++) this.pool.release(res.freed[i]);
    if (res.freedCount > 0) this.counters.c[Counters.port(p, offloadCounters.offCoalesced)] += res.freedCount;
    return m;
  }
}
