/**
 * Policy edits as the API and CLI make them: a patch of scalar settings merged into the port's current
 * policy, or one ACL rule added or removed by id. Every edit builds the complete new policy, validates it
 * as a whole (so cross-field rules hold: unique weights, the switch's MinimumBandwidth mode) and only then
 * sends it to the datapath in one `setPolicy`, which replaces the port's tables between two breaths: a
 * refused edit changes nothing, an accepted one never leaves a half-applied policy.
 *
 * Rule ids are stable per port (the next id is one more than the largest in use), so `acl rm 3` still
 * means the same rule after rule 2 is removed.
 */
import type { AclRule, ExtAclRule, PortConfig, PortPolicy, PolicyStatus } from './model.js';
import { ConfigError, macText, obj } from './validate.js';
import { aclRule, extAclRule, kPolicySettings, portPolicy } from './validate-policy.js';
import type { SwitchRuntime } from '../runtime/switch-runtime.js';
import { nextId, withRuleIds } from './rule-ids.js';

function current(h: SwitchRuntime, port: string): PortConfig {
  const cfg = h.portConfig(port);
  if (!cfg) throw new ConfigError('port', `no port named '${port}' on switch '${h.name}'`);
  return cfg;
}

async function apply(h: SwitchRuntime, port: string, raw: PortPolicy, mac: string | undefined): Promise<PortPolicy> {
  const policy = portPolicy(raw, 'policy', h.config.minimumBandwidthMode ?? 'weight');
  // an emptied rule list is no list (config show stays as short as the user left it)
  if (policy.acls?.length === 0) delete policy.acls;
  if (policy.extendedAcls?.length === 0) delete policy.extendedAcls;
  await h.setPolicy(port, policy, mac);
  return policy;
}

/**
 * Merge `patch` (scalar settings; `null` resets one to its default; `mac: null` removes the MAC) into the
 * port's policy. Rule lists are edited with the ACL calls, but a patch may replace them whole too.
 */
export async function patchPolicy(h: SwitchRuntime, port: string, patch: unknown): Promise<PolicyStatus> {
  const cfg = current(h, port);
  const body = obj(patch, 'policy');
  const next: Record<string, unknown> = { ...(cfg.policy ?? {}) };
  let mac = cfg.mac;
  for (const [k, val] of Object.entries(body)) {
    if (k === 'mac') {
      mac = val === null ? undefined : macText(val, 'policy.mac');
      continue;
    }
    if (!(kPolicySettings as readonly string[]).includes(k) && k !== 'acls' && k !== 'extendedAcls')
      throw new ConfigError(
        `policy.${k}`,
        `unknown setting; expected one of mac, ${kPolicySettings.join(', ')}, acls, extendedAcls`,
      );
    if (val === null) delete next[k];
    else next[k] = val;
  }
  // leaving the source role drops its direction (it means nothing elsewhere, and validation refuses it)
  if (next.mirror !== 'source' && body.mirror !== undefined) delete next.mirrorDirection;
  const policy = await apply(h, port, withRuleIds(next as PortPolicy), mac);
  return { ...(mac !== undefined ? { mac } : {}), policy, stats: await h.policyStats(port) };
}

export async function addAcl(h: SwitchRuntime, port: string, body: unknown): Promise<AclRule> {
  const cfg = current(h, port);
  const acls = cfg.policy?.acls ?? [];
  const rule = { ...aclRule(body, 'acl'), id: nextId(acls) };
  await apply(h, port, { ...(cfg.policy ?? {}), acls: [...acls, rule] }, cfg.mac);
  return rule;
}

export async function addExtendedAcl(h: SwitchRuntime, port: string, body: unknown): Promise<ExtAclRule> {
  const cfg = current(h, port);
  const rules = cfg.policy?.extendedAcls ?? [];
  const rule = { ...extAclRule(body, 'extendedAcl'), id: nextId(rules) };
  await apply(h, port, { ...(cfg.policy ?? {}), extendedAcls: [...rules, rule] }, cfg.mac);
  return rule;
}

export async function removeRule(
  h: SwitchRuntime,
  port: string,
  list: 'acls' | 'extendedAcls',
  idText: string,
): Promise<void> {
  const cfg = current(h, port);
  const rules: Array<{ id?: number }> = cfg.policy?.[list] ?? [];
  const id = Number(idText);
  if (!rules.some((r) => r.id === id))
    throw new ConfigError(
      list === 'acls' ? 'acl' : 'extendedAcl',
      `port '${port}' has no rule with id ${idText}; its ids: ${rules.map((r) => r.id).join(', ') || 'none'}`,
    );
  await apply(h, port, { ...(cfg.policy ?? {}), [list]: rules.filter((r) => r.id !== id) }, cfg.mac);
}

export async function policyStatus(h: SwitchRuntime, port: string): Promise<PolicyStatus> {
  const cfg = current(h, port);
  return {
    ...(cfg.mac !== undefined ? { mac: cfg.mac } : {}),
    policy: cfg.policy ?? {},
    stats: await h.policyStats(port),
  };
}
