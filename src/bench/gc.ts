/**
 * GC benchmark: garbage collections and their pauses per datapath worker, with the switch idle, under
 * light load (a ping every 10 ms) and under heavy load (iperf3 TCP), for each poll window given; plus what
 * the idle switch costs in CPU and the ping RTT in the same run. A steady datapath should not allocate, so
 * its workers should show no GC at all; a pause is a pause of every frame on that worker.
 *
 *   node dist/bench/gc.js [--seconds 10] [--rounds 1] [--workers 2] [--poll-window 0,200] [--out FILE]
 *
 * Setup (root; namespaces with a per-run prefix, removed at the end): the daemon's SwitchRuntime in this
 * process (real worker threads), two TAP hosts. The GC counts come from each worker's own counter block
 * (engine/gc-watch.ts: a PerformanceObserver on the worker's isolate), read as deltas over each phase.
 * Idle CPU is this whole process (main thread idle in a timer, the workers, libuv) over the idle phase,
 * from /proc/PID/stat. Each (round, window) case builds a fresh switch and warms it up (untimed ping
 * flood and TCP) first, so start-up GCs are not counted.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { engineCounters } from '../engine/counter-layout.js';
import { SwitchRuntime } from '../runtime/switch-runtime.js';
import { NetnsLab, netnsSkipReason } from '../testing/netns.js';
import { iperfTcp, pingRtt, processCpuSeconds, warmUp, warmUpTraffic, Window } from './measure.js';
import type { BenchHost } from './peers.js';

export interface GcPhase {
  /** Per worker over the phase: minor and major GCs, their total pause (us), pauses over 1 ms, and the
   *  worker's longest pause so far when it moved during the phase (else 0: the counter keeps a maximum). */
  workers: Array<{ minor: number; major: number; pauseUs: number; longPauses: number; maxPauseUs: number }>;
  seconds: number;
}

