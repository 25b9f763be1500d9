/**
 * SwitchHandle: the control thread's side of one switch. It owns the switch's datapath worker, speaks the
 * request/reply protocol of engine/protocol.ts, and reads the worker's counter block straight from shared
 * memory (no round trip for `counters`). It keeps the name -> port index map and the applied config, so a
 * listing never has to stop the datapath.
 */
import { Worker } from 'node:worker_threads';
import { Counters } from '../dataplane/counters.js';
import { kDefaultSlots, kDefaultSlotSize } from '../dataplane/pool.js';
import { kDefaultAgingSeconds, kDefaultMaxEntries } from '../switch/fdb.js';
import type { EventMessage, PolicyStats, Reply, Request, WorkerInit } from '../engine/protocol.js';
import { kDefaultFlowTableSize, type PortPolicy } from '../policy/config.js';
import { SwitchCaptures } from './capture.js';
import { withRuleIds } from './policy-edit.js';
import type { FdbEntry, FlowStatus, LinkEvent, PortConfig, PortCounters, PortStatus, SwitchConfig, SwitchCounters, VlanConfig } from './model.js';

/** Capture ring entry size: a 9216-byte jumbo frame and its tag whole; longer GSO frames are cut, their
 *  original length kept in the pcap record (as tcpdump's snaplen does). */
const kCaptureSnap = 9216 + 18;

export class SwitchHandle {
  readonly name: string;
  readonly config: SwitchConfig;
  readonly counters = new Counters();
  /** Packet captures of this switch's ports (control/capture.ts); a ring entry holds one pool frame. */
  readonly captures: SwitchCaptures;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly portIndex = new Map<string, number>();
  private nodeNames: string[] = [];
  private exited = false;

  constructor(cfg: SwitchConfig, onLink: (ev: LinkEvent) => void) {
    this.name = cfg.name;
    this.config = { ...cfg, ports: [] };
    const init: WorkerInit = {
      switchName: cfg.name,
      agingSeconds: cfg.agingSeconds ?? kDefaultAgingSeconds,
      macTableSize: cfg.macTableSize ?? kDefaultMaxEntries,
      rsc: cfg.rsc ?? true,
      minimumBandwidthMode: cfg.minimumBandwidthMode ?? 'weight',
      flowTableSize: cfg.flowTableSize ?? kDefaultFlowTableSize,
      counters: this.counters.sab,
      pool: { slots: kDefaultSlots, slotSize: kDefaultSlotSize },
    };
    this.captures = new SwitchCaptures(cfg.name, kCaptureSnap, (req) => this.call(req));
    this.worker = new Worker(new URL('../engine/worker.js', import.meta.url), { workerData: init, name: `vswitch:${cfg.name}` });
    this.worker.on('message', (m: Reply | EventMessage) => {
      if ('event' in m) {
        onLink({ time: new Date().toISOString(), switch: this.name, ...m.link });
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    this.worker.on('error', (err) => this.failAll(new Error(`switch '${this.name}' datapath worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      this.exited = true;
      void this.captures.stopAll();
      this.failAll(new Error(`switch '${this.name}' datapath worker exited (code ${code})`));
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(req: Request): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`switch '${this.name}' is stopped`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req });
    });
  }

  async start(): Promise<void> {
    this.nodeNames = await this.call<string[]>({ op: 'nodes' });
  }

  async addPort(port: PortConfig): Promise<void> {
    if (port.policy) port = { ...port, policy: withRuleIds(port.policy) };
    const index = await this.call<number>({ op: 'addPort', port });
    this.portIndex.set(port.name, index);
    this.config.ports!.push(port);
  }

  async removePort(name: string): Promise<void> {
    await this.call({ op: 'removePort', name });
    await this.captures.portRemoved(name);
    this.portIndex.delete(name);
    this.config.ports = this.config.ports!.filter((p) => p.name !== name);
  }

  private patchPort(name: string, patch: Partial<PortConfig>): void {
    this.config.ports = this.config.ports!.map((p) => (p.name === name ? { ...p, ...patch } : p));
  }

  async setVlan(name: string, vlan: VlanConfig): Promise<void> {
    await this.call({ op: 'setVlan', name, vlan });
    this.patchPort(name, { vlan });
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.call({ op: 'setMtu', name, mtu });
    this.patchPort(name, { mtu });
  }

  async setAdmin(name: string, up: boolean): Promise<void> {
    await this.call({ op: 'setAdmin', name, up });
    this.patchPort(name, { disconnected: !up });
  }

  /** Replace a port's policy and MAC (validated by the caller); the applied config follows only on success. */
  async setPolicy(name: string, policy: PortPolicy, mac: string | undefined): Promise<void> {
    await this.call({ op: 'setPolicy', name, policy, mac });
    this.config.ports = this.config.ports!.map((p) => {
      if (p.name !== name) return p;
      const { mac: _m, policy: _p, ...rest } = p;
      return { ...rest, ...(mac !== undefined ? { mac } : {}), ...(Object.keys(policy).length ? { policy } : {}) };
    });
  }

  portConfig(name: string): PortConfig | undefined {
    return this.config.ports!.find((p) => p.name === name);
  }

  flows(port?: string): Promise<FlowStatus[]> {
    return this.call({ op: 'flows', name: port });
  }

  policyStats(name: string): Promise<PolicyStats> {
    return this.call({ op: 'policyStats', name });
  }

  ports(): Promise<PortStatus[]> {
    return this.call({ op: 'ports' });
  }

  hasPort(name: string): boolean {
    return this.portIndex.has(name);
  }

  fdbShow(): Promise<FdbEntry[]> {
    return this.call({ op: 'fdbShow' });
  }

  fdbFlush(port?: string): Promise<number> {
    return this.call({ op: 'fdbFlush', port });
  }

  fdbAdd(mac: string, vid: number, port: string): Promise<void> {
    return this.call({ op: 'fdbAdd', mac, vid, port });
  }

  fdbDel(mac: string, vid: number): Promise<void> {
    return this.call({ op: 'fdbDel', mac, vid });
  }

  async setAging(seconds: number): Promise<void> {
    await this.call({ op: 'setAging', seconds });
    this.config.agingSeconds = seconds;
  }

  readCounters(): SwitchCounters {
    const g = this.counters.readGlobal();
    const ports: Record<string, PortCounters> = {};
    for (const [name, p] of this.portIndex) {
      const { fields, drops } = this.counters.readPort(p);
      ports[name] = { ...fields, drops };
    }
    const nodes: SwitchCounters['nodes'] = {};
    this.nodeNames.forEach((n, i) => {
      nodes[n] = { packets: this.counters.c[Counters.nodePackets(i)], drops: this.counters.c[Counters.nodeDrops(i)] };
    });
    return {
      fdb: { entries: g.fdbEntries, learned: g.fdbLearned, aged: g.fdbAged, moved: g.fdbMoved, refused: g.fdbRefused, flushed: g.fdbFlushed },
      flows: { active: g.flowsActive, created: g.flowsCreated, expired: g.flowsExpired, refused: g.flowsRefused },
      ports,
      nodes,
    };
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await this.call({ op: 'stop' }).catch(() => {});
    await this.captures.stopAll();
    await this.worker.terminate();
  }
}
