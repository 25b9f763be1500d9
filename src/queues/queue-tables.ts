/**
 * QueueTables: the shared state that says which worker switches which frame (docs/queues.md), one
 * SharedArrayBuffer per switch, written by the control thread and read by every datapath worker.
 *
 * Queues. Queue 0 is the default queue (frames no VMQ filter claims that RSS cannot hash go to the worker
 * serving it); queues 1..kMaxVmq are VMQ queues, one per port that got one; queues kRssBase..kRssBase+127
 * are the RSS indirection table's buckets. Treating each bucket as a queue means one mechanism serves
 * both: `worker[q]` says who serves queue q, and rewriting an RSS entry is moving a bucket-queue, with the
 * same no-loss, no-reorder protocol as a Dynamic VMQ move (runtime/queue-control.ts).
 *
 * Design notes: README.md in this folder, section "queue-tables.ts".
 */
import { kMaxPorts } from '../dataplane/counters.js';

export const kMaxWorkers = 64;
/** VMQ queues besides the default queue: 1..255. */
export const kMaxVmq = 255;
export const kRssBase = 256;
export const kMaxRss = 128;
/** The queue of pinned traffic (served by worker 0; held while a port's pinning changes). */
export const kPinQ = kRssBase + kMaxRss;
export const kQueueSlots = kPinQ + 1;
export const kHeld = 1 << 16;
export const kWorkerMask = 0xffff;

export const kPinned = 1;
export const kRss = 2;

const kFilterCap = 1024; // power of two, >= 2 x (kMaxVmq + 1)

// Int32 word offsets
const kEpoch = 0;
const kAnyPinned = 1;
const kRssSize = 2;
const kAck = 16;
const kDoorbell = kAck + kMaxWorkers;
const kWorker = kDoorbell + kMaxWorkers * 16; // doorbells each on their own line
const kQueueOf = kWorker + kQueueSlots;
const kFlags = kQueueOf + kMaxPorts;
const kFilter = kFlags + kMaxPorts; // kFilterCap x (hi, lo, port)
const kWords = kFilter + kFilterCap * 3;

export class QueueTables {
  readonly sab: SharedArrayBuffer;
  readonly a: Int32Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(kWords * 4);
    this.a = new Int32Array(this.sab);
    if (!sab) this.a[kRssSize] = 1;
  }

  // ---- datapath (read) ----

  /** Entry for queue q: worker | kHeld. */
  entry(q: number): number {
    return this.a[kWorker + q];
  }

  queueOf(port: number): number {
    return this.a[kQueueOf + port];
  }

  flags(port: number): number {
    return this.a[kFlags + port];
  }

  get anyPinned(): boolean {
    return this.a[kAnyPinned] !== 0;
  }

  get rssSize(): number {
    return this.a[kRssSize];
  }

  /** The port whose VMQ filter is (key = vid << 16 | mac[0..1], lo = mac[2..5]), or -1. */
  filterLookup(key: number, lo: number): number {
    const a = this.a;
    let i = hash(key, lo);
    for (;;) {
      const b = kFilter + 3 * i;
      const k = a[b];
      if (k === 0) return -1;
      if (k === key && a[b + 1] === lo) return a[b + 2];
      i = (i + 1) & (kFilterCap - 1);
    }
  }

  epoch(): number {
    return Atomics.load(this.a, kEpoch);
  }

  ack(worker: number, epoch: number): void {
    Atomics.store(this.a, kAck + worker, epoch);
  }

  /** The doorbell word index of worker w in `a` (Atomics.wait/notify target). */
  static doorbell(w: number): number {
    return kDoorbell + w * 16;
  }

  ring(w: number): void {
    Atomics.add(this.a, QueueTables.doorbell(w), 1);
    Atomics.notify(this.a, QueueTables.doorbell(w));
    QueueTables.onRing?.(this.a, QueueTables.doorbell(w));
  }

  /** Also wake a worker that sleeps on a native doorbell for the word (engine/worker.ts installs the TAP
   *  addon's `ring` in every thread that has it); null: Atomics.notify alone. */
  static onRing: ((a: Int32Array, index: number) => void) | null = null;

  // ---- control thread (write) ----

  // Every write bumps the epoch: a worker drops what it cached from the tables (WorkerQueues.steer) when it
  // sees the epoch change, before it acknowledges the new one.

  setEntry(q: number, value: number): void {
    Atomics.store(this.a, kWorker + q, value);
    this.bumpEpoch();
  }

  setQueueOf(port: number, q: number): void {
    Atomics.store(this.a, kQueueOf + port, q);
    this.bumpEpoch();
  }

  setFlags(port: number, f: number): void {
    Atomics.store(this.a, kFlags + port, f);
    let any = 0;
    for (let p = 0; p < kMaxPorts; p++) if ((this.a[kFlags + p] & kPinned) !== 0) any = 1;
    Atomics.store(this.a, kAnyPinned, any);
    this.bumpEpoch();
  }

  setRssSize(n: number): void {
    Atomics.store(this.a, kRssSize, n);
    this.bumpEpoch();
  }

  bumpEpoch(): number {
    return Atomics.add(this.a, kEpoch, 1) + 1;
  }

  acked(worker: number): number {
    return Atomics.load(this.a, kAck + worker);
  }

  /** Replace every filter: [key, lo, port] triples. Readers may miss an entry while this runs. */
  setFilters(list: ReadonlyArray<readonly [number, number, number]>): void {
    const a = this.a;
    for (let i = 0; i < kFilterCap * 3; i++) Atomics.store(a, kFilter + i, 0);
    for (const [key, lo, port] of list) {
      let i = hash(key, lo | 0);
      while (a[kFilter + 3 * i] !== 0) i = (i + 1) & (kFilterCap - 1);
      const b = kFilter + 3 * i;
      a[b + 1] = lo | 0;
      a[b + 2] = port;
      Atomics.store(a, b, key); // key last: marks the entry present
    }
    this.bumpEpoch();
  }
}

function hash(key: number, lo: number): number {
  let h = Math.imul(key ^ Math.imul(lo, 0x9e3779b1), 0x85ebca77);
  h ^= h >>> 15;
  return h & (kFilterCap - 1);
}
