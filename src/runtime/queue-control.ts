/**
 * QueueControl: the control thread's half of receive-side scaling for one multi-worker switch
 * (docs/queues.md). It owns the shared queue tables (queues/queue-tables.ts) and is their only writer: it
 * gives ports VMQ queues, pins to worker 0 the ports that need one writer, spreads the RSS buckets, runs
 * Dynamic VMQ every sampling period, and moves queues between workers by a protocol that loses and reorders nothing.
 *
 * Trade-off: a move costs a few milliseconds of holding one queue's frames on the new worker (and the
 * frames queued behind them in the same ring); moves are rare by construction (minMoveIntervalMs).
 *
 * Design notes: README.md in this folder, section "queue-control.ts".
 */
import type { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { SlotRing } from '../dataplane/slot-ring.js';
import { parseMacWords } from '../packet/mac.js';
import { DynamicVmq } from '../queues/dvmq.js';
import {
  kHeld,
  kMaxRss,
  kMaxWorkers,
  kPinned,
  kPinQ,
  kQueueSlots,
  kRss,
  kRssBase,
  kWorkerMask,
  QueueTables,
} from '../queues/queue-tables.js';
import { kQueueStatBase, kQueueStatWords, qs, type WorkerQueuesInit } from '../queues/worker-queues.js';
import type { ModerationSettings } from '../queues/moderation.js';
import {
  kDvmqDefaultConfig,
  type DvmqConfig,
  type ModerationConfig,
  type QueuesStatus,
  type QueueStatus,
  type VmqMove,
} from '../queues/queue-spec.js';
import type { PortSpec } from '../engine/spec.js';

export const kRingSize = 2048;
const kRecentMoves = 32;
const kMoveTimeoutMs = 5000;

export function moderationSettings(m: ModerationConfig | undefined): ModerationSettings {
  if (m === undefined) return { mode: 'off' };
  return typeof m === 'string' ? { mode: m } : { packets: m.packets, timeUs: m.timeUs };
}

interface PortQueueInfo {
  name: string;
  index: number;
  queue: number;
  filter: { mac: string; vlan: number } | null;
  flags: number;
}

export class QueueControl {
  readonly tables: QueueTables;
  readonly rings: SharedArrayBuffer[][];
  readonly stats: SharedArrayBuffer[];
  private readonly ringViews: SlotRing[][];
  private readonly statViews: Float64Array[];
  readonly vmqQueues: number;
  readonly rssSize: number;
  private dvmqCfg: Required<DvmqConfig>;
  private dvmq: DynamicVmq;
  private readonly queuePort: Array<string | null>;
  private readonly ports = new Map<string, PortQueueInfo>();
  private readonly capturing = new Set<string>();
  private readonly queueMoves: Int32Array;
  private readonly queueLoad = new Float64Array(kQueueSlots);
  private readonly lastFrames: Float64Array[];
  private workerLoad: Float64Array;
  private readonly balancerLoads: Float64Array;
  private readonly lastElu: Array<EventLoopUtilization | undefined>;
  private movesTotal = 0;
  private readonly recent: VmqMove[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | null = null;
  private moderation: ModerationConfig;

  constructor(
    public workerCount: number,
    opts: { vmqQueues: number; rssTableSize: number; dvmq?: DvmqConfig; moderation?: ModerationConfig },
  ) {
    const n = workerCount;
    this.tables = new QueueTables();
    this.vmqQueues = opts.vmqQueues;
    this.rssSize = opts.rssTableSize;
    this.moderation = opts.moderation ?? 'off';
    this.rings = [];
    this.ringViews = [];
    for (let from = 0; from < n; from++) {
      const row: SharedArrayBuffer[] = [];
      const views: SlotRing[] = [];
      for (let to = 0; to < n; to++) {
        const r = new SlotRing(kRingSize);
        row.push(r.sab);
        views.push(r);
      }
      this.rings.push(row);
      this.ringViews.push(views);
    }
    this.stats = [];
    this.statViews = [];
    this.lastFrames = [];
    for (let w = 0; w < n; w++) {
      const sab = new SharedArrayBuffer(kQueueStatWords * 8);
      this.stats.push(sab);
      this.statViews.push(new Float64Array(sab));
      this.lastFrames.push(new Float64Array(kQueueSlots));
    }
    this.workerLoad = new Float64Array(kMaxWorkers);
    this.balancerLoads = new Float64Array(opts.vmqQueues + 1 + opts.rssTableSize);
    this.lastElu = new Array(n).fill(undefined);
    this.queuePort = new Array(opts.vmqQueues + 1).fill(null);
    this.queueMoves = new Int32Array(kQueueSlots);
    this.dvmqCfg = { ...kDvmqDefaultConfig, ...(opts.dvmq ?? {}) };
    this.dvmq = this.newBalancer();
    // Dynamic VMQ: everything starts on the home worker; without it, buckets go round robin
    const spread = !this.dvmqCfg.enabled;
    this.tables.setRssSize(this.rssSize);
    for (let i = 0; i < kMaxRss; i++) this.tables.setEntry(kRssBase + i, spread ? i % n : 0);
    for (let q = 0; q <= this.vmqQueues; q++) this.tables.setEntry(q, 0);
    this.tables.setEntry(kPinQ, 0);
    for (let d = 0; d < this.dvmqQueues; d++)
      this.dvmq.assignment[d] = this.tables.entry(this.queueOfDvmq(d)) & kWorkerMask;
  }

  /** The balancer sees VMQ queues 0..vmqQueues, then the RSS buckets. */
  private get dvmqQueues(): number {
    return this.vmqQueues + 1 + this.rssSize;
  }

  private queueOfDvmq(d: number): number {
    return d <= this.vmqQueues ? d : kRssBase + (d - this.vmqQueues - 1);
  }

  private dvmqOfQueue(q: number): number {
    return q < kRssBase ? q : this.vmqQueues + 1 + (q - kRssBase);
  }

  /** Where a new single-queue TAP's NIC should live: the home worker under Dynamic VMQ, else -1 (any). */
  nicHome(): number {
    return this.dvmqCfg.enabled ? 0 : -1;
  }

  private newBalancer(): DynamicVmq {
    const c = this.dvmqCfg;
    return new DynamicVmq({
      queueCount: this.dvmqQueues,
      workerCount: this.workerCount,
      upperThreshold: c.upperThreshold,
      lowerThreshold: c.lowerThreshold,
      samplePeriodMs: c.samplePeriodMs,
      minMoveIntervalMs: c.minMoveIntervalMs,
      homeWorker: 0,
    });
  }

  /** What worker `index` needs to join (queues/worker-queues.ts). */
  workerInit(index: number): WorkerQueuesInit {
    return {
      index,
      count: this.workerCount,
      tables: this.tables.sab,
      rings: this.rings,
      ringSize: kRingSize,
      stats: this.stats,
      moderation: moderationSettings(this.moderation),
    };
  }

  /** Start Dynamic VMQ sampling over these workers. */
  start(workers: readonly Worker[]): void {
    this.stop();
    this.timer = setInterval(() => this.sample(workers), this.dvmqCfg.samplePeriodMs);
    this.timer.unref();
  }

  // ---- adding and retiring workers ----

  /** Rings, stats and balancer for one more worker (index = the old count); returns what it needs. */
  addWorker(): WorkerQueuesInit {
    const k = this.workerCount;
    for (let from = 0; from < k; from++) {
      const r = new SlotRing(kRingSize);
      this.rings[from]!.push(r.sab);
      this.ringViews[from]!.push(r);
    }
    const row: SharedArrayBuffer[] = [];
    const views: SlotRing[] = [];
    for (let to = 0; to <= k; to++) {
      const r = new SlotRing(kRingSize);
      row.push(r.sab);
      views.push(r);
    }
    this.rings.push(row);
    this.ringViews.push(views);
    const sab = new SharedArrayBuffer(kQueueStatWords * 8);
    this.stats.push(sab);
    this.statViews.push(new Float64Array(sab));
    this.lastFrames.push(new Float64Array(kQueueSlots));
    this.lastElu.push(undefined);
    this.workerCount = k + 1;
    this.rebalancer();
    return this.workerInit(k);
  }

  /**
   * Move every queue and bucket worker `k` serves to the others (VMQ queues home to worker 0, buckets round
   * robin), through the loss-free move protocol; from then on nothing is steered to `k`.
   */
  async evacuate(k: number): Promise<void> {
    const t = this.tables;
    const queues: number[] = [];
    const targets: number[] = [];
    for (let q = 0; q <= this.vmqQueues; q++) {
      if ((t.entry(q) & kWorkerMask) === k) {
        queues.push(q);
        targets.push(0);
      }
    }
    for (let i = 0; i < kMaxRss; i++) {
      if ((t.entry(kRssBase + i) & kWorkerMask) === k) {
        queues.push(kRssBase + i);
        targets.push(i % k);
      }
    }
    await this.move(queues, targets, 'retire');
  }

  /** Views of the rings into worker w (from each worker), for tests and the views. */
  ringsInto(w: number): SlotRing[] {
    return this.ringViews.map((row) => row[w]!);
  }

  /** True once worker `k` has nothing left in its rings toward the others (after it stopped). */
  drainedFrom(k: number): boolean {
    const row = this.ringViews[k]!;
    for (let to = 0; to < row.length; to++)
      if (to !== k && row[to]!.publishedHead() !== row[to]!.publishedTail()) return false;
    return true;
  }

  /** Forget the last worker's rings and stats (it has stopped and its rings are drained). */
  removeWorker(): void {
    const k = this.workerCount - 1;
    this.rings.pop();
    this.ringViews.pop();
    for (const row of this.rings) row.length = k;
    for (const row of this.ringViews) row.length = k;
    this.stats.pop();
    this.statViews.pop();
    this.lastFrames.pop();
    this.lastElu.pop();
    this.workerLoad[k] = 0;
    this.workerCount = k;
    this.rebalancer();
  }

  /** A balancer for the current worker count that keeps where every queue is. */
  private rebalancer(): void {
    const assignment = Int32Array.from(this.dvmq.assignment);
    this.dvmq = this.newBalancer();
    for (let d = 0; d < assignment.length; d++)
      this.dvmq.assignment[d] = Math.min(assignment[d]!, this.workerCount - 1);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  // ---- ports ----

  /** Why a port's traffic must be switched by worker 0, or null. */
  static pinReason(cfg: PortSpec, capturing: boolean): string | null {
    if (cfg.nic.type !== 'tap') return `${cfg.nic.type} endpoint (its socket lives on worker 0)`;
    const p = cfg.policy ?? {};
    if (p.extendedAcls?.some((r) => r.stateful)) return 'stateful extended ACL';
    if (p.stormLimit) return 'storm limit';
    if (p.maximumBandwidth || p.minimumBandwidthWeight || p.minimumBandwidthAbsolute) return 'bandwidth policy';
    if (p.mirror !== undefined && p.mirror !== 'none') return 'port mirroring';
    if (capturing) return 'packet capture';
    return null;
  }

  /**
   * A port was added or changed (VLAN, MAC, policy, VmqWeight, a capture): its queue, filter and flags
   * follow. When an existing port becomes pinned (or stops being pinned) its frames change workers, so the
   * change goes through a fence that keeps every flow in order (see `fence`); resolves when it is in force.
   */
  portChanged(cfg: PortSpec, index: number): Promise<void> {
    const old = this.ports.get(cfg.name);
    const pinned = QueueControl.pinReason(cfg, this.capturing.has(cfg.name)) !== null;
    const wasPinned = old !== undefined && (old.flags & kPinned) !== 0;
    if (old === undefined || pinned === wasPinned) {
      this.applyPort(cfg, index, pinned);
      return Promise.resolve();
    }
    const run = this.chain.then(() => {
      if (pinned) {
        // new frames go to worker 0 (held there) once every other worker has switched what it had
        const others = [];
        for (let w = 1; w < this.workerCount; w++) others.push(w);
        return this.fence([kPinQ], others, () => this.applyPort(cfg, index, pinned));
      }
      // new frames go wherever their queues are (held there) once worker 0 has switched the pinned ones
      const away: number[] = [];
      for (let q = 0; q < kQueueSlots; q++) if (q !== kPinQ && (this.tables.entry(q) & kWorkerMask) !== 0) away.push(q);
      return this.fence(away, [0], () => this.applyPort(cfg, index, pinned));
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * Change steering without reordering a flow: hold `hold` (queues keep their workers), apply the change,
   * wait until every worker acknowledged it and the workers in `drainInto` have switched every frame that
   * was in their rings, then release. A worker that stalls past 5 s only costs the order guarantee.
   */
  private async fence(hold: number[], drainInto: number[], change: () => void): Promise<void> {
    const t = this.tables;
    const saved = hold.map((q) => t.entry(q) & kWorkerMask);
    hold.forEach((q, i) => t.setEntry(q, saved[i]! | kHeld));
    change();
    const epoch = t.bumpEpoch();
    for (let w = 0; w < this.workerCount; w++) t.ring(w);
    try {
      await this.drained(epoch, drainInto);
    } catch {
      this.fencesForced++;
    } finally {
      hold.forEach((q, i) => t.setEntry(q, saved[i]!));
      for (let w = 0; w < this.workerCount; w++) t.ring(w);
    }
  }

  /**
   * Steps 2 and 3 of a move or a fence: every worker has acknowledged `epoch` (nobody steers by the old
   * tables any more, and what was steered before is published), then every ring into the `drainInto`
   * workers has been switched and delivered up to the tail it had at that moment.
   */
  private async drained(epoch: number, drainInto: readonly number[]): Promise<void> {
    const t = this.tables;
    await waitFor(() => {
      for (let w = 0; w < this.workerCount; w++) if (t.acked(w) - epoch < 0) return false;
      return true;
    });
    const marks: Array<[SlotRing, number]> = [];
    for (const o of drainInto)
      for (let r = 0; r < this.workerCount; r++)
        marks.push([this.ringViews[r]![o]!, this.ringViews[r]![o]!.publishedTail()]);
    await waitFor(() => marks.every(([ring, tail]) => ring.publishedHead() - tail >= 0));
  }

  /** Fences whose workers stalled past the timeout (the change went through without the order guarantee). */
  fencesForced = 0;

  private applyPort(cfg: PortSpec, index: number, pinned: boolean): void {
    const old = this.ports.get(cfg.name);
    let queue = old?.queue ?? 0;
    const wantsQueue = (cfg.vmqWeight ?? 100) > 0 && cfg.mac !== undefined;
    if (!wantsQueue && queue > 0) {
      this.queuePort[queue] = null;
      queue = 0;
    } else if (wantsQueue && queue === 0) {
      const free = this.queuePort.findIndex((p, q) => q > 0 && p === null);
      if (free > 0) {
        queue = free;
        this.queuePort[free] = cfg.name;
        // a new queue starts on the home worker under Dynamic VMQ, else the queues are spread statically
        this.tables.setEntry(free, this.dvmqCfg.enabled ? 0 : free % this.workerCount);
        this.dvmq.assignment[this.dvmqOfQueue(free)] = this.tables.entry(free) & kWorkerMask;
      }
    }
    const flags = (pinned ? kPinned : 0) | (cfg.rss ? kRss : 0);
    const filter = cfg.mac !== undefined && queue > 0 ? { mac: cfg.mac, vlan: untaggedVlan(cfg) } : null;
    this.ports.set(cfg.name, { name: cfg.name, index, queue, filter, flags });
    this.tables.setQueueOf(index, queue);
    this.tables.setFlags(index, flags);
    this.rebuildFilters();
  }

  portRemoved(name: string): void {
    const info = this.ports.get(name);
    if (!info) return;
    if (info.queue > 0) this.queuePort[info.queue] = null;
    this.ports.delete(name);
    this.capturing.delete(name);
    this.tables.setQueueOf(info.index, 0);
    this.tables.setFlags(info.index, 0);
    this.rebuildFilters();
  }

  /** A capture starts or stops on a port: its traffic is pinned to worker 0 while it runs. */
  setCapturing(cfg: PortSpec, on: boolean): Promise<void> {
    if (on) this.capturing.add(cfg.name);
    else this.capturing.delete(cfg.name);
    const info = this.ports.get(cfg.name);
    return info ? this.portChanged(cfg, info.index) : Promise.resolve();
  }

  private rebuildFilters(): void {
    const list: Array<[number, number, number]> = [];
    for (const p of this.ports.values()) {
      if (!p.filter) continue;
      const { hi16, lo32 } = parseMacWords(p.filter.mac);
      list.push([(p.filter.vlan << 16) | hi16, lo32 | 0, p.index]);
    }
    this.tables.setFilters(list);
  }

  // ---- moves ----

  /** Move queues (VMQ queue ids or kRssBase + bucket) to workers without loss or reorder; serialized. */
  move(queues: number[], targets: number[], reason: VmqMove['reason']): Promise<void> {
    const run = this.chain.then(() => this.moveNow(queues, targets, reason));
    this.chain = run.catch(() => {});
    return run;
  }

  private async moveNow(queues: number[], targets: number[], reason: VmqMove['reason']): Promise<void> {
    const t = this.tables;
    const from = queues.map((q) => t.entry(q) & kWorkerMask);
    const moving: number[] = [];
    for (let i = 0; i < queues.length; i++) if (from[i] !== targets[i]) moving.push(i);
    if (moving.length === 0) return;
    for (const i of moving) t.setEntry(queues[i]!, targets[i]! | kHeld);
    const epoch = t.bumpEpoch();
    for (let w = 0; w < this.workerCount; w++) t.ring(w);
    try {
      await this.drained(epoch, [...new Set(moving.map((i) => from[i]!))]);
    } catch (err) {
      // never leave a queue held (frozen) because a worker stalled: release it, and say what was lost
      for (const i of moving) t.setEntry(queues[i]!, targets[i]!);
      for (const w of new Set(moving.map((i) => targets[i]!))) t.ring(w);
      throw new Error(
        `${(err as Error).message}; the queue was released to its new worker anyway, so its frames' order across this move is not guaranteed`,
      );
    }
    const time = new Date().toISOString();
    for (const i of moving) {
      const q = queues[i]!;
      t.setEntry(q, targets[i]!);
      this.dvmq.assignment[this.dvmqOfQueue(q)] = targets[i]!;
      this.queueMoves[q]++;
      this.movesTotal++;
      this.recent.push({ time, queue: q, from: from[i]!, to: targets[i]!, reason });
      if (this.recent.length > kRecentMoves) this.recent.shift();
    }
    for (const w of new Set(moving.map((i) => targets[i]!))) t.ring(w);
  }

  /** Manual move of a VMQ queue (or the default queue 0). */
  moveQueue(queue: number, worker: number): Promise<void> {
    if (
      !Number.isInteger(queue) ||
      queue < 0 ||
      queue > this.vmqQueues ||
      (queue > 0 && this.queuePort[queue] === null)
    )
      return Promise.reject(
        new Error(
          `queue ${queue} is not in use: the default queue 0 and the queues ports have (vswitch queues) can move`,
        ),
      );
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.workerCount)
      return Promise.reject(
        new Error(`worker ${worker} does not exist: this switch has workers 0 to ${this.workerCount - 1}`),
      );
    return this.move([queue], [worker], 'manual');
  }

  /** Rewrite the RSS indirection table (validated by the caller): only changed buckets move. */
  setRssTable(entries: number[]): Promise<void> {
    if (entries.length !== this.rssSize)
      return Promise.reject(new Error(`the RSS table has ${this.rssSize} entries, got ${entries.length}`));
    for (const w of entries)
      if (!Number.isInteger(w) || w < 0 || w >= this.workerCount)
        return Promise.reject(new Error(`RSS table entry ${w} is not a worker: use 0 to ${this.workerCount - 1}`));
    return this.move(
      entries.map((_, i) => kRssBase + i),
      entries,
      'manual',
    );
  }

  tune(t: { moderation?: ModerationConfig; dvmq?: DvmqConfig }, workers: readonly Worker[]): void {
    if (t.dvmq) {
      this.dvmqCfg = { ...this.dvmqCfg, ...t.dvmq };
      this.rebalancer();
      this.start(workers);
    }
    if (t.moderation !== undefined) this.moderation = t.moderation;
  }

  // ---- sampling and the view ----

  private sample(workers: readonly Worker[]): void {
    const n = this.workerCount;
    const perQueue = this.queueLoad;
    perQueue.fill(0);
    for (let w = 0; w < n; w++) {
      const now = workers[w]!.performance.eventLoopUtilization();
      const prev = this.lastElu[w];
      this.workerLoad[w] = prev ? workers[w]!.performance.eventLoopUtilization(now, prev).utilization : 0;
      this.lastElu[w] = now;
      const st = this.statViews[w]!;
      const last = this.lastFrames[w]!;
      let total = 0;
      for (let q = 0; q < kQueueSlots; q++) total += st[kQueueStatBase + q]! - last[q]!;
      if (total > 0) {
        for (let q = 0; q < kQueueSlots; q++) {
          const d = st[kQueueStatBase + q]! - last[q]!;
          if (d > 0) perQueue[q] += (this.workerLoad[w]! * d) / total;
        }
      }
      for (let q = 0; q < kQueueSlots; q++) last[q] = st[kQueueStatBase + q]!;
    }
    if (!this.dvmqCfg.enabled) return;
    const loads = this.balancerLoads;
    for (let d = 0; d < this.dvmqQueues; d++) {
      const q = this.queueOfDvmq(d);
      // a VMQ queue without a port carries nothing (and must not be moved around)
      loads[d] = q > 0 && q <= this.vmqQueues && this.queuePort[q] === null ? 0 : perQueue[q]!;
    }
    const moves = this.dvmq.step(performance.now(), loads).toArray();
    // the balancer already changed its assignment: put the tables' view back until each move completes
    for (const m of moves) this.dvmq.assignment[m.queue] = m.from;
    for (const m of moves)
      void this.move([this.queueOfDvmq(m.queue)], [m.to], m.up ? 'spread' : 'coalesce').catch(() => {});
  }

  status(): QueuesStatus {
    const n = this.workerCount;
    const t = this.tables;
    const framesOf = (q: number) => this.statViews.reduce((s, st) => s + st[kQueueStatBase + q]!, 0);
    const queues: QueueStatus[] = [];
    const byQueue = new Map<number, PortQueueInfo>();
    for (const p of this.ports.values()) if (p.queue > 0) byQueue.set(p.queue, p);
    for (let q = 0; q <= this.vmqQueues; q++) {
      const p = byQueue.get(q);
      if (q > 0 && !p) continue;
      queues.push({
        queue: q,
        port: p?.name ?? null,
        filter: p?.filter ?? null,
        worker: p && (p.flags & kRss) !== 0 ? 'rss' : t.entry(q) & kWorkerMask,
        frames: framesOf(q),
        load: round(this.queueLoad[q]!),
        moves: this.queueMoves[q]!,
      });
    }
    const workers = [];
    for (let w = 0; w < n; w++) {
      const st = this.statViews[w]!;
      let frames = 0;
      for (let q = 0; q < kQueueSlots; q++) frames += st[kQueueStatBase + q]!;
      workers.push({
        worker: w,
        frames,
        load: round(this.workerLoad[w]!),
        queues: queues.filter((x) => x.worker === w).map((x) => x.queue),
        signals: st[qs.wakes]!,
        handedOver: st[qs.sentAway]!,
      });
    }
    const entries: number[] = [];
    for (let i = 0; i < this.rssSize; i++) entries.push(t.entry(kRssBase + i) & kWorkerMask);
    return {
      workers,
      queues,
      rss: { size: this.rssSize, entries },
      moves: { total: this.movesTotal, recent: [...this.recent] },
      dvmq: { ...this.dvmqCfg },
      moderation: this.moderation,
    };
  }
}

/** The VLAN an untagged frame from the port belongs to: the VLAN its VMQ filter names. */
function untaggedVlan(cfg: PortSpec): number {
  const v = cfg.vlan;
  if (!v || v.mode === 'untagged') return 1;
  if (v.mode === 'access') return v.vid;
  if (v.mode === 'trunk') return v.native ?? 0;
  return v.primary;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function waitFor(done: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!done()) {
    if (Date.now() - t0 > kMoveTimeoutMs)
      throw new Error('a datapath worker did not acknowledge the queue move within 5 s');
    await new Promise((r) => setTimeout(r, 1));
  }
}
