/**
 * SwitchRuntime: one running switch, as the control thread holds it. It owns the switch's datapath workers
 * (N, default one per core), the tables they share (packet pool, MAC table, link state) and the queue
 * tables (runtime/queue-control.ts), speaks the typed request/reply protocol of engine/protocol.ts, and
 * reads the workers' counter blocks straight from shared memory, summing them (no round trip for
 * `counters`). It keeps the name -> port index map and the applied spec, so a listing never has to stop
 * the datapath. It knows no config file, API or CLI: control/ validates, formats and drives it.
 *
 * With several workers: every worker holds the same port table and policy (each request that changes
 * them goes to all); the MAC table, the packet pool and link state are shared memory; a port's NIC lives
 * on one worker (its home), the others write to a TAP through the home's fd (or open their own queue of
 * a multi-queue TAP); runtime/queue-control.ts decides which worker switches what and moves queues.
 * Requests about shared or pinned state (MAC table, flows, captures) go to worker 0.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { Counters } from '../dataplane/counters.js';
import { engineCounters } from '../engine/counter-layout.js'; // also every counter row's name, for readCounters
import { flowCounters } from '../policy/conntrack.js';
import { Fdb, kDefaultAgingSeconds } from '../switch/fdb.js';
import type {
  AddedPort,
  EventMessage,
  Op,
  PolicyStats,
  ReleasedNic,
  RemoteNic,
  ReopenNic,
  Replies,
  Reply,
  RequestOf,
  WorkerInit,
} from '../engine/protocol.js';
import { loadTapAddon } from '../ports/tap-native.js';
import { FaultWindow } from './fault-window.js';
import { nativeDoorbells } from '../engine/doorbell.js';
import { kMaxWorkers } from '../queues/queue-tables.js';
import { moderationSettings, type QueueControl } from './queue-control.js';
import { SwitchTables } from './switch-tables.js';
import type { WorkerQueuesInit } from '../queues/worker-queues.js';
import { defaultWorkers, type DvmqConfig, type ModerationConfig, type QueuesStatus } from '../queues/queue-spec.js';
import { kDefaultFlowTableSize, type PortPolicy } from '../policy/config.js';
import type {
  DatapathEvent,
  FdbRow,
  FlowRow,
  LinkEvent,
  PortSpec,
  PortCounters,
  PortStatus,
  SwitchSpec,
  SwitchCounters,
  VlanConfig,
} from '../engine/spec.js';

/** The capture requests a capture (control/capture.ts) sends through captureCall. */
export type CaptureOp = RequestOf<'captureStart'> | RequestOf<'captureStop'>;

/** What a runtime tells its owner besides replies: link changes, datapath faults and restarts, and the end. */
export interface RuntimeHooks {
  onLink: (ev: LinkEvent) => void;
  /** A worker failed (with the error and its stack) or the switch's workers were restarted. */
  onDatapath?: (ev: DatapathEvent, stack?: string) => void;
  /** The datapath cannot be kept alive (repeated faults, or a restart failed): the owner should exit. */
  onFatal?: (err: Error) => void;
}

/** A TAP port's device, held open by this thread (a dup of each fd a worker opened; index = that worker,
 *  one entry for a single-queue TAP), so a worker's death does not destroy it. */
interface KeptTap {
  fds: number[];
  offloadCaps: number;
}

export class SwitchRuntime {
  readonly name: string;
  readonly config: SwitchSpec;
  /** One counter block per worker (summed by readCounters). */
  readonly counterBlocks: Counters[] = [];
  /** The counter block of each running worker, by worker index (its poll window rows for `queues`, its
   *  GC rows for bench/gc.ts). */
  readonly workerBlocks: Counters[] = [];
  readonly workers: Worker[] = [];
  /** The memory the workers share (pool, MAC table, link state, queue tables); rebuilt on a restart. */
  private tables!: SwitchTables;
  private readonly hooks: RuntimeHooks;
  /** Every TAP port's device held open here: what other workers write through, and what a restarted
   *  worker takes over. */
  private readonly kept = new Map<string, KeptTap>();
  /** Recent worker faults: too many in the window and the runtime gives up (onFatal). */
  private readonly faults = new FaultWindow();
  /** Set while the workers are being replaced; requests wait for it. */
  private restarting: Promise<void> | null = null;
  /** Times the workers were replaced after a fault, and the last fault. */
  restarts = 0;
  lastFault: DatapathEvent | null = null;
  /** Workers stopped by setWorkers (or replaced after a fault): their exit is no failure. */
  private readonly retired = new Set<Worker>();
  /** Port name -> worker hosting its NIC. */
  private readonly home = new Map<string, number>();
  private nextHome = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly portIndex = new Map<string, number>();
  private nodeNames: string[] = [];
  private exited = false;

