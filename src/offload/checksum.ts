/**
 * Software checksum offload: complete a PARTIAL L4 checksum (virtio_net_hdr VIRTIO_NET_HDR_F_NEEDS_CSUM,
 * Linux CHECKSUM_PARTIAL) before a frame leaves through a port that cannot (a QEMU stream/dgram socket, a
 * plain TAP, a mirror, a VXLAN tunnel), docs/offloads.md.
 *
 * Semantics, as the kernel hands them over a TAP with IFF_VNET_HDR: the 16-bit field at
 * csumStart + csumOffset (both from the frame start) already holds the folded pseudo-header sum, not
 * complemented; completing means summing bytes [csumStart, len) - that field included - and storing the
 * complement there (Linux skb_checksum_help). No header is parsed, so it works for TCP, UDP, ICMPv6, DCCP
 * alike, exactly as a NIC does it.
 *
 * Design notes: README.md in this folder, section "checksum.ts".
 */
import * as udp from '../packet/udp.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { kOffNeedsCsum } from '../dataplane/pool.js';
import { finish, pseudoSumAt } from '../packet/checksum.js';
import { kErrCsumBadOffset, kOffloadOk } from './errors.js';
import { Headers, kProtoUdp, parseHeaders } from './headers.js';
import { sum16 } from './sum.js';

/** csumOffset of the UDP checksum field: a computed 0 must be sent as 0xffff (RFC 768). */
const kUdpCsumOffset = udp.field.checksum;
/** The checksum field is 2 bytes: it must lie wholly inside the frame. */
const kCsumFieldLen = 2;

/**
 * Complete the partial checksum of the frame in `slot` in place and clear kOffNeedsCsum. Returns 0
 * (also when nothing was pending) or `csum-bad-offset` when csumStart/csumOffset point outside the frame
 * (nothing written, flags unchanged: the caller drops and counts).
 */
export function completeChecksum(pool: PacketPool, slot: number): number {
  const m = pool.meta32;
  const rec = slot << Meta.shift;
  if ((m[rec + Meta.oflags]! & kOffNeedsCsum) === 0) return kOffloadOk;
  const start = m[rec + Meta.csumStart]!;
  const offset = pool.meta16[(slot << Meta16.shift) + Meta16.csumOffset]!;
  const len = m[rec + Meta.len]!;
  if (start < 0 || offset < 0 || start + offset + kCsumFieldLen > len) return kErrCsumBadOffset;
  const b = pool.bytes;
  const base = pool.frameStart(slot);
  const at = base + start + offset;
  let c = finish(sum16(b, base + start, len - start, 0));
  if (c === 0 && offset === kUdpCsumOffset) c = 0xffff;
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
  m[rec + Meta.oflags] &= ~kOffNeedsCsum;
  return kOffloadOk;
}

const scratch = new Headers();

/**
 * True when the frame in `slot` is TCP or UDP over IPv4/IPv6 (optionally tagged) and its L4 checksum
 * verifies over the IP datagram's L4 bytes (padding ignored). A zero UDP checksum over IPv4 means "not
 * computed" and passes (RFC 768). False for anything unparsable or another protocol. For tests and for
 * the coalescer's input check.
 */
export function verifyL4Checksum(pool: PacketPool, slot: number): boolean {
  if (parseHeaders(pool, slot, scratch) !== kOffloadOk || scratch.fragment) return false;
  return verifyParsed(pool, slot, scratch);
}

/** `verifyL4Checksum` for a frame whose headers are already in `h`. */
export function verifyParsed(pool: PacketPool, slot: number, h: Headers): boolean {
  const b = pool.bytes;
  const base = pool.frameStart(slot);
  const l4Len = h.ipEnd - h.l4;
  if (
    h.proto === kProtoUdp &&
    !h.v6 &&
    b[base + h.l4 + kUdpCsumOffset] === 0 &&
    b[base + h.l4 + kUdpCsumOffset + 1] === 0
  )
    return true;
  return sum16(b, base + h.l4, l4Len, pseudoSumAt(b, base + h.l3, h.proto, l4Len)) === 0xffff;
}
