/**
 * Port policy from the command line: the flags of `port policy`, `acl add` and `xacl add`, which come
 * from the declarations (settings/policy.ts, settings/acl.ts: flag, value name, help, parser), and the
 * reading of flags and positionals (ACTION DIRECTION [WEIGHT]) into a validated PortPolicy, AclRule or
 * ExtAclRule. A refusal names what the user typed: the validator's `policy.maximumBandwidth` becomes
 * `--max-bandwidth`, and camelCase keys in its message become flags too; plain words (mirror, stateful)
 * are left alone because they read as English either way. Flags of one of these commands given to another
 * are refused with where they belong. Rates and sizes: settings/units.ts.
 */
import type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { OptionSpec } from './cli/command.js';
import { aclRule as aclSetting, extAclRule as extSetting } from './settings/acl.js';
import { asTyped, optionsOf, readFlags, whole } from './settings/cli.js';
import { policySettings } from './settings/policy.js';
import { fail, macText } from './validate-helpers.js';
import { aclRule, extAclRule, portPolicy } from './validate-policy.js';
export { bytes, rate } from './settings/units.js';

export type PolicyFlags = Record<string, string | boolean | undefined>;

const kMacOption = {
  type: 'string',
  value: 'MAC|none',
  help: "the endpoint's MAC (what --mac-spoofing off checks, the VMQ filter)",
} as const satisfies OptionSpec;
const kPolicyOptions = optionsOf(policySettings);
const kAclOptions = optionsOf(aclSetting);
const kExtOptions = optionsOf(extSetting);

/** The options of `port policy`, `acl add` and `xacl add`, from the declarations. */
export const portPolicyOptions: Record<string, OptionSpec> = { mac: kMacOption, ...kPolicyOptions };
export const aclOptions: Record<string, OptionSpec> = kAclOptions;
export const xaclOptions: Record<string, OptionSpec> = kExtOptions;
/** Every flag of the three commands (they never clash with one another's meaning). */
export const policyFlagOptions: Record<string, OptionSpec> = { ...portPolicyOptions, ...kAclOptions, ...kExtOptions };

const keys = (o: object) => Object.keys(o);
const kPolicyOnly = keys(portPolicyOptions);
const kRuleFlags = [...new Set([...keys(kAclOptions), ...keys(kExtOptions)])];
const kMacSelectors = keys(kAclOptions).filter((k) => !(k in kExtOptions));
const kExtOnly = keys(kExtOptions).filter((k) => !(k in kAclOptions));

function refuse(f: PolicyFlags, flags: readonly string[], why: string): void {
  for (const flag of flags) if (f[flag] !== undefined) fail(`--${flag}`, why);
}

/** A value flag given without a value, or a switch given one, is refused before reading. */
function shapes(f: PolicyFlags, options: Record<string, OptionSpec>): void {
  for (const [k, o] of Object.entries(options)) {
    if (f[k] === undefined) continue;
    if (o.type === 'string' && typeof f[k] !== 'string') fail(`--${k}`, 'needs a value');
    if (o.type === 'boolean' && typeof f[k] !== 'boolean') fail(`--${k}`, 'is a switch and takes no value');
  }
}

/**
 * The policy flags given (and only those) as a validated PortPolicy, plus the port's MAC from --mac
 * ('none' = clear it, null). `mode` is the switch's minimum-bandwidth mode when the caller knows it.
 */
