/**
 * A port's policy as the user states it (Hyper-V names, docs/policy.md): plain JSON shapes with no
 * behaviour, shared by the config file, the API and the CLI (control/model.ts re-exports them) and by the
 * datapath, which compiles them into typed-array tables (policy/*.ts) between breaths.
 *
 * Directions are the VM's point of view, as in Hyper-V: `outbound` = frames the port's endpoint sends
 * (switch ingress from the port), `inbound` = frames delivered to it (switch egress to the port). `local`
 * is the endpoint's own address (source of an outbound frame, destination of an inbound one), `remote`
 * the other side.
 */

export type AclAction = 'allow' | 'deny' | 'meter';
export type AclDirection = 'inbound' | 'outbound' | 'both';

/**
 * Port ACL (Add-VMNetworkAdapterAcl): one address selector or a local/remote pair; IP selectors are
 * prefixes ('10.0.0.0/8', 'fd00::/8', a bare address = host prefix) or 'any' (every IPv4 and IPv6 frame).
 * Among the allow/deny rules that match, the most specific wins (most address bits: MAC = 48, IPv4 /n = n,
 * IPv6 /n = n, a pair adds both; at equal specificity deny wins); no match = allow. Meter rules only count
 * (frames, bytes): the most specific matching meter rule counts the frame, whatever allow/deny decides.
 */
export interface AclRule {
  /** Stable id within the port, assigned when the rule is added (config files may omit it). */
  id?: number;
  action: AclAction;
  direction: AclDirection;
  localMac?: string;
  remoteMac?: string;
  localIp?: string;
  remoteIp?: string;
}

export type AclProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;

/**
 * Extended port ACL (Add-VMNetworkAdapterExtendedAcl): 5-tuple with port ranges ('80', '1024-65535') and
 * protocol (absent = any); higher weight is evaluated first, first match wins; no match = allow. A
 * stateful allow creates a two-way flow entry (idle timeout in seconds, default 60) so the replies pass
 * rules that would deny them. Weights are unique per port and direction.
 */
export interface ExtAclRule {
  id?: number;
  action: 'allow' | 'deny';
  direction: AclDirection;
  weight: number;
  protocol?: AclProtocol;
  localIp?: string;
  remoteIp?: string;
  localPort?: string;
  remotePort?: string;
  stateful?: boolean;
  idleTimeout?: number;
}

export type MirrorMode = 'none' | 'source' | 'destination';
export type MirrorDirection = 'ingress' | 'egress' | 'both';

export interface PortPolicy {
  /** MacAddressSpoofing (default false): with the port's `mac` set, frames from any other source MAC are dropped. */
  macAddressSpoofing?: boolean;
  /** DhcpGuard: drop DHCPv4/DHCPv6 server messages sent by the port's endpoint. */
  dhcpGuard?: boolean;
  /** RouterGuard: drop ICMPv6 RA/redirect and ICMPv4 redirect/router advertisement sent by the endpoint. */
  routerGuard?: boolean;
  /** IeeePriorityTag (default true): keep the 802.1p PCP of frames from the port; false clears it to 0. */
  ieeePriorityTag?: boolean;
  /** StormLimit: broadcast + multicast + unknown-unicast frames per second accepted from the port (0 = off). */
  stormLimit?: number;
  /** Stateful ACL flows the port may hold at once (0 or absent: no quota but the switch's flow table size). */
  maxFlows?: number;
  /** MaximumBandwidth: bits per second the switch delivers to the port (egress shaping, 0 = off). */
  maximumBandwidth?: number;
  /** Token bucket depth in bytes for maximumBandwidth (default: 10 ms at the rate, at least 64 KiB). */
  maximumBurst?: number;
  /** MinimumBandwidthWeight (1..100, default 1 where the switch mode is weight): share of a congested egress. */
  minimumBandwidthWeight?: number;
  /** MinimumBandwidthAbsolute in bits/s (switch mode absolute): share of a congested egress. */
  minimumBandwidthAbsolute?: number;
  /** PortMirroring: a source's frames (per mirrorDirection) are copied to every destination port. */
  mirror?: MirrorMode;
  mirrorDirection?: MirrorDirection;
  acls?: AclRule[];
  extendedAcls?: ExtAclRule[];
}

/** Switch-wide policy settings fixed at creation (Hyper-V New-VMSwitch -MinimumBandwidthMode). */
export type MinimumBandwidthMode = 'weight' | 'absolute';

export const kDefaultIdleTimeout = 60;
export const kDefaultFlowTableSize = 65536;
