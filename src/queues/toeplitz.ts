/**
 * Toeplitz hash (Microsoft RSS, NdisHashFunctionToeplitz) with a precomputed per-byte table.
 *
 * Why: RSS (docs/queues.md) spreads flows over workers by hashing each frame's addresses and ports;
 * it runs once per received frame, so it must cost a few table reads, not a bit loop. Using Microsoft's
 * function and default key makes our queue choice match a real NIC's (and Microsoft's published vectors
 * test it).
 *
 * Design notes: README.md in this folder, section "toeplitz.ts".
 */

/** Microsoft's default RSS key (the one in "Verifying the RSS Hash Calculation"); most NICs ship it too. */
export const kMicrosoftKeyHex = '6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa';
/** RSS keys are 40 bytes (320 bits): the NDIS key size. */
export const kKeyLen = 40;
/** Longest input a 40-byte key covers: bit k uses key bits k..k+31, so 320 - 32 = 288 bits = 36 bytes,
 *  which is exactly the TCP/IPv6 4-tuple (16 + 16 + 2 + 2). */
export const kMaxInput = 36;
/** Entries per input position: one per byte value. */
const kByteValues = 256;

/** Decode hex text (control path): throws on odd length or a non-hex digit. */
export function keyFromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new Error(`RSS key must be hex digits in pairs, got '${hex}'`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A key's precomputed table. Build one per key (control path); hash with it on the data path. */
export class Toeplitz {
  /**
   * table[i * 256 + v]: what byte value v at input position i XORs into the hash, stored as signed 32-bit:
   * V8 keeps Int32Array loads as small integers, while Uint32Array values above 2^31 are loaded as doubles
   * and truncated back for each XOR. Results are made unsigned once, at the end (`>>> 0`).
   */
  readonly table: Int32Array;
  /** A copy of the key this table was built from. */
  readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== kKeyLen) throw new RangeError(`RSS Toeplitz key must be ${kKeyLen} bytes, got ${key.length}`);
    this.key = key.slice();
    this.table = new Int32Array(kMaxInput * kByteValues);
    const windows = new Uint32Array(8); // the 32-bit key window for each bit of one input byte
    for (let i = 0; i < kMaxInput; i++) {
      // Key bits 8i .. 8i+39: the 32-bit word at byte i, then the next byte for the shifted-in bits.
      const hi = ((key[i]! << 24) | (key[i + 1]! << 16) | (key[i + 2]! << 8) | key[i + 3]!) >>> 0;
      const lo = key[i + 4]!; // i + 4 <= 39: the last position still lies inside the 40-byte key
      for (let j = 0; j < 8; j++) windows[j] = j === 0 ? hi : ((hi << j) | (lo >>> (8 - j))) >>> 0;
      const base = i * kByteValues;
      for (let v = 0; v < kByteValues; v++) {
        let h = 0;
        for (let j = 0; j < 8; j++) if (v & (0x80 >>> j)) h ^= windows[j]!; // bit j counted from the MSB
        this.table[base + v] = h | 0;
      }
    }
  }

  /** Hash `len` bytes (at most 36) at `off`. */
  hashBytes(bytes: Uint8Array, off: number, len: number): number {
    const t = this.table;
    let h = 0;
    for (let i = 0; i < len; i++) h ^= t[(i << 8) | bytes[off + i]!]!;
    return h >>> 0;
  }

  /**
   * Hash the addresses only: `addrLen` bytes at `addrOff` (8 for IPv4 src+dst at header offset 12, 32 for
   * IPv6 src+dst at header offset 8). Microsoft's "IPv4 only" / "IPv6 only" input.
   */
  hashAddrs(bytes: Uint8Array, addrOff: number, addrLen: number): number {
    return this.hashBytes(bytes, addrOff, addrLen);
  }

  /**
   * Hash addresses then ports: `addrLen` bytes at `addrOff` followed by the 4 port bytes (src port, dst
   * port) at `portsOff` (the L4 header start). Microsoft's "with TCP" input; no copy into a scratch buffer.
   */
  hashAddrsPorts(bytes: Uint8Array, addrOff: number, addrLen: number, portsOff: number): number {
    const t = this.table;
    let h = 0;
    for (let i = 0; i < addrLen; i++) h ^= t[(i << 8) | bytes[addrOff + i]!]!;
    const p = addrLen << 8; // table row of the first port byte
    h ^= t[p | bytes[portsOff]!]!;
    h ^= t[(p + 256) | bytes[portsOff + 1]!]!;
    h ^= t[(p + 512) | bytes[portsOff + 2]!]!;
    h ^= t[(p + 768) | bytes[portsOff + 3]!]!;
    return h >>> 0;
  }
}

/** The table for Microsoft's default key, built once at module load (36 KiB). */
export const kDefaultToeplitz = new Toeplitz(keyFromHex(kMicrosoftKeyHex));
