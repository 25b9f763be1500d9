/**
 * In-process pipeline benchmark: how many 64-byte frames per second one thread pushes through the whole
 * datapath (MemoryNic receive copy -> ingress -> learn -> forward -> egress -> transmit), with no I/O.
 *
 *   node dist/bench/pipeline.js [--seconds S]      prints one JSON line {"bench":"pipeline-64B-4ports",...}
 *
 * Design notes: README.md in this folder, section "pipeline.ts".
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Clock } from '../dataplane/clock.js';
import { kMaxBatch } from '../dataplane/graph.js';
import { MemoryNic } from '../ports/memory.js';
import { Engine } from '../engine/engine.js';
import { buildUdp4 } from '../packet/frame.js';
import type { AclRule, ExtAclRule } from '../policy/config.js';
import { ownThreadCpuSeconds } from './measure.js';
import { median } from './median.js';

export type PipelinePolicy = 'none' | 'acl25' | 'stateful';

export interface PipelineBenchResult {
  bench: 'pipeline-64B-4ports';
  policy: PipelinePolicy;
  mpps: number;
  nsPerFrame: number;
  /** The benchmark thread's own CPU time per frame (bench/measure.ts ownThreadCpuSeconds), and the rate
   *  that gives: what the thread would do with a core to itself, less disturbed by a busy machine. */
  cpuNsPerFrame: number;
  cpuMpps: number;
  frames: number;
  seconds: number;
  batch: number;
  node: string;
}

/** 64 bytes: the smallest Ethernet frame with FCS, the usual small-packet rate figure. */
const kFrameLen = 64;
const kPorts = 4;
const kMacsPerPort = 2;

const mac = (m: number) => `02:00:5e:00:00:${m.toString(16).padStart(2, '0')}`;

/**
 * A 64-byte UDP/IPv4 frame from MAC/host `src` (10.0.0.src) to `dst`. The lower-numbered host of a pair
 * is the client (a port per pair -> 5201) and the other answers from 5201, so both directions of a pair
 * are one flow (what a stateful rule needs): 28 flows between 8 hosts.
 */
function frame(dst: number, src: number, _seq: number): Uint8Array {
  const client = 10000 + Math.min(src, dst) * 16 + Math.max(src, dst);
  const [srcPort, dstPort] = src < dst ? [client, 5201] : [5201, client];
  const f = buildUdp4({
    srcMac: mac(src),
    dstMac: mac(dst),
    srcIp: `10.0.0.${src}`,
    dstIp: `10.0.0.${dst}`,
    srcPort,
    dstPort,
    payload: new Uint8Array(22),
  });
  if (f.length !== kFrameLen) throw new Error(`bench frame is ${f.length} bytes, expected ${kFrameLen}`);
  return f;
}

/** 25 port ACL entries; only the last (allow any) matches the bench traffic. */
function acl25(): AclRule[] {
  const r: AclRule[] = [];
  for (let i = 0; i < 8; i++) r.push({ action: 'deny', direction: 'both', remoteIp: `192.168.${i}.0/24` });
  for (let i = 0; i < 8; i++) r.push({ action: 'deny', direction: 'both', remoteIp: `2001:db8:${i}::/48` });
  for (let i = 0; i < 4; i++)
    r.push({ action: 'deny', direction: 'both', localIp: `172.16.${i}.1`, remoteIp: '10.0.0.0/8' });
  for (let i = 0; i < 4; i++) r.push({ action: 'deny', direction: 'both', remoteMac: `02:00:00:00:01:0${i}` });
  r.push({ action: 'allow', direction: 'both', remoteIp: 'any' });
  return r;
}

/** Stateful outbound UDP allow, 23 misses, deny-all inbound: delivery depends on the flow table. */
function stateful25(): ExtAclRule[] {
  const r: ExtAclRule[] = [{ action: 'allow', direction: 'outbound', weight: 200, protocol: 'udp', stateful: true }];
  for (let i = 0; i < 23; i++)
    r.push({ action: 'deny', direction: 'both', weight: 100 - i, protocol: 'tcp', remotePort: `${1000 + i}` });
  r.push({ action: 'deny', direction: 'inbound', weight: 1 });
  return r;
}

