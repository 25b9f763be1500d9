/**
 * Input validation for the datapath's spread over workers (docs/queues.md): worker count, VMQ queues,
 * the RSS indirection table, Dynamic VMQ thresholds and interrupt moderation, from the config file, the API
 * or the CLI (control/queue-args.ts). It sits beside validate.ts and keeps its style: each check is one `if`
 * with one message naming the field, what was wrong and what would be right; nothing reaches a running
 * switch unless it passes.
 *
 * Trade-offs: the datapath modules (queues/dvmq.ts, queues/moderation.ts, queues/rss.ts) check their own
 * inputs with RangeErrors; the checks here repeat those rules with field paths and tighter caps (a period of
 * an hour, 10 000 frames per interrupt) because a value that far out is a unit mistake, not a choice. Runtime
 * changes are merged here, against the running settings, so a cross-field rule (lower below upper) is
 * checked on what the switch would run, and the handle gets complete settings.
 */
import { kMaxWorkers } from '../queues/queue-tables.js';
import {
  defaultWorkers,
  kDefaultRssTableSize,
  kDefaultVmqQueues,
  kDvmqDefaultConfig,
  kMaxRssTableSize,
} from '../queues/queue-spec.js';
export { defaultWorkers, kDefaultRssTableSize, kDefaultVmqQueues, kDvmqDefaultConfig, kMaxRssTableSize };
import type { DvmqConfig, ModerationConfig, ModerationPreset, PortConfig, QueueTuning, SwitchConfig } from './model.js';
import { bool, ConfigError, fail, obj, onlyKeys, show } from './validate-helpers.js';

/** Workers: each is a thread with its own V8 isolate (tens of MB); 64 is past every host this runs on. */
export { kMaxWorkers };
/** VMQ queues besides queue 0: queue ids then fit a byte (0-255), as NDIS queue ids of one NIC do in practice. */
export const kMaxVmqQueues = 255;
/** Hyper-V VmqWeight range; 0 = no queue of its own. */
export const kMaxVmqWeight = 100;
/** Moderation caps: 4096 frames is 16 full breaths (dataplane kMaxBatch 256); 100 ms is a stall, not a batch. */
export const kMaxModerationPackets = 4096;
export const kMaxModerationTimeUs = 100_000;
/** Poll window cap: 1 ms of polling after each burst is already a core at a few hundred bursts/s; past
 *  that, a core per switch is what a dedicated poller (an OVS PMD) costs, which is not this setting. */
export const kMaxPollWindowUs = 1000;
export const kDefaultPollWindowUs = 0;
/** Sampling period: under 10 ms a sample sees a handful of batches (noise); over a minute DVMQ never reacts. */
export const kMinSamplePeriodMs = 10;
export const kMaxSamplePeriodMs = 60_000;
/** Hysteresis: an hour pins a queue in practice; a larger number is a unit mistake (seconds for ms). */
export const kMaxMinMoveIntervalMs = 3_600_000;

export const kModerationPresets = [
  'off',
  'low',
  'medium',
  'high',
  'adaptive',
] as const satisfies readonly ModerationPreset[];
export const kDefaultModeration: ModerationConfig = 'off';

/** The switch keys this file validates (switchConfig's list of known keys includes them). */
export const kSwitchQueueKeys = ['workers', 'vmqQueues', 'rssTableSize', 'dvmq', 'moderation', 'pollWindowUs'] as const;
export const kPortQueueKeys = ['vmqWeight', 'rss'] as const;
const kDvmqKeys = ['enabled', 'upperThreshold', 'lowerThreshold', 'samplePeriodMs', 'minMoveIntervalMs'] as const;

/** A switch's queue settings with every default filled in (what the datapath runs). */
export interface QueueSettings {
  workers: number;
  vmqQueues: number;
  rssTableSize: number;
  dvmq: Required<DvmqConfig>;
  moderation: ModerationConfig;
  pollWindowUs: number;
}

export function queueSettings(cfg: SwitchConfig): QueueSettings {
  return {
    workers: cfg.workers ?? defaultWorkers(),
    vmqQueues: cfg.vmqQueues ?? kDefaultVmqQueues,
    rssTableSize: cfg.rssTableSize ?? kDefaultRssTableSize,
    dvmq: { ...kDvmqDefaultConfig, ...cfg.dvmq },
    moderation: cfg.moderation ?? kDefaultModeration,
    pollWindowUs: cfg.pollWindowUs ?? kDefaultPollWindowUs,
  };
}

/** show(), but NaN and Infinity as themselves (JSON spells them null). */
const shown = (v: unknown) => (typeof v === 'number' ? String(v) : show(v));

