/**
 * Interrupt moderation: when a queue's notification ("interrupt vector") wakes its worker
 * (docs/queues.md).
 *
 * Why: waking a worker costs far more than handing it one more packet (a futex wake and a context switch,
 * tens of microseconds on the 2-core machines here), so a busy queue should wake it once per batch, not
 * once per packet. The price is latency: a packet may wait for its batch. The rule bounds that wait:
 * signal after N packets or T microseconds since the first unsignalled packet, whichever comes first.
 *
 * Design notes: README.md in this folder, section "moderation.ts".
 */

export type PresetName = 'off' | 'low' | 'medium' | 'high';
export type ModerationMode = PresetName | 'adaptive';

export interface Preset {
  /** Signal when this many packets are unsignalled (>= 1). */
  readonly packets: number;
  /** Signal when the first unsignalled packet is this old, microseconds (>= 0). */
  readonly timeUs: number;
}

export const kPresets: Readonly<Record<PresetName, Preset>> = Object.freeze({
  off: Object.freeze({ packets: 1, timeUs: 0 }),
  low: Object.freeze({ packets: 4, timeUs: 25 }),
  medium: Object.freeze({ packets: 16, timeUs: 100 }),
  high: Object.freeze({ packets: 64, timeUs: 250 }),
});

/** Presets in the order adaptive mode climbs them. */
const kLadder: readonly PresetName[] = ['off', 'low', 'medium', 'high'];

/** 1 ms: a few hundred packets at the rates where moderation matters, and reacts within a few ms. */
export const kAdaptWindowUs = 1000;
/** 20k wakeups/s at ~20 us each is at most 40% of one core spent waking up: the budget adaptive keeps to. */
export const kTargetSignalsPerSec = 20_000;

/** Either a mode name or explicit N/T. */
export type ModerationSettings = { mode: ModerationMode } | { packets: number; timeUs: number };

function validPreset(p: { packets: number; timeUs: number }): Preset {
  if (!Number.isInteger(p.packets) || p.packets < 1)
    throw new RangeError(`moderation: packets (N) must be an integer >= 1, got ${p.packets}`);
  if (typeof p.timeUs !== 'number' || !(p.timeUs >= 0) || !Number.isFinite(p.timeUs))
    throw new RangeError(`moderation: timeUs (T) must be a finite number >= 0, got ${p.timeUs}`);
  return { packets: p.packets, timeUs: p.timeUs };
}

export class Moderator {
  readonly adaptive: boolean;
  /** Current N and T (change under adaptive mode). */
  packets: number;
  timeUs: number;
  /** Current preset name; 'custom' for explicit N/T. */
  preset: PresetName | 'custom';
  /** Counters. */
  signals = 0;
  packetsSeen = 0;
  presetSwitches = 0;

  private pending = 0;
  private firstPendingUs = 0;
  private windowStartUs = NaN; // NaN: no window yet (set by the first packet)
  private windowPackets = 0;

  constructor(settings: ModerationSettings) {
    if (settings === null || typeof settings !== 'object')
      throw new TypeError('moderation: settings must be an object');
    if ('mode' in settings) {
      const m = settings.mode;
      if (m === 'adaptive') {
        this.adaptive = true;
        this.preset = 'off';
      } else if (typeof m === 'string' && Object.hasOwn(kPresets, m)) {
        this.adaptive = false;
        this.preset = m;
      } else {
        throw new RangeError(
          `moderation: unknown mode ${JSON.stringify(m)}; expected one of off, low, medium, high, adaptive`,
        );
      }
      const p = kPresets[this.preset as PresetName];
      this.packets = p.packets;
      this.timeUs = p.timeUs;
    } else {
      const p = validPreset(settings);
      this.adaptive = false;
      this.preset = 'custom';
      this.packets = p.packets;
      this.timeUs = p.timeUs;
    }
  }

  /** Packets waiting for a signal. */
  get unsignalled(): number {
    return this.pending;
  }

