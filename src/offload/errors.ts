/**
 * Offload error codes, declared as data (the VPP error-table idea, like dataplane/counters.ts): each row a
 * name and a meaning, each code a small negative number, so the egress node that calls the software
 * offloads maps a code onto its own drop reason with one table lookup and nothing here logs or throws.
 *
 * Why negative: `segment*` returns a segment count (>= 1) on success, so failures must not collide with
 * counts; `completeChecksum` returns 0 for success and the same negative codes for failure. 0 is never an
 * error.
 *
 * Trade-off: a handful of coarse codes rather than one per check. The datapath only needs to know which
 * drop counter to bump; the finer cause of a malformed GSO frame (which length disagreed) is what the
 * tests pin down, not what an operator acts on.
 */

/** code = -(index + 1). Keep the `kErr*` constants below in the same order (a test checks it). */
export const offloadErrors = [
  ['csum-bad-offset', 'partial checksum start/offset outside the frame (the vnet header claims bytes the frame lacks)'],
  ['gso-malformed', 'GSO frame whose headers, lengths, checksum offsets or segment size disagree with the frame'],
  [
    'gso-unsupported',
    'GSO frame of a kind not segmented here: unknown GSO type, not IPv4/IPv6, IPv6 extension headers, not TCP/UDP',
  ],
  ['no-buffer', 'packet pool exhausted while taking segment slots (slots already taken were returned)'],
  ['gso-out-full', "more segments than room left in the caller's output array"],
] as const;

export type OffloadError = (typeof offloadErrors)[number][0];

export const kOffloadOk = 0;
export const kErrCsumBadOffset = -1;
export const kErrGsoMalformed = -2;
export const kErrGsoUnsupported = -3;
export const kErrNoBuffer = -4;
export const kErrOutFull = -5;

/** The error's name for a negative code, '' for 0 or a positive count (control path: tests, CLI). */
export function offloadErrorName(code: number): OffloadError | '' {
  const row = code < 0 ? offloadErrors[-code - 1] : undefined;
  return row ? row[0] : '';
}
