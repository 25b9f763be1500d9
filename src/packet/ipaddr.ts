/**
 * IP address text <-> bytes/numbers, and the pseudo-header sum for addresses given as text.
 *
 * Why: Reprs, frame builders, configs and tests speak addresses as text ("10.0.0.1", "2001:db8::1");
 * the datapath speaks u32 words. This file is the one place the two meet, kept apart from ipv4.ts and
 * ipv6.ts so the L4 files can use it without importing the L3 views.
 *
 * Trade-offs: control path only (it allocates and throws). IPv6 text output follows RFC 5952 (lower
 * case, longest run of two or more zero groups shortened to "::", the first on a tie) but never the mixed
 * "::ffff:1.2.3.4" form: one canonical spelling is what round-trip tests and `fdb show` need. Input accepts
 * any RFC 4291 section 2.2 form, including a dotted-quad tail.
 */
import { pseudoSum4, pseudoSum6 } from './checksum.js';

const kIpv4Len = 4; // bytes in an IPv4 address
const kIpv6Len = 16; // bytes in an IPv6 address
const kIpv6Groups = 8; // 16-bit groups in an IPv6 address

/** "192.0.2.1" -> 0xc0000201. Throws on anything but four decimal octets 0..255. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== kIpv4Len)
    throw new Error(`invalid IPv4 address '${text}': expected four decimal octets like 192.0.2.1`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255)
      throw new Error(`invalid IPv4 address '${text}': expected four decimal octets like 192.0.2.1`);
    n = n * 256 + Number(p);
  }
  return n;
}

/** 0xc0000201 -> "192.0.2.1". */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** "2001:db8::1" -> 16 bytes. Throws a clear Error on malformed text. */
export function parseIpv6(text: string): Uint8Array {
  const bad = (why: string) => new Error(`invalid IPv6 address '${text}': ${why}`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad("'::' may appear only once");
  // `last` marks the part that may end in a dotted quad, which stands for the last two groups
  // (RFC 4291 section 2.2 form 3, e.g. ::ffff:192.0.2.1).
  const parse = (part: string, last: boolean): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    const gs = part.split(':');
    for (let k = 0; k < gs.length; k++) {
      const g = gs[k]!;
      if (last && k === gs.length - 1 && g.includes('.')) {
        let v4: number;
        try {
          v4 = parseIpv4(g);
        } catch {
          throw bad(`the dotted-quad tail '${g}' is not an IPv4 address`);
        }
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else throw bad(`group '${g}' is not 1-4 hex digits`);
    }
    return out;
  };
  const head = parse(halves[0]!, halves.length === 1);
  const rest = halves.length === 2 ? parse(halves[1]!, true) : [];
  const given = head.length + rest.length;
  const groups: number[] = [];
  if (halves.length === 2) {
    if (given > kIpv6Groups - 1) throw bad("'::' must stand for at least one zero group");
    groups.push(...head, ...new Array<number>(kIpv6Groups - given).fill(0), ...rest);
  } else {
    if (given !== kIpv6Groups) throw bad(`expected 8 groups, got ${given}`);
    groups.push(...head);
  }
  const out = new Uint8Array(kIpv6Len);
  for (let i = 0; i < kIpv6Groups; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** 16 bytes at `off` -> RFC 5952 text ("2001:db8::1"). */
export function formatIpv6(bytes: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < kIpv6Groups; i++) g.push((bytes[off + 2 * i]! << 8) | bytes[off + 2 * i + 1]!);
  // Longest run of zero groups, length >= 2 (RFC 5952 section 4.2.2: a single 0 group is not shortened).
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < kIpv6Groups; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < kIpv6Groups && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** True if the text is an IPv6 address (contains a colon); IPv4 otherwise. */
export function isIpv6Text(text: string): boolean {
  return text.includes(':');
}

/**
 * Pseudo-header sum for addresses given as text (both IPv4 or both IPv6), for Repr `emit` on the
 * control path. The datapath uses `pseudoSumAt` in checksum.ts, which reads the addresses in place.
 */
export function pseudoSumText(src: string, dst: string, proto: number, l4Len: number): number {
  if (isIpv6Text(src) !== isIpv6Text(dst))
    throw new Error(`pseudo-header addresses '${src}' and '${dst}' are of different families`);
  if (isIpv6Text(src)) return pseudoSum6(parseIpv6(src), 0, parseIpv6(dst), 0, proto, l4Len);
  return pseudoSum4(parseIpv4(src), parseIpv4(dst), proto, l4Len);
}

/** Addresses for an L4 checksum's pseudo-header (text; IPv4 or IPv6, both the same family). */
export interface PseudoHeader {
  src: string;
  dst: string;
}
