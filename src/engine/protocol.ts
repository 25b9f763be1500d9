/**
 * Messages between the control thread and a datapath worker. Control traffic only (a handful per
 * second): structured-clone postMessage is fine here; frames never travel this way.
 */
import type { FdbEntry, LinkEvent, PortConfig, PortStatus, RuleStats, VlanConfig } from '../control/model.js';
import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { CaptureShared } from './capture.js';
import type { ModerationSettings } from '../queues/moderation.js';
import type { WorkerQueuesInit } from '../queues/worker-queues.js';

/** How a worker of a multi-worker switch joins a port whose NIC another worker hosts. */
export type RemoteNic =
  /** Write to the owner's TAP fd; read nothing (frames reach this worker through the rings). */
  | { kind: 'borrow'; fd: number; offloadCaps: number }
  /** Open this worker's own queue of a multi-queue TAP: read it and write it. */
  | { kind: 'mq' }
  /** No access to the endpoint (a socket): traffic to and from the port is pinned to its worker. */
  | { kind: 'none' };

export interface AddedPort {
  index: number;
  /** TAP fd (-1 for other NICs) and what its offloads are, for the other workers to borrow. */
  fd: number;
  offloadCaps: number;
}

export interface WorkerInit {
  switchName: string;
  agingSeconds: number;
  macTableSize: number;
  rsc: boolean;
  minimumBandwidthMode: MinimumBandwidthMode;
  flowTableSize: number;
  counters: SharedArrayBuffer;
  pool: { slots: number; slotSize: number; shared?: { data: SharedArrayBuffer; meta: SharedArrayBuffer; free: SharedArrayBuffer } };
  /** Present when the switch runs on several workers: the shared tables and this worker's queues. */
  multi?: { fdb: SharedArrayBuffer; linkState: SharedArrayBuffer; queues: WorkerQueuesInit };
}

export type Request =
  /** Add a port (replies AddedPort). `index` and `remote` are set for the workers that do not host its NIC;
   *  `place: false` defers moving a new TAP into its namespace until every worker has opened it. */
  | { op: 'addPort'; port: PortConfig; index?: number; remote?: RemoteNic; place?: boolean }
  /** Bring a TAP up (moving it into its namespace first): after every worker opened its queue. */
  | { op: 'placeTap'; name: string }
  | { op: 'setModeration'; moderation: ModerationSettings }
  /** The switch has `count` workers now: join the rings of new ones, drop those of retired ones. */
  | { op: 'resize'; count: number; rings: SharedArrayBuffer[][] }
  /** Retiring: stop reading the port's TAP and let go of its fd (replies { fd, offloadCaps }). */
  | { op: 'releaseNic'; name: string }
  /** Take over a released TAP fd: this worker reads it and owns the port's link from now on. */
  | { op: 'adoptNic'; name: string; fd: number; offloadCaps: number }
  /** Frames waiting in this worker's rings and not yet signalled (retirement waits for 0). */
  | { op: 'idle' }
  | { op: 'removePort'; name: string }
  | { op: 'setVlan'; name: string; vlan: VlanConfig }
  | { op: 'setMtu'; name: string; mtu: number }
  | { op: 'setMacLimit'; name: string; macLimit: number }
  | { op: 'fdbAdopt'; maxEntries: number; sab: SharedArrayBuffer }
  | { op: 'setAdmin'; name: string; up: boolean }
  /** Replace the port's whole policy (and its MAC); replies once the datapath tables are rebuilt. */
  | { op: 'setPolicy'; name: string; policy: PortPolicy; mac?: string }
  /** Per-rule hit counters of the port's ACLs. */
  | { op: 'policyStats'; name: string }
  /** Stateful ACL flows, of one port or all. */
  | { op: 'flows'; name?: string }
  | { op: 'ports' }
  | { op: 'fdbShow' }
  | { op: 'fdbFlush'; port?: string }
  | { op: 'fdbAdd'; mac: string; vid: number; port: string }
  | { op: 'fdbDel'; mac: string; vid: number }
  | { op: 'setAging'; seconds: number }
  | { op: 'nodes' }
  /** Capture `name` in `direction` (bits, engine/capture.ts) as capture `id`; replies with the port index. */
  | { op: 'captureStart'; name: string; id: number; direction: number; shared: CaptureShared }
  /** Stop capture `id` on `name` (no-op if another capture replaced it); replies once the tap is off. */
  | { op: 'captureStop'; name: string; id: number }
  | { op: 'stop' };

export interface RequestEnvelope {
  id: number;
  req: Request;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface EventMessage {
  event: 'link';
  link: Omit<LinkEvent, 'switch' | 'time'>;
}

export type { FdbEntry, PortStatus };
export type PolicyStats = { acls: RuleStats[]; extendedAcls: RuleStats[] };
