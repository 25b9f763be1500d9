/**
 * Input validation for port policy (docs/policy.md): ACLs, extended ACLs, QoS, guards, mirroring and
 * private VLANs, from the config file, the API or the CLI (control/policy-args.ts), into the shapes of
 * policy/config.ts. It sits beside validate.ts and keeps its style: each check is one `if` with one message
 * naming the field, what was wrong and what would be right; nothing reaches a running switch unless it
 * passes, so a refused change leaves the switch as it was.
 *
 * Trade-offs: outputs are canonical (an IP prefix has one spelling, a port range one form, protocol numbers
 * with a name become the name), so the compilers in policy/*.ts and `config show` see one form per value;
 * the cost is that a config read back may not be byte-identical to the one written. Rules that could never
 * match (an IPv4 local prefix with an IPv6 remote one, icmp with IPv6 prefixes, ports without tcp/udp) are
 * refused rather than accepted as dead rules. Checks that need the whole switch (one isolated secondary per
 * primary, mirror destinations existing) belong to whoever holds the switch, not here.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../packet/ipaddr.js';
import type { AclDirection, AclProtocol, AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { PvlanMode, VlanConfig } from '../switch/vlan-config.js';
import { bool, fail, int, macText, obj, onlyKeys, oneOf, show, vid } from './validate-helpers.js';

const kIpv4Bits = 32;
const kIpv6Bits = 128;
const kMaxPort = 65535;
/** Rule ids fit a u32 column of the compiled rule tables. */
const kMaxRuleId = 0xffffffff;
/** Extended ACL weights: Hyper-V's range (Add-VMNetworkAdapterExtendedAcl -Weight). */
const kMaxWeight = 65535;
/** Stateful idle timeout: at most a day, like MAC aging (more is almost certainly a unit mistake). */
const kMaxIdleTimeout = 86400;
/** Storm limit: 10 Mpps is above what one userspace port delivers; a larger number is a unit mistake. */
const kMaxStormLimit = 10_000_000;
/** Bandwidth bounds in bits/s: below 1 kbit/s a 1514-byte frame waits 12 s; 100 Gbit/s is the fastest NIC class. */
const kMinRate = 1000;
const kMaxRate = 100_000_000_000;
/** Burst bounds in bytes: one full Ethernet frame (1514) at least, 1 GB at most (a larger bucket never shapes). */
const kMinBurst = 1514;
const kMaxBurst = 1_000_000_000;
/** Hyper-V MinimumBandwidthWeight range. */
const kMaxMinWeight = 100;
/** IP protocol numbers with a name in ExtAclRule.protocol: the name is the canonical form. */
export const kProtoNames: Record<number, AclProtocol> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

const kAclActions = ['allow', 'deny', 'meter'] as const;
const kExtActions = ['allow', 'deny'] as const;
const kDirections = ['inbound', 'outbound', 'both'] as const;
const kProtocols = ['tcp', 'udp', 'icmp', 'icmpv6'] as const;
const kMirrorModes = ['none', 'source', 'destination'] as const;
const kMirrorDirections = ['ingress', 'egress', 'both'] as const;
const kPvlanModes = ['isolated', 'community', 'promiscuous'] as const satisfies readonly PvlanMode[];

/**
 * An IP selector: 'any', an IPv4 address with optional /0-32 or an IPv6 address with optional /0-128.
 * Canonical output: 'any', the address for a host prefix (/32, /128), else network/length, IPv6 in
 * RFC 5952 form.
 */
export function ipPrefix(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(field, `must be an IP prefix like 10.0.0.0/8 or fd00::/8, an address, or "any", got ${show(v)}`);
  const text = v as string;
  if (text === 'any') return 'any';
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const len = slash < 0 ? undefined : text.slice(slash + 1);
  return text.includes(':') ? prefix6(text, addr, len, field) : prefix4(text, addr, len, field);
}

