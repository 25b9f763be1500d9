/**
 * Builds the NIC for a port's endpoint configuration. This is where the engine meets the concrete endpoint
 * kinds of ports/; the switch and the nodes never see them. TAPs may be moved into a network namespace
 * after creation (a lab convenience: the switch owns the fd, the namespace owns the interface).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NicSpec } from './spec.js';
import { DgramNic } from '../ports/dgram.js';
import type { Nic } from '../ports/nic.js';
import { StreamNic } from '../ports/stream.js';
import { TapNic } from '../ports/tap.js';

const run = promisify(execFile);

export function createNic(cfg: NicSpec): Nic {
  switch (cfg.type) {
    case 'tap':
      // A TAP the switch creates is persistent and made inside its namespace: a worker or daemon that dies
      // and comes back finds the same interface (MAC, addresses, routes) and re-attaches to it.
      return new TapNic({ name: cfg.name, create: cfg.create ?? true, persist: cfg.create ?? true, ...(cfg.netns ? { netns: cfg.netns } : {}), vnetHdr: cfg.vnetHdr ?? false, multiQueue: cfg.multiQueue ?? false, offload: cfg.offload ?? false });
    case 'stream':
      return new StreamNic({ mode: cfg.mode, path: cfg.path, host: cfg.host, port: cfg.port, framing: cfg.framing ?? 'qemu' });
    case 'dgram':
      return new DgramNic({ localHost: cfg.localHost, localPort: cfg.localPort, remoteHost: cfg.remoteHost, remotePort: cfg.remotePort });
    case 'memory':
      throw new Error('memory NICs exist only inside a test process; use tap, stream or dgram in a running switch');
  }
}

/** After a TAP exists: bring it up where it lives (it was opened inside `netns` already). */
export async function placeTap(cfg: Extract<NicSpec, { type: 'tap' }>): Promise<void> {
  if (cfg.netns) {
    await run('ip', ['-n', cfg.netns, 'link', 'set', 'dev', cfg.name, 'up']);
  } else {
    await run('ip', ['link', 'set', 'dev', cfg.name, 'up']);
  }
}
