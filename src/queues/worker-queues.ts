/**
 * WorkerQueues: one datapath worker's side of receive-side scaling (docs/queues.md). It decides, for
 * each frame its NICs hand over, which worker switches it (steering), carries frames to other workers
 * through SPSC slot rings, rings their doorbells under interrupt moderation, and pulls the frames other
 * workers steered here.
 *
 * Design notes: README.md in this folder, section "worker-queues.ts".
 */
import { type CounterRow, Counters } from '../dataplane/counters.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { type Batch, kMaxBatch } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { SlotRing } from '../dataplane/slot-ring.js';
import * as eth from '../packet/ethernet.js';
import * as vlan from '../packet/vlan.js';
import type { Fdb } from '../switch/fdb.js';
import type { PortTable } from '../switch/port-table.js';
import { Moderator, type ModerationSettings } from './moderation.js';
import {
  kHeld,
  kMaxWorkers,
  kPinned,
  kPinQ,
  kQueueSlots,
  kRss,
  kRssBase,
  kWorkerMask,
  QueueTables,
} from './queue-tables.js';
import { kNoHash, rssHash } from './rss.js';

/** Per-worker queue stats, declared as rows like the counter block's (dataplane/counters.ts): a block of
 *  their own per worker (`stats`), these words first, then one word per queue from kQueueStatBase. */
export const queueStatRows = [
  [0, 'sentAway', 'frames this worker steered to another worker (hops)'],
  [1, 'ringFull', 'frames dropped because the ring to the other worker was full'],
  [2, 'signalsSent', 'doorbells rung at other workers'],
  [3, 'wakes', 'doorbells that woke this worker'],
] as const satisfies readonly CounterRow[];
export const qs = Object.fromEntries(queueStatRows.map(([i, name]) => [name, i])) as {
  [K in (typeof queueStatRows)[number][1]]: number;
};
/** Frames switched here per queue: word kQueueStatBase + queue. */
export const kQueueStatBase = 16;
export const kQueueStatWords = kQueueStatBase + kQueueSlots;

export interface WorkerQueuesInit {
  index: number;
  count: number;
  tables: SharedArrayBuffer;
  /** rings[from][to], SlotRing buffers. */
  rings: SharedArrayBuffer[][];
  ringSize: number;
  /** stats[w]: Float64 x kQueueStatWords. */
  stats: SharedArrayBuffer[];
  moderation: ModerationSettings;
}

export class WorkerQueues {
  readonly me: number;
  /** Workers of the switch (changes when workers are added or retired). */
  count: number;
  readonly tables: QueueTables;
  readonly out: SlotRing[];
  readonly in: SlotRing[];
  readonly stats: Float64Array;
  /** Queue chosen by the last steer(). */
  queue = 0;
  private moderators: Moderator[];
  private moderation: ModerationSettings = { mode: 'off' };
  private readonly ringSize: number;
  private readonly signal: Uint8Array;
  private readonly touched: Int32Array;
  private readonly isTouched: Uint8Array;
  private touchedCount = 0;
  /** Microseconds, refreshed once per breath (the moderators' clock). */
  nowUs = 0;
  /** steer()'s cache of its last VMQ decision (cPort -1: empty). */
  private cPort = -1;
  private cKey = 0;
  private cLo = 0;
  private cQueue = 0;
  private cEntry = 0;
  private epochSeen = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private readonly now: () => number;

  constructor(init: WorkerQueuesInit, now: () => number = () => performance.now() * 1000) {
    this.me = init.index;
    this.count = init.count;
    this.tables = new QueueTables(init.tables);
    this.out = init.rings[init.index]!.map((sab) => new SlotRing(init.ringSize, sab));
    this.in = init.rings.map((row) => new SlotRing(init.ringSize, row[init.index]!));
    this.stats = new Float64Array(init.stats[init.index]!);
    this.moderators = [];
    this.setModeration(init.moderation);
    this.ringSize = init.ringSize;
    this.signal = new Uint8Array(kMaxWorkers);
    this.touched = new Int32Array(kMaxWorkers);
    this.isTouched = new Uint8Array(kMaxWorkers);
    this.now = now;
    this.nowUs = now();
    this.epochSeen = this.tables.epoch();
  }

