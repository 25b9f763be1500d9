import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portConfig, switchConfig, vswitchConfig } from './validate.js';
import {
  defaultWorkers,
  dvmqConfig,
  kDvmqDefaultConfig,
  moderationConfig,
  parseModeration,
  queueMove,
  queueSettings,
  tuningRequest,
  validatePortQueues,
  validateRssTable,
  validateSwitchQueues,
} from './validate-queues.js';
import { refuses } from '../testing/refuses.js';

const nic = { type: 'memory' };

test('switch queue settings: good values kept, only the keys given', () => {
  assert.deepEqual(validateSwitchQueues({ name: 'x' }, 's'), {});
  const good = {
    workers: 4,
    vmqQueues: 0,
    rssTableSize: 64,
    dvmq: { enabled: false, upperThreshold: 0.9, lowerThreshold: 0.1, samplePeriodMs: 250, minMoveIntervalMs: 0 },
    moderation: { packets: 16, timeUs: 100 },
  };
  assert.deepEqual(validateSwitchQueues(good, 's'), good);
  for (const n of [1, 2, 4, 8, 16, 32, 64, 128])
    assert.equal(validateSwitchQueues({ rssTableSize: n }, 's').rssTableSize, n);
  for (const w of [1, 64]) assert.equal(validateSwitchQueues({ workers: w }, 's').workers, w);
  for (const q of [0, 16, 255]) assert.equal(validateSwitchQueues({ vmqQueues: q }, 's').vmqQueues, q);
  for (const m of ['off', 'low', 'medium', 'high', 'adaptive'])
    assert.equal(validateSwitchQueues({ moderation: m }, 's').moderation, m);
  assert.deepEqual(validateSwitchQueues({ dvmq: { upperThreshold: 1 } }, 's').dvmq, { upperThreshold: 1 });
});

test('switch queue settings: refusals name the field, what is wrong and what is right', () => {
  refuses(
    () => validateSwitchQueues({ workers: 0 }, 'switches[0]'),
    'switches[0].workers',
    /^switches\[0\]\.workers: 0 is out of range; use an integer from 1 to 64$/,
  );
  refuses(
    () => validateSwitchQueues({ workers: 65 }, 's'),
    's.workers',
    /65 is out of range; use an integer from 1 to 64/,
  );
  refuses(
    () => validateSwitchQueues({ workers: 2.5 }, 's'),
    's.workers',
    /2\.5 is not a whole number; use an integer from 1 to 64/,
  );
  refuses(() => validateSwitchQueues({ workers: '4' }, 's'), 's.workers', /must be an integer from 1 to 64, got "4"/);
  refuses(
    () => validateSwitchQueues({ vmqQueues: 256 }, 's'),
    's.vmqQueues',
    /256 is out of range; use an integer from 0 to 255/,
  );
  refuses(() => validateSwitchQueues({ vmqQueues: -1 }, 's'), 's.vmqQueues', /-1 is out of range/);
  refuses(
    () => validateSwitchQueues({ rssTableSize: 100 }, 'switches[0]'),
    'switches[0].rssTableSize',
    /^switches\[0\]\.rssTableSize: 100 is not a power of two; use 1, 2, 4, \.\.\. 128$/,
  );
  refuses(
    () => validateSwitchQueues({ rssTableSize: 256 }, 's'),
    's.rssTableSize',
    /256 is out of range; use a power of two from 1 to 128/,
  );
  refuses(
    () => validateSwitchQueues({ rssTableSize: 0 }, 's'),
    's.rssTableSize',
    /0 is out of range; use a power of two from 1 to 128/,
  );
  refuses(() => validateSwitchQueues({ dvmq: 'on' }, 's'), 's.dvmq', /must be an object/);
  refuses(
    () => validateSwitchQueues({ moderation: 'extreme' }, 's'),
    's.moderation',
    /"extreme" is not a moderation mode; use off, low, medium, high, adaptive, or \{"packets": N, "timeUs": T\}/,
  );
});

