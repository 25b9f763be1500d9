/**
 * Manager: the set of switches a daemon runs, and the one place where a validated change is applied.
 * Changes are all-or-nothing where the datapath allows it: a switch whose port fails to open is torn down
 * again before the error is reported, so the running set never holds a half-built switch.
 *
 * Link events (NIC connect/disconnect, admin up/down) are kept in a bounded log for `vswitch events` and
 * printed by the daemon.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { runtimeDir } from './defaults.js';
import { listenPath, sharedEndpoint } from './endpoints.js';
import type { DatapathEvent, LinkEvent, PortConfig, StaticMac, SwitchConfig, VswitchConfig } from './model.js';
import { ManagedSwitch } from './managed-switch.js';
import { ensurePrivateDir } from './private-dir.js';
import { claimSocketPath } from './socket-path.js';
import { VdeService } from './vde-service.js';
import { ConfigError } from './validate.js';

/** Recent link events kept for the API: enough for a lab session, bounded so a flapping port cannot grow memory. */
const kEventLog = 1000;

export class Manager {
  private readonly switches = new Map<string, ManagedSwitch>();
  /** VDE control sockets, by switch (switch setting vdeSwitch). */
  private readonly vde = new Map<string, VdeService>();
  readonly events: Array<LinkEvent | DatapathEvent> = [];

  /** Where relative capture file names go (VswitchConfig.captureDir). */
  readonly captureDir: string;

  private readonly apiPath: string | undefined;

  /**
   * `onFatal`: a switch's datapath cannot be kept alive (repeated worker faults); the daemon exits on it.
   * `paths.api`: the daemon's API socket, which no port may listen on; `paths.captureDir`: VswitchConfig.captureDir.
   */
  constructor(
    private readonly log: (line: string) => void = () => {},
    private readonly onFatal: (err: Error) => void = () => {},
    paths: { api?: string; captureDir?: string } = {},
  ) {
    this.apiPath = paths.api;
    this.captureDir = resolve(paths.captureDir ?? join(runtimeDir(), 'captures'));
  }

  /** The absolute path of a capture file: a relative name lands in the capture directory, made 0700 and checked first. */
  async captureFile(file: string): Promise<string> {
    if (isAbsolute(file)) return file;
    try {
      await ensurePrivateDir(this.captureDir, 'capture directory');
    } catch (err) {
      throw new ConfigError('capture.file', (err as Error).message);
    }
    return join(this.captureDir, file);
  }

  /**
   * Before a port's NIC is opened: its endpoint is no running port's (any switch) and, for a unix
   * listener, its path is free or stale (control/socket-path.ts). On the control thread, bounded.
   */
  private async claimEndpoint(switchName: string, port: PortConfig): Promise<void> {
    for (const s of this.switches.values()) {
      for (const other of s.config.ports ?? []) {
        const shared = sharedEndpoint(port.nic, other.nic);
        if (shared)
          throw new ConfigError(
            `port.nic.${shared.field}`,
            `${shared.text} is already the endpoint of port ${s.name}/${other.name}; an endpoint belongs to one port: choose another`,
          );
      }
    }
    const path = listenPath(port.nic);
    if (path === null) return;
    if (this.apiPath !== undefined && path === resolve(this.apiPath))
      throw new ConfigError('port.nic.path', `${path} is this daemon's API socket; give the port another path`);
    try {
      await claimSocketPath(path, `port ${switchName}/${port.name}`);
    } catch (err) {
      throw new ConfigError('port.nic.path', (err as Error).message);
    }
  }

  private record(ev: LinkEvent | DatapathEvent): void {
    this.events.push(ev);
    if (this.events.length > kEventLog) this.events.shift();
  }

  private onLink = (ev: LinkEvent): void => {
    this.record(ev);
    this.log(
      `link ${ev.link}: switch ${ev.switch} port ${ev.port} (${ev.reason}${ev.flushedMacs ? `, ${ev.flushedMacs} MACs flushed` : ''})`,
    );
  };

  private onDatapath = (ev: DatapathEvent, stack?: string): void => {
    this.record(ev);
    if (ev.event === 'fault')
      this.log(`datapath fault: switch ${ev.switch} worker ${ev.worker}: ${stack ?? ev.reason}`);
    else this.log(`datapath restarted: switch ${ev.switch} (${ev.reason})`);
  };

  list(): ManagedSwitch[] {
    return [...this.switches.values()];
  }

  get(name: string): ManagedSwitch {
    const s = this.switches.get(name);
    if (!s)
      throw new ConfigError(
        'switch',
        `no switch named '${name}'; existing: ${[...this.switches.keys()].join(', ') || 'none'}`,
      );
    return s;
  }

