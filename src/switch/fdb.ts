/**
 * The MAC table (FDB): (VLAN, MAC) -> port, with learning, aging, moves, static entries and a size limit.
 *
 * Layout: an open-addressing hash with linear probing in typed arrays (SharedArrayBuffer-backed: the
 * workers of a switch share one table, writes under a lock), keyed by two 32-bit words because 12+48 = 60
 * key bits do not fit a JS number's exact integer range, and BigInt or string keys would allocate per packet:
 *
 *   keyHi = vid << 16 | mac[0..1]      (never 0 for a valid entry since vid >= 1, so 0 marks "empty")
 *   keyLo = mac[2..5]
 *
 * Design notes: README.md in this folder, section "fdb.ts".
 */
import { declareSwitchCounters, kMaxPorts, kSwitchSlots } from '../dataplane/counters.js';

/** The MAC table's rows in the counter block (dataplane/counters.ts). */
export const fdbCounters = declareSwitchCounters('fdb', [
  [0, 'fdbEntries', 'MAC table entries now'],
  [1, 'fdbLearned', 'MAC addresses learned'],
  [2, 'fdbAged', 'entries removed by aging'],
  [3, 'fdbMoved', 'MAC moves (address seen on another port)'],
  [4, 'fdbRefused', 'addresses not learned because the table was full of static entries'],
  [5, 'fdbFlushed', 'entries removed by flush or link down'],
  [12, 'fdbEvicted', 'least recently seen entries removed to make room in a full table'],
] as const);
const kEntries = fdbCounters.fdbEntries;
const kLearned = fdbCounters.fdbLearned;
const kAged = fdbCounters.fdbAged;
const kMoved = fdbCounters.fdbMoved;
const kRefused = fdbCounters.fdbRefused;
const kFlushed = fdbCounters.fdbFlushed;
const kEvicted = fdbCounters.fdbEvicted;
export const kNoPort = -1;
export const kDefaultMaxEntries = 8192;
export const kDefaultAgingSeconds = 300;

/** Bytes of the shared header: [0] lock, [1] entry count, on their own line; then per port the dynamic
 *  entries it owns and its limit (kMaxPorts each). */
const kHeader = 64;
const kPortWords = kHeader + kMaxPorts * 8;
/** Eviction candidates one scan collects: a scan costs one pass over the table, so a full table under a
 *  flood of new addresses pays about capacity/128 reads per eviction instead of a whole pass each. */
const kCandidates = 256;
/** learn(): the port already owns its limit of dynamic entries; the address is not learned. */
export const kLearnLimited = 1;

export class Fdb {
  // Not readonly: adopt() points a running view at a rebuilt table (a resize) between two breaths.
  maxEntries!: number;
  capacity!: number;
  private mask!: number;
  keyHi!: Int32Array;
  keyLo!: Int32Array;
  port!: Int16Array;
  seen!: Int32Array; // clock seconds when last refreshed
  isStatic!: Uint8Array;
  /** [0] lock (shared tables only), [1] entry count. */
  private hdr!: Int32Array;
  /** Per port: dynamic entries it owns now, and its limit (0 = none). */
  portMacs!: Int32Array;
  private limit!: Int32Array;
  /** True when other threads write this table too (take the lock for structural changes). */
  sharedTable!: boolean;
  /** The whole table (header + arrays), to hand to another thread's `new Fdb(n, sab)`. */
  sab!: SharedArrayBuffer;
  /** Where the counters live: a block of the table's own until `countInto` names the worker's. */
  private c: Float64Array = new Float64Array(kSwitchSlots);
  /** Eviction candidates of this view (keys and the `seen` they had), used from candNext to candCount. */
  private readonly candHi = new Int32Array(kCandidates);
  private readonly candLo = new Int32Array(kCandidates);
  private readonly candSeen = new Int32Array(kCandidates);
  private candNext = 0;
  private candCount = 0;
  /** Where the candidate scan goes on, and its step (odd, about 0.618 x capacity): the scan visits the
   *  slots in a spread-out order, so evictions among equally old entries are spread over the table. Taken
   *  in slot order they would empty one end and pack the other into one long probe chain (measured: a
   *  single cluster of ~8000 entries and 20 us per learn under a flood). */
  private scanAt = 0;
  private scanStep = 1;

