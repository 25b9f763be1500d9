/**
 * Moderation benchmark: the latency interrupt moderation adds, as ping round trips through the switch
 * (p50 and p99) for each preset, next to a one-worker switch and a two-worker switch whose Dynamic VMQ
 * keeps everything on one worker (no hand-over at all) in the same run.
 *
 *   node dist/bench/moderation.js [--count N] [--interval S] [--rounds R] [--out FILE]
 *
 * Design notes: README.md in this folder, section "moderation.ts".
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SwitchRuntime } from '../runtime/switch-runtime.js';
import type { SwitchSpec } from '../engine/spec.js';
import type { ModerationConfig } from '../queues/queue-spec.js';
import { NetnsLab, netnsSkipReason } from '../testing/netns.js';
import { median } from './median.js';
import { pingRtt, warmUp, type PingResult } from './measure.js';
import type { BenchHost } from './peers.js';

interface Case {
  name: string;
  cfg: Partial<SwitchSpec>;
  /** Point the whole RSS table at worker 0 (forces the one hop per round trip: README.md, "moderation.ts"). */
  hop: boolean;
}

const kPresets: ModerationConfig[] = ['off', 'low', 'medium', 'high', 'adaptive'];

const kCases: Case[] = [
  { name: '1 worker', cfg: { workers: 1 }, hop: false },
  { name: '2 workers, Dynamic VMQ (no hop)', cfg: { workers: 2 }, hop: false },
  ...kPresets.map((m) => ({
    name: `2 workers, hop, moderation ${typeof m === 'string' ? m : `${m.packets}/${m.timeUs}`}`,
    cfg: { workers: 2, dvmq: { enabled: false }, moderation: m },
    hop: true,
  })),
];

export interface ModerationBenchRow {
  bench: 'moderation-rtt';
  case: string;
  p50Us: number;
  p99Us: number;
  avgUs: number;
  received: number;
  sent: number;
}

async function runCase(lab: NetnsLab, c: Case, count: number, interval: number, round: number): Promise<PingResult> {
  const a: BenchHost = { ns: await lab.addNs(`ma${round}`), dev: lab.ifname(`ma${round}`), ip: '10.77.0.1', mac: '' };
  const b: BenchHost = { ns: await lab.addNs(`mb${round}`), dev: lab.ifname(`mb${round}`), ip: '10.77.0.2', mac: '' };
  const h = new SwitchRuntime({ name: 'modbench', ...c.cfg }, () => {});
  try {
    await h.start();
    await h.addPort({ name: 'a', nic: { type: 'tap', name: a.dev, netns: a.ns } });
    await h.addPort({ name: 'b', nic: { type: 'tap', name: b.dev, netns: b.ns } });
    await lab.ip(a.ns, 'addr', 'add', `${a.ip}/24`, 'dev', a.dev);
    await lab.ip(b.ns, 'addr', 'add', `${b.ip}/24`, 'dev', b.dev);
    if (c.hop) await h.setRssTable(new Array((await h.queues()).rss.size).fill(0));
    if (!(await warmUp(lab, a, b))) throw new Error(`${c.name}: no connectivity`);
    return await pingRtt(lab, a, b, count, interval);
  } finally {
    await h.stop();
  }
}

/** Every case, `rounds` times; medians per case (npm run bench calls this too). */
export async function compareModeration(
  opts: { count?: number; interval?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<ModerationBenchRow[]> {
  const count = opts.count ?? 300;
  const interval = opts.interval ?? 0.01;
  const rounds = opts.rounds ?? 1;
  const log = opts.log ?? ((line: string) => console.log(line));
  const lab = new NetnsLab();
  const rows: ModerationBenchRow[] = [];
  try {
    const samples = new Map<string, PingResult[]>();
    for (let r = 0; r < rounds; r++) {
      for (const c of kCases) {
        const res = await runCase(lab, c, count, interval, r * kCases.length + kCases.indexOf(c));
        samples.set(c.name, [...(samples.get(c.name) ?? []), res]);
        log(
          JSON.stringify({
            bench: 'moderation-rtt',
            round: r + 1,
            case: c.name,
            p50Us: res.p50Us,
            p99Us: res.p99Us,
            avgUs: Math.round(res.avgUs),
            received: res.received,
            sent: res.sent,
          }),
        );
      }
    }
    for (const c of kCases) {
      const s = samples.get(c.name)!;
      rows.push({
        bench: 'moderation-rtt',
        case: c.name,
        p50Us: median(s.map((x) => x.p50Us)),
        p99Us: median(s.map((x) => x.p99Us)),
        avgUs: Math.round(median(s.map((x) => x.avgUs))),
        received: s.reduce((t, x) => t + x.received, 0),
        sent: s.reduce((t, x) => t + x.sent, 0),
      });
    }
  } finally {
    await lab.cleanup();
  }
  return rows;
}

/** The rows as a table. */
export function describeModeration(rows: ModerationBenchRow[]): string {
  const lines = [
    'moderation: ping RTT through the switch (bench/moderation.ts)',
    'case                                          p50 us   p99 us',
  ];
  for (const r of rows)
    lines.push(
      `${r.case.padEnd(44)} ${String(Math.round(r.p50Us)).padStart(7)} ${String(Math.round(r.p99Us)).padStart(8)}`,
    );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '300' },
      interval: { type: 'string', default: '0.01' },
      rounds: { type: 'string', default: '1' },
      out: { type: 'string' },
    },
  });
  const skip = netnsSkipReason();
  if (skip) {
    console.log(JSON.stringify({ bench: 'moderation-rtt', skipped: skip }));
    return;
  }
  const rows = await compareModeration({
    count: Number(values.count),
    interval: Number(values.interval),
    rounds: Number(values.rounds),
  });
  console.log(`\n${describeModeration(rows)}`);
  if (values.out) writeFileSync(values.out, JSON.stringify(rows, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
