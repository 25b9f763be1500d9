/**
 * The shapes of the datapath's spread over workers (docs/queues.md): Dynamic VMQ and interrupt
 * moderation settings, what a switch reports about its queues and workers, and the defaults a switch
 * gets. The runtime (runtime/queue-control.ts) takes and reports these; control/ validates input into them.
 */
import { availableParallelism } from 'node:os';
import { kDvmqDefaults } from './dvmq.js';
import { kMaxWorkers } from './queue-tables.js';

/** Dynamic VMQ settings (queues/dvmq.ts; defaults are its kDvmqDefaults). Loads are fractions of one worker's capacity. */
export interface DvmqConfig {
  /** false: every queue stays where it is (the home worker, or where `vswitch queue move` put it). Default true. */
  enabled?: boolean;
  /** A worker busier than this hands a queue to another worker (spread). In (0, 1], default 0.8. */
  upperThreshold?: number;
  /** A worker less busy than this hands its queues back (coalesce). In (0, upperThreshold), default 0.2. */
  lowerThreshold?: number;
  /** How often load is sampled and queues re-decided, ms. 10-60000, default 100. */
  samplePeriodMs?: number;
  /** A queue that moved stays put at least this long, ms (hysteresis). 0-3600000, default 1000. */
  minMoveIntervalMs?: number;
}

/** Moderation presets (queues/moderation.ts): off 1 frame/0 us, low 4/25 us, medium 16/100 us, high 64/250 us;
 *  adaptive picks one from the measured rate. */
export type ModerationPreset = 'off' | 'low' | 'medium' | 'high' | 'adaptive';

/** Interrupt moderation: a preset, or wake the worker after `packets` frames or `timeUs` microseconds
 *  since the first unsignalled frame, whichever comes first (packets 1-4096, timeUs 0-100000). */
export type ModerationConfig = ModerationPreset | { packets: number; timeUs: number };

/** One receive queue (GET /switches/:sw/queues). Queue 0 is the default queue (no filter, RSS-spread). */
export interface QueueStatus {
  queue: number;
  /** The port whose VMQ filter feeds it; null for queue 0 and for a free queue. */
  port: string | null;
  /** The filter: the port's MAC and VLAN. */
  filter: { mac: string; vlan: number } | null;
  /** The worker serving it, or 'rss' when the RSS table spreads it (queue 0, ports with rss: true). */
  worker: number | 'rss';
  frames: number;
  /** Load over the last sampling period, as a fraction of one worker (1 = one worker fully busy). */
  load: number;
  /** Times Dynamic VMQ (or a manual move) moved it. */
  moves: number;
}

export interface WorkerStatus {
  worker: number;
  frames: number;
  /** Load over the last sampling period, fraction of the worker (0-1). */
  load: number;
  /** Queues it serves (not counting its share of RSS-spread queues). */
  queues: number[];
  /** Times its notification woke it (after moderation). */
  signals: number;
  /** Frames it read and handed to another worker (the hops it caused). */
  handedOver: number;
  /** Poll windows it opened after a wake that did work, those that caught more work, and the frames
   *  they caught (engine/poll-window.ts; filled in by the runtime from the worker's counter block). */
  pollWindows?: number;
  pollWindowCatches?: number;
  pollWindowFrames?: number;
  /** Garbage collections of the worker's V8 heap since it started (engine/gc-watch.ts): minor, major, total
   *  pause, longest pause, pauses over 1 ms. */
  gc?: { minor: number; major: number; pauseUs: number; maxPauseUs: number; longPauses: number };
}

export interface VmqMove {
  time: string;
  queue: number;
  from: number;
  to: number;
  reason: 'spread' | 'coalesce' | 'manual' | 'retire';
}

/** GET /switches/:sw/queues: workers, queues, the RSS table and recent queue moves. */
export interface QueuesStatus {
  workers: WorkerStatus[];
  queues: QueueStatus[];
  rss: { size: number; entries: number[] };
  moves: { total: number; recent: VmqMove[] };
  dvmq: Required<DvmqConfig>;
  moderation: ModerationConfig;
  /** The switch's poll window, microseconds (0: off). */
  pollWindowUs?: number;
}

/** Runtime tuning of moderation and Dynamic VMQ (PATCH /switches/:sw/tuning): each part given is complete. */
export interface QueueTuning {
  /** Workers of a running switch: added, or retired from the last (runtime/switch-runtime.ts setWorkers). */
  workers?: number;
  moderation?: ModerationConfig;
  dvmq?: DvmqConfig;
  /** Poll window, microseconds (0: off). */
  pollWindowUs?: number;
}

/** 16: Hyper-V's typical VMQ count on a 10 GbE NIC; enough for a lab's VMs, few enough to list. */
export const kDefaultVmqQueues = 16;
/** NDIS's RSS limit (NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_1); queues/rss.ts kMaxIndirectionSize. */
export const kMaxRssTableSize = 128;
export const kDefaultRssTableSize = kMaxRssTableSize;

export const kDvmqDefaultConfig: Readonly<Required<DvmqConfig>> = Object.freeze({
  enabled: true,
  upperThreshold: kDvmqDefaults.upperThreshold,
  lowerThreshold: kDvmqDefaults.lowerThreshold,
  samplePeriodMs: kDvmqDefaults.samplePeriodMs,
  minMoveIntervalMs: kDvmqDefaults.minMoveIntervalMs,
});

/** The worker count a switch without `workers` gets: one per core the process may use, at most kMaxWorkers. */
export function defaultWorkers(): number {
  return Math.min(availableParallelism(), kMaxWorkers);
}
