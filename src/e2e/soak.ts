/**
 * Soak run (`npm run soak`, not in CI; SOAK_MINUTES sets the length, default 10): a 2-worker switch with three
 * namespace hosts under mixed traffic (64 sequenced UDP flows h1 -> h2, a fast ping h3 -> h1) while ports are
 * added and removed and port policy changes every half second. Each round checks that no flow was reordered
 * and that every datagram the receiver missed is a counted drop (the switch's, by reason, or the kernel's
 * TAP and socket counters); over the run, the daemon's resident memory and open file descriptors stay flat.
 *
 * Trade-off: it runs against the real daemon through the CLI, so a round costs seconds of process spawns;
 * that is the point (the same code paths a user drives), and the churn rate is bounded by it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { SwitchLab, type LabHost } from './lab.js';
import { pathDrops } from '../testing/path-drops.js';
import { runSeqSender, seqReport, startSeqReceiver } from '../testing/udp-seq.js';

const kRoundMs = 15_000;
/** 16 flows x 2000 datagrams at 4000/s: 8 s of stream per round, leaving time for the checks. */
const kFlows = 16;
const kPerFlow = 2000;
const kPps = 4000;
/** Memory may grow this much over the run before it counts as a leak (V8 heaps settle in the first rounds). */
const kRssGrowth = 0.15;

interface Sample {
  round: number;
  rssKb: number;
  fds: number;
  sent: number;
  lost: number;
  counted: number;
  reordered: number;
  churned: number;
}

function daemonStats(pid: number): { rssKb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

/** Every drop the switch counted, over all ports and reasons. */
async function switchDrops(lab: SwitchLab): Promise<number> {
  const c = await lab.counters();
  let n = 0;
  for (const p of Object.values<any>(c.ports ?? {})) n += sum(p.drops);
  return n + sum(c.drops);
}

/** The kernel's drops on the stream's path: the sender's TAP queue, the receiver's TAP and UDP socket (the
 *  per-CPU backlog is global, so other traffic would blur it: left out). */
async function kernelDrops(lab: SwitchLab, tx: LabHost, rx: LabHost): Promise<number> {
  const d = await pathDrops(lab.lab, tx, rx);
  return d.senderTap + d.receiverTap + d.udpRcvbuf;
}

/** Port and policy churn until `stop` is set: a stream port and a dgram port come and go, ACLs on p3 change. */
async function churn(lab: SwitchLab, stop: { done: boolean }, round: number): Promise<number> {
  let n = 0;
  const cli = async (...args: string[]) => {
    const r = await lab.daemon.cli(...args);
    if (r.code !== 0) throw new Error(`vswitch ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  while (!stop.done) {
    const name = `c${round}x${n}`;
    if (n % 2 === 0) await cli('port', 'add', 's1', name, '--listen', lab.daemon.path(`${name}.sock`));
    else await cli('port', 'add', 's1', name, '--dgram', `${20_000 + (n % 1000)}:127.0.0.1:${21_000 + (n % 1000)}`);
    const acl: { id: number } = await lab.daemon.json(
      'acl',
      'add',
      's1',
      'p3',
      'meter',
      'both',
      '--remote-ip',
      `10.99.${n % 250}.0/24`,
    );
    await cli('acl', 'rm', 's1', 'p3', String(acl.id));
    await cli('port', 'rm', 's1', name);
    n++;
    await new Promise((r) => setTimeout(r, 500));
  }
  return n;
}

async function main(): Promise<number> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const rounds = Math.max(2, Math.round((minutes * 60_000) / kRoundMs));
  const lab = new SwitchLab();
  const samples: Sample[] = [];
  try {
    await lab.start({ hosts: 3, switch: { workers: 2 } });
    const [h1, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
    await lab.lab.ip(h1.ns, 'link', 'set', 'dev', h1.tap, 'txqueuelen', '20000');
    const pid = lab.daemon.proc!.pid!;
    for (let round = 0; round < rounds; round++) {
      const d0 = await switchDrops(lab);
      const k0 = await kernelDrops(lab, h1, h2);
      const stop = { done: false };
      const churned = churn(lab, stop, round);
      const ping = lab.lab.exec(h3.ns, ['ping', '-q', '-c', '150', '-i', '0.05', h1.ip4], { timeoutMs: 30_000 });
      const rx = await startSeqReceiver(lab.lab, h2.ns, { port: 7100, flows: kFlows });
      const tx = await runSeqSender(lab.lab, h1.ns, {
        dst: h2.ip4,
        port: 7100,
        flows: kFlows,
        count: kPerFlow,
        pps: kPps,
      });
      const r = seqReport(tx, await rx.result);
      await ping;
      stop.done = true;
      const n = await churned;
      const counted = (await switchDrops(lab)) - d0 + (await kernelDrops(lab, h1, h2)) - k0;
      const s = { round, ...daemonStats(pid), sent: r.sent, lost: r.lost, counted, reordered: r.reordered, churned: n };
      samples.push(s);
      console.log(
        `round ${round + 1}/${rounds}: ${r.text}; counted drops ${counted}; churn ${n}; rss ${s.rssKb} kB; fds ${s.fds}`,
      );
    }
  } finally {
    await lab.stop();
  }
  const failures: string[] = [];
  for (const s of samples) {
    if (s.reordered) failures.push(`round ${s.round + 1}: ${s.reordered} datagrams reordered`);
    if (s.lost > s.counted) failures.push(`round ${s.round + 1}: ${s.lost} lost but only ${s.counted} drops counted`);
  }
  const settle = samples[Math.min(1, samples.length - 1)]!;
  const last = samples[samples.length - 1]!;
  if (last.rssKb > settle.rssKb * (1 + kRssGrowth))
    failures.push(`memory grew from ${settle.rssKb} kB to ${last.rssKb} kB`);
  if (last.fds > settle.fds) failures.push(`file descriptors grew from ${settle.fds} to ${last.fds}`);
  console.log(
    failures.length
      ? `SOAK FAILED:\n  ${failures.join('\n  ')}`
      : `soak passed: ${samples.length} rounds, rss ${settle.rssKb} -> ${last.rssKb} kB, fds ${settle.fds} -> ${last.fds}`,
  );
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
