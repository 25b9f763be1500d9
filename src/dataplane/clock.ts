/**
 * The switch clock (the undici timers idea): a coarse time read once per breath and shared by every node
 * (MAC aging, token buckets, flow timeouts), so no node calls the OS clock per packet, and tests can
 * drive time forward without sleeping.
 */
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
    this.nowMs = performance.now();
    this.nowSec = Math.floor(this.nowMs / 1000);
  }
  /** Tests: move a manual clock forward. */
  advance(ms: number): void {
    this.nowMs += ms;
    this.nowSec = Math.floor(this.nowMs / 1000);
  }
}
