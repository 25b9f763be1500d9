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
import { VdeClientNic } from '../ports/vde-switch.js';

const execFileP = promisify(execFile);
/** `ip` answers in milliseconds; 10 s bounds a wedged netlink without failing a loaded machine. */
const kIpTimeoutMs = 10_000;
/** A listener binds, a UDP socket binds at once; 5 s also covers a TCP host name's DNS lookup. */
export const kEndpointStartMs = 5000;

/** Run `ip`, bounded; a failure says what was attempted and what `ip` answered, on one line. */
async function run(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileP(cmd, args, { timeout: kIpTimeoutMs });
  } catch (err) {
    const e = err as { stderr?: string; killed?: boolean; message: string };
    const said = e.killed ? `no answer within ${kIpTimeoutMs} ms` : (e.stderr ?? e.message).trim().replace(/\s+/g, ' ');
    throw new Error(`${cmd} ${args.join(' ')} failed: ${said}`);
  }
}

/**
 * Resolves once the endpoint has started (a listener bound, a UDP socket bound), or rejects with why it
 * could not (address in use, permission denied, ...), within kEndpointStartMs: so `port add` fails at once
 * with the reason instead of leaving a port that never comes up. A connecting stream is not waited for: it
 * re-dials until its peer appears (its reason shows in `port list`), and a TAP is up once open() returned.
 */
export function endpointStarted(nic: Nic): Promise<void> {
  const ready =
    nic instanceof DgramNic ? nic.ready() : nic instanceof StreamNic && nic.mode === 'listen' ? nic.ready() : null;
  if (ready === null) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the endpoint did not start within ${kEndpointStartMs} ms`)),
      kEndpointStartMs,
    );
  });
  return Promise.race([ready, late]).finally(() => clearTimeout(timer));
}

export function createNic(cfg: NicSpec): Nic {
  switch (cfg.type) {
    case 'tap':
      // A TAP the switch creates is persistent and made inside its namespace: a worker or daemon that dies
      // and comes back finds the same interface (MAC, addresses, routes) and re-attaches to it.
      return new TapNic({
        name: cfg.name,
        create: cfg.create ?? true,
        persist: cfg.create ?? true,
        ...(cfg.netns ? { netns: cfg.netns } : {}),
        vnetHdr: cfg.vnetHdr ?? false,
        multiQueue: cfg.multiQueue ?? false,
        offload: cfg.offload ?? false,
      });
    case 'stream':
      return new StreamNic({
        mode: cfg.mode,
        path: cfg.path,
        host: cfg.host,
        port: cfg.port,
        framing: cfg.framing ?? 'qemu',
      });
    case 'dgram':
      return new DgramNic({
        localHost: cfg.localHost,
        localPort: cfg.localPort,
        remoteHost: cfg.remoteHost,
        remotePort: cfg.remotePort,
      });
    case 'vde':
      return new VdeClientNic({ path: cfg.path, peer: Uint8Array.from(Buffer.from(cfg.peer, 'hex')) });
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
