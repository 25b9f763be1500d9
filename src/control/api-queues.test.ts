/**
 * The queue routes of the management API and the CLI commands that reach them, end to end over a unix
 * socket, against a stand-in switch handle that records the calls (the datapath is not started: these
 * tests are about what is refused, what is passed on and what is printed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { createApi } from './api.js';
import { main } from './cli.js';
import { ApiClient, ApiError } from './client.js';
import type { Manager } from './manager.js';
import type { DvmqConfig, ModerationConfig, QueuesStatus, SwitchConfig } from './model.js';
import { ConfigError } from './validate.js';
import { kDvmqDefaultConfig } from './validate-queues.js';

class FakeHandle {
  readonly name: string;
  readonly config: SwitchConfig;
  calls: unknown[][] = [];
  workers = 2;
  constructor(cfg: SwitchConfig) {
    this.name = cfg.name;
    this.config = { ...cfg, ports: [] };
  }
  async queues(): Promise<QueuesStatus> {
    return {
      workers: Array.from({ length: this.workers }, (_, w) => ({
        worker: w,
        frames: 10 * w,
        load: 0.1 * w,
        queues: w === 0 ? [1] : [],
        signals: w,
        handedOver: 0,
      })),
      queues: [
        { queue: 0, port: null, filter: null, worker: 'rss', frames: 5, load: 0.05, moves: 0 },
        {
          queue: 1,
          port: 'vm1',
          filter: { mac: '52:54:00:00:00:01', vlan: 1 },
          worker: 0,
          frames: 5,
          load: 0.05,
          moves: 0,
        },
        { queue: 2, port: null, filter: null, worker: 0, frames: 0, load: 0, moves: 0 },
      ],
      rss: { size: 4, entries: [0, 1, 0, 1] },
      moves: { total: 0, recent: [] },
      dvmq: { ...kDvmqDefaultConfig, ...this.config.dvmq },
      moderation: this.config.moderation ?? 'off',
    };
  }
  async moveQueue(queue: number, worker: number): Promise<void> {
    this.calls.push(['moveQueue', queue, worker]);
  }
  async setRssTable(entries: number[]): Promise<void> {
    this.calls.push(['setRssTable', entries]);
  }
  async tune(t: { moderation?: ModerationConfig; dvmq?: DvmqConfig }): Promise<void> {
    this.calls.push(['tune', t]);
    if (t.moderation !== undefined) this.config.moderation = t.moderation;
    if (t.dvmq) this.config.dvmq = { ...this.config.dvmq, ...t.dvmq };
  }
}

let dir = '';
let sock = '';
let handle: FakeHandle;
let server: ReturnType<typeof createApi>;
const created: SwitchConfig[] = [];
const fakeManager = {
  get(name: string) {
    if (name !== 'sw') throw new ConfigError('switch', `no switch named '${name}'; existing: sw`);
    return handle;
  },
  async createSwitch(cfg: SwitchConfig) {
    created.push(cfg);
    return { config: cfg };
  },
} as unknown as Manager;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vswitch-apiq-'));
  sock = join(dir, 'api.sock');
  server = createApi(fakeManager);
  await new Promise<void>((resolve) => server.listen(sock, resolve));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  handle = new FakeHandle({ name: 'sw', workers: 2, rssTableSize: 4 });
  created.length = 0;
});

const api = () => new ApiClient(sock);
const rejects = (p: Promise<unknown>, status: number, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, status);
    assert.match(e.message, re);
    return true;
  });

/** Runs the CLI against the test daemon; returns what it printed. */
async function cli(...argv: string[]): Promise<string> {
  const out: string[] = [];
  assert.equal(await main([...argv, '--api', sock], (s) => out.push(s)), 0);
  return out.join('\n');
}

test('GET /queues answers the handle status', async () => {
  const r = await api().call<QueuesStatus>('GET', '/switches/sw/queues');
  assert.equal(r.workers.length, 2);
  assert.deepEqual(r.rss, { size: 4, entries: [0, 1, 0, 1] });
  await rejects(api().call('GET', '/switches/nope/queues'), 400, /no switch named 'nope'/);
});

