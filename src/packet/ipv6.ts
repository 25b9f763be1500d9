/**
 * IPv6 fixed header view (RFC 8200).
 *
 *   0                  4              6       7         8            24           40
 *   |ver|tclass|flow  | payload length | next | hop lim | source (16) | dest (16) | payload ...
 *
 * Why: ACLs match IPv6 prefixes, the router guard looks for ICMPv6 router advertisements, the DHCP guard
 * for DHCPv6; the offload fix-ups rewrite payload length.
 *
 * Trade-offs: `nextHeader` is just the number in the fixed header, so a datagram with a hop-by-hop header
 * (e.g. MLD) reports 0; callers that need the upper layer behind extension headers use `walkExtensions`
 * (the ACL flow key and the DHCP/router guards). Jumbograms (payload length 0, RFC 2675) are rejected by
 * `check`.
 * Offsets are relative to the IPv6 header.
 */
import { formatIpv6, parseIpv6 } from './ipaddr.js';

export const field = {
  verTcFlow: 0, // version (4 bits), traffic class (8), flow label (20)
  payloadLen: 4, // bytes after this 40-byte header
  nextHeader: 6,
  hopLimit: 7,
  src: 8, // 16 bytes
  dst: 24, // 16 bytes
  headerLen: 40, // fixed header
} as const;

export const Ipv6Check = {
  ok: 0,
  truncated: 1, // fewer than 40 bytes
  version: 2, // version nibble is not 6
  payloadLength: 3, // 40 + payload length > buffer, or 0 before a hop-by-hop header (a jumbogram, unsupported)
} as const;

const kVersion = 6; // the version nibble of every IPv6 header
const kFlowMask = 0xfffff; // 20-bit flow label
const kMulticastFirstByte = 0xff; // ff00::/8 (RFC 4291 section 2.7)

/** Validate the fixed header at `off` against the `len` bytes available; returns an `Ipv6Check` code. */
export function check(view: DataView, off: number, len: number): number {
  if (len < field.headerLen) return Ipv6Check.truncated;
  if (view.getUint8(off) >> 4 !== kVersion) return Ipv6Check.version;
  const plen = view.getUint16(off + field.payloadLen);
  if (field.headerLen + plen > len) return Ipv6Check.payloadLength;
  // Payload length 0 with a Hop-by-Hop header is a jumbogram (RFC 2675): not on Ethernet, not supported.
  if (plen === 0 && view.getUint8(off + field.nextHeader) === 0) return Ipv6Check.payloadLength;
  return Ipv6Check.ok;
}

export function version(view: DataView, off: number): number {
  return view.getUint8(off) >> 4;
}
export function trafficClass(view: DataView, off: number): number {
  return (view.getUint16(off) >> 4) & 0xff;
}
export function flowLabel(view: DataView, off: number): number {
  return view.getUint32(off) & kFlowMask;
}
export function payloadLength(view: DataView, off: number): number {
  return view.getUint16(off + field.payloadLen);
}
export function setPayloadLength(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.payloadLen, value);
}
/** The next header in the fixed header (not the upper layer if extension headers follow). */
export function nextHeader(view: DataView, off: number): number {
  return view.getUint8(off + field.nextHeader);
}
export function hopLimit(view: DataView, off: number): number {
  return view.getUint8(off + field.hopLimit);
}
export function setHopLimit(view: DataView, off: number, value: number): void {
  view.setUint8(off + field.hopLimit, value);
}
/** Word `i` (0..3, most significant first) of the source address, for prefix matching. */
export function srcWord(view: DataView, off: number, i: number): number {
  return view.getUint32(off + field.src + 4 * i);
}
export function dstWord(view: DataView, off: number, i: number): number {
  return view.getUint32(off + field.dst + 4 * i);
}
export function isDstMulticast(view: DataView, off: number): boolean {
  return view.getUint8(off + field.dst) === kMulticastFirstByte;
}

/** An owned IPv6 datagram; payload length is derived on emit. */
export interface Ipv6Repr {
  trafficClass: number; // 0..255
  flowLabel: number; // 0..0xfffff
  nextHeader: number;
  hopLimit: number;
  src: string; // RFC 5952 text, "2001:db8::1"
  dst: string;
  payload: Uint8Array; // everything after the fixed header, extension headers included
}

/** Parse a datagram (the Ethernet payload; bytes past the payload length are dropped). */
export function parse(bytes: Uint8Array): Ipv6Repr {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = check(v, 0, bytes.length);
  if (c !== Ipv6Check.ok) {
    const why = ['', 'shorter than 40 bytes', 'version is not 6', 'payload length out of range'][c];
    throw new Error(`malformed IPv6 header: ${why} (${bytes.length} bytes available)`);
  }
  return {
    trafficClass: trafficClass(v, 0),
    flowLabel: flowLabel(v, 0),
    nextHeader: nextHeader(v, 0),
    hopLimit: hopLimit(v, 0),
    src: formatIpv6(bytes, field.src),
    dst: formatIpv6(bytes, field.dst),
    payload: bytes.slice(field.headerLen, field.headerLen + payloadLength(v, 0)),
  };
}

