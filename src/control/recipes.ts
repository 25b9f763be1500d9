/**
 * Copy-paste recipes: the exact QEMU 7.2 `-netdev` argument and `-device` that join a VM to a port, printed
 * by `vswitch run` at start, by `port add` and by `vswitch port netdev`. vde_switch users' most common
 * complaint is guessing these lines, so each line must work as pasted, also when one VM has two NICs:
 * the id is unique per port (switch and port name, or the port's `qemu.id`) and so is the MAC (a hash of
 * the switch and port names, so `vm1` on two switches differs; the port's configured `mac` wins). The
 * trade-off of a hash over an allocator: the MAC is stable without being stored, and two of the 2^24
 * values collide only by chance (one pair in about 16 million).
 */
import type { PortConfig } from './model.js';
import { qemuDgramNetdevArg } from '../ports/dgram.js';
import { qemuNetdevArg } from '../ports/stream.js';

/** Every modern guest kernel has virtio-net (Debian's cloud kernels have no e1000 driver). */
export const kDefaultQemuDevice = 'virtio-net-pci';

/** The VM's MAC for a port: its configured `mac`, else QEMU's 52:54:00 prefix and 24 bits of a hash of
 *  "switch/port" (FNV-1a, mixed). */
export function vmMac(switchName: string, port: PortConfig): string {
  if (port.mac) return port.mac;
  let h = 2166136261;
  for (const ch of `${switchName}/${port.name}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  // murmur3's finalizer: FNV alone leaves the top byte equal for names that differ in their last letter
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return `52:54:00:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** The -netdev id: the port's `qemu.id`, else "switch.port" (QEMU ids start with a letter). */
export function qemuId(switchName: string, port: PortConfig): string {
  if (port.qemu?.id) return port.qemu.id;
  const id = `${switchName}.${port.name}`;
  return /^[A-Za-z]/.test(id) ? id : `n${id}`;
}

/** QEMU arguments for a port, or null when QEMU cannot be the endpoint (TAP ports, VDE framing). */
export function qemuRecipe(switchName: string, port: PortConfig): string | null {
  const nic = port.nic;
  const id = qemuId(switchName, port);
  let netdev: string;
  if (nic.type === 'stream' && (nic.framing ?? 'qemu') === 'qemu') netdev = qemuNetdevArg(nic, id);
  else if (nic.type === 'dgram') netdev = qemuDgramNetdevArg(nic, id);
  else return null;
  return `-netdev ${netdev} -device ${port.qemu?.device ?? kDefaultQemuDevice},netdev=${id},mac=${vmMac(switchName, port)}`;
}
