/**
 * IEEE 802.1Q C-tag: one tag, TPID 0x8100, read and rewritten in place.
 *
 *   0         6         12     14                   16       18
 *   | dst MAC | src MAC | 8100 | PCP(3) DEI(1) VID(12) | type | payload ...
 *                              \------- TCI --------/
 *
 * Why: VLAN classification on ingress (VID, PCP) and the egress rules (access untag, trunk tag, native
 * untag) run on every frame; `pushTag`/`popTag` do them in place with three 32-bit moves and no copy of
 * the payload (the pool leaves headroom in front of each frame for the push).
 *
 * Design notes: README.md in this folder, section "vlan.ts".
 */
import { field as eth } from './ethernet.js';

export const field = {
  tpid: 12, // where a tagged frame's TPID sits (the untagged EtherType position)
  tci: 14, // tag control information: PCP, DEI, VID
  ethertype: 16, // the EtherType after the tag
  payload: 18, // first payload byte of a tagged frame
  headerLen: 18, // a tagged frame needs 14 + 4 bytes
  tagLen: 4, // bytes one tag adds: TPID + TCI
  reprTci: 0, // within VlanRepr's bytes (the Ethernet payload): TCI first
  reprEthertype: 2, // then the inner EtherType
  reprHeaderLen: 4, // then the payload
} as const;

export const kTpid = 0x8100; // IEEE 802.1Q C-tag TPID
export const kVidMask = 0x0fff; // VID: low 12 bits of the TCI
export const kDeiBit = 0x1000; // DEI (formerly CFI): bit 12 of the TCI
export const kPcpShift = 13; // PCP: top 3 bits of the TCI

/** True when the frame has at least a whole L2 header: 14 bytes, or 18 if it carries an 802.1Q tag. */
export function check(view: DataView, off: number, len: number): boolean {
  if (len < eth.headerLen) return false;
  return view.getUint16(off + field.tpid) !== kTpid || len >= field.headerLen;
}

/** The frame's outer EtherType is the 802.1Q TPID (0x88a8 is not). */
export function isTagged(view: DataView, off: number): boolean {
  return view.getUint16(off + field.tpid) === kTpid;
}

/** 18 for a tagged frame, 14 otherwise: where the L3 header starts. */
export function headerLen(view: DataView, off: number): number {
  return view.getUint16(off + field.tpid) === kTpid ? field.headerLen : eth.headerLen;
}

/** The EtherType after the tag if tagged, else the frame's own: what the L3 dispatch looks at. */
export function innerEthertype(view: DataView, off: number): number {
  const t = view.getUint16(off + field.tpid);
  return t === kTpid ? view.getUint16(off + field.ethertype) : t;
}

/** A tagged frame whose tag is followed by a second 802.1Q tag (the frame holds at least 18 bytes). */
export function hasInnerTag(view: DataView, off: number): boolean {
  return view.getUint16(off + field.ethertype) === kTpid;
}

export function tci(view: DataView, off: number): number {
  return view.getUint16(off + field.tci);
}
export function setTci(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.tci, value);
}
export function pcp(view: DataView, off: number): number {
  return view.getUint16(off + field.tci) >>> kPcpShift;
}
export function setPcp(view: DataView, off: number, value: number): void {
  const t = view.getUint16(off + field.tci);
  view.setUint16(off + field.tci, (t & ~(7 << kPcpShift) & 0xffff) | ((value & 7) << kPcpShift));
}
export function dei(view: DataView, off: number): boolean {
  return (view.getUint16(off + field.tci) & kDeiBit) !== 0;
}
export function vid(view: DataView, off: number): number {
  return view.getUint16(off + field.tci) & kVidMask;
}
export function setVid(view: DataView, off: number, value: number): void {
  const t = view.getUint16(off + field.tci);
  view.setUint16(off + field.tci, (t & ~kVidMask & 0xffff) | (value & kVidMask));
}
export function setEthertype(view: DataView, off: number, type: number): void {
  view.setUint16(off + field.ethertype, type);
}

/** Compose a TCI from its parts. */
export function makeTci(pcpValue: number, vidValue: number, deiValue = false): number {
  return ((pcpValue & 7) << kPcpShift) | (deiValue ? kDeiBit : 0) | (vidValue & kVidMask);
}

/**
 * Insert a tag in front of the EtherType by moving the 12 address bytes 4 bytes toward the buffer start.
 * Returns the new frame start (`off - 4`); the frame grows by 4. The caller owns the 4 bytes of headroom.
 */
export function pushTag(view: DataView, off: number, tciValue: number): number {
  // The 12 address bytes are three 32-bit words at +0, +4, +8. Read all three before writing:
  // source and target overlap.
  const a = view.getUint32(off);
  const b = view.getUint32(off + 4);
  const c = view.getUint32(off + 8);
  const n = off - field.tagLen;
  view.setUint32(n, a);
  view.setUint32(n + 4, b);
  view.setUint32(n + 8, c);
  view.setUint16(n + field.tpid, kTpid);
  view.setUint16(n + field.tci, tciValue);
  return n;
}

/** Remove the outer tag by moving the 12 address bytes 4 bytes forward. Returns the new frame start (`off + 4`). */
export function popTag(view: DataView, off: number): number {
  const a = view.getUint32(off); // the 12 address bytes as three words, read before any write (overlap)
  const b = view.getUint32(off + 4);
  const c = view.getUint32(off + 8);
  const n = off + field.tagLen;
  view.setUint32(n, a);
  view.setUint32(n + 4, b);
  view.setUint32(n + 8, c);
  return n;
}

/** An owned tag: the TCI parts, the inner EtherType and a copy of what follows. */
export interface VlanRepr {
  pcp: number; // 0..7
  dei: boolean;
  vid: number; // 0..4095
  ethertype: number;
  payload: Uint8Array;
}

/** Parse the payload of an Ethernet frame whose EtherType is 0x8100. Throws if shorter than 4 bytes. */
export function parse(bytes: Uint8Array): VlanRepr {
  if (bytes.length < field.reprHeaderLen)
    throw new Error(`malformed 802.1Q tag: ${bytes.length} bytes after the TPID, need ${field.reprHeaderLen}`);
  const t = (bytes[0]! << 8) | bytes[1]!;
  return {
    pcp: t >>> kPcpShift,
    dei: (t & kDeiBit) !== 0,
    vid: t & kVidMask,
    ethertype: (bytes[field.reprEthertype]! << 8) | bytes[field.reprEthertype + 1]!,
    payload: bytes.slice(field.reprHeaderLen),
  };
}

export function bufferLen(repr: VlanRepr): number {
  return field.reprHeaderLen + repr.payload.length;
}

/** Write TCI, inner EtherType and payload at `off` (just after a TPID). Returns the bytes written. */
export function emit(repr: VlanRepr, bytes: Uint8Array, off: number): number {
  if (!(repr.pcp >= 0 && repr.pcp <= 7 && repr.vid >= 0 && repr.vid <= kVidMask))
    throw new Error(`802.1Q emit: pcp ${repr.pcp} must be 0..7 and vid ${repr.vid} 0..4095`);
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`802.1Q emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const t = makeTci(repr.pcp, repr.vid, repr.dei);
  bytes[off] = t >> 8;
  bytes[off + 1] = t & 0xff;
  bytes[off + field.reprEthertype] = repr.ethertype >> 8;
  bytes[off + field.reprEthertype + 1] = repr.ethertype & 0xff;
  bytes.set(repr.payload, off + field.reprHeaderLen);
  return n;
}
