/**
 * PacketPool: every frame the switch holds lives in one slot of one SharedArrayBuffer.
 *
 * Why: a packet must be handed between threads (port I/O, datapath workers, control thread) without
 * copying or allocating, so a packet is only an index into this pool plus its slot's metadata record (one
 * 64-byte line per slot, dataplane/slot-meta.ts). Headers are read through the one long-lived `view`
 * (DataView) at `frameStart(slot)`; nothing is allocated per packet.
 *
 *   slot s:  | headroom (kHeadroom) | frame bytes (len) ............ | unused     |
 *            ^ s * slotSize        ^ s * slotSize + off (the record's Meta.off)
 *
 * The headroom lets a node push headers in place (an 802.1Q tag: 4 bytes; later a VXLAN outer header:
 * 50 bytes over IPv4, 70 over IPv6; a virtio_net_hdr: 12 bytes) without copying the payload.
 *
 * Ownership: a slot is owned by exactly one thread at a time. With one worker the free list is a plain
 * stack owned by the thread that created the pool view. With N workers (`shared.free`) the free slots live
 * in one shared stack behind a spin lock, and each worker keeps a private cache of up to kCacheMax slots,
 * refilled and spilled kCacheBulk at a time (the DPDK mempool cache): a frame is allocated by the worker
 * that reads it and freed by the worker that delivers it, and the lock is taken once per kCacheBulk frames,
 * not per frame. The record's `refs` counts how many egress queues still point at a slot (a flooded frame is queued once
 * per destination port) so it is freed exactly once; only the worker switching the frame touches it.
 *
 * Trade-off: fixed-size slots waste memory for small frames, but make allocation O(1) with no
 * fragmentation and keep every frame contiguous for the native TAP read/write path.
 */
import { createSlotMeta, Meta } from './slot-meta.js';

/** Room in front of every received frame: 128 bytes covers tag insert (4), VXLAN/IPv6 outer (70), vnet hdr (12). */
export const kHeadroom = 128;
/** Default slot: a 64 KB GSO frame (what a TAP with TUNSETOFFLOAD hands over) + the 12-byte virtio_net_hdr
 *  + one tag + headroom, rounded up to a 64-byte line multiple (65536 + 256 = 65792). Untouched slot bytes
 *  cost no memory: the OS maps pages on first write. */
export const kDefaultSlotSize = 65792;
/** Default slot count: 2048 slots (128 MiB of address space), enough for 8 ports x 256-frame batches in flight. */
export const kDefaultSlots = 2048;

/** Offload flags (virtio_net_hdr.flags): the L4 checksum is partial and must be completed. */
export const kOffNeedsCsum = 1;
/** Offload flags: the checksum was verified by the sender (virtio VIRTIO_NET_HDR_F_DATA_VALID). */
export const kOffDataValid = 2;
/** GSO types, virtio values (VIRTIO_NET_HDR_GSO_*), so the TAP path copies them without translation. */
export const kGsoNone = 0;
export const kGsoTcp4 = 1;
export const kGsoTcp6 = 4;
export const kGsoUdpL4 = 5;
export const kGsoEcn = 0x80;

/** Per-worker cache of free slots over a shared free list (multi-worker pools only). */
const kCacheMax = 512;
const kCacheBulk = 128;

/** Slots of the pool a switch's workers share: twice one worker's, since each caches up to kCacheMax. */
export const kSharedSlots = kDefaultSlots * 2;

/** The buffers N workers share; each wraps them in its own view: `new PacketPool(p, p.shared)`. */
export interface SharedPool extends PoolShape {
  shared: { data: SharedArrayBuffer; meta: SharedArrayBuffer; free: SharedArrayBuffer };
}

/** Create the shared buffers of a multi-worker pool (data, metadata, the shared free stack). */
export function createSharedPool(shape: PoolShape = { slots: kSharedSlots, slotSize: kDefaultSlotSize }): SharedPool {
  const pool = new PacketPool(shape);
  return {
    slots: shape.slots,
    slotSize: shape.slotSize,
    shared: { data: pool.data, meta: pool.meta, free: createSharedFreeList(shape.slots) },
  };
}

/** The shared free stack of a multi-worker pool: Int32 [lock, top, stack...]. */
function createSharedFreeList(slots: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer((2 + slots) * 4);
  const a = new Int32Array(sab);
  for (let i = 0; i < slots; i++) a[2 + i] = slots - 1 - i;
  a[1] = slots;
  return sab;
}

export interface PoolShape {
  slots: number;
  slotSize: number;
}

export class PacketPool {
  readonly slots: number;
  readonly slotSize: number;
  readonly headroom = kHeadroom;
  /** Largest frame a slot can hold after the headroom. */
  readonly maxFrame: number;
  readonly data: SharedArrayBuffer;
  readonly meta: SharedArrayBuffer;
  /** Whole pool as bytes and as a DataView (long-lived: never create views per packet). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The slots' metadata records (dataplane/slot-meta.ts): `meta32[(s << Meta.shift) + Meta.len]`, and the
   *  two 16-bit fields through `meta16[(s << Meta16.shift) + Meta16.gsoSize]`. Long-lived, like `view`. */
  readonly meta32: Int32Array;
  readonly meta16: Uint16Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  /** Multi-worker pools: the shared free stack ([0] lock, [1] top, [2..] slots), else null. */
  private readonly shared: Int32Array | null;

