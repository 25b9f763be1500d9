/**
 * A port as the API and the CLI show it: the datapath's status (link, VLAN, MTU, endpoint, worker) plus
 * what a user pastes into QEMU: the VM's MAC and the whole -netdev/-device line. Built on the control
 * thread from the port's config, so the datapath never formats text.
 */
import type { PortConfig, PortStatus } from './model.js';
import { qemuRecipe, vmMac } from './recipes.js';

export interface PortView extends PortStatus {
  /** The VM's MAC: the configured `mac`, else derived from the switch and port names. */
  mac: string;
  /** The QEMU arguments that join a VM to this port, or null when QEMU cannot be its endpoint. */
  qemu: string | null;
}

export function portView(switchName: string, status: PortStatus, config: PortConfig | undefined): PortView {
  const cfg = config ?? { name: status.name, nic: status.nic };
  let qemu: string | null = null;
  try {
    qemu = qemuRecipe(switchName, cfg);
  } catch {
    qemu = null; // an endpoint QEMU cannot dial (VDE framing): no line
  }
  return { ...status, mac: vmMac(switchName, cfg), qemu };
}
