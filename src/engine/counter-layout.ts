/**
 * Every counter row of the switch, loaded in one place: the engine's own (below) and each feature's
 * declaration file. Indices are fixed by the declarations themselves (dataplane/counters.ts), so this list
 * only makes sure a thread that reads the block (the control thread's CLI and API, a test) knows every
 * row's name, whatever else it imported.
 */
import { declareSwitchCounters } from '../dataplane/counters.js';
import '../dataplane/drops.js';
import '../offload/counters.js';
import '../policy/conntrack.js';
import '../policy/counters.js';
import '../ports/counters.js';
import '../switch/counters.js';
import '../switch/fdb.js';

/** The engine's own rows: its breaths, its poll windows (engine/poll-window.ts), and the garbage
 *  collections of its thread's V8 heap (engine/gc-watch.ts: a steady datapath should have none). */
export const engineCounters = declareSwitchCounters('engine', [
  [6, 'breaths', 'pipeline runs (batches)'],
  [7, 'frames', 'frames entering the pipeline'],
  [15, 'pollWindows', 'poll windows opened after a wake that switched frames'],
  [16, 'pollWindowCatches', 'poll windows that caught work before they closed'],
  [17, 'pollWindowFrames', 'frames switched inside poll windows'],
  [18, 'gcMinor', 'minor garbage collections (scavenges) of the worker heap'],
  [19, 'gcMajor', 'major garbage collections (mark-compact) of the worker heap'],
  [20, 'gcPauseUs', 'microseconds the worker thread spent paused in garbage collection'],
  [21, 'gcMaxPauseUs', 'longest single garbage collection pause of the worker, microseconds'],
  [22, 'gcLongPauses', 'garbage collection pauses of the worker longer than 1 ms'],
] as const);
