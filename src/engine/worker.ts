/**
 * A datapath worker: hosts one of a switch's Engines on its own thread, with the I/O of the NICs it hosts on
 * this thread's event loop (TAP polls through uv_poll on this loop, sockets are this thread's), so a frame
 * is read, switched and written without leaving the thread unless its queue is served by another worker
 * (then it crosses through a slot ring and that worker's doorbell wakes it: serveRings). The main thread is
 * control plane only: it sends requests (engine/protocol.ts) and reads counters straight from shared memory.
 *
 * Port names are resolved here, the single writer of every datapath table.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PortSpec, PortStatus, VlanConfig } from './spec.js';
import { readClockMs, setClockSource } from '../dataplane/clock.js';
import { Counters } from '../dataplane/counters.js';
import { PacketPool } from '../dataplane/pool.js';
import { parseMacWords } from '../packet/mac.js';
import { Engine, type LinkChange } from './engine.js';
import { watchGc } from './gc-watch.js';
import { nativeDoorbells } from './doorbell.js';
import { createNic, endpointStarted, placeTap } from './nic-factory.js';
import type { EventMessage, Handlers, Reply, Request, RequestEnvelope, WorkerInit } from './protocol.js';
import { Fdb } from '../switch/fdb.js';
import { TapNic } from '../ports/tap.js';
import { loadTapAddon, tapAddonAvailable } from '../ports/tap-native.js';
import type { Nic } from '../ports/nic.js';
import { QueueTables } from '../queues/queue-tables.js';
import { qs, WorkerQueues } from '../queues/worker-queues.js';

/** Aging sweeps once a second: MAC ages are kept in whole seconds. */
const kHousekeepingMs = 1000;

export class SwitchWorker {
  /** The NIC through which this worker reaches a port another worker hosts (null: none, traffic pinned). */
  private remoteNic(cfg: PortSpec, borrow: { fd: number; offloadCaps: number } | null, kind: string): Nic | null {
    if (cfg.nic.type !== 'tap') return null;
    const n = cfg.nic;
    if (kind === 'mq')
      return new TapNic({
        name: n.name,
        create: false,
        persist: n.create ?? true,
        ...(n.netns ? { netns: n.netns } : {}),
        vnetHdr: n.vnetHdr ?? false,
        multiQueue: true,
        offload: n.offload ?? false,
      });
    if (borrow) return new TapNic({ name: n.name, vnetHdr: n.vnetHdr ?? false, offload: n.offload ?? false, borrow });
    return null;
  }

  readonly engine: Engine;
  private readonly byName = new Map<string, number>();
  private readonly configs = new Map<number, PortSpec>();

  constructor(
    init: WorkerInit,
    private readonly emit: (m: EventMessage) => void,
  ) {
    const m = init.multi;
    this.engine = new Engine({
      pool: new PacketPool(init.pool, init.pool.shared),
      counters: new Counters(init.counters),
      fdb: m ? new Fdb(init.macTableSize, m.fdb) : undefined,
      linkState: m?.linkState,
      queues: m ? new WorkerQueues(m.queues, () => readClockMs() * 1000) : undefined,
      agingSeconds: init.agingSeconds,
      macTableSize: init.macTableSize,
      rsc: init.rsc,
      minimumBandwidthMode: init.minimumBandwidthMode,
      flowTableSize: init.flowTableSize,
      pollWindowUs: init.pollWindowUs,
      onLink: (ev) => this.onLink(ev),
    });
  }

  private onLink(ev: LinkChange): void {
    const cfg = this.configs.get(ev.port);
    if (!cfg || !this.engine.ownsLink(ev.port)) return;
    this.emit({
      event: 'link',
      link: { port: cfg.name, link: ev.up ? 'up' : 'down', reason: ev.reason, flushedMacs: ev.flushedMacs },
    });
  }

  private port(name: string): number {
    const p = this.byName.get(name);
    if (p === undefined) throw new Error(`no port named '${name}'`);
    return p;
  }

  /** Apply one request; its reply type is the op's (engine/protocol.ts Replies). */
  handle(req: Request): Promise<unknown> {
    const h = this.handlers[req.op] as (r: Request) => unknown;
    return Promise.resolve().then(() => h(req));
  }

