/**
 * Wake benchmark: what one uv_poll wake costs from libuv to the JS callback and back, through the TAP
 * addon's own `poll` (native/tap.c on_poll), with no kernel I/O in between. A FIFO holding one unread byte
 * stays readable, so the level-triggered watcher fires on every loop turn: callbacks per second is the
 * inverse of one loop turn (epoll_wait that returns at once + the N-API call into JS + the callback).
 *
 *   node dist/bench/wake.js [--ms 1000] [--rounds 5] [--addon A.node --addon B.node ...]
 *
 * With several `--addon` builds (e.g. the tree before and after a change to on_poll) each round measures
 * every build in turn, order rotating, so the ratio holds on a busy machine; the default is the built addon.
 * Trade-off: an empty callback measures the fixed cost only; the cache misses of a real breath after an idle
 * period are what the ping benchmark (bench/run.ts, --metrics ping) sees instead.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, constants as fsc } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './median.js';
import type { TapAddon } from '../ports/tap-native.js';

export interface WakeResult {
  addon: string;
  /** ns per wake, per round */
  rounds: number[];
  medianNs: number;
}

function load(path: string): TapAddon {
  return createRequire(import.meta.url)(resolve(path)) as TapAddon;
}

/** Wakes in `ms` milliseconds on a FIFO that never drains; resolves with ns per wake. */
function measure(addon: TapAddon, fd: number, ms: number): Promise<number> {
  return new Promise((res) => {
    let n = 0;
    const t0 = performance.now();
    const id = addon.poll(fd, () => {
      n++;
    });
    setTimeout(() => {
      addon.unpoll(id);
      res(((performance.now() - t0) * 1e6) / n);
    }, ms);
  });
}

export async function compareWakes(addons: string[], ms: number, rounds: number): Promise<WakeResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-wake-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // O_RDWR on a FIFO (Linux): no peer needed; one byte written and never read keeps it readable
  const fd = openSync(fifo, fsc.O_RDWR | fsc.O_NONBLOCK);
  writeSync(fd, Buffer.from([1]));
  const loaded = addons.map(load);
  const out: WakeResult[] = addons.map((a) => ({ addon: a, rounds: [], medianNs: 0 }));
  try {
    for (let i = 0; i < loaded.length; i++) await measure(loaded[i]!, fd, Math.min(ms, 200)); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < loaded.length; k++) {
        const i = (k + r) % loaded.length;
        out[i]!.rounds.push(await measure(loaded[i]!, fd, ms));
      }
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const o of out) o.medianNs = median(o.rounds);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ms: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '5' },
      addon: { type: 'string', multiple: true },
    },
  });
  const addons = values.addon ?? [new URL('../../build/Release/vswitch_tap.node', import.meta.url).pathname];
  const res = await compareWakes(addons, Number(values.ms), Number(values.rounds));
  for (const r of res)
    console.log(`${r.addon}: ${r.medianNs.toFixed(0)} ns/wake (rounds ${r.rounds.map((x) => x.toFixed(0)).join(' ')})`);
  if (res.length > 1) console.log(`ratio last/first: ${(res[res.length - 1]!.medianNs / res[0]!.medianNs).toFixed(3)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
