/**
 * Engine: one switch's datapath, assembled from the pipeline (engine/pipeline.ts: every stage, in order)
 * and the NICs of its ports, and run to completion (the OVS PMD / Snabb model): a NIC's I/O event fills the
 * batch, `breathe()` runs it from ports to ports, all in the same turn of the thread's event loop. No frame
 * changes threads unless it must. The engine itself holds only what is not a stage: ports, NICs and link
 * state, steering between workers, and the control operations.
 *
 * Design notes: README.md in this folder, section "engine.ts".
 */
import { Clock } from '../dataplane/clock.js';
import { Counters, dropCode, kMaxPorts } from '../dataplane/counters.js';
import { Batch, kMaxBatch } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { parseMacWords } from '../packet/mac.js';
import type { MinimumBandwidthMode, PortPolicy } from '../policy/config.js';
import { kDefaultFlowTableSize } from '../policy/config.js';
import type { Nic, NicDropReason, NicSink } from '../ports/nic.js';
import type { WorkerQueues } from '../queues/worker-queues.js';
import { Fdb, kDefaultAgingSeconds, kDefaultMaxEntries } from '../switch/fdb.js';
import { kDefaultMtu, PortTable } from '../switch/port-table.js';
import type { VlanConfig } from '../switch/vlan-config.js';
import { engineCounters } from './counter-layout.js';
import { Pipeline } from './pipeline.js';
import { PollWindow } from './poll-window.js';
import { createNicTable } from './transmit.js';
import { mechanismDrops } from '../dataplane/drops.js';
import { portCounters, switchDrops } from '../switch/counters.js';

/** Batches one drainRings call switches at most before the worker's event loop gets a turn. */
const kDrainBudget = 8;

export interface EngineOptions {
  pool?: PacketPool;
  counters?: Counters;
  clock?: Clock;
  agingSeconds?: number;
  macTableSize?: number;
  /** Receive segment coalescing toward offload-capable ports (default on). */
  rsc?: boolean;
  /** How MinimumBandwidth shares a congested egress (fixed for the engine's life). Default weight. */
  minimumBandwidthMode?: MinimumBandwidthMode;
  /** Stateful ACL flow table capacity. */
  flowTableSize?: number;
  onLink?: (ev: LinkChange) => void;
  /** Multi-worker switch: the MAC table shared by all workers (a view of one `Fdb.sab`). */
  fdb?: Fdb;
  /** Multi-worker switch: the shared link-state bytes (PortTable). */
  linkState?: SharedArrayBuffer;
  /** Multi-worker switch: this worker's steering, rings and doorbells (queues/worker-queues.ts). */
  queues?: WorkerQueues;
  /** Poll window after a wake that switched frames, microseconds (engine/poll-window.ts). Default 0: off. */
  pollWindowUs?: number;
}

export interface LinkChange {
  port: number;
  up: boolean;
  reason: 'nic-connected' | 'nic-disconnected' | 'admin-down' | 'admin-up' | 'port-removed';
  flushedMacs: number;
}

/** The per-port handle a NIC talks to. */
class PortSink implements NicSink {
  constructor(
    private readonly engine: Engine,
    readonly port: number,
  ) {}
  get pool(): PacketPool {
    return this.engine.pool;
  }
  alloc(): number {
    return this.engine.pool.alloc();
  }
  receive(slot: number): void {
    this.engine.enqueue(this.port, slot);
  }
  flush(): void {
    this.engine.breathe();
    this.engine.window.afterWork();
  }
  drop(reason: NicDropReason): void {
    this.engine.counters.c[Counters.portDrop(this.port, dropCode(reason))]++; // a NIC's refusal: rare, by name
  }
  connected(): void {
    this.engine.nicLink(this.port, true);
  }
  disconnected(): void {
    this.engine.nicLink(this.port, false);
  }
}

