/**
 * Port policy from the command line: the policy and ACL flags (declared once, with their help; the
 * commands in cli/policy.ts pick theirs), the text parsers for rates ("50M") and sizes ("64K"), and the
 * translation of flags and positionals into PortPolicy, AclRule and ExtAclRule, validated by
 * validate-policy.ts.
 *
 * Why a separate file: the commands only dispatch; the mapping between flag names and policy keys is a table
 * here, used both to build the shape and to translate the validator's errors back to the flag the user
 * typed ("--max-bandwidth: must be 0 (off) or ...", not "policy.maximumBandwidth: ..."). Trade-off: the
 * validator's messages name JSON keys; camelCase keys in them are rewritten to flags, plain words (mirror,
 * stateful) are left alone because they read as English either way.
 *
 * Units: rates are bits/s with SI multipliers (k = 1000, as tc and Hyper-V count link speeds); sizes are
 * bytes with binary multipliers (K = 1024, as buffer sizes are counted). Values are exact (decimal text,
 * no float rounding): '1.5G' is 1500000000, '1.5K' is 1536, and '0.5' bits/s is refused.
 */
import type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { OptionSpec } from './cli/command.js';
import { ConfigError, macText } from './validate.js';
import { aclRule, extAclRule, portPolicy } from './validate-policy.js';

export type PolicyFlags = Record<string, string | boolean | undefined>;

const kOnOff = ['on', 'off'] as const;

/** The policy and ACL flags, declared once: their type and help. The commands (cli/policy.ts) pick theirs. */
export const policyFlagOptions = {
  mac: { type: 'string', value: 'MAC|none', help: "the endpoint's MAC (what --mac-spoofing off checks, the VMQ filter)" },
  'mac-spoofing': { type: 'string', value: 'on|off', help: 'off: drop frames whose source is not --mac', choices: kOnOff },
  'dhcp-guard': { type: 'string', value: 'on|off', help: 'drop DHCP server messages from the port', choices: kOnOff },
  'router-guard': { type: 'string', value: 'on|off', help: 'drop router advertisements and redirects from the port', choices: kOnOff },
  'priority-tag': { type: 'string', value: 'on|off', help: 'keep 802.1p priority (default on)', choices: kOnOff },
  'storm-limit': { type: 'string', value: 'PPS', help: 'broadcast + multicast + unknown unicast frames/s from the port (0 = off)' },
  'max-flows': { type: 'string', value: 'N', help: 'stateful ACL flows the port may hold at once (0 = no quota)' },
  'max-bandwidth': { type: 'string', value: 'RATE', help: 'egress cap in bits/s: 800k, 50M, 1.5G (0 = off)' },
  'max-burst': { type: 'string', value: 'BYTES', help: 'token bucket depth: 64K, 1M' },
  'min-weight': { type: 'string', value: '1-100', help: 'share of a congested egress (switch mode weight)' },
  'min-absolute': { type: 'string', value: 'RATE', help: 'guaranteed bits/s of a congested egress (switch mode absolute)' },
  mirror: { type: 'string', value: 'MODE', help: 'port mirroring role', choices: ['none', 'source', 'destination'] },
  'mirror-direction': { type: 'string', value: 'DIR', help: 'what a source mirrors', choices: ['ingress', 'egress', 'both'] },
  'local-ip': { type: 'string', value: 'PREFIX|any', help: "the port's side: an IP prefix" },
  'remote-ip': { type: 'string', value: 'PREFIX|any', help: 'the other side: an IP prefix' },
  'local-mac': { type: 'string', value: 'MAC', help: "the port's side: a MAC" },
  'remote-mac': { type: 'string', value: 'MAC', help: 'the other side: a MAC' },
  protocol: { type: 'string', value: 'PROTO', help: 'tcp, udp, icmp, icmpv6 or a number' },
  'local-port': { type: 'string', value: 'N[-M]', help: "the port's side: a TCP/UDP port or range" },
  'remote-port': { type: 'string', value: 'N[-M]', help: 'the other side: a TCP/UDP port or range' },
  stateful: { type: 'boolean', help: 'allow replies of the flows this rule allows (and nothing unsolicited)' },
  'idle-timeout': { type: 'string', value: 'S', help: 'stateful: seconds a flow lives without traffic (default 60)' },
  weight: { type: 'string', value: 'N', help: 'the weight, instead of the WEIGHT argument' },
} as const satisfies Record<string, OptionSpec>;

