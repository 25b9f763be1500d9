/**
 * UDP header view (RFC 768).
 *
 *   0        2        4        6          8
 *   | sport  | dport  | length | checksum | payload ...
 *
 * Why: the DHCP guard (ports 67/68, 546/547), VXLAN (4789) and ACLs read UDP ports per frame; the
 * offload path fixes UDP checksums.
 *
 * Trade-offs: `check` returns an error code for a length field outside [8, available]; bytes past the
 * length are ignored. The checksum is filled on emit only when the addresses are given (0 otherwise,
 * which over IPv4 means "no checksum", RFC 768); a computed 0 is sent as 0xffff. Offsets are relative
 * to the UDP header.
 */
import { finish, onesSum } from './checksum.js';
import { pseudoSumText, type PseudoHeader } from './ipaddr.js';

export const field = {
  srcPort: 0,
  dstPort: 2,
  length: 4, // header + payload bytes
  checksum: 6,
  headerLen: 8,
} as const;

/** Well-known ports the switch's guards and tunnels look at (IANA). */
export const UdpPort = {
  bootps: 67, // DHCP/BOOTP server
  bootpc: 68, // DHCP/BOOTP client
  dhcpv6Client: 546,
  dhcpv6Server: 547,
  vxlan: 4789, // RFC 7348
} as const;

export const UdpCheck = {
  ok: 0,
  truncated: 1, // fewer than 8 bytes
  length: 2, // length field < 8 or > available bytes
} as const;

const kProtoUdp = 17; // IP protocol number, for the pseudo-header

/** Validate the header at `off` against the `len` bytes available; returns a `UdpCheck` code. */
export function check(view: DataView, off: number, len: number): number {
  if (len < field.headerLen) return UdpCheck.truncated;
  const l = view.getUint16(off + field.length);
  if (l < field.headerLen || l > len) return UdpCheck.length;
  return UdpCheck.ok;
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
export function length(view: DataView, off: number): number {
  return view.getUint16(off + field.length);
}
export function setLength(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.length, value);
}
export function checksum(view: DataView, off: number): number {
  return view.getUint16(off + field.checksum);
}
export function setChecksum(view: DataView, off: number, value: number): void {
  view.setUint16(off + field.checksum, value);
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Parse a datagram (the IP payload). The checksum is not verified (it needs the addresses). */
export function parse(bytes: Uint8Array): UdpRepr {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = check(v, 0, bytes.length);
  if (c !== UdpCheck.ok)
    throw new Error(
      c === UdpCheck.truncated
        ? `malformed UDP: ${bytes.length} bytes, need at least 8`
        : `malformed UDP: length field ${length(v, 0)} is below 8 or past the ${bytes.length} bytes available`,
    );
  return { srcPort: srcPort(v, 0), dstPort: dstPort(v, 0), payload: bytes.slice(field.headerLen, length(v, 0)) };
}

export function bufferLen(repr: UdpRepr): number {
  return field.headerLen + repr.payload.length;
}

/** Write the datagram at `off`; with `ip` the checksum is filled in, without it left 0. Returns bytes written. */
export function emit(repr: UdpRepr, bytes: Uint8Array, off: number, ip?: PseudoHeader): number {
  const n = bufferLen(repr);
  if (n > 0xffff) throw new Error(`UDP emit: datagram of ${n} bytes exceeds 65535`);
  if (off + n > bytes.length) throw new Error(`UDP emit: ${n} bytes do not fit at ${off} in ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint16(off + field.srcPort, repr.srcPort);
  v.setUint16(off + field.dstPort, repr.dstPort);
  v.setUint16(off + field.length, n);
  v.setUint16(off + field.checksum, 0);
  bytes.set(repr.payload, off + field.headerLen);
  if (ip)
    v.setUint16(
      off + field.checksum,
      finish(onesSum(bytes, off, n, pseudoSumText(ip.src, ip.dst, kProtoUdp, n))) || 0xffff,
    );
  return n;
}
