/**
 * Headers of the software offloads: L2 (14 bytes, or 18 with an 802.1Q tag) -> IPv4/IPv6 -> TCP/UDP, from
 * the slot's header record (packet/walk.ts) plus the L4 length checks, left in a caller-owned `Headers`.
 *
 * Why: segmentation, checksum verification and coalescing all need the same offsets (where L3, L4 and the
 * payload start, where the IP datagram ends) and the same length checks; doing them in one place means
 * each path checks lengths exactly once and then trusts the numbers.
 *
 * Design notes: README.md in this folder, section "headers.ts".
 */
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { IpProto } from '../packet/ipv4.js';
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import * as tcp from '../packet/tcp.js';
import * as udp from '../packet/udp.js';
import { family, kFamBad, kFamIpv4, kFamNone, kFragFirst, kFragLater, protocol, walked } from '../packet/walk.js';
import { EtherType } from '../packet/ethernet.js';
import * as vlan from '../packet/vlan.js';
import { kErrGsoMalformed, kErrGsoUnsupported, kOffloadOk } from './errors.js';

// Header sizes and fields the offloads name, from packet/ (the offsets live there).
export const kIpv4MinHeader = ipv4.field.headerLen; // IHL 5
export const kIpv6Header = ipv6.field.headerLen; // fixed header; extension headers are not walked
export const kTcpMinHeader = tcp.field.headerLen; // data offset 5
export const kUdpHeader = udp.field.headerLen; // RFC 768
export const kProtoTcp = IpProto.tcp;
export const kProtoUdp = IpProto.udp;
export const kTcpCsumOff = tcp.field.checksum; // TCP checksum field within the TCP header (RFC 9293)
export const kUdpCsumOff = udp.field.checksum; // UDP checksum field within the UDP header (RFC 768)

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
 * The headers of the frame in `slot` into `h`, from the slot's header record (packet/walk.ts) plus the
 * TCP/UDP length checks segmentation needs. Returns 0, `gso-malformed` (a length or header field disagrees
 * with the frame) or `gso-unsupported` (not IPv4/IPv6, IPv6 extension headers, not TCP/UDP). A later IPv4
 * fragment (no L4 header) is malformed here; a first fragment parses with `fragment` set.
 */
export function parseHeaders(pool: PacketPool, slot: number, h: Headers): number {
  const at = slot << Meta.shift;
  const rec = walked(pool, slot);
  const l3 = pool.meta32[at + Meta.l3]!;
  if (l3 === 0) return kErrGsoMalformed; // shorter than its Ethernet header, or a tag cut short
  const fam = family(rec);
  if (fam === kFamNone) return kErrGsoUnsupported;
  const view = pool.view;
  const base = pool.frameStart(slot);
  const ip = base + l3;
  if (fam === kFamBad)
    return jumbogram(view, base, ip, pool.meta32[at + Meta.len]! - l3) ? kErrGsoUnsupported : kErrGsoMalformed;
  if ((rec & kFragLater) !== 0) return kErrGsoMalformed; // a later fragment: no L4 header to work on
  const l4 = pool.meta32[at + Meta.l4]!;
  const v4 = fam === kFamIpv4;
  const ipEnd = v4 ? l3 + ipv4.totalLength(view, ip) : l4 + ipv6.payloadLength(view, ip);
  const proto = protocol(rec);
  let payload: number;
  if (proto === kProtoTcp) {
    if (l4 + kTcpMinHeader > ipEnd) return kErrGsoMalformed;
    const thl = tcp.headerLen(view, base + l4);
    if (thl < kTcpMinHeader || l4 + thl > ipEnd) return kErrGsoMalformed;
    payload = l4 + thl;
  } else if (proto === kProtoUdp) {
    if (l4 + kUdpHeader > ipEnd) return kErrGsoMalformed;
    if (l4 + udp.length(view, base + l4) !== ipEnd) return kErrGsoMalformed;
    payload = l4 + kUdpHeader;
  } else {
    return kErrGsoUnsupported;
  }
  h.l2 = l3;
  h.l3 = l3;
  h.l4 = l4;
  h.payload = payload;
  h.ipEnd = ipEnd;
  h.v6 = !v4;
  h.proto = proto;
  h.fragment = (rec & kFragFirst) !== 0;
  return kOffloadOk;
}

/** An IPv6 jumbogram header (payload length 0, hop-by-hop next): sound, but nothing segmentation handles. */
function jumbogram(view: DataView, frame: number, ip: number, avail: number): boolean {
  return (
    vlan.innerEthertype(view, frame) === EtherType.ipv6 &&
    ipv6.check(view, ip, avail) === ipv6.Ipv6Check.payloadLength &&
    ipv6.payloadLength(view, ip) === 0
  );
}