  private readonly handlers: Handlers = {
    addPort: async (req) => {
      const e = this.engine;
      const cfg = req.port;
      if (this.byName.has(cfg.name)) throw new Error(`port '${cfg.name}' already exists`);
      const remote = req.remote;
      const reopen = req.reopen ?? (remote?.kind === 'mq' ? remote.reopen : undefined);
      const nic: Nic | null =
        reopen !== undefined && cfg.nic.type === 'tap'
          ? new TapNic({
              name: cfg.nic.name,
              create: cfg.nic.create ?? true,
              persist: cfg.nic.create ?? true,
              ...(cfg.nic.netns ? { netns: cfg.nic.netns } : {}),
              vnetHdr: cfg.nic.vnetHdr ?? false,
              offload: cfg.nic.offload ?? false,
              dupOf: reopen,
            })
          : remote === undefined
            ? createNic(cfg.nic)
            : this.remoteNic(cfg, remote.kind === 'borrow' ? remote : null, remote.kind);
      const p = e.addPort(cfg.vlan ?? { mode: 'untagged' }, cfg.mtu ?? 1500, req.index ?? -1);
      this.byName.set(cfg.name, p);
      this.configs.set(p, cfg);
      if (cfg.macLimit) e.setMacLimit(p, cfg.macLimit);
      if (cfg.disconnected) e.setAdmin(p, false);
      try {
        e.setPolicy(p, cfg.policy ?? {}, cfg.mac);
        if (remote === undefined) {
          e.attach(p, nic!);
          await endpointStarted(nic!); // a bind that fails (address in use) fails the add, with the reason
          if (cfg.nic.type === 'tap' && req.place !== false && reopen === undefined) await placeTap(cfg.nic);
        } else {
          e.attachRemote(p, nic, remote.kind === 'borrow' ? remote.offloadCaps : 0, remote.kind === 'mq');
        }
      } catch (err) {
        e.removePort(p);
        this.byName.delete(cfg.name);
        this.configs.delete(p);
        throw err;
      }
      const d = e.nic(p)?.describe() ?? {};
      const own = remote === undefined || remote.kind === 'mq';
      return { index: p, fd: typeof d.fd === 'number' && own ? d.fd : -1, offloadCaps: e.ports.caps[p]! };
    },
    placeTap: async (req) => {
      const cfg = this.configs.get(this.port(req.name))!;
      if (cfg.nic.type === 'tap') await placeTap(cfg.nic);
      return null;
    },
    setModeration: (req) => {
      this.engine.mq?.setModeration(req.moderation);
      return null;
    },
    setPollWindow: (req) => {
      this.engine.window.windowUs = req.us;
      return null;
    },
    resize: (req) => {
      this.engine.mq?.resize(req.count, req.rings);
      return null;
    },
    releaseNic: (req) => {
      const nic = this.engine.releaseNic(this.port(req.name));
      const fd = nic instanceof TapNic ? nic.release() : -1;
      return { fd, offloadCaps: nic?.offloadCaps ?? 0 };
    },
    adoptNic: (req) => {
      const p = this.port(req.name);
      const cfg = this.configs.get(p)!;
      if (cfg.nic.type !== 'tap')
        throw new Error(`port '${req.name}' is not a TAP: its endpoint cannot change workers`);
      // a dup this thread owns: the retired worker's teardown closes the fd it released
      this.engine.adoptNic(
        p,
        new TapNic({
          name: cfg.nic.name,
          create: cfg.nic.create ?? true,
          persist: cfg.nic.create ?? true,
          ...(cfg.nic.netns ? { netns: cfg.nic.netns } : {}),
          vnetHdr: cfg.nic.vnetHdr ?? false,
          offload: cfg.nic.offload ?? false,
          dupOf: { fd: req.fd, offloadCaps: req.offloadCaps },
        }),
      );
      return null;
    },
    removePort: (req) => {
      const p = this.port(req.name);
      this.engine.removePort(p);
      this.byName.delete(req.name);
      this.configs.delete(p);
      return null;
    },
    setVlan: (req) => {
      const p = this.port(req.name);
      this.engine.setVlan(p, req.vlan);
      this.configs.set(p, { ...this.configs.get(p)!, vlan: req.vlan });
      return null;
    },
    setMtu: (req) => {
      const p = this.port(req.name);
      this.engine.setMtu(p, req.mtu);
      this.configs.set(p, { ...this.configs.get(p)!, mtu: req.mtu });
      return null;
    },
    setMacLimit: (req) => {
      const p = this.port(req.name);
      this.engine.setMacLimit(p, req.macLimit);
      this.configs.set(p, { ...this.configs.get(p)!, macLimit: req.macLimit });
      return null;
    },
    fdbAdopt: (req) => {
      this.engine.adoptFdb(req.maxEntries, req.sab);
      return null;
    },
    setAdmin: async (req) => {
      const p = this.port(req.name);
      // `port connect` also brings back a TAP whose device was deleted under the port, keeping its settings
      const nic = this.engine.nic(p);
      let revivedFd = -1;
      if (req.up && nic instanceof TapNic && nic.revive()) {
        const cfg = this.configs.get(p)!;
        if (cfg.nic.type === 'tap') await placeTap(cfg.nic);
        revivedFd = nic.fd;
      }
      this.engine.setAdmin(p, req.up);
      this.configs.set(p, { ...this.configs.get(p)!, disconnected: !req.up });
      return { revivedFd };
    },
    setPolicy: (req) => {
      const p = this.port(req.name);
      this.engine.setPolicy(p, req.policy, req.mac);
      this.configs.set(p, { ...this.configs.get(p)!, policy: req.policy, mac: req.mac });
      return null;
    },
    policyStats: (req) => this.engine.policyStats(this.port(req.name)),
    flows: (req) => {
      const e = this.engine;
      const only = req.name === undefined ? -1 : this.port(req.name);
      // rule ids by position, read once per port (not once per flow)
      const ruleIds = new Map<number, number[]>();
      const idsOf = (p: number) =>
        ruleIds.get(p) ??
        ruleIds
          .set(
            p,
            e.policyStats(p).extendedAcls.map((x) => x.id),
          )
          .get(p)!;
      return e.acls
        .flowEntries()
        .filter((f) => only < 0 || f.port === only)
        .map((f) => ({ ...f, rule: idsOf(f.port)[f.rule] ?? f.rule + 1 }));
    },
    ports: () => {
      const e = this.engine;
      return [...this.byName].map(([name, p]): PortStatus => {
        const cfg = this.configs.get(p)!;
        return {
          name,
          index: p,
          nic: cfg.nic,
          vlan: cfg.vlan ?? ({ mode: 'untagged' } as VlanConfig),
          mtu: e.ports.mtu[p]!,
          macLimit: e.fdb.limitOf(p),
          macs: e.fdb.portMacs[p]!,
          link: e.ports.linkUp[p] ? 'up' : 'down',
          adminDown: !e.isAdminUp(p),
          detail: e.nic(p)?.describe() ?? {},
        };
      });
    },
    fdbShow: () => {
      const e = this.engine;
      e.clock.tick();
      return e.fdb
        .entries(e.clock.nowSec)
        .map((x) => ({ hi: x.hi, lo: x.lo, vid: x.vid, port: x.port, static: x.static, ageSeconds: x.age }));
    },
    fdbFlush: (req) => this.engine.fdbFlush(req.port === undefined ? -1 : this.port(req.port)),
    fdbAdd: (req) => {
      const e = this.engine;
      const { hi16: hi, lo32: lo } = parseMacWords(req.mac);
      if (!e.fdbAddStatic((req.vid << 16) | hi, lo, this.port(req.port)))
        throw new Error(`MAC table is full (${e.fdb.maxEntries} entries)`);
      return null;
    },
    fdbDel: (req) => {
      const { hi16: hi, lo32: lo } = parseMacWords(req.mac);
      if (!this.engine.fdbRemove((req.vid << 16) | hi, lo))
        throw new Error(`no MAC table entry for ${req.mac} in VLAN ${req.vid}`);
      return null;
    },
    setAging: (req) => {
      this.engine.agingSeconds = req.seconds;
      return null;
    },
    nodes: () => this.engine.nodeNames(),
    captureStart: (req) => {
      const p = this.port(req.name);
      this.engine.capture.start(p, req.direction, req.id, req.shared);
      return p;
    },
    captureStop: (req) => {
      const p = this.byName.get(req.name);
      if (p !== undefined && this.engine.capture.idOf(p) === req.id) this.engine.capture.stop(p);
      return null;
    },
    fault: () => {
      if (process.env.VSWITCH_FAULT_INJECT !== '1') return false;
      this.engine.injectFault();
      return true;
    },
    stop: (req) => {
      this.engine.close(req.dispose === true);
      this.engine.pool.flushCache(); // a shared pool gets this worker's cached free slots back
      return null;
    },
  };
}

