/**
 * Copy-paste recipes: the exact QEMU 7.2 `-netdev` argument (and `-device`) that joins a VM to a port,
 * printed by `vswitch run` at start and by `vswitch port netdev`. vde_switch users' most common complaint is
 * guessing these lines.
 */
import type { PortConfig } from './model.js';

/** A MAC for the VM derived from the port name (QEMU's 52:54:00 prefix), so each recipe gets its own. */
function macFor(name: string): string {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return `52:54:00:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** QEMU arguments for a port, or null when QEMU cannot be the endpoint (TAP ports). */
export function qemuRecipe(port: PortConfig, id = 'n0'): string | null {
  const nic = port.nic;
  let netdev: string;
  if (nic.type === 'stream') {
    const server = nic.mode === 'listen' ? 'off' : 'on';
    const addr = nic.path ? `addr.type=unix,addr.path=${nic.path}` : `addr.type=inet,addr.host=${nic.host ?? '127.0.0.1'},addr.port=${nic.port}`;
    netdev = `stream,id=${id},server=${server},${addr}`;
  } else if (nic.type === 'dgram') {
    if (nic.remotePort === undefined) return null;
    netdev = `dgram,id=${id},local.type=inet,local.host=${nic.remoteHost ?? '127.0.0.1'},local.port=${nic.remotePort},remote.type=inet,remote.host=${nic.localHost ?? '127.0.0.1'},remote.port=${nic.localPort}`;
  } else return null;
  return `-netdev ${netdev} -device e1000,netdev=${id},mac=${macFor(port.name)}`;
}
