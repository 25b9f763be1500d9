/**
 * Extended port ACLs (Add-VMNetworkAdapterExtendedAcl, docs/policy.md): 5-tuple rules with protocol,
 * IP prefixes and port ranges, ordered by weight (higher first), first match wins, no match = allow. A
 * stateful allow creates a two-way flow entry (conntrack.ts) with the rule's idle timeout, so the replies
 * pass rules that would deny them and unsolicited inbound traffic does not.
 *
 * Design notes: README.md in this folder, section "ext-acl.ts".
 */
import { kDefaultIdleTimeout, type ExtAclRule } from './config.js';
import type { FlowTable } from './conntrack.js';
import { kf, type FlowKey } from './flow-key.js';
import {
  acceptsClass,
  familyClass,
  kDirIn,
  kDirOut,
  kSelNone,
  parseIpSelector,
  RuleList,
  ruleIds,
  selectorFamily,
  selectorOps,
  type Selector,
} from './acl.js';

const kAnyProto = -1;
const kAnyPort = -1;
const kMaxPort = 65535;
/** Longest idle timeout accepted: 24 days (stays an int32 count of seconds with room to add). */
const kMaxIdleTimeout = 1 << 21;

/** Protocol names Hyper-V accepts, as IANA numbers. */
export const protocolNumbers: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

const kNoSelector: Selector = { type: kSelNone, words: [0, 0, 0, 0], masks: [0, 0, 0, 0], bits: 0 };

/** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 0..255 (number or decimal text) | undefined (any) -> number or -1. */
export function parseProtocol(p: unknown, what: string): number {
  if (p === undefined || p === null) return kAnyProto;
  if (typeof p === 'string') {
    const t = p.trim().toLowerCase();
    if (t === 'any') return kAnyProto;
    if (t in protocolNumbers) return protocolNumbers[t]!;
    if (/^\d{1,3}$/.test(t) && Number(t) <= 255) return Number(t);
  } else if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 255) return p;
  throw new Error(`${what}: protocol must be tcp, udp, icmp, icmpv6 or a number 0..255, got ${JSON.stringify(p)}`);
}

/** '80' | '1024-65535' | 'any' | undefined -> [lo, hi] ([-1, -1] = any). */
export function parsePortRange(r: unknown, what: string): [number, number] {
  if (r === undefined || r === null) return [kAnyPort, kAnyPort];
  const bad = () => new Error(`${what}: port must be 'N' or 'N-M' with 0 <= N <= M <= 65535, got ${JSON.stringify(r)}`);
  if (typeof r === 'number') {
    if (!Number.isInteger(r) || r < 0 || r > kMaxPort) throw bad();
    return [r, r];
  }
  if (typeof r !== 'string') throw bad();
  const t = r.trim();
  if (t.toLowerCase() === 'any') return [kAnyPort, kAnyPort];
  const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(t);
  if (!m) throw bad();
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > kMaxPort || hi > kMaxPort || lo > hi) throw bad();
  return [lo, hi];
}

interface CompiledExt {
  pos: number;
  deny: boolean;
  dirs: number;
  weight: number;
  proto: number;
  local: Selector;
  remote: Selector;
  lport: [number, number];
  rport: [number, number];
  stateful: boolean;
  timeout: number;
}

/** A port range on one side as ops: the range, then "the frame has ports" (a portless frame reads 0). */
function portOps(r: [number, number], field: number, ops: number[]): void {
  if (r[0] === kAnyPort) return;
  ops.push(field, r[0], r[1], kf.hasPorts, 1, 1);
}

function buildList(all: CompiledExt[], dir: number, cls: number): RuleList {
  const out = dir === kDirOut;
  const rules = all.filter((r) => acceptsClass(r.local, cls) && acceptsClass(r.remote, cls));
  const programs = rules.map((r) => {
    const ops: number[] = [];
    if (r.proto !== kAnyProto) ops.push(kf.protocol, r.proto, r.proto);
    portOps(out ? r.rport : r.lport, kf.dstPort, ops);
    portOps(out ? r.lport : r.rport, kf.srcPort, ops);
    selectorOps(out ? r.remote : r.local, kf.dst, kf.dstMacHi, ops);
    selectorOps(out ? r.local : r.remote, kf.src, kf.srcMacHi, ops);
    return ops;
  });
  return new RuleList(
    programs,
    rules.map((r) => r.pos),
  );
}

/** A port's compiled extended ACLs. Build with `compileExtAcls`. */
export class ExtAclTable {
  readonly ids: readonly number[];
  /** Hit counters by rule position: [2p] frames, [2p + 1] bytes (flow-table passes count on the creating rule). */
  readonly hits: Float64Array;
  /** By rule position: 1 = deny. */
  readonly deny: Uint8Array;
  /** By rule position: 1 = stateful allow. */
  readonly stateful: Uint8Array;
  /** By rule position: idle timeout in seconds (stateful rules). */
  readonly timeout: Int32Array;
  /** True when any rule is stateful: frames of this port consult the flow table. */
  readonly hasStateful: boolean;
  /** Lists by dir * 2 + (0 IPv4, 1 IPv6): only the rules that can match that family. */
  private readonly lists: RuleList[];
  private readonly count: number[];

  constructor(ids: number[], rules: CompiledExt[], byDir: CompiledExt[][]) {
    const n = Math.max(1, ids.length);
    this.ids = ids;
    this.hits = new Float64Array(n * 2);
    this.deny = new Uint8Array(n);
    this.stateful = new Uint8Array(n);
    this.timeout = new Int32Array(n);
    for (const r of rules) {
      this.deny[r.pos] = r.deny ? 1 : 0;
      this.stateful[r.pos] = r.stateful ? 1 : 0;
      this.timeout[r.pos] = r.timeout;
    }
    this.hasStateful = rules.some((r) => r.stateful);
    this.lists = [];
    for (const dir of [kDirOut, kDirIn]) for (const cls of [1, 2]) this.lists.push(buildList(byDir[dir]!, dir, cls));
    this.count = [byDir[kDirOut]!.length, byDir[kDirIn]!.length];
  }