  /** A packet arrived on a queue of this vector. True: signal the worker now (the batch is handed over). */
  onPacket(nowUs: number): boolean {
    this.packetsSeen++;
    if (this.adaptive) this.adapt(nowUs, 1);
    if (this.pending++ === 0) this.firstPendingUs = nowUs;
    if (this.pending >= this.packets || nowUs - this.firstPendingUs >= this.timeUs) return this.fire();
    return false;
  }

  /** The timer went off (or a poll). True: the oldest unsignalled packet reached T, signal now. */
  onTimer(nowUs: number): boolean {
    if (this.adaptive) this.adapt(nowUs, 0);
    if (this.pending > 0 && (nowUs - this.firstPendingUs >= this.timeUs || this.pending >= this.packets))
      return this.fire();
    return false;
  }

  /** When onTimer must next be called (microseconds); Infinity when nothing is pending. */
  nextDeadline(): number {
    return this.pending > 0 ? this.firstPendingUs + this.timeUs : Infinity;
  }

  private fire(): boolean {
    this.pending = 0;
    this.signals++;
    return true;
  }

  /** Adaptive: close the rate window when it is over and pick the preset for the next one. */
  private adapt(nowUs: number, arriving: number): void {
    if (Number.isNaN(this.windowStartUs)) {
      this.windowStartUs = nowUs;
      this.windowPackets = arriving;
      return;
    }
    const elapsed = nowUs - this.windowStartUs;
    if (elapsed >= kAdaptWindowUs) {
      const ratePerSec = (this.windowPackets * 1e6) / elapsed;
      let i = 0;
      while (i < kLadder.length - 1 && ratePerSec > kTargetSignalsPerSec * kPresets[kLadder[i]!].packets) i++;
      const name = kLadder[i]!;
      if (name !== this.preset) {
        this.preset = name;
        this.packets = kPresets[name].packets;
        this.timeUs = kPresets[name].timeUs;
        this.presetSwitches++;
      }
      this.windowStartUs = nowUs;
      this.windowPackets = 0;
    }
    this.windowPackets += arriving;
  }
}

/**
 * The vector table: queue -> worker, one Moderator per worker. Queues on one worker share its Moderator
 * (interrupt coalescing); remap() is interrupt remapping.
 */
export class VectorTable {
  readonly vectorOf: Int32Array;
  readonly moderators: readonly Moderator[];

  constructor(queueCount: number, workerCount: number, settings: ModerationSettings, homeWorker = 0) {
    if (!Number.isInteger(queueCount) || queueCount < 1)
      throw new RangeError(`moderation: queueCount must be an integer >= 1, got ${queueCount}`);
    if (!Number.isInteger(workerCount) || workerCount < 1)
      throw new RangeError(`moderation: workerCount must be an integer >= 1, got ${workerCount}`);
    if (!Number.isInteger(homeWorker) || homeWorker < 0 || homeWorker >= workerCount)
      throw new RangeError(`moderation: homeWorker must be an integer in [0, ${workerCount}), got ${homeWorker}`);
    this.vectorOf = new Int32Array(queueCount).fill(homeWorker);
    const mods: Moderator[] = [];
    for (let w = 0; w < workerCount; w++) mods.push(new Moderator(settings));
    this.moderators = mods;
  }

  /** A packet on `queue`: the worker to signal now, or -1. */
  onPacket(queue: number, nowUs: number): number {
    const w = this.vectorOf[queue]!;
    return this.moderators[w]!.onPacket(nowUs) ? w : -1;
  }

  /** Timer for `worker`'s vector: true = signal it now. */
  onTimer(worker: number, nowUs: number): boolean {
    return this.moderators[worker]!.onTimer(nowUs);
  }

  /** Move `queue`'s notifications to `worker` (the port and queue are untouched). */
  remap(queue: number, worker: number): void {
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.moderators.length)
      throw new RangeError(`moderation: worker must be an integer in [0, ${this.moderators.length}), got ${worker}`);
    this.vectorOf[queue] = worker;
  }
}
