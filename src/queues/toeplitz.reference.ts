/**
 * Reference Toeplitz for tests only: Microsoft's pseudocode ("RSS Hashing Functions") transcribed bit by
 * bit, sharing nothing with toeplitz.ts, so the table form is checked against an independent definition.
 *
 *   result = 0; for each input bit b, left to right: if b == 1, result ^= leftmost 32 bits of K; K <<= 1
 *
 * Trade-off: slow on purpose (BigInt, one step per bit); clarity is its whole job.
 */

/** Toeplitz hash of `input` under `key` (any key of at least 4 bytes; 40 for RSS), unsigned 32-bit. */
export function referenceToeplitz(key: Uint8Array, input: Uint8Array): number {
  let k = 0n;
  for (const b of key) k = (k << 8n) | BigInt(b);
  const keyBits = BigInt(key.length * 8);
  const mask = (1n << keyBits) - 1n;
  let result = 0n;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) result ^= k >> (keyBits - 32n); // K's leftmost 32 bits
      k = (k << 1n) & mask; // shift K left, dropping the bit that leaves the key
    }
  }
  return Number(result);
}
