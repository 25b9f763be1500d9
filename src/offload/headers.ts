/**
 * Header walk shared by the software offloads: L2 (14 bytes, or 18 with an 802.1Q tag) -> IPv4/IPv6 ->
 * TCP/UDP, checked once against the frame length, results left in a caller-owned `Headers` record.
 *
 * Why: segmentation, checksum verification and coalescing all need the same offsets (where L3, L4 and the
 * payload start, where the IP datagram ends) and the same length checks; doing them in one place means
 * each path checks lengths exactly once and then trusts the numbers (STYLE.md lesson 2).
 *
 * Trade-offs:
 * - The result goes into a long-lived `Headers` object each module allocates once (module scratch), not
 *   a fresh object per packet. Not re-entrant across threads, which is fine: a module instance lives in
 *   one worker.
 * - IPv6 extension headers are not walked: a next header other than TCP/UDP is `gso-unsupported`. Linux
 *   GSO can carry them, but a TAP guest sending TSO with extension headers is rare enough that refusing
 *   (and counting) beats a second, rarely-run parse path.
 * - Only the outer 0x8100 tag is recognised; QinQ (0x88a8) is `gso-unsupported`.
 * - Offsets are relative to the frame start (`pool.frameStart(slot)`), like virtio's csum_start.
 */
import type { PacketPool } from '../dataplane/pool.js';
import { kErrGsoMalformed, kErrGsoUnsupported, kOffloadOk } from './errors.js';

export const kEthHeader = 14; // dst MAC, src MAC, EtherType
export const kTaggedHeader = 18; // + 802.1Q TPID and TCI
const kTpid = 0x8100; // IEEE 802.1Q C-tag
const kTypeIpv4 = 0x0800; // RFC 894
const kTypeIpv6 = 0x86dd; // RFC 2464
export const kIpv4MinHeader = 20; // IHL 5
export const kIpv6Header = 40; // fixed header; extension headers are not walked
export const kTcpMinHeader = 20; // data offset 5
export const kUdpHeader = 8; // RFC 768
export const kProtoTcp = 6; // IANA protocol numbers
export const kProtoUdp = 17;
export const kTcpCsumOff = 16; // TCP checksum field within the TCP header (RFC 9293)
export const kUdpCsumOff = 6; // UDP checksum field within the UDP header (RFC 768)
const kIpv4FragMask = 0x3fff; // MF flag + 13-bit fragment offset in the flags/fragment word

/** Offsets (from the frame start) of one frame's headers, filled by `parseHeaders`. */
export class Headers {
  l2 = 0; // L2 header length: 14 or 18
  l3 = 0; // IP header start (= l2)
  l4 = 0; // TCP/UDP header start
  payload = 0; // first payload byte (= all headers' length)
  ipEnd = 0; // end of the IP datagram: bytes past it are Ethernet padding
  v6 = false;
  proto = 0; // kProtoTcp or kProtoUdp
  fragment = false; // IPv4 MF set or a non-zero fragment offset
}

/**
 * Walk the headers of the frame in `slot` into `h`. Returns 0, `gso-malformed` (a length or header field
 * disagrees with the frame) or `gso-unsupported` (not IPv4/IPv6, IPv6 extension headers, not TCP/UDP).
 * A later IPv4 fragment (no L4 header) is malformed here; a first fragment parses with `fragment` set.
 */
export function parseHeaders(pool: PacketPool, slot: number, h: Headers): number {
  const b = pool.bytes;
  const base = pool.frameStart(slot);
  const len = pool.len[slot]!;
  if (len < kEthHeader) return kErrGsoMalformed;
  let l3 = kEthHeader;
  let type = (b[base + 12]! << 8) | b[base + 13]!; // EtherType at 12
  if (type === kTpid) {
    if (len < kTaggedHeader) return kErrGsoMalformed;
    type = (b[base + 16]! << 8) | b[base + 17]!; // inner EtherType after the 4-byte tag
    l3 = kTaggedHeader;
  }
  let l4: number;
  let ipEnd: number;
  let proto: number;
  let fragment = false;
  const ip = base + l3;
  if (type === kTypeIpv4) {
    if (len < l3 + kIpv4MinHeader || b[ip]! >> 4 !== 4) return kErrGsoMalformed;
    const ihl = (b[ip]! & 0x0f) << 2; // IHL counts 32-bit words
    const total = (b[ip + 2]! << 8) | b[ip + 3]!;
    if (ihl < kIpv4MinHeader || total < ihl || l3 + total > len) return kErrGsoMalformed;
    const frag = ((b[ip + 6]! << 8) | b[ip + 7]!) & kIpv4FragMask;
    if ((frag & 0x1fff) !== 0) return kErrGsoMalformed; // a later fragment: no L4 header to work on
    fragment = frag !== 0;
    proto = b[ip + 9]!;
    l4 = l3 + ihl;
    ipEnd = l3 + total;
  } else if (type === kTypeIpv6) {
    if (len < l3 + kIpv6Header || b[ip]! >> 4 !== 6) return kErrGsoMalformed;
    const plen = (b[ip + 4]! << 8) | b[ip + 5]!;
    if (l3 + kIpv6Header + plen > len) return kErrGsoMalformed;
    proto = b[ip + 6]!;
    l4 = l3 + kIpv6Header;
    ipEnd = l4 + plen;
  } else {
    return kErrGsoUnsupported;
  }
  let payload: number;
  if (proto === kProtoTcp) {
    if (l4 + kTcpMinHeader > ipEnd) return kErrGsoMalformed;
    const thl = (b[base + l4 + 12]! >> 4) << 2; // data offset in 32-bit words
    if (thl < kTcpMinHeader || l4 + thl > ipEnd) return kErrGsoMalformed;
    payload = l4 + thl;
  } else if (proto === kProtoUdp) {
    if (l4 + kUdpHeader > ipEnd) return kErrGsoMalformed;
    const ulen = (b[base + l4 + 4]! << 8) | b[base + l4 + 5]!;
    if (l4 + ulen !== ipEnd) return kErrGsoMalformed;
    payload = l4 + kUdpHeader;
  } else {
    return kErrGsoUnsupported;
  }
  h.l2 = l3;
  h.l3 = l3;
  h.l4 = l4;
  h.payload = payload;
  h.ipEnd = ipEnd;
  h.v6 = type === kTypeIpv6;
  h.proto = proto;
  h.fragment = fragment;
  return kOffloadOk;
}