function prefixLength(text: string, len: string | undefined, max: number, field: string): number {
  if (len === undefined) return max;
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) fail(field, `prefix length ${show(len)} in ${text} must be a whole number from 0 to ${max}`);
  return Number(len);
}

function prefix4(text: string, addrText: string, lenText: string | undefined, field: string): string {
  let addr = 0;
  try {
    addr = parseIpv4(addrText);
  } catch {
    fail(field, `${show(text)} is not an IPv4 address or prefix; expected four decimal octets 0-255 and an optional /0-32, like 10.0.0.0/8`);
  }
  const len = prefixLength(text, lenText, kIpv4Bits, field);
  const net = len === 0 ? 0 : (addr & (0xffffffff << (kIpv4Bits - len))) >>> 0;
  if (net !== addr) fail(field, `${text} has host bits set; did you mean ${formatIpv4(net)}/${len}?`);
  return len === kIpv4Bits ? formatIpv4(addr) : `${formatIpv4(addr)}/${len}`;
}

function prefix6(text: string, addrText: string, lenText: string | undefined, field: string): string {
  let addr: Uint8Array = new Uint8Array(0);
  try {
    addr = parseIpv6(addrText);
  } catch (err) {
    const why = (err as Error).message.replace(/^invalid IPv6 address '[^']*': /, '');
    fail(field, `${show(text)} is not an IPv6 address or prefix (${why}); expected a form like fd00::/8 or 2001:db8::1`);
  }
  const len = prefixLength(text, lenText, kIpv6Bits, field);
  const net = new Uint8Array(addr.length);
  for (let i = 0; i < net.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i)); // bits of byte i inside the prefix
    net[i] = addr[i] & ((0xff00 >> keep) & 0xff);
  }
  if (!net.every((b, i) => b === addr[i])) fail(field, `${text} has host bits set; did you mean ${formatIpv6(net)}/${len}?`);
  return len === kIpv6Bits ? formatIpv6(addr) : `${formatIpv6(addr)}/${len}`;
}

/** 4, 6, or 0 for 'any'. */
function family(prefix: string): 0 | 4 | 6 {
  return prefix === 'any' ? 0 : prefix.includes(':') ? 6 : 4;
}

