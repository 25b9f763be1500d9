/**
 * IPv4 header view (RFC 791).
 *
 *   0       1       2               4               6    8     9     10        12      16      20
 *   |ver|ihl| dscp/ecn | total length | identification | flags/frag | ttl | proto | checksum | src | dst | options...
 *
 * Why: port ACLs match on addresses and protocol, the DHCP guard looks for UDP 67/68, and the offload
 * fix-ups rewrite total length and checksums; all of it per frame, through the pool's DataView.
 *
 * Trade-offs: `check` validates version, IHL and total length once and returns an error code (no
 * exceptions on the hot path); bytes past the total length are Ethernet padding and are ignored.
 * Options are carried as raw bytes. Fragments are reported (`isFragment`), never reassembled: only the
 * first fragment carries L4 ports. Offsets are relative to the IPv4 header.
 */
import { ipv4HeaderChecksum } from './checksum.js';
import { formatIpv4, parseIpv4 } from './ipaddr.js';

export const field = {
  verIhl: 0, // version (high nibble), IHL in 32-bit words (low nibble)
  dscpEcn: 1, // DSCP (high 6 bits), ECN (low 2)
  totalLen: 2, // header + payload bytes
  ident: 4, // fragment identification
  flagsFrag: 6, // flags (3 bits: reserved, DF, MF) + fragment offset in 8-byte units
  ttl: 8,
  protocol: 9,
  checksum: 10, // header checksum
  src: 12,
  dst: 16,
  options: 20, // options start, up to IHL*4
  headerLen: 20, // minimum header: IHL 5
} as const;

/** IP protocol / IPv6 next-header numbers the switch looks at (IANA). */
export const IpProto = {
  hopByHop: 0, // RFC 8200 extension header (IPv6 only)
  icmp: 1, // RFC 792
  igmp: 2, // RFC 2236
  tcp: 6, // RFC 793
  udp: 17, // RFC 768
  icmpv6: 58, // RFC 4443
} as const;

/** `check` results: 0 is good; the rest name what is wrong (for drop counters). */
export const Ipv4Check = {
  ok: 0,
  truncated: 1, // fewer than 20 bytes
  version: 2, // version nibble is not 4
  ihl: 3, // IHL < 5, or the header runs past the buffer
  totalLength: 4, // total length < header length, or > buffer
} as const;

const kVersion = 4; // the version nibble of every IPv4 header
const kMinIhl = 5; // 20-byte header, no options
const kMaxOptions = 40; // IHL is 4 bits: at most 15 words = 60 bytes, 20 of them fixed
const kDf = 0x4000; // Don't Fragment flag in the flags/frag word
const kMf = 0x2000; // More Fragments flag
const kFragMask = 0x1fff; // fragment offset, 8-byte units

/** Validate the header at `off` against the `len` bytes available; returns an `Ipv4Check` code. */
export function check(view: DataView, off: number, len: number): number {
  if (len < field.headerLen) return Ipv4Check.truncated;
  const vi = view.getUint8(off);
  if (vi >> 4 !== kVersion) return Ipv4Check.version;
  const hlen = (vi & 0x0f) << 2; // IHL (low nibble) counts 32-bit words
  if (hlen < field.headerLen || hlen > len) return Ipv4Check.ihl;
  const total = view.getUint16(off + field.totalLen);
  if (total < hlen || total > len) return Ipv4Check.totalLength;
  return Ipv4Check.ok;
}

export function version(view: DataView, off: number): number {
  return view.getUint8(off) >> 4;
}
/** IHL in 32-bit words. */
export function ihl(view: DataView, off: number): number {
  return view.getUint8(off) & 0x0f;
}
/** Header length in bytes (IHL * 4): where the L4 header starts. */
export function headerLen(view: DataView, off: number): number {
  return (view.getUint8(off) & 0x0f) << 2;
}
export function dscp(view: DataView, off: number): number {
  return view.getUint8(off + field.dscpEcn) >> 2;
}
export function ecn(view: DataView, off: number): number {
  return view.getUint8(off + field.dscpEcn) & 3;
}
export function totalLength(view: DataView, off: number): number {
  return view.getUint16(off + field.totalLen);
}
export function setTotalLength(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.totalLen, value);
}
export function ident(view: DataView, off: number): number {
  return view.getUint16(off + field.ident);
}
export function dontFragment(view: DataView, off: number): boolean {
  return (view.getUint16(off + field.flagsFrag) & kDf) !== 0;
}
export function moreFragments(view: DataView, off: number): boolean {
  return (view.getUint16(off + field.flagsFrag) & kMf) !== 0;
}
/** Fragment offset in bytes. */
export function fragOffset(view: DataView, off: number): number {
  return (view.getUint16(off + field.flagsFrag) & kFragMask) << 3;
}
/** Part of a fragmented datagram (MF set or a non-zero offset). */
export function isFragment(view: DataView, off: number): boolean {
  return (view.getUint16(off + field.flagsFrag) & (kMf | kFragMask)) !== 0;
}
/** A fragment other than the first: it has no L4 header. */
export function isLaterFragment(view: DataView, off: number): boolean {
  return (view.getUint16(off + field.flagsFrag) & kFragMask) !== 0;
}
export function ttl(view: DataView, off: number): number {
  return view.getUint8(off + field.ttl);
}
export function setTtl(view: DataView, off: number, value: number): void {
  view.setUint8(off + field.ttl, value);
}
export function protocol(view: DataView, off: number): number {
  return view.getUint8(off + field.protocol);
}
export function checksum(view: DataView, off: number): number {
  return view.getUint16(off + field.checksum);
}
export function setChecksum(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.checksum, value);
}
/** Source address as an unsigned 32-bit number. */
export function src(view: DataView, off: number): number {
  return view.getUint32(off + field.src);
}
export function dst(view: DataView, off: number): number {
  return view.getUint32(off + field.dst);
}
export function setSrc(view: DataView, off: number, addr: number): void {
  view.setUint32(off + field.src, addr);
}
export function setDst(view: DataView, off: number, addr: number): void {
  view.setUint32(off + field.dst, addr);
}

