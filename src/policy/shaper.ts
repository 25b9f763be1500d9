/**
 * Egress shaper: MaximumBandwidth and MinimumBandwidth (docs/policy.md, QoS; the egress half of the pipeline).
 *
 * Why: `maximumBandwidth` caps the bits per second the switch delivers TO a port. When more arrives than
 * the cap allows the port's egress is congested, and the frames that wait must share it fairly between the
 * ports that sent them, in proportion to those source ports' MinimumBandwidth (Hyper-V's weight or
 * absolute mode, fixed per switch). The shaper node (shaper-node.ts), first of the egress walk, calls this
 * module only for destination ports with `shaped[d] === 1`; frames to unshaped ports never enter it.
 *
 * Design notes: README.md in this folder, section "shaper.ts".
 */
import { kMaxPorts } from '../dataplane/counters.js';
import type { Clock } from '../dataplane/clock.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import type { MinimumBandwidthMode, PortPolicy } from './config.js';

/** Frames per class queue: one full batch (kMaxBatch = 256) can wait behind a congested egress. */
export const kDefaultQueueFrames = 256;
/** Quantum of the smallest share: one full-size standard frame (1500 MTU + 14 Ethernet + 4 tag). */
export const kDefaultQuantumBytes = 1518;
/** Smallest default bucket depth: 64 KiB, so a 64 KB GSO frame goes in one piece from a full bucket. */
export const kMinDefaultBurst = 65536;
/** Default bucket depth in time: 10 ms at the rate (covers a breath's jitter at high rates). */
export const kDefaultBurstMs = 10;
/** Absolute mode: the share of a port with none when nothing smaller is configured: 1 Mbit/s. */
export const kMinAbsoluteShare = 1_000_000;
/** Weight mode: MinimumBandwidthWeight range (Hyper-V); 1 is also the default. */
export const kMinWeight = 1;
export const kMaxWeight = 100;
/** Tolerance in bytes on "tokens >= 0": float rounding in refill and nextWakeMs must not cost a wake-up. */
const kSlackBytes = 1;
/** Largest rate accepted: 1 Tbit/s, far above any port here, keeps the float math exact enough. */
const kMaxRate = 1e12;

const K = kMaxPorts;
const kNoRing = new Int32Array(0);

export interface ShaperOptions {
  /** Frames per (destination, source) class queue, default 256. */
  queueFrames?: number;
  /** DRR quantum in bytes of the smallest share, default 1518. */
  quantumBytes?: number;
  /** Frames held across all ports at once, default half the pool's slots. */
  heldLimit?: number;
}

export class EgressShaper {
  readonly mode: MinimumBandwidthMode;
  readonly queueFrames: number;
  readonly quantumBytes: number;
  readonly heldLimit: number;
  /** Per port: 1 when a MaximumBandwidth applies (the engine sends only these ports' frames here). */
  readonly shaped = new Uint8Array(K);
  /** Per port: frames held now. */
  readonly held = new Int32Array(K);
  /** Per port: bucket state in bytes (tokens may be negative: the debt of the last frame). */
  readonly tokens = new Float64Array(K);
  readonly depth = new Float64Array(K);
  /** Ports with held frames, `dirtyCount` of them (walk from the end: see the header). */
  readonly dirty = new Int32Array(K);
  dirtyCount = 0;
  /** Frames held across all ports. */
  heldTotal = 0;

  private readonly pool: PacketPool;
  private readonly clock: Clock;
  /** Per port as destination: bytes per ms, time of the last refill. */
  private readonly rate = new Float64Array(K);
  private readonly last = new Float64Array(K);
  /** Per port as destination: class rings, [class * queueFrames + i]; kNoRing until first shaped. */
  private readonly rings: Int32Array[] = new Array<Int32Array>(K).fill(kNoRing);
  /** Per port as destination: DRR list of active classes (head, tail, -1 = empty); head got its quantum. */
  private readonly actHead = new Int32Array(K).fill(-1);
  private readonly actTail = new Int32Array(K).fill(-1);
  private readonly charged = new Uint8Array(K);
  private readonly dirtyPos = new Int32Array(K).fill(-1);
  /** Per (destination * K + class): ring head, frame count, DRR deficit in bytes, next active class. */
  private readonly qHead = new Int32Array(K * K);
  private readonly qCount = new Int32Array(K * K);
  private readonly deficit = new Float64Array(K * K);
  private readonly actNext = new Int32Array(K * K);
  /** Per port as source: configured share (0 = none), and the DRR quantum it earns. */
  private readonly share = new Float64Array(K);
  private readonly quantum = new Float64Array(K);

