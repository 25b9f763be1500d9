/** `vswitch config show`, `counters` and `events`: the running configuration and what the switch counted. */
import type { DatapathEvent, LinkEvent, SwitchCounters } from '../model.js';
import { swSeg, UsageError, type Command } from './command.js';
import { formatCounters } from './format.js';

export function describeEvent(e: LinkEvent | DatapathEvent): string {
  return 'worker' in e
    ? `${e.time} ${e.switch} datapath ${e.event} worker ${e.worker} (${e.reason})`
    : `${e.time} ${e.switch}/${e.port} link ${e.link} (${e.reason}${e.flushedMacs ? `, ${e.flushedMacs} MACs flushed` : ''})`;
}

export const configCommands: Command[] = [
  {
    path: ['config', 'show'],
    args: [],
    summary: 'the running configuration, in the config file format (static MACs included)',
    description: "Save it and start from it again with 'vswitch run --config FILE'.",
    async run({ api, out }) {
      out(JSON.stringify(await api.call('GET', '/config'), null, 2));
    },
  },
  {
    path: ['counters'],
    args: [
      { name: 'SW', complete: 'switch' },
      { name: 'PORT', optional: true, complete: 'port' },
    ],
    summary: 'rx/tx frames and bytes, drops by reason, offloads, MAC table',
    async run({ api, args, json, out }) {
      const r = await api.call<SwitchCounters>('GET', `/switches/${swSeg(args[0])}/counters`);
      const port = args[1];
      if (port !== undefined && !r.ports[port])
        throw new UsageError(`switch '${args[0]}' has no port named '${port}'`, 'PORT');
      out(json ? JSON.stringify(port ? r.ports[port] : r, null, 2) : formatCounters(r, port));
    },
  },
  {
    path: ['events'],
    args: [],
    summary: 'recent link up/down events, datapath faults and restarts',
    async run({ api, print }) {
      const r = await api.call<Array<LinkEvent | DatapathEvent>>('GET', '/events');
      print(r.map(describeEvent).join('\n') || 'no events', r);
    },
  },
];