export async function run(
  opts: { quick?: boolean; seconds?: number; policy?: PipelinePolicy } = {},
): Promise<PipelineBenchResult> {
  const seconds = opts.seconds ?? (opts.quick ? 0.5 : 3);
  const policy = opts.policy ?? 'none';
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
    // every (own MAC, other MAC) pair appears: i % 6 picks the peer, floor(i / 6) % 2 the sender
    batches.push(
      Array.from({ length: kMaxBatch }, (_, i) =>
        frame(others[i % others.length], mine[Math.floor(i / others.length) % mine.length], i),
      ),
    );
  }

  if (policy === 'acl25') for (let p = 0; p < kPorts; p++) engine.setPolicy(p, { acls: acl25() });
  if (policy === 'stateful') {
    for (let p = 0; p < kPorts; p++) engine.setPolicy(p, { extendedAcls: stateful25() });
    // every flow must exist in both directions' tables before measuring: one round of each batch opens them
    for (let p = 0; p < kPorts; p++) nics[p].injectBatch(batches[p]);
    for (let p = 0; p < kPorts; p++) nics[p].injectBatch(batches[p]);
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
  const cpu0 = ownThreadCpuSeconds();
  const { frames, injected, elapsedMs } = drive(seconds * 1000);
  const cpuNs = (ownThreadCpuSeconds() - cpu0) * 1e9;
  if (frames !== injected) throw new Error(`pipeline bench lost frames: injected ${injected}, transmitted ${frames}`);
  const secs = elapsedMs / 1000;
  return {
    bench: 'pipeline-64B-4ports',
    policy,
    mpps: Math.round((frames / secs / 1e6) * 1000) / 1000,
    nsPerFrame: Math.round(((elapsedMs * 1e6) / frames) * 10) / 10,
    cpuNsPerFrame: Math.round((cpuNs / frames) * 10) / 10,
    cpuMpps: Math.round((frames / cpuNs) * 1e3 * 1000) / 1000,
    frames,
    seconds: Math.round(secs * 1000) / 1000,
    batch: kMaxBatch,
    node: process.version,
  };
}

export interface PolicyComparison {
  bench: 'pipeline-policy';
  rounds: number;
  seconds: number;
  /** Median Mpps and ns/frame per policy, over rounds. */
  median: Record<PipelinePolicy, { mpps: number; nsPerFrame: number }>;
  /** acl25 throughput as a fraction of none (goal >= 0.7), median over rounds of the per-round ratio. */
  acl25Ratio: number;
  perRoundAcl25Ratio: number[];
  /** Extra ns per frame with the stateful rule set over none: two flow-table lookups per frame (the
   *  sender's outbound check and the receiver's inbound check). */
  statefulExtraNsPerFrame: number;
}

/**
 * Each policy in its own fresh process (so one case's JIT state never colours another), `rounds` rounds
 * with the order rotating, medians reported: the form the 25-ACL goal is judged in.
 */
export function comparePolicies(opts: { rounds?: number; seconds?: number } = {}): PolicyComparison {
  const rounds = opts.rounds ?? 5;
  const seconds = opts.seconds ?? 2;
  const policies: PipelinePolicy[] = ['none', 'acl25', 'stateful'];
  const runs: Record<PipelinePolicy, PipelineBenchResult[]> = { none: [], acl25: [], stateful: [] };
  const self = fileURLToPath(import.meta.url);
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < policies.length; k++) {
      const policy = policies[(k + r) % policies.length]!;
      const out = execFileSync(process.execPath, [self, '--policy', policy, '--seconds', String(seconds)], {
        encoding: 'utf8',
      });
      runs[policy].push(JSON.parse(out.trim()) as PipelineBenchResult);
    }
  const med = (p: PipelinePolicy) => ({
    mpps: median(runs[p].map((x) => x.mpps)),
    nsPerFrame: median(runs[p].map((x) => x.nsPerFrame)),
  });
  const perRound = runs.acl25.map((x, i) => Math.round((x.mpps / runs.none[i]!.mpps) * 1000) / 1000);
  return {
    bench: 'pipeline-policy',
    rounds,
    seconds,
    median: { none: med('none'), acl25: med('acl25'), stateful: med('stateful') },
    acl25Ratio: median(perRound),
    perRoundAcl25Ratio: perRound,
    statefulExtraNsPerFrame: Math.round((med('stateful').nsPerFrame - med('none').nsPerFrame) * 10) / 10,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--compare')) {
    const r = process.argv.indexOf('--rounds');
    console.log(JSON.stringify(comparePolicies({ rounds: r > 0 ? Number(process.argv[r + 1]) : undefined })));
    process.exit(0);
  }
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : undefined;
  const k = process.argv.indexOf('--policy');
  const policies: PipelinePolicy[] = k > 0 ? [process.argv[k + 1] as PipelinePolicy] : ['none', 'acl25', 'stateful'];
  for (const policy of policies) console.log(JSON.stringify(await run({ seconds, policy })));
}
