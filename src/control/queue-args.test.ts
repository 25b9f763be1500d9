import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import type { QueuesStatus } from './model.js';
import {
  formatQueues,
  formatRss,
  portQueuesFromFlags,
  queueFlagOptions,
  rssEntriesFromText,
  switchQueuesFromFlags,
  tuningFromFlags,
} from './queue-args.js';
import { policyFlagOptions } from './policy-args.js';
import { kDvmqDefaultConfig } from './validate-queues.js';
import { refuses } from '../testing/refuses.js';

/** The flags exactly as cli.ts would get them from parseArgs. */
const flags = (argv: string[]) =>
  parseArgs({ args: argv, options: queueFlagOptions, allowPositionals: true, strict: true }).values as Record<
    string,
    string | boolean | undefined
  >;

test('switch add flags: parsed, validated, only the ones given', () => {
  assert.deepEqual(switchQueuesFromFlags(flags([])), {});
  assert.deepEqual(
    switchQueuesFromFlags(
      flags([
        '--workers',
        '4',
        '--vmq-queues',
        '8',
        '--rss-table-size',
        '64',
        '--moderation',
        '16/100',
        '--dvmq',
        'on',
        '--dvmq-upper',
        '0.9',
        '--dvmq-lower',
        '0.1',
        '--dvmq-period',
        '250',
        '--dvmq-min-move',
        '0',
      ]),
    ),
    {
      workers: 4,
      vmqQueues: 8,
      rssTableSize: 64,
      moderation: { packets: 16, timeUs: 100 },
      dvmq: { enabled: true, upperThreshold: 0.9, lowerThreshold: 0.1, samplePeriodMs: 250, minMoveIntervalMs: 0 },
    },
  );
  assert.deepEqual(switchQueuesFromFlags(flags(['--moderation', 'adaptive', '--dvmq', 'off'])), {
    moderation: 'adaptive',
    dvmq: { enabled: false },
  });
  assert.deepEqual(switchQueuesFromFlags(flags(['--poll-window', '50'])), { pollWindowUs: 50 });
  assert.deepEqual(tuningFromFlags(flags(['--poll-window', '0'])), { pollWindowUs: 0 });
  refuses(
    () => switchQueuesFromFlags(flags(['--poll-window', '5000'])),
    '--poll-window',
    /^--poll-window: 5000 is out of range; use microseconds from 0 \(off\) to 1000$/,
  );
  refuses(() => tuningFromFlags(flags(['--poll-window', 'x'])), '--poll-window', /must be a whole number, got 'x'/);
});

test('switch add flags: refusals name the flag typed', () => {
  refuses(
    () => switchQueuesFromFlags(flags(['--workers', '0'])),
    '--workers',
    /^--workers: 0 is out of range; use an integer from 1 to 64$/,
  );
  refuses(() => switchQueuesFromFlags(flags(['--workers', 'four'])), '--workers', /must be a whole number, got 'four'/);
  refuses(
    () => switchQueuesFromFlags(flags(['--rss-table-size', '100'])),
    '--rss-table-size',
    /100 is not a power of two; use 1, 2, 4, \.\.\. 128/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--rss-table-size', '256'])),
    '--rss-table-size',
    /256 is out of range; use a power of two from 1 to 128/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--vmq-queues', '300'])),
    '--vmq-queues',
    /300 is out of range; use an integer from 0 to 255/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-upper', '0'])),
    '--dvmq-upper',
    /0 is out of range; use a number above 0 and at most 1/,
  );
  refuses(() => switchQueuesFromFlags(flags(['--dvmq-upper', '1.5'])), '--dvmq-upper', /1\.5 is out of range/);
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-lower=-0.1'])),
    '--dvmq-lower',
    /-0\.1 is out of range; use a number above 0 and below --dvmq-upper/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-lower', '0.9'])),
    '--dvmq-lower',
    /^--dvmq-lower: 0\.9 must be below --dvmq-upper 0\.8 \(the default\); lower it or raise --dvmq-upper$/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-upper', '0.5', '--dvmq-lower', '0.5'])),
    '--dvmq-lower',
    /0\.5 must be below --dvmq-upper 0\.5/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-upper', 'high'])),
    '--dvmq-upper',
    /must be a number like 0\.8 or 100, got 'high'/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--dvmq-period', '5'])),
    '--dvmq-period',
    /5 is out of range; use milliseconds from 10 to 60000/,
  );
  refuses(() => switchQueuesFromFlags(flags(['--dvmq', 'yes'])), '--dvmq', /must be on or off, got 'yes'/);
  refuses(
    () => switchQueuesFromFlags(flags(['--moderation', 'turbo'])),
    '--moderation',
    /'turbo' is not a moderation setting/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--moderation', '0/10'])),
    '--moderation',
    /N \(frames\) in '0\/10': 0 is out of range/,
  );
  refuses(
    () => switchQueuesFromFlags(flags(['--vmq-weight', '10'])),
    '--vmq-weight',
    /is a port setting; give it to 'port add'/,
  );
});

