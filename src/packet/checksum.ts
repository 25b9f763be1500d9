/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of 16-bit
 * big-endian words, with the IPv4 and IPv6 pseudo-headers that TCP, UDP and ICMPv6 cover.
 *
 * Why: the switch fixes up checksums when a NIC hands it a frame with a partial checksum (offload) and
 * when it rewrites a header field; tests and the control plane build frames that real stacks accept.
 *
 * Design notes: README.md in this folder, section "checksum.ts".
 */

/** IP protocol numbers whose checksum covers a pseudo-header (RFC 793, RFC 768, RFC 8200 section 8.1). */
const kProtoTcp = 6; // RFC 793
const kProtoUdp = 17; // RFC 768
const kProtoIcmpv6 = 58; // RFC 4443
const kProtoIcmp = 1; // RFC 792: checksum covers the ICMP message only, no pseudo-header

/** Offset of the checksum field inside each L4 header, by protocol. */
const kTcpChecksumOff = 16; // RFC 793 header layout: after ports(4) seq(4) ack(4) offset/flags(2) window(2)
const kUdpChecksumOff = 6; // RFC 768: after ports(4) length(2)
const kIcmpChecksumOff = 2; // RFC 792 / RFC 4443: after type(1) code(1)

/** Fold a non-negative sum of any size (< 2^53) to 16 bits with end-around carry. */
export function fold(sum: number): number {
  // Above 2^32 the >>> operator would truncate, so divide first (rare: only very large buffers).
  while (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16); // the first fold can carry once more (0x1fffe -> 0xffff at most)
  return sum;
}

/**
 * One's complement sum of `len` bytes from `start`, big-endian 16-bit words, a trailing odd byte padded
 * with zero (RFC 1071). Returns the folded 16-bit sum (not complemented), chainable through `initial`.
 */
export function onesSum(bytes: Uint8Array, start: number, len: number, initial = 0): number {
  let sum = initial;
  const end = start + (len & ~1);
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (len & 1) sum += bytes[start + len - 1]! << 8;
  return fold(sum);
}

/** The value to store in a checksum field: the complement of the folded sum. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** True when a region that includes its own checksum field sums to 0xffff (RFC 1071 verification). */
export function verify(bytes: Uint8Array, start: number, len: number, initial = 0): boolean {
  return onesSum(bytes, start, len, initial) === 0xffff;
}

/**
 * RFC 1624 incremental update: the new checksum after one 16-bit word of the covered data changed from
 * `oldWord` to `newWord` (e.g. a TTL or DSCP rewrite), without re-summing the packet. HC' = ~(~HC + ~m + m').
 */
export function update16(checksum: number, oldWord: number, newWord: number): number {
  return finish((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff));
}

/** IPv4 header checksum to store at `off + 10`: sums IHL*4 bytes with the checksum field taken as zero. */
export function ipv4HeaderChecksum(bytes: Uint8Array, off: number): number {
  const hlen = (bytes[off]! & 0x0f) << 2; // IHL counts 32-bit words
  const sum = onesSum(bytes, off, 10, onesSum(bytes, off + 12, hlen - 12)); // skip bytes 10..11 (checksum)
  return finish(sum);
}

/** True when the IPv4 header at `off` (IHL*4 bytes) carries a correct checksum. */
export function verifyIpv4Header(bytes: Uint8Array, off: number): boolean {
  return verify(bytes, off, (bytes[off]! & 0x0f) << 2);
}

/** IPv4 pseudo-header sum (RFC 793 section 3.1): src, dst (as u32), zero+protocol, L4 length. */
export function pseudoSum4(src: number, dst: number, proto: number, l4Len: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4Len);
}

/** IPv6 pseudo-header sum (RFC 8200 section 8.1): 16-byte src and dst, 32-bit length, next header. */
export function pseudoSum6(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  nextHeader: number,
  l4Len: number,
): number {
  // l4Len is a 32-bit field; it is split into two words for frames above 64 KiB (jumbograms).
  const lenWords = (l4Len >>> 16) + (l4Len & 0xffff);
  return onesSum(src, srcOff, 16, onesSum(dst, dstOff, 16, lenWords + nextHeader));
}

/**
 * Pseudo-header sum for the IP header at `ipOff`, chosen by its version nibble; 0 for protocols without a
 * pseudo-header (ICMPv4, IGMP, ...). `proto` is the upper-layer protocol (after any IPv6 extension headers).
 */
export function pseudoSumAt(bytes: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  if (proto !== kProtoTcp && proto !== kProtoUdp && proto !== kProtoIcmpv6) return 0;
  if (bytes[ipOff]! >> 4 === 6) return pseudoSum6(bytes, ipOff + 8, bytes, ipOff + 24, proto, l4Len); // v6 src at 8, dst at 24
  const b = bytes;
  const o = ipOff + 12; // v4 src at 12, dst at 16
  const src = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  const dst = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
  return pseudoSum4(src, dst, proto, l4Len);
}

/**
 * Checksum of the L4 segment at `l4Off` (`l4Len` bytes) under the IP header at `ipOff`, including the
 * pseudo-header where the protocol has one. The segment's checksum field must hold zero.
 */
export function l4Checksum(bytes: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number): number {
  return finish(onesSum(bytes, l4Off, l4Len, pseudoSumAt(bytes, ipOff, proto, l4Len)));
}

/** Offset of the checksum field inside the L4 header for `proto`, or -1 if we do not checksum it. */
export function l4ChecksumOffset(proto: number): number {
  if (proto === kProtoTcp) return kTcpChecksumOff;
  if (proto === kProtoUdp) return kUdpChecksumOff;
  if (proto === kProtoIcmp || proto === kProtoIcmpv6) return kIcmpChecksumOff;
  return -1;
}

/**
 * Compute and store the full L4 checksum in place (the offload fix-up). Returns false, writing nothing,
 * for protocols it does not know. A UDP result of 0 is sent as 0xffff (RFC 768: 0 means "no checksum").
 */
export function fillL4Checksum(bytes: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number): boolean {
  const at = l4ChecksumOffset(proto);
  if (at < 0) return false;
  const p = l4Off + at;
  bytes[p] = 0;
  bytes[p + 1] = 0;
  let c = l4Checksum(bytes, ipOff, l4Off, l4Len, proto);
  if (c === 0 && proto === kProtoUdp) c = 0xffff;
  bytes[p] = c >> 8;
  bytes[p + 1] = c & 0xff;
  return true;
}

/**
 * True when the stored L4 checksum is correct. A zero UDP checksum over IPv4 means "not computed" and is
 * accepted (RFC 768); over IPv6 it is not (RFC 8200 section 8.1).
 */
export function verifyL4(bytes: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number): boolean {
  if (proto === kProtoUdp && bytes[ipOff]! >> 4 === 4 && bytes[l4Off + 6] === 0 && bytes[l4Off + 7] === 0) return true;
  return verify(bytes, l4Off, l4Len, pseudoSumAt(bytes, ipOff, proto, l4Len));
}
