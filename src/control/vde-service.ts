/**
 * A switch's VDE control socket (switch setting `vdeSwitch`): the protocol lives in ports/vde-switch.ts;
 * this file turns each client into a port of the switch, named PREFIX<n>, with the template's VLAN, MTU
 * and policy, and removes it when the client goes. Client ports are transient: `config show` and the state
 * file keep the `vdeSwitch` setting, never the clients (they attach again after a restart).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { VdeSwitchListener, type VdeListenerStats } from '../ports/vde-switch.js';
import type { PortConfig, VdeSwitchConfig } from './model.js';
import { ConfigError } from './validate.js';

/** What the service needs of the switch it serves. */
export interface VdeHost {
  addPort(port: PortConfig): Promise<void>;
  removePort(name: string): Promise<void>;
}

const kDefaultMaxClients = 64;

/** True when something accepts connections at the path (another switch's ctl socket: never steal it). */
function live(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export class VdeService {
  private listener: VdeSwitchListener | null = null;
  /** client id -> its port name */
  private readonly ports = new Map<number, string>();

  constructor(
    readonly cfg: VdeSwitchConfig,
    private readonly host: VdeHost,
    private readonly log: (line: string) => void,
  ) {}

  get ctlPath(): string {
    return join(this.cfg.dir, 'ctl');
  }

  /** Port names of the clients attached now. */
  clientPorts(): Set<string> {
    return new Set(this.ports.values());
  }

  stats(): VdeListenerStats & { clients: number } {
    return { ...(this.listener?.stats ?? { requests: 0, attached: 0, detached: 0, refused: {} }), clients: this.ports.size };
  }

  async start(): Promise<void> {
    const dir = this.cfg.dir;
    if (existsSync(dir) && !lstatSync(dir).isDirectory()) throw new ConfigError('vdeSwitch.dir', `${dir} exists and is not a directory`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const ctl = this.ctlPath;
    if (existsSync(ctl)) {
      if (!lstatSync(ctl).isSocket()) throw new ConfigError('vdeSwitch.dir', `${ctl} exists and is not a socket; remove it or pick another directory`);
      if (await live(ctl)) throw new ConfigError('vdeSwitch.dir', `${ctl} is in use by a running switch; pick another directory`);
      unlinkSync(ctl); // a stale socket of a switch that died
    }
    const prefix = this.cfg.prefix ?? 'vde';
    const listener = new VdeSwitchListener(
      ctl,
      {
        attach: async (req, id) => {
          const name = `${prefix}${id}`;
          const path = join(dir, String(id));
          if (existsSync(path)) unlinkSync(path);
          await this.host.addPort({
            name,
            nic: { type: 'vde', path, peer: Buffer.from(req.peer).toString('hex') },
            ...(this.cfg.vlan ? { vlan: this.cfg.vlan } : {}),
            ...(this.cfg.mtu ? { mtu: this.cfg.mtu } : {}),
            ...(this.cfg.policy ? { policy: this.cfg.policy } : {}),
          });
          this.ports.set(id, name);
          this.log(`vde: ${req.peerText} (${req.description || 'no description'}) attached as port ${name}`);
          return path;
        },
        detach: async (id) => {
          const name = this.ports.get(id);
          if (name === undefined) return;
          this.ports.delete(id);
          this.log(`vde: port ${name} detached`);
          await this.host.removePort(name);
        },
      },
      this.cfg.maxClients ?? kDefaultMaxClients,
    );
    await listener.listen();
    chmodSync(ctl, 0o660); // vde_switch's default: the owner and its group may attach
    this.listener = listener;
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
    if (existsSync(this.ctlPath)) unlinkSync(this.ctlPath);
  }
}