export function policyFromFlags(
  f: PolicyFlags,
  mode?: MinimumBandwidthMode,
): { policy: PortPolicy; mac?: string | null } {
  refuse(f, kRuleFlags, 'belongs to an ACL rule, not to the port policy settings');
  shapes(f, portPolicyOptions);
  const out: { policy: PortPolicy; mac?: string | null } = { policy: {} };
  const mac = f.mac as string | undefined;
  if (mac !== undefined && mac !== 'none') out.mac = macText(mac, '--mac');
  if (mac === 'none') out.mac = null;
  if (out.mac && parseInt(out.mac.slice(0, 2), 16) & 1)
    fail('--mac', `${out.mac} is a group (multicast) address; a port's MAC is unicast`);
  const raw = readFlags(policySettings, f) ?? {};
  const check = (v: Record<string, unknown>) =>
    asTyped(policySettings, 'policy', () => portPolicy(v, 'policy', mode)) as Record<string, unknown>;
  // Each setting is checked on its own here; the daemon validates the merged policy (a --mirror-direction
  // given alone applies to a port that is already a mirror source).
  for (const [key, val] of Object.entries(raw))
    Object.assign(out.policy, {
      [key]: check(key === 'mirrorDirection' ? { mirror: 'source', mirrorDirection: val } : { [key]: val })[key],
    });
  const { mirrorDirection: _d, ...rest } = out.policy;
  check(rest); // cross-field rules among the rest
  if (raw.mirror !== undefined && raw.mirrorDirection !== undefined)
    check({ mirror: out.policy.mirror, mirrorDirection: out.policy.mirrorDirection });
  return out;
}

const kPositionals = { action: 'ACTION', direction: 'DIRECTION' };

/** 'Deny' -> 'deny': Hyper-V spells actions and directions capitalised; the shapes are lower case. */
const lower = (s: string | undefined) => s?.toLowerCase();

function positionals(args: string[], count: number, shape: string): void {
  if (args.length > count) fail('arguments', `unexpected '${args.slice(count).join(' ')}'; expected ${shape}`);
  if (args.length < 1) fail('ACTION', `missing; expected ${shape}`);
  if (args.length < 2) fail('DIRECTION', `missing; expected ${shape}`);
}

/** `deny inbound --remote-ip 10.0.0.0/8` -> a validated port ACL rule (args: ACTION DIRECTION). */
export function aclFromArgs(args: string[], f: PolicyFlags): AclRule {
  const shape =
    "ACTION DIRECTION and one or more of --local-mac, --remote-mac, --local-ip, --remote-ip, e.g. 'deny inbound --remote-ip 10.0.0.0/8'";
  refuse(f, kPolicyOnly, 'is a port policy setting, not part of an ACL rule');
  refuse(f, kExtOnly, 'port ACLs match addresses only; protocols, ports, weights and stateful rules are extended ACLs');
  shapes(f, kAclOptions);
  positionals(args, 2, shape);
  const raw = { action: lower(args[0]), direction: lower(args[1]), ...readFlags(aclSetting, f) };
  return asTyped(aclSetting, 'acl', () => aclRule(raw, 'acl'), kPositionals);
}

/**
 * `allow outbound 100 --protocol tcp --remote-port 443 --stateful` -> a validated extended ACL rule
 * (args: ACTION DIRECTION WEIGHT; the weight may come as --weight instead of the third positional).
 */
export function extAclFromArgs(args: string[], f: PolicyFlags): ExtAclRule {
  const shape = "ACTION DIRECTION WEIGHT, e.g. 'allow outbound 100 --protocol tcp --remote-port 443 --stateful'";
  refuse(f, kPolicyOnly, 'is a port policy setting, not part of an ACL rule');
  refuse(f, kMacSelectors, 'extended ACLs match IP 5-tuples; MAC selectors belong to port ACLs');
  shapes(f, kExtOptions);
  positionals(args, 3, shape);
  const flagWeight = f.weight as string | undefined;
  if (args[2] !== undefined && flagWeight !== undefined)
    fail('--weight', `the weight is given twice ('${args[2]}' and --weight '${flagWeight}'); give it once`);
  if (args[2] === undefined && flagWeight === undefined)
    fail('WEIGHT', `missing; expected ${shape} (higher weights are evaluated first)`);
  const raw = {
    action: lower(args[0]),
    direction: lower(args[1]),
    ...readFlags(extSetting, f),
    ...(args[2] !== undefined ? { weight: whole(args[2], 'WEIGHT') } : {}),
  };
  return asTyped(
    extSetting,
    'rule',
    () => extAclRule(raw, 'rule'),
    args[2] !== undefined ? { ...kPositionals, weight: 'WEIGHT' } : kPositionals,
  );
}
