/**
 * ICMPv6 (RFC 4443), including the Neighbor Discovery types (RFC 4861) the switch's guards look at.
 *
 *   0      1      2          4                8
 *   | type | code | checksum | rest of header | body ...   (echo: identifier, sequence; RA: hop limit,
 *                                                            flags, router lifetime; NS/NA: flags/reserved)
 *
 * Why: IPv6 ping for tests; the router guard drops router advertisements and redirects from ports that
 * are not routers; neighbor solicitations are the IPv6 ARP.
 *
 * Trade-offs: every ICMPv6 message this project meets has a 4-byte word after the checksum, so the
 * header is taken as 8 bytes and that word is one 32-bit `rest` in the Repr. ND options are left in the
 * payload as bytes. The checksum covers a pseudo-header (RFC 8200 section 8.1): `emit` computes it only
 * when given the addresses, otherwise it writes 0 for the caller (or the offload fix-up) to fill.
 * Offsets are relative to the ICMPv6 header.
 */
import { finish, onesSum } from './checksum.js';
import { pseudoSumText, type PseudoHeader } from './ipaddr.js';

import { code, field, type } from './icmp.js';

/** The header layout, its accessors and the echo `rest` are ICMPv4's (RFC 4443 section 2.1 keeps RFC 792's). */
export { check, checksum, code, echoIdent, echoRest, echoSeq, field, setChecksum, type } from './icmp.js';

/** RFC 4443 / RFC 4861 types. */
export const Icmp6Type = {
  destUnreachable: 1,
  packetTooBig: 2,
  timeExceeded: 3,
  paramProblem: 4,
  echoRequest: 128,
  echoReply: 129,
  routerSolicit: 133,
  routerAdvert: 134,
  neighborSolicit: 135,
  neighborAdvert: 136,
  redirect: 137,
} as const;

const kProtoIcmpv6 = 58; // next header value for ICMPv6 (IANA), used in the pseudo-header

export interface Icmpv6Repr {
  type: number;
  code: number;
  rest: number; // u32; for echo: (identifier << 16 | sequence) >>> 0
  payload: Uint8Array;
}

/** Parse an ICMPv6 message (the IPv6 payload). The checksum is not verified (it needs the addresses). */
export function parse(bytes: Uint8Array): Icmpv6Repr {
  if (bytes.length < field.headerLen)
    throw new Error(`malformed ICMPv6: ${bytes.length} bytes, need ${field.headerLen}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: type(v, 0), code: code(v, 0), rest: v.getUint32(field.rest), payload: bytes.slice(field.headerLen) };
}

export function bufferLen(repr: Icmpv6Repr): number {
  return field.headerLen + repr.payload.length;
}

/** Write the message at `off`; with `ip` the checksum is filled in, without it left 0. Returns bytes written. */
export function emit(repr: Icmpv6Repr, bytes: Uint8Array, off: number, ip?: PseudoHeader): number {
  const n = bufferLen(repr);
  if (off + n > bytes.length) throw new Error(`ICMPv6 emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint8(off + field.type, repr.type);
  v.setUint8(off + field.code, repr.code);
  v.setUint16(off + field.checksum, 0);
  v.setUint32(off + field.rest, repr.rest >>> 0);
  bytes.set(repr.payload, off + field.headerLen);
  if (ip)
    v.setUint16(off + field.checksum, finish(onesSum(bytes, off, n, pseudoSumText(ip.src, ip.dst, kProtoIcmpv6, n))));
  return n;
}