test('port add flags: --vmq-weight 0-100 and --rss on|off', () => {
  assert.deepEqual(portQueuesFromFlags(flags([])), {});
  assert.deepEqual(portQueuesFromFlags(flags(['--vmq-weight', '0'])), { vmqWeight: 0 });
  assert.deepEqual(portQueuesFromFlags(flags(['--vmq-weight', '50', '--rss', 'on'])), { vmqWeight: 50, rss: true });
  assert.deepEqual(portQueuesFromFlags(flags(['--rss', 'off'])), { rss: false });
  refuses(
    () => portQueuesFromFlags(flags(['--vmq-weight', '101'])),
    '--vmq-weight',
    /^--vmq-weight: 101 is out of range; use an integer from 0 \(no VMQ queue\) to 100$/,
  );
  refuses(() => portQueuesFromFlags(flags(['--vmq-weight', '1.5'])), '--vmq-weight', /must be a whole number/);
  refuses(() => portQueuesFromFlags(flags(['--rss', 'true'])), '--rss', /must be on or off, got 'true'/);
  refuses(
    () => portQueuesFromFlags(flags(['--rss', 'on', '--vmq-weight', '0'])),
    '--rss',
    /a port with --vmq-weight 0 has no queue of its own to spread/,
  );
  refuses(
    () => portQueuesFromFlags(flags(['--workers', '2'])),
    '--workers',
    /is a switch setting; give it to 'switch add'/,
  );
  refuses(() => portQueuesFromFlags(flags(['--moderation', 'low'])), '--moderation', /is a switch setting/);
});

test('switch tune flags: moderation and dvmq only; creation-time settings refused with the reason', () => {
  assert.deepEqual(tuningFromFlags(flags(['--moderation', 'HIGH'])), { moderation: 'high' });
  assert.deepEqual(tuningFromFlags(flags(['--dvmq', 'off'])), { dvmq: { enabled: false } });
  assert.deepEqual(tuningFromFlags(flags(['--dvmq-upper', '0.95'])), { dvmq: { upperThreshold: 0.95 } });
  // a threshold alone is checked against the widest the other can be; the daemon checks the merge
  assert.deepEqual(tuningFromFlags(flags(['--dvmq-lower', '0.85'])), { dvmq: { lowerThreshold: 0.85 } });
  assert.deepEqual(tuningFromFlags(flags(['--dvmq-upper', '0.1'])), { dvmq: { upperThreshold: 0.1 } });
  refuses(
    () => tuningFromFlags(flags(['--dvmq-lower', '1'])),
    '--dvmq-lower',
    /1 must be below --dvmq-upper 1 \(its largest value\)/,
  );
  refuses(
    () => tuningFromFlags(flags(['--dvmq-upper', '0.3', '--dvmq-lower', '0.4'])),
    '--dvmq-lower',
    /0\.4 must be below --dvmq-upper 0\.3;/,
  );
  refuses(() => tuningFromFlags(flags([])), 'switch tune', /nothing to change; give --workers N, --moderation/);
  assert.deepEqual(tuningFromFlags(flags(['--workers', '4'])), { workers: 4 });
  refuses(
    () => tuningFromFlags(flags(['--workers', '0'])),
    '--workers',
    /0 is out of range; use an integer from 1 to 64/,
  );
  refuses(
    () => tuningFromFlags(flags(['--vmq-queues', '4'])),
    '--vmq-queues',
    /is fixed when the switch is created; remove and re-create the switch to change it/,
  );
  refuses(
    () => tuningFromFlags(flags(['--rss-table-size', '64'])),
    '--rss-table-size',
    /is fixed when the switch is created/,
  );
  refuses(() => tuningFromFlags(flags(['--rss', 'on'])), '--rss', /is a port setting, fixed when the port is added/);
  refuses(() => tuningFromFlags(flags(['--moderation', '16/0.5ms'])), '--moderation', /is not a moderation setting/);
});