/** An integer in [min, max]; `what` describes the legal values in the messages ("use an integer from 1 to 64"). */
function count(v: unknown, field: string, min: number, max: number, what = `an integer from ${min} to ${max}`): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `must be ${what}, got ${shown(v)}`);
  if (!Number.isInteger(v)) fail(field, `${v} is not a whole number; use ${what}`);
  if ((v as number) < min || (v as number) > max) fail(field, `${v} is out of range; use ${what}`);
  return v as number;
}

/** A finite number; the range rule is the caller's (thresholds are open at one end). */
function finite(v: unknown, field: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `must be ${what}, got ${shown(v)}`);
  return v as number;
}

export function workerCount(v: unknown, field: string): number {
  return count(v, field, 1, kMaxWorkers);
}

/** Microseconds a worker keeps polling after a wake that did work (engine/poll-window.ts); 0 = off. */
export function pollWindowUs(v: unknown, field: string): number {
  return count(v, field, 0, kMaxPollWindowUs, `microseconds from 0 (off) to ${kMaxPollWindowUs}`);
}

export function rssTableSize(v: unknown, field: string): number {
  const what = `a power of two from 1 to ${kMaxRssTableSize}`;
  const n = count(v, field, 1, kMaxRssTableSize, what);
  if ((n & (n - 1)) !== 0) fail(field, `${n} is not a power of two; use 1, 2, 4, ... ${kMaxRssTableSize}`);
  return n;
}

export function vmqQueues(v: unknown, field: string): number {
  return count(v, field, 0, kMaxVmqQueues);
}

export function vmqWeight(v: unknown, field: string): number {
  return count(v, field, 0, kMaxVmqWeight, `an integer from 0 (no VMQ queue) to ${kMaxVmqWeight}`);
}

/** A port's rss needs a queue of its own (vmqWeight above 0). */
export function rssNeedsQueue(p: { rss?: boolean; vmqWeight?: number }, path: string): void {
  if (p.rss && p.vmqWeight === 0)
    fail(
      `${path}.rss`,
      'a port with vmqWeight 0 has no queue of its own to spread (its frames use queue 0, which RSS always spreads); drop rss or give vmqWeight 1-100',
    );
}

/**
 * The queue keys of a switch object (config file, API body): workers, vmqQueues, rssTableSize, dvmq,
 * moderation. Returns only the keys given, validated; other keys are switchConfig's business.
 */
export function validateSwitchQueues(
  cfg: unknown,
  path: string,
): Pick<SwitchConfig, (typeof kSwitchQueueKeys)[number]> {
  const o = obj(cfg, path);
  const out: Pick<SwitchConfig, (typeof kSwitchQueueKeys)[number]> = {};
  if (o.workers !== undefined) out.workers = workerCount(o.workers, `${path}.workers`);
  if (o.vmqQueues !== undefined) out.vmqQueues = vmqQueues(o.vmqQueues, `${path}.vmqQueues`);
  if (o.rssTableSize !== undefined) out.rssTableSize = rssTableSize(o.rssTableSize, `${path}.rssTableSize`);
  if (o.dvmq !== undefined) out.dvmq = dvmqConfig(o.dvmq, `${path}.dvmq`);
  if (o.moderation !== undefined) out.moderation = moderationConfig(o.moderation, `${path}.moderation`);
  if (o.pollWindowUs !== undefined) out.pollWindowUs = pollWindowUs(o.pollWindowUs, `${path}.pollWindowUs`);
  return out;
}

/** The queue keys of a port object: vmqWeight (0-100) and rss. Returns only the keys given, validated. */
export function validatePortQueues(cfg: unknown, path: string): Pick<PortConfig, (typeof kPortQueueKeys)[number]> {
  const o = obj(cfg, path);
  const out: Pick<PortConfig, (typeof kPortQueueKeys)[number]> = {};
  if (o.vmqWeight !== undefined) out.vmqWeight = vmqWeight(o.vmqWeight, `${path}.vmqWeight`);
  if (o.rss !== undefined) out.rss = bool(o.rss, `${path}.rss`);
  rssNeedsQueue(out, path);
  return out;
}

/**
 * Dynamic VMQ settings: returns only the keys given, validated. `base` holds the values the keys not given
 * will have (the defaults at creation, the running values for a runtime change), so lower < upper is
 * checked against what the switch would run; `baseIs` says which in the message.
 */