export interface GcBenchRow {
  bench: 'gc';
  round: number;
  workers: number;
  pollWindowUs: number;
  idle: GcPhase & { cores: number };
  light: GcPhase & { p50Us: number; p99Us: number; maxUs: number; received: number };
  heavy: GcPhase & { gbps: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Snap = Array<{ minor: number; major: number; pauseUs: number; maxPauseUs: number; longPauses: number }>;

function snap(h: SwitchRuntime): Snap {
  return h.workerBlocks.map((b) => ({
    minor: b.c[engineCounters.gcMinor],
    major: b.c[engineCounters.gcMajor],
    pauseUs: b.c[engineCounters.gcPauseUs],
    maxPauseUs: b.c[engineCounters.gcMaxPauseUs],
    longPauses: b.c[engineCounters.gcLongPauses],
  }));
}

/** GCs between two snapshots. */
function delta(a: Snap, b: Snap, seconds: number): GcPhase {
  return {
    seconds,
    workers: b.map((x, i) => {
      const y = a[i] ?? { minor: 0, major: 0, pauseUs: 0, maxPauseUs: 0, longPauses: 0 };
      return {
        minor: x.minor - y.minor,
        major: x.major - y.major,
        pauseUs: x.pauseUs - y.pauseUs,
        longPauses: x.longPauses - y.longPauses,
        maxPauseUs: x.maxPauseUs > y.maxPauseUs ? x.maxPauseUs : 0,
      };
    }),
  };
}

/** Let the observer's entries (delivered on each worker's loop after the GC) land in the counters. */
const settle = () => sleep(200);

async function runCase(
  lab: NetnsLab,
  tag: string,
  workers: number,
  pollWindowUs: number,
  seconds: number,
  round: number,
): Promise<GcBenchRow> {
  const a: BenchHost = { ns: await lab.addNs(`ga${tag}`), dev: lab.ifname(`ga${tag}`), ip: '10.78.0.1', mac: '' };
  const b: BenchHost = { ns: await lab.addNs(`gb${tag}`), dev: lab.ifname(`gb${tag}`), ip: '10.78.0.2', mac: '' };
  const h = new SwitchRuntime({ name: 'gcbench', workers, pollWindowUs }, () => {});
  try {
    await h.start();
    await h.addPort({ name: 'a', nic: { type: 'tap', name: a.dev, netns: a.ns } });
    await h.addPort({ name: 'b', nic: { type: 'tap', name: b.dev, netns: b.ns } });
    await lab.ip(a.ns, 'addr', 'add', `${a.ip}/24`, 'dev', a.dev);
    await lab.ip(b.ns, 'addr', 'add', `${b.ip}/24`, 'dev', b.dev);
    if (!(await warmUp(lab, a, b))) throw new Error('gc bench: no connectivity');
    await warmUpTraffic(lab, a, b, 2);
    await sleep(2000); // the post-warm-up GCs (the memory reducer runs a few seconds after a busy spell)

    let s0 = snap(h);
    const cpu0 = processCpuSeconds(process.pid) ?? 0;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const idleS = (performance.now() - t0) / 1000;
    const cpu1 = processCpuSeconds(process.pid) ?? 0;
    await settle();
    const idle = { ...delta(s0, snap(h), idleS), cores: (cpu1 - cpu0) / idleS };

    s0 = snap(h);
    const t1 = performance.now();
    const ping = await pingRtt(lab, a, b, seconds * 100, 0.01);
    const lightS = (performance.now() - t1) / 1000;
    await settle();
    const light = {
      ...delta(s0, snap(h), lightS),
      p50Us: ping.p50Us,
      p99Us: ping.p99Us,
      maxUs: ping.maxUs,
      received: ping.received,
    };

    s0 = snap(h);
    const t2 = performance.now();
    const tcp = await iperfTcp(lab, a, b, seconds, Window.forNamespaces([a.ns, b.ns], null));
    const heavyS = (performance.now() - t2) / 1000;
    await settle();
    const heavy = { ...delta(s0, snap(h), heavyS), gbps: tcp.gbps };
    return { bench: 'gc', round, workers, pollWindowUs, idle, light, heavy };
  } finally {
    await h.stop();
  }
}

export async function compareGc(
  opts: { seconds?: number; rounds?: number; workers?: number; windows?: number[]; log?: (l: string) => void } = {},
): Promise<GcBenchRow[]> {
  const seconds = opts.seconds ?? 10;
  const rounds = opts.rounds ?? 1;
  const workers = opts.workers ?? 2;
  const windows = opts.windows ?? [0, 200];
  const log = opts.log ?? ((l: string) => console.log(l));
  const lab = new NetnsLab();
  const rows: GcBenchRow[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // alternate the order per round so neither window always runs first
      const order = r % 2 === 0 ? windows : [...windows].reverse();
      for (const w of order) {
        const row = await runCase(lab, `${r}${windows.indexOf(w)}`, workers, w, seconds, r + 1);
        rows.push(row);
        log(JSON.stringify(row));
      }
    }
  } finally {
    await lab.cleanup();
  }
  return rows;
}

const gcText = (p: GcPhase) =>
  p.workers
    .map(
      (w, i) =>
        `w${i} ${w.minor}+${w.major} GC, ${(w.pauseUs / 1000).toFixed(1)} ms, ${w.longPauses} over 1 ms${w.maxPauseUs ? ` (max ${(w.maxPauseUs / 1000).toFixed(2)})` : ''}`,
    )
    .join('; ');

export function describeGc(rows: GcBenchRow[]): string {
  const lines = ['GC per datapath worker (bench/gc.ts): minor+major collections, total pause, pauses over 1 ms'];
  for (const r of rows) {
    lines.push(`round ${r.round}, ${r.workers} workers, poll window ${r.pollWindowUs} us:`);
    lines.push(
      `  idle ${r.idle.seconds.toFixed(0)} s: ${(r.idle.cores * 100).toFixed(2)} % of a core; ${gcText(r.idle)}`,
    );
    lines.push(
      `  ping 10 ms: p50 ${r.light.p50Us.toFixed(0)} us, p99 ${r.light.p99Us.toFixed(0)} us, max ${r.light.maxUs.toFixed(0)} us; ${gcText(r.light)}`,
    );
    lines.push(`  iperf3 TCP: ${r.heavy.gbps.toFixed(2)} Gbit/s; ${gcText(r.heavy)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '1' },
      workers: { type: 'string', default: '2' },
      'poll-window': { type: 'string', default: '0,200' },
      out: { type: 'string' },
    },
  });
  const skip = netnsSkipReason();
  if (skip) {
    console.log(JSON.stringify({ bench: 'gc', skipped: skip }));
    return;
  }
  const windows = values['poll-window'].split(',').map(Number);
  const rows = await compareGc({
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    workers: Number(values.workers),
    windows,
  });
  console.log(`\n${describeGc(rows)}`);
  if (values.out) writeFileSync(values.out, JSON.stringify(rows, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
