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
 * Writer: exactly one thread, the datapath worker that owns the switch (learning, aging, flushes and
 * static entries requested by the control thread all run there). Readers on other threads may see an
 * entry mid-update; that is acceptable only for display, so the control plane asks the owner instead.
 */
export const kNoPort = -1;
export const kDefaultMaxEntries = 8192;
export const kDefaultAgingSeconds = 300;

export interface FdbStats {
  learned: number;
  aged: number;
  moved: number;
  refused: number;
  flushed: number;
}

export class Fdb {
  readonly maxEntries: number;
  readonly capacity: number;
  private readonly mask: number;
  readonly keyHi: Int32Array;
  readonly keyLo: Int32Array;
  readonly port: Int16Array;
  readonly seen: Int32Array; // clock seconds when last refreshed
  readonly isStatic: Uint8Array;
  count = 0;
  /** Counters (the engine mirrors them into shared counters once per breath). */
  learned = 0;
  aged = 0;
  moved = 0;
  refused = 0;
  flushed = 0;

  constructor(maxEntries = kDefaultMaxEntries) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 20)
      throw new RangeError(`MAC table size must be an integer from 1 to 1048576, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    let cap = 16;
    while (cap < maxEntries * 2) cap <<= 1;
    this.capacity = cap;
    this.mask = cap - 1;
    const sab = new SharedArrayBuffer(cap * (4 + 4 + 2 + 4 + 1));
    this.keyHi = new Int32Array(sab, 0, cap);
    this.keyLo = new Int32Array(sab, cap * 4, cap);
    this.seen = new Int32Array(sab, cap * 8, cap);
    this.port = new Int16Array(sab, cap * 12, cap);
    this.isStatic = new Uint8Array(sab, cap * 14, cap);
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
    const { keyHi, keyLo, mask } = this;
    let i = this.home(hi, lo);
    for (;;) {
      const k = keyHi[i];
      if (k === 0) break;
      if (k === hi && keyLo[i] === lo) {
        if (this.port[i] !== port) {
          if (this.isStatic[i] !== 0) return;
          this.port[i] = port;
          this.moved++;
        }
        this.seen[i] = now;
        return;
      }
      i = (i + 1) & mask;
    }
    if (this.count >= this.maxEntries) {
      this.refused++;
      return;
    }
    keyLo[i] = lo;
    this.port[i] = port;
    this.seen[i] = now;
    this.isStatic[i] = 0;
    keyHi[i] = hi; // written last: marks the entry present
    this.count++;
    this.learned++;
  }

  /** Add or replace a static entry; false when the table is full. */
  addStatic(hi: number, lo: number, port: number): boolean {
    lo |= 0;
    let i = this.find(hi, lo);
    if (i < 0) {
      if (this.count >= this.maxEntries) return false;
      i = this.home(hi, lo);
      while (this.keyHi[i] !== 0) i = (i + 1) & this.mask;
      this.keyLo[i] = lo;
      this.keyHi[i] = hi;
      this.count++;
    }
    this.port[i] = port;
    this.isStatic[i] = 1;
    this.seen[i] = 0;
    return true;
  }

  /** Remove the entry for (hi, lo); true if there was one. */
  remove(hi: number, lo: number): boolean {
    const i = this.find(hi, lo);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
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
    this.count--;
  }

  /**
   * Remove entries matching a predicate over (port, static); returns how many. Used by aging, flush and
   * link-down. A deletion can shift a later entry into the current index, so the index is re-examined.
   */
  private sweep(match: (i: number) => boolean): number {
    let removed = 0;
    for (let i = 0; i < this.capacity; ) {
      if (this.keyHi[i] !== 0 && match(i)) {
        this.deleteAt(i);
        removed++;
      } else i++;
    }
    return removed;
  }

  /** Age out dynamic entries not refreshed for `agingSeconds` (0 disables aging). */
  age(now: number, agingSeconds: number): number {
    if (agingSeconds <= 0) return 0;
    const n = this.sweep((i) => this.isStatic[i] === 0 && now - this.seen[i] >= agingSeconds);
    this.aged += n;
    return n;
  }

  /** Flush dynamic entries (of one port, or all with port < 0); static entries stay unless `includeStatic`. */
  flush(port = -1, includeStatic = false): number {
    const n = this.sweep((i) => (port < 0 || this.port[i] === port) && (includeStatic || this.isStatic[i] === 0));
    this.flushed += n;
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
