/**
 * Port ACLs (Add-VMNetworkAdapterAcl, docs/policy.md): a port's AclRule[] compiled into typed arrays,
 * one list per direction, evaluated per frame against a parsed FlowKey.
 *
 * Semantics (policy/config.ts): among the allow/deny rules that match, the most specific wins (MAC = 48
 * bits, IPv4 /n = n, IPv6 /n = n, 'any' = 0, a local/remote pair adds both); at equal specificity deny
 * wins; no match = allow. Meter rules only count: the most specific matching meter rule counts the frame
 * (frames and bytes), whatever allow/deny decides. Every rule has hit counters (frames, bytes), allow and
 * deny rules counting the frames they decided.
 *
 * Design notes: README.md in this folder, section "acl.ts".
 */
import type { AclRule } from './config.js';
import { kf, kFamily4, kFamily6, kSignFlip, type FlowKey } from './flow-key.js';
import { parseIpv4, parseIpv6 } from '../packet/ipaddr.js';
import { parseMacWords } from '../packet/mac.js';
import * as eth from '../packet/ethernet.js';
import * as ipv4 from '../packet/ipv4.js';
import { kFamIpv4, kFamIpv6 } from '../packet/walk.js';

/** Direction index of the compiled lists: outbound = frames the port's endpoint sends (switch ingress). */
export const kDirOut = 0;
/** Inbound = frames delivered to the port (switch egress). */
export const kDirIn = 1;

/** Selector types (control path). */
export const kSelNone = 0;
export const kSelMac = 1;
export const kSelIp4 = 2;
export const kSelIp6 = 3;
export const kSelAnyIp = 4;
const kMacBits = 48; // a MAC selector's specificity (config.ts)

/** A parsed address selector (control path). */
export interface Selector {
  type: number;
  words: number[]; // 4 value words (int32), already masked
  masks: number[]; // 4 mask words (int32)
  bits: number; // specificity
}

const kNoSelector: Selector = { type: kSelNone, words: [0, 0, 0, 0], masks: [0, 0, 0, 0], bits: 0 };

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return (-1 << (32 - bits)) | 0;
}

/** 'any', an IPv4/IPv6 address (host prefix) or prefix 'addr/n' -> a selector. Throws a clear Error. */
export function parseIpSelector(text: unknown, what: string): Selector {
  if (typeof text !== 'string')
    throw new Error(`${what}: expected an IP prefix string or 'any', got ${JSON.stringify(text)}`);
  const t = text.trim();
  if (t.toLowerCase() === 'any') return { type: kSelAnyIp, words: [0, 0, 0, 0], masks: [0, 0, 0, 0], bits: 0 };
  const slash = t.indexOf('/');
  const addr = slash < 0 ? t : t.slice(0, slash);
  const v6 = addr.includes(':');
  const max = v6 ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max)
      throw new Error(`${what}: invalid prefix '${t}': the length after '/' must be 0..${max}`);
    bits = Number(p);
  }
  const words = [0, 0, 0, 0];
  try {
    if (v6) {
      const b = parseIpv6(addr);
      for (let i = 0; i < 4; i++)
        words[i] = (b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]! | 0;
    } else {
      words[0] = parseIpv4(addr) | 0;
    }
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
  const masks = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    masks[i] = maskWord(bits - 32 * i);
    words[i] = words[i]! & masks[i]!;
  }
  return { type: v6 ? kSelIp6 : kSelIp4, words, masks, bits };
}

