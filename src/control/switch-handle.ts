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
import '../engine/counter-layout.js'; // every counter row's name, for readCounters
import { createSharedPool } from '../dataplane/pool.js';
import { Fdb, kDefaultAgingSeconds, kDefaultMaxEntries } from '../switch/fdb.js';
import type { AddedPort, EventMessage, PolicyStats, RemoteNic, Reply, Request, WorkerInit } from '../engine/protocol.js';
import { kMaxWorkers } from '../queues/queue-tables.js';
import { moderationSettings, QueueControl } from './queue-control.js';
import type { WorkerQueuesInit } from '../queues/worker-queues.js';
import { defaultWorkers, kDefaultRssTableSize, kDefaultVmqQueues } from './validate-queues.js';
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
  /** Queues, steering tables and moves (control/queue-control.ts). */
  readonly qc: QueueControl;
  private readonly fdbView: Fdb;
  private readonly linkState: SharedArrayBuffer;
  private readonly poolShape: WorkerInit['pool'];
  private readonly onLink: (ev: LinkEvent) => void;
  /** TAP fd of each port's NIC (on its home worker), for the workers that write through it. */
  private readonly fds = new Map<string, { fd: number; offloadCaps: number }>();
  /** Workers stopped by setWorkers: their exit is no failure. */
  private readonly retired = new Set<Worker>();
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
    this.onLink = onLink;
    const n = cfg.workers ?? defaultWorkers();
    const macTableSize = cfg.macTableSize ?? kDefaultMaxEntries;
    // every switch has the shared tables, even on one worker, so workers can be added while it runs
    this.poolShape = createSharedPool();
    this.fdbView = new Fdb(macTableSize);
    this.linkState = new SharedArrayBuffer(kMaxPorts);
    this.qc = new QueueControl(n, { vmqQueues: cfg.vmqQueues ?? kDefaultVmqQueues, rssTableSize: cfg.rssTableSize ?? kDefaultRssTableSize, dvmq: cfg.dvmq, moderation: cfg.moderation });
    this.captures = new SwitchCaptures(cfg.name, kCaptureSnap, (req) => this.captureCall(req));
    for (let w = 0; w < n; w++) this.spawn(w, this.qc.workerInit(w));
    this.qc.start(this.workers);
  }

  /** Start datapath worker w (its counter block stays in the sums even after it retires). */
  private spawn(w: number, queues: WorkerQueuesInit): void {
    const counters = new Counters();
    this.counterBlocks.push(counters);
    const cfg = this.config;
    const init: WorkerInit = {
      switchName: cfg.name,
      agingSeconds: cfg.agingSeconds ?? kDefaultAgingSeconds,
      macTableSize: this.fdbView.maxEntries,
      rsc: cfg.rsc ?? true,
      minimumBandwidthMode: cfg.minimumBandwidthMode ?? 'weight',
      flowTableSize: cfg.flowTableSize ?? kDefaultFlowTableSize,
      counters: counters.sab,
      pool: this.poolShape,
      multi: { fdb: this.fdbView.sab, linkState: this.linkState, queues },
    };
    const worker = new Worker(new URL('../engine/worker.js', import.meta.url), { workerData: init, name: `vswitch:${cfg.name}:${w}` });
    this.workers[w] = worker;
    worker.on('message', (m: Reply | EventMessage) => {
      if ('event' in m) {
        this.onLink({ time: new Date().toISOString(), switch: this.name, ...m.link });
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
      if (this.exited || this.retired.has(worker)) return;
      this.exited = true;
      this.qc.stop();
      void this.captures.stopAll();
      this.failAll(new Error(`switch '${this.name}' datapath worker ${w} exited (code ${code})`));
    });
  }

  /** Captures run on worker 0, with the port's traffic pinned there while they run. */
  private async captureCall(req: Request): Promise<unknown> {
    const cfg = req.op === 'captureStart' || req.op === 'captureStop' ? this.portConfig(req.name) : undefined;
    if (req.op === 'captureStart' && cfg) await this.qc.setCapturing(cfg, true);
    try {
      return await this.call(req);
    } finally {
      if (req.op === 'captureStop' && cfg) await this.qc.setCapturing(cfg, false);
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
    // A socket endpoint lives on worker 0 (pinned there). A TAP's NIC goes to the home worker under Dynamic
    // VMQ (with every queue, until load spreads them), else round robin; a multi-queue TAP opens a queue on
    // every worker, the others write through the home's fd.
    const tap = port.nic.type === 'tap';
    const multiQueue = port.nic.type === 'tap' && port.nic.multiQueue === true;
    const nicHome = tap && !multiQueue ? this.qc.nicHome() : -1;
    const home = !tap ? 0 : nicHome >= 0 ? nicHome : this.nextHome++ % n;
    const added = await this.call<AddedPort>({ op: 'addPort', port, place: !tap || n === 1 }, home);
    const joined: number[] = [];
    try {
      for (let w = 0; w < n; w++) {
        if (w === home) continue;
        await this.call({ op: 'addPort', port, index: added.index, remote: this.remoteNic(port, added, multiQueue) }, w);
        joined.push(w);
      }
      if (tap && n > 1) await this.call({ op: 'placeTap', name: port.name }, home);
    } catch (err) {
      for (const w of joined) await this.call({ op: 'removePort', name: port.name }, w).catch(() => {});
      await this.call({ op: 'removePort', name: port.name }, home).catch(() => {});
      throw err;
    }
    this.fds.set(port.name, { fd: added.fd, offloadCaps: added.offloadCaps });
    this.portAdded(port, added.index, home);
  }

  /** How a worker that does not host a port's NIC reaches it. */
  private remoteNic(port: PortConfig, nic: { fd: number; offloadCaps: number }, multiQueue: boolean): RemoteNic {
    if (port.nic.type !== 'tap') return { kind: 'none' };
    return multiQueue ? { kind: 'mq' } : { kind: 'borrow', fd: nic.fd, offloadCaps: nic.offloadCaps };
  }

  private portAdded(port: PortConfig, index: number, home: number): void {
    this.portIndex.set(port.name, index);
    this.home.set(port.name, home);
    this.config.ports!.push(port);
    void this.qc.portChanged(port, index); // a new port: applied at once (no traffic of it to reorder yet)
  }

  async removePort(name: string): Promise<void> {
    const home = this.home.get(name) ?? 0;
    this.qc.portRemoved(name);
    // the workers borrowing the home's TAP fd let go of it before the home closes it
    await Promise.all(this.workers.map((_, w) => (w === home ? null : this.call({ op: 'removePort', name }, w))));
    await this.call({ op: 'removePort', name }, home);
    await this.captures.portRemoved(name);
    this.portIndex.delete(name);
    this.home.delete(name);
    this.fds.delete(name);
    this.config.ports = this.config.ports!.filter((p) => p.name !== name);
  }

  private patchPort(name: string, patch: Partial<PortConfig>): Promise<void> {
    this.config.ports = this.config.ports!.map((p) => (p.name === name ? { ...p, ...patch } : p));
    return this.queuesFollow(name);
  }

  /** The port's queue, filter and pinning follow its applied config. */
  private queuesFollow(name: string): Promise<void> {
    const cfg = this.portConfig(name);
    const index = this.portIndex.get(name);
    return cfg && index !== undefined ? this.qc.portChanged(cfg, index) : Promise.resolve();
  }

  async setVlan(name: string, vlan: VlanConfig): Promise<void> {
    await this.callAll({ op: 'setVlan', name, vlan });
    await this.patchPort(name, { vlan });
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.callAll({ op: 'setMtu', name, mtu });
    await this.patchPort(name, { mtu });
  }

  async setAdmin(name: string, up: boolean): Promise<void> {
    await this.callAll({ op: 'setAdmin', name, up });
    await this.patchPort(name, { disconnected: !up });
  }

  /**
   * Replace a port's policy and MAC (validated by the caller); the applied config follows only on success.
   * A policy that needs one writer pins the port to worker 0 before worker 0 applies it.
   */
  async setPolicy(name: string, policy: PortPolicy, mac: string | undefined): Promise<void> {
    const before = this.portConfig(name);
    const index = this.portIndex.get(name);
    if (before && index !== undefined) await this.qc.portChanged({ ...before, policy, mac }, index);
    try {
      await this.callAll({ op: 'setPolicy', name, policy, mac });
    } catch (err) {
      if (before && index !== undefined) await this.qc.portChanged(before, index);
      throw err;
    }
    this.config.ports = this.config.ports!.map((p) => {
      if (p.name !== name) return p;
      const { mac: _m, policy: _p, ...rest } = p;
      return { ...rest, ...(mac !== undefined ? { mac } : {}), ...(Object.keys(policy).length ? { policy } : {}) };
    });
    await this.queuesFollow(name);
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

  /** Queues, workers, the RSS table and VMQ moves. */
  async queues(): Promise<QueuesStatus> {
    return this.qc.status();
  }

  moveQueue(queue: number, worker: number): Promise<void> {
    return this.qc.moveQueue(queue, worker);
  }

  setRssTable(entries: number[]): Promise<void> {
    return this.qc.setRssTable(entries);
  }

  /**
   * Change the number of workers of a running switch (1 to 64). A new worker joins the rings, gets every
   * port (writing to TAPs through their fds) and takes queues when Dynamic VMQ spreads them (or when moved).
   * A retiring worker (always the last) first has its queues and buckets moved away through the loss-free
   * move protocol, hands the TAP NICs it hosts to worker 0 (the fd stays open: the device, its namespace and
   * addresses are untouched), stops, and the others drop its rings once they are drained. Configuration is
   * never lost; Dynamic VMQ sampling pauses meanwhile.
   */
  async setWorkers(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 1 || n > kMaxWorkers) throw new Error(`workers: ${n} is out of range; use an integer from 1 to ${kMaxWorkers}`);
    this.qc.stop();
    try {
      while (this.workers.length < n) await this.addWorker();
      while (this.workers.length > n) await this.retireWorker();
    } finally {
      this.qc.start(this.workers);
    }
    this.config.workers = n;
  }

  private async addWorker(): Promise<void> {
    const k = this.workers.length;
    const init = this.qc.addWorker();
    await Promise.all(this.workers.map((_, w) => this.call({ op: 'resize', count: k + 1, rings: this.qc.rings }, w)));
    this.spawn(k, init);
    await this.call({ op: 'nodes' }, k);
    for (const port of this.config.ports!) {
      // a TAP already lives in its namespace, where a new queue cannot be opened by name: write through its fd
      await this.call({ op: 'addPort', port, index: this.portIndex.get(port.name)!, remote: this.remoteNic(port, this.fds.get(port.name)!, false) }, k);
    }
  }

  private async retireWorker(): Promise<void> {
    const k = this.workers.length - 1;
    await this.qc.evacuate(k);
    for (const [name, home] of this.home) {
      if (home !== k) continue;
      const nic = await this.call<{ fd: number; offloadCaps: number }>({ op: 'releaseNic', name }, k);
      if (nic.fd >= 0) await this.call({ op: 'adoptNic', name, fd: nic.fd, offloadCaps: nic.offloadCaps }, 0);
      this.home.set(name, 0);
    }
    const worker = this.workers[k]!;
    this.retired.add(worker);
    await this.call({ op: 'stop' }, k).catch(() => {});
    await worker.terminate();
    this.workers.pop();
    const t0 = Date.now();
    while (!this.qc.drainedFrom(k)) {
      if (Date.now() - t0 > 5000) throw new Error(`worker ${k} stopped but frames it handed over were not taken within 5 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(this.workers.map((_, w) => this.call({ op: 'resize', count: k, rings: this.qc.rings }, w)));
    this.qc.removeWorker();
  }

  /** Change interrupt moderation and Dynamic VMQ settings of a running switch (validated by the caller). */
  async tune(t: { workers?: number; moderation?: ModerationConfig; dvmq?: DvmqConfig }): Promise<void> {
    if (t.workers !== undefined) await this.setWorkers(t.workers);
    if (t.moderation !== undefined) await Promise.all(this.workers.map((_, w) => this.call({ op: 'setModeration', moderation: moderationSettings(t.moderation) }, w)));
    this.qc.tune(t, this.workers);
    if (t.moderation !== undefined) this.config.moderation = t.moderation;
    if (t.dvmq) this.config.dvmq = { ...(this.config.dvmq ?? {}), ...t.dvmq };
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.qc.stop();
    await Promise.all(this.workers.map((_, w) => this.call({ op: 'stop' }, w).catch(() => {})));
    await this.captures.stopAll();
    this.exited = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
