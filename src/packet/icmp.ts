/**
 * ICMP for IPv4 (RFC 792): type, code, checksum and the 4-byte "rest of header".
 *
 *   0      1      2          4                8
 *   | type | code | checksum | rest of header | data ...       (echo: rest = identifier, sequence)
 *
 * Why: ping is how every test and every user checks a switch; ACLs can match ICMP types.
 *
 * Trade-offs: the rest-of-header is one 32-bit number in the Repr (echo identifier/sequence, next-hop
 * MTU, pointer: its meaning depends on the type), read as two halves with `echoIdent`/`echoSeq`. The
 * checksum covers the ICMP message only (no pseudo-header) and is computed on emit, not verified on parse
 * (use checksum.verify). Offsets are relative to the ICMP header.
 */
import { finish, onesSum } from './checksum.js';

export const field = {
  type: 0,
  code: 1,
  checksum: 2,
  rest: 4, // rest of header, 4 bytes
  ident: 4, // echo identifier (types 0, 8)
  seq: 6, // echo sequence number
  headerLen: 8, // every ICMP message has type, code, checksum and 4 more bytes
} as const;

/** RFC 792 types the tests and policy use. */
export const IcmpType = {
  echoReply: 0,
  destUnreachable: 3,
  redirect: 5,
  echoRequest: 8,
  timeExceeded: 11,
} as const;

/** True if `len` bytes at `off` hold a whole ICMP header. */
export function check(_view: DataView, _off: number, len: number): boolean {
  return len >= field.headerLen;
}

export function type(view: DataView, off: number): number {
  return view.getUint8(off + field.type);
}
export function code(view: DataView, off: number): number {
  return view.getUint8(off + field.code);
}
export function checksum(view: DataView, off: number): number {
  return view.getUint16(off + field.checksum);
}
export function setChecksum(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.checksum, value);
}
export function echoIdent(view: DataView, off: number): number {
  return view.getUint16(off + field.ident);
}
export function echoSeq(view: DataView, off: number): number {
  return view.getUint16(off + field.seq);
}

export interface IcmpRepr {
  type: number;
  code: number;
  rest: number; // u32; for echo: (identifier << 16 | sequence) >>> 0
  payload: Uint8Array;
}

/** `rest` for an echo request/reply. */
export function echoRest(identifier: number, sequence: number): number {
  return (((identifier & 0xffff) << 16) | (sequence & 0xffff)) >>> 0;
}

/** Parse an ICMP message (the IPv4 payload). */
export function parse(bytes: Uint8Array): IcmpRepr {
  if (bytes.length < field.headerLen) throw new Error(`malformed ICMP: ${bytes.length} bytes, need ${field.headerLen}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: type(v, 0), code: code(v, 0), rest: v.getUint32(field.rest), payload: bytes.slice(field.headerLen) };
}

export function bufferLen(repr: IcmpRepr): number {
  return field.headerLen + repr.payload.length;
}

/** Write the message at `off` with a correct checksum. Returns the bytes written. */
export function emit(repr: IcmpRepr, bytes: Uint8Array, off: number): number {
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`ICMP emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint8(off + field.type, repr.type);
  v.setUint8(off + field.code, repr.code);
  v.setUint16(off + field.checksum, 0);
  v.setUint32(off + field.rest, repr.rest >>> 0);
  bytes.set(repr.payload, off + field.headerLen);
  v.setUint16(off + field.checksum, finish(onesSum(bytes, off, n)));
  return n;
}
