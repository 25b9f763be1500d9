/** `vswitch switch ...`: create, list, show, remove a switch; MAC aging; runtime tuning of workers and queues. */
import type { QueuesStatus, SwitchConfig } from '../model.js';
import type { PortView } from '../port-view.js';
import { describeTuning, kFixedQueueFlags, tuneFlagOptions, tuningFromFlags } from '../queue-args.js';
import { table } from '../text-table.js';
import { queueSettings } from '../validate-queues.js';
import * as v from '../validate.js';
import { num, swSeg, UsageError, type Command } from './command.js';
import { asTyped, flagOf, optionsOf, readFlags } from '../settings/cli.js';
import { switchSettings } from '../settings/switch.js';
import { portTable } from './format.js';

const sw = { name: 'SW', complete: 'switch' } as const;

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
    options: optionsOf(switchSettings),
    examples: ['vswitch switch add lab', 'vswitch switch add lab --type internal --workers 2 --moderation medium'],
    async run({ api, args, flags, print }) {
      const raw: Record<string, unknown> = { name: args[0], ...readFlags(switchSettings, flags) };
      const vde = raw.vdeSwitch as Record<string, unknown> | undefined;
      if (vde && vde.dir === undefined)
        throw new UsageError(
          `${Object.keys(vde)
            .map((k) => flagOf(switchSettings, `vdeSwitch.${k}`))
            .join(', ')} set the VDE client ports; give --vde-switch DIR too`,
          '--vde-switch',
        );
      const cfg = asTyped(switchSettings, 'switch', () => v.switchConfig(raw, 'switch'));
      const r = await api.call<SwitchConfig>('POST', '/switches', cfg);
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
  // a switch setting that changes at runtime: `switch COMMAND SW VALUE`, from its declaration
  ...Object.entries(switchSettings.fields ?? {}).flatMap(([key, d]): Command[] => {
    const rt = d.runtime;
    if (!rt?.applySwitch || !d.cli?.value) return [];
    const arg = rt.arg ?? d.cli.value;
    return [
      {
        path: ['switch', rt.command],
        args: [sw, { name: arg }],
        summary: `change ${key} on a running switch: ${d.help}`,
        async run({ api, args, print }) {
          const value = d.check(num(args[1], arg), rt.body);
          const r = await api.call<Record<string, unknown>>('PUT', `/switches/${swSeg(args[0])}/${rt.route}`, {
            [rt.body]: value,
          });
          print(`switch ${args[0]}: ${rt.says ? rt.says(r, value) : `${key} ${value}`}`, r);
        },
      },
    ];
  }),
  {
    path: ['switch', 'tune'],
    args: [sw],
    summary: 'change workers, moderation, the poll window and Dynamic VMQ at runtime',
    options: {
      ...tuneFlagOptions,
      // fixed at creation: taken so that tuningFromFlags refuses them with that reason
      ...Object.fromEntries(kFixedQueueFlags.map((k) => [k, { type: 'string', help: '', hidden: true } as const])),
    },
    examples: [
      'vswitch switch tune lab --workers 2 --dvmq-upper 0.7',
      'vswitch switch tune lab --moderation 16/100',
      'vswitch switch tune lab --poll-window 50',
    ],
    async run({ api, args, flags, print }) {
      const r = await api.call<Pick<QueuesStatus, 'moderation' | 'dvmq' | 'pollWindowUs'> & { workers: number }>(
        'PATCH',
        `/switches/${swSeg(args[0])}/tuning`,
        tuningFromFlags(flags),
      );
      print(`switch ${args[0]}: ${describeTuning(r)}`, r);
    },
  },
];
