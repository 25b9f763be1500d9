/**
 * Egress queues: per destination port, the slots a breath decided to send there. The egress node fills
 * them; the engine drains each once per breath with one `Nic.transmit` call, so an endpoint sees one
 * batch (one N-API call for TAP, one socket write for streams) however many source ports fed it.
 *
 * A full queue drops and counts (`ring-full`) rather than blocking: Snabb's rule that a link never
 * applies backpressure to the graph.
 */
import { kMaxPorts } from './counters.js';
import { kMaxBatch } from './graph.js';

/** Two full batches per port: a breath can deliver at most kMaxBatch frames to one port, plus one clone each. */
export const kTxQueueLen = kMaxBatch * 2;

export class TxQueues {
  readonly slots: Int32Array[] = [];
  readonly count = new Int32Array(kMaxPorts);
  /** Ports with something queued this breath, in first-touch order. */
  readonly dirty = new Int32Array(kMaxPorts);
  dirtyCount = 0;

  constructor() {
    for (let p = 0; p < kMaxPorts; p++) this.slots.push(new Int32Array(kTxQueueLen));
  }

  /** Queue slot for port; false when full (caller counts ring-full). */
  push(port: number, slot: number): boolean {
    const n = this.count[port];
    if (n >= kTxQueueLen) return false;
    if (n === 0) this.dirty[this.dirtyCount++] = port;
    this.slots[port][n] = slot;
    this.count[port] = n + 1;
    return true;
  }
}
