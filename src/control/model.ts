/**
 * The declarative model shared by the config file, the management API and the CLI: plain JSON shapes,
 * no behaviour. The control plane validates input into these shapes (control/validate.ts) before anything
 * reaches a running switch, so a refused change never touches the datapath.
 */
import type { PortPolicy } from '../policy/config.js';
import type { NicSpec, PortSpec, RuleStats, SwitchSpec } from '../engine/spec.js';
export type { VlanConfig } from '../switch/vlan-config.js';
export type { AclRule, ExtAclRule, MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
export type {
  DatapathEvent,
  KernelDrops,
  QemuNicConfig,
  VdeSwitchConfig,
  LinkEvent,
  PortCounters,
  PortStatus,
  RuleStats,
  StaticMac,
  SwitchCounters,
  SwitchType,
} from '../engine/spec.js';
export type {
  DvmqConfig,
  ModerationConfig,
  ModerationPreset,
  QueueStatus,
  QueuesStatus,
  QueueTuning,
  VmqMove,
  WorkerStatus,
} from '../queues/queue-spec.js';

/** The endpoint plugged into a port, a port, and a switch: the datapath's specs, as the config file spells them. */
export type NicConfig = NicSpec;
export type PortConfig = PortSpec;
export type SwitchConfig = SwitchSpec;

export interface VswitchConfig {
  /** Unix socket path of the management API. */
  api?: string;
  /** Where `capture -w NAME` writes a relative NAME: a directory of the daemon's user alone (created 0700).
   *  Default: the runtime directory's `captures` (/tmp/vswitch-$UID/captures or $XDG_RUNTIME_DIR/vswitch/captures). */
  captureDir?: string;
  switches: SwitchConfig[];
}

export interface FdbEntry {
  mac: string;
  vid: number;
  port: string;
  static: boolean;
  ageSeconds: number;
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

/** Which frames of a port a capture records: as received from its NIC, as delivered to it, or both. */
export type CaptureDirection = 'in' | 'out' | 'both';

/** Start a packet capture on a port (POST /v1/switches/:sw/ports/:p/capture). */
export interface CaptureRequest {
  /** The pcap file the daemon creates: absolute, or relative to its capture directory (captureDir). */
  file: string;
  /** Overwrite (truncate) an existing regular file; without it an existing file is refused. Never follows a symlink. */
  force?: boolean;
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
