/**
 * ReadyWaiters: the promises behind a socket NIC's `ready()` (stream.ts, dgram.ts), kept until the NIC
 * settles them all at once: resolved when its endpoint becomes usable, rejected when setting it up fails or
 * the NIC is closed first.
 *
 * Why: both socket NICs come up asynchronously (a 'listening' or 'connect' event) and the control plane and
 * tests must wait for that before they read a bound port or start QEMU. The condition differs per NIC, so
 * each keeps its own fast path (already closed, already up); what they share, the list of waiters and
 * settling it once, lives here. Control path only: one closure per waiting caller, none per frame.
 */

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class ReadyWaiters {
  private waiters: Waiter[] = [];

  /** A promise that the next settle() resolves or rejects. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Resolve (err null) or reject every promise from wait() so far; later wait() calls join the next round. */
  settle(err: Error | null): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) {
      if (err) x.reject(err);
      else x.resolve();
    }
  }
}