  constructor(pool: PacketPool, clock: Clock, mode: MinimumBandwidthMode, opts: ShaperOptions = {}) {
    if (mode !== 'weight' && mode !== 'absolute')
      throw new Error(`minimum bandwidth mode must be 'weight' or 'absolute', got ${String(mode)}`);
    const q = opts.queueFrames ?? kDefaultQueueFrames;
    if (!Number.isInteger(q) || q < 1 || q > 65536)
      throw new Error(`shaper queueFrames must be an integer 1..65536, got ${q}`);
    const qb = opts.quantumBytes ?? kDefaultQuantumBytes;
    if (!Number.isInteger(qb) || qb < 64 || qb > 1 << 20)
      throw new Error(`shaper quantumBytes must be an integer 64..1048576, got ${qb}`);
    const hl = opts.heldLimit ?? pool.slots >> 1;
    if (!Number.isInteger(hl) || hl < 1) throw new Error(`shaper heldLimit must be a positive integer, got ${hl}`);
    this.pool = pool;
    this.clock = clock;
    this.mode = mode;
    this.queueFrames = q;
    this.quantumBytes = qb;
    this.heldLimit = hl;
    this.recomputeQuanta();
  }

  // ---- control path (may allocate, throws on bad input) ----

  /**
   * MaximumBandwidth of port d: bits/s (0 = unshaped) and bucket depth in bytes (default max(64 KiB,
   * 10 ms at the rate)). A newly shaped port starts with a full bucket; a rate change keeps the tokens
   * earned so far (capped at the new depth). Unshaping leaves the held frames in `dirty`: the next
   * `dequeue` of the port releases them all, in DRR order, without tokens.
   */
  setRate(port: number, bitsPerSecond: number, burstBytes?: number): void {
    checkPort(port);
    if (!Number.isFinite(bitsPerSecond) || bitsPerSecond < 0 || bitsPerSecond > kMaxRate)
      throw new Error(`maximum bandwidth of port ${port} must be 0..${kMaxRate} bits/s, got ${bitsPerSecond}`);
    if (burstBytes !== undefined && (!Number.isFinite(burstBytes) || burstBytes < 1))
      throw new Error(`maximum burst of port ${port} must be a positive number of bytes, got ${burstBytes}`);
    if (bitsPerSecond === 0) {
      this.shaped[port] = 0;
      this.rate[port] = 0;
      return;
    }
    const now = this.clock.nowMs;
    const depth = burstBytes ?? Math.max(kMinDefaultBurst, (bitsPerSecond / 8) * (kDefaultBurstMs / 1000));
    if (this.rings[port].length === 0) this.rings[port] = new Int32Array(K * this.queueFrames);
    if (this.shaped[port] === 1) {
      this.refill(port, now);
      this.tokens[port] = Math.min(this.tokens[port], depth);
    } else {
      this.tokens[port] = depth;
    }
    this.last[port] = now;
    this.depth[port] = depth;
    this.rate[port] = bitsPerSecond / 8 / 1000;
    this.shaped[port] = 1;
  }

  /** MinimumBandwidth of port s as a source class: a weight 1..100 or bits/s per the mode; 0 = none (default). */
  setShare(port: number, value: number): void {
    checkPort(port);
    if (this.mode === 'weight') {
      if (!Number.isInteger(value) || value < 0 || value > kMaxWeight)
        throw new Error(
          `minimum bandwidth weight of port ${port} must be an integer ${kMinWeight}..${kMaxWeight} (0 = default), got ${value}`,
        );
    } else if (!Number.isFinite(value) || value < 0 || value > kMaxRate) {
      throw new Error(`minimum bandwidth of port ${port} must be 0..${kMaxRate} bits/s (0 = default), got ${value}`);
    }
    this.share[port] = value;
    this.recomputeQuanta();
  }