test('POST /queues/:q/move: queue and worker checked against the running switch', async () => {
  await api().call('POST', '/switches/sw/queues/2/move', { worker: 1 });
  assert.deepEqual(handle.calls, [['moveQueue', 2, 1]]);
  await rejects(
    api().call('POST', '/switches/sw/queues/3/move', { worker: 1 }),
    400,
    /^queue: 3 is out of range; use a queue in use: 0, 1, 2/,
  );
  await rejects(
    api().call('POST', '/switches/sw/queues/x/move', { worker: 1 }),
    400,
    /queue: must be a queue in use: 0, 1, 2 .*got "x"/,
  );
  await rejects(
    api().call('POST', '/switches/sw/queues/1/move', { worker: 2 }),
    400,
    /worker: 2 is out of range; use a worker index from 0 to 1 \(this switch has 2 workers\)/,
  );
  await rejects(api().call('POST', '/switches/sw/queues/1/move', {}), 400, /body\.worker: missing/);
  await rejects(
    api().call('POST', '/switches/sw/queues/1/move', { worker: 1, to: 0 }),
    400,
    /body\.to: unknown setting; expected one of worker/,
  );
  handle.workers = 1;
  await rejects(
    api().call('POST', '/switches/sw/queues/0/move', { worker: 0 }),
    400,
    /'sw' runs on one worker, so it has no queues to move; give it more with 'vswitch switch tune sw --workers 2'/,
  );
  assert.equal(handle.calls.length, 1);
});

test('PUT /rss: the whole table, each entry a worker', async () => {
  await api().call('PUT', '/switches/sw/rss', { entries: [1, 1, 0, 0] });
  assert.deepEqual(handle.calls, [['setRssTable', [1, 1, 0, 0]]]);
  await rejects(
    api().call('PUT', '/switches/sw/rss', { entries: [0, 1] }),
    400,
    /entries: has 2 entries; this switch's RSS table has 4, so give exactly 4 worker indices/,
  );
  await rejects(
    api().call('PUT', '/switches/sw/rss', { entries: [0, 1, 2, 0] }),
    400,
    /entries\[2\]: 2 is out of range; use a worker index from 0 to 1/,
  );
  await rejects(api().call('POST', '/switches/sw/rss', { entries: [0, 1, 0, 1] }), 405, /POST not allowed .*use PUT/);
  assert.equal(handle.calls.length, 1);
});

test('PATCH/PUT /tuning: merged with the running settings, complete parts passed on', async () => {
  const r = await api().call('PATCH', '/switches/sw/tuning', { moderation: 'low', dvmq: { upperThreshold: 0.9 } });
  const dvmq = { ...kDvmqDefaultConfig, upperThreshold: 0.9 };
  assert.deepEqual(handle.calls, [['tune', { moderation: 'low', dvmq }]]);
  assert.deepEqual(r, { workers: 2, moderation: 'low', dvmq, pollWindowUs: 0 });
  // the next change merges with what the handle applied
  await api().call('PUT', '/switches/sw/tuning', { dvmq: { lowerThreshold: 0.85 } });
  assert.deepEqual(handle.calls[1], ['tune', { dvmq: { ...dvmq, lowerThreshold: 0.85 } }]);
  await rejects(
    api().call('PATCH', '/switches/sw/tuning', { dvmq: { upperThreshold: 0.5 } }),
    400,
    /tuning\.dvmq\.upperThreshold: 0\.5 must be above lowerThreshold 0\.85 \(the current value\)/,
  );
  await rejects(
    api().call('PATCH', '/switches/sw/tuning', { moderation: { packets: 0, timeUs: 5 } }),
    400,
    /tuning\.moderation\.packets: 0 is out of range/,
  );
  await rejects(
    api().call('PATCH', '/switches/sw/tuning', { workers: 0 }),
    400,
    /tuning\.workers: 0 is out of range; use an integer from 1 to 64/,
  );
  await rejects(
    api().call('PATCH', '/switches/sw/tuning', { vmqQueues: 3 }),
    400,
    /tuning\.vmqQueues: unknown setting/,
  );
  assert.equal(handle.calls.length, 2);
  // the worker count changes at runtime
  assert.equal((await api().call<{ workers: number }>('PATCH', '/switches/sw/tuning', { workers: 3 })).workers, 3);
  assert.deepEqual(handle.calls[2], ['tune', { workers: 3 }]);
  assert.equal(
    (await api().call<{ pollWindowUs: number }>('PATCH', '/switches/sw/tuning', { pollWindowUs: 40 })).pollWindowUs,
    40,
  );
  assert.deepEqual(handle.calls[3], ['tune', { pollWindowUs: 40 }]);
  await rejects(
    api().call('PATCH', '/switches/sw/tuning', { pollWindowUs: 1e6 }),
    400,
    /tuning\.pollWindowUs: 1000000 is out of range; use microseconds from 0 \(off\) to 1000/,
  );
});

