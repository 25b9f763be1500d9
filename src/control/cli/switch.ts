/** `vswitch switch ...`: create, list, show, remove a switch; MAC aging; runtime tuning of workers and queues. */
import type { QueuesStatus, SwitchConfig } from '../model.js';
import type { PortView } from '../port-view.js';
import { describeTuning, queueFlagOptions, switchQueuesFromFlags, tuningFromFlags } from '../queue-args.js';
import { table } from '../text-table.js';
import { queueSettings } from '../validate-queues.js';
import * as v from '../validate.js';
import { num, pick, str, swSeg, UsageError, type Command } from './command.js';
import { vlanFromArgs } from './port-args.js';
import { portTable } from './format.js';

const sw = { name: 'SW', complete: 'switch' } as const;

/** Workers, moderation and Dynamic VMQ: settable at creation and at runtime. */
const kTuningOptions = pick(queueFlagOptions, ['workers', 'moderation', 'poll-window', 'dvmq', 'dvmq-upper', 'dvmq-lower', 'dvmq-period', 'dvmq-min-move']);

function describeSwitch(c: SwitchConfig): string {
  const q = queueSettings(c);
  const workers = c.workers === undefined ? 'a worker per core' : `${c.workers} worker${c.workers === 1 ? '' : 's'}`;
  return `switch ${c.name} (${c.type ?? 'private'}), MAC aging ${c.agingSeconds ?? 300} s, table size ${c.macTableSize ?? 8192}, ${workers}, ${q.vmqQueues} VMQ queues, RSS table ${q.rssTableSize}`;
}

