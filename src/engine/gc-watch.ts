/**
 * Garbage collections of a datapath thread's V8 heap, counted into its counter block (gcMinor, gcMajor,
 * gcPauseUs, gcMaxPauseUs): a GC pause is a pause of the datapath, and on a steady switch there should be
 * none at all (nothing on the frame path allocates). perf_hooks reports each GC after it ends as a
 * PerformanceEntry; the observer's callback runs on the thread's event loop, between wakes, never inside
 * a breath. Its cost is per GC (one entry object), nothing per frame.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Counters } from '../dataplane/counters.js';
import { engineCounters } from './counter-layout.js';

/** A pause longer than this is counted apart (gcLongPauses): 1 ms is the bound on a datapath stall. */
const kLongPauseUs = 1000;

/** Start counting this thread's GCs into `counters`; returns the observer (disconnect() stops it). */
export function watchGc(counters: Counters): PerformanceObserver {
  const c = counters.c;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) c[engineCounters.gcMajor]++;
      else c[engineCounters.gcMinor]++;
      const us = Math.round(e.duration * 1000);
      c[engineCounters.gcPauseUs] += us;
      if (us > c[engineCounters.gcMaxPauseUs]) c[engineCounters.gcMaxPauseUs] = us;
      if (us > kLongPauseUs) c[engineCounters.gcLongPauses]++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return obs;
}
