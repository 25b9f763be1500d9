/**
 * Manager: the set of switches a daemon runs, and the one place where a validated change is applied.
 * Changes are all-or-nothing where the datapath allows it: a switch whose port fails to open is torn down
 * again before the error is reported, so the running set never holds a half-built switch.
 *
 * Link events (NIC connect/disconnect, admin up/down) are kept in a bounded log for `vswitch events` and
 * printed by the daemon.
 */
import type { DatapathEvent, LinkEvent, PortConfig, StaticMac, SwitchConfig, VswitchConfig } from './model.js';
import { ManagedSwitch } from './managed-switch.js';
import { ConfigError } from './validate.js';

/** Recent link events kept for the API: enough for a lab session, bounded so a flapping port cannot grow memory. */
const kEventLog = 1000;

export class Manager {
  private readonly switches = new Map<string, ManagedSwitch>();
  readonly events: Array<LinkEvent | DatapathEvent> = [];

  /** `onFatal`: a switch's datapath cannot be kept alive (repeated worker faults); the daemon exits on it. */
  constructor(
    private readonly log: (line: string) => void = () => {},
    private readonly onFatal: (err: Error) => void = () => {},
  ) {}

  private record(ev: LinkEvent | DatapathEvent): void {
    this.events.push(ev);
    if (this.events.length > kEventLog) this.events.shift();
  }

  private onLink = (ev: LinkEvent): void => {
    this.record(ev);
    this.log(`link ${ev.link}: switch ${ev.switch} port ${ev.port} (${ev.reason}${ev.flushedMacs ? `, ${ev.flushedMacs} MACs flushed` : ''})`);
  };

  private onDatapath = (ev: DatapathEvent, stack?: string): void => {
    this.record(ev);
    if (ev.event === 'fault') this.log(`datapath fault: switch ${ev.switch} worker ${ev.worker}: ${stack ?? ev.reason}`);
    else this.log(`datapath restarted: switch ${ev.switch} (${ev.reason})`);
  };

  list(): ManagedSwitch[] {
    return [...this.switches.values()];
  }

  get(name: string): ManagedSwitch {
    const s = this.switches.get(name);
    if (!s) throw new ConfigError('switch', `no switch named '${name}'; existing: ${[...this.switches.keys()].join(', ') || 'none'}`);
    return s;
  }

  /** `restoring`: a start from the config or state file, whose TAP devices may already exist and must outlive
   *  a failed start; a switch created through the API takes its half-made devices with it on failure. */
  async createSwitch(cfg: SwitchConfig, restoring = false): Promise<ManagedSwitch> {
    if (this.switches.has(cfg.name)) throw new ConfigError('switch.name', `a switch named '${cfg.name}' already exists`);
    if (cfg.type === 'external')
      throw new ConfigError('switch.type', "external switches need an uplink to a host interface, which this version cannot open yet; use 'internal' (a host TAP port) or 'private'");
    const handle = new ManagedSwitch(cfg, { onLink: this.onLink, onDatapath: this.onDatapath, onFatal: this.onFatal });
    this.switches.set(cfg.name, handle);
    try {
      await handle.start();
      const ports: PortConfig[] = [...(cfg.ports ?? [])];
      if (cfg.type === 'internal' && !ports.some((p) => p.name === 'host'))
        ports.unshift({ name: 'host', nic: { type: 'tap', name: hostTapName(cfg.name), create: true } });
      for (const p of ports) await handle.addPort(p);
      for (const m of cfg.staticMacs ?? []) await handle.fdbAdd(m.mac, m.vid, m.port);
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
    this.switches.delete(name);
    await s.stop(dispose);
    this.log(`switch ${name} removed`);
  }

  async addPort(switchName: string, port: PortConfig): Promise<void> {
    const s = this.get(switchName);
    if (s.hasPort(port.name)) throw new ConfigError('port.name', `switch '${switchName}' already has a port named '${port.name}'`);
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
    return { ...(api ? { api } : {}), switches: this.list().map((s) => s.config) };
  }

  async stop(): Promise<void> {
    for (const name of [...this.switches.keys()]) await this.removeSwitch(name, false);
  }
}

/** Host port TAP of an internal switch: "vs-" + switch name, cut to Linux's 15-byte interface names. */
export function hostTapName(switchName: string): string {
  return `vs-${switchName}`.slice(0, 15);
}