export class Engine {
  readonly pool: PacketPool;
  readonly counters: Counters;
  readonly clock: Clock;
  readonly fdb: Fdb;
  readonly ports: PortTable;
  /** Steering over N workers, or null when this engine switches alone. */
  readonly mq: WorkerQueues | null;
  /** Ports whose link state (and link events, MAC flushes on link down) this engine owns: the ones whose
   *  NIC it hosts. A multi-worker engine also switches for ports whose NIC lives on another worker. */
  private readonly linkOwner = new Uint8Array(kMaxPorts);
  /** Every stage from received batch to NIC (engine/pipeline.ts). */
  readonly pipeline: Pipeline;
  /** Packet capture taps (engine/capture.ts) and port ACLs, reached by control operations. */
  readonly capture: Pipeline['capture'];
  readonly acls: Pipeline['acls'];
  agingSeconds: number;
  private readonly nics = createNicTable();
  private readonly sinks: Array<PortSink | null> = new Array(kMaxPorts).fill(null);
  private readonly nicUp = new Uint8Array(kMaxPorts);
  private readonly adminUp = new Uint8Array(kMaxPorts);
  private batch = new Batch();
  private spare = new Batch();
  /** Multi-worker: frames received and not yet steered (the first step of a breath). */
  private readonly rx = new Batch();
  private breathing = false;
  /** drainRings stopped at its budget with frames left in the rings. */
  ringsPending = false;
  /** Keeps polling this engine's NICs and rings for a while after a wake that did work. */
  readonly window: PollWindow;
  /** Ports whose NIC on this engine can be polled (Nic.poll): pollable[0..pollableCount), rebuilt lazily. */
  private readonly pollable = new Int32Array(kMaxPorts);
  private pollableCount = 0;
  private pollableStale = true;
  private readonly onLink: (ev: LinkChange) => void;

  constructor(opts: EngineOptions = {}) {
    this.pool = opts.pool ?? new PacketPool();
    this.counters = opts.counters ?? new Counters();
    this.clock = opts.clock ?? new Clock();
    this.agingSeconds = opts.agingSeconds ?? kDefaultAgingSeconds;
    this.fdb = opts.fdb ?? new Fdb(opts.macTableSize ?? kDefaultMaxEntries);
    this.fdb.countInto(this.counters.c);
    this.ports = new PortTable(opts.linkState);
    this.mq = opts.queues ?? null;
    this.onLink = opts.onLink ?? (() => {});
    this.pipeline = new Pipeline({
      pool: this.pool,
      counters: this.counters,
      clock: this.clock,
      fdb: this.fdb,
      ports: this.ports,
      nics: this.nics,
      minimumBandwidthMode: opts.minimumBandwidthMode ?? 'weight',
      flowTableSize: opts.flowTableSize ?? kDefaultFlowTableSize,
    });
    this.pipeline.offload.rsc = opts.rsc ?? true;
    this.pipeline.shaper.onDue = this.onShaperDue;
    this.capture = this.pipeline.capture;
    this.acls = this.pipeline.acls;
    this.window = new PollWindow(this, this.counters);
    this.window.windowUs = opts.pollWindowUs ?? 0;
  }

  /** Node names in pipeline order (index = counter row). */
  nodeNames(): string[] {
    return this.pipeline.nodeNames();
  }

  // ---- ports and NICs (control path) ----

  addPort(vlan: VlanConfig = { mode: 'untagged' }, mtu = kDefaultMtu, index = -1): number {
    const p = index >= 0 ? index : this.ports.allocate();
    if (p < 0) throw new Error(`switch is full: at most ${kMaxPorts} ports`);
    if (this.ports.inUse[p]) throw new Error(`port index ${p} is in use`);
    this.ports.add(p, vlan, mtu);
    this.fdb.setLimit(p, 0); // a reused index does not inherit the previous port's limit
    this.counters.resetPort(p);
    this.nicUp[p] = 0;
    this.adminUp[p] = 1;
    this.linkOwner[p] = 1;
    this.sinks[p] = new PortSink(this, p);
    return p;
  }

  /**
   * Multi-worker: this engine switches frames for `port` but its NIC lives on another worker, which owns the
   * link state. `nic` lets this worker reach the port itself: a borrowed TAP fd (write only: writes from any
   * thread are whole frames; `caps` are the owner's offloads) or its own queue of a multi-queue TAP (`read`);
   * null (a socket endpoint): traffic to and from the port is pinned to the NIC's worker.
   */
  attachRemote(port: number, nic: Nic | null, caps: number, read: boolean): void {
    this.linkOwner[port] = 0;
    this.nics[port] = nic;
    this.pollableStale = true;
    if (nic !== null) nic.open(this.sinks[port]!); // a borrowed TAP fd opens write-only; an mq queue reads too
    this.ports.caps[port] = read ? (nic?.offloadCaps ?? 0) : caps;
  }

  /** Plug a NIC into a port and start its I/O (lifecycle: NIC created -> connected). */
  attach(port: number, nic: Nic): void {
    if (this.nics[port]) throw new Error(`port ${port} already has a NIC`);
    this.nics[port] = nic;
    this.pollableStale = true;
    nic.open(this.sinks[port]!);
    this.ports.caps[port] = nic.offloadCaps ?? 0;
  }