  setModeration(m: ModerationSettings): void {
    const mods: Moderator[] = [];
    for (let w = 0; w < this.count; w++) mods.push(new Moderator(m));
    this.moderators = mods;
    this.moderation = m;
  }

  /**
   * The switch now has `count` workers: rings to and from new workers are added (`rings[from][to]` for
   * the whole new matrix); rings to retired workers are dropped (nothing is steered to them any more: the
   * control thread moved their queues away and waited for their rings to drain first).
   */
  resize(count: number, rings: SharedArrayBuffer[][]): void {
    for (let w = this.count; w < count; w++) {
      this.out.push(new SlotRing(this.ringSize, rings[this.me]![w]!));
      this.in.push(new SlotRing(this.ringSize, rings[w]![this.me]!));
      this.moderators.push(new Moderator(this.moderation));
    }
    if (count < this.count) {
      this.out.length = count;
      this.in.length = count;
      this.moderators.length = count;
    }
    this.count = count;
  }

  /**
   * The worker (| kHeld while its queue moves) that switches the frame in `slot`, received on `port`.
   * Sets `queue`. Reads only shared tables and the frame: no allocation, no exceptions.
   */
  steer(pool: PacketPool, ports: PortTable, fdb: Fdb, slot: number, port: number): number {
    const t = this.tables;
    if (this.count === 1) {
      this.queue = 0; // one worker: nothing to decide (per-queue accounting starts with a second worker)
      return 0;
    }
    if (t.anyPinned && (t.flags(port) & kPinned) !== 0) return this.pinned();
    const len = pool.meta32[(slot << Meta.shift) + Meta.len];
    if (len < eth.field.headerLen) {
      this.queue = 0;
      return t.entry(0);
    }
    const view = pool.view;
    const b = pool.frameStart(slot);
    const hi = eth.dstHi16(view, b);
    const lo = eth.dstLo32(view, b) | 0; // int32, as the filter table holds it
    let vid = ports.pvid[port];
    if (vlan.isTagged(view, b) && len >= vlan.field.headerLen) {
      const v = vlan.vid(view, b);
      if (v !== 0) vid = v;
    }
    const key = (vid << 16) | hi;
    // the last VMQ decision of this reader, valid until the tables' epoch moves (a burst to one VM costs
    // three compares instead of the filter lookup)
    if (port === this.cPort && key === this.cKey && lo === this.cLo) {
      this.queue = this.cQueue;
      return this.cEntry;
    }
    let q = 0;
    const d = t.filterLookup(key, lo);
    if (d >= 0) {
      const f = t.flags(d);
      if ((f & kPinned) !== 0) return this.pinned();
      q = t.queueOf(d);
      if (q > 0 && (f & kRss) === 0) {
        this.queue = q;
        const e = t.entry(q);
        this.cPort = port;
        this.cKey = key;
        this.cLo = lo;
        this.cQueue = q;
        this.cEntry = e;
        return e;
      }
    } else if (t.anyPinned) {
      // no filter: a frame that may reach a pinned port (unknown, group, or learned on one) goes to worker 0
      const l = fdb.lookup(key, lo);
      if (l < 0 || (t.flags(l) & kPinned) !== 0) return this.pinned();
    }
    const h = rssHash(pool, slot);
    if (h === kNoHash) {
      this.queue = 0;
      return t.entry(0);
    }
    this.queue = kRssBase + (h & (t.rssSize - 1));
    return t.entry(this.queue);
  }

  /**
   * Steer a received batch, before the pipeline: the frames this worker switches move to `local` while it
   * has room (the rest stay at the front of `rx`, in order, for the next call); the others go into the
   * rings to their workers. A frame whose ring is full is freed and counted `ring-full` against its port.
   */
  steerBatch(pool: PacketPool, ports: PortTable, fdb: Fdb, rx: Batch, local: Batch, c: Float64Array): void {
    const m = pool.meta32;
    const slots = rx.slots;
    let r = 0;
    for (; r < rx.count && local.count < kMaxBatch; r++) {
      const s = slots[r];
      const port = m[(s << Meta.shift) + Meta.port];
      const w = this.steer(pool, ports, fdb, s, port);
      // another worker's queue, or this worker's while its move finishes (kHeld), or behind frames of a
      // move that finished and still wait in this worker's own ring: through the ring, in order
      if (w !== this.me || this.selfBacklog() !== 0) {
        if (!this.send(w & kWorkerMask, s, this.queue)) {
          c[Counters.portDrop(port, mechanismDrops['ring-full'])]++;
          pool.free(s);
        }
        continue;
      }
      this.countLocal(this.queue);
      local.slots[local.count++] = s;
    }
    let w = 0;
    while (r < rx.count) slots[w++] = slots[r++];
    rx.count = w;
  }