export function dvmqConfig(
  v: unknown,
  field: string,
  base: Required<DvmqConfig> = kDvmqDefaultConfig,
  baseIs = 'the default',
): DvmqConfig {
  const o = obj(v, field);
  onlyKeys(o, field, kDvmqKeys);
  const out: DvmqConfig = {};
  if (o.enabled !== undefined) out.enabled = bool(o.enabled, `${field}.enabled`);
  if (o.upperThreshold !== undefined) {
    const f = `${field}.upperThreshold`;
    const u = finite(o.upperThreshold, f, 'a number above 0 and at most 1 (a share of one worker, like 0.8)');
    if (u <= 0 || u > 1)
      fail(f, `${u} is out of range; use a number above 0 and at most 1 (a share of one worker, like 0.8)`);
    out.upperThreshold = u;
  }
  if (o.lowerThreshold !== undefined) {
    const f = `${field}.lowerThreshold`;
    const l = finite(
      o.lowerThreshold,
      f,
      'a number above 0 and below upperThreshold (a share of one worker, like 0.2)',
    );
    if (l <= 0)
      fail(f, `${l} is out of range; use a number above 0 and below upperThreshold (a share of one worker, like 0.2)`);
    out.lowerThreshold = l;
  }
  const upper = out.upperThreshold ?? base.upperThreshold;
  const lower = out.lowerThreshold ?? base.lowerThreshold;
  if (lower >= upper) {
    if (out.lowerThreshold !== undefined)
      fail(
        `${field}.lowerThreshold`,
        `${lower} must be below upperThreshold ${upper}${out.upperThreshold === undefined ? ` (${baseIs})` : ''}; lower it or raise upperThreshold`,
      );
    fail(
      `${field}.upperThreshold`,
      `${upper} must be above lowerThreshold ${lower} (${baseIs}); raise it or lower lowerThreshold in the same change`,
    );
  }
  if (o.samplePeriodMs !== undefined) {
    const f = `${field}.samplePeriodMs`;
    const what = `milliseconds from ${kMinSamplePeriodMs} to ${kMaxSamplePeriodMs}`;
    const p = finite(o.samplePeriodMs, f, what);
    if (p < kMinSamplePeriodMs || p > kMaxSamplePeriodMs) fail(f, `${p} is out of range; use ${what}`);
    out.samplePeriodMs = p;
  }
  if (o.minMoveIntervalMs !== undefined) {
    const f = `${field}.minMoveIntervalMs`;
    const what = `milliseconds from 0 to ${kMaxMinMoveIntervalMs}`;
    const m = finite(o.minMoveIntervalMs, f, what);
    if (m < 0 || m > kMaxMinMoveIntervalMs) fail(f, `${m} is out of range; use ${what}`);
    out.minMoveIntervalMs = m;
  }
  return out;
}

const kModerationHint = `${kModerationPresets.join(', ')}, or {"packets": N, "timeUs": T} (wake the worker after N frames or T microseconds)`;

function moderationPackets(v: unknown, field: string): number {
  return count(v, field, 1, kMaxModerationPackets, `a frame count from 1 to ${kMaxModerationPackets}`);
}

function moderationTimeUs(v: unknown, field: string): number {
  const what = `microseconds from 0 to ${kMaxModerationTimeUs}`;
  const t = finite(v, field, what);
  if (t < 0 || t > kMaxModerationTimeUs) fail(field, `${t} is out of range; use ${what}`);
  return t;
}

