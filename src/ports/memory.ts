/**
 * MemoryNic: an endpoint inside the engine's own thread, for tests and the in-process benchmark.
 * `inject()` copies a frame into the pool and runs the pipeline; transmitted frames are copied out into
 * `received` (tests) or only counted when `capture` is false (benchmark: no allocation per frame).
 * `injectBatch()` hands many frames to the datapath before one flush, like a TAP read batch.
 *
 * Offload endpoint: with `offloadCaps` (kCapCsum | kCapTso | kCapUso) it tells the engine what it takes,
 * as a TAP with TUNSETOFFLOAD does, and `inject(frame, meta)` sets the slot's offload metadata as a
 * virtio_net_hdr would (ports/vnet-hdr.ts), so engine tests can play a guest handing over GSO frames and
 * partial checksums. Each captured frame's metadata is kept beside it in `receivedMeta` (same index).
 * The metadata is copied as given, unchecked: tests use it to feed the switch lies too.
 */
import type { Nic, NicSink } from './nic.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';

/** Offload metadata of one frame, virtio_net_hdr semantics (dataplane/pool.ts); absent fields are 0. */
export interface FrameMeta {
  flags?: number;
  gsoType?: number;
  gsoSize?: number;
  csumStart?: number;
  csumOffset?: number;
}

/** The metadata a transmitted frame carried, every field present. */
export type DeliveredMeta = Required<FrameMeta>;

export class MemoryNic implements Nic {
  readonly kind = 'memory';
  sink: NicSink | null = null;
  readonly received: Uint8Array[] = [];
  /** Offload metadata of each frame in `received`, same index (only while capturing): a test that drains
   *  `received` (splice) drains this the same way to keep the indices paired. */
  readonly receivedMeta: DeliveredMeta[] = [];
  sent = 0;
  capture: boolean;
  /** Nic.offloadCaps: read by the engine at attach(). */
  readonly offloadCaps: number;
  private up = false;

  constructor(opts: { capture?: boolean; offloadCaps?: number } = {}) {
    this.capture = opts.capture ?? true;
    this.offloadCaps = opts.offloadCaps ?? 0;
  }

  open(sink: NicSink): void {
    this.sink = sink;
    this.up = true;
    sink.connected();
  }

  /** Deliver one frame into the switch and run the pipeline. False if the NIC is closed or the pool is empty. */
  inject(frame: Uint8Array, meta?: FrameMeta): boolean {
    if (!this.stage(frame, meta)) return false;
    this.sink!.flush();
    return true;
  }

  /** Deliver many frames (metas[i] for frames[i], if given), then run the pipeline once. */
  injectBatch(frames: Uint8Array[], metas?: Array<FrameMeta | undefined>): number {
    let n = 0;
    for (let i = 0; i < frames.length; i++) if (this.stage(frames[i], metas?.[i])) n++;
    this.sink?.flush();
    return n;
  }

  private stage(frame: Uint8Array, meta: FrameMeta | undefined): boolean {
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
    pool.meta32[(slot << Meta.shift) + Meta.len] = frame.length;
    // alloc() clears oflags and gsoType only; set all five so no earlier life of the slot shows through
    pool.meta32[(slot << Meta.shift) + Meta.oflags] = meta?.flags ?? 0;
    pool.meta32[(slot << Meta.shift) + Meta.gsoType] = meta?.gsoType ?? 0;
    pool.meta16[(slot << Meta16.shift) + Meta16.gsoSize] = meta?.gsoSize ?? 0;
    pool.meta32[(slot << Meta.shift) + Meta.csumStart] = meta?.csumStart ?? 0;
    pool.meta16[(slot << Meta16.shift) + Meta16.csumOffset] = meta?.csumOffset ?? 0;
    sink.receive(slot);
    return true;
  }

  transmit(slots: Int32Array, count: number): number {
    if (this.capture) {
      const pool = this.sink!.pool;
      for (let i = 0; i < count; i++) {
        const s = slots[i];
        this.received.push(pool.copyOut(s));
        this.receivedMeta.push({
          flags: pool.meta32[(s << Meta.shift) + Meta.oflags],
          gsoType: pool.meta32[(s << Meta.shift) + Meta.gsoType],
          gsoSize: pool.meta16[(s << Meta16.shift) + Meta16.gsoSize],
          csumStart: pool.meta32[(s << Meta.shift) + Meta.csumStart],
          csumOffset: pool.meta16[(s << Meta16.shift) + Meta16.csumOffset],
        });
      }
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
    return {
      received: this.received.length,
      sent: this.sent,
      ...(this.offloadCaps !== 0 ? { offloadCaps: this.offloadCaps } : {}),
    };
  }
}
