/**
 * MemoryNic: an endpoint inside the engine's own thread, for tests and the in-process benchmark.
 * `inject()` copies a frame into the pool and runs the pipeline; transmitted frames are copied out into
 * `received` (tests) or only counted when `capture` is false (benchmark: no allocation per frame).
 * `injectBatch()` hands many frames to the datapath before one flush, like a TAP read batch.
 */
import type { Nic, NicSink } from './nic.js';

export class MemoryNic implements Nic {
  readonly kind = 'memory';
  sink: NicSink | null = null;
  readonly received: Uint8Array[] = [];
  sent = 0;
  capture: boolean;
  private up = false;

  constructor(opts: { capture?: boolean } = {}) {
    this.capture = opts.capture ?? true;
  }

  open(sink: NicSink): void {
    this.sink = sink;
    this.up = true;
    sink.connected();
  }

  /** Deliver one frame into the switch and run the pipeline. False if the NIC is closed or the pool is empty. */
  inject(frame: Uint8Array): boolean {
    if (!this.stage(frame)) return false;
    this.sink!.flush();
    return true;
  }

  /** Deliver many frames, then run the pipeline once. */
  injectBatch(frames: Uint8Array[]): number {
    let n = 0;
    for (const f of frames) if (this.stage(f)) n++;
    this.sink?.flush();
    return n;
  }

  private stage(frame: Uint8Array): boolean {
    const sink = this.sink;
    if (!sink || !this.up) return false;
    const slot = sink.alloc();
    if (slot < 0) {
      sink.drop('no-buffer');
      return false;
    }
    const pool = sink.pool;
    if (frame.length > pool.maxFrame) {
      pool.free(slot);
      sink.drop('oversize');
      return false;
    }
    pool.bytes.set(frame, pool.frameStart(slot));
    pool.len[slot] = frame.length;
    sink.receive(slot);
    return true;
  }

  transmit(slots: Int32Array, count: number): number {
    if (this.capture) {
      const pool = this.sink!.pool;
      for (let i = 0; i < count; i++) this.received.push(pool.copyOut(slots[i]));
    }
    this.sent += count;
    return count;
  }

  /** Simulate the endpoint going away (link down) and coming back. */
  setConnected(up: boolean): void {
    this.up = up;
    if (up) this.sink?.connected();
    else this.sink?.disconnected();
  }

  close(): void {
    this.up = false;
  }

  describe(): Record<string, unknown> {
    return { received: this.received.length, sent: this.sent };
  }
}
