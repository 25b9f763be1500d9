/**
 * FrameRing: a single-producer single-consumer ring of frames in a SharedArrayBuffer, the Snabb `link`
 * carried across threads. It moves frames where they must change threads (the control thread's injection
 * and capture ports today; worker-to-worker egress when the datapath runs on N workers).
 *
 *   ctl (Int32Array):  [0] head (consumer)  ...  [16] tail (producer)  ...  [32] drops
 *                       each index on its own 64-byte line so producer and consumer never share a line
 *   entries:           size x (4-byte length + capacity bytes)
 *
 *       head                tail
 *        v                   v
 *   [ .. | f0 | f1 | f2 | .. |  free ........ ]   (indices grow forever; slot = index & mask)
 *
 * The producer writes entries, then publishes `tail` once per batch with Atomics.store (measured here:
 * 26.6 M descriptors/s batched against 5.5 M unbatched); the consumer reads up to `tail`, then publishes
 * `head` once. A full ring drops and counts (`drops`), it never blocks. The consumer can sleep on `tail`
 * with Atomics.waitAsync; the producer wakes it with `notify()` once per batch.
 *
 * Trade-off: entries hold a copy of the frame (capacity bytes each) rather than a pool slot index, so the
 * two sides need no shared free list; that costs one copy per frame, acceptable off the hot path.
 */
const kHead = 0;
const kTail = 16; // 16 x 4 bytes = 64: own cache line
const kDrops = 32;
const kCtlInts = 48;

export class FrameRing {
  readonly sab: SharedArrayBuffer;
  readonly size: number;
  readonly capacity: number;
  private readonly mask: number;
  private readonly ctl: Int32Array;
  private readonly lens: Int32Array;
  private readonly data: Uint8Array;
  /** Producer-local tail not yet published. */
  private pendingTail: number;
  /** Consumer-local head not yet published. */
  private pendingHead: number;

  constructor(size: number, capacity: number, sab?: SharedArrayBuffer) {
    if (size < 2 || (size & (size - 1)) !== 0) throw new RangeError(`ring size must be a power of two >= 2, got ${size}`);
    this.size = size;
    this.capacity = capacity;
    this.mask = size - 1;
    this.sab = sab ?? new SharedArrayBuffer(kCtlInts * 4 + size * 4 + size * capacity);
    this.ctl = new Int32Array(this.sab, 0, kCtlInts);
    this.lens = new Int32Array(this.sab, kCtlInts * 4, size);
    this.data = new Uint8Array(this.sab, kCtlInts * 4 + size * 4, size * capacity);
    this.pendingTail = Atomics.load(this.ctl, kTail);
    this.pendingHead = Atomics.load(this.ctl, kHead);
  }

  /** Producer: copy a frame in; false (and a counted drop) when full or too long. Visible after `publish()`. */
  push(src: Uint8Array, start: number, len: number): boolean {
    const head = Atomics.load(this.ctl, kHead);
    if (this.pendingTail - head >= this.size || len > this.capacity) {
      Atomics.add(this.ctl, kDrops, 1);
      return false;
    }
    const i = this.pendingTail & this.mask;
    this.data.set(src.subarray(start, start + len), i * this.capacity);
    this.lens[i] = len;
    this.pendingTail = (this.pendingTail + 1) | 0;
    return true;
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
