/**
 * In-process pipeline benchmark: how many 64-byte frames per second one thread pushes through the whole
 * datapath (MemoryNic receive copy -> ingress -> learn -> forward -> egress -> transmit), with no I/O.
 *
 *   node dist/bench/pipeline.js [--seconds S]      prints one JSON line {"bench":"pipeline-64B-4ports",...}
 *
 * Setup: an Engine with 4 untagged MemoryNic ports (capture off: transmit only counts, so no allocation
 * per frame), 8 MACs, 2 behind each port, all learned before measuring (learning stays on, so every frame
 * still refreshes its source entry). Each port has one pre-built batch of 256 frames (kMaxBatch: one
 * breath) from its two MACs to the six MACs on the other ports: known unicast, the common case. Batches
 * are injected with `injectBatch` round-robin over the ports. The copy of each frame into the pool is part
 * of what is measured, as a TAP read would be.
 *
 * Method: 0.5 s warm-up (JIT tiers up), then batches for `seconds` (3 s by default; `quick`: 0.5 s), the
 * clock read once per 16 batches. Mpps = frames transmitted / elapsed, and the run checks that every
 * injected frame was transmitted exactly once (a benchmark that drops frames measures nothing).
 *
 * The goal: at least 3 Mpps on one thread.
 */
import { fileURLToPath } from 'node:url';
import { Clock } from '../dataplane/clock.js';
import { kMaxBatch } from '../dataplane/graph.js';
import { MemoryNic } from '../ports/memory.js';
import { Engine } from '../engine/engine.js';

export interface PipelineBenchResult {
  bench: 'pipeline-64B-4ports';
  mpps: number;
  nsPerFrame: number;
  frames: number;
  seconds: number;
  batch: number;
  node: string;
}

/** 64 bytes: the smallest Ethernet frame with FCS, the usual small-packet rate figure. */
const kFrameLen = 64;
const kPorts = 4;
const kMacsPerPort = 2;

function frame(dst: number, src: number, seq: number): Uint8Array {
  const f = new Uint8Array(kFrameLen);
  f.set([0x02, 0x00, 0x5e, 0x00, 0x00, dst], 0);
  f.set([0x02, 0x00, 0x5e, 0x00, 0x00, src], 6);
  f[12] = 0x08; // IPv4
  f[13] = 0x00;
  for (let i = 14; i < kFrameLen; i++) f[i] = (seq + i) & 0xff;
  return f;
}

export async function run(opts: { quick?: boolean; seconds?: number } = {}): Promise<PipelineBenchResult> {
  const seconds = opts.seconds ?? (opts.quick ? 0.5 : 3);
  const engine = new Engine({ clock: new Clock() });
  const nics: MemoryNic[] = [];
  for (let p = 0; p < kPorts; p++) {
    engine.addPort({ mode: 'untagged' });
    const nic = new MemoryNic({ capture: false });
    engine.attach(p, nic);
    nics.push(nic);
  }
  // MAC m (1..8) sits behind port (m - 1) % 4; one broadcast from each teaches the switch
  const macs = kPorts * kMacsPerPort;
  const portOf = (m: number) => (m - 1) % kPorts;
  for (let m = 1; m <= macs; m++) nics[portOf(m)].inject(frame(0xff, m, 0).fill(0xff, 0, 6));
  if (engine.fdb.count !== macs) throw new Error(`expected ${macs} learned MACs, have ${engine.fdb.count}`);

  const batches: Uint8Array[][] = [];
  for (let p = 0; p < kPorts; p++) {
    const mine: number[] = [];
    const others: number[] = [];
    for (let m = 1; m <= macs; m++) (portOf(m) === p ? mine : others).push(m);
    batches.push(Array.from({ length: kMaxBatch }, (_, i) => frame(others[i % others.length], mine[i % mine.length], i)));
  }

  const sent = () => nics.reduce((s, n) => s + n.sent, 0);
  const drive = (ms: number): { frames: number; injected: number; elapsedMs: number } => {
    const s0 = sent();
    let injected = 0;
    const t0 = performance.now();
    let now = t0;
    let round = 0;
    while (now - t0 < ms) {
      const nic = nics[round & (kPorts - 1)];
      injected += nic.injectBatch(batches[round & (kPorts - 1)]);
      round++;
      if ((round & 15) === 0) now = performance.now();
    }
    return { frames: sent() - s0, injected, elapsedMs: performance.now() - t0 };
  };

  drive(500);
  const { frames, injected, elapsedMs } = drive(seconds * 1000);
  if (frames !== injected) throw new Error(`pipeline bench lost frames: injected ${injected}, transmitted ${frames}`);
  const secs = elapsedMs / 1000;
  return {
    bench: 'pipeline-64B-4ports',
    mpps: Math.round((frames / secs / 1e6) * 1000) / 1000,
    nsPerFrame: Math.round((elapsedMs * 1e6) / frames * 10) / 10,
    frames,
    seconds: Math.round(secs * 1000) / 1000,
    batch: kMaxBatch,
    node: process.version,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : undefined;
  console.log(JSON.stringify(await run({ seconds })));
}
