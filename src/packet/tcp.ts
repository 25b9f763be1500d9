/**
 * TCP header view (RFC 9293).
 *
 *   0        2        4      8      12         13      14       16         18       20
 *   | sport  | dport  | seq  | ack  | off/rsvd | flags | window | checksum | urgent | options ... | data
 *
 * Why: ACLs and conntrack match ports and flags (SYN), the offload path segments TCP (sequence numbers,
 * flags) and fixes checksums.
 *
 * Trade-offs: options are raw bytes in the Repr (no MSS/SACK parsing: the switch never needs them). The
 * four reserved bits and the historic NS bit in byte 12 are not represented: `emit` writes them as zero.
 * The checksum covers a pseudo-header: `emit` fills it when given the addresses and writes 0 otherwise
 * (the partial-checksum case the offload path completes). Offsets are relative to the TCP header.
 */
import { finish, onesSum } from './checksum.js';
import { pseudoSumText, type PseudoHeader } from './ipaddr.js';

export const field = {
  srcPort: 0,
  dstPort: 2,
  seq: 4,
  ack: 8,
  dataOff: 12, // data offset in 32-bit words (high nibble)
  flags: 13, // CWR ECE URG ACK PSH RST SYN FIN
  window: 14,
  checksum: 16,
  urgent: 18,
  options: 20,
  headerLen: 20, // minimum header: data offset 5
} as const;

export const TcpFlag = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40, // RFC 3168
  cwr: 0x80, // RFC 3168
} as const;

export const TcpCheck = {
  ok: 0,
  truncated: 1, // fewer than 20 bytes
  dataOffset: 2, // data offset < 5, or the header runs past the buffer
} as const;

const kProtoTcp = 6; // IP protocol number, for the pseudo-header
const kMinDataOff = 5; // 20-byte header
const kMaxOptions = 40; // data offset is 4 bits: at most 15 words = 60 bytes, 20 of them fixed

/** Validate the header at `off` against the `len` bytes of segment available; returns a `TcpCheck` code. */
export function check(view: DataView, off: number, len: number): number {
  if (len < field.headerLen) return TcpCheck.truncated;
  const hlen = (view.getUint8(off + field.dataOff) >> 4) << 2;
  if (hlen < field.headerLen || hlen > len) return TcpCheck.dataOffset;
  return TcpCheck.ok;
}

export function srcPort(view: DataView, off: number): number {
  return view.getUint16(off + field.srcPort);
}
export function dstPort(view: DataView, off: number): number {
  return view.getUint16(off + field.dstPort);
}
export function setSrcPort(view: DataView, off: number, port: number): void {
  view.setUint16(off + field.srcPort, port);
}
export function setDstPort(view: DataView, off: number, port: number): void {
  view.setUint16(off + field.dstPort, port);
}
export function seqNumber(view: DataView, off: number): number {
  return view.getUint32(off + field.seq);
}
export function setSeqNumber(view: DataView, off: number, value: number): void {
  view.setUint32(off + field.seq, value >>> 0);
}
export function ackNumber(view: DataView, off: number): number {
  return view.getUint32(off + field.ack);
}
/** Header length in bytes (data offset * 4): where the payload starts. */
export function headerLen(view: DataView, off: number): number {
  return (view.getUint8(off + field.dataOff) >> 4) << 2;
}
export function flags(view: DataView, off: number): number {
  return view.getUint8(off + field.flags);
}
export function setFlags(view: DataView, off: number, value: number): void {
  view.setUint8(off + field.flags, value);
}
export function window(view: DataView, off: number): number {
  return view.getUint16(off + field.window);
}
export function checksum(view: DataView, off: number): number {
  return view.getUint16(off + field.checksum);
}
export function setChecksum(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.checksum, value);
}
export function urgent(view: DataView, off: number): number {
  return view.getUint16(off + field.urgent);
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number; // u32
  ack: number; // u32
  flags: number; // TcpFlag bits
  window: number;
  urgent: number;
  options: Uint8Array; // raw, length a multiple of 4, at most 40
  payload: Uint8Array;
}

/** Parse a segment (the IP payload). The checksum is not verified (it needs the addresses). */
export function parse(bytes: Uint8Array): TcpRepr {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = check(v, 0, bytes.length);
  if (c !== TcpCheck.ok)
    throw new Error(
      c === TcpCheck.truncated
        ? `malformed TCP: ${bytes.length} bytes, need at least 20`
        : `malformed TCP: data offset ${headerLen(v, 0)} bytes is below 20 or past the ${bytes.length}-byte segment`,
    );
  const hlen = headerLen(v, 0);
  return {
    srcPort: srcPort(v, 0),
    dstPort: dstPort(v, 0),
    seq: seqNumber(v, 0),
    ack: ackNumber(v, 0),
    flags: flags(v, 0),
    window: window(v, 0),
    urgent: urgent(v, 0),
    options: bytes.slice(field.options, hlen),
    payload: bytes.slice(hlen),
  };
}

export function bufferLen(repr: TcpRepr): number {
  return field.headerLen + repr.options.length + repr.payload.length;
}

/** Write the segment at `off`; with `ip` the checksum is filled in, without it left 0. Returns bytes written. */
export function emit(repr: TcpRepr, bytes: Uint8Array, off: number, ip?: PseudoHeader): number {
  const optLen = repr.options.length;
  if (optLen % 4 !== 0 || optLen > kMaxOptions)
    throw new Error(`TCP emit: options must be a multiple of 4 bytes, at most 40; got ${optLen}`);
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`TCP emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint16(off + field.srcPort, repr.srcPort);
  v.setUint16(off + field.dstPort, repr.dstPort);
  v.setUint32(off + field.seq, repr.seq >>> 0);
  v.setUint32(off + field.ack, repr.ack >>> 0);
  v.setUint8(off + field.dataOff, (kMinDataOff + optLen / 4) << 4);
  v.setUint8(off + field.flags, repr.flags);
  v.setUint16(off + field.window, repr.window);
  v.setUint16(off + field.checksum, 0);
  v.setUint16(off + field.urgent, repr.urgent);
  bytes.set(repr.options, off + field.options);
  bytes.set(repr.payload, off + field.headerLen + optLen);
  if (ip)
    v.setUint16(off + field.checksum, finish(onesSum(bytes, off, n, pseudoSumText(ip.src, ip.dst, kProtoTcp, n))));
  return n;
}