/**
 * A worker of a multi-worker switch sleeps on its doorbell (its interrupt vector) between batches from
 * other workers; its own NICs wake it through the event loop as before. With the native doorbell
 * (engine/doorbell.ts) a ring calls `serve` on this loop: nothing allocated per wake.
 */
function serveRings(e: Engine, stopped: () => boolean): void {
  const mq = e.mq!;
  const addon = nativeDoorbells();
  if (addon === null) {
    void serveRingsAsync(e, stopped);
    return;
  }
  let id = 0;
  let deferred = false;
  const serve = (): void => {
    deferred = false;
    if (stopped()) {
      if (id !== 0) addon.unbell(id);
      id = 0;
      return;
    }
    mq.stats[qs.wakes]++;
    if (e.drainRings() > 0) e.window.afterWork();
    // more than a budget's worth waits: let this worker's own NICs and timers run first, then go on
    if (e.ringsPending && !deferred) {
      deferred = true;
      setImmediate(serve);
    }
  };
  id = addon.bell(mq.tables.a, QueueTables.doorbell(mq.me), serve);
  serve();
}

/** The same with Atomics.waitAsync, when the addon is not built: one promise per wake. */
async function serveRingsAsync(e: Engine, stopped: () => boolean): Promise<void> {
  const mq = e.mq!;
  const a = mq.tables.a;
  const bell = QueueTables.doorbell(mq.me);
  while (!stopped()) {
    const seen = Atomics.load(a, bell);
    if (e.drainRings() > 0) e.window.afterWork();
    if (stopped()) return;
    if (e.ringsPending) {
      // more than a budget's worth waits: let this worker's own NICs and timers run first, then go on
      await new Promise((r) => setImmediate(r));
      continue;
    }
    const r = Atomics.waitAsync(a, bell, seen);
    if (r.async) await r.value;
    mq.stats[qs.wakes]++;
  }
}