  /** Unplug and close the port's NIC (link down), keeping the port and its settings. */
  detach(port: number): void {
    const nic = this.nics[port];
    if (!nic) return;
    this.nics[port] = null;
    this.pollableStale = true;
    this.ports.caps[port] = 0;
    nic.close();
    this.nicLink(port, false);
  }

  /**
   * A worker retiring hands its NIC to another: stop reading, keep the fd open and the link as it is (no
   * event, no MAC flush). Returns the NIC, now idle, or null.
   */
  releaseNic(port: number): Nic | null {
    const nic = this.nics[port];
    this.nics[port] = null;
    this.pollableStale = true;
    this.linkOwner[port] = 0;
    this.nicUp[port] = 0;
    return nic;
  }

  /** Take over a released NIC of a port this engine already switches for (it becomes the link owner). */
  adoptNic(port: number, nic: Nic): void {
    const old = this.nics[port];
    this.nics[port] = null;
    old?.close(); // a borrowed writer only forgets the fd
    this.linkOwner[port] = 1;
    this.nicUp[port] = 0; // open() reports connected: the shared link state is already what it computes, so no event
    this.nics[port] = nic;
    this.pollableStale = true;
    nic.open(this.sinks[port]!);
    this.ports.caps[port] = nic.offloadCaps ?? 0;
  }

  /** Does this engine own the port's link state (host its NIC)? */
  ownsLink(port: number): boolean {
    return this.linkOwner[port] === 1;
  }

  removePort(port: number): void {
    const owner = this.linkOwner[port] === 1;
    this.nics[port]?.dispose?.();
    this.detach(port);
    this.capture.stop(port);
    this.clearPolicy(port);
    const flushed = owner ? this.fdb.flush(port, true) : 0;
    if (owner) this.ports.remove(port);
    else this.ports.removeKeepingLink(port);
    this.sinks[port] = null;
    if (owner) this.onLink({ port, up: false, reason: 'port-removed', flushedMacs: flushed });
  }

  nic(port: number): Nic | null {
    return this.nics[port];
  }

  setVlan(port: number, vlan: VlanConfig): void {
    this.ports.setVlan(port, vlan);
    // learned addresses may now sit in VLANs the port no longer carries
    if (this.linkOwner[port] === 1) this.fdb.flush(port);
  }

  /**
   * Replace a port's whole policy (validated by the control plane; compiling the ACLs may still refuse it,
   * and does so before anything changes). `mac` is the endpoint's address for MacAddressSpoofing.
   */
  setPolicy(port: number, policy: PortPolicy, mac?: string): void {
    if (mac !== undefined) parseMacWords(mac); // throws on a bad MAC before anything changes
    const { acls, guards, storm, mirror } = this.pipeline;
    const shaper = this.pipeline.shaper.shaper;
    acls.set(port, policy.acls ?? [], policy.extendedAcls ?? [], policy.maxFlows ?? 0);
    guards.set(port, { mac, ...policy });
    storm.set(port, policy.stormLimit ?? 0);
    shaper.setShare(
      port,
      (shaper.mode === 'weight' ? policy.minimumBandwidthWeight : policy.minimumBandwidthAbsolute) ?? 0,
    );
    shaper.setRate(port, policy.maximumBandwidth ?? 0, policy.maximumBurst);
    mirror.set(port, policy.mirror ?? 'none', policy.mirrorDirection ?? 'both');
    this.pipeline.egress.flush(); // frames a lifted limit released go now
  }

  /** Per-rule hit counters of a port's ACLs. */
  policyStats(port: number): ReturnType<Pipeline['acls']['stats']> {
    return this.acls.stats(port);
  }

  private clearPolicy(port: number): void {
    const { acls, guards, storm, mirror } = this.pipeline;
    const shaper = this.pipeline.shaper.shaper;
    acls.clear(port);
    guards.clear(port);
    storm.set(port, 0);
    this.counters.c[Counters.portDrop(port, switchDrops['link-down'])] += shaper.drop(port);
    shaper.setRate(port, 0);
    shaper.setShare(port, 0);
    mirror.clear(port);
  }

  setMtu(port: number, mtu: number): void {
    this.ports.mtu[port] = mtu;
  }

  /** Resize the MAC table of a one-thread engine (tests); returns the learned entries that did not fit. */
  resizeFdb(maxEntries: number): number {
    const { table, dropped } = this.fdb.resized(maxEntries);
    this.adoptFdb(maxEntries, table.sab);
    return dropped;
  }