  /** The share port s competes with as a source class (its own, or the mode's default). */
  shareOf(port: number): number {
    checkPort(port);
    return this.share[port] > 0 ? this.share[port] : this.defaultShare();
  }

  /** Apply a port's QoS policy (maximumBandwidth/maximumBurst, and the MinimumBandwidth field of the mode). */
  configure(port: number, policy: PortPolicy): void {
    const other = this.mode === 'weight' ? policy.minimumBandwidthAbsolute : policy.minimumBandwidthWeight;
    if (other !== undefined && other !== 0)
      throw new Error(
        `port ${port}: the switch's minimum bandwidth mode is ${this.mode}; set ${this.mode === 'weight' ? 'minimumBandwidthWeight' : 'minimumBandwidthAbsolute'} instead`,
      );
    this.setRate(port, policy.maximumBandwidth ?? 0, policy.maximumBurst);
    this.setShare(
      port,
      (this.mode === 'weight' ? policy.minimumBandwidthWeight : policy.minimumBandwidthAbsolute) ?? 0,
    );
  }

  private defaultShare(): number {
    if (this.mode === 'weight') return kMinWeight;
    const m = this.minConfigured();
    return m === Infinity ? kMinAbsoluteShare : Math.max(kMinAbsoluteShare, m);
  }

  private minConfigured(): number {
    let m = Infinity;
    for (let p = 0; p < K; p++) if (this.share[p] > 0 && this.share[p] < m) m = this.share[p];
    return m;
  }

  private recomputeQuanta(): void {
    const def = this.defaultShare();
    // weight mode: weight 1 is the smallest share there can be; absolute: the smallest in use
    const smallest = this.mode === 'weight' ? kMinWeight : Math.min(def, this.minConfigured());
    for (let p = 0; p < K; p++) {
      const sh = this.share[p] > 0 ? this.share[p] : def;
      this.quantum[p] = Math.max(1, Math.round((this.quantumBytes * sh) / smallest));
    }
  }

  // ---- datapath (allocation-free, never throws) ----

  /**
   * Hold slot s for port d in the class queue of its ingress port. False when that queue is full, the
   * shaper's `heldLimit` is reached, or port d was never shaped: the caller counts `qos-queue-full` and
   * releases the slot.
   */
  enqueue(d: number, s: number): boolean {
    if (d >>> 0 >= K) return false;
    const ring = this.rings[d];
    if (ring.length === 0 || this.heldTotal >= this.heldLimit) return false;
    let c = this.pool.meta32[(s << Meta.shift) + Meta.port];
    if (c >>> 0 >= K) c = 0;
    const i = d * K + c;
    const n = this.qCount[i];
    const Q = this.queueFrames;
    if (n >= Q) return false;
    let t = this.qHead[i] + n;
    if (t >= Q) t -= Q;
    ring[c * Q + t] = s;
    this.qCount[i] = n + 1;
    if (n === 0) {
      // the class becomes active: join the tail of the DRR list
      this.actNext[i] = -1;
      const tail = this.actTail[d];
      if (tail < 0) this.actHead[d] = c;
      else this.actNext[d * K + tail] = c;
      this.actTail[d] = c;
    }
    if (this.held[d]++ === 0) {
      this.dirtyPos[d] = this.dirtyCount;
      this.dirty[this.dirtyCount++] = d;
    }
    this.heldTotal++;
    return true;
  }

