/**
 * Input validation for port policy (docs/policy.md), by the declarations of settings/policy.ts and
 * settings/acl.ts (key, range, help, flag; cross-field rules in their `check` hooks): the entry points the
 * API, policy-edit.ts and the CLI call, and the private VLAN shape's (settings/vlan.ts). Each refusal
 * names the field, says what was wrong and what would be right; nothing reaches a running switch unless
 * it passes, so a refused change leaves the switch as it was.
 */
import type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import { aclRule as aclSetting, extAclRule as extAclSetting } from './settings/acl.js';
import { policySettings } from './settings/policy.js';
import { pvlan } from './settings/vlan.js';
export { ipPrefix, kProtoNames, portRange } from './settings/acl.js';

export const aclRule = (v: unknown, field: string): AclRule => aclSetting.check(v, field) as AclRule;
export const extAclRule = (v: unknown, field: string): ExtAclRule => extAclSetting.check(v, field) as ExtAclRule;

/** PortPolicy's settings other than the rule lists (policy-edit.ts merges them one by one). */
export const kPolicySettings = Object.keys(policySettings.fields ?? {}).filter(
  (k) => policySettings.fields?.[k]?.kind !== 'list',
);

/**
 * Every PortPolicy key. `mode` is the switch's minimum-bandwidth mode: a weight on an absolute switch (or
 * the reverse) is refused; without a mode either is accepted, but not both at once.
 */
export const portPolicy = (v: unknown, field: string, mode?: MinimumBandwidthMode): PortPolicy =>
  policySettings.check(v, field, mode ? { mode } : {}) as PortPolicy;

export type PrivateVlanConfig = Extract<VlanConfig, { mode: 'private' }>;

/** A private VLAN (settings/vlan.ts): a primary and its secondaries, sorted with duplicates merged. */
export const pvlanConfig = (v: unknown, field: string): PrivateVlanConfig => pvlan.check(v, field) as PrivateVlanConfig;
