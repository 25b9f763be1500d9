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
  /** Port security: at most this many learned MACs on the port; beyond it addresses are not learned (frames
   *  still pass) and counted `macLimitRefused`. 0 or absent = no limit. */
  macLimit?: number;
  /** Pad frames shorter than 60 bytes before delivery (endpoints that need a minimum Ethernet frame). */
  pad?: boolean;
  /** Start with the NIC disconnected (link down). */
  disconnected?: boolean;
  /** The endpoint's MAC address (Hyper-V: the adapter's MacAddress): what MacAddressSpoofing checks, and
   *  the `mac=` of the QEMU recipe. */
  mac?: string;
  /** Guards, ACLs, storm limit, QoS and mirroring (policy/config.ts). */
  policy?: PortPolicy;
  /** Hyper-V VmqWeight: 1-100 = the port gets a VMQ receive queue of its own (matched by its `mac` and
   *  VLAN) while queues last; 0 = never, its frames use default queue 0. Integer 0-100, default 100. */
  vmqWeight?: number;
  /** vRSS: the port's queue is spread over the workers by the RSS table instead of being served by one
   *  worker (so Dynamic VMQ does not move it). Needs vmqWeight > 0. Default false. */
  rss?: boolean;
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
  /** Datapath worker threads, each running the whole pipeline over the shared packet pool. Integer 1-64,
   *  default os.availableParallelism() (at most 64). Fixed at creation. */
  workers?: number;
  /** VMQ receive queues besides default queue 0 (one per port with a MAC and vmqWeight > 0, first come,
   *  first served). Integer 0-255, default 16. Fixed at creation. */
  vmqQueues?: number;
  /** Entries of the RSS indirection table (hash low bits -> worker). A power of two from 1 to 128,
   *  default 128. Fixed at creation; the entries can be rewritten at runtime. */
  rssTableSize?: number;
  /** Dynamic VMQ: which worker serves each queue, re-decided from measured load. Tunable at runtime. */
  dvmq?: DvmqConfig;
  /** Interrupt moderation: when a queue wakes its worker. Default 'off'. Tunable at runtime. */
  moderation?: ModerationConfig;
  ports?: PortConfig[];
  staticMacs?: StaticMac[];
}

/** Dynamic VMQ settings (queues/dvmq.ts; defaults are its kDvmqDefaults). Loads are fractions of one worker's capacity. */
export interface DvmqConfig {
  /** false: every queue stays where it is (the home worker, or where `vswitch queue move` put it). Default true. */
  enabled?: boolean;
  /** A worker busier than this hands a queue to another worker (spread). In (0, 1], default 0.8. */
  upperThreshold?: number;
  /** A worker less busy than this hands its queues back (coalesce). In (0, upperThreshold), default 0.2. */
  lowerThreshold?: number;
  /** How often load is sampled and queues re-decided, ms. 10-60000, default 100. */
  samplePeriodMs?: number;
  /** A queue that moved stays put at least this long, ms (hysteresis). 0-3600000, default 1000. */
  minMoveIntervalMs?: number;
}

/** Moderation presets (queues/moderation.ts): off 1 frame/0 us, low 4/25 us, medium 16/100 us, high 64/250 us;
 *  adaptive picks one from the measured rate. */
export type ModerationPreset = 'off' | 'low' | 'medium' | 'high' | 'adaptive';

/** Interrupt moderation: a preset, or wake the worker after `packets` frames or `timeUs` microseconds
 *  since the first unsignalled frame, whichever comes first (packets 1-4096, timeUs 0-100000). */
export type ModerationConfig = ModerationPreset | { packets: number; timeUs: number };

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
  /** The port's MAC limit (0 = none) and the learned MACs it owns now. */
  macLimit: number;
  macs: number;
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
  fdb: { entries: number; learned: number; aged: number; moved: number; refused: number; evicted: number; flushed: number };
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

/** One receive queue (GET /switches/:sw/queues). Queue 0 is the default queue (no filter, RSS-spread). */
export interface QueueStatus {
  queue: number;
  /** The port whose VMQ filter feeds it; null for queue 0 and for a free queue. */
  port: string | null;
  /** The filter: the port's MAC and VLAN. */
  filter: { mac: string; vlan: number } | null;
  /** The worker serving it, or 'rss' when the RSS table spreads it (queue 0, ports with rss: true). */
  worker: number | 'rss';
  frames: number;
  /** Load over the last sampling period, as a fraction of one worker (1 = one worker fully busy). */
  load: number;
  /** Times Dynamic VMQ (or a manual move) moved it. */
  moves: number;
}

export interface WorkerStatus {
  worker: number;
  frames: number;
  /** Load over the last sampling period, fraction of the worker (0-1). */
  load: number;
  /** Queues it serves (not counting its share of RSS-spread queues). */
  queues: number[];
  /** Times its notification woke it (after moderation). */
  signals: number;
  /** Frames it read and handed to another worker (the hops it caused). */
  handedOver: number;
}

export interface VmqMove {
  time: string;
  queue: number;
  from: number;
  to: number;
  reason: 'spread' | 'coalesce' | 'manual' | 'retire';
}

/** GET /switches/:sw/queues: workers, queues, the RSS table and recent queue moves. */
export interface QueuesStatus {
  workers: WorkerStatus[];
  queues: QueueStatus[];
  rss: { size: number; entries: number[] };
  moves: { total: number; recent: VmqMove[] };
  dvmq: Required<DvmqConfig>;
  moderation: ModerationConfig;
}

/** Runtime tuning of moderation and Dynamic VMQ (PATCH /switches/:sw/tuning): each part given is complete. */
export interface QueueTuning {
  /** Workers of a running switch: added, or retired from the last (control/switch-handle.ts setWorkers). */
  workers?: number;
  moderation?: ModerationConfig;
  dvmq?: DvmqConfig;
}

/**
 * The queue methods SwitchHandle provides (control/switch-handle.ts), called by the API (control/api.ts).
 * moveQueue and setRssTable reject with an Error that says what was wrong for a queue, worker or entry the
 * switch does not have; tune gets complete settings for each part it is given (the API has merged them
 * with the running ones) and keeps them in the switch's config for `config show`.
 */
export interface SwitchQueueApi {
  queues(): Promise<QueuesStatus>;
  moveQueue(queue: number, worker: number): Promise<void>;
  setRssTable(entries: number[]): Promise<void>;
  tune(t: QueueTuning): Promise<void>;
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