  /** Switch to a rebuilt shared MAC table (a resize), between two breaths. */
  adoptFdb(maxEntries: number, sab: SharedArrayBuffer): void {
    this.fdb.adopt(maxEntries, sab); // the entry count row follows the new table (Fdb.adopt)
  }

  /** Port security: at most `n` learned MACs on the port (0 = no limit); the shared table holds it. */
  setMacLimit(port: number, n: number): void {
    this.fdb.setLimit(port, n);
  }

  /** Administrative link state (Hyper-V: disconnect the adapter); the NIC stays open, its carrier follows. */
  setAdmin(port: number, up: boolean): void {
    if ((this.adminUp[port] === 1) === up) return;
    this.adminUp[port] = up ? 1 : 0;
    if (this.linkOwner[port] === 0) return;
    this.nics[port]?.setLink?.(up);
    this.updateLink(port, up ? 'admin-up' : 'admin-down');
  }

  isAdminUp(port: number): boolean {
    return this.adminUp[port] === 1;
  }

  isNicUp(port: number): boolean {
    return this.nicUp[port] === 1;
  }

  /** Called by a port's sink when its NIC connects or disconnects. */
  nicLink(port: number, up: boolean): void {
    if (!this.ports.inUse[port] || this.linkOwner[port] === 0) return;
    if ((this.nicUp[port] === 1) === up) return;
    this.nicUp[port] = up ? 1 : 0;
    this.updateLink(port, up ? 'nic-connected' : 'nic-disconnected');
  }

  private updateLink(port: number, reason: LinkChange['reason']): void {
    const up = this.nicUp[port] === 1 && this.adminUp[port] === 1;
    if ((this.ports.linkUp[port] === 1) === up) return;
    this.ports.linkUp[port] = up ? 1 : 0;
    this.counters.c[Counters.port(port, portCounters.linkChanges)]++;
    if (!up)
      this.counters.c[Counters.portDrop(port, switchDrops['link-down'])] += this.pipeline.shaper.shaper.drop(port);
    const flushed = up ? 0 : this.fdb.flush(port);
    this.onLink({ port, up, reason, flushedMacs: flushed });
  }

  // ---- datapath ----

  /** A NIC hands over one received frame (several workers: into `rx`, steered when the breath starts). */
  enqueue(port: number, slot: number): void {
    this.pool.meta32[(slot << Meta.shift) + Meta.port] = port;
    if (this.mq === null) {
      this.add(port, slot);
      return;
    }
    const rx = this.rx;
    if (rx.count === kMaxBatch) {
      // a NIC delivering synchronously inside a breath filled it: drop the newest
      this.counters.c[Counters.portDrop(port, mechanismDrops['ring-full'])]++;
      this.pool.free(slot);
      return;
    }
    rx.slots[rx.count++] = slot;
    if (rx.count === kMaxBatch && !this.breathing) this.breathe();
  }

  /** Put a frame into the batch being filled (the spare one during a breath). */
  private add(port: number, slot: number): void {
    const b = this.breathing ? this.spare : this.batch;
    b.slots[b.count++] = slot;
    if (b.count === kMaxBatch && !this.breathing) this.breathe();
    else if (b.count === kMaxBatch) {
      // a NIC delivering synchronously inside a breath filled the spare batch: drop the newest
      b.count--;
      this.counters.c[Counters.portDrop(port, mechanismDrops['ring-full'])]++;
      this.pool.free(slot);
    }
  }

  /**
   * Test hook (the worker honours it only with VSWITCH_FAULT_INJECT=1): the next breath throws inside the
   * graph, as a bug in a node would. Costs nothing until armed: the first node's process is swapped once.
   */
  injectFault(): void {
    const node = this.pipeline.ingress.nodes[0]!;
    node.process = () => {
      throw new Error('injected datapath fault (VSWITCH_FAULT_INJECT)');
    };
  }

  /** Run everything received so far through the graph and transmit the result. */
  breathe(): void {
    if (this.breathing) return;
    this.breathing = true;
    const c = this.counters.c;
    const mq = this.mq;
    for (;;) {
      if (mq !== null && this.rx.count > 0) mq.steerBatch(this.pool, this.ports, this.fdb, this.rx, this.batch, c);
      if (this.batch.count === 0) break;
      this.clock.tick();
      c[engineCounters.breaths]++;
      c[engineCounters.frames] += this.batch.count;
      this.pipeline.run(this.batch);
      const t = this.batch;
      this.batch = this.spare;
      this.spare = t;
    }
    if (mq !== null) mq.flush();
    this.breathing = false;
    // frames this worker queued behind its own ring go now (unless their queue is still held)
    if (mq !== null && mq.selfBacklog() !== 0) this.drainRings();
  }

