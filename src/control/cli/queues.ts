/** `vswitch queues`, `queue move`, `rss set`: workers, VMQ queues and the RSS table of a switch. */
import type { QueuesStatus, QueueStatus } from '../model.js';
import { formatQueues, rssEntriesFromText } from '../queue-args.js';
import { num, swSeg, type Command } from './command.js';

const sw = { name: 'SW', complete: 'switch' } as const;

export const queueCommands: Command[] = [
  {
    path: ['queues'],
    args: [sw],
    summary: 'workers, VMQ queues (filter, worker, load), RSS table, queue moves',
    async run({ api, args, print }) {
      const r = await api.call<QueuesStatus>('GET', `/switches/${swSeg(args[0])}/queues`);
      print(formatQueues(r), r);
    },
  },
  {
    path: ['queue', 'move'],
    args: [sw, { name: 'QUEUE' }, { name: 'WORKER' }],
    summary: 'move a queue to a worker (Dynamic VMQ may move it again)',
    async run({ api, args, print }) {
      const queue = num(args[1], 'QUEUE');
      const r = await api.call<QueueStatus>('POST', `/switches/${swSeg(args[0])}/queues/${queue}/move`, {
        worker: num(args[2], 'WORKER'),
      });
      print(`switch ${args[0]}: queue ${queue} moved to worker ${args[2]}`, r);
    },
  },
  {
    path: ['rss', 'set'],
    args: [sw, { name: 'W0,W1,...' }],
    summary: 'rewrite the RSS table: one worker per entry (as many as its size)',
    async run({ api, args, print }) {
      const entries = rssEntriesFromText(args[1]!);
      const r = await api.call('PUT', `/switches/${swSeg(args[0])}/rss`, { entries });
      print(`switch ${args[0]}: RSS table rewritten (${entries.length} entries)`, r);
    },
  },
];