/** An owned IPv4 datagram. Total length, IHL and checksum are derived on emit. */
export interface Ipv4Repr {
  dscp: number; // 0..63
  ecn: number; // 0..3
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  fragOffset: number; // bytes, a multiple of 8
  ttl: number;
  protocol: number;
  src: string; // "192.0.2.1"
  dst: string;
  options: Uint8Array; // raw, length a multiple of 4, at most 40
  payload: Uint8Array;
}

/** Parse a datagram (the Ethernet payload; padding past total length is dropped). Checksum not verified. */
export function parse(bytes: Uint8Array): Ipv4Repr {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = check(v, 0, bytes.length);
  if (c !== Ipv4Check.ok) {
    const why = [
      '',
      'shorter than 20 bytes',
      'version is not 4',
      'IHL below 5 or past the buffer',
      'total length out of range',
    ][c];
    throw new Error(`malformed IPv4 header: ${why} (${bytes.length} bytes available)`);
  }
  const hlen = headerLen(v, 0);
  const total = totalLength(v, 0);
  return {
    dscp: dscp(v, 0),
    ecn: ecn(v, 0),
    ident: ident(v, 0),
    dontFragment: dontFragment(v, 0),
    moreFragments: moreFragments(v, 0),
    fragOffset: fragOffset(v, 0),
    ttl: ttl(v, 0),
    protocol: protocol(v, 0),
    src: formatIpv4(src(v, 0)),
    dst: formatIpv4(dst(v, 0)),
    options: bytes.slice(field.options, hlen),
    payload: bytes.slice(hlen, total),
  };
}

export function bufferLen(repr: Ipv4Repr): number {
  return field.headerLen + repr.options.length + repr.payload.length;
}

/** Write the datagram at `off` with a correct header checksum. Returns the bytes written. */
export function emit(repr: Ipv4Repr, bytes: Uint8Array, off: number): number {
  const optLen = repr.options.length;
  if (optLen % 4 !== 0 || optLen > kMaxOptions)
    throw new Error(`IPv4 emit: options must be a multiple of 4 bytes, at most 40; got ${optLen}`);
  if (repr.fragOffset % 8 !== 0 || repr.fragOffset > kFragMask << 3)
    throw new Error(`IPv4 emit: fragment offset ${repr.fragOffset} must be a multiple of 8 below 65536`);
  const n = bufferLen(repr);
  if (n > 0xffff) throw new Error(`IPv4 emit: datagram of ${n} bytes exceeds 65535`);
  if (off + n > bytes.length) throw new Error(`IPv4 emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint8(off, (kVersion << 4) | (kMinIhl + optLen / 4));
  v.setUint8(off + field.dscpEcn, ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3));
  v.setUint16(off + field.totalLen, n);
  v.setUint16(off + field.ident, repr.ident);
  v.setUint16(
    off + field.flagsFrag,
    (repr.dontFragment ? kDf : 0) | (repr.moreFragments ? kMf : 0) | (repr.fragOffset >> 3),
  );
  v.setUint8(off + field.ttl, repr.ttl);
  v.setUint8(off + field.protocol, repr.protocol);
  v.setUint16(off + field.checksum, 0);
  v.setUint32(off + field.src, parseIpv4(repr.src));
  v.setUint32(off + field.dst, parseIpv4(repr.dst));
  bytes.set(repr.options, off + field.options);
  bytes.set(repr.payload, off + field.headerLen + optLen);
  v.setUint16(off + field.checksum, ipv4HeaderChecksum(bytes, off));
  return n;
}
