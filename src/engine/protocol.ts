/**
 * Messages between the runtime (runtime/switch-runtime.ts) and a datapath worker. Control traffic only (a
 * handful per second): structured-clone postMessage is fine here; frames never travel this way. Every op
 * has its request shape (Request) and its reply type (Replies), so a caller gets the type the worker
 * answers with, and the worker's handler for an op must return it.
 */
import type { FdbRow, FlowRow, LinkEvent, PortSpec, PortStatus, RuleStats, VlanConfig } from './spec.js';
import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { CaptureShared } from './capture.js';
import type { ModerationSettings } from '../queues/moderation.js';
import type { WorkerQueuesInit } from '../queues/worker-queues.js';

/** How a worker of a multi-worker switch joins a port whose NIC another worker hosts. */
export type RemoteNic =
  /** Write to the owner's TAP fd; read nothing (frames reach this worker through the rings). */
  | { kind: 'borrow'; fd: number; offloadCaps: number }
  /** Open this worker's own queue of a multi-queue TAP: read it and write it. */
  | { kind: 'mq'; reopen?: ReopenNic }
  /** No access to the endpoint (a socket): traffic to and from the port is pinned to its worker. */
  | { kind: 'none' };

/** A TAP that outlived the worker that opened it (the runtime keeps a dup of its fd): a worker taking the
 *  port over hosts a dup of `fd`, already up in its namespace, instead of opening the device by name. */
export interface ReopenNic {
  fd: number;
  offloadCaps: number;
}

export interface AddedPort {
  index: number;
  /** TAP fd this worker opened (its queue of a multi-queue TAP; -1 for other NICs) and what its offloads
   *  are, for the other workers to borrow and the runtime to keep. */
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
  /** Poll window after a wake that did work, microseconds (0: off; engine/poll-window.ts). */
  pollWindowUs: number;
  counters: SharedArrayBuffer;
  pool: {
    slots: number;
    slotSize: number;
    shared?: { data: SharedArrayBuffer; meta: SharedArrayBuffer; free: SharedArrayBuffer };
  };
  /** Present when the switch runs on several workers: the shared tables and this worker's queues. */
  multi?: { fdb: SharedArrayBuffer; linkState: SharedArrayBuffer; queues: WorkerQueuesInit };
}

export type Request =
  /** Add a port (replies AddedPort). `index` and `remote` are set for the workers that do not host its NIC
   *  (`index` on its host too when workers are replaced, so the port keeps its index and counters);
   *  `reopen`: take over a TAP held open by the runtime instead of opening it by name;
   *  `place: false` defers moving a new TAP into its namespace until every worker has opened it. */
  | { op: 'addPort'; port: PortSpec; index?: number; remote?: RemoteNic; place?: boolean; reopen?: ReopenNic }
  /** Bring a TAP up (moving it into its namespace first): after every worker opened its queue. */
  | { op: 'placeTap'; name: string }
  | { op: 'setModeration'; moderation: ModerationSettings }
  | { op: 'setPollWindow'; us: number }
  /** The switch has `count` workers now: join the rings of new ones, drop those of retired ones. */
  | { op: 'resize'; count: number; rings: SharedArrayBuffer[][] }
  /** Retiring: stop reading the port's TAP and let go of its fd (replies { fd, offloadCaps }). */
  | { op: 'releaseNic'; name: string }
  /** Take over a released TAP fd: this worker reads it and owns the port's link from now on. */
  | { op: 'adoptNic'; name: string; fd: number; offloadCaps: number }
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
  /** dispose: the switch is removed for good (persistent TAP devices go too); a shutdown keeps them. */
  | { op: 'stop'; dispose?: boolean }
  /** Test hook, honoured only with VSWITCH_FAULT_INJECT=1 in the environment: the next breath throws. */
  | { op: 'fault' };

export type PolicyStats = { acls: RuleStats[]; extendedAcls: RuleStats[] };
/** What a released TAP NIC leaves: its fd (-1: not a TAP) and its offloads. */
export type ReleasedNic = { fd: number; offloadCaps: number };

/** The reply of every op. */
export interface Replies {
  addPort: AddedPort;
  placeTap: null;
  setModeration: null;
  setPollWindow: null;
  resize: null;
  releaseNic: ReleasedNic;
  adoptNic: null;
  removePort: null;
  setVlan: null;
  setMtu: null;
  setMacLimit: null;
  fdbAdopt: null;
  /** The TAP fd a `port connect` re-attached to a re-created device (-1: nothing revived). */
  setAdmin: { revivedFd: number };
  setPolicy: null;
  policyStats: PolicyStats;
  flows: FlowRow[];
  ports: PortStatus[];
  fdbShow: FdbRow[];
  /** Entries flushed. */
  fdbFlush: number;
  fdbAdd: null;
  fdbDel: null;
  setAging: null;
  nodes: string[];
  /** The port's index. */
  captureStart: number;
  captureStop: null;
  stop: null;
  /** Whether the fault was armed (false: the environment does not allow it). */
  fault: boolean;
}

export type Op = Request['op'];
export type RequestOf<O extends Op> = Extract<Request, { op: O }>;
/** A worker's handler for every op, each returning that op's reply. */
export type Handlers = { [O in Op]: (req: RequestOf<O>) => Replies[O] | Promise<Replies[O]> };

export interface RequestEnvelope {
  id: number;
  req: Request;
}

export type Reply = { id: number; ok: true; result: Replies[Op] } | { id: number; ok: false; error: string };

export interface EventMessage {
  event: 'link';
  link: Omit<LinkEvent, 'switch' | 'time'>;
}