test('dvmq: thresholds out of range, lower not below upper, bad periods', () => {
  refuses(
    () => dvmqConfig({ upperThreshold: 0 }, 'dvmq'),
    'dvmq.upperThreshold',
    /0 is out of range; use a number above 0 and at most 1/,
  );
  refuses(
    () => dvmqConfig({ upperThreshold: 1.5 }, 'dvmq'),
    'dvmq.upperThreshold',
    /1\.5 is out of range; use a number above 0 and at most 1/,
  );
  refuses(() => dvmqConfig({ upperThreshold: -0.5 }, 'dvmq'), 'dvmq.upperThreshold', /-0\.5 is out of range/);
  refuses(
    () => dvmqConfig({ upperThreshold: Number.NaN }, 'dvmq'),
    'dvmq.upperThreshold',
    /must be a number above 0 and at most 1 .*, got NaN/,
  );
  refuses(() => dvmqConfig({ upperThreshold: '0.8' }, 'dvmq'), 'dvmq.upperThreshold', /got "0\.8"/);
  refuses(
    () => dvmqConfig({ lowerThreshold: -0.1 }, 'dvmq'),
    'dvmq.lowerThreshold',
    /-0\.1 is out of range; use a number above 0 and below upperThreshold/,
  );
  refuses(() => dvmqConfig({ lowerThreshold: 0 }, 'dvmq'), 'dvmq.lowerThreshold', /0 is out of range/);
  // lower >= upper: given together, and against the default upper (0.8)
  refuses(
    () => dvmqConfig({ upperThreshold: 0.5, lowerThreshold: 0.5 }, 'dvmq'),
    'dvmq.lowerThreshold',
    /^dvmq\.lowerThreshold: 0\.5 must be below upperThreshold 0\.5; lower it or raise upperThreshold$/,
  );
  refuses(
    () => dvmqConfig({ lowerThreshold: 0.9 }, 'dvmq'),
    'dvmq.lowerThreshold',
    /0\.9 must be below upperThreshold 0\.8 \(the default\)/,
  );
  refuses(
    () => dvmqConfig({ upperThreshold: 0.1 }, 'dvmq'),
    'dvmq.upperThreshold',
    /0\.1 must be above lowerThreshold 0\.2 \(the default\); raise it or lower lowerThreshold in the same change/,
  );
  refuses(
    () => dvmqConfig({ samplePeriodMs: 0 }, 'dvmq'),
    'dvmq.samplePeriodMs',
    /0 is out of range; use milliseconds from 10 to 60000/,
  );
  refuses(
    () => dvmqConfig({ samplePeriodMs: Infinity }, 'dvmq'),
    'dvmq.samplePeriodMs',
    /must be milliseconds from 10 to 60000, got Infinity/,
  );
  refuses(
    () => dvmqConfig({ minMoveIntervalMs: -1 }, 'dvmq'),
    'dvmq.minMoveIntervalMs',
    /-1 is out of range; use milliseconds from 0 to 3600000/,
  );
  refuses(() => dvmqConfig({ enabled: 'yes' }, 'dvmq'), 'dvmq.enabled', /must be true or false/);
  refuses(
    () => dvmqConfig({ upper: 0.8 }, 'dvmq'),
    'dvmq.upper',
    /unknown setting; expected one of enabled, upperThreshold, lowerThreshold, samplePeriodMs, minMoveIntervalMs/,
  );
  assert.deepEqual(dvmqConfig({ upperThreshold: 0.3, lowerThreshold: 0.25 }, 'dvmq'), {
    upperThreshold: 0.3,
    lowerThreshold: 0.25,
  });
  assert.deepEqual(dvmqConfig({ lowerThreshold: 0.79 }, 'dvmq'), { lowerThreshold: 0.79 });
});

test('moderation: presets and {packets, timeUs} in the config shape', () => {
  assert.deepEqual(moderationConfig({ packets: 1, timeUs: 0 }, 'm'), { packets: 1, timeUs: 0 });
  assert.deepEqual(moderationConfig({ packets: 4096, timeUs: 100000 }, 'm'), { packets: 4096, timeUs: 100000 });
  assert.deepEqual(moderationConfig({ packets: 8, timeUs: 12.5 }, 'm'), { packets: 8, timeUs: 12.5 });
  refuses(
    () => moderationConfig({ packets: 0, timeUs: 10 }, 'm'),
    'm.packets',
    /0 is out of range; use a frame count from 1 to 4096/,
  );
  refuses(() => moderationConfig({ packets: 4097, timeUs: 10 }, 'm'), 'm.packets', /4097 is out of range/);
  refuses(() => moderationConfig({ packets: 1.5, timeUs: 10 }, 'm'), 'm.packets', /not a whole number/);
  refuses(
    () => moderationConfig({ packets: 4, timeUs: -1 }, 'm'),
    'm.timeUs',
    /-1 is out of range; use microseconds from 0 to 100000/,
  );
  refuses(() => moderationConfig({ packets: 4, timeUs: 100001 }, 'm'), 'm.timeUs', /100001 is out of range/);
  refuses(() => moderationConfig({ packets: 4 }, 'm'), 'm', /needs both packets and timeUs/);
  refuses(() => moderationConfig({ packets: 4, timeUs: 5, mode: 'low' }, 'm'), 'm.mode', /unknown setting/);
  refuses(
    () => moderationConfig(16, 'm'),
    'm',
    /must be one of off, low, medium, high, adaptive, or \{"packets": N, "timeUs": T\}/,
  );
  refuses(() => moderationConfig('Adaptive', 'm'), 'm', /"Adaptive" is not a moderation mode/);
});

