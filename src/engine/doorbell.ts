/**
 * Native doorbells for the datapath workers: a worker of a multi-worker switch sleeps until another thread
 * rings its doorbell word (queues/queue-tables.ts ring). With the TAP addon loaded, the ring also sends a
 * uv_async handle the worker registered on that word (native/tap.c bell/ring), and the worker's callback
 * runs on its loop like a TAP wake: no promise per wake. Atomics.waitAsync, the fallback when the addon is
 * not built, allocates a promise, its result object and an await reaction per wake: garbage that the
 * worker's V8 heap collects later, in pauses of the datapath (bench/gc.ts measures both).
 *
 * Every thread that rings (each worker, and the control thread for queue moves) installs the hook once.
 */
import { QueueTables } from '../queues/queue-tables.js';
import { loadTapAddon, tapAddonAvailable, type TapAddon } from '../ports/tap-native.js';

/** The addon with doorbells, after installing its `ring` in QueueTables; null when it is not built. */
export function nativeDoorbells(): TapAddon | null {
  if (!tapAddonAvailable()) return null;
  const addon = loadTapAddon();
  if (typeof addon.bell !== 'function') return null;
  QueueTables.onRing ??= (a, index) => addon.ring(a, index);
  return addon;
}