if (parentPort && workerData?.switchName) {
  const port = parentPort;
  // the datapath's clock without a heap number per read (dataplane/clock.ts); every worker the same source
  const addonNow = tapAddonAvailable() ? loadTapAddon().now : undefined;
  if (typeof addonNow === 'function') setClockSource(addonNow);
  const w = new SwitchWorker(workerData as WorkerInit, (m) => port.postMessage(m));
  const timer = setInterval(() => w.engine.housekeeping(), kHousekeepingMs);
  const gc = watchGc(w.engine.counters);
  let stopped = false;
  if (w.engine.mq) serveRings(w.engine, () => stopped);
  port.on('message', (m: RequestEnvelope) => {
    // test hook: a worker that never answers its stop, to prove SIGTERM still ends the daemon (e2e/sockets)
    if (m.req.op === 'stop' && process.env.VSWITCH_FAULT_INJECT === 'worker-stop-hang') return;
    w.handle(m.req).then(
      (result) =>
        port.postMessage({
          id: m.id,
          ok: true,
          result: result as Extract<Reply, { ok: true }>['result'],
        } satisfies Reply),
      (err: unknown) =>
        port.postMessage({
          id: m.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        } satisfies Reply),
    );
    if (m.req.op === 'stop') {
      clearInterval(timer);
      gc.disconnect();
      stopped = true;
      if (w.engine.mq) w.engine.mq.tables.ring(w.engine.mq.me);
    }
  });
}
