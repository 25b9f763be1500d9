/**
 * Dynamic VMQ: which worker serves each VMQ receive queue, re-decided once per sampling period
 * (docs/queues.md, after US 8,984,526).
 *
 * The patent's rule, in our words: every queue starts on one home processor. Each period the load of
 * every processor is sampled. A processor whose load is above an upper threshold hands one of its queues
 * to the next processor (in order after it) that can take the queue's load without itself going above the
 * upper threshold; a processor whose load falls below a lower threshold hands its queues back so it can
 * go idle. Few queues on few processors when traffic is light (fewer wakeups, warm caches, interrupts
 * coalesced on one vector); spread over more processors only when one processor cannot keep up.
 *
 * Design notes: README.md in this folder, section "dvmq.ts".
 */

export interface DvmqSettings {
  /** Number of VMQ queues (>= 1). Queue ids are 0..queueCount-1. */
  queueCount: number;
  /** Number of workers (>= 1). Worker ids are 0..workerCount-1. */
  workerCount: number;
  /** Spread above this worker load; in (0, 1]. */
  upperThreshold: number;
  /** Coalesce below this worker load; in (0, upperThreshold). */
  lowerThreshold: number;
  /** Minimum time between evaluations, ms (> 0). */
  samplePeriodMs: number;
  /** A queue that moved stays put at least this long, ms (>= 0). */
  minMoveIntervalMs: number;
  /** Worker every queue starts on and coalesces back to; in [0, workerCount). */
  homeWorker: number;
}

/**
 * Rounding slack for load comparisons: one billionth of a worker, far below what any load sample resolves,
 * but far above the drift of adding and subtracting a few dozen doubles. "<= upper" means "<= upper + kLoadEps".
 */
export const kLoadEps = 1e-9;

/** Defaults a caller may start from. */
export const kDvmqDefaults = {
  /** 0.8: spread before a worker saturates; 20% headroom absorbs a burst within one sampling period. */
  upperThreshold: 0.8,
  /** 0.2: well under upper, so a queue that just spread out (load > upper - lower) is not pulled back. */
  lowerThreshold: 0.2,
  /** 100 ms: long enough to average out bursts, short enough to react within a human-visible moment. */
  samplePeriodMs: 100,
  /** 1000 ms: ten periods; a moved queue pays cold caches once, not on every sample. */
  minMoveIntervalMs: 1000,
  homeWorker: 0,
} as const;

/** The moves of one period, in the order made. Preallocated (one slot per queue: a queue moves at most once per period). */
export class MoveList {
  length = 0;
  readonly queue: Int32Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
  /** 1 = spread (up), 0 = coalesce (down). */
  readonly up: Uint8Array;
  constructor(capacity: number) {
    this.queue = new Int32Array(capacity);
    this.from = new Int32Array(capacity);
    this.to = new Int32Array(capacity);
    this.up = new Uint8Array(capacity);
  }
  /** Tests and control plane: copy out as objects (allocates). */
  toArray(): { queue: number; from: number; to: number; up: boolean }[] {
    const out = [];
    for (let i = 0; i < this.length; i++)
      out.push({ queue: this.queue[i]!, from: this.from[i]!, to: this.to[i]!, up: this.up[i] === 1 });
    return out;
  }
}

function checkInt(name: string, v: number, min: number, maxExcl: number): void {
  if (!Number.isInteger(v) || v < min || v >= maxExcl)
    throw new RangeError(`dvmq: ${name} must be an integer in [${min}, ${maxExcl}), got ${v}`);
}

