/**
 * Packet capture, datapath side (docs/design.md: ingress capture hooks observe only). Frames are
 * copied byte-exact as on the wire of a port into the switch's one FrameRing, with a metadata header per
 * entry; the control thread (control/capture.ts) drains the ring and writes pcap.
 *
 * It is a tap (dataplane/tap.ts): `in` copies as received, before ingress strips a tag; `out` as handed
 * to the NIC, after egress tagging and the offload fix-ups. Zero cost when off, as every tap.
 *
 * Design notes: README.md in this folder, section "capture.ts".
 */
import { kMaxPorts } from '../dataplane/counters.js';
import type { Clock } from '../dataplane/clock.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { FrameRing } from '../dataplane/ring.js';
import { kTapIn, kTapOut, Tap } from '../dataplane/tap.js';

export const kCaptureIn = kTapIn;
export const kCaptureOut = kTapOut;
/** Ring entries: 1024 = four full 256-frame batches, i.e. a few breaths of slack for the control thread. */
export const kCaptureRingSize = 1024;

/** Metadata words per ring entry. */
export const kMeta = {
  port: 0,
  /** kCaptureIn or kCaptureOut */
  direction: 1,
  /** the capture's id: a frame left in the ring from an earlier capture of the same port is not misfiled */
  id: 2,
  /** wall-clock seconds (uint32, read with >>> 0) and microseconds of the breath */
  sec: 3,
  usec: 4,
  /** length on the wire (the entry holds min(length, capacity) bytes) */
  origLen: 5,
  count: 6,
} as const;

/** Shared memory of a switch's capture: the ring and the per-port loss counters. */
export interface CaptureShared {
  ring: SharedArrayBuffer;
  lost: SharedArrayBuffer;
  capacity: number;
}

/** The control thread makes the shared memory once per switch (first capture) and sends it to the worker. */
export function createCaptureShared(capacity: number): CaptureShared {
  return {
    ring: new SharedArrayBuffer(FrameRing.byteLength(kCaptureRingSize, capacity, kMeta.count)),
    lost: new SharedArrayBuffer(kMaxPorts * 8),
    capacity,
  };
}

export class CaptureTap extends Tap {
  /** Ports with any bit: the engine skips stamping and publishing when 0. */
  armed = 0;
  private readonly ids = new Int32Array(kMaxPorts);
  private ring: FrameRing | null = null;
  private lost: Float64Array | null = null;
  private sec = 0;
  private usec = 0;
  private pushed = 0;
  private stampedMs = NaN;

  constructor(
    pool: PacketPool,
    private readonly clock: Clock,
  ) {
    super(pool);
  }

  /** Start capturing `port` in `direction` (bits) for capture `id`, into the switch's shared ring. */
  start(port: number, direction: number, id: number, shared: CaptureShared): void {
    if (this.ring === null) {
      // a switch has one capture memory for its life: later starts carry the same buffers again
      this.ring = new FrameRing(kCaptureRingSize, shared.capacity, shared.ring, kMeta.count);
      this.lost = new Float64Array(shared.lost);
    }
    this.stop(port);
    this.lost![port] = 0; // one capture per port at a time: its losses start from zero
    this.flags[port] = direction & (kCaptureIn | kCaptureOut);
    this.ids[port] = id;
    if (direction & kCaptureIn) this.inPorts++;
    if (this.flags[port] !== 0) this.armed++;
  }

  /** Stop capturing `port` (no-op if it was not). Frames already pushed stay in the ring for the reader. */
  stop(port: number): void {
    const f = this.flags[port];
    if (f === 0) return;
    if (f & kCaptureIn) this.inPorts--;
    this.armed--;
    this.flags[port] = 0;
    this.ids[port] = 0;
  }

  /** The id of the capture running on `port`, 0 if none. */
  idOf(port: number): number {
    return this.ids[port];
  }

  /** The wall-clock time of the switch clock's current breath, computed once per breath. */
  private stamp(): void {
    const nowMs = this.clock.nowMs;
    this.stampedMs = nowMs;
    const t = performance.timeOrigin + nowMs;
    const sec = Math.floor(t / 1000);
    this.sec = sec;
    this.usec = Math.floor((t - sec * 1000) * 1000);
  }

  protected copy(port: number, direction: number, slot: number): void {
    if (this.clock.nowMs !== this.stampedMs) this.stamp();
    const ring = this.ring!;
    const pool = this.pool;
    const len = pool.meta32[(slot << Meta.shift) + Meta.len];
    const cut = len < ring.capacity ? len : ring.capacity;
    if (!ring.push(pool.bytes, pool.frameStart(slot), cut)) {
      this.lost![port]++;
      return;
    }
    ring.setMeta(kMeta.port, port);
    ring.setMeta(kMeta.direction, direction);
    ring.setMeta(kMeta.id, this.ids[port]);
    ring.setMeta(kMeta.sec, this.sec);
    ring.setMeta(kMeta.usec, this.usec);
    ring.setMeta(kMeta.origLen, len);
    this.pushed++;
  }

  /** Once per breath: make this breath's copies visible and wake the reader (nothing to do if none). */
  override flush(): void {
    if (this.pushed === 0) return;
    this.pushed = 0;
    this.ring!.publish();
  }
}
