/** `vswitch port ...`: add (any endpoint kind), list, remove, VLAN, MTU, link up/down and the QEMU line. */
import type { PortConfig } from '../model.js';
import type { PortView } from '../port-view.js';
import { asTyped, optionsOf, readFlags } from '../settings/cli.js';
import { port as portSettings } from '../settings/port.js';
import { kTrunkOptions, vlanWords } from '../settings/vlan.js';
import * as v from '../validate.js';
import { num, ptSeg, swSeg, UsageError, type Command } from './command.js';
import { describeNic, describeVlan, portTable } from './format.js';
import { bandwidthMode } from './policy.js';

const sw = { name: 'SW', complete: 'switch' } as const;
const portArg = { name: 'PORT', complete: 'port' } as const;
const kVlanWords = ['untagged', 'access', 'trunk', 'private'] as const;

/** One line about a port after a change: its link, VLAN, MTU and endpoint. */
function summary(p: PortView): string {
  return `port ${p.name}: link ${p.link}${p.adminDown ? ' (admin)' : ''}, ${describeVlan(p.vlan)}, MTU ${p.mtu}, ${describeNic(p.nic)}, mac ${p.mac}`;
}

export const portCommands: Command[] = [
  {
    path: ['port', 'list'],
    args: [sw],
    summary: "a switch's ports: link, VLAN, MTU, endpoint, the VM's MAC, worker",
    async run({ api, args, print }) {
      const r = await api.call<PortView[]>('GET', `/switches/${swSeg(args[0])}/ports`);
      print(portTable(r), r);
    },
  },
  {
    path: ['port', 'add'],
    args: [sw, { name: 'PORT' }],
    summary: 'add a port and its endpoint: one of --tap, --listen, --listen-tcp, --connect, --connect-tcp, --dgram',
    description:
      'Prints the QEMU arguments that join a VM to a --listen, --listen-tcp, --connect, --connect-tcp or --dgram port.\n' +
      'Relative paths are taken from the current directory.',
    options: optionsOf(portSettings),
    examples: [
      'vswitch port add sw0 vm4 --listen /tmp/vm4.sock',
      'vswitch port add sw0 vm5 --dgram 10003:127.0.0.1:10004 --device e1000',
      "vswitch port add sw0 h1 --tap h1tap --netns h1 --vlan 'access 10'",
    ],
    async run({ api, args, flags, print }) {
      const name = v.portName(args[1], 'port name');
      const mode = await bandwidthMode(api, args[0]!, flags);
      const cfg = asTyped(portSettings, 'port', () =>
        v.portConfig({ name, ...readFlags(portSettings, flags) }, 'port', mode),
      );
      const r = await api.call<PortView>('POST', `/switches/${swSeg(args[0])}/ports`, cfg);
      print(
        `port ${args[1]} added to ${args[0]}: ${describeNic(r.nic)}, mac ${r.mac}${r.qemu ? `\n  QEMU: ${r.qemu}` : ''}`,
        r,
      );
    },
  },
  {
    path: ['port', 'rm'],
    args: [sw, portArg],
    summary: 'remove a port (its endpoint is closed, its MACs flushed)',
    async run({ api, args, print }) {
      const r = await api.call<PortConfig>('DELETE', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}`);
      print(`port ${args[1]} removed from ${args[0]}`, r);
    },
  },
  {
    path: ['port', 'vlan'],
    args: [sw, portArg, { name: 'MODE', variadic: true, complete: kVlanWords }],
    summary: 'untagged | access VID | trunk ALLOWED [--native VID] [--pruned LIST] | private MODE PRIMARY SECONDARY',
    description:
      'ALLOWED and LIST: comma-separated VIDs and ranges (10,20,100-110). Private VLANs: isolated|community PRIMARY SECONDARY, or promiscuous PRIMARY SECONDARIES.',
    options: kTrunkOptions,
    examples: [
      'vswitch port vlan sw0 vm1 access 10',
      'vswitch port vlan sw0 up trunk 10,20-29 --native 1',
      'vswitch port vlan sw0 vm2 private isolated 100 101',
    ],
    async run({ api, args, flags, print }) {
      const vlan = v.vlanConfig(vlanWords(args.slice(2), flags), 'vlan');
      const r = await api.call<PortView>('PUT', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/vlan`, vlan);
      print(summary(r), r);
    },
  },
  // a port setting that changes at runtime: `port COMMAND SW PORT VALUE`, from its declaration
  ...Object.entries(portSettings.fields ?? {}).flatMap(([key, d]): Command[] => {
    const rt = d.runtime;
    if (!rt?.apply || !d.cli?.value) return [];
    return [
      {
        path: ['port', rt.command],
        args: [sw, portArg, { name: rt.arg ?? d.cli.value }],
        summary: `change ${key} on a running port: ${d.help}`,
        async run({ api, args, print }) {
          const value = d.check(num(args[2], rt.arg ?? d.cli!.value!), key);
          const r = await api.call<PortView>('PUT', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/${rt.route}`, {
            [rt.body]: value,
          });
          print(summary(r), r);
        },
      },
    ];
  }),
  ...(['disconnect', 'connect'] as const).map(
    (op): Command => ({
      path: ['port', op],
      args: [sw, portArg],
      summary: op === 'disconnect' ? 'link down (learned MACs are flushed)' : 'link up again (admin)',
      async run({ api, args, print }) {
        const r = await api.call<PortView>('POST', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/${op}`);
        print(summary(r), r);
      },
    }),
  ),
  {
    path: ['port', 'netdev'],
    args: [sw, portArg],
    summary: 'the QEMU -netdev/-device arguments for a port',
    async run({ api, args, print }) {
      const r = await api.call<{ config: PortConfig; status: PortView }>(
        'GET',
        `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}`,
      );
      if (!r.status.qemu)
        throw new UsageError(
          `port '${args[1]}' is a ${r.config.nic.type}${r.config.nic.type === 'stream' ? ' (VDE framing)' : ''} port: QEMU joins stream ports with QEMU framing, and dgram ports`,
          'PORT',
        );
      print(`qemu-system-x86_64 ... ${r.status.qemu}`, { qemu: r.status.qemu, mac: r.status.mac });
    },
  },
];
