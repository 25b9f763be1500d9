/**
 * The settings of the datapath's spread over workers (docs/queues.md), declared once: a switch's
 * workers, VMQ queues, RSS table size, Dynamic VMQ and interrupt moderation, and a port's VMQ weight and
 * vRSS. Their checks are validate-queues.ts's (its messages say "N is out of range; use ..." and check
 * lower < upper against the running values); the declarations add the key, help, default, flag and
 * whether `switch tune` changes it at runtime.
 */
import {
  kDefaultModeration,
  kDefaultRssTableSize,
  kDefaultVmqQueues,
  kDvmqDefaultConfig,
  kMaxModerationPackets,
  kMaxModerationTimeUs,
  kMaxRssTableSize,
  kMaxVmqQueues,
  kMaxVmqWeight,
  kMaxWorkers,
  kMinSamplePeriodMs,
  kMaxSamplePeriodMs,
  kMaxMinMoveIntervalMs,
  kModerationPresets,
  kDefaultPollWindowUs,
  kMaxPollWindowUs,
  dvmqConfig,
  moderationConfig,
  parseModeration,
  pollWindowUs,
  rssTableSize,
  vmqQueues,
  vmqWeight,
  workerCount,
} from '../validate-queues.js';
import { bool, custom, num } from './setting.js';

const tune = { route: 'tuning', body: '', command: 'tune' } as const;

export const workers = custom({
  check: workerCount,
  schema: { type: 'integer', minimum: 1, maximum: kMaxWorkers },
  kind: 'int',
  help: 'datapath threads, each running the whole pipeline (default: one per core, at most 64)',
  example: 2,
  cli: { flag: 'workers', value: 'N', help: 'datapath threads (default: one per core)' },
  runtime: { ...tune, body: 'workers' },
});

export const vmqQueuesSetting = custom({
  check: vmqQueues,
  schema: { type: 'integer', minimum: 0, maximum: kMaxVmqQueues },
  kind: 'int',
  help: 'VMQ receive queues besides queue 0 (fixed at creation)',
  default: kDefaultVmqQueues,
  example: 4,
  cli: { flag: 'vmq-queues', value: 'N' },
});

export const rssTableSizeSetting = custom({
  check: rssTableSize,
  schema: { type: 'integer', enum: [1, 2, 4, 8, 16, 32, 64, 128].filter((n) => n <= kMaxRssTableSize) },
  kind: 'int',
  help: 'RSS indirection table entries, a power of two up to 128 (fixed at creation)',
  default: kDefaultRssTableSize,
  example: 64,
  cli: { flag: 'rss-table-size', value: 'N' },
});

const d = kDvmqDefaultConfig;

/** Dynamic VMQ: the fields give the flags and schema; dvmqConfig checks them together (lower < upper). */
export const dvmq = custom({
  check: (v, f) => dvmqConfig(v, f),
  kind: 'dvmq',
  help: 'Dynamic VMQ: which worker serves each queue, re-decided from measured load',
  fields: {
    enabled: bool({
      help: 'Dynamic VMQ: move queues between workers by load',
      default: d.enabled,
      example: !d.enabled,
      cli: { flag: 'dvmq', value: 'on|off' },
    }),
    upperThreshold: num({
      min: 0,
      above: true,
      max: 1,
      help: "a worker's load (0-1) above which it hands a queue away",
      default: d.upperThreshold,
      example: 0.9,
      cli: { flag: 'dvmq-upper', value: 'X' },
    }),
    lowerThreshold: num({
      min: 0,
      above: true,
      max: 1,
      help: "a worker's load (0-1) below which it hands its queues back",
      default: d.lowerThreshold,
      example: 0.3,
      cli: { flag: 'dvmq-lower', value: 'X' },
    }),
    samplePeriodMs: num({
      min: kMinSamplePeriodMs,
      max: kMaxSamplePeriodMs,
      help: 'load sampling period in ms',
      default: d.samplePeriodMs,
      example: 250,
      cli: { flag: 'dvmq-period', value: 'MS' },
    }),
    minMoveIntervalMs: num({
      min: 0,
      max: kMaxMinMoveIntervalMs,
      help: 'a moved queue stays put at least this long (ms)',
      default: d.minMoveIntervalMs,
      example: 2000,
      cli: { flag: 'dvmq-min-move', value: 'MS' },
    }),
  },
  schema: {
    type: 'object',
    properties: {
      enabled: { type: 'boolean', default: d.enabled },
      upperThreshold: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: d.upperThreshold },
      lowerThreshold: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: d.lowerThreshold },
      samplePeriodMs: {
        type: 'number',
        minimum: kMinSamplePeriodMs,
        maximum: kMaxSamplePeriodMs,
        default: d.samplePeriodMs,
      },
      minMoveIntervalMs: { type: 'number', minimum: 0, maximum: kMaxMinMoveIntervalMs, default: d.minMoveIntervalMs },
    },
    additionalProperties: false,
  },
  runtime: { ...tune, body: 'dvmq' },
});

export const moderation = custom({
  check: moderationConfig,
  kind: 'moderation',
  schema: {
    oneOf: [
      { enum: [...kModerationPresets] },
      {
        type: 'object',
        properties: {
          packets: { type: 'integer', minimum: 1, maximum: kMaxModerationPackets },
          timeUs: { type: 'number', minimum: 0, maximum: kMaxModerationTimeUs },
        },
        required: ['packets', 'timeUs'],
        additionalProperties: false,
      },
    ],
  },
  help: 'when a queue wakes its worker: off, low, medium, high, adaptive, or {packets, timeUs}',
  default: kDefaultModeration,
  example: { packets: 16, timeUs: 100 },
  cli: {
    flag: 'moderation',
    value: 'MODE|N/T',
    help: 'when a queue wakes its worker: off|low|medium|high|adaptive, or after N frames or T us (16/100)',
    parse: (t, _f, flag) => parseModeration(t, flag),
    example: ['--moderation', '16/100'],
  },
  runtime: { ...tune, body: 'moderation' },
});

/** After a wake that did work, the worker keeps polling its TAPs and rings this long (engine/poll-window.ts). */
export const pollWindowUsSetting = custom({
  check: pollWindowUs,
  schema: { type: 'integer', minimum: 0, maximum: kMaxPollWindowUs },
  kind: 'int',
  help: `after a wake that did work, keep polling TAPs and rings this many microseconds (0-${kMaxPollWindowUs}; 0: off)`,
  default: kDefaultPollWindowUs,
  example: 50,
  cli: { flag: 'poll-window', value: 'US' },
  runtime: { ...tune, body: 'pollWindowUs' },
});

/** The switch's queue settings, by key. */
export const switchQueues = {
  workers,
  vmqQueues: vmqQueuesSetting,
  rssTableSize: rssTableSizeSetting,
  dvmq,
  moderation,
  pollWindowUs: pollWindowUsSetting,
};

/** The port's queue settings, by key. */
export const portQueues = {
  vmqWeight: custom({
    check: vmqWeight,
    schema: { type: 'integer', minimum: 0, maximum: kMaxVmqWeight },
    kind: 'int',
    help: 'VMQ: 0 = no queue of its own (default 100)',
    default: kMaxVmqWeight,
    example: 50,
    cli: { flag: 'vmq-weight', value: '0-100' },
  }),
  rss: bool({
    help: "vRSS: spread the port's queue over the workers",
    default: false,
    example: true,
    cli: { flag: 'rss', value: 'on|off' },
  }),
};