  /** True when the direction has rules. */
  has(dir: number): boolean {
    return this.count[dir]! > 0;
  }

  /** The position of the first (highest-weight) rule matching the frame, counted; -1 if none. */
  evaluate(dir: number, key: FlowKey, bytes: number): number {
    const cls = familyClass(key.family);
    if (cls === 0) return -1;
    const l = this.lists[dir * 2 + cls - 1]!;
    if (l.n === 0) return -1;
    const i = l.first(key.v);
    if (i < 0) return -1;
    const p = l.pos[i]!;
    this.hits[p << 1]++;
    this.hits[(p << 1) + 1] += bytes;
    return p;
  }

  /**
   * The extended-ACL verdict for a parsed frame of port `port` in direction `dir`: 0 = pass, 1 = deny.
   * With stateful rules, a live flow entry passes the frame (refreshed); a matching stateful allow creates
   * one (a full table refuses it, counted there, and the frame still passes: the rule allowed it).
   */
  admit(dir: number, port: number, key: FlowKey, bytes: number, flows: FlowTable | null, nowSec: number): number {
    if (key.family === 0) return 0;
    const out = dir === kDirOut;
    if (this.hasStateful && flows !== null) {
      const e = flows.lookup(port, key, out, nowSec);
      if (e >= 0) {
        const p = flows.tag(e) << 1;
        this.hits[p]++;
        this.hits[p + 1] += bytes;
        return 0;
      }
    }
    const p = this.evaluate(dir, key, bytes);
    if (p < 0) return 0;
    if (this.deny[p] !== 0) return 1;
    if (this.stateful[p] !== 0 && flows !== null) flows.insert(port, key, out, nowSec, this.timeout[p]!, p);
    return 0;
  }
}

/** Compile a port's ExtAclRule[] (control path: allocates, throws a clear Error on bad input). */
export function compileExtAcls(rules: readonly ExtAclRule[]): ExtAclTable {
  if (!Array.isArray(rules)) throw new Error(`extendedAcls: expected an array of rules, got ${JSON.stringify(rules)}`);
  const ids = ruleIds(rules, 'extended acl');
  const compiled: CompiledExt[] = rules.map((r, i) => {
    const what = `extended acl ${ids[i]}`;
    if (r === null || typeof r !== 'object') throw new Error(`${what}: expected a rule object`);
    if (r.action !== 'allow' && r.action !== 'deny')
      throw new Error(`${what}: action must be 'allow' or 'deny', got ${JSON.stringify(r.action)}`);
    const dirs = r.direction === 'outbound' ? 1 : r.direction === 'inbound' ? 2 : r.direction === 'both' ? 3 : 0;
    if (dirs === 0)
      throw new Error(`${what}: direction must be 'inbound', 'outbound' or 'both', got ${JSON.stringify(r.direction)}`);
    if (typeof r.weight !== 'number' || !Number.isFinite(r.weight))
      throw new Error(`${what}: weight must be a number, got ${JSON.stringify(r.weight)}`);
    const local = r.localIp !== undefined ? parseIpSelector(r.localIp, `${what} localIp`) : kNoSelector;
    const remote = r.remoteIp !== undefined ? parseIpSelector(r.remoteIp, `${what} remoteIp`) : kNoSelector;
    const lf = selectorFamily(local);
    const rf = selectorFamily(remote);
    if (lf !== 0 && rf !== 0 && lf !== rf)
      throw new Error(`${what}: localIp and remoteIp are of different IP versions (it could never match)`);
    const stateful = r.stateful === true;
    if (r.stateful !== undefined && typeof r.stateful !== 'boolean')
      throw new Error(`${what}: stateful must be true or false`);
    if (stateful && r.action !== 'allow') throw new Error(`${what}: stateful applies to allow rules only`);
    let timeout = kDefaultIdleTimeout;
    if (r.idleTimeout !== undefined) {
      if (typeof r.idleTimeout !== 'number' || !(r.idleTimeout > 0) || r.idleTimeout > kMaxIdleTimeout)
        throw new Error(
          `${what}: idleTimeout must be seconds in (0, ${kMaxIdleTimeout}], got ${JSON.stringify(r.idleTimeout)}`,
        );
      timeout = Math.ceil(r.idleTimeout);
    }
    return {
      pos: i,
      deny: r.action === 'deny',
      dirs,
      weight: r.weight,
      proto: parseProtocol(r.protocol, what),
      local,
      remote,
      lport: parsePortRange(r.localPort, `${what} localPort`),
      rport: parsePortRange(r.remotePort, `${what} remotePort`),
      stateful,
      timeout,
    };
  });
  const byDir: CompiledExt[][] = [];
  for (const dir of [kDirOut, kDirIn]) {
    const sel = compiled.filter((r) => (r.dirs & (1 << dir)) !== 0).sort((a, b) => b.weight - a.weight);
    for (let i = 1; i < sel.length; i++)
      if (sel[i]!.weight === sel[i - 1]!.weight)
        throw new Error(
          `extended acl ${ids[sel[i - 1]!.pos]} and ${ids[sel[i]!.pos]}: weight ${sel[i]!.weight} used twice for ${dir === kDirOut ? 'outbound' : 'inbound'} (weights are unique per direction)`,
        );
    byDir[dir] = sel;
  }
  return new ExtAclTable(ids, compiled, byDir);
}

export { kDirIn, kDirOut };
