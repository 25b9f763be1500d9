/**
 * PortAcls: the engine-facing composition of port ACLs (acl.ts), extended ACLs (ext-acl.ts) and the flow
 * table (conntrack.ts) for every port of a switch (docs/design.md: ingress ACLs in step 1, egress
 * ACLs in step 4).
 *
 * - `ingress` (node 'acl-in'): frames from port p meet p's outbound rules (p's endpoint sent them).
 * - `admitEgress(d, s)`: a frame about to be delivered to port d meets d's inbound rules; the egress
 *   stage calls it only where `egressOn[d]` is 1.
 * Per frame and direction: parse once (FlowKey), basic ACL (a deny stops here; meters count regardless),
 * then the flow table and extended ACL. A deny sets drop code `acl-deny`.
 *
 * Design notes: README.md in this folder, section "acls.ts".
 */
import type { Clock } from '../dataplane/clock.js';
import { type Counters, kMaxPorts } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { compileAcls, kDirIn, kDirOut, type AclTable } from './acl.js';
import { kDefaultFlowTableSize, type AclRule, type ExtAclRule } from './config.js';
import { FlowTable, type FlowEntry } from './conntrack.js';
import { compileExtAcls, type ExtAclTable } from './ext-acl.js';
import { family, walked } from '../packet/walk.js';
import { FlowKey } from './flow-key.js';
import { policyDrops } from './counters.js';

export interface RuleStats {
  id: number;
  frames: number;
  bytes: number;
}

export interface PortAclStats {
  acls: RuleStats[];
  extendedAcls: RuleStats[];
}

const kAclDeny = policyDrops['acl-deny'];

class AclIngressNode implements GraphNode {
  readonly name = 'acl-in';
  constructor(private readonly owner: PortAcls) {}
  process(batch: Batch): number {
    return this.owner.processIngress(batch);
  }
}

export class PortAcls {
  readonly ingress: GraphNode;
  /** Per port: 1 when the port has outbound rules (checked by `ingress`). */
  readonly ingressOn = new Uint8Array(kMaxPorts);
  /** Per port: 1 when the port has inbound rules (the egress stage calls `admitEgress`). */
  readonly egressOn = new Uint8Array(kMaxPorts);
  /** The flow table, created with the first stateful rule (about 7 MB at the default capacity). */
  flows: FlowTable | null = null;
  private readonly basic: (AclTable | null)[] = new Array<AclTable | null>(kMaxPorts).fill(null);
  private readonly ext: (ExtAclTable | null)[] = new Array<ExtAclTable | null>(kMaxPorts).fill(null);
  private readonly key = new FlowKey();
  private readonly c: Float64Array;

  constructor(
    private readonly pool: PacketPool,
    counters: Counters,
    private readonly clock: Clock,
    private readonly flowTableSize: number = kDefaultFlowTableSize,
  ) {
    this.c = counters.c;
    if (!Number.isInteger(flowTableSize) || flowTableSize < 1)
      throw new RangeError(`flow table size must be a positive integer, got ${flowTableSize}`);
    this.ingress = new AclIngressNode(this);
  }

  /** Per port: the most stateful flows it may hold (0 = no quota); applied to the flow table when it exists. */
  private readonly quotas = new Int32Array(kMaxPorts);

  /** Replace port `port`'s rules (compiled first: a bad rule throws and leaves the old rules in place). */
  set(port: number, acls: readonly AclRule[] = [], ext: readonly ExtAclRule[] = [], maxFlows = 0): void {
    checkPort(port);
    const b = compileAcls(acls ?? []);
    const x = compileExtAcls(ext ?? []);
    const bOn = b.ids.length > 0;
    const xOn = x.ids.length > 0;
    this.basic[port] = bOn ? b : null;
    this.ext[port] = xOn ? x : null;
    this.ingressOn[port] = (bOn && b.has(kDirOut)) || (xOn && x.has(kDirOut)) ? 1 : 0;
    this.egressOn[port] = (bOn && b.has(kDirIn)) || (xOn && x.has(kDirIn)) ? 1 : 0;
    if (xOn && x.hasStateful && this.flows === null) {
      this.flows = new FlowTable(this.flowTableSize);
      this.flows.countInto(this.c);
      for (let p = 0; p < kMaxPorts; p++) if (this.quotas[p] !== 0) this.flows.setQuota(p, this.quotas[p]!);
    }
    this.quotas[port] = maxFlows;
    this.flows?.setQuota(port, maxFlows);
    this.flows?.removePort(port);
  }

  /** Remove every rule (and flow) of a port. */
  clear(port: number): void {
    checkPort(port);
    this.basic[port] = null;
    this.ext[port] = null;
    this.ingressOn[port] = 0;
    this.egressOn[port] = 0;
    this.flows?.removePort(port);
  }

  /** The ingress node's work (called by `ingress.process`). */
  processIngress(batch: Batch): number {
    const pool = this.pool;
    let marked = 0;
    const m = pool.meta32;
    const on = this.ingressOn;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i]!;
      const at = s << Meta.shift;
      const p = m[at + Meta.port]!;
      if (on[p] === 0) continue;
      if (this.check(p, kDirOut, s) !== 0) {
        m[at + Meta.aux] = kAclDeny;
        marked++;
      }
    }
    return marked;
  }

  /** 0 = deliver, else policyDrops['acl-deny']: port d's inbound rules for the frame in slot s. */
  admitEgress(d: number, s: number): number {
    if (this.egressOn[d] === 0) return 0;
    return this.check(d, kDirIn, s) === 0 ? 0 : kAclDeny;
  }

  /** Basic then extended rules of port p in direction dir: 0 pass, 1 deny. */
  private check(p: number, dir: number, s: number): number {
    const at = s << Meta.shift;
    const key = this.key;
    const pool = this.pool;
    const bytes = pool.meta32[at + Meta.len]!;
    const b = this.basic[p];
    const x = this.ext[p];
    // basic ACLs only: a cached verdict from the header record, no FlowKey (acl.ts probe)
    if (b !== null && x === null && bytes >= 14) {
      const fam = family(walked(pool, s)); // walk first: it fills l3
      const r = b.probe(
        dir,
        pool.view,
        pool.slotBase(s) + pool.meta32[at + Meta.off]!,
        pool.meta32[at + Meta.l3]!,
        fam,
        bytes,
      );
      if (r >= 0) return r;
    }
    if (!key.parse(pool, s)) return 0; // shorter than Ethernet: ingress drops these as malformed
    if (b !== null && b.evaluate(dir, key, bytes) !== 0) return 1;
    if (x !== null) return x.admit(dir, p, key, bytes, this.flows, this.clock.nowSec);
    return 0;
  }

  /** Rule hit counters of a port, in the user's rule order (control path). */
  stats(port: number): PortAclStats {
    checkPort(port);
    const list = (t: AclTable | ExtAclTable | null): RuleStats[] =>
      t === null ? [] : t.ids.map((id, i) => ({ id, frames: t.hits[2 * i]!, bytes: t.hits[2 * i + 1]! }));
    return { acls: list(this.basic[port]), extendedAcls: list(this.ext[port]) };
  }

  /** The live stateful flows (control path). */
  flowEntries(): FlowEntry[] {
    return this.flows?.entries(this.clock.nowSec) ?? [];
  }

  /** Housekeeping: remove idle flows (clock.nowSec); returns how many. */
  expire(): number {
    return this.flows?.expire(this.clock.nowSec) ?? 0;
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port >= kMaxPorts)
    throw new RangeError(`port index must be an integer from 0 to ${kMaxPorts - 1}, got ${port}`);
}
