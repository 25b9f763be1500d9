/**
 * A switch's settings and the config file around them, declared once: the switch's own keys (type, MAC
 * aging and table size, RSC, bandwidth mode, flow table, the queue settings of queues.ts), its ports,
 * static MACs and VDE service, and the file's top level (api, captureDir, switches). The rules that need
 * the whole switch or file (unique names, one port per endpoint, static MACs on existing ports, the API
 * socket not taken by a port) are the objects' `check` hooks.
 */
import { resolve } from 'node:path';
import { listenPath, sharedEndpoint } from '../endpoints.js';
import type { PortConfig } from '../model.js';
import { fail } from '../validate-helpers.js';
import { kName, kNameHint } from './nic.js';
import { mtu, policy, port } from './port.js';
import { switchQueues } from './queues.js';
import { bool, custom, filled, int, list, mac, obj, oneOf, required, str, vid } from './setting.js';
import { vlan } from './vlan.js';

export const name = required(
  str({
    pattern: kName,
    hint: kNameHint,
    help: 'the switch name (also used in file and interface names)',
    noCli: 'the SW argument',
  }),
);

export const staticMac = obj(
  {
    mac: required(mac({ help: 'a unicast MAC address' })),
    vid: filled(vid({ help: 'its VLAN', default: 1 })),
    port: required(str({ pattern: kName, hint: kNameHint, help: 'the port it is on' })),
  },
  {
    check: (o, f) =>
      parseInt(o.mac.slice(0, 2), 16) & 1 &&
      fail(`${f}.mac`, `${o.mac} is a group (multicast) address; static entries need a unicast MAC`),
  },
);

/** DIR/ctl and DIR/<n> must fit sun_path (108 bytes with its NUL). */
const kMaxVdeDir = 96;

const vdeDir = custom({
  check: (v, f) => {
    const dir = str().check(v, f);
    if (!dir.startsWith('/'))
      fail(f, `must be an absolute path (the CLI resolves a relative one), got ${JSON.stringify(dir)}`);
    if (Buffer.byteLength(dir) > kMaxVdeDir)
      fail(
        f,
        `must be at most ${kMaxVdeDir} bytes (its sockets must fit a unix socket address), got ${Buffer.byteLength(dir)}`,
      );
    return dir.replace(/\/+$/, '') || '/';
  },
  schema: { type: 'string', pattern: '^/', maxLength: kMaxVdeDir },
  kind: 'path',
  help: 'the directory: DIR/ctl is the control socket (QEMU -netdev vde,sock=DIR, vde_plug DIR)',
  cli: {
    flag: 'vde-switch',
    value: 'DIR',
    path: true,
    help: "serve vde_switch's protocol on DIR (QEMU -netdev vde,sock=DIR, vde_plug DIR): each client a port",
  },
});

export const vdeSwitch = obj(
  {
    dir: required(vdeDir),
    prefix: str({
      pattern: /^[A-Za-z][A-Za-z0-9_.-]{0,23}$/,
      hint: 'use 1-24 letters, digits, ".", "_" or "-", starting with a letter (client ports are PREFIX<n>)',
      help: 'client ports are named PREFIX<n>',
      default: 'vde',
      example: 'cl',
      cli: { flag: 'vde-prefix', value: 'PREFIX' },
    }),
    maxClients: int({
      min: 1,
      max: 1024,
      help: 'the most VDE clients at once',
      default: 64,
      example: 8,
      cli: { flag: 'vde-max-clients', value: 'N' },
    }),
    vlan: {
      ...vlan,
      help: 'the VLAN of every client port',
      runtime: undefined,
      cli: {
        ...vlan.cli,
        flag: 'vde-vlan',
        help: "VLAN of the VDE client ports, as 'port vlan' takes it (e.g. 'access 10')",
        extra: undefined,
        example: ['--vde-vlan', 'access 10'],
      },
      example: { mode: 'access', vid: 10 },
    },
    mtu: { ...mtu, help: 'the MTU of every client port', runtime: undefined, cli: { flag: 'vde-mtu', value: 'N' } },
    policy: {
      ...policy,
      help: 'the policy of every client port',
      runtime: undefined,
      noCli: 'a template policy is set in the config file or the API',
    },
  },
  {
    help: 'serve the vde_switch protocol on a directory: each VDE client (QEMU -netdev vde, vde_plug) is a port',
    examples: [{ value: { dir: '@DIR/vde@N' }, argv: ['--vde-switch', '@DIR/vde@N'] }],
  },
);

/** Refuse two ports claiming one endpoint (endpoints.ts), naming both fields. */
export function uniqueEndpoints(ports: Array<{ port: PortConfig; field: string }>): void {
  for (let i = 1; i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const shared = sharedEndpoint(ports[i]!.port.nic, ports[j]!.port.nic);
      if (shared)
        fail(
          `${ports[i]!.field}.nic.${shared.field}`,
          `${shared.text} is already the endpoint of port '${ports[j]!.port.name}' (${ports[j]!.field}.nic.${shared.field}); an endpoint belongs to one port: choose another`,
        );
    }
  }
}

