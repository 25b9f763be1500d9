/**
 * The switch clock (the undici timers idea): a coarse time read once per breath and shared by every node
 * (MAC aging, token buckets, flow timeouts), so no node calls the OS clock per packet, and tests can
 * drive time forward without sleeping. performance.now() returns a fresh heap number per call (garbage per
 * breath on a datapath that otherwise allocates nothing); a thread with a non-allocating source (the TAP
 * addon's `now`, installed by engine/worker.ts as `clockSource`) reads that instead.
 */

/** Writes the monotonic time in ms into out[0] without allocating; null: performance.now(). */
export let clockSource: ((out: Float64Array) => void) | null = null;
const clockOut = new Float64Array(1);

export function setClockSource(source: ((out: Float64Array) => void) | null): void {
  clockSource = source;
}

/** The OS clock in milliseconds from this thread's source (every datapath worker the same one). */
export function readClockMs(): number {
  if (clockSource === null) return performance.now();
  clockSource(clockOut);
  return clockOut[0];
}

export class Clock {
  /** Milliseconds since an arbitrary origin; updated by `tick()`. */
  nowMs = 0;
  /** Whole seconds, for tables that store ages in 32 bits. */
  nowSec = 0;
  private readonly manual: boolean;
  constructor(manual = false) {
    this.manual = manual;
    if (!manual) this.tick();
  }
  /** Read the OS clock once (no-op for a manual clock). */
  tick(): void {
    if (this.manual) return;
    this.nowMs = readClockMs();
    this.nowSec = Math.floor(this.nowMs / 1000);
  }
  /** Tests: move a manual clock forward. */
  advance(ms: number): void {
    this.nowMs += ms;
    this.nowSec = Math.floor(this.nowMs / 1000);
  }
}
