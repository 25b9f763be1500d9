/**
 * Send hand-made Ethernet frames out of a namespace host's interface, byte for byte: an AF_PACKET raw
 * socket bound to the interface, so a TAP hands the frame to the switch exactly as written (802.1Q tags,
 * a priority tag over a second tag, four tags, any EtherType) where no kernel stack would build it (the
 * kernel here has no 8021q module, and even with one it would never stack tags this way).
 *
 * Trade-off: Node has no AF_PACKET socket, so this runs a few lines of python3 (stdlib `socket`) in the
 * namespace, one process per call: a few tens of ms, fine for the handful of frames an attack test sends.
 */
import type { NetnsLab } from './netns.js';

const kScript = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
`;

/** Why raw frames cannot be sent here, or false when they can (python3 present). */
export async function rawSendSkipReason(lab: NetnsLab, ns: string): Promise<string | false> {
  const r = await lab
    .exec(ns, ['python3', '-c', 'import socket; socket.AF_PACKET'])
    .catch((e: Error) => ({ code: 1, stderr: e.message }));
  return r.code === 0 ? false : `needs python3 for AF_PACKET frames: ${r.stderr.trim()}`;
}

/** Send `frames`, in order, out of `ifname` in namespace `ns`; resolves once all were written. */
export async function rawSend(lab: NetnsLab, ns: string, ifname: string, frames: Uint8Array[]): Promise<void> {
  await lab.exec(ns, ['python3', '-c', kScript, ifname, ...frames.map((f) => Buffer.from(f).toString('hex'))], {
    check: true,
  });
}