/** A preset name or {packets, timeUs}. */
export function moderationConfig(v: unknown, field: string): ModerationConfig {
  if (typeof v === 'string') {
    if (!(kModerationPresets as readonly string[]).includes(v))
      fail(field, `${show(v)} is not a moderation mode; use ${kModerationHint}`);
    return v as ModerationPreset;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail(field, `must be one of ${kModerationHint}, got ${show(v)}`);
  const o = v as Record<string, unknown>;
  onlyKeys(o, field, ['packets', 'timeUs']);
  if (o.packets === undefined || o.timeUs === undefined)
    fail(field, `needs both packets and timeUs, got ${show(v)}; e.g. {"packets": 16, "timeUs": 100}`);
  return {
    packets: moderationPackets(o.packets, `${field}.packets`),
    timeUs: moderationTimeUs(o.timeUs, `${field}.timeUs`),
  };
}

/**
 * The CLI spelling: a preset name (any case) or "N/T" with T in microseconds and an optional "us":
 * "16/100", "64/250us".
 */
export function parseModeration(text: string, field = '--moderation'): ModerationConfig {
  const t = text.trim().toLowerCase();
  if ((kModerationPresets as readonly string[]).includes(t)) return t as ModerationPreset;
  const m = /^(\d+)\/(\d+(?:\.\d+)?) ?(?:us)?$/.exec(t);
  if (!m)
    fail(
      field,
      `'${text}' is not a moderation setting; use ${kModerationPresets.join(', ')}, or N/T to wake the worker after N frames or T microseconds, like 16/100`,
    );
  try {
    return { packets: moderationPackets(Number(m[1]), field), timeUs: moderationTimeUs(Number(m[2]), field) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const which = err.message.includes('frame count') ? `N (frames) in '${text}'` : `T (microseconds) in '${text}'`;
    throw new ConfigError(field, `${which}: ${err.message.slice(field.length + 2)}`);
  }
}

/**
 * A whole RSS indirection table: `size` worker indices, each in [0, workers). A table is replaced whole,
 * so a rewrite can never leave a bucket pointing at a worker the switch does not have.
 */
export function validateRssTable(entries: unknown, size: number, workers: number, path: string): number[] {
  if (!Array.isArray(entries))
    fail(
      path,
      `must be a list of ${size} worker indices (one per RSS table entry, each 0 to ${workers - 1}), got ${show(entries)}`,
    );
  if (entries.length !== size)
    fail(
      path,
      `has ${entries.length} entries; this switch's RSS table has ${size}, so give exactly ${size} worker indices`,
    );
  return entries.map((w, i) =>
    count(
      w,
      `${path}[${i}]`,
      0,
      workers - 1,
      `a worker index from 0 to ${workers - 1} (this switch has ${workers} worker${workers === 1 ? '' : 's'})`,
    ),
  );
}

/**
 * A manual queue move: the queue is one the switch has in use (`inUse`: the default queue 0 and the VMQ
 * queues given to ports, not necessarily contiguous) and the worker exists (`workers` of them).
 */
export function queueMove(
  queue: unknown,
  worker: unknown,
  inUse: readonly number[],
  workers: number,
): { queue: number; worker: number } {
  const max = Math.max(...inUse);
  const q = count(queue, 'queue', 0, max, `a queue in use: ${inUse.join(', ')} (queue 0 is the default queue)`);
  if (!inUse.includes(q))
    fail(
      'queue',
      `${q} is not in use (no port has it); use a queue in use: ${inUse.join(', ')} (queue 0 is the default queue)`,
    );
  return {
    queue: q,
    worker: count(
      worker,
      'worker',
      0,
      workers - 1,
      `a worker index from 0 to ${workers - 1} (this switch has ${workers} worker${workers === 1 ? '' : 's'})`,
    ),
  };
}

/**
 * A runtime tuning request (PATCH /switches/:sw/tuning) merged with the running settings: `moderation`
 * replaces (null = the default, off); `dvmq` merges key by key (null = that key's default; dvmq: null = all
 * defaults). Returns complete settings for each part given, ready for the handle and for `config show`.
 */
export function tuningRequest(
  body: unknown,
  running: QueueSettings,
  field = 'tuning',
): QueueTuning & { dvmq?: Required<DvmqConfig> } {
  const o = obj(body, field);
  onlyKeys(o, field, ['workers', 'moderation', 'dvmq', 'pollWindowUs']);
  if (o.workers === undefined && o.moderation === undefined && o.dvmq === undefined && o.pollWindowUs === undefined)
    fail(field, 'nothing to change; give workers, moderation, dvmq and/or pollWindowUs');
  const out: QueueTuning & { dvmq?: Required<DvmqConfig> } = {};
  if (o.pollWindowUs !== undefined)
    out.pollWindowUs =
      o.pollWindowUs === null ? kDefaultPollWindowUs : pollWindowUs(o.pollWindowUs, `${field}.pollWindowUs`);
  if (o.workers !== undefined)
    out.workers = o.workers === null ? defaultWorkers() : workerCount(o.workers, `${field}.workers`);
  if (o.moderation !== undefined)
    out.moderation = o.moderation === null ? kDefaultModeration : moderationConfig(o.moderation, `${field}.moderation`);
  if (o.dvmq === null) out.dvmq = { ...kDvmqDefaultConfig };
  else if (o.dvmq !== undefined) {
    const given = obj(o.dvmq, `${field}.dvmq`);
    // null resets one key: it takes the default, and counts as given for the lower < upper check
    const raw = Object.fromEntries(
      Object.entries(given).map(([k, x]) => [
        k,
        x === null && k in kDvmqDefaultConfig ? kDvmqDefaultConfig[k as keyof DvmqConfig] : x,
      ]),
    );
    out.dvmq = { ...running.dvmq, ...dvmqConfig(raw, `${field}.dvmq`, running.dvmq, 'the current value') };
  }
  return out;
}
