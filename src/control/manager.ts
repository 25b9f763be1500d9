/**
 * Manager: the set of switches a daemon runs, and the one place where a validated change is applied.
 * Changes are all-or-nothing where the datapath allows it: a switch whose port fails to open is torn down
 * again before the error is reported, so the running set never holds a half-built switch.
 *
 * Link events (NIC connect/disconnect, admin up/down) are kept in a bounded log for `vswitch events` and
 * printed by the daemon.
 */
import type { LinkEvent, PortConfig, SwitchConfig, VswitchConfig } from './model.js';
import { SwitchHandle } from './switch-handle.js';
import { VdeService } from './vde-service.js';
import { ConfigError } from './validate.js';

/** Recent link events kept for the API: enough for a lab session, bounded so a flapping port cannot grow memory. */
const kEventLog = 1000;

export class Manager {
  private readonly switches = new Map<string, SwitchHandle>();
  /** VDE control sockets, by switch (switch setting vdeSwitch). */
  private readonly vde = new Map<string, VdeService>();
  readonly events: LinkEvent[] = [];

  constructor(private readonly log: (line: string) => void = () => {}) {}

  private onLink = (ev: LinkEvent): void => {
    this.events.push(ev);
    if (this.events.length > kEventLog) this.events.shift();
    this.log(`link ${ev.link}: switch ${ev.switch} port ${ev.port} (${ev.reason}${ev.flushedMacs ? `, ${ev.flushedMacs} MACs flushed` : ''})`);
  };

  list(): SwitchHandle[] {
    return [...this.switches.values()];
  }

  get(name: string): SwitchHandle {
    const s = this.switches.get(name);
    if (!s) throw new ConfigError('switch', `no switch named '${name}'; existing: ${[...this.switches.keys()].join(', ') || 'none'}`);
    return s;
  }

  /** `restoring`: a start from the config or state file, whose TAP devices may already exist and must outlive
   *  a failed start; a switch created through the API takes its half-made devices with it on failure. */
  async createSwitch(cfg: SwitchConfig, restoring = false): Promise<SwitchHandle> {
    if (this.switches.has(cfg.name)) throw new ConfigError('switch.name', `a switch named '${cfg.name}' already exists`);
    if (cfg.type === 'external')
      throw new ConfigError('switch.type', "external switches need an uplink to a host interface, which this version cannot open yet; use 'internal' (a host TAP port) or 'private'");
    const handle = new SwitchHandle(cfg, this.onLink);
    this.switches.set(cfg.name, handle);
    try {
      await handle.start();
      const ports: PortConfig[] = [...(cfg.ports ?? [])];
      if (cfg.type === 'internal' && !ports.some((p) => p.name === 'host'))
        ports.unshift({ name: 'host', nic: { type: 'tap', name: hostTapName(cfg.name), create: true } });
      for (const p of ports) await handle.addPort(p);
      for (const m of cfg.staticMacs ?? []) await handle.fdbAdd(m.mac, m.vid, m.port);
      if (cfg.vdeSwitch) {
        const svc = new VdeService(cfg.vdeSwitch, { addPort: (p) => handle.addPort(p), removePort: (n) => handle.removePort(n) }, this.log);
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
    if (s.hasPort(port.name)) throw new ConfigError('port.name', `switch '${switchName}' already has a port named '${port.name}'`);
    await s.addPort(port);
  }

  port(switchName: string, portName: string): SwitchHandle {
    const s = this.get(switchName);
    if (!s.hasPort(portName)) throw new ConfigError('port', `switch '${switchName}' has no port named '${portName}'`);
    return s;
  }

  async apply(cfg: VswitchConfig): Promise<void> {
    for (const sw of cfg.switches) await this.createSwitch(sw, true);
  }

  /** The running configuration, in the config file's shape (`vswitch config show`). */
  snapshot(api?: string): VswitchConfig {
    // VDE clients are transient ports: they attach again after a restart
    return { ...(api ? { api } : {}), switches: this.list().map((s) => ({ ...s.config, ports: s.config.ports!.filter((p) => p.nic.type !== 'vde') })) };
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
