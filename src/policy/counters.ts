/** Port policy's counter rows: what the guards, ACLs, storm limit and shaper refused, and what mirroring and shaping did. */
import { declareDrops, declarePortCounters } from '../dataplane/counters.js';

export const policyDrops = declareDrops('policy', [
  [16, 'acl-deny', 'a port ACL or extended ACL denied the frame'],
  [17, 'mac-spoofing', "source MAC is not the port's MAC and MacAddressSpoofing is off"],
  [18, 'dhcp-guard', 'DHCP server message from a port with DhcpGuard on'],
  [19, 'router-guard', 'router advertisement or redirect from a port with RouterGuard on'],
  [20, 'storm-limit', 'broadcast/multicast/unknown-unicast over the port StormLimit'],
  [22, 'qos-queue-full', 'egress shaping queue of the source class full (MaximumBandwidth congestion)'],
] as const);

export const policyCounters = declarePortCounters('policy', [
  [13, 'mirrorCopies', 'mirror copies of this source port frames delivered to destinations'],
  [14, 'qosDelayed', 'frames held by the egress shaper before delivery (MaximumBandwidth)'],
] as const);

declare module '../dataplane/counters.js' {
  interface PortCounterValues extends Record<keyof typeof policyCounters, number> {}
}