test('rss set: a comma-separated list of worker indices', () => {
  assert.deepEqual(rssEntriesFromText('0,1,0,1'), [0, 1, 0, 1]);
  assert.deepEqual(rssEntriesFromText('3'), [3]);
  assert.deepEqual(rssEntriesFromText('0, 1'), [0, 1]);
  for (const bad of ['', '0,,1', '0,-1', 'a,b', '0;1', '0,1,'])
    refuses(
      () => rssEntriesFromText(bad),
      'ENTRIES',
      /is not a list of worker indices; write one per RSS table entry, comma-separated, like 0,1,0,1/,
    );
});

test('queueFlagOptions: no clash with the policy flags, every value flag takes a string', () => {
  for (const k of Object.keys(queueFlagOptions)) assert.ok(!(k in policyFlagOptions), `--${k} is also a policy flag`);
  for (const [k, o] of Object.entries(queueFlagOptions)) assert.equal(o.type, 'string', `--${k}`);
});

const status: QueuesStatus = {
  workers: [
    {
      worker: 0,
      frames: 1200,
      load: 0.5,
      queues: [1],
      signals: 40,
      handedOver: 300,
      pollWindows: 70,
      pollWindowCatches: 12,
      pollWindowFrames: 30,
    },
    { worker: 1, frames: 800, load: 0.25, queues: [], signals: 10, handedOver: 0 },
  ],
  queues: [
    { queue: 0, port: null, filter: null, worker: 'rss', frames: 1000, load: 0.3, moves: 0 },
    {
      queue: 1,
      port: 'vm1',
      filter: { mac: '52:54:00:00:00:01', vlan: 1 },
      worker: 0,
      frames: 1000,
      load: 0.45,
      moves: 2,
    },
    { queue: 2, port: null, filter: null, worker: 0, frames: 0, load: 0, moves: 0 },
  ],
  rss: { size: 32, entries: Array.from({ length: 32 }, (_, i) => i % 2) },
  moves: {
    total: 2,
    recent: [
      { time: '2024-01-01T00:00:00.000Z', queue: 1, from: 0, to: 1, reason: 'spread' },
      { time: '2024-01-01T00:00:01.000Z', queue: 1, from: 1, to: 0, reason: 'manual' },
    ],
  },
  dvmq: { ...kDvmqDefaultConfig },
  moderation: { packets: 16, timeUs: 100 },
  pollWindowUs: 50,
};

test('formatQueues: settings line, worker and queue tables, RSS table, last moves', () => {
  const text = formatQueues(status);
  assert.equal(
    text,
    [
      '2 workers; moderation 16 frames / 100 us; poll window 50 us; dynamic VMQ on (spread above 80.0%, coalesce below 20.0%, every 100 ms, a queue stays 1000 ms after a move)',
      '',
      'worker  load   frames  handed over  signals  poll windows  caught work  queues',
      '0       50.0%  1200    300          40       70            12           1',
      '1       25.0%  800     0            10       0             0            -',
      '',
      'queue  port       filter                    worker  load   frames  moves',
      '0      (default)  -                         rss     30.0%  1000    0',
      '1      vm1        52:54:00:00:00:01 vlan 1  0       45.0%  1000    2',
      '2      -          -                         0       0.0%   0       0',
      '',
      'RSS table (32 entries: hash low bits -> worker)',
      '    0: 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1',
      '   16: 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1',
      '  buckets per worker: 0=16 1=16',
      '',
      'queue moves: 2 in all; last 2:',
      '  2024-01-01T00:00:00.000Z queue 1: worker 0 -> 1 (spread)',
      '  2024-01-01T00:00:01.000Z queue 1: worker 1 -> 0 (manual)',
    ].join('\n'),
  );
  assert.match(
    formatQueues({
      ...status,
      moves: { total: 0, recent: [] },
      dvmq: { ...status.dvmq, enabled: false },
      moderation: 'off',
    }),
    /^2 workers; moderation off; poll window 50 us; dynamic VMQ off\n[\s\S]*\nqueue moves: 0$/,
  );
  assert.equal(formatRss({ size: 2, entries: [10, 3] }, 11).split('\n')[1], '    0: 10  3');
});
