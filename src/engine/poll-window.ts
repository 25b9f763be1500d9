/**
 * The poll window (the trade of Linux busy polling and of Hyper-V's interrupt moderation): after a wake
 * that switched frames, a worker keeps polling its own NICs and its rings until `windowUs` pass with
 * nothing new, then goes back to sleep in its event loop. What arrives meanwhile (the reply to the frame
 * just written, the rest of a burst, a hand-over from another worker) is taken without an epoll wake-up,
 * a call into JS from libuv, or a vCPU woken from idle. The price is up to windowUs of CPU after each
 * burst, and none while idle: a window opens only after work, so an idle switch never polls.
 *
 * Bounded: a window that keeps catching work still closes after kRunCap windows' time, so timers, control
 * requests and the NICs that cannot be polled (sockets: Node reads them) get their turn of the event loop.
 * Counted per worker: windows opened, windows that caught work, frames caught (`vswitch queues`).
 */
import { readClockMs } from '../dataplane/clock.js';
import type { Counters } from '../dataplane/counters.js';
import { engineCounters } from './counter-layout.js';

/** A window that keeps catching work closes after this many windows' time (so at most 4 x windowUs of
 *  event-loop delay): under steady load the worker alternates a capped window and one loop turn. */
export const kRunCap = 4;

/** What the window polls: the worker's readable NICs and its rings (each returns frames switched). */
export interface PollTarget {
  pollNics(): number;
  pollRings(): number;
}

export class PollWindow {
  /** 0: off (the default): a worker sleeps as soon as its wake is done. */
  windowUs = 0;
  private running = false;

  constructor(
    private readonly target: PollTarget,
    private readonly counters: Counters,
  ) {}

  /** Called when a wake has switched frames; returns at once when off or already inside a window. */
  afterWork(): void {
    if (this.windowUs <= 0 || this.running) return;
    this.running = true;
    const c = this.counters.c;
    const windowMs = this.windowUs / 1000;
    const start = readClockMs();
    const end = start + windowMs * kRunCap;
    let last = start;
    let caught = 0;
    c[engineCounters.pollWindows]++;
    for (;;) {
      const n = this.target.pollNics() + this.target.pollRings();
      const now = readClockMs();
      if (n > 0) {
        caught += n;
        last = now;
      } else if (now - last >= windowMs) break;
      if (now >= end) break;
    }
    if (caught > 0) {
      c[engineCounters.pollWindowCatches]++;
      c[engineCounters.pollWindowFrames] += caught;
    }
    this.running = false;
  }
}