type PolicyFlag = keyof typeof policyFlagOptions;

function fail(field: string, msg: string): never {
  throw new ConfigError(field, msg);
}

/** Decimal text times a multiplier, exactly; refuses results that are not whole or not safe integers. */
function scaled(text: string, digits: string, mult: bigint, field: string, unit: string): number {
  const [whole, frac = ''] = digits.split('.');
  const n = BigInt(whole + frac) * mult;
  const d = 10n ** BigInt(frac.length);
  if (n % d !== 0n) fail(field, `'${text}' is not a whole number of ${unit}`);
  if (n / d > BigInt(Number.MAX_SAFE_INTEGER)) fail(field, `'${text}' is too large`);
  return Number(n / d);
}

const kSi: Record<string, bigint> = { '': 1n, k: 1000n, m: 1000_000n, g: 1000_000_000n, t: 1000_000_000_000n };
const kBinary: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n };

/** '50M', '1.5G', '800k', '1000000', '100Mbit', '10Gbps' -> bits/s (SI, 1000-based). */
export function rate(text: string, field: string): number {
  // Multiplier letters in either case (no one means millibits); "B" is refused so 50MB is not read as bits.
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtT]?)(?:bps|bits?|bit\/s)?$/.exec(text.trim());
  if (!m) fail(field, `'${text}' is not a rate; write bits per second as a number with an optional k, M, G or T (1000-based), like 800k, 50M or 1.5G`);
  return scaled(text, m[1], kSi[m[2].toLowerCase()], field, 'bits/s');
}

/** '64K', '1M', '1.5K', '1514', '64KiB' -> bytes (1024-based). */
export function bytes(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgG]?)(?:i?B)?$/.exec(text.trim());
  if (!m) fail(field, `'${text}' is not a size; write bytes as a number with an optional K, M or G (1024-based), like 1514, 64K or 1M`);
  return scaled(text, m[1], kBinary[m[2].toLowerCase()], field, 'bytes');
}

function whole(text: string, field: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) fail(field, `must be a whole number, got '${text}'`);
  return Number(text);
}

function onOff(text: string, field: string): boolean {
  if (text !== 'on' && text !== 'off') fail(field, `must be on or off, got '${text}'`);
  return text === 'on';
}

const asText = (text: string) => text;

/** The value of a string flag; a string flag that arrives without a value (or as a boolean) is refused. */
function value(f: PolicyFlags, flag: PolicyFlag): string | undefined {
  const x = f[flag];
  if (x === undefined) return undefined;
  if (typeof x !== 'string') fail(`--${flag}`, 'needs a value');
  return x;
}

/** Policy flags in PortPolicy key order, with their parsers. */
const kPolicyFlags: ReadonlyArray<readonly [PolicyFlag, keyof PortPolicy, (text: string, field: string) => unknown]> = [
  ['mac-spoofing', 'macAddressSpoofing', onOff],
  ['dhcp-guard', 'dhcpGuard', onOff],
  ['router-guard', 'routerGuard', onOff],
  ['priority-tag', 'ieeePriorityTag', onOff],
  ['storm-limit', 'stormLimit', whole],
  ['max-flows', 'maxFlows', whole],
  ['max-bandwidth', 'maximumBandwidth', rate],
  ['max-burst', 'maximumBurst', bytes],
  ['min-weight', 'minimumBandwidthWeight', whole],
  ['min-absolute', 'minimumBandwidthAbsolute', rate],
  ['mirror', 'mirror', asText],
  ['mirror-direction', 'mirrorDirection', asText],
];

const kAclSelectors: ReadonlyArray<readonly [PolicyFlag, 'localMac' | 'remoteMac' | 'localIp' | 'remoteIp']> = [
  ['local-mac', 'localMac'],
  ['remote-mac', 'remoteMac'],
  ['local-ip', 'localIp'],
  ['remote-ip', 'remoteIp'],
];