  /** Pinned traffic: queue kPinQ, on worker 0. */
  private pinned(): number {
    this.queue = kPinQ;
    return this.tables.entry(kPinQ); // worker 0 (| kHeld while a port's pinning changes)
  }

  /** Count a frame this worker switches itself (local steer or pulled from a ring). */
  countLocal(q: number): void {
    this.stats[kQueueStatBase + q]++;
  }

  /** Hand `slot` (steered to `queue`) to worker w; false when its ring is full (caller drops and counts). */
  send(w: number, slot: number, queue: number): boolean {
    if (!this.out[w]!.push(slot, queue)) {
      this.stats[qs.ringFull]++;
      return false;
    }
    this.stats[qs.sentAway]++;
    if (this.isTouched[w] === 0) {
      this.isTouched[w] = 1;
      this.touched[this.touchedCount++] = w;
    }
    if (this.moderators[w]!.onPacket(this.nowUs)) this.signal[w] = 1;
    return true;
  }

  /**
   * End of a breath: publish every ring written, ring the doorbells the moderators allow, arm the timer for
   * the rest, then acknowledge the table epoch read before this breath's steering (the move protocol).
   */
  flush(): void {
    const t = this.tables;
    for (let i = 0; i < this.touchedCount; i++) {
      const w = this.touched[i];
      this.isTouched[w] = 0;
      this.out[w]!.publish();
      if (this.signal[w] !== 0) {
        this.signal[w] = 0;
        this.stats[qs.signalsSent]++;
        t.ring(w);
      } else this.armTimer(w);
    }
    this.touchedCount = 0;
    t.ack(this.me, this.epochSeen);
    const epoch = t.epoch();
    if (epoch !== this.epochSeen) this.cPort = -1; // the tables changed: forget the cached decision first
    this.epochSeen = epoch;
    this.nowUs = this.now();
  }

  /**
   * Frames are waiting unsignalled: look again when T may have passed. Node's timers have 1 ms granularity,
   * so for T under 1 ms the check runs once per event loop turn (setImmediate: the loop keeps polling its
   * I/O in between) until T has passed: the cost is a busy producer for at most T, which is what buys a
   * doorbell within microseconds of T rather than at the next millisecond.
   */
  private armTimer(w: number): void {
    if (this.timer !== null || this.immediate !== null) return;
    const us = this.moderators[w]!.timeUs;
    if (us < 1000) this.immediate = setImmediate(this.onTimer);
    else this.timer = setTimeout(this.onTimer, Math.ceil(us / 1000));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.immediate = null;
    const now = this.now();
    for (let w = 0; w < this.count; w++) {
      const m = this.moderators[w]!;
      if (m.unsignalled === 0) continue;
      if (m.onTimer(now)) {
        this.stats[qs.signalsSent]++;
        this.tables.ring(w);
      } else this.armTimer(w);
    }
  };

  /**
   * Frames in this worker's ring to itself not yet taken (pushed there while a queue moving here was held).
   * While there are any, a frame steered here must queue behind them, or it would overtake older frames
   * of its own flow.
   */
  selfBacklog(): number {
    return (this.out[this.me]!.produced - this.in[this.me]!.consumed) | 0;
  }

  /** True when `q`'s frames must stay in the rings here (its move to this worker is not finished). */
  held(q: number): boolean {
    const e = this.tables.entry(q);
    return (e & kHeld) !== 0 && (e & kWorkerMask) === this.me;
  }

  /** Frames waiting in the rings into this worker. */
  waiting(): number {
    let n = 0;
    for (let i = 0; i < this.in.length; i++) n += this.in[i]!.available();
    return n;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
