/**
 * ARP over Ethernet for IPv4 (RFC 826): the only ARP a switch meets.
 *
 *   0      2      4    5    6      8            14           18           24           28
 *   | htype| ptype|hlen|plen| oper | sender MAC | sender IP  | target MAC | target IP  |
 *
 * Why: the switch reads ARP for MAC/IP spoofing checks and to answer "where does this frame go" for
 * broadcast ARP; tests build requests and replies.
 *
 * Trade-offs: `check` accepts only htype 1 / ptype 0x0800 / 6 / 4; other ARP variants are not malformed
 * frames (they still forward) but this view does not describe them. Offsets are relative to the ARP
 * header (the Ethernet payload), not the frame.
 */
import { formatIpv4, parseIpv4 } from './ipaddr.js';
import { formatMac, kLo32Off, parseMac } from './mac.js';

export const field = {
  htype: 0, // hardware type
  ptype: 2, // protocol type
  hlen: 4, // hardware address length
  plen: 5, // protocol address length
  oper: 6, // operation
  sha: 8, // sender hardware address
  spa: 14, // sender protocol address
  tha: 18, // target hardware address
  tpa: 24, // target protocol address
  headerLen: 28, // the whole Ethernet/IPv4 ARP packet
} as const;

export const ArpOp = { request: 1, reply: 2 } as const; // RFC 826 ar$op values
const kHtypeEthernet = 1; // ARP hardware type for Ethernet (IANA)
const kPtypeIpv4 = 0x0800; // protocol type is the IPv4 EtherType
const kHlen = 6; // MAC length
const kPlen = 4; // IPv4 address length

/** True if `len` bytes at `off` are a whole Ethernet/IPv4 ARP packet. */
export function check(view: DataView, off: number, len: number): boolean {
  return (
    len >= field.headerLen &&
    view.getUint16(off + field.htype) === kHtypeEthernet &&
    view.getUint16(off + field.ptype) === kPtypeIpv4 &&
    view.getUint8(off + field.hlen) === kHlen &&
    view.getUint8(off + field.plen) === kPlen
  );
}

export function oper(view: DataView, off: number): number {
  return view.getUint16(off + field.oper);
}
export function shaHi16(view: DataView, off: number): number {
  return view.getUint16(off + field.sha);
}
export function shaLo32(view: DataView, off: number): number {
  return view.getUint32(off + field.sha + kLo32Off);
}
/** Sender IPv4 address as an unsigned 32-bit number. */
export function spa(view: DataView, off: number): number {
  return view.getUint32(off + field.spa);
}
export function thaHi16(view: DataView, off: number): number {
  return view.getUint16(off + field.tha);
}
export function thaLo32(view: DataView, off: number): number {
  return view.getUint32(off + field.tha + kLo32Off);
}
export function tpa(view: DataView, off: number): number {
  return view.getUint32(off + field.tpa);
}

export interface ArpRepr {
  operation: number; // 1 request, 2 reply
  senderMac: string;
  senderIp: string;
  targetMac: string; // 00:00:00:00:00:00 in a request
  targetIp: string;
}

/** Parse an ARP packet (the Ethernet payload; trailing padding is ignored). */
export function parse(bytes: Uint8Array): ArpRepr {
  if (bytes.length < field.headerLen) throw new Error(`malformed ARP: ${bytes.length} bytes, need ${field.headerLen}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!check(v, 0, bytes.length))
    throw new Error(
      `unsupported ARP: htype ${v.getUint16(field.htype)} ptype 0x${v.getUint16(field.ptype).toString(16)} ` +
        `hlen ${v.getUint8(field.hlen)} plen ${v.getUint8(field.plen)}, only Ethernet/IPv4 (1/0x800/6/4)`,
    );
  return {
    operation: oper(v, 0),
    senderMac: formatMac(bytes, field.sha),
    senderIp: formatIpv4(spa(v, 0)),
    targetMac: formatMac(bytes, field.tha),
    targetIp: formatIpv4(tpa(v, 0)),
  };
}

export function bufferLen(_repr: ArpRepr): number {
  return field.headerLen;
}

export function emit(repr: ArpRepr, bytes: Uint8Array, off: number): number {
  if (off + field.headerLen > bytes.length)
    throw new Error(`ARP emit: 28 bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint16(off + field.htype, kHtypeEthernet);
  v.setUint16(off + field.ptype, kPtypeIpv4);
  v.setUint8(off + field.hlen, kHlen);
  v.setUint8(off + field.plen, kPlen);
  v.setUint16(off + field.oper, repr.operation);
  bytes.set(parseMac(repr.senderMac), off + field.sha);
  v.setUint32(off + field.spa, parseIpv4(repr.senderIp));
  bytes.set(parseMac(repr.targetMac), off + field.tha);
  v.setUint32(off + field.tpa, parseIpv4(repr.targetIp));
  return field.headerLen;
}
