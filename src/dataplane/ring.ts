/**
 * FrameRing: a single-producer single-consumer ring of frames in a SharedArrayBuffer, the Snabb `link`
 * carried across threads. It copies frames to a thread that has no access to the packet pool: packet
 * capture, from a datapath worker to the control thread (between workers only slot indices move:
 * slot-ring.ts).
 *
 *   ctl (Int32Array):  [0] head (consumer)  ...  [16] tail (producer)  ...  [32] drops
 *                       each index on its own 64-byte line so producer and consumer never share a line
 *   lens (Int32Array): size x 4-byte length
 *   meta (Int32Array): size x metaInts words (optional, 0 by default: the layout is then unchanged)
 *   data:              size x capacity bytes
 *
 * Design notes: README.md in this folder, section "ring.ts".
 */
const kHead = 0;
const kTail = 16; // 16 x 4 bytes = 64: own cache line
const kDrops = 32;
const kCtlInts = 48;
/** Frames up to this many bytes copy as words (no allocation); longer ones take one bulk copy: the measured
 *  costs (README.md, "ring.ts") cross near 200 bytes, and 192 keeps a little on the side of the allocation-free path. */
const kWordCopyMax = 192;

export class FrameRing {
  readonly sab: SharedArrayBuffer;
  readonly size: number;
  readonly capacity: number;
  /** Metadata words per entry (0: none). */
  readonly metaInts: number;
  private readonly mask: number;
  private readonly ctl: Int32Array;
  private readonly lens: Int32Array;
  private readonly meta: Int32Array;
  private readonly data: Uint8Array;
  /** Word view of `data` when entries start on 4-byte boundaries (capacity % 4 === 0), else null. */
  private readonly data32: Int32Array | null;
  /** The last source buffer pushed from and its cached word view (null: not 4-byte aligned). */
  private src8: Uint8Array | null = null;
  private src32: Int32Array | null = null;
  /** Producer-local tail not yet published. */
  private pendingTail: number;
  /** Consumer-local head not yet published. */
  private pendingHead: number;

  /** Bytes of shared memory a ring of this shape needs. */
  static byteLength(size: number, capacity: number, metaInts = 0): number {
    return kCtlInts * 4 + size * 4 + size * metaInts * 4 + size * capacity;
  }

  constructor(size: number, capacity: number, sab?: SharedArrayBuffer, metaInts = 0) {
    if (size < 2 || (size & (size - 1)) !== 0)
      throw new RangeError(`ring size must be a power of two >= 2, got ${size}`);
    if (!Number.isInteger(metaInts) || metaInts < 0)
      throw new RangeError(`ring metaInts must be an integer >= 0, got ${metaInts}`);
    this.size = size;
    this.capacity = capacity;
    this.metaInts = metaInts;
    this.mask = size - 1;
    this.sab = sab ?? new SharedArrayBuffer(FrameRing.byteLength(size, capacity, metaInts));
    if (this.sab.byteLength < FrameRing.byteLength(size, capacity, metaInts))
      throw new RangeError('ring buffer is smaller than its shape needs');
    const metaAt = kCtlInts * 4 + size * 4;
    const dataAt = metaAt + size * metaInts * 4; // a multiple of 4: the word view below is legal
    this.ctl = new Int32Array(this.sab, 0, kCtlInts);
    this.lens = new Int32Array(this.sab, kCtlInts * 4, size);
    this.meta = new Int32Array(this.sab, metaAt, size * metaInts);
    this.data = new Uint8Array(this.sab, dataAt, size * capacity);
    this.data32 = capacity % 4 === 0 ? new Int32Array(this.sab, dataAt, (size * capacity) >> 2) : null;
    this.pendingTail = Atomics.load(this.ctl, kTail);
    this.pendingHead = Atomics.load(this.ctl, kHead);
  }

  /** Producer: copy a frame in; false (and a counted drop) when full or too long. Visible after `publish()`. */
  push(src: Uint8Array, start: number, len: number): boolean {
    const head = Atomics.load(this.ctl, kHead);
    // indices are int32 and wrap: the fill level is their difference taken modulo 2^32
    if (((this.pendingTail - head) | 0) >= this.size || len > this.capacity) {
      Atomics.add(this.ctl, kDrops, 1);
      return false;
    }
    const i = this.pendingTail & this.mask;
    const at = i * this.capacity;
    if (len <= kWordCopyMax && this.data32 !== null && (start & 3) === 0) {
      if (src !== this.src8) this.cacheSource(src);
      const s32 = this.src32;
      if (s32 !== null) {
        const d32 = this.data32;
        const words = len >> 2;
        const si = start >> 2;
        const di = at >> 2;
        for (let k = 0; k < words; k++) d32[di + k] = s32[si + k];
        const data = this.data;
        for (let k = words << 2; k < len; k++) data[at + k] = src[start + k];
      } else this.data.set(src.subarray(start, start + len), at);
    } else this.data.set(src.subarray(start, start + len), at);
    this.lens[i] = len;
    this.pendingTail = (this.pendingTail + 1) | 0;
    return true;
  }

  /** A word view of a new source buffer, made once and reused while the producer keeps pushing from it. */
  private cacheSource(src: Uint8Array): void {
    this.src8 = src;
    this.src32 = (src.byteOffset & 3) === 0 ? new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2) : null;
  }

  /** Producer: set metadata word k of the entry the last successful push filled. */
  setMeta(k: number, value: number): void {
    this.meta[((this.pendingTail - 1) & this.mask) * this.metaInts + k] = value;
  }

  /** Consumer: metadata word k of the entry the last successful pop returned. */
  getMeta(k: number): number {
    return this.meta[((this.pendingHead - 1) & this.mask) * this.metaInts + k];
  }

  /** Producer: make pushed frames visible and wake a sleeping consumer. */
  publish(): void {
    Atomics.store(this.ctl, kTail, this.pendingTail);
    Atomics.notify(this.ctl, kTail);
  }

  /** Consumer: frames available. */
  available(): number {
    return (Atomics.load(this.ctl, kTail) - this.pendingHead) | 0;
  }

  /** Consumer: copy the oldest frame into dst at off; returns its length, or -1 if empty. */
  pop(dst: Uint8Array, off: number): number {
    if (Atomics.load(this.ctl, kTail) === this.pendingHead) return -1;
    const i = this.pendingHead & this.mask;
    const len = this.lens[i];
    dst.set(this.data.subarray(i * this.capacity, i * this.capacity + len), off);
    this.pendingHead = (this.pendingHead + 1) | 0;
    return len;
  }

  /** Consumer: release consumed entries to the producer. */
  release(): void {
    Atomics.store(this.ctl, kHead, this.pendingHead);
  }

  get drops(): number {
    return Atomics.load(this.ctl, kDrops);
  }

  /** Consumer: resolve when the producer publishes past `seen` (or after timeoutMs). */
  waitAsync(timeoutMs: number): Promise<unknown> | null {
    const tail = Atomics.load(this.ctl, kTail);
    if (tail !== this.pendingHead) return null;
    const r = Atomics.waitAsync(this.ctl, kTail, tail, timeoutMs);
    return r.async ? r.value : null;
  }
}
