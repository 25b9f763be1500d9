/**
 * Software segmentation offload (LSO/TSO, and UDP USO): split one GSO frame - a TCP (or UDP) packet with
 * the headers of its first segment and up to 64 KB of payload, as a TAP with IFF_VNET_HDR hands it over -
 * into wire-sized frames for a port that cannot take GSO (docs/offloads.md).
 *
 *   GSO frame (slot):  | L2 (14|18) | IPv4/IPv6 | TCP | payload ........................................ |
 *   segment k (new):   | L2 copy    | IP'       | TCP'| payload [k*mss, min((k+1)*mss, total)) |
 *
 * Design notes: README.md in this folder, section "segment.ts".
 */
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import * as tcp from '../packet/tcp.js';
import * as udp from '../packet/udp.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { kGsoEcn, kGsoNone, kGsoTcp4, kGsoTcp6, kGsoUdpL4, kOffNeedsCsum } from '../dataplane/pool.js';
import { finish, ipv4HeaderChecksum, pseudoSumAt } from '../packet/checksum.js';
import { kErrGsoMalformed, kErrGsoUnsupported, kErrNoBuffer, kErrOutFull, kOffloadOk } from './errors.js';
import { Headers, kProtoTcp, kProtoUdp, kTcpCsumOff, kUdpCsumOff, parseHeaders } from './headers.js';
import { sum16 } from './sum.js';

/** The largest MSS a virtio_net_hdr can carry (gso_size is 16 bits). */
const kMaxMss = 0xffff;
const kTcpFin = 0x01; // TCP flag bits (RFC 9293, RFC 3168)
const kTcpPsh = 0x08;
const kTcpCwr = 0x80;
const kTcpFlagsOff = tcp.field.flags;
const kTcpSeqOff = tcp.field.seq;
const kIpv4TotalLenOff = ipv4.field.totalLen;
const kIpv4IdentOff = ipv4.field.ident;
const kIpv4CsumOff = ipv4.field.checksum;
const kIpv6PlenOff = ipv6.field.payloadLen;
const kIpv6Header = ipv6.field.headerLen; // payload length counts what follows it
const kUdpLenOff = udp.field.length;

const h = new Headers(); // module scratch: one header walk at a time per worker

/**
 * Segment the TCP GSO frame in `slot` into frames of at most `mss` payload bytes, written as slot numbers
 * to out[outStart..]. Returns the segment count (>= 1) or a negative code from errors.ts. Accepts
 * gsoType kGsoTcp4 / kGsoTcp6 (kGsoEcn bit allowed) or kGsoNone (a plain TCP frame). The original slot is
 * left untouched and owned by the caller.
 */
export function segmentTcp(pool: PacketPool, slot: number, mss: number, out: Int32Array, outStart: number): number {
  return segmentL4(pool, slot, mss, out, outStart, kProtoTcp);
}

/** Segment a kGsoUdpL4 (USO) frame into UDP datagrams of at most `mss` payload bytes each. Same contract. */
export function segmentUdpL4(pool: PacketPool, slot: number, mss: number, out: Int32Array, outStart: number): number {
  return segmentL4(pool, slot, mss, out, outStart, kProtoUdp);
}

/**
 * Segment by the slot's own metadata: gsoType picks TCP or UDP, gsoSize is the MSS. kGsoNone or an
 * unknown type (UFO, SCTP, tunnels, ...) is `gso-unsupported`: a non-GSO frame needs completeChecksum.
 */
export function segmentGso(pool: PacketPool, slot: number, out: Int32Array, outStart: number): number {
  const type = pool.meta32[(slot << Meta.shift) + Meta.gsoType]! & ~kGsoEcn;
  if (type === kGsoTcp4 || type === kGsoTcp6)
    return segmentL4(pool, slot, pool.meta16[(slot << Meta16.shift) + Meta16.gsoSize]!, out, outStart, kProtoTcp);
  if (type === kGsoUdpL4)
    return segmentL4(pool, slot, pool.meta16[(slot << Meta16.shift) + Meta16.gsoSize]!, out, outStart, kProtoUdp);
  return kErrGsoUnsupported;
}

