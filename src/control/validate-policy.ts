/**
 * Input validation for port policy (DESIGN.md section 5), by the declarations of settings/policy.ts and
 * settings/acl.ts (key, range, help, flag; cross-field rules in their `check` hooks): the entry points the
 * API, policy-edit.ts and the CLI call, and the private VLAN shape. Each refusal names the field, says
 * what was wrong and what would be right; nothing reaches a running switch unless it passes, so a refused
 * change leaves the switch as it was.
 */
import type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { PvlanMode, VlanConfig } from '../switch/vlan-config.js';
import { aclRule as aclSetting, extAclRule as extAclSetting } from './settings/acl.js';
import { policySettings } from './settings/policy.js';
import { fail, obj, oneOf, onlyKeys, show, vid } from './validate-helpers.js';
export { ipPrefix, kProtoNames, portRange } from './settings/acl.js';

const kPvlanModes = ['isolated', 'community', 'promiscuous'] as const satisfies readonly PvlanMode[];

export const aclRule = (v: unknown, field: string): AclRule => aclSetting.check(v, field) as AclRule;
export const extAclRule = (v: unknown, field: string): ExtAclRule => extAclSetting.check(v, field) as ExtAclRule;

/** PortPolicy's settings other than the rule lists (policy-edit.ts merges them one by one). */
export const kPolicySettings = Object.keys(policySettings.fields ?? {}).filter((k) => policySettings.fields?.[k]?.kind !== 'list');

/**
 * Every PortPolicy key. `mode` is the switch's minimum-bandwidth mode: a weight on an absolute switch (or
 * the reverse) is refused; without a mode either is accepted, but not both at once.
 */
export const portPolicy = (v: unknown, field: string, mode?: MinimumBandwidthMode): PortPolicy => policySettings.check(v, field, mode ? { mode } : {}) as PortPolicy;

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
