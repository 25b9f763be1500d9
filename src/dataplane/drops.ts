/**
 * The drop reasons of the mechanism itself, declared like every feature's (counters.ts): a frame that
 * finds the packet pool empty, or a ring or queue full, is dropped and counted, never waited for (Snabb's
 * rule that a link never applies backpressure to the graph). Every stage that allocates or queues uses them.
 */
import { declareDrops } from './counters.js';

export const mechanismDrops = declareDrops('dataplane', [
  [8, 'no-buffer', 'packet pool exhausted'],
  [9, 'ring-full', 'egress queue or socket backlog full'],
] as const);
