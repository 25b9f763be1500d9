/**
 * Rates and sizes as people type them: "50M" bits/s, "64K" bytes. Rates are bits/s with SI multipliers
 * (k = 1000, as tc and Hyper-V count link speeds); sizes are bytes with binary multipliers (K = 1024, as
 * buffer sizes are counted). Values are exact (decimal text, no float rounding): '1.5G' is 1500000000,
 * '1.5K' is 1536, and '0.5' bits/s is refused. The policy declarations use them as their flags' parsers.
 */
import { fail } from '../validate-helpers.js';

/** Decimal text times a multiplier, exactly; refuses results that are not whole or not safe integers. */
function scaled(text: string, digits: string, mult: bigint, field: string, unit: string): number {
  const [whole = '', frac = ''] = digits.split('.');
  const n = BigInt(whole + frac) * mult;
  const d = 10n ** BigInt(frac.length);
  if (n % d !== 0n) fail(field, `'${text}' is not a whole number of ${unit}`);
  if (n / d > BigInt(Number.MAX_SAFE_INTEGER)) fail(field, `'${text}' is too large`);
  return Number(n / d);
}

const kSi: Record<string, bigint> = { '': 1n, k: 1000n, m: 1000_000n, g: 1000_000_000n, t: 1000_000_000_000n };
const kBinary: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n };

/** '50M', '1.5G', '800k', '1000000', '100Mbit', '10Gbps' -> bits/s (SI, 1000-based). */
export function rate(text: string, field: string): number {
  // Multiplier letters in either case (no one means millibits); "B" is refused so 50MB is not read as bits.
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtT]?)(?:bps|bits?|bit\/s)?$/.exec(text.trim());
  if (!m)
    fail(
      field,
      `'${text}' is not a rate; write bits per second as a number with an optional k, M, G or T (1000-based), like 800k, 50M or 1.5G`,
    );
  return scaled(text, m[1]!, kSi[m[2]!.toLowerCase()]!, field, 'bits/s');
}

/** '64K', '1M', '1.5K', '1514', '64KiB' -> bytes (1024-based). */
export function bytes(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgG]?)(?:i?B)?$/.exec(text.trim());
  if (!m)
    fail(
      field,
      `'${text}' is not a size; write bytes as a number with an optional K, M or G (1024-based), like 1514, 64K or 1M`,
    );
  return scaled(text, m[1]!, kBinary[m[2]!.toLowerCase()]!, field, 'bytes');
}