/** A port or port range: 80, '80', '1024-65535'. Canonical output: 'N' (also for 'N-N') or 'N-M'. */
export function portRange(v: unknown, field: string): string {
  if (typeof v === 'number') return String(int(v, field, 0, kMaxPort));
  const m = typeof v === 'string' ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v) : null;
  if (!m) fail(field, `must be a port 0-${kMaxPort} or a range "low-high" like "1024-65535", got ${show(v)}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > kMaxPort || hi > kMaxPort) fail(field, `${show(v)} is out of range; ports are 0 to ${kMaxPort}`);
  if (lo > hi) fail(field, `range ${v as string} is backwards; write it low-high (${hi}-${lo})`);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

function ruleId(v: unknown, field: string): number {
  return int(v, field, 1, kMaxRuleId);
}

/** Refuses a local/remote IP pair of different families: no frame could match both. */
function sameFamily(local: string | undefined, remote: string | undefined, field: string): void {
  if (local === undefined || remote === undefined) return;
  const a = family(local);
  const b = family(remote);
  if (a !== 0 && b !== 0 && a !== b) fail(`${field}.remoteIp`, `${remote} is IPv${b} but localIp ${local} is IPv${a}; a frame has one family, so write one rule per family (or use "any")`);
}

/** Port ACL (Add-VMNetworkAdapterAcl): MAC selectors or IP selectors, at least one, never both kinds. */
export function aclRule(v: unknown, field: string): AclRule {
  const o = obj(v, field);
  onlyKeys(o, field, ['id', 'action', 'direction', 'localMac', 'remoteMac', 'localIp', 'remoteIp']);
  const id = o.id === undefined ? undefined : ruleId(o.id, `${field}.id`);
  const action = oneOf(o.action, `${field}.action`, kAclActions);
  const direction = oneOf(o.direction, `${field}.direction`, kDirections);
  const out: AclRule = id === undefined ? { action, direction } : { id, action, direction };
  if (o.localMac !== undefined) out.localMac = macText(o.localMac, `${field}.localMac`);
  if (o.remoteMac !== undefined) out.remoteMac = macText(o.remoteMac, `${field}.remoteMac`);
  if (o.localIp !== undefined) out.localIp = ipPrefix(o.localIp, `${field}.localIp`);
  if (o.remoteIp !== undefined) out.remoteIp = ipPrefix(o.remoteIp, `${field}.remoteIp`);
  const macs = out.localMac !== undefined || out.remoteMac !== undefined;
  const ips = out.localIp !== undefined || out.remoteIp !== undefined;
  if (!macs && !ips) fail(field, 'needs an address to match: at least one of localMac, remoteMac, localIp, remoteIp (localIp "any" matches every IP frame)');
  if (macs && ips) fail(field, 'mixes MAC and IP selectors; a port ACL matches MAC addresses or IP prefixes, so write one rule for each');
  sameFamily(out.localIp, out.remoteIp, field);
  return out;
}

function protocol(v: unknown, field: string): AclProtocol {
  if (typeof v === 'number') return kProtoNames[int(v, field, 0, 255)] ?? v;
  return oneOf(v, field, kProtocols);
}

/** Extended port ACL (Add-VMNetworkAdapterExtendedAcl): 5-tuple, weight, optional stateful allow. */
export function extAclRule(v: unknown, field: string): ExtAclRule {
  const o = obj(v, field);
  onlyKeys(o, field, ['id', 'action', 'direction', 'weight', 'protocol', 'localIp', 'remoteIp', 'localPort', 'remotePort', 'stateful', 'idleTimeout']);
  const id = o.id === undefined ? undefined : ruleId(o.id, `${field}.id`);
  const action = oneOf(o.action, `${field}.action`, kExtActions);
  const direction = oneOf(o.direction, `${field}.direction`, kDirections);
  const weight = int(o.weight, `${field}.weight`, 1, kMaxWeight);
  const out: ExtAclRule = id === undefined ? { action, direction, weight } : { id, action, direction, weight };
  if (o.protocol !== undefined) out.protocol = protocol(o.protocol, `${field}.protocol`);
  if (o.localIp !== undefined) out.localIp = ipPrefix(o.localIp, `${field}.localIp`);
  if (o.remoteIp !== undefined) out.remoteIp = ipPrefix(o.remoteIp, `${field}.remoteIp`);
  sameFamily(out.localIp, out.remoteIp, field);
  const fam = Math.max(family(out.localIp ?? 'any'), family(out.remoteIp ?? 'any'));
  if (out.protocol === 'icmp' && fam === 6) fail(`${field}.protocol`, 'icmp is IPv4 ICMP but the rule has IPv6 prefixes; use icmpv6');
  if (out.protocol === 'icmpv6' && fam === 4) fail(`${field}.protocol`, 'icmpv6 is IPv6 ICMP but the rule has IPv4 prefixes; use icmp');
  const ported = out.protocol === 'tcp' || out.protocol === 'udp';
  for (const k of ['localPort', 'remotePort'] as const) {
    if (o[k] === undefined) continue;
    if (!ported) fail(`${field}.${k}`, `ports apply only to protocol tcp or udp, got ${out.protocol === undefined ? 'no protocol (any)' : `protocol ${out.protocol}`}`);
    out[k] = portRange(o[k], `${field}.${k}`);
  }
  if (o.stateful !== undefined) out.stateful = bool(o.stateful, `${field}.stateful`);
  if (out.stateful && action !== 'allow') fail(`${field}.stateful`, 'only an allow rule can be stateful (its flow entry lets the replies through); use action allow or drop stateful');
  if (o.idleTimeout !== undefined && !out.stateful) fail(`${field}.idleTimeout`, 'applies only to stateful rules (the flow entry is what times out)');
  if (o.idleTimeout !== undefined) out.idleTimeout = int(o.idleTimeout, `${field}.idleTimeout`, 1, kMaxIdleTimeout);
  return out;
}

const overlap = (a: AclDirection, b: AclDirection) => a === b || a === 'both' || b === 'both';

function list<T>(v: unknown, field: string, what: string, item: (x: unknown, f: string) => T): T[] {
  if (!Array.isArray(v)) fail(field, `must be a list of ${what}, got ${show(v)}`);
  return (v as unknown[]).map((x, i) => item(x, `${field}[${i}]`));
}

function uniqueIds(rules: { id?: number }[], field: string): void {
  const seen = new Map<number, number>();
  rules.forEach((r, i) => {
    if (r.id === undefined) return;
    const j = seen.get(r.id);
    if (j !== undefined) fail(`${field}[${i}].id`, `id ${r.id} is already used by ${field}[${j}]; rule ids are unique within a port`);
    seen.set(r.id, i);
  });
}

/**
 * Every PortPolicy key. `mode` is the switch's minimum-bandwidth mode: a weight on an absolute switch (or
 * the reverse) is refused; without a mode either is accepted, but not both at once.
 */
/** PortPolicy's settings other than the rule lists (policy-edit.ts merges them one by one). */
export const kPolicySettings = [
  'macAddressSpoofing',
  'dhcpGuard',
  'routerGuard',
  'ieeePriorityTag',
  'stormLimit',
  'maxFlows',
  'maximumBandwidth',
  'maximumBurst',
  'minimumBandwidthWeight',
  'minimumBandwidthAbsolute',
  'mirror',
  'mirrorDirection',
] as const;

export function portPolicy(v: unknown, field: string, mode?: MinimumBandwidthMode): PortPolicy {
  const o = obj(v, field);
  onlyKeys(o, field, [...kPolicySettings, 'acls', 'extendedAcls']);
  const out: PortPolicy = {};
  for (const k of ['macAddressSpoofing', 'dhcpGuard', 'routerGuard', 'ieeePriorityTag'] as const) if (o[k] !== undefined) out[k] = bool(o[k], `${field}.${k}`);
  if (o.stormLimit !== undefined) out.stormLimit = int(o.stormLimit, `${field}.stormLimit`, 0, kMaxStormLimit);
  if (o.maxFlows !== undefined) out.maxFlows = int(o.maxFlows, `${field}.maxFlows`, 0, 1 << 22);
  if (o.maximumBandwidth !== undefined) out.maximumBandwidth = bandwidth(o.maximumBandwidth, `${field}.maximumBandwidth`);
  if (o.maximumBurst !== undefined) out.maximumBurst = int(o.maximumBurst, `${field}.maximumBurst`, kMinBurst, kMaxBurst);
  const w = o.minimumBandwidthWeight;
  const a = o.minimumBandwidthAbsolute;
  if (w !== undefined && mode === 'absolute') fail(`${field}.minimumBandwidthWeight`, "this switch's minimum-bandwidth mode is absolute; give minimumBandwidthAbsolute (bits/s) instead");
  if (a !== undefined && mode === 'weight') fail(`${field}.minimumBandwidthAbsolute`, "this switch's minimum-bandwidth mode is weight; give minimumBandwidthWeight (1-100) instead");
  if (w !== undefined && a !== undefined) fail(`${field}.minimumBandwidthAbsolute`, "give minimumBandwidthWeight or minimumBandwidthAbsolute, not both; the switch's minimum-bandwidth mode decides which one applies");
  if (w !== undefined) out.minimumBandwidthWeight = int(w, `${field}.minimumBandwidthWeight`, 1, kMaxMinWeight);
  if (a !== undefined) out.minimumBandwidthAbsolute = int(a, `${field}.minimumBandwidthAbsolute`, kMinRate, kMaxRate);
  if (o.mirror !== undefined) out.mirror = oneOf(o.mirror, `${field}.mirror`, kMirrorModes);
  if (o.mirrorDirection !== undefined && out.mirror !== 'source')
    fail(`${field}.mirrorDirection`, `applies only to a mirroring source (mirror "source"), got ${out.mirror === undefined ? 'no mirror setting' : `mirror ${show(out.mirror)}`}`);
  if (o.mirrorDirection !== undefined) out.mirrorDirection = oneOf(o.mirrorDirection, `${field}.mirrorDirection`, kMirrorDirections);
  if (o.acls !== undefined) {
    out.acls = list(o.acls, `${field}.acls`, 'port ACL rules', aclRule);
    uniqueIds(out.acls, `${field}.acls`);
  }
  if (o.extendedAcls !== undefined) {
    const ext = list(o.extendedAcls, `${field}.extendedAcls`, 'extended ACL rules', extAclRule);
    uniqueIds(ext, `${field}.extendedAcls`);
    // Weights order evaluation; two rules that can see the same frame with one weight would tie.
    ext.forEach((r, i) => {
      const j = ext.findIndex((q, k) => k < i && q.weight === r.weight && overlap(q.direction, r.direction));
      if (j >= 0)
        fail(`${field}.extendedAcls[${i}].weight`, `weight ${r.weight} is already used by extendedAcls[${j}] (${ext[j].direction}) and this rule is ${r.direction}; weights are unique per direction, so pick another`);
    });
    out.extendedAcls = ext;
  }
  return out;
}

function bandwidth(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== 0 && (v < kMinRate || v > kMaxRate)))
    fail(field, `must be 0 (off) or a whole number of bits/s from ${kMinRate} to ${kMaxRate} (1k to 100G), got ${show(v)}`);
  return v as number;
}

export type PrivateVlanConfig = Extract<VlanConfig, { mode: 'private' }>;

/**
 * Private VLAN mode (Set-VMNetworkAdapterVlan -Isolated/-Community/-Promiscuous): a primary VLAN and the
 * secondaries; isolated and community ports have exactly one, promiscuous ports one or more. Secondaries
 * come back sorted with duplicates merged (as trunk lists do in validate.ts).
 */
export function pvlanConfig(v: unknown, field: string): PrivateVlanConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['mode', 'pvlan', 'primary', 'secondary']);
  const mode = oneOf(o.mode, `${field}.mode`, ['private'] as const);
  const pvlan = oneOf(o.pvlan, `${field}.pvlan`, kPvlanModes);
  const primary = vid(o.primary, `${field}.primary`);
  if (!Array.isArray(o.secondary)) fail(`${field}.secondary`, `must be a list of VLAN IDs (1-4094), got ${show(o.secondary)}`);
  const given = (o.secondary as unknown[]).map((x, i) => vid(x, `${field}.secondary[${i}]`));
  given.forEach((x, i) => {
    if (x === primary) fail(`${field}.secondary[${i}]`, `${x} is the primary VLAN; a secondary VLAN must differ from the primary`);
  });
  const secondary = [...new Set(given)].sort((p, q) => p - q);
  const port = `${pvlan === 'community' ? 'a' : 'an'} ${pvlan} port`;
  if (secondary.length === 0) fail(`${field}.secondary`, `${port} needs ${pvlan === 'promiscuous' ? 'at least one secondary VLAN' : 'exactly one secondary VLAN'}, got none`);
  if (pvlan !== 'promiscuous' && secondary.length !== 1)
    fail(`${field}.secondary`, `${port} has exactly one secondary VLAN, got ${secondary.length} (${secondary.join(', ')}); only a promiscuous port lists several`);
  return { mode, pvlan, primary, secondary };
}
