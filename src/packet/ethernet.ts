/**
 * Ethernet II header view (IEEE 802.3 / DIX), smoltcp-style: offsets in `field`, `check` once, then
 * unchecked accessors over the pool's long-lived DataView; `EthernetRepr` for the control plane and tests.
 *
 *   0                 6                 12      14
 *   | destination MAC | source MAC      | type  | payload ...        (no FCS: endpoints never carry it)
 *
 * Why: every frame the switch forwards is read here first (destination words for the FDB lookup, source
 * words for learning, the EtherType for dispatch).
 *
 * Trade-offs: accessors trust the caller ran `check` (a read past the view throws a RangeError, which is a
 * bug, not a packet error). Unknown EtherTypes are just numbers. 802.1Q lives in vlan.ts; 802.3 length
 * fields (< 0x0600) are not told apart from EtherTypes: the switch forwards both alike.
 */
import { formatMac, isGroupHi16, kBroadcastHi16, kBroadcastLo32, kLo32Off, parseMac } from './mac.js';

export const field = {
  dst: 0, // destination MAC, 6 bytes
  src: 6, // source MAC, 6 bytes
  ethertype: 12, // EtherType, 2 bytes
  payload: 14, // first payload byte of an untagged frame
  headerLen: 14, // minimum frame: two MACs and an EtherType
} as const;

/** EtherTypes the switch looks at (IEEE registry). Anything else passes through as a number. */
export const EtherType = {
  ipv4: 0x0800, // RFC 894
  arp: 0x0806, // RFC 826
  vlan: 0x8100, // IEEE 802.1Q C-tag TPID
  ipv6: 0x86dd, // RFC 2464
  qinq: 0x88a8, // IEEE 802.1ad S-tag TPID: carried, not parsed as a C-tag (docs/vlans.md)
} as const;

/** Minimum frame length on a wire without FCS (64 - 4); some endpoints (v86's NE2K) need it. */
export const kMinFrameLen = 60;

/** True if `len` bytes at `off` hold a whole Ethernet header. */
export function check(_view: DataView, _off: number, len: number): boolean {
  return len >= field.headerLen;
}

export function dstHi16(view: DataView, off: number): number {
  return view.getUint16(off + field.dst);
}
export function dstLo32(view: DataView, off: number): number {
  return view.getUint32(off + field.dst + kLo32Off);
}
export function srcHi16(view: DataView, off: number): number {
  return view.getUint16(off + field.src);
}
export function srcLo32(view: DataView, off: number): number {
  return view.getUint32(off + field.src + kLo32Off);
}
export function setDst(view: DataView, off: number, hi16: number, lo32: number): void {
  view.setUint16(off + field.dst, hi16);
  view.setUint32(off + field.dst + kLo32Off, lo32);
}
export function setSrc(view: DataView, off: number, hi16: number, lo32: number): void {
  view.setUint16(off + field.src, hi16);
  view.setUint32(off + field.src + kLo32Off, lo32);
}
/** The outer EtherType (0x8100 for a tagged frame; see vlan.innerEthertype for the one after a tag). */
export function ethertype(view: DataView, off: number): number {
  return view.getUint16(off + field.ethertype);
}
export function setEthertype(view: DataView, off: number, type: number): void {
  view.setUint16(off + field.ethertype, type);
}
/** Destination is multicast or broadcast: flood. */
export function isDstGroup(view: DataView, off: number): boolean {
  return isGroupHi16(view.getUint16(off + field.dst));
}
export function isDstBroadcast(view: DataView, off: number): boolean {
  return (
    view.getUint16(off + field.dst) === kBroadcastHi16 && view.getUint32(off + field.dst + kLo32Off) === kBroadcastLo32
  );
}
/** Source is a group address: invalid on the wire (IEEE 802.3 clause 3.2.3), never learned. */
export function isSrcGroup(view: DataView, off: number): boolean {
  return isGroupHi16(view.getUint16(off + field.src));
}

/** An owned Ethernet frame: header fields plus a copy of everything after the EtherType. */
export interface EthernetRepr {
  dst: string; // "52:54:00:12:34:56"
  src: string;
  ethertype: number;
  payload: Uint8Array;
}

/** Parse a whole frame (control path). Throws on a frame shorter than the header. */
export function parse(bytes: Uint8Array): EthernetRepr {
  if (bytes.length < field.headerLen)
    throw new Error(`malformed Ethernet frame: ${bytes.length} bytes, need at least ${field.headerLen}`);
  return {
    dst: formatMac(bytes, field.dst),
    src: formatMac(bytes, field.src),
    ethertype: (bytes[field.ethertype]! << 8) | bytes[field.ethertype + 1]!,
    payload: bytes.slice(field.payload),
  };
}

export function bufferLen(repr: EthernetRepr): number {
  return field.headerLen + repr.payload.length;
}

/** Write the frame at `off`; returns the bytes written. Throws if it does not fit. */
export function emit(repr: EthernetRepr, bytes: Uint8Array, off: number): number {
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`Ethernet emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  bytes.set(parseMac(repr.dst), off + field.dst);
  bytes.set(parseMac(repr.src), off + field.src);
  bytes[off + field.ethertype] = repr.ethertype >> 8;
  bytes[off + field.ethertype + 1] = repr.ethertype & 0xff;
  bytes.set(repr.payload, off + field.payload);
  return n;
}