/** A MAC text -> an exact-match selector (48 bits). */
export function parseMacSelector(text: unknown, what: string): Selector {
  try {
    const { hi16, lo32 } = parseMacWords(text as string);
    return { type: kSelMac, words: [hi16, lo32 | 0, 0, 0], masks: [-1, -1, 0, 0], bits: kMacBits };
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

/** IPv4 vs IPv6 of a selector (0 for 'any', MAC or none). */
export function selectorFamily(s: Selector): number {
  return s.type === kSelIp4 ? kFamily4 : s.type === kSelIp6 ? kFamily6 : 0;
}

/**
 * Append the ops of a selector on one side of the frame to `ops`, as (field, lo, hi) triples: the frame
 * matches when lo <= v[field] <= hi for every triple (FlowKey.v). `addr` is kf.src or kf.dst, `macHi`
 * kf.srcMacHi or kf.dstMacHi. An IP prefix is a range per word it covers (address words are sign-flipped
 * in FlowKey.v, so unsigned ranges compare as int32; /0 and 'any' need no op); a MAC is two equalities,
 * low word first (the part that differs). The family is not an op: lists are compiled per family
 * (`familyClass`, `acceptsFamily`), so a rule is only ever run against frames of a family it accepts.
 */
export function selectorOps(s: Selector, addr: number, macHi: number, ops: number[]): void {
  if (s.type === kSelMac) {
    ops.push(macHi + 1, s.words[1]!, s.words[1]!, macHi, s.words[0]!, s.words[0]!);
    return;
  }
  if (s.type !== kSelIp4 && s.type !== kSelIp6) return;
  for (let i = 0; i < 4; i++) {
    const m = s.masks[i]!;
    if (m === 0) continue;
    const lo = s.words[i]! & m;
    const hi = lo | ~m;
    ops.push(addr + i, lo ^ kSignFlip, hi ^ kSignFlip);
  }
}

/** Family classes of compiled lists: 0 = not IP, 1 = IPv4, 2 = IPv6. */
export const kClasses = 3;
/** The list class of a frame family (0, 4 or 6). */
export function familyClass(family: number): number {
  return family === kFamily4 ? 1 : family === kFamily6 ? 2 : 0;
}
/** Can a selector match frames of list class `cls`? */
export function acceptsClass(s: Selector, cls: number): boolean {
  if (s.type === kSelNone || s.type === kSelMac) return true;
  if (s.type === kSelAnyIp) return cls !== 0;
  return cls === (s.type === kSelIp4 ? 1 : 2);
}

/**
 * An ordered list of compiled rules: rule i is the triples ops[ends[i-1] .. ends[i]) (3 int32 each,
 * `selectorOps`). `first` returns the first rule whose triples all hold: one tight loop over int32s, no
 * call or branch on rule kind per rule.
 */
export class RuleList {
  readonly n: number;
  readonly ends: Int32Array;
  readonly ops: Int32Array;
  /** Rule position in the user's array, by list index. */
  readonly pos: Int32Array;
  /** One flag per rule by list index (acl.ts: 1 = deny). */
  readonly flags: Uint8Array;

  constructor(programs: number[][], pos: number[], flags: number[] = []) {
    this.n = programs.length;
    this.ends = new Int32Array(Math.max(1, this.n));
    this.pos = Int32Array.from(pos.length > 0 ? pos : [0]);
    this.flags = new Uint8Array(Math.max(1, this.n));
    this.flags.set(flags);
    const flat: number[] = [];
    programs.forEach((p, i) => {
      flat.push(...p);
      this.ends[i] = flat.length;
    });
    this.ops = Int32Array.from(flat.length > 0 ? flat : [0]);
  }

  /** List index of the first rule the key vector matches, or -1. Datapath: no allocation. */
  first(v: Int32Array): number {
    const { ops, ends, n } = this;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const e = ends[i]!;
      for (; j < e; j += 3) {
        const x = v[ops[j]!]!;
        if (x < ops[j + 1]! || x > ops[j + 2]!) break;
      }
      if (j >= e) return i;
      j = e;
    }
    return -1;
  }
}

interface CompiledRule {
  pos: number;
  action: number; // 0 allow, 1 deny, 2 meter
  dirs: number; // bit 0 outbound, bit 1 inbound
  local: Selector;
  remote: Selector;
  bits: number;
}

const kActAllow = 0;
const kActDeny = 1;
const kActMeter = 2;

function buildList(all: CompiledRule[], dir: number, cls: number): RuleList {
  // outbound: local = source, remote = destination; inbound the other way round
  const rules = all.filter((r) => acceptsClass(r.local, cls) && acceptsClass(r.remote, cls));
  const programs = rules.map((r) => {
    const ops: number[] = [];
    selectorOps(dir === kDirOut ? r.remote : r.local, kf.dst, kf.dstMacHi, ops);
    selectorOps(dir === kDirOut ? r.local : r.remote, kf.src, kf.srcMacHi, ops);
    return ops;
  });
  return new RuleList(
    programs,
    rules.map((r) => r.pos),
    rules.map((r) => (r.action === kActDeny ? 1 : 0)),
  );
}

function directionBits(d: unknown, what: string): number {
  if (d === 'outbound') return 1;
  if (d === 'inbound') return 2;
  if (d === 'both') return 3;
  throw new Error(`${what}: direction must be 'inbound', 'outbound' or 'both', got ${JSON.stringify(d)}`);
}

/** Rule ids for stats: rule.id when given, else the 1-based position. */
export function ruleIds(rules: ReadonlyArray<{ id?: number }>, what: string): number[] {
  return rules.map((r, i) => {
    if (r.id === undefined) return i + 1;
    if (!Number.isInteger(r.id) || r.id < 0)
      throw new Error(`${what} ${i + 1}: id must be a non-negative integer, got ${JSON.stringify(r.id)}`);
    return r.id;
  });
}

/**
 * A basic ACL decision depends only on FlowKey.v's family, addresses and MACs (kf.family..kf.dstMacLo).
 * One cache entry is one 64-byte line of 16 int32: the 7 words that can differ between two IPv4 (or
 * non-IP) keys first, then the 6 inner IPv6 address words, then the result:
 *   0 family + 1 (0 = empty)  1 src0  2 dst0  3 srcMacHi  4 srcMacLo  5 dstMacHi  6 dstMacLo
 *   7..9 src1..3  10..12 dst1..3  13 deciding rule position (-1)  14 verdict  15 metering rule position (-1)
 * For family 0 and 4 the inner words are constant, so a hit compares 7 words; IPv6 compares all 13.
 */
const kEntry = 16;
const kEntryDecide = 13;
const kEntryVerdict = 14;
const kEntryMeter = 15;
/** Cache entries per direction (power of two): 256 address pairs x 2 directions = 30 KB per port with rules. */
export const kCacheBits = 8;

/** Cache slot of a key vector: a mix of the words that vary most. */
function cacheIndex(v: Int32Array, shift: number): number {
  return mix(
    shift,
    v[kf.family]!,
    v[kf.src]! ^ v[kf.src + 3]!,
    v[kf.dst]! ^ v[kf.dst + 3]!,
    v[kf.srcMacHi]!,
    v[kf.srcMacLo]!,
    v[kf.dstMacHi]!,
    v[kf.dstMacLo]!,
  );
}

function mix(
  shift: number,
  fam: number,
  src: number,
  dst: number,
  smh: number,
  sml: number,
  dmh: number,
  dml: number,
): number {
  let h = fam ^ Math.imul(src, 0x9e3779b1) ^ Math.imul(dst, 0x85ebca6b);
  h ^= Math.imul(sml ^ dmh, 0xc2b2ae35) ^ dml ^ (smh << 16);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h >>> shift;
}

/** A port's compiled ACLs. Build with `compileAcls`. */
export class AclTable {
  /** Rule ids by position (stats). */
  readonly ids: readonly number[];
  /** Hit counters by rule position: [2p] frames, [2p + 1] bytes. */
  readonly hits: Float64Array;
  /** Lists by (dir * kClasses + family class) * 2 + (0 allow/deny, 1 meter). */
  private readonly lists: RuleList[] = [];
  private readonly count: number[];
  /** Verdict cache, `entries` per direction, kEntry words each (layout above). */
  private readonly cache: Int32Array;
  private readonly entries: number;
  private readonly shift: number;
  /** Lookups answered by the cache [0] and by a scan [1] (tests and benchmarks read them). */
  readonly cacheStats = new Float64Array(2);

  constructor(ids: number[], decide: CompiledRule[][], meter: CompiledRule[][], cacheBits: number) {
    this.ids = ids;
    if (!Number.isInteger(cacheBits) || cacheBits < 1 || cacheBits > 16)
      throw new RangeError(`cacheBits must be an integer from 1 to 16, got ${cacheBits}`);
    this.entries = 1 << cacheBits;
    this.shift = 32 - cacheBits;
    this.cache = new Int32Array(2 * this.entries * kEntry);
    this.hits = new Float64Array(Math.max(1, ids.length) * 2);
    for (const dir of [kDirOut, kDirIn])
      for (let cls = 0; cls < kClasses; cls++) {
        this.lists.push(buildList(decide[dir]!, dir, cls));
        this.lists.push(buildList(meter[dir]!, dir, cls));
      }
    this.count = [decide[kDirOut]!.length + meter[kDirOut]!.length, decide[kDirIn]!.length + meter[kDirIn]!.length];
  }

  /** True when the direction has any rule (allow, deny or meter). */
  has(dir: number): boolean {
    return this.count[dir]! > 0;
  }

  /**
   * Evaluate a parsed frame of `bytes` bytes in direction `dir`: 0 = allow, 1 = deny. Counts the deciding
   * rule and the winning meter rule. Datapath: no allocation, no throw.
   */
  evaluate(dir: number, key: FlowKey, bytes: number): number {
    const v = key.v;
    const cached = this.lookup(dir, v, bytes);
    if (cached >= 0) return cached;
    this.cacheStats[1]++;
    const hits = this.hits;
    const li = (dir * kClasses + familyClass(key.family)) << 1;
    let verdict = 0;
    let dp = -1;
    let mp = -1;
    const d = this.lists[li]!;
    if (d.n > 0) {
      const i = d.first(v);
      if (i >= 0) {
        dp = d.pos[i]!;
        hits[dp << 1]++;
        hits[(dp << 1) + 1] += bytes;
        verdict = d.flags[i]!;
      }
    }
    const m = this.lists[li + 1]!;
    if (m.n > 0) {
      const i = m.first(v);
      if (i >= 0) {
        mp = m.pos[i]!;
        hits[mp << 1]++;
        hits[(mp << 1) + 1] += bytes;
      }
    }
    const c = this.cache;
    const b = (dir * this.entries + cacheIndex(v, this.shift)) * kEntry;
    c[b] = v[kf.family]! + 1;
    c[b + 1] = v[kf.src]!;
    c[b + 2] = v[kf.dst]!;
    c[b + 3] = v[kf.srcMacHi]!;
    c[b + 4] = v[kf.srcMacLo]!;
    c[b + 5] = v[kf.dstMacHi]!;
    c[b + 6] = v[kf.dstMacLo]!;
    for (let k = 1; k < 4; k++) {
      c[b + 6 + k] = v[kf.src + k]!;
      c[b + 9 + k] = v[kf.dst + k]!;
    }
    c[b + kEntryDecide] = dp;
    c[b + kEntryVerdict] = verdict;
    c[b + kEntryMeter] = mp;
    return verdict;
  }

  /**
   * The cached verdict for key vector `v` (counting the cached rules' hits), or -1 when the cache does not
   * hold it. Datapath.
   */
  lookup(dir: number, v: Int32Array, bytes: number): number {
    const c = this.cache;
    const b = (dir * this.entries + cacheIndex(v, this.shift)) * kEntry;
    const fam = v[kf.family]!;
    if (
      c[b] !== fam + 1 ||
      c[b + 1] !== v[kf.src] ||
      c[b + 2] !== v[kf.dst] ||
      c[b + 4] !== v[kf.srcMacLo] ||
      c[b + 6] !== v[kf.dstMacLo] ||
      c[b + 3] !== v[kf.srcMacHi] ||
      c[b + 5] !== v[kf.dstMacHi]
    )
      return -1;
    if (fam === kFamily6)
      for (let k = 1; k < 4; k++) if (c[b + 6 + k] !== v[kf.src + k] || c[b + 9 + k] !== v[kf.dst + k]) return -1;
    return this.answer(b, bytes);
  }

  /** A cache hit at entry offset b: count the cached rules' hits, return the verdict. */
  private answer(b: number, bytes: number): number {
    const c = this.cache;
    const hits = this.hits;
    this.cacheStats[0]++;
    const dp = c[b + kEntryDecide]!;
    if (dp >= 0) {
      hits[dp << 1]++;
      hits[(dp << 1) + 1] += bytes;
    }
    const mp = c[b + kEntryMeter]!;
    if (mp >= 0) {
      hits[mp << 1]++;
      hits[(mp << 1) + 1] += bytes;
    }
    return c[b + kEntryVerdict]!;
  }

  /**
   * Fast path before any FlowKey: build the cache key from the frame's header record (packet/walk.ts:
   * `fam`, the IP header at `start + l3`) for the frames whose key is cheap to read exactly as FlowKey.parse
   * would (untagged IPv4 and non-IP frames), and answer from the cache. -1 = parse and `evaluate` (IPv6,
   * tagged, or not cached).
   */
  probe(dir: number, view: DataView, start: number, l3: number, fam: number, bytes: number): number {
    if (l3 !== eth.field.headerLen || fam === kFamIpv6) return -1;
    let key = 0;
    let src = kSignFlip;
    let dst = kSignFlip;
    if (fam === kFamIpv4) {
      const ip = start + l3;
      key = kFamily4;
      src = ipv4.src(view, ip) ^ kSignFlip;
      dst = ipv4.dst(view, ip) ^ kSignFlip;
    }
    const famKey = key;
    const dmh = eth.dstHi16(view, start);
    const dml = eth.dstLo32(view, start) | 0; // int32, as FlowKey and the cache hold it
    const smh = eth.srcHi16(view, start);
    const sml = eth.srcLo32(view, start) | 0;
    // an IPv4 or non-IP key: inner IPv6 words are kSignFlip on both sides, so 7 words decide
    const c = this.cache;
    const b =
      (dir * this.entries + mix(this.shift, famKey, src ^ kSignFlip, dst ^ kSignFlip, smh, sml, dmh, dml)) * kEntry;
    if (
      c[b] !== famKey + 1 ||
      c[b + 1] !== src ||
      c[b + 2] !== dst ||
      c[b + 4] !== sml ||
      c[b + 6] !== dml ||
      c[b + 3] !== smh ||
      c[b + 5] !== dmh
    )
      return -1;
    return this.answer(b, bytes);
  }
}

/** Compile a port's AclRule[] (control path: allocates, throws a clear Error on bad input). */
/** `cacheBits`: log2 of the verdict cache entries per direction (tests use tiny caches to force collisions). */
export function compileAcls(rules: readonly AclRule[], cacheBits = kCacheBits): AclTable {
  if (!Array.isArray(rules)) throw new Error(`acls: expected an array of rules, got ${JSON.stringify(rules)}`);
  const ids = ruleIds(rules, 'acl');
  const compiled: CompiledRule[] = rules.map((r, i) => {
    const what = `acl ${ids[i]}`;
    if (r === null || typeof r !== 'object') throw new Error(`${what}: expected a rule object`);
    const action =
      r.action === 'allow' ? kActAllow : r.action === 'deny' ? kActDeny : r.action === 'meter' ? kActMeter : -1;
    if (action < 0)
      throw new Error(`${what}: action must be 'allow', 'deny' or 'meter', got ${JSON.stringify(r.action)}`);
    const dirs = directionBits(r.direction, what);
    if (r.localMac !== undefined && r.localIp !== undefined)
      throw new Error(`${what}: give localMac or localIp, not both`);
    if (r.remoteMac !== undefined && r.remoteIp !== undefined)
      throw new Error(`${what}: give remoteMac or remoteIp, not both`);
    const local =
      r.localMac !== undefined
        ? parseMacSelector(r.localMac, `${what} localMac`)
        : r.localIp !== undefined
          ? parseIpSelector(r.localIp, `${what} localIp`)
          : kNoSelector;
    const remote =
      r.remoteMac !== undefined
        ? parseMacSelector(r.remoteMac, `${what} remoteMac`)
        : r.remoteIp !== undefined
          ? parseIpSelector(r.remoteIp, `${what} remoteIp`)
          : kNoSelector;
    if (local.type === kSelNone && remote.type === kSelNone)
      throw new Error(`${what}: needs an address (localMac, remoteMac, localIp or remoteIp; 'any' for every IP frame)`);
    const lf = selectorFamily(local);
    const rf = selectorFamily(remote);
    if (lf !== 0 && rf !== 0 && lf !== rf)
      throw new Error(`${what}: localIp and remoteIp are of different IP versions (it could never match)`);
    return { pos: i, action, dirs, local, remote, bits: local.bits + remote.bits };
  });
  // Most specific first; deny before allow at equal specificity; stable (position) otherwise.
  const order = (a: CompiledRule, b: CompiledRule) => b.bits - a.bits || b.action - a.action || a.pos - b.pos;
  const pick = (dir: number, meter: boolean) =>
    compiled.filter((r) => (r.dirs & (1 << dir)) !== 0 && (r.action === kActMeter) === meter).sort(order);
  return new AclTable(
    ids,
    [pick(kDirOut, false), pick(kDirIn, false)],
    [pick(kDirOut, true), pick(kDirIn, true)],
    cacheBits,
  );
}