  constructor(
    shape: PoolShape = { slots: kDefaultSlots, slotSize: kDefaultSlotSize },
    shared?: { data: SharedArrayBuffer; meta: SharedArrayBuffer; free?: SharedArrayBuffer },
  ) {
    if (!Number.isInteger(shape.slots) || shape.slots < 64)
      throw new RangeError(`pool slots must be an integer >= 64, got ${shape.slots}`);
    if (!Number.isInteger(shape.slotSize) || shape.slotSize < 2048 || shape.slotSize % 64 !== 0)
      throw new RangeError(`pool slotSize must be a multiple of 64 and >= 2048, got ${shape.slotSize}`);
    this.slots = shape.slots;
    this.slotSize = shape.slotSize;
    this.maxFrame = shape.slotSize - kHeadroom;
    this.data = shared?.data ?? new SharedArrayBuffer(shape.slots * shape.slotSize);
    this.meta = shared?.meta ?? createSlotMeta(shape.slots);
    this.bytes = new Uint8Array(this.data);
    this.view = new DataView(this.data);
    this.meta32 = new Int32Array(this.meta);
    this.meta16 = new Uint16Array(this.meta);
    this.shared = shared?.free ? new Int32Array(shared.free) : null;
    if (this.shared) {
      this.freeStack = new Int32Array(kCacheMax);
    } else {
      this.freeStack = new Int32Array(shape.slots);
      for (let i = shape.slots - 1; i >= 0; i--) this.freeStack[this.freeTop++] = i;
    }
  }

  private lock(): void {
    const a = this.shared!;
    while (Atomics.compareExchange(a, 0, 0, 1) !== 0);
  }

  private unlock(): void {
    Atomics.store(this.shared!, 0, 0);
  }

  /** Move up to kCacheBulk slots from the shared stack into the cache; how many came. */
  private refill(): number {
    const a = this.shared!;
    this.lock();
    const top = a[1];
    const n = top < kCacheBulk ? top : kCacheBulk;
    for (let i = 0; i < n; i++) this.freeStack[this.freeTop++] = a[2 + top - 1 - i];
    a[1] = top - n;
    this.unlock();
    return n;
  }

  /** Move kCacheBulk slots from the cache to the shared stack. */
  private spill(): void {
    const a = this.shared!;
    this.lock();
    let top = a[1];
    for (let i = 0; i < kCacheBulk; i++) a[2 + top++] = this.freeStack[--this.freeTop];
    a[1] = top;
    this.unlock();
  }

  /** Give every cached slot back to the shared stack (a worker stopping). */
  flushCache(): void {
    if (!this.shared) return;
    const a = this.shared;
    this.lock();
    let top = a[1];
    while (this.freeTop > 0) a[2 + top++] = this.freeStack[--this.freeTop];
    a[1] = top;
    this.unlock();
  }

  /** Byte offset of slot s in `bytes`/`view`. */
  slotBase(slot: number): number {
    return slot * this.slotSize;
  }

  /** Byte offset of the first frame byte of slot s. */
  frameStart(slot: number): number {
    return slot * this.slotSize + this.meta32[(slot << Meta.shift) + Meta.off];
  }

  /** Take a free slot, reset to an empty frame at the headroom; -1 when exhausted (caller counts `no-buffer`). */
  alloc(): number {
    if (this.freeTop === 0 && (this.shared === null || this.refill() === 0)) return -1;
    const s = this.freeStack[--this.freeTop];
    const m = this.meta32;
    const b = s << Meta.shift;
    m[b + Meta.off] = kHeadroom;
    m[b + Meta.len] = 0;
    m[b + Meta.refs] = 0;
    m[b + Meta.vid] = 0;
    m[b + Meta.pcp] = 0;
    m[b + Meta.aux] = 0;
    m[b + Meta.oflags] = 0;
    m[b + Meta.gsoType] = 0;
    m[b + Meta.hdr] = 0;
    return s;
  }

  /** Return a slot to the free list. */
  free(slot: number): void {
    if (this.shared !== null && this.freeTop === kCacheMax) this.spill();
    this.freeStack[this.freeTop++] = slot;
  }

  /** Drop one egress reference; frees the slot when none remain. */
  release(slot: number): void {
    if (--this.meta32[(slot << Meta.shift) + Meta.refs] <= 0) this.free(slot);
  }

  /** Free slots this view can hand out now (its cache plus, for a shared pool, the shared stack). */
  get available(): number {
    return this.freeTop + (this.shared ? Atomics.load(this.shared, 1) : 0);
  }

  /** Copy `src` into a fresh slot (control path and tests); -1 when the pool is exhausted or it does not fit. */
  load(src: Uint8Array, port = 0): number {
    if (src.length > this.maxFrame) return -1;
    const s = this.alloc();
    if (s < 0) return -1;
    this.bytes.set(src, s * this.slotSize + kHeadroom);
    this.meta32[(s << Meta.shift) + Meta.len] = src.length;
    this.meta32[(s << Meta.shift) + Meta.port] = port;
    return s;
  }

  /** Copy a slot's frame out (control path and tests only: allocates). */
  copyOut(slot: number): Uint8Array {
    const start = this.frameStart(slot);
    return this.bytes.slice(start, start + this.meta32[(slot << Meta.shift) + Meta.len]);
  }
}