export const agingSeconds = int({
  min: 0,
  max: 86400,
  help: 'MAC aging time in seconds, 0 = never (at most a day: more is a unit mistake)',
  default: 300,
  example: 120,
  cli: { flag: 'aging', value: 'SECONDS', help: 'MAC aging time, 0 = never (default 300)' },
  runtime: {
    route: 'aging',
    body: 'seconds',
    command: 'aging',
    applySwitch: 'setAging',
    says: (r) => `MAC aging ${r.agingSeconds} s`,
  },
});

export const macTableSize = int({
  min: 1,
  max: 1 << 20,
  help: 'MAC table entries (a million entries is 16 MB of table)',
  default: 8192,
  example: 1024,
  cli: { flag: 'mac-table-size', value: 'N' },
  runtime: {
    route: 'mac-table-size',
    body: 'macTableSize',
    command: 'mac-table-size',
    applySwitch: 'setMacTableSize',
    says: (r, n) => `MAC table size ${n}, ${r.entries} entries kept, ${r.dropped} dropped`,
  },
});

export const switchSettings = obj(
  {
    name,
    type: filled(
      oneOf(['private', 'internal', 'external'], {
        help: 'private: VM ports only; internal: plus a host TAP port vs-SW; external: plus an uplink',
        default: 'private',
        example: 'internal',
        cli: { flag: 'type', value: 'TYPE', help: 'private: VM ports only; internal: plus a host TAP port vs-SW' },
      }),
    ),
    agingSeconds,
    macTableSize,
    rsc: bool({
      help: 'receive segment coalescing toward offload-capable ports',
      default: true,
      example: false,
      cli: { flag: 'no-rsc', sets: false, help: 'no receive segment coalescing toward offload-capable ports' },
    }),
    minimumBandwidthMode: oneOf(['weight', 'absolute'], {
      help: 'how MinimumBandwidth shares a congested port: relative weights or absolute bits/s (fixed at creation)',
      default: 'weight',
      example: 'absolute',
      cli: { flag: 'min-bandwidth-mode', value: 'MODE' },
    }),
    flowTableSize: int({
      min: 16,
      max: 1 << 22,
      help: 'stateful ACL flow table entries',
      default: 65536,
      example: 1024,
      cli: { flag: 'flow-table-size', value: 'N' },
    }),
    ...switchQueues,
    ports: list(port, { what: 'ports', help: 'the ports', noCli: "added with 'vswitch port add'" }),
    staticMacs: list(staticMac, {
      what: '{mac, vid, port}',
      help: 'static MAC table entries',
      noCli: "added with 'vswitch fdb add'",
    }),
    vdeSwitch,
  },
  {
    // a port's policy is checked against the switch's bandwidth mode
    context: (o) => ({ mode: o.minimumBandwidthMode ?? 'weight' }),
    check: (o, f) => {
      o.ports ??= [];
      o.staticMacs ??= [];
      const seen = new Set<string>();
      o.ports.forEach((p, i) => {
        if (seen.has(p.name)) fail(`${f}.ports[${i}].name`, `port name '${p.name}' is used twice in this switch`);
        seen.add(p.name);
      });
      uniqueEndpoints(o.ports.map((p, i) => ({ port: p as PortConfig, field: `${f}.ports[${i}]` })));
      o.staticMacs.forEach((s, i) => {
        if (!seen.has(s.port)) fail(`${f}.staticMacs[${i}].port`, `no port named '${s.port}' in this switch`);
      });
    },
  },
);

/** The config file (and `config show`). */
export const vswitchSettings = obj(
  {
    api: str({ help: "the management API's unix socket", noCli: "'vswitch run --api' and $VSWITCH_API name it" }),
    captureDir: str({
      help: "where 'capture -w NAME' writes a relative NAME (created 0700)",
      noCli: 'a daemon setting: the config file',
    }),
    switches: required(list(switchSettings, { what: 'switches' })),
  },
  {
    check: (o) => {
      const names = new Set<string>();
      o.switches.forEach((s, i) => {
        if (names.has(s.name)) fail(`config.switches[${i}].name`, `switch name '${s.name}' is used twice`);
        names.add(s.name);
      });
      const all = o.switches.flatMap((s, i) =>
        (s.ports ?? []).map((p, j) => ({ port: p as PortConfig, field: `config.switches[${i}].ports[${j}]` })),
      );
      uniqueEndpoints(all);
      if (o.api !== undefined) {
        const api = resolve(o.api);
        const clash = all.find((x) => listenPath(x.port.nic) === api);
        if (clash)
          fail(
            `${clash.field}.nic.path`,
            `${api} is the management API's socket (config.api); give the port another path`,
          );
      }
    },
  },
);