  /** `restoring`: a start from the config or state file, whose TAP devices may already exist and must outlive
   *  a failed start; a switch created through the API takes its half-made devices with it on failure. */
  async createSwitch(cfg: SwitchConfig, restoring = false): Promise<ManagedSwitch> {
    if (this.switches.has(cfg.name))
      throw new ConfigError('switch.name', `a switch named '${cfg.name}' already exists`);
    if (cfg.type === 'external')
      throw new ConfigError(
        'switch.type',
        "external switches need an uplink to a host interface, which this version cannot open yet; use 'internal' (a host TAP port) or 'private'",
      );
    const handle = new ManagedSwitch(cfg, { onLink: this.onLink, onDatapath: this.onDatapath, onFatal: this.onFatal });
    this.switches.set(cfg.name, handle);
    try {
      await handle.start();
      const ports: PortConfig[] = [...(cfg.ports ?? [])];
      if (cfg.type === 'internal' && !ports.some((p) => p.name === 'host'))
        ports.unshift({ name: 'host', nic: { type: 'tap', name: hostTapName(cfg.name), create: true } });
      for (const p of ports) {
        await this.claimEndpoint(cfg.name, p);
        await handle.addPort(p);
      }
      for (const m of cfg.staticMacs ?? []) await handle.fdbAdd(m.mac, m.vid, m.port);
      if (cfg.vdeSwitch) {
        const svc = new VdeService(
          cfg.vdeSwitch,
          { addPort: (p) => handle.addPort(p), removePort: (n) => handle.removePort(n) },
          this.log,
        );
        await svc.start();
        this.vde.set(cfg.name, svc);
      }
    } catch (err) {
      this.switches.delete(cfg.name);
      await handle.stop(!restoring);
      throw err;
    }
    this.log(`switch ${cfg.name} (${cfg.type ?? 'private'}) started with ${handle.config.ports!.length} ports`);
    return handle;
  }

  /** `dispose` false (a shutdown): the switch's persistent TAP devices stay for the next start. */
  async removeSwitch(name: string, dispose = true): Promise<void> {
    const s = this.get(name);
    await this.vde.get(name)?.stop();
    this.vde.delete(name);
    this.switches.delete(name);
    await s.stop(dispose);
    this.log(`switch ${name} removed`);
  }

  async addPort(switchName: string, port: PortConfig): Promise<void> {
    const s = this.get(switchName);
    if (s.hasPort(port.name))
      throw new ConfigError('port.name', `switch '${switchName}' already has a port named '${port.name}'`);
    await this.claimEndpoint(switchName, port);
    await s.addPort(port);
  }

  port(switchName: string, portName: string): ManagedSwitch {
    const s = this.get(switchName);
    if (!s.hasPort(portName)) throw new ConfigError('port', `switch '${switchName}' has no port named '${portName}'`);
    return s;
  }

  /** A static MAC entry, kept in the switch's config so `config show` gives it back (one per MAC and VLAN). */
  async fdbAdd(switchName: string, e: StaticMac): Promise<StaticMac> {
    const s = this.port(switchName, e.port);
    await s.fdbAdd(e.mac, e.vid, e.port);
    s.config.staticMacs = [...(s.config.staticMacs ?? []).filter((x) => x.mac !== e.mac || x.vid !== e.vid), e];
    return e;
  }

  /** Remove one MAC table entry (static or learned); a static one leaves the config too. */
  async fdbDel(switchName: string, mac: string, vid: number): Promise<{ mac: string; vid: number }> {
    const s = this.get(switchName);
    await s.fdbDel(mac, vid);
    s.config.staticMacs = (s.config.staticMacs ?? []).filter((x) => x.mac !== mac || x.vid !== vid);
    return { mac, vid };
  }

  async apply(cfg: VswitchConfig): Promise<void> {
    for (const sw of cfg.switches) await this.createSwitch(sw, true);
  }

  /** The running configuration, in the config file's shape (`vswitch config show`). */
  snapshot(api?: string): VswitchConfig {
    // VDE clients are transient ports: they attach again after a restart
    return {
      ...(api ? { api } : {}),
      captureDir: this.captureDir,
      switches: this.list().map((s) => ({ ...s.config, ports: s.config.ports!.filter((p) => p.nic.type !== 'vde') })),
    };
  }

  /** The VDE control socket of a switch, when it serves one. */
  vdeOf(name: string): VdeService | undefined {
    return this.vde.get(name);
  }

  async stop(): Promise<void> {
    for (const name of [...this.switches.keys()]) await this.removeSwitch(name, false);
  }
}

/** Host port TAP of an internal switch: "vs-" + switch name, cut to Linux's 15-byte interface names. */
export function hostTapName(switchName: string): string {
  return `vs-${switchName}`.slice(0, 15);
}
