/**
 * Messages between the control thread and a datapath worker. Control traffic only (a handful per
 * second): structured-clone postMessage is fine here; frames never travel this way.
 */
import type { FdbEntry, LinkEvent, PortConfig, PortStatus, RuleStats, VlanConfig } from '../control/model.js';
import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import type { CaptureShared } from './capture.js';

export interface WorkerInit {
  switchName: string;
  agingSeconds: number;
  macTableSize: number;
  rsc: boolean;
  minimumBandwidthMode: MinimumBandwidthMode;
  flowTableSize: number;
  counters: SharedArrayBuffer;
  pool: { slots: number; slotSize: number };
}

export type Request =
  | { op: 'addPort'; port: PortConfig }
  | { op: 'removePort'; name: string }
  | { op: 'setVlan'; name: string; vlan: VlanConfig }
  | { op: 'setMtu'; name: string; mtu: number }
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