  /**
   * Multi-worker: switch the frames other workers steered here, ring by ring in FIFO order, a batch at a
   * time; a ring whose next frame belongs to a queue still moving here (kHeld) waits. Each ring's head is
   * published only after the batch holding its frames was switched and delivered, which is what the move
   * protocol waits for. At most `budget` batches per call, so a flood from other workers cannot starve this
   * worker's own NICs and timers: `ringsPending` says the budget ran out with frames left (call again after
   * the event loop had its turn). Returns the frames switched.
   */
  drainRings(budget = kDrainBudget): number {
    const mq = this.mq;
    if (mq === null || this.breathing) return 0;
    if (this.rx.count > 0) this.breathe(); // frames received and not yet steered go first
    mq.flush(); // acknowledge the current epoch before taking frames
    const rings = mq.in;
    const pool = this.pool;
    let total = 0;
    this.ringsPending = false;
    for (let round = 0; ; round++) {
      if (round === budget) {
        this.ringsPending = mq.waiting() > 0;
        break;
      }
      let n = 0;
      for (let r = 0; r < rings.length && n < kMaxBatch; r++) {
        const ring = rings[r];
        let avail = ring.available();
        while (avail > 0 && n < kMaxBatch) {
          const q = ring.peekQueue();
          if (mq.held(q)) break;
          const s = ring.pop();
          avail--;
          mq.countLocal(q);
          this.add(pool.meta32[(s << Meta.shift) + Meta.port], s);
          n++;
        }
      }
      if (n === 0) break;
      total += n;
      this.breathe();
      for (let r = 0; r < rings.length; r++) rings[r].commit();
    }
    mq.flush(); // nothing steered since the epoch read above: acknowledge it
    return total;
  }

  /**
   * The poll window's sweep: read whatever waits on each NIC of this engine that can be polled (Nic.poll),
   * switching it as a wake would. Returns the frames taken.
   */
  pollNics(): number {
    if (this.pollableStale) {
      let n = 0;
      for (let p = 0; p < kMaxPorts; p++) if (this.nics[p]?.poll !== undefined) this.pollable[n++] = p;
      this.pollableCount = n;
      this.pollableStale = false;
    }
    let total = 0;
    for (let i = 0; i < this.pollableCount; i++) total += this.nics[this.pollable[i]]?.poll?.() ?? 0;
    return total;
  }

  /** The poll window's look at the rings: switch what other workers handed here, if anything waits (an
   *  empty look costs a load per ring, not a drainRings with its epoch acknowledgement). */
  pollRings(): number {
    const mq = this.mq;
    return mq === null || mq.waiting() === 0 ? 0 : this.drainRings();
  }

  /** Held frames fell due in the shaper: send them on (a breath in progress does so on its way out). */
  private readonly onShaperDue = (): void => {
    if (this.breathing) return;
    this.clock.tick();
    this.pipeline.egress.flush();
  };

  // ---- MAC table changes from the control path (the table counts in place) ----

  fdbAddStatic(hi: number, lo: number, port: number): boolean {
    return this.fdb.addStatic(hi, lo, port);
  }

  fdbRemove(hi: number, lo: number): boolean {
    return this.fdb.remove(hi, lo);
  }

  fdbFlush(port = -1): number {
    return this.fdb.flush(port);
  }

  /** Periodic housekeeping (aging); the host calls it about once a second. */
  housekeeping(): number {
    this.clock.tick();
    // a shared MAC table is aged by worker 0 alone
    const n = this.mq === null || this.mq.me === 0 ? this.fdb.age(this.clock.nowSec, this.agingSeconds) : 0;
    this.acls.expire();
    return n;
  }

  /** Close every NIC: a shutdown keeps persistent devices for the next start; `dispose` (switch removed) lets them go. */
  close(dispose = false): void {
    for (let p = 0; p < kMaxPorts; p++) {
      if (!this.nics[p]) continue;
      if (dispose) this.nics[p]!.dispose?.();
      this.detach(p); // a borrowed TAP fd is only forgotten
    }
    this.mq?.stop();
    this.pipeline.shaper.stop();
  }
}