export const switchCommands: Command[] = [
  {
    path: ['switch', 'list'],
    args: [],
    summary: 'the switches: name, type, number of ports',
    async run({ api, print }) {
      const r = await api.call<Array<{ name: string; type: string; ports: number }>>('GET', '/switches');
      print(table([['switch', 'type', 'ports'], ...r.map((s) => [s.name, s.type, String(s.ports)])]), r);
    },
  },
  {
    path: ['switch', 'show'],
    args: [sw],
    summary: "one switch's settings and its ports",
    async run({ api, args, print }) {
      const r = await api.call<{ config: SwitchConfig; ports: PortView[] }>('GET', `/switches/${swSeg(args[0])}`);
      print(`${describeSwitch(r.config)}\n${portTable(r.ports)}`, r);
    },
  },
  {
    path: ['switch', 'add'],
    args: [{ name: 'SW' }],
    summary: 'create a switch',
    options: {
      type: { type: 'string', value: 'TYPE', help: 'private: VM ports only; internal: plus a host TAP port vs-SW', choices: ['private', 'internal', 'external'] },
      aging: { type: 'string', value: 'SECONDS', help: 'MAC aging time, 0 = never (default 300)' },
      'mac-table-size': { type: 'string', value: 'N', help: 'MAC table entries (default 8192)' },
      'no-rsc': { type: 'boolean', help: 'no receive segment coalescing toward offload-capable ports' },
      'min-bandwidth-mode': { type: 'string', value: 'MODE', help: 'how MinimumBandwidth shares a congested port (fixed at creation)', choices: ['weight', 'absolute'] },
      'flow-table-size': { type: 'string', value: 'N', help: 'stateful ACL flow table entries (default 65536)' },
      'vde-switch': { type: 'string', value: 'DIR', help: "serve vde_switch's protocol on DIR (QEMU -netdev vde,sock=DIR, vde_plug DIR): each client a port", path: true },
      'vde-vlan': { type: 'string', value: 'MODE', help: "VLAN of the VDE client ports, as 'port vlan' takes it (e.g. 'access 10')" },
      ...kTuningOptions,
      ...pick(queueFlagOptions, ['vmq-queues', 'rss-table-size']),
    },
    examples: ['vswitch switch add lab', 'vswitch switch add lab --type internal --workers 2 --moderation medium'],
    async run({ api, args, flags, print }) {
      const raw: Record<string, unknown> = { name: args[0] };
      if (flags.type) raw.type = flags.type;
      if (flags.aging !== undefined) raw.agingSeconds = num(str(flags, 'aging'), '--aging');
      if (flags['mac-table-size'] !== undefined) raw.macTableSize = num(str(flags, 'mac-table-size'), '--mac-table-size');
      if (flags['no-rsc']) raw.rsc = false;
      if (flags['min-bandwidth-mode'] !== undefined) raw.minimumBandwidthMode = flags['min-bandwidth-mode'];
      if (flags['flow-table-size'] !== undefined) raw.flowTableSize = num(str(flags, 'flow-table-size'), '--flow-table-size');
      if (flags['vde-switch'] !== undefined)
        raw.vdeSwitch = { dir: str(flags, 'vde-switch'), ...(flags['vde-vlan'] !== undefined ? { vlan: vlanFromArgs(str(flags, 'vde-vlan')!.split(/\s+/), {}) } : {}) };
      else if (flags['vde-vlan'] !== undefined) throw new UsageError('--vde-vlan sets the VLAN of VDE client ports; give --vde-switch DIR too', '--vde-vlan');
      Object.assign(raw, switchQueuesFromFlags(flags));
      const r = await api.call<SwitchConfig>('POST', '/switches', v.switchConfig(raw, 'switch'));
      print(`switch ${args[0]} created: ${describeSwitch(r)}`, r);
    },
  },
  {
    path: ['switch', 'rm'],
    args: [sw],
    summary: 'remove a switch (its ports are closed)',
    async run({ api, args, print }) {
      const r = await api.call<SwitchConfig>('DELETE', `/switches/${swSeg(args[0])}`);
      print(`switch ${args[0]} removed (${r.ports?.length ?? 0} ports)`, r);
    },
  },
  {
    path: ['switch', 'aging'],
    args: [sw, { name: 'SECONDS' }],
    summary: 'set the MAC aging time (0 = never)',
    async run({ api, args, print }) {
      const r = await api.call<SwitchConfig>('PUT', `/switches/${swSeg(args[0])}/aging`, { seconds: v.agingSeconds(num(args[1], 'SECONDS'), 'seconds') });
      print(`switch ${args[0]}: MAC aging ${r.agingSeconds ?? args[1]} s`, r);
    },
  },
  {
    path: ['switch', 'mac-table-size'],
    args: [sw, { name: 'N' }],
    summary: 'resize the MAC table of the running switch (statics and the most recently seen entries stay)',
    async run({ api, args, print }) {
      const r = await api.call<{ entries: number; dropped: number }>('PUT', `/switches/${swSeg(args[0])}/mac-table-size`, { macTableSize: v.macTableSize(num(args[1], 'N'), 'macTableSize') });
      print(`switch ${args[0]}: MAC table size ${args[1]}, ${r.entries} entries kept, ${r.dropped} dropped`, r);
    },
  },
  {
    path: ['switch', 'tune'],
    args: [sw],
    summary: 'change workers, moderation, the poll window and Dynamic VMQ at runtime',
    options: {
      ...kTuningOptions,
      // fixed at creation: taken so that tuningFromFlags refuses them with that reason
      ...Object.fromEntries(['vmq-queues', 'rss-table-size'].map((k) => [k, { type: 'string', help: '', hidden: true } as const])),
    },
    examples: ['vswitch switch tune lab --workers 2 --dvmq-upper 0.7', 'vswitch switch tune lab --moderation 16/100', 'vswitch switch tune lab --poll-window 50'],
    async run({ api, args, flags, print }) {
      const r = await api.call<Pick<QueuesStatus, 'moderation' | 'dvmq' | 'pollWindowUs'> & { workers: number }>('PATCH', `/switches/${swSeg(args[0])}/tuning`, tuningFromFlags(flags));
      print(`switch ${args[0]}: ${describeTuning(r)}`, r);
    },
  },
];