  /** Table for N workers: `sab` made by one `new Fdb(n).sab` and shared; every view passes the same n. */
  constructor(maxEntries = kDefaultMaxEntries, sab?: SharedArrayBuffer) {
    this.adopt(maxEntries, sab);
  }

  /**
   * Point this view at a table of `maxEntries` (`sab` shared by another thread, or a new one). Used once by
   * the constructor, and by a worker between two breaths when the control thread has rebuilt the shared
   * table at another size (a resize): lookups racing it on other workers still read the old buffer, whole.
   */
  adopt(maxEntries: number, sab?: SharedArrayBuffer): void {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 20)
      throw new RangeError(`MAC table size must be an integer from 1 to 1048576, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    let cap = 16;
    while (cap < maxEntries * 2) cap <<= 1;
    this.capacity = cap;
    this.mask = cap - 1;
    this.sharedTable = sab !== undefined;
    this.sab = sab ?? new SharedArrayBuffer(kPortWords + cap * (4 + 4 + 2 + 4 + 1));
    this.hdr = new Int32Array(this.sab, 0, 2);
    this.portMacs = new Int32Array(this.sab, kHeader, kMaxPorts);
    this.limit = new Int32Array(this.sab, kHeader + kMaxPorts * 4, kMaxPorts);
    this.keyHi = new Int32Array(this.sab, kPortWords, cap);
    this.keyLo = new Int32Array(this.sab, kPortWords + cap * 4, cap);
    this.seen = new Int32Array(this.sab, kPortWords + cap * 8, cap);
    this.port = new Int16Array(this.sab, kPortWords + cap * 12, cap);
    this.isStatic = new Uint8Array(this.sab, kPortWords + cap * 14, cap);
    this.candNext = this.candCount = 0;
    this.scanAt = 0;
    this.scanStep = Math.floor(cap * 0.618) | 1;
    this.c[kEntries] = this.hdr[1]!;
  }

  /** Port security: at most `n` dynamic entries on `port` (0 = no limit). Entries it has stay. */
  setLimit(port: number, n: number): void {
    Atomics.store(this.limit, port, n);
  }

  limitOf(port: number): number {
    return this.limit[port];
  }

  /** Entries in the table (all views). */
  get count(): number {
    return this.hdr[1];
  }

  /** Count into `c` (a worker's counter block) from now on, carrying over what was counted so far. */
  countInto(c: Float64Array): void {
    for (const i of [kLearned, kAged, kMoved, kRefused, kFlushed, kEvicted]) c[i] = this.c[i]!;
    c[kEntries] = this.hdr[1]!;
    this.c = c;
  }

  get learned(): number {
    return this.c[kLearned]!;
  }
  get aged(): number {
    return this.c[kAged]!;
  }
  get moved(): number {
    return this.c[kMoved]!;
  }
  get refused(): number {
    return this.c[kRefused]!;
  }
  get flushed(): number {
    return this.c[kFlushed]!;
  }
  get evicted(): number {
    return this.c[kEvicted]!;
  }

  private lock(): void {
    if (this.sharedTable) while (Atomics.compareExchange(this.hdr, 0, 0, 1) !== 0);
  }

  private unlock(): void {
    if (this.sharedTable) Atomics.store(this.hdr, 0, 0);
  }

  private home(hi: number, lo: number): number {
    let h = Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Index of the entry for (hi, lo), or -1. */
  find(hi: number, lo: number): number {
    lo |= 0; // keys are stored as signed 32-bit words
    const { keyHi, keyLo, mask } = this;
    let i = this.home(hi, lo);
    for (;;) {
      const k = keyHi[i];
      if (k === 0) return -1;
      if (k === hi && keyLo[i] === lo) return i;
      i = (i + 1) & mask;
    }
  }

  /** Port for (hi, lo) or kNoPort. */
  lookup(hi: number, lo: number): number {
    const i = this.find(hi, lo);
    return i < 0 ? kNoPort : this.port[i];
  }

  /**
   * Learn that (hi, lo) was seen on `port` at time `now` (seconds). Counts learned, moved, evicted and
   * refused; returns kLearnLimited when the port is at its limit (the caller counts that per port), else 0.
   * Static entries never move.
   */
  learn(hi: number, lo: number, port: number, now: number): number {
    lo |= 0;
    const f = this.find(hi, lo);
    if (f >= 0 && this.port[f] === port) {
      // the common case: a refresh, no lock; written only when the second changed, so workers refreshing
      // the same entry do not bounce its cache line on every frame
      if (this.seen[f] !== now) this.seen[f] = now;
      return 0;
    }
    // a port at its limit flooding new addresses is refused without the lock (checked again under it)
    const lim = this.limit[port];
    if (lim !== 0 && f < 0 && this.portMacs[port] >= lim) return kLearnLimited;
    this.lock();
    const r = this.learnLocked(hi, lo, port, now);
    this.unlock();
    return r;
  }

  private learnLocked(hi: number, lo: number, port: number, now: number): number {
    const { keyHi, keyLo, mask } = this;
    const lim = this.limit[port];
    let i = this.home(hi, lo);
    for (;;) {
      const k = keyHi[i];
      if (k === 0) break;
      if (k === hi && keyLo[i] === lo) {
        const from = this.port[i];
        if (from !== port) {
          if (this.isStatic[i] !== 0) return 0;
          if (lim !== 0 && this.portMacs[port] >= lim) return kLearnLimited;
          this.port[i] = port;
          this.portMacs[from]--;
          this.portMacs[port]++;
          this.c[kMoved]++;
        }
        this.seen[i] = now;
        return 0;
      }
      i = (i + 1) & mask;
    }
    if (lim !== 0 && this.portMacs[port] >= lim) return kLearnLimited;
    if (this.hdr[1] >= this.maxEntries) {
      if (!this.evictOldest()) {
        this.c[kRefused]++; // every entry is static
        return 0;
      }
      i = this.home(hi, lo); // the deletion shifted entries: find the free slot again
      while (keyHi[i] !== 0) i = (i + 1) & mask;
    }
    keyLo[i] = lo;
    this.port[i] = port;
    this.seen[i] = now;
    this.isStatic[i] = 0;
    keyHi[i] = hi; // written last: marks the entry present
    this.c[kEntries] = ++this.hdr[1];
    this.portMacs[port]++;
    this.c[kLearned]++;
    return 0;
  }

  /** Under the lock: delete the least recently seen dynamic entry; false when there is none. */
  private evictOldest(): boolean {
    for (;;) {
      while (this.candNext < this.candCount) {
        const c = this.candNext++;
        const i = this.find(this.candHi[c], this.candLo[c]);
        // still there, still dynamic, not refreshed since the scan: still among the oldest
        if (i >= 0 && this.isStatic[i] === 0 && this.seen[i] === this.candSeen[c]) {
          this.deleteAt(i);
          this.c[kEvicted]++;
          return true;
        }
      }
      if (!this.collectOldest()) return false;
    }
  }

  /** Two passes: the oldest `seen` of any dynamic entry, then up to kCandidates entries that old. */
  private collectOldest(): boolean {
    const { keyHi, isStatic, seen, capacity } = this;
    let oldest = 0;
    let any = false;
    for (let i = 0; i < capacity; i++)
      if (keyHi[i] !== 0 && isStatic[i] === 0 && (!any || seen[i] < oldest)) {
        oldest = seen[i];
        any = true;
      }
    this.candNext = this.candCount = 0;
    if (!any) return false;
    const { mask, scanStep } = this;
    let i = this.scanAt;
    for (let n = 0; n < capacity && this.candCount < kCandidates; n++, i = (i + scanStep) & mask)
      if (keyHi[i] !== 0 && isStatic[i] === 0 && seen[i] === oldest) {
        const c = this.candCount++;
        this.candHi[c] = keyHi[i];
        this.candLo[c] = this.keyLo[i];
        this.candSeen[c] = oldest;
      }
    this.scanAt = i;
    return true;
  }

  /** Add or replace a static entry, evicting the oldest dynamic one if the table is full; false when
   *  every entry is static. */
  addStatic(hi: number, lo: number, port: number): boolean {
    lo |= 0;
    this.lock();
    let i = this.find(hi, lo);
    if (i < 0) {
      if (this.hdr[1] >= this.maxEntries && !this.evictOldest()) {
        this.unlock();
        return false;
      }
      i = this.home(hi, lo);
      while (this.keyHi[i] !== 0) i = (i + 1) & this.mask;
      this.keyLo[i] = lo;
      this.port[i] = port;
      this.isStatic[i] = 1;
      this.seen[i] = 0;
      this.keyHi[i] = hi;
      this.c[kEntries] = ++this.hdr[1];
    } else if (this.isStatic[i] === 0) this.portMacs[this.port[i]]--;
    this.port[i] = port;
    this.isStatic[i] = 1;
    this.seen[i] = 0;
    this.unlock();
    return true;
  }

  /** Remove the entry for (hi, lo); true if there was one. */
  remove(hi: number, lo: number): boolean {
    this.lock();
    const i = this.find(hi, lo);
    if (i >= 0) this.deleteAt(i);
    this.unlock();
    return i >= 0;
  }

  /** Backward-shift deletion: pull later members of the probe chain into the hole. */
  private deleteAt(hole: number): void {
    const { keyHi, keyLo, mask } = this;
    if (this.isStatic[hole] === 0) this.portMacs[this.port[hole]]--;
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      if (keyHi[j] === 0) break;
      const k = this.home(keyHi[j], keyLo[j]);
      // k cyclically in (i, j] means the entry at j may stay where it is
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      keyHi[i] = keyHi[j];
      keyLo[i] = keyLo[j];
      this.port[i] = this.port[j];
      this.seen[i] = this.seen[j];
      this.isStatic[i] = this.isStatic[j];
      i = j;
    }
    keyHi[i] = 0;
    this.c[kEntries] = --this.hdr[1];
  }

  /**
   * Remove entries matching a predicate over (port, static); returns how many. Used by aging, flush and
   * link-down. A deletion can shift a later entry into the current index, so the index is re-examined.
   */
  private sweep(match: (i: number) => boolean): number {
    let removed = 0;
    this.lock();
    for (let i = 0; i < this.capacity; ) {
      if (this.keyHi[i] !== 0 && match(i)) {
        this.deleteAt(i);
        removed++;
      } else i++;
    }
    this.unlock();
    return removed;
  }

  /** Age out dynamic entries not refreshed for `agingSeconds` (0 disables aging). */
  age(now: number, agingSeconds: number): number {
    if (agingSeconds <= 0) return 0;
    const n = this.sweep((i) => this.isStatic[i] === 0 && now - this.seen[i] >= agingSeconds);
    this.c[kAged] += n;
    return n;
  }

  /** Flush dynamic entries (of one port, or all with port < 0); static entries stay unless `includeStatic`. */
  flush(port = -1, includeStatic = false): number {
    const n = this.sweep((i) => (port < 0 || this.port[i] === port) && (includeStatic || this.isStatic[i] === 0));
    this.c[kFlushed] += n;
    return n;
  }

  /**
   * Control path: a new table of `maxEntries` holding this one's entries and port limits, for a resize of a
   * running switch. Copied under this table's lock (workers keep looking up lock-free meanwhile); static
   * entries first, then learned ones newest first, so a smaller table keeps the statics and the most
   * recently seen. Returns it and how many learned entries did not fit. Workers then adopt() it between two
   * breaths; what they learn in the old table until then is learned again from the next frame.
   */
  resized(maxEntries: number): { table: Fdb; dropped: number } {
    const next = new Fdb(maxEntries);
    while (Atomics.compareExchange(this.hdr, 0, 0, 1) !== 0); // this view may be an unlocked one
    try {
      const order: number[] = [];
      for (let i = 0; i < this.capacity; i++) if (this.keyHi[i] !== 0) order.push(i);
      order.sort((a, b) => this.isStatic[b] - this.isStatic[a] || this.seen[b] - this.seen[a]);
      let dropped = 0;
      for (const i of order) {
        if (next.count >= maxEntries) {
          dropped++;
          continue;
        }
        if (this.isStatic[i] !== 0) next.addStatic(this.keyHi[i], this.keyLo[i], this.port[i]);
        else next.learn(this.keyHi[i], this.keyLo[i], this.port[i], this.seen[i]);
      }
      next.limit.set(this.limit);
      next.c[kLearned] = 0; // copies, not learning
      return { table: next, dropped };
    } finally {
      Atomics.store(this.hdr, 0, 0);
    }
  }

  /** Control path: every entry. */
  entries(now: number): Array<{ vid: number; hi: number; lo: number; port: number; static: boolean; age: number }> {
    const out = [];
    for (let i = 0; i < this.capacity; i++) {
      const hi = this.keyHi[i];
      if (hi === 0) continue;
      out.push({
        vid: hi >>> 16,
        hi: hi & 0xffff,
        lo: this.keyLo[i] >>> 0,
        port: this.port[i],
        static: this.isStatic[i] !== 0,
        age: this.isStatic[i] ? 0 : now - this.seen[i],
      });
    }
    return out;
  }
}