  /**
   * Move the frames port d may receive now (tokens at clock.nowMs) into out[0..n), at most `max`, in DRR
   * order; returns n. An unshaped port with held frames (after setRate 0) releases them without tokens.
   */
  dequeue(d: number, out: Int32Array, max: number): number {
    if (d >>> 0 >= K || this.held[d] === 0) return 0;
    const shaped = this.shaped[d] === 1;
    if (shaped) this.refill(d, this.clock.nowMs);
    const { pool, qHead, qCount, deficit, actNext, quantum, actHead, actTail, charged } = this;
    const ring = this.rings[d];
    const Q = this.queueFrames;
    const base = d * K;
    let tokens = this.tokens[d];
    let n = 0;
    if (max > out.length) max = out.length;
    while (n < max) {
      const c = actHead[d];
      if (c < 0) break;
      if (shaped && tokens < -kSlackBytes) break;
      const i = base + c;
      if (charged[d] === 0) {
        deficit[i] += quantum[c];
        charged[d] = 1;
      }
      const h = qHead[i];
      const s = ring[c * Q + h];
      const len = pool.meta32[(s << Meta.shift) + Meta.len];
      if (deficit[i] < len) {
        // visit over: the class goes to the tail with its deficit and gets a quantum next round
        charged[d] = 0;
        if (actTail[d] !== c) {
          actHead[d] = actNext[i];
          actNext[i] = -1;
          actNext[base + actTail[d]] = c;
          actTail[d] = c;
        }
        continue;
      }
      deficit[i] -= len;
      if (shaped) tokens -= len;
      out[n++] = s;
      qHead[i] = h + 1 === Q ? 0 : h + 1;
      if (--qCount[i] === 0) {
        deficit[i] = 0;
        charged[d] = 0;
        actHead[d] = actNext[i];
        if (actHead[d] < 0) actTail[d] = -1;
      }
    }
    if (shaped) this.tokens[d] = tokens;
    this.held[d] -= n;
    this.heldTotal -= n;
    if (this.held[d] === 0) this.unmarkDirty(d);
    return n;
  }

  /** Earliest clock.nowMs at which some held frame can go: now when one can go already, Infinity when none is held. */
  nextWakeMs(): number {
    const now = this.clock.nowMs;
    let wake = Infinity;
    for (let k = 0; k < this.dirtyCount; k++) {
      const d = this.dirty[k];
      if (this.shaped[d] === 0) return now;
      const dt = now - this.last[d];
      const t = Math.min(this.depth[d], this.tokens[d] + (dt > 0 ? dt * this.rate[d] : 0));
      if (t >= -kSlackBytes) return now;
      const at = now + -t / this.rate[d];
      if (at < wake) wake = at;
    }
    return wake;
  }

  /**
   * Release every frame held for port d (link down, port removed, policy removed) with `pool.release`;
   * returns how many. The bucket keeps its state.
   */
  drop(d: number): number {
    if (d >>> 0 >= K || this.held[d] === 0) return 0;
    const { pool, qHead, qCount, deficit, actNext } = this;
    const ring = this.rings[d];
    const Q = this.queueFrames;
    const base = d * K;
    let n = 0;
    for (let c = this.actHead[d]; c >= 0; ) {
      const i = base + c;
      let h = qHead[i];
      for (let k = qCount[i]; k > 0; k--) {
        pool.release(ring[c * Q + h]);
        if (++h === Q) h = 0;
        n++;
      }
      qHead[i] = 0;
      qCount[i] = 0;
      deficit[i] = 0;
      const next = actNext[i];
      actNext[i] = -1;
      c = next;
    }
    this.actHead[d] = -1;
    this.actTail[d] = -1;
    this.charged[d] = 0;
    this.held[d] = 0;
    this.heldTotal -= n;
    this.unmarkDirty(d);
    return n;
  }

  /** Frames held for port d from source class c (tests, metrics). */
  queued(d: number, c: number): number {
    return d >>> 0 < K && c >>> 0 < K ? this.qCount[d * K + c] : 0;
  }

  private refill(d: number, now: number): void {
    const dt = now - this.last[d];
    if (dt > 0) {
      const t = this.tokens[d] + dt * this.rate[d];
      this.tokens[d] = t < this.depth[d] ? t : this.depth[d];
      this.last[d] = now;
    }
  }

  private unmarkDirty(d: number): void {
    const k = this.dirtyPos[d];
    if (k < 0) return;
    const lastPort = this.dirty[--this.dirtyCount];
    this.dirty[k] = lastPort;
    this.dirtyPos[lastPort] = k;
    this.dirtyPos[d] = -1;
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port >= K)
    throw new Error(`port must be an integer 0..${K - 1}, got ${port}`);
}