/** Throws a RangeError naming the first bad field and its legal range. */
export function validateDvmqSettings(s: DvmqSettings): void {
  checkInt('queueCount', s.queueCount, 1, 1 << 16);
  checkInt('workerCount', s.workerCount, 1, 1 << 10);
  const u = s.upperThreshold;
  if (!(typeof u === 'number' && u > 0 && u <= 1))
    throw new RangeError(`dvmq: upperThreshold must be in (0, 1], got ${u}`);
  const l = s.lowerThreshold;
  if (!(typeof l === 'number' && l > 0 && l < u))
    throw new RangeError(`dvmq: lowerThreshold must be in (0, upperThreshold=${u}), got ${l}`);
  if (!(typeof s.samplePeriodMs === 'number' && s.samplePeriodMs > 0 && Number.isFinite(s.samplePeriodMs)))
    throw new RangeError(`dvmq: samplePeriodMs must be a finite number > 0, got ${s.samplePeriodMs}`);
  if (!(typeof s.minMoveIntervalMs === 'number' && s.minMoveIntervalMs >= 0 && Number.isFinite(s.minMoveIntervalMs)))
    throw new RangeError(`dvmq: minMoveIntervalMs must be a finite number >= 0, got ${s.minMoveIntervalMs}`);
  checkInt('homeWorker', s.homeWorker, 0, s.workerCount);
}

export class DynamicVmq {
  readonly settings: Readonly<DvmqSettings>;
  /** queue -> worker. Read freely; change only through step() (or reset()). */
  readonly assignment: Int32Array;
  /** Per-worker load after the last evaluation's moves (same unit as queue loads). */
  readonly workerLoad: Float64Array;
  /** Counters ("VMQ moves"). */
  movesTotal = 0;
  movesUp = 0;
  movesDown = 0;
  refusedForThreshold = 0;
  /** Evaluations made (periods sampled). */
  periods = 0;

  private readonly lastMoveMs: Float64Array;
  private readonly movedInPeriod: Uint8Array;
  private readonly moves: MoveList;
  private lastEvalMs = -Infinity;

  constructor(settings: DvmqSettings) {
    validateDvmqSettings(settings);
    this.settings = Object.freeze({ ...settings });
    this.assignment = new Int32Array(settings.queueCount).fill(settings.homeWorker);
    this.workerLoad = new Float64Array(settings.workerCount);
    this.lastMoveMs = new Float64Array(settings.queueCount).fill(-Infinity);
    this.movedInPeriod = new Uint8Array(settings.queueCount);
    this.moves = new MoveList(settings.queueCount);
  }

  /** Put every queue back on the home worker and forget move history (counters are kept). */
  reset(): void {
    this.assignment.fill(this.settings.homeWorker);
    this.lastMoveMs.fill(-Infinity);
    this.lastEvalMs = -Infinity;
  }