/** Where a flag belongs, for refusing it in a command that has no use for it. */
const kPolicyOnly: readonly PolicyFlag[] = ['mac', ...kPolicyFlags.map(([flag]) => flag)];
const kMacSelectors: readonly PolicyFlag[] = ['local-mac', 'remote-mac'];
const kIpSelectors: readonly PolicyFlag[] = ['local-ip', 'remote-ip'];
const kExtOnly: readonly PolicyFlag[] = ['protocol', 'local-port', 'remote-port', 'stateful', 'idle-timeout', 'weight'];

function refuse(f: PolicyFlags, flags: readonly PolicyFlag[], why: string): void {
  for (const flag of flags) if (f[flag] !== undefined) fail(`--${flag}`, why);
}

/**
 * Runs a validator and rethrows its ConfigError with the field the user typed: `prefix.key` becomes the
 * key's flag (or positional name), `prefix` alone becomes `whole`, camelCase keys in the message become flags.
 */
function asTyped<T>(run: () => T, prefix: string, names: Record<string, string>, whole: string): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof ConfigError) || (err.field !== prefix && !err.field.startsWith(`${prefix}.`))) throw err;
    const message = err.message.slice(err.field.length + 2).replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (w) => names[w] ?? w);
    throw new ConfigError(names[err.field.slice(prefix.length + 1)] ?? whole, message);
  }
}

const kPolicyNames: Record<string, string> = Object.fromEntries(kPolicyFlags.map(([flag, key]) => [key, `--${flag}`]));
const kSelectorNames: Record<string, string> = Object.fromEntries(kAclSelectors.map(([flag, key]) => [key, `--${flag}`]));

/**
 * The policy flags given (and only those) as a validated PortPolicy, plus the port's MAC from --mac
 * ('none' = clear it, null). `mode` is the switch's minimum-bandwidth mode when the caller knows it.
 */
export function policyFromFlags(f: PolicyFlags, mode?: MinimumBandwidthMode): { policy: PortPolicy; mac?: string | null } {
  refuse(f, [...kAclSelectors.map(([flag]) => flag), ...kExtOnly], 'belongs to an ACL rule, not to the port policy settings');
  const out: { policy: PortPolicy; mac?: string | null } = { policy: {} };
  const mac = value(f, 'mac');
  if (mac !== undefined && mac !== 'none') out.mac = macText(mac, '--mac');
  if (mac === 'none') out.mac = null;
  if (out.mac && parseInt(out.mac.slice(0, 2), 16) & 1) fail('--mac', `${out.mac} is a group (multicast) address; a port's MAC is unicast`);
  const raw: Record<string, unknown> = {};
  for (const [flag, key, parse] of kPolicyFlags) {
    const text = value(f, flag);
    if (text !== undefined) raw[key] = parse(text, `--${flag}`);
  }
  // Each setting is checked on its own here; the daemon validates the merged policy (a --mirror-direction
  // given alone applies to a port that is already a mirror source).
  for (const [key, val] of Object.entries(raw)) {
    const one = key === 'mirrorDirection' ? { mirror: 'source', mirrorDirection: val } : { [key]: val };
    Object.assign(out.policy, { [key]: (asTyped(() => portPolicy(one, 'policy', mode), 'policy', kPolicyNames, 'policy') as Record<string, unknown>)[key] });
  }
  const { mirrorDirection: _d, ...rest } = out.policy;
  asTyped(() => portPolicy(rest, 'policy', mode), 'policy', kPolicyNames, 'policy'); // cross-field rules among the rest
  if (raw.mirror !== undefined && raw.mirrorDirection !== undefined)
    asTyped(() => portPolicy({ mirror: out.policy.mirror, mirrorDirection: out.policy.mirrorDirection }, 'policy', mode), 'policy', kPolicyNames, 'policy');
  return out;
}

/** 'Deny' -> 'deny': Hyper-V spells actions and directions capitalised; the shapes are lower case. */
const lower = (s: string | undefined) => s?.toLowerCase();

