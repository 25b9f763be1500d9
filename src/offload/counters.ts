/** The software offloads' counter rows: what was segmented, completed or merged per port, and refused. */
import { declareDrops, declarePortCounters } from '../dataplane/counters.js';

export const offloadDrops = declareDrops('offload', [
  [14, 'gso-unsupported', 'GSO type the switch cannot segment'],
  [15, 'gso-malformed', 'GSO frame whose headers cannot be segmented (lengths, options, extension headers)'],
] as const);

export const offloadCounters = declarePortCounters('offload', [
  [9, 'offSegmented', 'GSO frames segmented in software (LSO) for this port'],
  [10, 'offSegments', 'segments produced by software LSO'],
  [11, 'offCsum', 'partial checksums completed in software'],
  [12, 'offCoalesced', 'segments merged by receive segment coalescing (RSC)'],
] as const);

declare module '../dataplane/counters.js' {
  interface PortCounterValues extends Record<keyof typeof offloadCounters, number> {}
}