export function bufferLen(repr: Ipv6Repr): number {
  return field.headerLen + repr.payload.length;
}

export function emit(repr: Ipv6Repr, bytes: Uint8Array, off: number): number {
  if (repr.payload.length > 0xffff)
    throw new Error(`IPv6 emit: payload of ${repr.payload.length} bytes exceeds 65535 (no jumbograms)`);
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`IPv6 emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(off, ((kVersion << 28) | ((repr.trafficClass & 0xff) << 20) | (repr.flowLabel & kFlowMask)) >>> 0);
  v.setUint16(off + field.payloadLen, repr.payload.length);
  v.setUint8(off + field.nextHeader, repr.nextHeader);
  v.setUint8(off + field.hopLimit, repr.hopLimit);
  bytes.set(parseIpv6(repr.src), off + field.src);
  bytes.set(parseIpv6(repr.dst), off + field.dst);
  bytes.set(repr.payload, off + field.headerLen);
  return n;
}

// ---- extension headers ----

const kExtHopByHop = 0; // RFC 8200 4.3
const kExtRouting = 43; // RFC 8200 4.4
const kExtFragment = 44; // RFC 8200 4.5
const kExtAh = 51; // RFC 4302: length in 4-byte units minus 2 (walked as RFC 7113 section 3 asks)
const kExtDestOpts = 60; // RFC 8200 4.6
const kExtMinLen = 2; // next header + length bytes, needed to step over any of them
const kFragHeaderLen = 8; // RFC 8200 4.5: fixed size
const kFragOffsetMask = 0xfff8; // fragment offset (13 bits) in the offset/flags word
const kFragMore = 1; // M flag in the offset/flags word

/** How `walkExtensions` ended. */
export const ExtWalk = {
  upper: 0, // `next` at `pos` is the upper-layer header (pos <= end)
  laterFragment: 1, // a fragment header with offset != 0: no upper-layer header in this packet; `next` is its next header
  truncated: 2, // a header runs past the end of the datagram
  tooMany: 3, // more than `maxHeaders` headers
} as const;

/** Where `walkExtensions` stopped: caller-owned scratch, so a walk allocates nothing. */
export class ExtPosition {
  /** Next-header value reached. */
  next = 0;
  /** Absolute offset of the header `next` names. */
  pos = 0;
  /** A fragment header with offset 0 and M set was crossed: this is a first fragment. */
  firstFragment = false;
}

/**
 * Step over the extension headers (hop-by-hop, routing, destination options, AH, fragment) of the IPv6
 * datagram whose fixed header is at `ip` and whose payload ends at absolute offset `end`, taking at most
 * `maxHeaders` of them; the result is an `ExtWalk` code and the position in `out`. Never reads at or past
 * `end`: every step is length-checked, so a lying length ends the walk as `truncated`.
 */
export function walkExtensions(view: DataView, ip: number, end: number, maxHeaders: number, out: ExtPosition): number {
  let next = view.getUint8(ip + field.nextHeader);
  let pos = ip + field.headerLen;
  out.firstFragment = false;
  for (let k = 0; ; k++) {
    out.next = next;
    out.pos = pos;
    if (next === kExtHopByHop || next === kExtRouting || next === kExtDestOpts || next === kExtAh) {
      if (k === maxHeaders) return ExtWalk.tooMany;
      if (pos + kExtMinLen > end) return ExtWalk.truncated;
      const units = view.getUint8(pos + 1);
      const size = next === kExtAh ? (units + 2) << 2 : (units + 1) << 3; // AH: 4-byte units - 2; others: 8-byte units - 1
      next = view.getUint8(pos);
      pos += size;
    } else if (next === kExtFragment) {
      if (k === maxHeaders) return ExtWalk.tooMany;
      if (pos + kFragHeaderLen > end) return ExtWalk.truncated;
      const offFlags = view.getUint16(pos + 2);
      next = view.getUint8(pos);
      pos += kFragHeaderLen;
      if ((offFlags & kFragOffsetMask) !== 0) {
        out.next = next;
        out.pos = pos;
        return ExtWalk.laterFragment;
      }
      if ((offFlags & kFragMore) !== 0) out.firstFragment = true; // offset 0 without M is an atomic fragment: whole
    } else {
      return ExtWalk.upper;
    }
    if (pos > end) return ExtWalk.truncated;
  }
}