function positionals(args: string[], count: number, shape: string): void {
  if (args.length > count) fail('arguments', `unexpected '${args.slice(count).join(' ')}'; expected ${shape}`);
  if (args.length < 1) fail('ACTION', `missing; expected ${shape}`);
  if (args.length < 2) fail('DIRECTION', `missing; expected ${shape}`);
}

/** `deny inbound --remote-ip 10.0.0.0/8` -> a validated port ACL rule (args: ACTION DIRECTION). */
export function aclFromArgs(args: string[], f: PolicyFlags): AclRule {
  const shape = "ACTION DIRECTION and one or more of --local-mac, --remote-mac, --local-ip, --remote-ip, e.g. 'deny inbound --remote-ip 10.0.0.0/8'";
  refuse(f, kPolicyOnly, 'is a port policy setting, not part of an ACL rule');
  refuse(f, kExtOnly, 'port ACLs match addresses only; protocols, ports, weights and stateful rules are extended ACLs');
  positionals(args, 2, shape);
  const raw: Record<string, unknown> = { action: lower(args[0]), direction: lower(args[1]) };
  for (const [flag, key] of kAclSelectors) {
    const text = value(f, flag);
    if (text !== undefined) raw[key] = text;
  }
  return asTyped(() => aclRule(raw, 'acl'), 'acl', { ...kSelectorNames, action: 'ACTION', direction: 'DIRECTION' }, 'acl');
}

/**
 * `allow outbound 100 --protocol tcp --remote-port 443 --stateful` -> a validated extended ACL rule
 * (args: ACTION DIRECTION WEIGHT; the weight may come as --weight instead of the third positional).
 */
export function extAclFromArgs(args: string[], f: PolicyFlags): ExtAclRule {
  const shape = "ACTION DIRECTION WEIGHT, e.g. 'allow outbound 100 --protocol tcp --remote-port 443 --stateful'";
  refuse(f, kPolicyOnly, 'is a port policy setting, not part of an ACL rule');
  refuse(f, kMacSelectors, 'extended ACLs match IP 5-tuples; MAC selectors belong to port ACLs');
  positionals(args, 3, shape);
  const flagWeight = value(f, 'weight');
  if (args[2] !== undefined && flagWeight !== undefined) fail('--weight', `the weight is given twice ('${args[2]}' and --weight '${flagWeight}'); give it once`);
  const weightField = args[2] !== undefined ? 'WEIGHT' : '--weight';
  const weightText = args[2] ?? flagWeight;
  if (weightText === undefined) fail('WEIGHT', `missing; expected ${shape} (higher weights are evaluated first)`);
  const raw: Record<string, unknown> = { action: lower(args[0]), direction: lower(args[1]), weight: whole(weightText, weightField) };
  const proto = lower(value(f, 'protocol'));
  if (proto !== undefined) raw.protocol = /^\d+$/.test(proto) ? whole(proto, '--protocol') : proto;
  for (const flag of kIpSelectors) {
    const text = value(f, flag);
    if (text !== undefined) raw[flag === 'local-ip' ? 'localIp' : 'remoteIp'] = text;
  }
  const lp = value(f, 'local-port');
  if (lp !== undefined) raw.localPort = lp;
  const rp = value(f, 'remote-port');
  if (rp !== undefined) raw.remotePort = rp;
  if (f.stateful !== undefined && typeof f.stateful !== 'boolean') fail('--stateful', 'is a switch and takes no value');
  if (f.stateful) raw.stateful = true;
  const idle = value(f, 'idle-timeout');
  if (idle !== undefined) raw.idleTimeout = whole(idle, '--idle-timeout');
  const names = {
    ...kSelectorNames,
    action: 'ACTION',
    direction: 'DIRECTION',
    weight: weightField,
    protocol: '--protocol',
    localPort: '--local-port',
    remotePort: '--remote-port',
    stateful: '--stateful',
    idleTimeout: '--idle-timeout',
  };
  return asTyped(() => extAclRule(raw, 'rule'), 'rule', names, 'rule');
}