  /**
   * One sampling period. `queueLoads[q]` is queue q's load over the period (fraction of one worker).
   * Returns the moves made, already applied to `assignment`; the list is reused by the next call.
   */
  step(nowMs: number, queueLoads: Float64Array): MoveList {
    const mv = this.moves;
    mv.length = 0;
    const s = this.settings;
    if (queueLoads.length !== s.queueCount)
      throw new RangeError(`dvmq: queueLoads must have queueCount=${s.queueCount} entries, got ${queueLoads.length}`);
    if (nowMs - this.lastEvalMs < s.samplePeriodMs) return mv;
    for (let q = 0; q < s.queueCount; q++) {
      const ql = queueLoads[q]!;
      if (!(ql >= 0 && ql < Infinity))
        throw new RangeError(`dvmq: queueLoads[${q}] must be a finite number >= 0, got ${ql}`);
    }
    this.lastEvalMs = nowMs;
    this.periods++;

    const load = this.workerLoad;
    const asg = this.assignment;
    load.fill(0);
    for (let q = 0; q < s.queueCount; q++) load[asg[q]!] += queueLoads[q]!;
    // Compare against the thresholds with kLoadEps of slack: running sums drift (1.6 - 0.4 - 0.4 is
    // 0.8000000000000003), and a balancer must not spread a worker that is at the threshold exactly.
    const upper = s.upperThreshold + kLoadEps;
    this.movedInPeriod.fill(0);

    // Spread: every overloaded worker, in index order.
    for (let w = 0; w < s.workerCount; w++) {
      while (load[w]! > upper) {
        let pick = -1;
        let pickTarget = -1;
        // Smallest queue whose removal alone brings w to <= upper.
        for (let q = 0; q < s.queueCount; q++) {
          if (asg[q] !== w || !this.movable(q, nowMs)) continue;
          const ql = queueLoads[q]!;
          if (load[w]! - ql > upper) continue;
          if (pick >= 0 && ql >= queueLoads[pick]!) continue;
          const t = this.spreadTarget(w, ql);
          if (t < 0) continue;
          pick = q;
          pickTarget = t;
        }
        // Else the largest movable queue (with load > 0) that fits somewhere.
        if (pick < 0) {
          for (let q = 0; q < s.queueCount; q++) {
            if (asg[q] !== w || !this.movable(q, nowMs)) continue;
            const ql = queueLoads[q]!;
            if (ql <= 0 || (pick >= 0 && ql <= queueLoads[pick]!)) continue;
            const t = this.spreadTarget(w, ql);
            if (t < 0) continue;
            pick = q;
            pickTarget = t;
          }
        }
        if (pick < 0) {
          this.refusedForThreshold++;
          break;
        }
        this.move(pick, w, pickTarget, queueLoads[pick]!, nowMs, true);
      }
    }

    // Coalesce: every non-home worker below the lower threshold that still serves queues.
    for (let w = 0; w < s.workerCount; w++) {
      if (w === s.homeWorker || !(load[w]! < s.lowerThreshold - kLoadEps)) continue;
      let refused = false;
      for (let q = 0; q < s.queueCount; q++) {
        if (asg[q] !== w || !this.movable(q, nowMs)) continue;
        const ql = queueLoads[q]!;
        const t = this.coalesceTarget(w, ql);
        if (t < 0) {
          refused = true;
          continue;
        }
        this.move(q, w, t, ql, nowMs, false);
      }
      if (refused) this.refusedForThreshold++;
    }
    return mv;
  }

  private movable(q: number, nowMs: number): boolean {
    return this.movedInPeriod[q] === 0 && nowMs - this.lastMoveMs[q]! >= this.settings.minMoveIntervalMs;
  }

  /** First worker after `from` (wrapping, not `from`) that can take `ql` and stay <= upper; -1 if none. */
  private spreadTarget(from: number, ql: number): number {
    const n = this.settings.workerCount;
    for (let i = 1; i < n; i++) {
      const t = (from + i) % n;
      if (this.workerLoad[t]! + ql <= this.settings.upperThreshold + kLoadEps) return t;
    }
    return -1;
  }

  /** Home if it stays <= upper, else the first active worker after `from` that does; -1 if none. */
  private coalesceTarget(from: number, ql: number): number {
    const s = this.settings;
    const load = this.workerLoad;
    if (load[s.homeWorker]! + ql <= s.upperThreshold + kLoadEps) return s.homeWorker;
    for (let i = 1; i < s.workerCount; i++) {
      const t = (from + i) % s.workerCount;
      if (t === s.homeWorker || load[t]! < s.lowerThreshold - kLoadEps || !this.serves(t)) continue;
      if (load[t]! + ql <= s.upperThreshold + kLoadEps) return t;
    }
    return -1;
  }

  private serves(w: number): boolean {
    const asg = this.assignment;
    for (let q = 0; q < asg.length; q++) if (asg[q] === w) return true;
    return false;
  }

  private move(q: number, from: number, to: number, ql: number, nowMs: number, up: boolean): void {
    this.assignment[q] = to;
    this.workerLoad[from]! -= ql;
    this.workerLoad[to]! += ql;
    this.lastMoveMs[q] = nowMs;
    this.movedInPeriod[q] = 1;
    const mv = this.moves;
    const i = mv.length++;
    mv.queue[i] = q;
    mv.from[i] = from;
    mv.to[i] = to;
    mv.up[i] = up ? 1 : 0;
    this.movesTotal++;
    if (up) this.movesUp++;
    else this.movesDown++;
  }
}
