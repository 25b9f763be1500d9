/**
 * Copy-paste recipes: the exact QEMU 7.2 `-netdev` argument (and `-device`) that joins a VM to a port,
 * printed by `vswitch run` at start and by `vswitch port netdev`. vde_switch users' most common complaint is
 * guessing these lines.
 */
import type { PortConfig } from './model.js';
import { qemuDgramNetdevArg } from '../ports/dgram.js';
import { qemuNetdevArg } from '../ports/stream.js';

/** A MAC for the VM derived from the port name (QEMU's 52:54:00 prefix), so each recipe gets its own; the
 *  port's configured `mac` (what MacAddressSpoofing checks) wins when set. */
function macFor(name: string): string {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return `52:54:00:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** QEMU arguments for a port, or null when QEMU cannot be the endpoint (TAP ports, VDE framing). */
export function qemuRecipe(port: PortConfig, id = 'n0'): string | null {
  const nic = port.nic;
  let netdev: string;
  if (nic.type === 'stream' && (nic.framing ?? 'qemu') === 'qemu') netdev = qemuNetdevArg(nic, id);
  else if (nic.type === 'dgram') netdev = qemuDgramNetdevArg(nic, id);
  else return null;
  return `-netdev ${netdev} -device e1000,netdev=${id},mac=${port.mac ?? macFor(port.name)}`;
}
