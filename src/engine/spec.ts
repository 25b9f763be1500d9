/**
 * What the datapath is told to build and what it reports back, as plain data: the switch, port and NIC
 * specs a runtime starts from, and the raw rows (MAC table, flows, ports, counters, link events) the
 * workers answer with. The control plane's model (control/model.ts) is built on these shapes, never the
 * reverse: nothing below control/ knows the config file, the API or the CLI. Raw rows carry numbers
 * (port indices, MAC words, protocol numbers); turning them into text is presentation, done in control/.
 */
import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import type { DvmqConfig, ModerationConfig } from '../queues/queue-spec.js';
import type { FlowEntry } from '../policy/conntrack.js';
export type { VlanConfig };

export type SwitchType = 'private' | 'internal' | 'external';

/** The endpoint plugged into a port. */
export type NicSpec =
  | {
      type: 'tap';
      name: string;
      create?: boolean;
      netns?: string;
      vnetHdr?: boolean;
      multiQueue?: boolean;
      offload?: boolean;
    }
  | {
      type: 'stream';
      mode: 'listen' | 'connect';
      path?: string;
      host?: string;
      port?: number;
      framing?: 'qemu' | 'vde';
    }
  | { type: 'dgram'; localHost?: string; localPort: number; remoteHost?: string; remotePort?: number }
  | { type: 'memory' }
  /** A client of the switch's VDE control socket (made by control/vde-service.ts, never by a user): the
   *  switch's datagram socket `path` connected to the client's, `peer` (hex of its struct sockaddr_un). */
  | { type: 'vde'; path: string; peer: string };

/** QEMU's side of a port: `device` is the guest NIC model (default virtio-net-pci, which every modern guest
 *  has; e1000 for old ones); `id` the -netdev id (default derived from the switch and port names). */
export interface QemuNicConfig {
  device?: string;
  id?: string;
}

/** What `vdeSwitch` takes: the directory (DIR/ctl is the control socket) and the template of client ports. */
export interface VdeSwitchConfig {
  dir: string;
  /** Client ports are named PREFIX<n> (default 'vde'). */
  prefix?: string;
  /** Most clients at once (default 64). */
  maxClients?: number;
  /** Settings of every client port. */
  vlan?: VlanConfig;
  mtu?: number;
  policy?: PortPolicy;
}

export interface PortSpec {
  name: string;
  nic: NicSpec;
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
  /** How a QEMU VM joins this port (control/recipes.ts; the datapath ignores it): the guest NIC model and
   *  the -netdev/-device id. */
  qemu?: QemuNicConfig;
}

export interface StaticMac {
  mac: string;
  vid: number;
  port: string;
}

export interface SwitchSpec {
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
  /** Poll window: after a wake that switched frames, each worker keeps polling its TAPs and rings until
   *  this many microseconds pass with nothing new (engine/poll-window.ts). 0-1000, default 0 (off).
   *  Tunable at runtime. */
  pollWindowUs?: number;
  ports?: PortSpec[];
  staticMacs?: StaticMac[];
  /** Serve the vde_switch protocol on a directory: each VDE client (QEMU -netdev vde, vde_plug) is a port. */
  vdeSwitch?: VdeSwitchConfig;
}

export interface PortStatus {
  name: string;
  index: number;
  nic: NicSpec;
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

/** Loss the kernel counted before the switch saw it (read by the control plane: control/kernel-drops.ts). */
export interface KernelDrops {
  /** TAP: frames the host sent that overflowed the TAP queue before the switch read them. */
  tapTxDropped?: number;
  /** TAP: frames the switch delivered that the host's stack dropped. */
  tapRxDropped?: number;
  /** dgram port: datagrams dropped by the kernel because the socket's receive buffer was full. */
  socketDrops?: number;
}

export interface PortCounters {
  /** Kernel-side loss for TAP and dgram ports (added by the control plane's counters call). */
  kernel?: KernelDrops;
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
  /** Times the switch's workers were replaced after a fault. */
  datapath: { restarts: number };
  fdb: {
    entries: number;
    learned: number;
    aged: number;
    moved: number;
    refused: number;
    evicted: number;
    flushed: number;
  };
  /** Stateful ACL flow table. */
  flows: {
    active: number;
    created: number;
    expired: number;
    refused: number;
    earlyDropped: number;
    quotaRefused: number;
  };
  ports: Record<string, PortCounters>;
  nodes: Record<string, { packets: number; drops: number }>;
}

/** Hit counters of one ACL rule (Meter rules: what they measured). */
export interface RuleStats {
  id: number;
  frames: number;
  bytes: number;
}

export interface LinkEvent {
  time: string;
  switch: string;
  port: string;
  link: 'up' | 'down';
  reason: string;
  flushedMacs: number;
}

/** One MAC table entry as the worker reads it: the address as its two words, the port as its index. */
export interface FdbRow {
  /** MAC bits 47-32 and 31-0 (packet/mac.ts formatMacWords). */
  hi: number;
  lo: number;
  vid: number;
  port: number;
  static: boolean;
  ageSeconds: number;
}

/** One stateful ACL flow as the worker reads it (policy/conntrack.ts), its `rule` the id of the stateful
 *  extended ACL that created it (not its position). */
export type FlowRow = FlowEntry;

/** A datapath worker failed (`fault`, with the error's message) or the switch's workers were replaced after
 *  one (`restarted`). */
export interface DatapathEvent {
  time: string;
  switch: string;
  worker: number;
  event: 'fault' | 'restarted';
  reason: string;
}
