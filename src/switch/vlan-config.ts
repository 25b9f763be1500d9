/**
 * A port's VLAN mode (Hyper-V Set-VMNetworkAdapterVlan), mutually exclusive: untagged (the default VLAN),
 * access VID, trunk with an allowed set, an optional native VLAN sent untagged and a pruned set that
 * overrides the allowed one, or private (PVLAN): a primary VLAN and the port's secondary VLAN(s), in
 * isolated (talks only to promiscuous ports), community (its own community and promiscuous ports) or
 * promiscuous (every listed secondary) mode. It lives with the switch, which gives it meaning (switch/port-table.ts); the
 * control plane's config model re-exports it.
 */
export type VlanConfig =
  | { mode: 'untagged' }
  | { mode: 'access'; vid: number }
  | { mode: 'trunk'; allowed: number[]; native?: number; pruned?: number[] }
  | { mode: 'private'; pvlan: PvlanMode; primary: number; secondary: number[] };

export type PvlanMode = 'isolated' | 'community' | 'promiscuous';
