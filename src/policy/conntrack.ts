/**
 * The flow table behind stateful extended ACLs (docs/policy.md): a stateful allow creates a two-way
 * entry, so the replies pass rules that would deny them and unsolicited traffic does not.
 *
 * Key: (port, family, protocol, local port, remote port, local address, remote address), all from the
 * VM's point of view, so the entry an outbound frame creates (local = source) is the one its inbound reply
 * finds (local = destination), and vice versa. Packed into 10 int32 words:
 *
 *   w0 = port << 16 | family << 8 | protocol     w1 = local port << 16 | remote port
 *   w2..w5 = local address words                 w6..w9 = remote address words
 *
 * Design notes: README.md in this folder, section "conntrack.ts".
 */
import { declareSwitchCounters, kSwitchSlots } from '../dataplane/counters.js';
import { kDefaultFlowTableSize } from './config.js';
import type { FlowKey } from './flow-key.js';

/** The flow table's rows in the counter block (dataplane/counters.ts). */
export const flowCounters = declareSwitchCounters('flows', [
  [8, 'flowsActive', 'stateful ACL flow entries now'],
  [9, 'flowsCreated', 'stateful ACL flows created'],
  [10, 'flowsExpired', 'stateful ACL flows removed after their idle timeout'],
  [11, 'flowsRefused', 'stateful ACL flows not created because the flow table was full of assured flows'],
  [13, 'flowsEarlyDropped', 'unassured stateful ACL flows evicted to make room for a new one (early drop)'],
  [14, 'flowsQuotaRefused', 'stateful ACL flows not created because the port had its quota (policy maxFlows)'],
] as const);
const kActive = flowCounters.flowsActive;
const kCreated = flowCounters.flowsCreated;
const kExpired = flowCounters.flowsExpired;
const kRefused = flowCounters.flowsRefused;
const kEarlyDropped = flowCounters.flowsEarlyDropped;
const kQuotaRefused = flowCounters.flowsQuotaRefused;

const kKeyWords = 10; // see the header diagram
/** Occupied slots an early drop looks at: enough to find a one-way flow in a flooded table, bounded per insert. */
const kEarlyDropScan = 64;
/** Ports are 16 bits in the key (w0); quotas and counts are kept per port number. */
const kPortSpace = 1 << 16;
const kFlagOutbound = 1; // created by an outbound frame
const kFlagAssured = 2; // a frame of the other direction was seen

