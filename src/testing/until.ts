/**
 * until(): poll a condition in a test until it holds, or fail naming what was awaited. For endpoints whose
 * effects arrive on real sockets (ports/stream.test.ts, ports/dgram.test.ts), where no single event says
 * "done" (a frame may come in several chunks, a link event after a close).
 *
 * Trade-off: polling rather than an event costs up to one poll interval of latency per wait, and keeps the
 * code under test free of test-only hooks.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Poll interval: adds at most 5 ms to each wait, at ~200 cheap wake-ups a second while one is pending. */
const kPollMs = 5;
/** Default limit: far above any loopback exchange, short enough that a hung test fails within its file. */
const kDefaultMs = 5000;

/** Resolves once `cond()` is true (it may be async, e.g. a CLI or API answer); rejects with "timed out
 *  waiting for <what>" after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = kDefaultMs): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(kPollMs);
  }
}
