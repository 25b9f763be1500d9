/**
 * Storm limit node: Hyper-V's StormLimit (docs/policy.md), a packets-per-second cap on the
 * broadcast, multicast and unknown-unicast frames a port sends into the switch. Runs after the
 * forwarding node, which marks exactly those frames: the slot's `dst === floodMark`. Known unicast is never
 * limited (it costs one destination, not one per port, so it cannot storm).
 *
 * One token bucket per ingress port, counted in packets:
 *
 *   rate   pps tokens per second                  depth  max(1, ceil(pps / 10)): 100 ms of burst
 *   a flood frame takes one token; with none left it is dropped (`storm-limit`)
 *
 * Design notes: README.md in this folder, section "storm.ts".
 */
import type { Clock } from '../dataplane/clock.js';
import { kMaxPorts } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { policyDrops } from './counters.js';

/** Tokens per packet: thousandths, so ms x pps (both whole) adds whole units. */
const kUnit = 1000;
/** Bucket depth in seconds of the rate: 100 ms, enough for an ARP/ND burst at link-up, short of a storm. */
const kBurstDivisor = 10;

export class StormNode implements GraphNode {
  readonly name = 'storm';
  /** Per-port rate in packets per second; 0 = not limited. */
  private readonly rate = new Float64Array(kMaxPorts);
  /** Per-port bucket depth in units (depth packets x kUnit). */
  private readonly depth = new Float64Array(kMaxPorts);
  /** Per-port tokens now, in units. */
  private readonly tokens = new Float64Array(kMaxPorts);
  /** Per-port clock value (ms) of the last refill. */
  private readonly refilledMs = new Float64Array(kMaxPorts);

  constructor(
    private readonly pool: PacketPool,
    private readonly clock: Clock,
    private readonly floodMark: number,
  ) {}

  /**
   * Limit a port to `pps` flood frames per second (0 = off). A newly limited port starts with a full
   * bucket; changing an existing limit keeps the tokens earned so far, capped at the new depth.
   */
  set(port: number, pps: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= kMaxPorts)
      throw new RangeError(`storm limit port index must be an integer from 0 to ${kMaxPorts - 1}, got ${port}`);
    if (typeof pps !== 'number' || !Number.isFinite(pps) || pps < 0)
      throw new RangeError(
        `storm limit for port ${port} must be a finite number of packets per second >= 0, got ${pps}`,
      );
    if (pps === 0) {
      this.rate[port] = 0;
      this.tokens[port] = 0;
      return;
    }
    const depth = Math.max(1, Math.ceil(pps / kBurstDivisor)) * kUnit;
    if (this.rate[port] === 0) {
      this.tokens[port] = depth;
    } else {
      this.refill(port, this.clock.nowMs);
      this.tokens[port] = Math.min(this.tokens[port], depth);
    }
    this.refilledMs[port] = this.clock.nowMs;
    this.rate[port] = pps;
    this.depth[port] = depth;
  }

  /** The port's limit in packets per second (0 = off). */
  get(port: number): number {
    return this.rate[port] ?? 0;
  }

  process(batch: Batch): number {
    const { pool, rate, tokens, refilledMs, floodMark } = this;
    let marked = 0;
    const m = pool.meta32;
    const now = this.clock.nowMs;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      if (m[at + Meta.dst] !== floodMark) continue; // known unicast: never limited
      const p = m[at + Meta.port];
      if (!rate[p]) continue; // not limited (or a port index outside the table)
      if (refilledMs[p] !== now) this.refill(p, now);
      if (tokens[p] >= kUnit) tokens[p] -= kUnit;
      else {
        m[at + Meta.aux] = policyDrops['storm-limit'];
        marked++;
      }
    }
    return marked;
  }

  /** Add the tokens earned since the last refill, up to the depth. */
  private refill(p: number, now: number): void {
    const elapsed = now - this.refilledMs[p];
    this.refilledMs[p] = now;
    if (elapsed <= 0) return; // a clock that went back (a replaced clock) earns nothing
    const t = this.tokens[p] + elapsed * this.rate[p]; // ms x pps = thousandths of a packet
    const d = this.depth[p];
    this.tokens[p] = t < d ? t : d;
  }
}