test('POST /switches: the new settings validated like every other (config file, API, CLI)', async () => {
  await rejects(
    api().call('POST', '/switches', { name: 'x', workers: 0 }),
    400,
    /switch\.workers: 0 is out of range; use an integer from 1 to 64/,
  );
  await rejects(
    api().call('POST', '/switches', { name: 'x', rssTableSize: 100 }),
    400,
    /switch\.rssTableSize: 100 is not a power of two/,
  );
  await api().call('POST', '/switches', {
    name: 'x',
    workers: 3,
    moderation: { packets: 8, timeUs: 40 },
    ports: [{ name: 'p', nic: { type: 'memory' }, vmqWeight: 0 }],
  });
  assert.equal(created[0].workers, 3);
  assert.deepEqual(created[0].moderation, { packets: 8, timeUs: 40 });
  assert.equal(created[0].ports![0].vmqWeight, 0);
});

test('CLI: queues, queue move, rss set, switch tune, switch add reach the routes', async () => {
  const text = await cli('queues', 'sw');
  assert.match(text, /^2 workers; moderation off; poll window off; dynamic VMQ on/);
  assert.match(text, /\n1      vm1        52:54:00:00:00:01 vlan 1  0 /);
  assert.match(text, /RSS table \(4 entries: hash low bits -> worker\)\n {4}0: 0 1 0 1\n  buckets per worker: 0=2 1=2/);
  assert.deepEqual(JSON.parse(await cli('queues', 'sw', '--json')).rss, { size: 4, entries: [0, 1, 0, 1] });
  assert.equal(await cli('queue', 'move', 'sw', '1', '1'), 'switch sw: queue 1 moved to worker 1');
  assert.equal(await cli('rss', 'set', 'sw', '1,0,1,0'), 'switch sw: RSS table rewritten (4 entries)');
  assert.match(
    await cli('switch', 'tune', 'sw', '--moderation', '16/100', '--dvmq-upper', '0.7'),
    /^switch sw: 2 workers; moderation 16 frames \/ 100 us; poll window off; dynamic VMQ on \(spread above 70\.0%/,
  );
  assert.deepEqual(handle.calls, [
    ['moveQueue', 1, 1],
    ['setRssTable', [1, 0, 1, 0]],
    ['tune', { moderation: { packets: 16, timeUs: 100 }, dvmq: { ...kDvmqDefaultConfig, upperThreshold: 0.7 } }],
  ]);
  await assert.rejects(cli('rss', 'set', 'sw', '0,1'), /entries: has 2 entries; this switch's RSS table has 4/);
  await assert.rejects(
    cli('switch', 'tune', 'sw', '--rss-table-size', '64'),
    /--rss-table-size: is fixed when the switch is created/,
  );
  await cli(
    'switch',
    'add',
    'y',
    '--workers',
    '2',
    '--rss-table-size',
    '16',
    '--moderation',
    'adaptive',
    '--dvmq',
    'off',
  );
  assert.deepEqual(created.at(-1), {
    name: 'y',
    type: 'private',
    workers: 2,
    rssTableSize: 16,
    moderation: 'adaptive',
    dvmq: { enabled: false },
    ports: [],
    staticMacs: [],
  });
  await assert.rejects(
    cli('switch', 'add', 'z', '--rss-table-size', '100'),
    /--rss-table-size: 100 is not a power of two/,
  );
});
