/**
 * The switch's counter rows (dataplane/counters.ts declares nothing itself): the edge checks and VLAN
 * rules of ingress and egress, forwarding, link state and the MTU, and each port's traffic. Indices are
 * the block layout; keep them stable (the CLI and API read rows by name, a test reads them by index).
 */
import { declareDrops, declarePortCounters } from '../dataplane/counters.js';

export const switchDrops = declareDrops('switch', [
  [1, 'malformed', 'frame shorter than its Ethernet header (14 bytes) or otherwise unparsable'],
  [2, 'truncated-vlan', 'TPID 0x8100 but shorter than the 18-byte tagged header'],
  [3, 'src-multicast', 'source MAC is a group address (multicast or broadcast)'],
  [4, 'vlan-not-allowed', 'VLAN not permitted on the port (ingress filter or egress membership)'],
  [5, 'same-port', 'destination was learned on the ingress port: never forward back'],
  [6, 'link-down', 'destination port has no connected NIC'],
  [7, 'mtu-exceeded', 'frame longer than the egress port MTU + 14 (+4 per tag)'],
  [21, 'pvlan-isolated', 'private VLAN rules forbid this source and destination pair'],
  [23, 'vlan-tagged-on-access', 'VLAN-tagged frame on an access, untagged or private VLAN port (its own VID included)'],
  [24, 'vlan-double-tagged', 'priority tag (VID 0) with a second 802.1Q tag behind it: the inner tag would hop VLANs'],
] as const);

export const portCounters = declarePortCounters('switch', [
  [0, 'rxFrames', 'frames received from the NIC'],
  [1, 'rxBytes', 'bytes received from the NIC'],
  [2, 'txFrames', 'frames delivered to the NIC'],
  [3, 'txBytes', 'bytes delivered to the NIC'],
  [4, 'txUnicast', 'frames delivered as known unicast'],
  [5, 'txFlood', 'frames delivered as flood copies (broadcast, multicast, unknown unicast)'],
  [6, 'vlanStripped', '802.1Q tags removed on ingress (offload: VLAN strip)'],
  [7, 'vlanInserted', '802.1Q tags inserted on egress (offload: VLAN insert)'],
  [8, 'linkChanges', 'NIC connect/disconnect events'],
  [15, 'macLimitRefused', 'source addresses not learned: the port owns its macLimit of MAC table entries'],
] as const);

declare module '../dataplane/counters.js' {
  interface PortCounterValues extends Record<keyof typeof portCounters, number> {}
}
