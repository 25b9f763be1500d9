/**
 * When to stop restarting a datapath that keeps failing. One fault is a bug the switch survives (its
 * workers are replaced); a fault that comes back at once is a bug the switch cannot survive, and a
 * process that keeps restarting threads forever hides it. So the runtime counts faults in a sliding
 * window and gives up at the limit, leaving the restart to the supervisor (systemd Restart=), which
 * starts a clean process and has its own rate limit (StartLimitBurst) and log.
 */

/** 5 faults in 60 s: a restart takes well under a second, so 5 in a minute is a loop, not bad luck. */
export const kMaxFaults = 5;
export const kFaultWindowMs = 60_000;

export class FaultWindow {
  private readonly times: number[] = [];

  constructor(
    readonly limit = kMaxFaults,
    readonly windowMs = kFaultWindowMs,
  ) {}

  /** Record a fault at `now` (ms); returns the count when it reaches the limit within the window, else null. */
  add(now: number): number | null {
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0]! > this.windowMs) this.times.shift();
    return this.times.length >= this.limit ? this.times.length : null;
  }
}
