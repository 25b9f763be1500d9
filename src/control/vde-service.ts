/**
 * A switch's VDE control socket (switch setting `vdeSwitch`): the protocol lives in ports/vde-switch.ts;
 * this file turns each client into a port of the switch, named PREFIX<n>, with the template's VLAN, MTU
 * and policy, and removes it when the client goes. Client ports are transient: `config show` and the state
 * file keep the `vdeSwitch` setting, never the clients (they attach again after a restart).
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { VdeSwitchListener, type VdeListenerStats } from '../ports/vde-switch.js';
import type { PortConfig, VdeSwitchConfig } from './model.js';
import { makeDirs } from './private-dir.js';
import { claimSocketPath } from './socket-path.js';
import { ConfigError } from './validate.js';

/** What the service needs of the switch it serves. */
export interface VdeHost {
  addPort(port: PortConfig): Promise<void>;
  removePort(name: string): Promise<void>;
}

const kDefaultMaxClients = 64;

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

  stats(): VdeListenerStats & { clients: number } {
    return {
      ...(this.listener?.stats ?? { requests: 0, attached: 0, detached: 0, refused: {} }),
      clients: this.ports.size,
    };
  }

  async start(): Promise<void> {
    const dir = this.cfg.dir;
    const ctl = this.ctlPath;
    // bounded, and never taking a socket in use: another switch's live ctl is refused, a stale one replaced
    try {
      await makeDirs(dir, 0o755);
      await claimSocketPath(ctl, 'VDE switch');
    } catch (err) {
      throw new ConfigError('vdeSwitch.dir', (err as Error).message);
    }
    const prefix = this.cfg.prefix ?? 'vde';
    const listener = new VdeSwitchListener(
      ctl,
      {
        attach: async (req, id) => {
          const name = `${prefix}${id}`;
          const path = join(dir, String(id));
          await claimSocketPath(path, `VDE client port ${name}`); // a data socket left by an earlier run
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
    await this.listener?.close(); // closing the server removes its socket file
    this.listener = null;
  }
}