test('parseModeration: preset names (any case) and N/T with optional us', () => {
  assert.equal(parseModeration('off'), 'off');
  assert.equal(parseModeration('Adaptive'), 'adaptive');
  assert.equal(parseModeration(' high '), 'high');
  assert.deepEqual(parseModeration('16/100'), { packets: 16, timeUs: 100 });
  assert.deepEqual(parseModeration('64/250us'), { packets: 64, timeUs: 250 });
  assert.deepEqual(parseModeration('1/0'), { packets: 1, timeUs: 0 });
  assert.deepEqual(parseModeration('8/12.5'), { packets: 8, timeUs: 12.5 });
  for (const bad of [
    '',
    'fast',
    'extreme',
    '16',
    '16/',
    '/100',
    '16/100ms',
    '16,100',
    '-1/100',
    '16/-5',
    '0x10/100',
    '16/1e3',
  ])
    refuses(
      () => parseModeration(bad),
      '--moderation',
      /is not a moderation setting; use off, low, medium, high, adaptive, or N\/T to wake the worker after N frames or T microseconds, like 16\/100/,
    );
  refuses(
    () => parseModeration('0/100'),
    '--moderation',
    /^--moderation: N \(frames\) in '0\/100': 0 is out of range; use a frame count from 1 to 4096$/,
  );
  refuses(() => parseModeration('5000/100'), '--moderation', /N \(frames\) in '5000\/100': 5000 is out of range/);
  refuses(
    () => parseModeration('16/200000'),
    '--moderation',
    /T \(microseconds\) in '16\/200000': 200000 is out of range; use microseconds from 0 to 100000/,
  );
  refuses(() => parseModeration('x', 'moderation'), 'moderation', /not a moderation setting/);
});

test('port queue settings: vmqWeight 0-100, rss a boolean that needs a queue', () => {
  assert.deepEqual(validatePortQueues({ vmqWeight: 0 }, 'p'), { vmqWeight: 0 });
  assert.deepEqual(validatePortQueues({ vmqWeight: 100, rss: true }, 'p'), { vmqWeight: 100, rss: true });
  assert.deepEqual(validatePortQueues({ rss: false, vmqWeight: 0 }, 'p'), { rss: false, vmqWeight: 0 });
  refuses(
    () => validatePortQueues({ vmqWeight: 101 }, 'ports[1]'),
    'ports[1].vmqWeight',
    /^ports\[1\]\.vmqWeight: 101 is out of range; use an integer from 0 \(no VMQ queue\) to 100$/,
  );
  refuses(() => validatePortQueues({ vmqWeight: -1 }, 'p'), 'p.vmqWeight', /-1 is out of range/);
  refuses(() => validatePortQueues({ vmqWeight: 50.5 }, 'p'), 'p.vmqWeight', /not a whole number/);
  refuses(() => validatePortQueues({ rss: 'on' }, 'p'), 'p.rss', /must be true or false, got "on"/);
  refuses(
    () => validatePortQueues({ rss: true, vmqWeight: 0 }, 'p'),
    'p.rss',
    /vmqWeight 0 has no queue of its own to spread/,
  );
});

