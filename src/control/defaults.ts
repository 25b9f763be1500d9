/**
 * The embedded default configuration: what `npm start` runs with no file and no root. A private switch
 * with two QEMU stream ports (unix sockets, QEMU connects with server=off) and one QEMU dgram port on
 * loopback, so two or three VMs can be joined without editing anything. Paths live in a per-user runtime
 * directory.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VswitchConfig } from './model.js';

export function runtimeDir(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, 'vswitch') : join(tmpdir(), `vswitch-${process.getuid?.() ?? 'user'}`);
}

export function defaultApiPath(): string {
  return process.env.VSWITCH_API ?? join(runtimeDir(), 'api.sock');
}

/** UDP ports of the default dgram port: 10001 is the switch's end, 10002 QEMU's (unprivileged, rarely used). */
const kDgramSwitchPort = 10001;
const kDgramQemuPort = 10002;

export function defaultConfig(): VswitchConfig {
  const dir = runtimeDir();
  return {
    api: defaultApiPath(),
    switches: [
      {
        name: 'sw0',
        type: 'private',
        ports: [
          { name: 'vm1', nic: { type: 'stream', mode: 'listen', path: join(dir, 'sw0-vm1.sock') } },
          { name: 'vm2', nic: { type: 'stream', mode: 'listen', path: join(dir, 'sw0-vm2.sock') } },
          {
            name: 'vm3',
            nic: {
              type: 'dgram',
              localHost: '127.0.0.1',
              localPort: kDgramSwitchPort,
              remoteHost: '127.0.0.1',
              remotePort: kDgramQemuPort,
            },
          },
        ],
      },
    ],
  };
}