/** One flow as `entries` reports it (the VM's view: local = the port's endpoint). */
export interface FlowEntry {
  port: number;
  family: number;
  protocol: number;
  localPort: number;
  remotePort: number;
  /** Address words, most significant first; IPv4 in word 0. */
  local: number[];
  remote: number[];
  idleSeconds: number;
  timeoutSeconds: number;
  /** Position of the stateful rule that created it. */
  rule: number;
}
const kMaxLoad = 0.75; // linear probing stays short below this

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class FlowTable {
  /** Most entries held; an insert beyond it is refused. */
  readonly capacity: number;
  /** Slots in the open-addressing array (power of two). */
  readonly slots: number;
  /** Where the counters live (flowCounters rows): the table's own until `countInto` names a worker's block. */
  private c: Float64Array = new Float64Array(kSwitchSlots);

  private readonly mask: number;
  private readonly seed: number;
  private readonly keys: Int32Array; // slots x kKeyWords
  private readonly hashes: Int32Array;
  private readonly lastSeen: Int32Array; // seconds (clock.nowSec)
  private readonly timeouts: Int32Array; // idle timeout in seconds; 0 = empty slot
  private readonly tags: Int32Array; // caller data (the creating rule's position)
  private readonly flags: Uint8Array; // kFlagOutbound | kFlagAssured
  /** Entries per port, and each port's quota (0 = none but the table's capacity). */
  private readonly perPort = new Int32Array(kPortSpace);
  private readonly quota = new Int32Array(kPortSpace);
  private readonly k = new Int32Array(kKeyWords); // scratch key

  /** Entries now. */
  get active(): number {
    return this.c[kActive]!;
  }
  /** Entries created since construction. */
  get created(): number {
    return this.c[kCreated]!;
  }
  /** Entries removed after their idle timeout (by lookup, insert or expire). */
  get expired(): number {
    return this.c[kExpired]!;
  }
  /** Inserts refused because the table was full (of assured entries). */
  get refused(): number {
    return this.c[kRefused]!;
  }
  /** Unassured entries evicted to make room for a new flow (early drop). */
  get earlyDropped(): number {
    return this.c[kEarlyDropped]!;
  }
  /** Inserts refused because the port had its quota of entries. */
  get quotaRefused(): number {
    return this.c[kQuotaRefused]!;
  }

  /** Count into `c` (a worker's counter block) from now on, carrying over what was counted so far. */
  countInto(c: Float64Array): void {
    for (const i of [kActive, kCreated, kExpired, kRefused, kEarlyDropped, kQuotaRefused]) c[i] = this.c[i]!;
    this.c = c;
  }

  constructor(capacity: number = kDefaultFlowTableSize) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24)
      throw new RangeError(`flow table capacity must be an integer from 1 to ${1 << 24}, got ${capacity}`);
    this.capacity = capacity;
    this.slots = nextPow2(Math.ceil(capacity / kMaxLoad)); // > capacity: a probe always meets an empty slot
    this.mask = this.slots - 1;
    this.seed = (Math.random() * 0x100000000) | 0;
    this.keys = new Int32Array(this.slots * kKeyWords);
    this.hashes = new Int32Array(this.slots);
    this.lastSeen = new Int32Array(this.slots);
    this.timeouts = new Int32Array(this.slots);
    this.tags = new Int32Array(this.slots);
    this.flags = new Uint8Array(this.slots);
  }

  /** At most `max` entries for `port` (0: no quota). Entries it already has beyond it stay until they expire. */
  setQuota(port: number, max: number): void {
    this.quota[port & 0xffff] = max > 0 ? max : 0;
  }

  /** Entries `port` holds now. */
  countOf(port: number): number {
    return this.perPort[port & 0xffff]!;
  }

  /** Pack the VM-view key of a frame into the scratch words; returns its hash. */
  private pack(port: number, key: FlowKey, outbound: boolean): number {
    const k = this.k;
    const local = outbound ? key.src : key.dst;
    const remote = outbound ? key.dst : key.src;
    k[0] = ((port & 0xffff) << 16) | ((key.family & 0xff) << 8) | (key.protocol & 0xff);
    k[1] = outbound ? (key.srcPort << 16) | key.dstPort : (key.dstPort << 16) | key.srcPort;
    k[2] = local[0]!;
    k[3] = local[1]!;
    k[4] = local[2]!;
    k[5] = local[3]!;
    k[6] = remote[0]!;
    k[7] = remote[1]!;
    k[8] = remote[2]!;
    k[9] = remote[3]!;
    let h = this.seed;
    for (let i = 0; i < kKeyWords; i++) {
      let x = Math.imul(k[i]!, 0xcc9e2d51);
      x = (x << 15) | (x >>> 17);
      h ^= Math.imul(x, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= kKeyWords * 4;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h;
  }

  private same(i: number): boolean {
    const keys = this.keys;
    const k = this.k;
    const b = i * kKeyWords;
    for (let w = 0; w < kKeyWords; w++) if (keys[b + w] !== k[w]) return false;
    return true;
  }

  /**
   * The live entry for this frame's flow (refreshing its last-seen time), or -1. An idle-expired entry is
   * removed and reported absent. Datapath: no allocation.
   */
  lookup(port: number, key: FlowKey, outbound: boolean, nowSec: number): number {
    const h = this.pack(port, key, outbound);
    const { timeouts, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const t = timeouts[i]!;
      if (t === 0) return -1;
      if (hashes[i] === h && this.same(i)) {
        if (nowSec - this.lastSeen[i]! > t) {
          this.remove(i);
          this.c[kExpired]++;
          return -1;
        }
        this.lastSeen[i] = nowSec;
        if ((this.flags[i]! & kFlagOutbound) !== (outbound ? kFlagOutbound : 0)) this.flags[i]! |= kFlagAssured;
        return i;
      }
    }
  }

  /**
   * Create (or refresh) the entry for this frame's flow with an idle timeout in seconds and a caller tag;
   * returns its index, or -1 when the table is full (counted in `refused`). Datapath: no allocation.
   */
  insert(port: number, key: FlowKey, outbound: boolean, nowSec: number, idleTimeout: number, tag = 0): number {
    const i = this.place(port, key, outbound, nowSec, idleTimeout, tag);
    if (i !== -2) return i;
    // full: evict the stalest unassured entry near this flow's home, then place it again (now there is room)
    if (!this.earlyDrop(this.pack(port, key, outbound), nowSec)) {
      this.c[kRefused]++;
      return -1;
    }
    return this.place(port, key, outbound, nowSec, idleTimeout, tag);
  }

  /** insert's probe: the entry's index, -1 refused by the port's quota, -2 the table is full. */
  private place(
    port: number,
    key: FlowKey,
    outbound: boolean,
    nowSec: number,
    idleTimeout: number,
    tag: number,
  ): number {
    const h = this.pack(port, key, outbound);
    const { timeouts, hashes, mask } = this;
    const t = idleTimeout < 1 ? 1 : idleTimeout | 0;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const ti = timeouts[i]!;
      if (ti === 0) break;
      if (hashes[i] === h && this.same(i)) {
        if (nowSec - this.lastSeen[i]! > ti) {
          // the old flow ran out: it expired, this is a new one in its place
          this.c[kExpired]++;
          this.c[kCreated]++;
          this.flags[i] = outbound ? kFlagOutbound : 0;
        }
        this.lastSeen[i] = nowSec;
        timeouts[i] = t;
        this.tags[i] = tag;
        return i;
      }
    }
    const q = this.quota[port & 0xffff]!;
    if (q !== 0 && this.perPort[port & 0xffff]! >= q) {
      this.c[kQuotaRefused]++;
      return -1;
    }
    if (this.active >= this.capacity) return -2;
    const keys = this.keys;
    const k = this.k;
    const b = i * kKeyWords;
    for (let w = 0; w < kKeyWords; w++) keys[b + w] = k[w]!;
    hashes[i] = h;
    this.lastSeen[i] = nowSec;
    timeouts[i] = t;
    this.tags[i] = tag;
    this.flags[i] = outbound ? kFlagOutbound : 0;
    this.perPort[port & 0xffff]!++;
    this.c[kActive]++;
    this.c[kCreated]++;
    return i;
  }

  /** Remove the least recently seen unassured entry among kEarlyDropScan occupied slots from hash h's home
   *  (wrapping over empty slots); false when every one of them is assured. */
  private earlyDrop(h: number, nowSec: number): boolean {
    const { timeouts, flags, lastSeen, mask, slots } = this;
    let victim = -1;
    let oldest = 0;
    let seen = 0;
    for (let n = 0, i = h & mask; n < slots && seen < kEarlyDropScan; n++, i = (i + 1) & mask) {
      if (timeouts[i] === 0) continue;
      seen++;
      if ((flags[i]! & kFlagAssured) !== 0) continue;
      const idle = nowSec - lastSeen[i]!;
      if (victim < 0 || idle > oldest) {
        victim = i;
        oldest = idle;
      }
    }
    if (victim < 0) return false;
    this.remove(victim);
    this.c[kEarlyDropped]++;
    return true;
  }

  /** The tag stored with entry `i` (from lookup/insert). */
  tag(i: number): number {
    return this.tags[i]!;
  }

  /** The port of entry `i`. */
  portOf(i: number): number {
    return this.keys[i * kKeyWords]! >>> 16;
  }

  /** Backward-shift delete of slot i. */
  private remove(i: number): void {
    const { timeouts, hashes, keys, lastSeen, tags, flags, mask } = this;
    this.perPort[keys[i * kKeyWords]! >>> 16]!--;
    let hole = i;
    for (let j = (i + 1) & mask; timeouts[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // entry j may fill the hole if the hole is on its probe path home..j
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys.copyWithin(hole * kKeyWords, j * kKeyWords, (j + 1) * kKeyWords);
        hashes[hole] = hashes[j]!;
        lastSeen[hole] = lastSeen[j]!;
        timeouts[hole] = timeouts[j]!;
        tags[hole] = tags[j]!;
        flags[hole] = flags[j]!;
        hole = j;
      }
    }
    timeouts[hole] = 0;
    this.c[kActive]--;
  }

  /**
   * Housekeeping: remove every entry idle for more than its timeout; returns how many (also added to
   * `expired`). A full sweep of the slot array: run it every second or so, not per packet.
   */
  expire(nowSec: number): number {
    const { timeouts, lastSeen, slots } = this;
    let n = 0;
    for (let i = 0; i < slots; ) {
      const t = timeouts[i]!;
      if (t !== 0 && nowSec - lastSeen[i]! > t) {
        this.remove(i); // a later entry may have moved into i: look at it again
        n++;
      } else i++;
    }
    this.c[kExpired] += n;
    return n;
  }

  /** Remove every entry of a port (its rules changed); returns how many. Not counted as expired. */
  removePort(port: number): number {
    const { timeouts, slots, keys } = this;
    let n = 0;
    for (let i = 0; i < slots; ) {
      if (timeouts[i] !== 0 && keys[i * kKeyWords]! >>> 16 === port) {
        this.remove(i);
        n++;
      } else i++;
    }
    return n;
  }

  /** Every live entry, for `vswitch flows` (control path: allocates). Addresses are the raw words. */
  entries(nowSec: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    const { timeouts, keys, lastSeen, slots } = this;
    for (let i = 0; i < slots; i++) {
      const t = timeouts[i]!;
      if (t === 0) continue;
      const b = i * kKeyWords;
      const w0 = keys[b]!;
      const w1 = keys[b + 1]!;
      out.push({
        port: w0 >>> 16,
        family: (w0 >>> 8) & 0xff,
        protocol: w0 & 0xff,
        localPort: w1 >>> 16,
        remotePort: w1 & 0xffff,
        local: Array.from(keys.subarray(b + 2, b + 6)),
        remote: Array.from(keys.subarray(b + 6, b + 10)),
        idleSeconds: nowSec - lastSeen[i]!,
        timeoutSeconds: t,
        rule: this.tags[i]!,
      });
    }
    return out;
  }

  /** Entry `i`'s seconds since last seen (tests, `flows show`). */
  idleSeconds(i: number, nowSec: number): number {
    return nowSec - this.lastSeen[i]!;
  }
}
