/**
 * A faster RFC 1071 one's complement sum for the offload paths, which sum every payload byte they touch
 * (segmentation sums 64 KB per GSO frame, checksum completion a whole frame).
 *
 * Why: packet/checksum.ts `onesSum` does two byte loads per 16-bit word. Here the aligned middle of the
 * region is read as native 32-bit words through one Uint32Array over the pool's buffer. On a little-endian
 * host each 32-bit load holds two byte-SWAPPED 16-bit words, and since 2^16 = 1 (mod 0xffff) a 32-bit
 * value is congruent to the sum of its halves: so the sum of the loads, folded and byte-swapped back,
 * equals the big-endian sum (RFC 1071 section 2(B), byte-order independence). The result is identical to
 * `onesSum` bit for bit, 0 versus 0xffff included (sum.test.ts checks it with fast-check).
 *
 * Design notes: README.md in this folder, section "sum.ts".
 */
import { fold, onesSum } from '../packet/checksum.js';

/** True on little-endian hosts (x86, arm64): probed once at load. */
const kLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop wins: setting up the word loop costs about as much as 16 words. */
const kFastMin = 32;

let cachedBytes: Uint8Array | null = null;
let cachedWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/** The 32-bit view of `bytes`' whole buffer (keyed on the view, whose identity is cheaper to test than `.buffer`). */
function wordsOf(bytes: Uint8Array): Uint32Array<ArrayBufferLike> {
  if (bytes !== cachedBytes) {
    cachedBytes = bytes;
    cachedWords = new Uint32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
  }
  return cachedWords;
}

/**
 * One's complement sum of `len` bytes of `bytes` from `start` (big-endian 16-bit words, an odd last byte
 * padded with zero), plus `initial` (any non-negative number below 2^52). Returns the folded, NOT
 * complemented 16-bit sum: the same value as packet/checksum `onesSum(bytes, start, len, initial)`.
 */
export function sum16(bytes: Uint8Array, start: number, len: number, initial: number): number {
  const abs = bytes.byteOffset + start;
  if (len < kFastMin || (abs & 1) !== 0 || !kLittleEndian) return onesSum(bytes, start, len, initial);
  const words = wordsOf(bytes);
  const end = start + len;
  let i = start;
  let s = 0; // sum of byte-swapped 16-bit words
  if ((abs & 2) !== 0) {
    s = bytes[i]! | (bytes[i + 1]! << 8); // one 16-bit word to reach a 4-byte boundary
    i += 2;
  }
  let w = (bytes.byteOffset + i) >>> 2;
  const n = (end - i) >>> 2;
  const wEnd = w + n;
  // Two accumulators: independent additions the CPU can overlap.
  let s0 = 0;
  let s1 = 0;
  for (; w + 1 < wEnd; w += 2) {
    s0 += words[w]!;
    s1 += words[w + 1]!;
  }
  if (w < wEnd) s0 += words[w]!;
  i += n << 2;
  s += s0 + s1;
  if (end - i >= 2) {
    s += bytes[i]! | (bytes[i + 1]! << 8);
    i += 2;
  }
  if (i < end) s += bytes[i]!; // odd last byte: the high byte of a zero-padded big-endian word, swapped
  const f = fold(s);
  return fold((((f & 0xff) << 8) | (f >>> 8)) + initial);
}
