/**
 * A test double for the datapath side of the NIC contract (ports/nic.ts): it copies every received frame
 * out, frees the slot (or keeps it, to exhaust the pool on purpose), and counts drops by reason, flushes,
 * the largest batch between flushes, and link events. The endpoint under test stays real (sockets, TAPs);
 * only the consumer is recorded.
 */
import type { PacketPool } from '../dataplane/pool.js';
import type { NicDropReason, NicSink } from '../ports/nic.js';

export class RecordingSink implements NicSink {
  readonly frames: Buffer[] = [];
  readonly drops: Partial<Record<NicDropReason, number>> = {};
  connects = 0;
  disconnects = 0;
  flushes = 0;
  /** Frames received since the last flush. */
  unflushed = 0;
  /** The most frames received between two flushes. */
  maxBatch = 0;
  /** Keep slots instead of freeing them (to exhaust the pool). */
  keep = false;
  readonly kept: number[] = [];

  constructor(readonly pool: PacketPool) {}

  alloc(): number {
    return this.pool.alloc();
  }
  receive(slot: number): void {
    this.frames.push(Buffer.from(this.pool.copyOut(slot)));
    this.unflushed++;
    if (this.keep) this.kept.push(slot);
    else this.pool.free(slot);
  }
  flush(): void {
    this.flushes++;
    if (this.unflushed > this.maxBatch) this.maxBatch = this.unflushed;
    this.unflushed = 0;
  }
  drop(reason: NicDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
  connected(): void {
    this.connects++;
  }
  disconnected(): void {
    this.disconnects++;
  }
}
