/**
 * The memory a switch's workers share, built in one place: the packet pool with its shared free list,
 * the MAC table, the link-state bytes and the queue tables with their rings (runtime/queue-control.ts,
 * whose only writer is this thread). SwitchRuntime builds one set per switch (and a fresh one when it
 * replaces failed workers); the multi-worker pipeline benchmark builds the same set, so what it measures
 * is wired as the switch is. Every switch gets them, even on one worker, so workers can be added later.
 */
import { kMaxPorts } from '../dataplane/counters.js';
import { createSharedPool, type SharedPool } from '../dataplane/pool.js';
import type { SwitchSpec } from '../engine/spec.js';
import { kDefaultRssTableSize, kDefaultVmqQueues } from '../queues/queue-spec.js';
import type { WorkerQueuesInit } from '../queues/worker-queues.js';
import { Fdb, kDefaultMaxEntries } from '../switch/fdb.js';
import { QueueControl } from './queue-control.js';

export class SwitchTables {
  readonly pool: SharedPool = createSharedPool();
  /** Replaced by a resize of the running switch (SwitchRuntime.setMacTableSize). */
  fdb: Fdb;
  readonly linkState = new SharedArrayBuffer(kMaxPorts);
  readonly qc: QueueControl;

  constructor(
    workers: number,
    spec: Pick<SwitchSpec, 'macTableSize' | 'vmqQueues' | 'rssTableSize' | 'dvmq' | 'moderation'>,
  ) {
    this.fdb = new Fdb(spec.macTableSize ?? kDefaultMaxEntries);
    this.qc = new QueueControl(workers, {
      vmqQueues: spec.vmqQueues ?? kDefaultVmqQueues,
      rssTableSize: spec.rssTableSize ?? kDefaultRssTableSize,
      dvmq: spec.dvmq,
      moderation: spec.moderation,
    });
  }

  /** What a worker is given besides the pool: the shared MAC table and link state, and its queues. */
  shared(queues: WorkerQueuesInit): { fdb: SharedArrayBuffer; linkState: SharedArrayBuffer; queues: WorkerQueuesInit } {
    return { fdb: this.fdb.sab, linkState: this.linkState, queues };
  }
}
