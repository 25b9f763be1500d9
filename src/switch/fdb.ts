/**
 * The MAC table (FDB): (VLAN, MAC) -> port, with learning, aging, moves, static entries and a size limit.
 *
 * Layout: an open-addressing hash with linear probing in typed arrays (SharedArrayBuffer-backed so other
 * threads can read it later), keyed by two 32-bit words because 12+48 = 60 key bits do not fit a JS
 * number's exact integer range, and BigInt or string keys would allocate per packet:
 *
 *   keyHi = vid << 16 | mac[0..1]      (never 0 for a valid entry since vid >= 1, so 0 marks "empty")
 *   keyLo = mac[2..5]
 *
 * Capacity is the next power of two >= 2 x the maximum entry count, so the load factor stays <= 0.5 and
 * probe chains stay short. Deletion uses backward-shift (no tombstones), so lookups never slow down after
 * churn.
 *
 * Writers: with one datapath worker, that worker alone. With N workers (one table shared by all, `sab`
 * from `Fdb.shared`) every structural change (an insert, a move, a delete, a sweep) takes one spin lock in
 * the header, and the hot path stays lock-free: a lookup or a refresh of a known address (the common case,
 * one store of `seen`) never locks; `learn` locks only when it must insert or move, then probes again under
 * the lock. A lookup racing a backward-shift delete can miss an entry that exists: the frame floods once,
 * as it would for an unknown address, which the switch already tolerates. Counters of learned/moved/...
 * are per view (summed by the control plane), written in place into the worker's counter block once
 * `countInto` gave it one; the entry count is shared (header word 1) and copied to the block on change.
 */
import { declareSwitchCounters, kSwitchSlots } from '../dataplane/counters.js';

/** The MAC table's rows in the counter block (dataplane/counters.ts). */
export const fdbCounters = declareSwitchCounters('fdb', [
  [0, 'fdbEntries', 'MAC table entries now'],
  [1, 'fdbLearned', 'MAC addresses learned'],
  [2, 'fdbAged', 'entries removed by aging'],
  [3, 'fdbMoved', 'MAC moves (address seen on another port)'],
  [4, 'fdbRefused', 'addresses not learned because the table was full'],
  [5, 'fdbFlushed', 'entries removed by flush or link down'],
] as const);
const kEntries = fdbCounters.fdbEntries;
const kLearned = fdbCounters.fdbLearned;
const kAged = fdbCounters.fdbAged;
const kMoved = fdbCounters.fdbMoved;
const kRefused = fdbCounters.fdbRefused;
const kFlushed = fdbCounters.fdbFlushed;
export const kNoPort = -1;
export const kDefaultMaxEntries = 8192;
export const kDefaultAgingSeconds = 300;


/** Bytes of the shared header: [0] lock, [1] entry count, on their own line. */
const kHeader = 64;

export class Fdb {
  readonly maxEntries: number;
  readonly capacity: number;
  private readonly mask: number;
  readonly keyHi: Int32Array;
  readonly keyLo: Int32Array;
  readonly port: Int16Array;
  readonly seen: Int32Array; // clock seconds when last refreshed
  readonly isStatic: Uint8Array;
  /** [0] lock (shared tables only), [1] entry count. */
  private readonly hdr: Int32Array;
  /** True when other threads write this table too (take the lock for structural changes). */
  readonly sharedTable: boolean;
  /** The whole table (header + arrays), to hand to another thread's `new Fdb(n, sab)`. */
  readonly sab: SharedArrayBuffer;
  /** Where the counters live: a block of the table's own until `countInto` names the worker's. */
  private c: Float64Array = new Float64Array(kSwitchSlots);

  /** Table for N workers: `sab` made by one `new Fdb(n).sab` and shared; every view passes the same n. */
  constructor(maxEntries = kDefaultMaxEntries, sab?: SharedArrayBuffer) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 20)
      throw new RangeError(`MAC table size must be an integer from 1 to 1048576, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    let cap = 16;
    while (cap < maxEntries * 2) cap <<= 1;
    this.capacity = cap;
    this.mask = cap - 1;
    this.sharedTable = sab !== undefined;
    this.sab = sab ?? new SharedArrayBuffer(kHeader + cap * (4 + 4 + 2 + 4 + 1));
    this.hdr = new Int32Array(this.sab, 0, 2);
    this.keyHi = new Int32Array(this.sab, kHeader, cap);
    this.keyLo = new Int32Array(this.sab, kHeader + cap * 4, cap);
    this.seen = new Int32Array(this.sab, kHeader + cap * 8, cap);
    this.port = new Int16Array(this.sab, kHeader + cap * 12, cap);
    this.isStatic = new Uint8Array(this.sab, kHeader + cap * 14, cap);
  }

  /** Entries in the table (all views). */
  get count(): number {
    return this.hdr[1];
  }

  /** Count into `c` (a worker's counter block) from now on, carrying over what was counted so far. */
  countInto(c: Float64Array): void {
    for (const i of [kLearned, kAged, kMoved, kRefused, kFlushed]) c[i] = this.c[i]!;
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
   * Learn that (hi, lo) was seen on `port` at time `now` (seconds). Returns nothing; counts learned,
   * moved and refused. Static entries never move.
   */
  learn(hi: number, lo: number, port: number, now: number): void {
    lo |= 0;
    const f = this.find(hi, lo);
    if (f >= 0 && this.port[f] === port) {
      // the common case: a refresh, no lock; written only when the second changed, so workers refreshing
      // the same entry do not bounce its cache line on every frame
      if (this.seen[f] !== now) this.seen[f] = now;
      return;
    }
    this.lock();
    this.learnLocked(hi, lo, port, now);
    this.unlock();
  }

  private learnLocked(hi: number, lo: number, port: number, now: number): void {
    const { keyHi, keyLo, mask } = this;
    let i = this.home(hi, lo);
    for (;;) {
      const k = keyHi[i];
      if (k === 0) break;
      if (k === hi && keyLo[i] === lo) {
        if (this.port[i] !== port) {
          if (this.isStatic[i] !== 0) return;
          this.port[i] = port;
          this.c[kMoved]++;
        }
        this.seen[i] = now;
        return;
      }
      i = (i + 1) & mask;
    }
    if (this.hdr[1] >= this.maxEntries) {
      this.c[kRefused]++;
      return;
    }
    keyLo[i] = lo;
    this.port[i] = port;
    this.seen[i] = now;
    this.isStatic[i] = 0;
    keyHi[i] = hi; // written last: marks the entry present
    this.c[kEntries] = ++this.hdr[1];
    this.c[kLearned]++;
  }

  /** Add or replace a static entry; false when the table is full. */
  addStatic(hi: number, lo: number, port: number): boolean {
    lo |= 0;
    this.lock();
    let i = this.find(hi, lo);
    if (i < 0) {
      if (this.hdr[1] >= this.maxEntries) {
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
    }
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

  /** Control path: every entry. */
  entries(now: number): Array<{ vid: number; hi: number; lo: number; port: number; static: boolean; age: number }> {
    const out = [];
    for (let i = 0; i < this.capacity; i++) {
      const hi = this.keyHi[i];
      if (hi === 0) continue;
      out.push({ vid: hi >>> 16, hi: hi & 0xffff, lo: this.keyLo[i] >>> 0, port: this.port[i], static: this.isStatic[i] !== 0, age: this.isStatic[i] ? 0 : now - this.seen[i] });
    }
    return out;
  }
}
