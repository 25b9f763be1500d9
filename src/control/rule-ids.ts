/**
 * Rule ids are stable per port: the next id is one more than the largest in use, so `acl rm 3` still
 * means the same rule after rule 2 is removed. Rules from a config file may come without ids; they get
 * them here, before the switch sees them.
 */
import type { PortPolicy } from './model.js';

export function nextId(rules: Array<{ id?: number }>): number {
  return rules.reduce((m, r) => Math.max(m, r.id ?? 0), 0) + 1;
}

/** Give every rule of a policy from a config file an id (its position when absent). */
export function withRuleIds(policy: PortPolicy): PortPolicy {
  const ids = <T extends { id?: number }>(rules: T[] | undefined): T[] | undefined => {
    if (!rules) return rules;
    let next = nextId(rules);
    return rules.map((r) => (r.id !== undefined ? r : { ...r, id: next++ }));
  };
  const out: PortPolicy = { ...policy };
  if (policy.acls) out.acls = ids(policy.acls);
  if (policy.extendedAcls) out.extendedAcls = ids(policy.extendedAcls);
  return out;
}