  constructor(cfg: SwitchSpec, hooks: RuntimeHooks | ((ev: LinkEvent) => void)) {
    this.name = cfg.name;
    this.config = { ...cfg, ports: [] };
    this.hooks = typeof hooks === 'function' ? { onLink: hooks } : hooks;
    nativeDoorbells(); // the queue moves this thread rings reach workers sleeping on native doorbells
    // V8's memory reducer compacts a heap that went quiet after a burst (Mark-Compact (reduce), 2 per worker
    // after each burst, 1.5-20 ms each here): a datapath stall for a few MB back. Off for the whole process
    // (V8 flags are), before the workers' isolates exist; measured in BENCHMARKS.md (bench/gc.ts).
    setFlagsFromString('--no-memory-reducer');
    this.boot(cfg.workers ?? defaultWorkers());
  }

  /** Build the shared tables and start n workers on them (at creation, and again after a fault). */
  private boot(n: number): void {
    this.tables = new SwitchTables(n, this.config);
    for (let w = 0; w < n; w++) this.spawn(w, this.qc.workerInit(w));
    this.qc.start(this.workers);
  }

  /** Start datapath worker w (its counter block stays in the sums even after it retires). */
  private spawn(w: number, queues: WorkerQueuesInit): void {
    const counters = new Counters();
    this.counterBlocks.push(counters);
    this.workerBlocks[w] = counters;
    const cfg = this.config;
    const init: WorkerInit = {
      switchName: cfg.name,
      agingSeconds: cfg.agingSeconds ?? kDefaultAgingSeconds,
      macTableSize: this.tables.fdb.maxEntries,
      rsc: cfg.rsc ?? true,
      minimumBandwidthMode: cfg.minimumBandwidthMode ?? 'weight',
      flowTableSize: cfg.flowTableSize ?? kDefaultFlowTableSize,
      pollWindowUs: cfg.pollWindowUs ?? 0,
      counters: counters.sab,
      pool: this.tables.pool,
      multi: this.tables.shared(queues),
    };
    const worker = new Worker(new URL('../engine/worker.js', import.meta.url), {
      workerData: init,
      name: `vswitch:${cfg.name}:${w}`,
    });
    this.workers[w] = worker;
    worker.on('message', (m: Reply | EventMessage) => {
      if ('event' in m) {
        if (!this.retired.has(worker))
          this.hooks.onLink({ time: new Date().toISOString(), switch: this.name, ...m.link });
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    // An uncaught exception (or unhandled rejection) ends the worker: 'error', then 'exit'. Either way the
    // switch's workers are replaced from the running spec; a second report of the same death is ignored.
    worker.on('error', (err) => this.workerFailed(worker, w, err));
    worker.on('exit', (code) => this.workerFailed(worker, w, new Error(`worker exited with code ${code}`)));
  }

  /** Worker w died unasked: log and report it, then replace the workers, or give up after too many faults. */
  private workerFailed(worker: Worker, w: number, err: Error): void {
    if (this.exited || this.retired.has(worker)) return;
    for (const x of this.workers) this.retired.add(x);
    this.retired.add(worker);
    const ev: DatapathEvent = {
      time: new Date().toISOString(),
      switch: this.name,
      worker: w,
      event: 'fault',
      reason: err.message,
    };
    this.lastFault = ev;
    this.hooks.onDatapath?.(ev, err.stack);
    this.failAll(
      new Error(
        `switch '${this.name}' datapath worker ${w} failed (${err.message}); its workers are being restarted, retry`,
      ),
    );
    const burst = this.faults.add(Date.now());
    if (burst !== null) {
      this.exited = true;
      this.qc.stop();
      this.datapathLost();
      void Promise.all(this.workers.map((x) => x.terminate()));
      this.hooks.onFatal?.(
        new Error(
          `switch '${this.name}': ${burst} datapath faults within ${this.faults.windowMs / 1000} s (last: ${err.message}); giving up`,
        ),
      );
      return;
    }
    const t0 = Date.now();
    this.restarting = this.restart().then(
      () => {
        this.restarting = null;
        this.restarts++;
        this.hooks.onDatapath?.({
          time: new Date().toISOString(),
          switch: this.name,
          worker: w,
          event: 'restarted',
          reason: `${this.workers.length} workers replaced in ${Date.now() - t0} ms`,
        });
      },
      (e: unknown) => {
        this.restarting = null;
        this.exited = true;
        this.hooks.onFatal?.(
          new Error(`switch '${this.name}': restarting its datapath failed: ${(e as Error).message}`),
        );
      },
    );
  }

  /**
   * Replace every worker of the switch from the running spec: the old ones are stopped (their teardown
   * closes the fds they opened; the devices live on through the copies kept here), new shared tables are
   * built, and every port is added again, a TAP taking over its kept device (already up, in its namespace,
   * with its addresses) instead of opening a new one. Learned MACs and stateful flows are lost (they are
   * relearned); counters keep their totals; static MACs are put back.
   */
  private async restart(): Promise<void> {
    const old = [...this.workers];
    this.qc.stop();
    this.datapathLost();
    await Promise.all(old.map((x) => x.terminate()));
    for (const x of old) this.retired.delete(x); // their exit has been seen
    this.workers.length = 0;
    // the old workers' totals folded into one block (so restarts do not grow the sums); flowsActive is a
    // gauge of the old flow table, which is gone
    const totals = this.summed();
    totals.c[Counters.global(flowCounters.flowsActive)] = 0;
    this.counterBlocks.length = 0;
    this.counterBlocks.push(totals);
    const ports = this.config.ports!;
    const indices = new Map(this.portIndex); // each port keeps its index, so its counters go on adding up
    this.config.ports = [];
    this.portIndex.clear();
    this.home.clear();
    this.nextHome = 0;
    this.boot(old.length);
    this.nodeNames = await this.send({ op: 'nodes' });
    for (const port of ports) await this.plugPort(port, this.kept.get(port.name), indices.get(port.name));
    for (const m of this.config.staticMacs ?? [])
      await this.send({ op: 'fdbAdd', mac: m.mac, vid: m.vid, port: m.port }).catch(() => {});
  }

  /** Captures run on worker 0, with the port's traffic pinned there while they run. */
  async captureCall(req: CaptureOp): Promise<number | null> {
    const cfg = this.portConfig(req.name);
    if (req.op === 'captureStart' && cfg) await this.qc.setCapturing(cfg, true);
    try {
      return req.op === 'captureStart' ? await this.call(req) : await this.call(req);
    } finally {
      if (req.op === 'captureStop' && cfg) await this.qc.setCapturing(cfg, false);
    }
  }

  /** The workers died or are being replaced: what a subclass runs on them (captures) ends here. */
  protected datapathLost(): void {}

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** A request to worker w (default 0), answered with its op's reply type; waits out a restart. */
  private call<O extends Op>(req: RequestOf<O>, w = 0): Promise<Replies[O]> {
    if (this.restarting) return this.restarting.then(() => this.send(req, w));
    return this.send(req, w);
  }

  private send<O extends Op>(req: RequestOf<O>, w = 0): Promise<Replies[O]> {
    if (this.exited) return Promise.reject(new Error(`switch '${this.name}' is stopped`));
    const id = this.nextId++;
    return new Promise<Replies[O]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.workers[w]!.postMessage({ id, req });
    });
  }

  /** Queues, steering tables and moves (runtime/queue-control.ts); rebuilt with the workers on a restart. */
  get qc(): QueueControl {
    return this.tables.qc;
  }

  /** Resolves once no restart is under way (requests to every worker must see the new set). */
  private async ready(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  /** A change every worker must apply: worker 0 first (it refuses what all would refuse), then the rest. */
  private async callAll<O extends Op>(req: RequestOf<O>): Promise<void> {
    await this.call(req, 0);
    await Promise.all(this.workers.slice(1).map((_, i) => this.call(req, i + 1)));
  }

  get workerCount(): number {
    return this.workers.length;
  }

  async start(): Promise<void> {
    this.nodeNames = await this.call({ op: 'nodes' });
  }

  async addPort(port: PortSpec): Promise<void> {
    await this.ready();
    await this.plugPort(port, undefined);
  }

  /** Add a port on every worker; `kept`: its TAP outlived the workers (a restart) and is taken over;
   *  `index`: the port index it had before the restart. */
  private async plugPort(port: PortSpec, kept: KeptTap | undefined, index?: number): Promise<void> {
    const n = this.workers.length;
    // A socket endpoint lives on worker 0 (pinned there). A TAP's NIC goes to the home worker under Dynamic
    // VMQ (with every queue, until load spreads them), else round robin; a multi-queue TAP opens a queue on
    // every worker, the others write through the home's fd.
    const tap = port.nic.type === 'tap';
    const multiQueue = port.nic.type === 'tap' && port.nic.multiQueue === true;
    const nicHome = tap && !multiQueue ? this.qc.nicHome() : -1;
    const home = !tap ? 0 : nicHome >= 0 ? nicHome : this.nextHome++ % n;
    const reopen = (w: number): ReopenNic | undefined =>
      kept ? { fd: kept.fds[w] ?? kept.fds[0]!, offloadCaps: kept.offloadCaps } : undefined;
    const added: AddedPort = await this.send(
      { op: 'addPort', port, index, place: !tap || n === 1, reopen: reopen(home) },
      home,
    );
    const joined: number[] = [];
    const queueFds: number[] = [];
    queueFds[home] = added.fd;
    let keep: KeptTap | undefined;
    try {
      // the device is held open here before any other worker writes through it
      keep =
        kept ??
        (tap && added.fd >= 0 ? { fds: [loadTapAddon().dup(added.fd)], offloadCaps: added.offloadCaps } : undefined);
      for (let w = 0; w < n; w++) {
        if (w === home) continue;
        const r = await this.send(
          {
            op: 'addPort',
            port,
            index: added.index,
            remote: this.remoteNic(port, keep, multiQueue, kept ? reopen(w) : undefined),
          },
          w,
        );
        joined.push(w);
        queueFds[w] = r.fd;
      }
      // a new multi-queue TAP: keep each worker's queue too (a restarted worker takes its own back)
      if (multiQueue && !kept && keep)
        keep.fds = queueFds.map((fd, w) => (w === home ? keep!.fds[0]! : fd >= 0 ? loadTapAddon().dup(fd) : -1));
      if (tap && n > 1 && !kept) await this.send({ op: 'placeTap', name: port.name }, home);
    } catch (err) {
      for (const w of joined) await this.send({ op: 'removePort', name: port.name }, w).catch(() => {});
      await this.send({ op: 'removePort', name: port.name }, home).catch(() => {});
      if (keep && !kept) this.closeKept(keep);
      throw err;
    }
    if (keep) this.kept.set(port.name, keep);
    this.portAdded(port, added.index, home);
  }

  /** How a worker that does not host a port's NIC reaches it: through the device held open here. */
  private remoteNic(
    port: PortSpec,
    keep: KeptTap | undefined,
    multiQueue: boolean,
    reopen: ReopenNic | undefined,
  ): RemoteNic {
    if (port.nic.type !== 'tap' || keep === undefined) return { kind: 'none' };
    if (multiQueue) return reopen ? { kind: 'mq', reopen } : { kind: 'mq' };
    return { kind: 'borrow', fd: keep.fds[0]!, offloadCaps: keep.offloadCaps };
  }

  private closeKept(keep: KeptTap): void {
    const addon = loadTapAddon();
    for (const fd of keep.fds) if (fd >= 0) addon.close(fd);
  }

  private portAdded(port: PortSpec, index: number, home: number): void {
    this.portIndex.set(port.name, index);
    this.home.set(port.name, home);
    this.config.ports!.push(port);
    void this.qc.portChanged(port, index); // a new port: applied at once (no traffic of it to reorder yet)
  }

  async removePort(name: string): Promise<void> {
    await this.ready();
    const home = this.home.get(name) ?? 0;
    this.qc.portRemoved(name);
    // the workers borrowing the home's TAP fd let go of it before the home closes it
    await Promise.all(this.workers.map((_, w) => (w === home ? null : this.call({ op: 'removePort', name }, w))));
    await this.call({ op: 'removePort', name }, home);
    this.portIndex.delete(name);
    this.home.delete(name);
    // the workers closed their fds: closing the kept ones destroys a TAP the switch created
    const keep = this.kept.get(name);
    if (keep) this.closeKept(keep);
    this.kept.delete(name);
    this.config.ports = this.config.ports!.filter((p) => p.name !== name);
  }

  private patchPort(name: string, patch: Partial<PortSpec>): Promise<void> {
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

  /** The limit lives in the shared MAC table: one worker writes it for all. */
  async setMacLimit(name: string, macLimit: number): Promise<void> {
    await this.call({ op: 'setMacLimit', name, macLimit });
    await this.patchPort(name, { macLimit });
  }

  /**
   * Resize the MAC table of the running switch: rebuild the shared table at the new size (fdb.ts resized:
   * statics, then the most recently seen), have every worker adopt it between two breaths, then forget the
   * entries of ports whose link went down meanwhile (their flush went to the old table). Addresses learned
   * in the old table during the switch-over are learned again from their next frame.
   */
  async setMacTableSize(size: number): Promise<{ macTableSize: number; entries: number; dropped: number }> {
    const { table, dropped } = this.tables.fdb.resized(size);
    this.tables.fdb = table;
    await this.callAll({ op: 'fdbAdopt', maxEntries: size, sab: table.sab });
    const locked = new Fdb(size, table.sab);
    const link = new Uint8Array(this.tables.linkState);
    for (const p of this.portIndex.values()) if (link[p] === 0) locked.flush(p);
    this.config.macTableSize = size;
    return { macTableSize: size, entries: table.count, dropped };
  }

  async setAdmin(name: string, up: boolean): Promise<void> {
    const home = this.home.get(name) ?? 0;
    const { revivedFd } = await this.call({ op: 'setAdmin', name, up }, home);
    // a TAP re-created under the port: the kept copy (what other workers write through, and what a worker
    // restart re-attaches) must name the new device too
    const keep = this.kept.get(name);
    if (revivedFd >= 0 && keep && keep.fds.length === 1) loadTapAddon().redup(revivedFd, keep.fds[0]!);
    await Promise.all(this.workers.map((_, w) => (w === home ? null : this.call({ op: 'setAdmin', name, up }, w))));
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

  portConfig(name: string): PortSpec | undefined {
    return this.config.ports!.find((p) => p.name === name);
  }

  /** Stateful ACL flows (of one port, or all), as the datapath holds them. */
  flowRows(port?: string): Promise<FlowRow[]> {
    return this.call({ op: 'flows', name: port });
  }

  /** Rule hit counters, summed over the workers (each counts the frames it switched). */
  async policyStats(name: string): Promise<PolicyStats> {
    await this.ready();
    const all = await Promise.all(this.workers.map((_, w) => this.call({ op: 'policyStats', name }, w)));
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
    await this.ready();
    const views = await Promise.all(this.workers.map((_, w) => this.call({ op: 'ports' }, w)));
    return views[0]!.map((p) => {
      const home = this.home.get(p.name) ?? 0;
      const mine = views[home]!.find((x) => x.name === p.name) ?? p;
      return { ...mine, detail: { ...mine.detail, worker: home } };
    });
  }

  hasPort(name: string): boolean {
    return this.portIndex.has(name);
  }

  /** The MAC table, as the datapath holds it. */
  fdbRows(): Promise<FdbRow[]> {
    return this.call({ op: 'fdbShow' });
  }

  /** Port index -> name, for reading the datapath's rows. */
  portNames(): Map<number, string> {
    return new Map([...this.portIndex].map(([n, p]) => [p, n]));
  }

  fdbFlush(port?: string): Promise<number> {
    return this.call({ op: 'fdbFlush', port });
  }

  async fdbAdd(mac: string, vid: number, port: string): Promise<void> {
    await this.call({ op: 'fdbAdd', mac, vid, port });
  }

  async fdbDel(mac: string, vid: number): Promise<void> {
    await this.call({ op: 'fdbDel', mac, vid });
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
    g.fdbEntries = this.tables.fdb.count;
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
      datapath: { restarts: this.restarts },
      fdb: {
        entries: g.fdbEntries,
        learned: g.fdbLearned,
        aged: g.fdbAged,
        moved: g.fdbMoved,
        refused: g.fdbRefused,
        evicted: g.fdbEvicted,
        flushed: g.fdbFlushed,
      },
      flows: {
        active: g.flowsActive,
        created: g.flowsCreated,
        expired: g.flowsExpired,
        refused: g.flowsRefused,
        earlyDropped: g.flowsEarlyDropped,
        quotaRefused: g.flowsQuotaRefused,
      },
      ports,
      nodes,
    };
  }

  // ---- queues (multi-worker switches) ----

  /** Queues, workers, the RSS table and VMQ moves. */
  async queues(): Promise<QueuesStatus> {
    const s = this.qc.status();
    for (const w of s.workers) {
      const c = this.workerBlocks[w.worker]?.c;
      w.pollWindows = c?.[engineCounters.pollWindows] ?? 0;
      w.pollWindowCatches = c?.[engineCounters.pollWindowCatches] ?? 0;
      w.pollWindowFrames = c?.[engineCounters.pollWindowFrames] ?? 0;
      w.gc = {
        minor: c?.[engineCounters.gcMinor] ?? 0,
        major: c?.[engineCounters.gcMajor] ?? 0,
        pauseUs: c?.[engineCounters.gcPauseUs] ?? 0,
        maxPauseUs: c?.[engineCounters.gcMaxPauseUs] ?? 0,
        longPauses: c?.[engineCounters.gcLongPauses] ?? 0,
      };
    }
    return { ...s, pollWindowUs: this.config.pollWindowUs ?? 0 };
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
    await this.ready();
    if (!Number.isInteger(n) || n < 1 || n > kMaxWorkers)
      throw new Error(`workers: ${n} is out of range; use an integer from 1 to ${kMaxWorkers}`);
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
      await this.call(
        {
          op: 'addPort',
          port,
          index: this.portIndex.get(port.name)!,
          remote: this.remoteNic(port, this.kept.get(port.name), false, undefined),
        },
        k,
      );
    }
  }

  private async retireWorker(): Promise<void> {
    const k = this.workers.length - 1;
    await this.qc.evacuate(k);
    for (const [name, home] of this.home) {
      if (home !== k) continue;
      const nic: ReleasedNic = await this.call({ op: 'releaseNic', name }, k);
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
      if (Date.now() - t0 > 5000)
        throw new Error(`worker ${k} stopped but frames it handed over were not taken within 5 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(this.workers.map((_, w) => this.call({ op: 'resize', count: k, rings: this.qc.rings }, w)));
    this.qc.removeWorker();
  }

  /** Change interrupt moderation and Dynamic VMQ settings of a running switch (validated by the caller). */
  async tune(t: {
    workers?: number;
    moderation?: ModerationConfig;
    dvmq?: DvmqConfig;
    pollWindowUs?: number;
  }): Promise<void> {
    await this.ready();
    if (t.pollWindowUs !== undefined) this.config.pollWindowUs = t.pollWindowUs; // workers added below start with it
    if (t.workers !== undefined) await this.setWorkers(t.workers);
    if (t.pollWindowUs !== undefined) await this.callAll({ op: 'setPollWindow', us: t.pollWindowUs });
    if (t.moderation !== undefined)
      await Promise.all(
        this.workers.map((_, w) => this.call({ op: 'setModeration', moderation: moderationSettings(t.moderation) }, w)),
      );
    this.qc.tune(t, this.workers);
    if (t.moderation !== undefined) this.config.moderation = t.moderation;
    if (t.dvmq) this.config.dvmq = { ...(this.config.dvmq ?? {}), ...t.dvmq };
  }

  /** Test hook: make worker w throw inside its next breath (the worker refuses unless VSWITCH_FAULT_INJECT=1). */
  async injectFault(w: number): Promise<boolean> {
    if (!Number.isInteger(w) || w < 0 || w >= this.workers.length)
      throw new Error(`worker: ${w} is not a worker of switch '${this.name}'; it has 0 to ${this.workers.length - 1}`);
    return this.call({ op: 'fault' }, w);
  }

  /** Stop the workers and close every NIC; `dispose` (the switch is removed for good) lets persistent TAP
   *  devices go too, while a shutdown keeps them for the next start. */
  async stop(dispose = false): Promise<void> {
    await this.ready();
    if (!this.exited) {
      this.qc.stop();
      await Promise.all(this.workers.map((_, w) => this.call({ op: 'stop', dispose }, w).catch(() => {})));
      this.exited = true;
      await Promise.all(this.workers.map((w) => w.terminate()));
    }
    for (const keep of this.kept.values()) this.closeKept(keep);
    this.kept.clear();
  }
}