test('RSS table: exactly size entries, each a worker the switch has', () => {
  assert.deepEqual(validateRssTable([0, 1, 2, 3], 4, 4, 'entries'), [0, 1, 2, 3]);
  assert.deepEqual(validateRssTable([0], 1, 1, 'entries'), [0]);
  refuses(
    () => validateRssTable([0, 1, 0], 4, 2, 'entries'),
    'entries',
    /^entries: has 3 entries; this switch's RSS table has 4, so give exactly 4 worker indices$/,
  );
  refuses(() => validateRssTable([], 4, 2, 'entries'), 'entries', /has 0 entries/);
  refuses(
    () => validateRssTable([0, 1, 2, 1], 4, 2, 'entries'),
    'entries[2]',
    /2 is out of range; use a worker index from 0 to 1 \(this switch has 2 workers\)/,
  );
  refuses(
    () => validateRssTable([0, -1], 2, 1, 'entries'),
    'entries[1]',
    /-1 is out of range; use a worker index from 0 to 0 \(this switch has 1 worker\)/,
  );
  refuses(() => validateRssTable([0, 0.5], 2, 2, 'entries'), 'entries[1]', /not a whole number/);
  refuses(() => validateRssTable([0, '1'], 2, 2, 'entries'), 'entries[1]', /got "1"/);
  refuses(() => validateRssTable('0,1', 2, 2, 'entries'), 'entries', /must be a list of 2 worker indices/);
});

test('queue move: queue and worker within the running switch', () => {
  const inUse = [0, 2, 3]; // queue 1's port gave it up: ids in use are not contiguous
  assert.deepEqual(queueMove(3, 1, inUse, 4), { queue: 3, worker: 1 });
  refuses(() => queueMove(17, 1, inUse, 4), 'queue', /17 is out of range; use a queue in use: 0, 2, 3/);
  refuses(() => queueMove(1, 1, inUse, 4), 'queue', /1 is not in use \(no port has it\); use a queue in use: 0, 2, 3/);
  refuses(() => queueMove('x', 1, inUse, 4), 'queue', /got "x"/);
  refuses(
    () => queueMove(2, 4, inUse, 4),
    'worker',
    /4 is out of range; use a worker index from 0 to 3 \(this switch has 4 workers\)/,
  );
});

test('hooked into switchConfig, portConfig and the config file: refused the same way', () => {
  const sw = switchConfig(
    {
      name: 'sw',
      workers: 2,
      rssTableSize: 8,
      moderation: 'medium',
      ports: [
        { name: 'p', nic, vmqWeight: 0 },
        { name: 'q', nic, rss: true },
      ],
    },
    'switch',
  );
  assert.equal(sw.workers, 2);
  assert.equal(sw.rssTableSize, 8);
  assert.equal(sw.moderation, 'medium');
  assert.deepEqual(sw.ports, [
    { name: 'p', nic, vmqWeight: 0 },
    { name: 'q', nic, rss: true },
  ]);
  assert.deepEqual(portConfig({ name: 'p', nic, vmqWeight: 30, rss: true }, 'port'), {
    name: 'p',
    nic,
    vmqWeight: 30,
    rss: true,
  });
  refuses(() => portConfig({ name: 'p', nic, vmqWeight: 101 }, 'port'), 'port.vmqWeight', /101 is out of range/);
  refuses(
    () => switchConfig({ name: 'sw', workers: 0 }, 'switch'),
    'switch.workers',
    /0 is out of range; use an integer from 1 to 64/,
  );
  refuses(
    () => vswitchConfig({ switches: [{ name: 'sw', rssTableSize: 100 }] }),
    'config.switches[0].rssTableSize',
    /100 is not a power of two/,
  );
  refuses(
    () => vswitchConfig({ switches: [{ name: 'sw', dvmq: { lowerThreshold: 0.9 } }] }),
    'config.switches[0].dvmq.lowerThreshold',
    /0\.9 must be below upperThreshold 0\.8/,
  );
  refuses(
    () => vswitchConfig({ switches: [{ name: 'sw', ports: [{ name: 'p', nic, vmqWeight: 101 }] }] }),
    'config.switches[0].ports[0].vmqWeight',
    /101 is out of range/,
  );
  assert.equal(switchConfig({ name: 'sw', pollWindowUs: 50 }, 'switch').pollWindowUs, 50);
  refuses(
    () => vswitchConfig({ switches: [{ name: 'sw', pollWindowUs: -1 }] }),
    'config.switches[0].pollWindowUs',
    /-1 is out of range; use microseconds from 0 \(off\) to 1000/,
  );
  refuses(
    () => switchConfig({ name: 'sw', pollWindowUs: 2.5 }, 'switch'),
    'switch.pollWindowUs',
    /2\.5 is not a whole number/,
  );
  refuses(
    () => switchConfig({ name: 'sw', pollWindowUs: '50' }, 'switch'),
    'switch.pollWindowUs',
    /must be microseconds from 0 \(off\) to 1000, got "50"/,
  );
  refuses(
    () => switchConfig({ name: 'sw', vmq: 3 }, 'switch'),
    'switch.vmq',
    /unknown setting; expected one of .*workers, vmqQueues, rssTableSize, dvmq, moderation/,
  );
});

