/**
 * MAC addresses: six bytes on the wire, two numbers in the datapath, text at the edges.
 *
 * Why: the FDB is an open-addressing hash in shared typed arrays keyed by (VLAN, MAC). 48 bits plus a VID
 * do not fit a JS number exactly and BigInt or string keys allocate, so the datapath reads a MAC as a
 * 16-bit high word and a 32-bit low word (`macHi16`, `macLo32`) through the pool's long-lived DataView.
 *
 *   byte:   0    1  |  2    3    4    5
 *         [ hi16    ] [ lo32              ]     52:54 | 00:12:34:56 -> hi16 0x5254, lo32 0x00123456
 *
 * Trade-offs: the word helpers are unchecked (the caller has checked the frame length once); the text
 * helpers are control path only and allocate/throw.
 */

export const kMacLen = 6; // IEEE 802 MAC-48 address length in bytes
export const kLo32Off = 2; // the 32-bit low word follows the 16-bit high word
export const kBroadcastHi16 = 0xffff; // ff:ff high word
export const kBroadcastLo32 = 0xffffffff; // ff:ff:ff:ff low word
const kGroupBit = 0x0100; // I/G bit: least significant bit of the first octet (IEEE 802-2014 8.2), as seen in hi16
const kLocalBit = 0x0200; // U/L bit: second bit of the first octet, locally administered

/** First two bytes of the MAC that starts at `off`, big-endian. */
export function macHi16(view: DataView, off: number): number {
  return view.getUint16(off);
}

/** Last four bytes of the MAC that starts at `off`, big-endian, as an unsigned number. */
export function macLo32(view: DataView, off: number): number {
  return view.getUint32(off + kLo32Off);
}

/** Write a MAC given as its two words at `off`. */
export function writeMac(view: DataView, off: number, hi16: number, lo32: number): void {
  view.setUint16(off, hi16);
  view.setUint32(off + kLo32Off, lo32);
}

/** Multicast or broadcast (group address): frames to it flood; it is never a valid source. */
export function isGroupHi16(hi16: number): boolean {
  return (hi16 & kGroupBit) !== 0;
}

/** Locally administered (U/L bit set), e.g. QEMU's 52:54:00 prefix. */
export function isLocalHi16(hi16: number): boolean {
  return (hi16 & kLocalBit) !== 0;
}

export function isBroadcastWords(hi16: number, lo32: number): boolean {
  return hi16 === kBroadcastHi16 && lo32 === kBroadcastLo32;
}

export function isZeroWords(hi16: number, lo32: number): boolean {
  return hi16 === 0 && lo32 === 0;
}

const kHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Six bytes at `off` -> "52:54:00:12:34:56" (lower case, colons: the Linux/iproute2 spelling). */
export function formatMac(bytes: Uint8Array, off = 0): string {
  const b = bytes;
  return `${kHex[b[off]!]}:${kHex[b[off + 1]!]}:${kHex[b[off + 2]!]}:${kHex[b[off + 3]!]}:${kHex[b[off + 4]!]}:${kHex[b[off + 5]!]}`;
}

/** The two FDB words -> text. */
export function formatMacWords(hi16: number, lo32: number): string {
  const b = new Uint8Array(kMacLen);
  const v = new DataView(b.buffer);
  writeMac(v, 0, hi16, lo32);
  return formatMac(b);
}

// Colons (Linux), dashes (Windows, Hyper-V's Get-VMNetworkAdapter) or 12 bare digits (Hyper-V -StaticMacAddress).
const kMacText = /^(?:[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}|[0-9a-fA-F]{12})$/;

/** "52:54:00:12:34:56" (or 52-54-00-12-34-56, or 525400123456) -> six bytes. */
export function parseMac(text: string): Uint8Array {
  if (typeof text !== 'string' || !kMacText.test(text))
    throw new Error(`invalid MAC '${String(text)}': expected six hex pairs like 52:54:00:12:34:56`);
  const hex = text.replace(/[:-]/g, '');
  const out = new Uint8Array(kMacLen);
  for (let i = 0; i < kMacLen; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Text -> the two FDB words, for static entries and config. */
export function parseMacWords(text: string): { hi16: number; lo32: number } {
  const b = parseMac(text);
  const v = new DataView(b.buffer);
  return { hi16: macHi16(v, 0), lo32: macLo32(v, 0) };
}
