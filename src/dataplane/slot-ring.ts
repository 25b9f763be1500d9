/**
 * SlotRing: a single-producer single-consumer ring of pool slot indices, each with the receive queue it
 * was steered to, in a SharedArrayBuffer. This is how a frame read by one datapath worker reaches the
 * worker that serves its queue (queues/worker-queues.ts): the frame stays in the shared packet pool, only
 * (slot, queue) crosses threads, so a hop costs two stores and no copy (FrameRing, ring.ts, copies frames
 * for consumers that have no access to the pool).
 *
 *   Int32: [0] head (consumer)  [16] tail (producer)  [32..] (slot, queue) pairs
 *          head and tail on their own 64-byte lines, so producer and consumer never share a line
 *
 * Batching: the producer publishes `tail` once per batch; the consumer publishes `head` only after it has
 * processed what it took (`commit`), so "head passed position X" means "every frame before X is switched
 * and delivered". The queue move protocol (runtime/queue-control.ts) relies on exactly that.
 *
 * A full ring refuses the push (the caller counts `ring-full` and frees the slot); it never blocks.
 */
const kHead = 0;
const kTail = 16;
const kBase = 32;

export class SlotRing {
  readonly sab: SharedArrayBuffer;
  readonly size: number;
  private readonly mask: number;
  private readonly a: Int32Array;
  /** Producer: unpublished tail; consumer: last head read. */
  private tail = 0;
  private cachedHead = 0;
  /** Consumer: next entry to read (published at commit). */
  private head = 0;

  constructor(size = 1024, sab?: SharedArrayBuffer) {
    if (!Number.isInteger(size) || size < 2 || (size & (size - 1)) !== 0)
      throw new RangeError(`slot ring size must be a power of two >= 2, got ${size}`);
    this.size = size;
    this.mask = size - 1;
    this.sab = sab ?? new SharedArrayBuffer((kBase + 2 * size) * 4);
    this.a = new Int32Array(this.sab);
    this.tail = Atomics.load(this.a, kTail);
    this.head = Atomics.load(this.a, kHead);
    this.cachedHead = this.head;
  }

  // ---- producer ----

  /** Queue (slot, queue); false when full. Invisible to the consumer until publish(). */
  push(slot: number, queue: number): boolean {
    if (this.tail - this.cachedHead >= this.size) {
      this.cachedHead = Atomics.load(this.a, kHead);
      if (this.tail - this.cachedHead >= this.size) return false;
    }
    const i = kBase + 2 * (this.tail & this.mask);
    this.a[i] = slot;
    this.a[i + 1] = queue;
    this.tail = (this.tail + 1) | 0;
    return true;
  }

  /** Producer position (entries ever pushed, published or not). */
  get produced(): number {
    return this.tail;
  }

  /** Consumer position (entries ever taken). */
  get consumed(): number {
    return this.head;
  }

  /** Entries pushed but not yet published. */
  get unpublished(): number {
    return (this.tail - Atomics.load(this.a, kTail)) | 0;
  }

  publish(): void {
    Atomics.store(this.a, kTail, this.tail);
  }

  // ---- consumer ----

  /** Entries published and not yet taken. */
  available(): number {
    return (Atomics.load(this.a, kTail) - this.head) | 0;
  }

  /** Queue of the next entry (call only when available() > 0). */
  peekQueue(): number {
    return this.a[kBase + 2 * (this.head & this.mask) + 1];
  }

  /** Take the next entry's slot (call only when available() > 0). */
  pop(): number {
    const s = this.a[kBase + 2 * (this.head & this.mask)];
    this.head = (this.head + 1) | 0;
    return s;
  }

  /** Publish that everything taken so far has been processed. */
  commit(): void {
    Atomics.store(this.a, kHead, this.head);
  }

  // ---- any thread (the move protocol) ----

  /** Published tail position. */
  publishedTail(): number {
    return Atomics.load(this.a, kTail);
  }

  /** Published head position. */
  publishedHead(): number {
    return Atomics.load(this.a, kHead);
  }
}
