/**
 * SwitchHandle: the control thread's side of one switch. It owns the switch's datapath workers (N, default
 * one per core), speaks the request/reply protocol of engine/protocol.ts, and reads the workers' counter
 * blocks straight from shared memory, summing them (no round trip for `counters`). It keeps the name ->
 * port index map and the applied config, so a listing never has to stop the datapath.
 *
 * With several workers: every worker holds the same port table and policy (each request that changes
 * them goes to all); the MAC table, the packet pool and link state are shared memory; a port's NIC lives
 * on one worker (its home), the others write to a TAP through the home's fd (or open their own queue of
 * a multi-queue TAP); control/queue-control.ts decides which worker switches what and moves queues.
 * Requests about shared or pinned state (MAC table, flows, captures) go to worker 0.
 */
import { Worker } from 'node:worker_threads';
import { Counters, kMaxPorts } from '../dataplane/counters.js';
import { createSharedFreeList, kDefaultSlots, kDefaultSlotSize, PacketPool } from '../dataplane/pool.js';
import { Fdb, kDefaultAgingSeconds, kDefaultMaxEntries } from '../switch/fdb.js';
import type { AddedPort, EventMessage, PolicyStats, Reply, Request, WorkerInit } from '../engine/protocol.js';
import { moderationSettings, QueueControl } from './queue-control.js';
import { defaultWorkers, kDefaultRssTableSize, kDefaultVmqQueues, kDvmqDefaultConfig } from './validate-queues.js';
import type { DvmqConfig, ModerationConfig, QueuesStatus } from './model.js';
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
  /** One counter block per worker (summed by readCounters). */
  readonly counterBlocks: Counters[] = [];
  /** Packet captures of this switch's ports (control/capture.ts); a ring entry holds one pool frame. */
  readonly captures: SwitchCaptures;
  readonly workers: Worker[] = [];
  /** Multi-worker switches: queues, steering tables and moves; null with one worker. */
  readonly qc: QueueControl | null;
  private readonly fdbView: Fdb | null = null;
  /** Port name -> worker hosting its NIC. */
  private readonly home = new Map<string, number>();
  private nextHome = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly portIndex = new Map<string, number>();
  private nodeNames: string[] = [];
  private exited = false;

  constructor(cfg: SwitchConfig, onLink: (ev: LinkEvent) => void) {
    this.name = cfg.name;
    this.config = { ...cfg, ports: [] };
    const n = cfg.workers ?? defaultWorkers();
    const macTableSize = cfg.macTableSize ?? kDefaultMaxEntries;
    let multi: ((w: number) => WorkerInit['multi']) | null = null;
    let poolShape: WorkerInit['pool'] = { slots: kDefaultSlots, slotSize: kDefaultSlotSize };
    if (n > 1) {
      const slots = kDefaultSlots * 2;
      const pool = new PacketPool({ slots, slotSize: kDefaultSlotSize });
      poolShape = { slots, slotSize: kDefaultSlotSize, shared: { data: pool.data, meta: pool.meta, free: createSharedFreeList(slots) } };
      this.fdbView = new Fdb(macTableSize);
      const fdb = this.fdbView.sab;
      const linkState = new SharedArrayBuffer(kMaxPorts);
      const qc = new QueueControl(n, { vmqQueues: cfg.vmqQueues ?? kDefaultVmqQueues, rssTableSize: cfg.rssTableSize ?? kDefaultRssTableSize, dvmq: cfg.dvmq, moderation: cfg.moderation });
      this.qc = qc;
      multi = (w) => ({ fdb, linkState, queues: qc.workerInit(w) });
    } else this.qc = null;
    this.captures = new SwitchCaptures(cfg.name, kCaptureSnap, (req) => this.captureCall(req));
    for (let w = 0; w < n; w++) {
      const counters = new Counters();
      this.counterBlocks.push(counters);
      const init: WorkerInit = {
        switchName: cfg.name,
        agingSeconds: cfg.agingSeconds ?? kDefaultAgingSeconds,
        macTableSize,
        rsc: cfg.rsc ?? true,
        minimumBandwidthMode: cfg.minimumBandwidthMode ?? 'weight',
        flowTableSize: cfg.flowTableSize ?? kDefaultFlowTableSize,
        counters: counters.sab,
        pool: poolShape,
        ...(multi ? { multi: multi(w) } : {}),
      };
      const worker = new Worker(new URL('../engine/worker.js', import.meta.url), { workerData: init, name: `vswitch:${cfg.name}:${w}` });
      this.workers.push(worker);
      worker.on('message', (m: Reply | EventMessage) => {
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
      worker.on('error', (err) => this.failAll(new Error(`switch '${this.name}' datapath worker ${w} failed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (this.exited) return;
        this.exited = true;
        this.qc?.stop();
        void this.captures.stopAll();
        this.failAll(new Error(`switch '${this.name}' datapath worker ${w} exited (code ${code})`));
      });
    }
    this.qc?.start(this.workers);
  }

  /** Captures run on worker 0, with the port's traffic pinned there while they run. */
  private async captureCall(req: Request): Promise<unknown> {
    const cfg = req.op === 'captureStart' || req.op === 'captureStop' ? this.portConfig(req.name) : undefined;
    if (req.op === 'captureStart' && cfg && this.qc) this.qc.setCapturing(cfg, true);
    try {
      return await this.call(req);
    } finally {
      if (req.op === 'captureStop' && cfg && this.qc) this.qc.setCapturing(cfg, false);
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** A request to worker w (default 0). */
  private call<T>(req: Request, w = 0): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`switch '${this.name}' is stopped`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.workers[w]!.postMessage({ id, req });
    });
  }

  /** A change every worker must apply: worker 0 first (it refuses what all would refuse), then the rest. */
  private async callAll(req: Request): Promise<void> {
    await this.call(req, 0);
    await Promise.all(this.workers.slice(1).map((_, i) => this.call(req, i + 1)));
  }

  get workerCount(): number {
    return this.workers.length;
  }

  async start(): Promise<void> {
    this.nodeNames = await this.call<string[]>({ op: 'nodes' });
  }

  async addPort(port: PortConfig): Promise<void> {
    if (port.policy) port = { ...port, policy: withRuleIds(port.policy) };
    const n = this.workers.length;
    if (n === 1) {
      const added = await this.call<AddedPort>({ op: 'addPort', port });
      this.portAdded(port, added.index, 0);
      return;
    }
    // a TAP's NIC goes round robin over the workers; a socket endpoint lives on worker 0 (pinned there)
    const tap = port.nic.type === 'tap';
    // (under Dynamic VMQ, single-queue TAPs live on the home worker with every queue, until load spreads them)
    const pinnedHome = this.qc && port.nic.type === 'tap' && !port.nic.multiQueue ? this.qc.nicHome() : -1;
    const home = !tap ? 0 : pinnedHome >= 0 ? pinnedHome : this.nextHome++ % n;
    const added = await this.call<AddedPort>({ op: 'addPort', port, place: !tap }, home);
    const joined: number[] = [];
    try {
      for (let w = 0; w < n; w++) {
        if (w === home) continue;
        const remote = !tap ? ({ kind: 'none' } as const) : port.nic.type === 'tap' && port.nic.multiQueue ? ({ kind: 'mq' } as const) : ({ kind: 'borrow', fd: added.fd, offloadCaps: added.offloadCaps } as const);
        await this.call({ op: 'addPort', port, index: added.index, remote }, w);
        joined.push(w);
      }
      if (tap) await this.call({ op: 'placeTap', name: port.name }, home);
    } catch (err) {
      for (const w of joined) await this.call({ op: 'removePort', name: port.name }, w).catch(() => {});
      await this.call({ op: 'removePort', name: port.name }, home).catch(() => {});
      throw err;
    }
    this.portAdded(port, added.index, home);
  }

  private portAdded(port: PortConfig, index: number, home: number): void {
    this.portIndex.set(port.name, index);
    this.home.set(port.name, home);
    this.config.ports!.push(port);
    this.qc?.portChanged(port, index);
  }

  async removePort(name: string): Promise<void> {
    const home = this.home.get(name) ?? 0;
    this.qc?.portRemoved(name);
    // the workers borrowing the home's TAP fd let go of it before the home closes it
    await Promise.all(this.workers.map((_, w) => (w === home ? null : this.call({ op: 'removePort', name }, w))));
    await this.call({ op: 'removePort', name }, home);
    await this.captures.portRemoved(name);
    this.portIndex.delete(name);
    this.home.delete(name);
    this.config.ports = this.config.ports!.filter((p) => p.name !== name);
  }

  private patchPort(name: string, patch: Partial<PortConfig>): void {
    this.config.ports = this.config.ports!.map((p) => (p.name === name ? { ...p, ...patch } : p));
    this.queuesFollow(name);
  }

  /** The port's queue, filter and pinning follow its applied config. */
  private queuesFollow(name: string): void {
    const cfg = this.portConfig(name);
    const index = this.portIndex.get(name);
    if (cfg && index !== undefined) this.qc?.portChanged(cfg, index);
  }

  async setVlan(name: string, vlan: VlanConfig): Promise<void> {
    await this.callAll({ op: 'setVlan', name, vlan });
    this.patchPort(name, { vlan });
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.callAll({ op: 'setMtu', name, mtu });
    this.patchPort(name, { mtu });
  }

  async setAdmin(name: string, up: boolean): Promise<void> {
    await this.callAll({ op: 'setAdmin', name, up });
    this.patchPort(name, { disconnected: !up });
  }

  /**
   * Replace a port's policy and MAC (validated by the caller); the applied config follows only on success.
   * A policy that needs one writer pins the port to worker 0 before worker 0 applies it.
   */
  async setPolicy(name: string, policy: PortPolicy, mac: string | undefined): Promise<void> {
    const before = this.portConfig(name);
    const index = this.portIndex.get(name);
    if (this.qc && before && index !== undefined) this.qc.portChanged({ ...before, policy, mac }, index);
    try {
      await this.callAll({ op: 'setPolicy', name, policy, mac });
    } catch (err) {
      if (this.qc && before && index !== undefined) this.qc.portChanged(before, index);
      throw err;
    }
    this.config.ports = this.config.ports!.map((p) => {
      if (p.name !== name) return p;
      const { mac: _m, policy: _p, ...rest } = p;
      return { ...rest, ...(mac !== undefined ? { mac } : {}), ...(Object.keys(policy).length ? { policy } : {}) };
    });
    this.queuesFollow(name);
  }

  portConfig(name: string): PortConfig | undefined {
    return this.config.ports!.find((p) => p.name === name);
  }

  flows(port?: string): Promise<FlowStatus[]> {
    return this.call({ op: 'flows', name: port });
  }

  /** Rule hit counters, summed over the workers (each counts the frames it switched). */
  async policyStats(name: string): Promise<PolicyStats> {
    const all = await Promise.all(this.workers.map((_, w) => this.call<PolicyStats>({ op: 'policyStats', name }, w)));
    const sum = (lists: PolicyStats['acls'][]) =>
      lists[0]!.map((r, i) => {
        const out = { ...r } as Record<string, unknown>;
        for (const k of Object.keys(r)) {
          if (typeof (r as unknown as Record<string, unknown>)[k] === 'number' && k !== 'id' && k !== 'weight')
            out[k] = lists.reduce((acc, l) => acc + ((l[i] as unknown as Record<string, number>)[k] ?? 0), 0);
        }
        return out as unknown as PolicyStats['acls'][number];
      });
    return { acls: sum(all.map((a) => a.acls)), extendedAcls: sum(all.map((a) => a.extendedAcls)) };
  }

  /** Ports as their home workers (which host the NICs) see them. */
  async ports(): Promise<PortStatus[]> {
    if (this.workers.length === 1) return this.call({ op: 'ports' });
    const views = await Promise.all(this.workers.map((_, w) => this.call<PortStatus[]>({ op: 'ports' }, w)));
    return views[0]!.map((p) => {
      const home = this.home.get(p.name) ?? 0;
      const mine = views[home]!.find((x) => x.name === p.name) ?? p;
      return { ...mine, detail: { ...mine.detail, worker: home } };
    });
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
    await this.callAll({ op: 'setAging', seconds });
    this.config.agingSeconds = seconds;
  }

  /** The workers' counter blocks summed (each worker writes only its own). */
  private summed(): Counters {
    if (this.counterBlocks.length === 1) return this.counterBlocks[0]!;
    const sum = new Counters(new SharedArrayBuffer(this.counterBlocks[0]!.sab.byteLength));
    for (const b of this.counterBlocks) for (let i = 0; i < sum.c.length; i++) sum.c[i] += b.c[i]!;
    return sum;
  }

  readCounters(): SwitchCounters {
    const counters = this.summed();
    const g = counters.readGlobal();
    // the MAC table is shared: its entry count is the table's, not a sum
    if (this.fdbView) g.fdbEntries = this.fdbView.count;
    const ports: Record<string, PortCounters> = {};
    for (const [name, p] of this.portIndex) {
      const { fields, drops } = counters.readPort(p);
      ports[name] = { ...fields, drops };
    }
    const nodes: SwitchCounters['nodes'] = {};
    this.nodeNames.forEach((n, i) => {
      nodes[n] = { packets: counters.c[Counters.nodePackets(i)], drops: counters.c[Counters.nodeDrops(i)] };
    });
    return {
      fdb: { entries: g.fdbEntries, learned: g.fdbLearned, aged: g.fdbAged, moved: g.fdbMoved, refused: g.fdbRefused, flushed: g.fdbFlushed },
      flows: { active: g.flowsActive, created: g.flowsCreated, expired: g.flowsExpired, refused: g.flowsRefused },
      ports,
      nodes,
    };
  }

  // ---- queues (multi-worker switches) ----

  /** Queues, workers, the RSS table and VMQ moves. A one-worker switch has one queue and one worker. */
  async queues(): Promise<QueuesStatus> {
    return this.queueStatus();
  }

  queueStatus(): QueuesStatus {
    if (this.qc) return this.qc.status();
    const c = this.summed().readGlobal();
    return {
      workers: [{ worker: 0, frames: c.frames, load: 0, queues: [0], signals: 0 }],
      queues: [{ queue: 0, port: null, filter: null, worker: 0, frames: c.frames, load: 0, moves: 0 }],
      rss: { size: 1, entries: [0] },
      moves: { total: 0, recent: [] },
      dvmq: { ...kDvmqDefaultConfig, enabled: false },
      moderation: this.config.moderation ?? 'off',
    };
  }

  moveQueue(queue: number, worker: number): Promise<void> {
    if (!this.qc) return Promise.reject(new Error(`switch '${this.name}' runs on one worker: there is nothing to move (start it with --workers 2 or more)`));
    return this.qc.moveQueue(queue, worker);
  }

  setRssTable(entries: number[]): Promise<void> {
    if (!this.qc) return Promise.reject(new Error(`switch '${this.name}' runs on one worker: it has no RSS table (start it with --workers 2 or more)`));
    return this.qc.setRssTable(entries);
  }

  /** Change interrupt moderation and Dynamic VMQ settings of a running switch (validated by the caller). */
  async tune(t: { moderation?: ModerationConfig; dvmq?: DvmqConfig }): Promise<void> {
    if (t.moderation !== undefined) await Promise.all(this.workers.map((_, w) => this.call({ op: 'setModeration', moderation: moderationSettings(t.moderation) }, w)));
    this.qc?.tune(t, this.workers);
    if (t.moderation !== undefined) this.config.moderation = t.moderation;
    if (t.dvmq) this.config.dvmq = { ...(this.config.dvmq ?? {}), ...t.dvmq };
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.qc?.stop();
    await Promise.all(this.workers.map((_, w) => this.call({ op: 'stop' }, w).catch(() => {})));
    await this.captures.stopAll();
    this.exited = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
