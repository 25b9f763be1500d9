/**
 * A port's VLAN mode (Hyper-V Set-VMNetworkAdapterVlan), mutually exclusive: untagged (the default VLAN),
 * access VID, or trunk with an allowed set, an optional native VLAN sent untagged and a pruned set that
 * overrides the allowed one. It lives with the switch, which gives it meaning (switch/port-table.ts); the
 * control plane's config model re-exports it.
 */
export type VlanConfig =
  | { mode: 'untagged' }
  | { mode: 'access'; vid: number }
  | { mode: 'trunk'; allowed: number[]; native?: number; pruned?: number[] };
