/**
 * The declarative model shared by the config file, the management API and the CLI: plain JSON shapes,
 * no behaviour. The control plane validates input into these shapes (control/validate.ts) before anything
 * reaches a running switch, so a refused change never touches the datapath.
 */

import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { VlanConfig } from '../switch/vlan-config.js';
export type { VlanConfig };
export type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';

export type SwitchType = 'private' | 'internal' | 'external';

/** The endpoint plugged into a port. */
export type NicConfig =
  | { type: 'tap'; name: string; create?: boolean; netns?: string; vnetHdr?: boolean; multiQueue?: boolean; offload?: boolean }
  | { type: 'stream'; mode: 'listen' | 'connect'; path?: string; host?: string; port?: number; framing?: 'qemu' | 'vde' }
  | { type: 'dgram'; localHost?: string; localPort: number; remoteHost?: string; remotePort?: number }
  | { type: 'memory' };

export interface PortConfig {
  name: string;
  nic: NicConfig;
  vlan?: VlanConfig;
  /** IP MTU of the endpoint: frames longer than mtu + 14 (+4 per tag) are dropped at egress. Default 1500. */
  mtu?: number;
  /** Pad frames shorter than 60 bytes before delivery (endpoints that need a minimum Ethernet frame). */
  pad?: boolean;
  /** Start with the NIC disconnected (link down). */
  disconnected?: boolean;
  /** The endpoint's MAC address (Hyper-V: the adapter's MacAddress): what MacAddressSpoofing checks, and
   *  the `mac=` of the QEMU recipe. */
  mac?: string;
  /** Guards, ACLs, storm limit, QoS and mirroring (policy/config.ts). */
  policy?: PortPolicy;
}

export interface StaticMac {
  mac: string;
  vid: number;
  port: string;
}

export interface SwitchConfig {
  name: string;
  type?: SwitchType;
  /** MAC aging time in seconds (0 = never age). Default 300. */
  agingSeconds?: number;
  /** Maximum MAC table entries. Default 8192. */
  macTableSize?: number;
  /** Receive segment coalescing toward offload-capable ports. Default true. */
  rsc?: boolean;
  /** How MinimumBandwidth shares a congested egress: relative weights or absolute bits/s (fixed at creation). */
  minimumBandwidthMode?: MinimumBandwidthMode;
  /** Stateful ACL flow table capacity (entries). Default 65536. */
  flowTableSize?: number;
  ports?: PortConfig[];
  staticMacs?: StaticMac[];
}

export interface VswitchConfig {
  /** Unix socket path of the management API. */
  api?: string;
  switches: SwitchConfig[];
}

export interface FdbEntry {
  mac: string;
  vid: number;
  port: string;
  static: boolean;
  ageSeconds: number;
}

export interface PortStatus {
  name: string;
  index: number;
  nic: NicConfig;
  vlan: VlanConfig;
  mtu: number;
  link: 'up' | 'down';
  /** Administratively disconnected by the user (as opposed to the endpoint going away). */
  adminDown: boolean;
  detail: Record<string, unknown>;
}

export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  txUnicast: number;
  txFlood: number;
  vlanInserted: number;
  vlanStripped: number;
  linkChanges: number;
  drops: Record<string, number>;
}

export interface SwitchCounters {
  fdb: { entries: number; learned: number; aged: number; moved: number; refused: number; flushed: number };
  /** Stateful ACL flow table. */
  flows: { active: number; created: number; expired: number; refused: number };
  ports: Record<string, PortCounters>;
  nodes: Record<string, { packets: number; drops: number }>;
}

/** Hit counters of one ACL rule (Meter rules: what they measured). */
export interface RuleStats {
  id: number;
  frames: number;
  bytes: number;
}

/** GET /switches/:sw/ports/:p/policy */
export interface PolicyStatus {
  mac?: string;
  policy: PortPolicy;
  stats: { acls: RuleStats[]; extendedAcls: RuleStats[] };
}

/** A stateful ACL flow (GET /switches/:sw/flows): the VM's view, local = the port's endpoint. */
export interface FlowStatus {
  port: string;
  protocol: string;
  local: string;
  remote: string;
  localPort: number;
  remotePort: number;
  idleSeconds: number;
  timeoutSeconds: number;
  /** Id of the stateful extended ACL that created it. */
  rule: number;
}

export interface LinkEvent {
  time: string;
  switch: string;
  port: string;
  link: 'up' | 'down';
  reason: string;
  flushedMacs: number;
}

/** Which frames of a port a capture records: as received from its NIC, as delivered to it, or both. */
export type CaptureDirection = 'in' | 'out' | 'both';

/** Start a packet capture on a port (POST /v1/switches/:sw/ports/:p/capture). */
export interface CaptureRequest {
  /** Absolute path of the pcap file the daemon writes (created or truncated). */
  file: string;
  direction: CaptureDirection;
  /** Stop after this many frames written. */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
}

export interface CaptureStatus {
  id: number;
  switch: string;
  port: string;
  file: string;
  direction: CaptureDirection;
  count?: number;
  seconds?: number;
  started: string;
  state: 'running' | 'done';
  /** Why it ended: the count or time limit, a stop request, the port or switch going away, a file error. */
  reason?: 'count' | 'seconds' | 'stopped' | 'port-removed' | 'switch-removed' | 'error';
  error?: string;
  framesWritten: number;
  /** Frames the capture could not keep because the capture ring was full (the switch traffic is unaffected). */
  captureLost: number;
}