function segmentL4(
  pool: PacketPool,
  slot: number,
  mss: number,
  out: Int32Array,
  outStart: number,
  proto: number,
): number {
  // --- checks, all before the first slot is taken ---
  if (!(mss >= 1 && mss <= kMaxMss) || mss !== Math.floor(mss)) return kErrGsoMalformed; // also rejects NaN
  const m = pool.meta32;
  const at = slot << Meta.shift;
  const type = m[at + Meta.gsoType]! & ~kGsoEcn;
  const tcp = proto === kProtoTcp;
  if (tcp ? type !== kGsoNone && type !== kGsoTcp4 && type !== kGsoTcp6 : type !== kGsoNone && type !== kGsoUdpL4)
    return kErrGsoUnsupported;
  const rc = parseHeaders(pool, slot, h);
  if (rc !== kOffloadOk) return rc;
  const len = m[at + Meta.len]!;
  if (h.proto !== proto || h.fragment || h.ipEnd !== len) return kErrGsoMalformed;
  if ((type === kGsoTcp4 && h.v6) || (type === kGsoTcp6 && !h.v6)) return kErrGsoMalformed;
  if ((m[at + Meta.oflags]! & kOffNeedsCsum) !== 0) {
    // The partial checksum must point at this L4 header's checksum field; anything else is a bogus header.
    if (
      m[at + Meta.csumStart] !== h.l4 ||
      pool.meta16[(slot << Meta16.shift) + Meta16.csumOffset] !== (tcp ? kTcpCsumOff : kUdpCsumOff)
    )
      return kErrGsoMalformed;
  }
  const hdrLen = h.payload;
  const total = len - hdrLen;
  // A segment must fit a fresh slot (frame at the headroom): the original may not have, if a tag was pushed
  // into its headroom. Refused rather than written past the slot.
  if (hdrLen + (total < mss ? total : mss) > pool.maxFrame) return kErrGsoMalformed;
  const count = total === 0 ? 1 : Math.ceil(total / mss);
  if (outStart < 0 || outStart + count > out.length) return kErrOutFull;
  if (pool.available < count) return kErrNoBuffer;

  // --- per-frame constants ---
  const b = pool.bytes;
  const v = pool.view;
  const src = pool.frameStart(slot);
  const l3 = h.l3;
  const l4 = h.l4;
  const v6 = h.v6;
  // Pseudo-header sum without the length (added per segment): addresses + protocol.
  const pseudo = pseudoSumAt(b, src + l3, proto, 0);
  const ident = v6 ? 0 : v.getUint16(src + l3 + kIpv4IdentOff);
  const seq = tcp ? v.getUint32(src + l4 + kTcpSeqOff) : 0;
  const flags = tcp ? b[src + l4 + kTcpFlagsOff]! : 0;
  const port = m[at + Meta.port]!;
  const vid = m[at + Meta.vid]!;
  const pcp = m[at + Meta.pcp]!;
  const dst = m[at + Meta.dst]!;

  for (let k = 0; k < count; k++) {
    const s = pool.alloc();
    if (s < 0) {
      for (let j = 0; j < k; j++) pool.free(out[outStart + j]!);
      return kErrNoBuffer;
    }
    out[outStart + k] = s;
    const d = pool.frameStart(s);
    const from = k * mss;
    const chunk = total - from < mss ? total - from : mss;
    b.copyWithin(d, src, src + hdrLen);
    if (chunk > 0) b.copyWithin(d + hdrLen, src + hdrLen + from, src + hdrLen + from + chunk);
    const segLen = hdrLen + chunk;
    const l4Len = segLen - l4;
    const sa = s << Meta.shift;
    m[sa + Meta.len] = segLen;
    m[sa + Meta.port] = port;
    m[sa + Meta.vid] = vid;
    m[sa + Meta.pcp] = pcp;
    m[sa + Meta.dst] = dst;
    pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = 0;
    m[sa + Meta.csumStart] = 0;
    pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = 0; // alloc() already cleared oflags and gsoType
    if (v6) {
      v.setUint16(d + l3 + kIpv6PlenOff, segLen - l3 - kIpv6Header);
    } else {
      v.setUint16(d + l3 + kIpv4TotalLenOff, segLen - l3);
      v.setUint16(d + l3 + kIpv4IdentOff, (ident + k) & 0xffff);
      v.setUint16(d + l3 + kIpv4CsumOff, 0);
      v.setUint16(d + l3 + kIpv4CsumOff, ipv4HeaderChecksum(b, d + l3));
    }
    if (tcp) {
      let f = flags;
      if (k > 0) f &= ~kTcpCwr;
      if (k < count - 1) f &= ~(kTcpFin | kTcpPsh);
      b[d + l4 + kTcpFlagsOff] = f;
      v.setUint32(d + l4 + kTcpSeqOff, (seq + from) >>> 0);
      v.setUint16(d + l4 + kTcpCsumOff, 0);
      v.setUint16(d + l4 + kTcpCsumOff, finish(sum16(b, d + l4, l4Len, pseudo + l4Len)));
    } else {
      v.setUint16(d + l4 + kUdpLenOff, l4Len);
      v.setUint16(d + l4 + kUdpCsumOff, 0);
      const c = finish(sum16(b, d + l4, l4Len, pseudo + l4Len));
      v.setUint16(d + l4 + kUdpCsumOff, c === 0 ? 0xffff : c); // RFC 768: 0 means "no checksum"
    }
  }
  return count;
}