test('queueSettings: defaults filled in (workers = cores, at most 64)', () => {
  const q = queueSettings({ name: 'sw' });
  assert.equal(q.workers, defaultWorkers());
  assert.ok(q.workers >= 1 && q.workers <= 64);
  assert.deepEqual(
    { ...q, workers: 0 },
    {
      workers: 0,
      vmqQueues: 16,
      rssTableSize: 128,
      dvmq: { enabled: true, upperThreshold: 0.8, lowerThreshold: 0.2, samplePeriodMs: 100, minMoveIntervalMs: 1000 },
      moderation: 'off',
      pollWindowUs: 0,
    },
  );
  assert.deepEqual(queueSettings({ name: 'sw', workers: 3, dvmq: { upperThreshold: 0.9 } }).dvmq, {
    ...kDvmqDefaultConfig,
    upperThreshold: 0.9,
  });
});

test('tuningRequest: merged with the running settings, null resets, cross-check on the merge', () => {
  const running = {
    ...queueSettings({ name: 'sw', workers: 2 }),
    dvmq: { ...kDvmqDefaultConfig, upperThreshold: 0.5, lowerThreshold: 0.3 },
  };
  assert.deepEqual(tuningRequest({ moderation: 'high' }, running), { moderation: 'high' });
  assert.deepEqual(tuningRequest({ moderation: null }, running), { moderation: 'off' });
  assert.deepEqual(tuningRequest({ dvmq: { upperThreshold: 0.6 } }, running).dvmq, {
    ...kDvmqDefaultConfig,
    upperThreshold: 0.6,
    lowerThreshold: 0.3,
  });
  assert.deepEqual(tuningRequest({ dvmq: { lowerThreshold: null } }, running).dvmq, {
    ...kDvmqDefaultConfig,
    upperThreshold: 0.5,
    lowerThreshold: 0.2,
  });
  assert.deepEqual(tuningRequest({ dvmq: null }, running).dvmq, kDvmqDefaultConfig);
  assert.deepEqual(tuningRequest({ dvmq: { enabled: false }, moderation: { packets: 8, timeUs: 50 } }, running), {
    moderation: { packets: 8, timeUs: 50 },
    dvmq: { ...running.dvmq, enabled: false },
  });
  refuses(
    () => tuningRequest({ dvmq: { upperThreshold: 0.25 } }, running),
    'tuning.dvmq.upperThreshold',
    /0\.25 must be above lowerThreshold 0\.3 \(the current value\)/,
  );
  refuses(
    () => tuningRequest({ dvmq: { lowerThreshold: 0.6 } }, running),
    'tuning.dvmq.lowerThreshold',
    /0\.6 must be below upperThreshold 0\.5 \(the current value\)/,
  );
  // both at once is fine even when each alone would cross the running other
  assert.deepEqual(tuningRequest({ dvmq: { upperThreshold: 0.25, lowerThreshold: 0.1 } }, running).dvmq, {
    ...kDvmqDefaultConfig,
    upperThreshold: 0.25,
    lowerThreshold: 0.1,
  });
  refuses(
    () => tuningRequest({}, running),
    'tuning',
    /nothing to change; give workers, moderation, dvmq and\/or pollWindowUs/,
  );
  assert.deepEqual(tuningRequest({ pollWindowUs: 50 }, running), { pollWindowUs: 50 });
  assert.deepEqual(tuningRequest({ pollWindowUs: null }, running), { pollWindowUs: 0 });
  refuses(
    () => tuningRequest({ pollWindowUs: 1001 }, running),
    'tuning.pollWindowUs',
    /1001 is out of range; use microseconds from 0 \(off\) to 1000/,
  );
  assert.deepEqual(tuningRequest({ workers: 3 }, running), { workers: 3 });
  refuses(
    () => tuningRequest({ workers: 0 }, running),
    'tuning.workers',
    /0 is out of range; use an integer from 1 to 64/,
  );
  refuses(
    () => tuningRequest({ vmqQueues: 4 }, running),
    'tuning.vmqQueues',
    /unknown setting; expected one of workers, moderation, dvmq/,
  );
  refuses(() => tuningRequest({ moderation: 'turbo' }, running), 'tuning.moderation', /not a moderation mode/);
  refuses(() => tuningRequest(null, running), 'tuning', /must be an object/);
});
