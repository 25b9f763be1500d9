/**
 * Measurements between two namespace hosts: ping RTT, iperf3 TCP, 64-byte UDP frames/s, and the CPU the
 * switch process spends on them; plus the machine-load checks that decide whether a trial can start and
 * whether it was disturbed.
 *
 * Design notes: README.md in this folder, section "measure.ts".
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from '../testing/netns.js';
import type { BenchHost } from './peers.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Clock ticks per second of /proc times; 100 on every Linux build we know, asked anyway. */
export const kClkTck = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------- machine load

interface CpuTimes {
  total: number;
  idle: number;
  steal: number;
}

/** Aggregate line of /proc/stat: user nice system idle iowait irq softirq steal (guest is inside user). */
function readCpuTimes(): CpuTimes {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((s, x) => s + x, 0);
  return { total, idle: f[3] + f[4], steal: f[7] };
}

/** Fraction of all cores' time idle over `ms`. */
export async function idleFraction(ms: number): Promise<number> {
  const a = readCpuTimes();
  await sleep(ms);
  const b = readCpuTimes();
  const dt = b.total - a.total;
  return dt > 0 ? (b.idle - a.idle) / dt : 1;
}

export interface IdleWait {
  /** Idle fraction of the last 1 s sample. */
  idle: number;
  waitedMs: number;
  /** False when the wait ran out before the machine was idle enough. */
  ok: boolean;
}

/**
 * Sample 1 s windows until the machine is at least `threshold` idle, for at most `maxWaitMs`.
 * One second smooths a compile's bursts yet costs little per trial.
 */
export async function waitForIdle(threshold: number, maxWaitMs: number): Promise<IdleWait> {
  const t0 = Date.now();
  for (;;) {
    const idle = await idleFraction(1000);
    const waitedMs = Date.now() - t0;
    if (idle >= threshold) return { idle, waitedMs, ok: true };
    if (waitedMs >= maxWaitMs) return { idle, waitedMs, ok: false };
  }
}

interface ProcSample {
  /** utime+stime+cutime+cstime, ticks. */
  ticks: number;
  ours: boolean;
  kernel: boolean;
}

/** Parse /proc/PID/stat after the `(comm)` field, which may hold spaces and parentheses. */
function statFields(pid: number | string, task?: number | string): string[] | null {
  try {
    const path = task === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${task}/stat`;
    const s = readFileSync(path, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, every thread) of a live process, or null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  const f = statFields(pid);
  // after comm: [0]=state [1]=ppid ... [11]=utime [12]=stime (fields 14 and 15 of proc(5))
  return f ? (Number(f[11]) + Number(f[12])) / kClkTck : null;
}

/** CPU seconds (user + system) the calling thread has used, a worker thread included (/proc/thread-self):
 *  a busy-looping benchmark's own work, which other processes' load on the machine does not inflate the
 *  way it inflates wall time (clock-tick resolution: 10 ms, so measure windows of seconds). */
export function ownThreadCpuSeconds(): number {
  const f = statFields('thread-self');
  return f ? (Number(f[11]) + Number(f[12])) / kClkTck : 0;
}

/** CPU seconds per thread of a live process, keyed `main` for the thread whose TID is the PID and
 *  `comm#tid` for the others (Node names its worker threads `node` too, so the TID tells them apart). */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const f = statFields(pid, tid);
    if (!f) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      /* gone */
    }
    out[tid === String(pid) ? 'main' : `${comm}#${tid}`] = (Number(f[11]) + Number(f[12])) / kClkTck;
  }
  return out;
}

/** Inode of a named namespace (`/run/netns/NAME`), matched against /proc/PID/ns/net links. */
function netnsInode(ns: string): string {
  return `net:[${statSync(join('/run/netns', ns)).ino}]`;
}

/** Every process's accumulated CPU, tagged ours (in one of `nsLinks`, or this runner) or kernel thread. */
function sampleProcesses(nsLinks: Set<string>): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const f = statFields(pid);
    if (!f) continue;
    const ppid = Number(f[1]);
    const kernel = pid === 2 || ppid === 2;
    let ours = pid === process.pid;
    if (!ours && !kernel) {
      try {
        ours = nsLinks.has(readlinkSync(`/proc/${pid}/ns/net`));
      } catch {
        // a zombie has no namespace link left but still shows its whole CPU time in stat: an iperf3
        // server that has just exited (`-1`) and is not yet reaped. Ours when this runner is its parent
        // (`ip netns exec` execs, so lab.spawn's children are ours directly)
        ours = ppid === process.pid;
      }
    }
    out.set(pid, { ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), ours, kernel });
  }
  return out;
}

export interface WindowResult {
  seconds: number;
  /** Switch process CPU over the window, seconds (null: no PID, or it died). */
  switchCpu: number | null;
  /** Same, split by thread (vswitch: main thread vs datapath worker vs libuv/V8 helpers). */
  switchThreads: Record<string, number> | null;
  /** CPU of processes that are neither ours nor kernel threads, in cores (seconds per second). */
  foreignCores: number;
  /** Hypervisor steal over the window as a fraction of all cores' time. */
  steal: number;
  /** Idle fraction of all cores over the window. */
  idle: number;
}

/**
 * A measuring window: `open()` snapshots, `close()` returns the deltas. Opened and closed around exactly
 * the interval whose traffic is counted, so CPU and frames share one denominator.
 */
export class Window {
  private t0 = 0;
  private cpu0: CpuTimes = { total: 0, idle: 0, steal: 0 };
  private procs0 = new Map<number, ProcSample>();
  private sw0: number | null = null;
  private threads0: Record<string, number> | null = null;

  constructor(
    private readonly nsLinks: Set<string>,
    private readonly switchPid: number | null,
  ) {}

  static forNamespaces(namespaces: string[], switchPid: number | null): Window {
    return new Window(new Set(namespaces.map(netnsInode)), switchPid);
  }

  open(): void {
    this.procs0 = sampleProcesses(this.nsLinks);
    this.cpu0 = readCpuTimes();
    this.sw0 = this.switchPid !== null ? processCpuSeconds(this.switchPid) : null;
    this.threads0 = this.switchPid !== null ? threadCpuSeconds(this.switchPid) : null;
    this.t0 = performance.now();
  }

  close(): WindowResult {
    const seconds = (performance.now() - this.t0) / 1000;
    const sw1 = this.switchPid !== null ? processCpuSeconds(this.switchPid) : null;
    const threads1 = this.switchPid !== null ? threadCpuSeconds(this.switchPid) : null;
    const cpu1 = readCpuTimes();
    const procs1 = sampleProcesses(this.nsLinks);
    let foreign = 0;
    for (const [pid, s1] of procs1) {
      const s0 = this.procs0.get(pid);
      // ours at open stays ours (a process does not leave its namespace; a zombie's link is unreadable)
      if (s1.ours || s1.kernel || s0?.ours) continue;
      foreign += s1.ticks - (s0 && !s0.ours ? s0.ticks : 0);
    }
    // a process that ended inside the window reappears whole in its parent's cutime: take off the part
    // it had used before the window opened
    for (const [pid, s0] of this.procs0) if (!procs1.has(pid) && !s0.ours && !s0.kernel) foreign -= s0.ticks;
    foreign = Math.max(0, foreign);
    const dt = cpu1.total - this.cpu0.total;
    let switchThreads: Record<string, number> | null = null;
    if (this.threads0 && threads1) {
      switchThreads = {};
      for (const [k, v] of Object.entries(threads1)) switchThreads[k] = v - (this.threads0[k] ?? 0);
    }
    return {
      seconds,
      switchCpu: this.sw0 !== null && sw1 !== null ? sw1 - this.sw0 : null,
      switchThreads,
      foreignCores: foreign / kClkTck / seconds,
      steal: dt > 0 ? (cpu1.steal - this.cpu0.steal) / dt : 0,
      idle: dt > 0 ? (cpu1.idle - this.cpu0.idle) / dt : 1,
    };
  }
}

// ---------------------------------------------------------------- interface counters

export interface LinkCounters {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txDropped: number;
}

/** `ip -n NS -s -j link show dev DEV`: the kernel's own counters of a host interface. */
export async function linkCounters(lab: NetnsLab, h: BenchHost): Promise<LinkCounters> {
  const j = JSON.parse(await lab.ip(h.ns, '-s', '-j', 'link', 'show', 'dev', h.dev)) as Array<{
    stats64: { rx: { packets: number; bytes: number; dropped: number }; tx: { packets: number; dropped: number } };
  }>;
  const s = j[0].stats64;
  return {
    rxPackets: s.rx.packets,
    rxBytes: s.rx.bytes,
    rxDropped: s.rx.dropped,
    txPackets: s.tx.packets,
    txDropped: s.tx.dropped,
  };
}

// ---------------------------------------------------------------- ping

export interface PingResult {
  sent: number;
  received: number;
  /** Microseconds. */
  p50Us: number;
  p99Us: number;
  avgUs: number;
  minUs: number;
  maxUs: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** A few pings that are not measured: every switch learns both MACs before the first sample. */
export async function warmUp(lab: NetnsLab, from: BenchHost, to: BenchHost): Promise<boolean> {
  const r = await lab.exec(from.ns, ['ping', '-c', '3', '-i', '0.05', '-W', '1', to.ip], { timeoutMs: 10_000 });
  return r.code === 0;
}

/**
 * Untimed traffic before the first trial: a brisk ping, then a short TCP stream. A long-running switch is
 * in steady state; a fresh vswitch daemon is not (its JIT tiers up on the first hundred thousand frames,
 * and V8 runs a heap-shrinking GC a few seconds after start), and round 1 would otherwise measure that.
 */
export async function warmUpTraffic(lab: NetnsLab, a: BenchHost, b: BenchHost, seconds: number): Promise<void> {
  await lab.exec(a.ns, ['ping', '-q', '-c', '500', '-i', '0.002', '-W', '1', b.ip], { timeoutMs: 20_000 });
  const srv = await startIperfServer(lab, b);
  try {
    await lab.exec(a.ns, ['iperf3', '-c', b.ip, '-p', String(kIperfPort), '-t', String(seconds)], {
      timeoutMs: (seconds + 20) * 1000,
    });
    await Promise.race([srv.done, sleep(2_000)]);
  } finally {
    srv.kill();
  }
}

/** `count` echo requests every `intervalS`, one RTT per reply line (`time=0.051 ms`). */
export async function pingRtt(
  lab: NetnsLab,
  from: BenchHost,
  to: BenchHost,
  count: number,
  intervalS: number,
): Promise<PingResult> {
  const r = await lab.exec(from.ns, ['ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '1', to.ip], {
    timeoutMs: 10_000 + count * intervalS * 1000 * 4,
  });
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((x, y) => x - y);
  if (rtts.length === 0) throw new Error(`ping ${from.ns} -> ${to.ip} got no reply:\n${r.stdout}${r.stderr}`);
  return {
    sent: count,
    received: rtts.length,
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    avgUs: rtts.reduce((s, x) => s + x, 0) / rtts.length,
    minUs: rtts[0],
    maxUs: rtts[rtts.length - 1],
  };
}

// ---------------------------------------------------------------- iperf3

/** iperf3's default port; every peer's B is its own namespace, so there is no clash. */
const kIperfPort = 5201;
/** How long iperf3 -s may take to print that it listens. */
const kServerStartMs = 5_000;

async function startIperfServer(lab: NetnsLab, b: BenchHost): Promise<{ done: Promise<void>; kill(): void }> {
  // --forceflush: to a pipe iperf3 buffers its "Server listening" line until exit
  const srv = lab.spawn(b.ns, ['iperf3', '-s', '-1', '--forceflush', '-B', b.ip, '-p', String(kIperfPort)]);
  let out = '';
  const done = new Promise<void>((r) => srv.once('exit', () => r()));
  srv.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  srv.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + kServerStartMs;
  while (!out.includes('Server listening')) {
    if (srv.exitCode !== null) throw new Error(`iperf3 -s exited ${srv.exitCode}: ${out}`);
    if (Date.now() > deadline) {
      srv.kill('SIGKILL');
      throw new Error(`iperf3 -s did not start: ${out}`);
    }
    await sleep(20);
  }
  return { done, kill: () => srv.exitCode === null && srv.kill('SIGTERM') };
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number; bytes: number }; sum_sent?: { retransmits?: number } };
}

export interface TcpResult {
  streams: number;
  gbps: number;
  retransmits: number;
  /** Frames the switch delivered both ways (data to B, ACKs to A) over the window, as the host
   *  interfaces count them (a GSO frame through an offload TAP is one). */
  frames: number;
  /** Bytes the switch delivered both ways over the window (host interfaces' rx bytes). */
  bytes: number;
  window: WindowResult;
}

/** `streams` TCP streams A -> B for `seconds` (+1 omitted), switch CPU, frames and bytes counted over the
 *  whole run. */
export async function iperfTcp(
  lab: NetnsLab,
  a: BenchHost,
  b: BenchHost,
  seconds: number,
  win: Window,
  streams = 1,
): Promise<TcpResult> {
  const srv = await startIperfServer(lab, b);
  try {
    const a0 = await linkCounters(lab, a);
    const b0 = await linkCounters(lab, b);
    win.open();
    const r = await lab.exec(
      a.ns,
      ['iperf3', '-c', b.ip, '-p', String(kIperfPort), '-t', String(seconds), '-O', '1', '-P', String(streams), '-J'],
      {
        timeoutMs: (seconds + 20) * 1000,
      },
    );
    const window = win.close();
    const a1 = await linkCounters(lab, a);
    const b1 = await linkCounters(lab, b);
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(`iperf3 -c printed no JSON (exit ${r.code}): ${r.stderr}`);
    }
    if (j.error || !j.end?.sum_received) throw new Error(`iperf3: ${j.error ?? 'no end.sum_received'}`);
    await Promise.race([srv.done, sleep(2_000)]);
    return {
      streams,
      gbps: j.end.sum_received.bits_per_second / 1e9,
      retransmits: j.end.sum_sent?.retransmits ?? 0,
      frames: b1.rxPackets - b0.rxPackets + (a1.rxPackets - a0.rxPackets),
      bytes: b1.rxBytes - b0.rxBytes + (a1.rxBytes - a0.rxBytes),
      window,
    };
  } finally {
    srv.kill();
  }
}

// ---------------------------------------------------------------- 64-byte UDP flood

/** UDP payload for a 60-byte frame, 64 on the wire with the FCS: 14 Ethernet + 20 IPv4 + 8 UDP + 18. */
const kUdpPayload = 18;
/** Discard port: B has no socket there, and the sink (addUdpSink) drops it before B's IP stack. */
const kDiscardPort = 9;
/** Let the generator ramp up and queues fill before counting. */
const kFloodWarmupMs = 1_000;

export type Generator = 'trafgen' | 'iperf3';

export interface UdpResult {
  generator: Generator;
  /** Frames/s received at B's interface. */
  rxPps: number;
  /** Frames/s A's interface passed on to the switch (for a TAP: what the switch read). */
  txPps: number;
  /** Frames/s A's interface dropped (a TAP's queue full: the switch did not read fast enough).
   *  txPps + txDroppedPps is what the generator offered. */
  txDroppedPps: number;
  /** True when B dropped the flood at its ingress hook (addUdpSink); false: B's IP stack saw it. */
  sunk: boolean;
  window: WindowResult;
}

const hexBytes = (mac: string) =>
  mac
    .split(':')
    .map((x) => `0x${x}`)
    .join(', ');
const ipBytes = (ip: string) => ip.split('.').join(', ');

/** trafgen packet config: one 60-byte IPv4/UDP frame A -> B with a correct IP checksum, UDP csum 0. */
export function trafgenConfig(a: BenchHost, b: BenchHost): string {
  const ipLen = 20 + 8 + kUdpPayload;
  return [
    '{',
    `  ${hexBytes(b.mac)},`,
    `  ${hexBytes(a.mac)},`,
    '  c16(0x0800),',
    `  0x45, 0x00, c16(${ipLen}), c16(0), 0x40, 0x00, 64, 17, csumip(14, 33),`,
    `  ${ipBytes(a.ip)},`,
    `  ${ipBytes(b.ip)},`,
    `  c16(${kDiscardPort}), c16(${kDiscardPort}), c16(${8 + kUdpPayload}), c16(0),`,
    `  fill(0x00, ${kUdpPayload}),`,
    '}',
    '',
  ].join('\n');
}

/** nftables table that holds the UDP sink in B's namespace. */
const kSinkTable = 'vswitchbench';

/**
 * Drop the flood at B's ingress hook (after the interface counted it, before IP). Without it B's stack
 * answers every frame with an ICMP port-unreachable attempt: the rate limit drops the answer, but only
 * after a route lookup, and for a TAP switch that work runs inside the switch's own write() (the TAP
 * hands the frame to B's stack synchronously): 5-10 % of its CPU in a profile, charged to the switch.
 * Returns false (the flood then reaches B's stack) when nft is missing or refuses.
 */
export async function addUdpSink(lab: NetnsLab, b: BenchHost, tmpDir: string): Promise<boolean> {
  const file = join(tmpDir, `sink-${b.ns}.nft`);
  writeFileSync(
    file,
    `table netdev ${kSinkTable} {\n  chain sink {\n    type filter hook ingress device "${b.dev}" priority 0; policy accept;\n` +
      `    udp dport ${kDiscardPort} counter drop\n  }\n}\n`,
  );
  try {
    return (await lab.exec(b.ns, ['nft', '-f', file])).code === 0;
  } catch {
    return false; // nft not installed
  }
}

export async function removeUdpSink(lab: NetnsLab, b: BenchHost): Promise<void> {
  await lab.exec(b.ns, ['nft', 'delete', 'table', 'netdev', kSinkTable]).catch(() => undefined);
}

/** Flood 64-byte frames from A for warm-up + `seconds`; count at B's interface over the last `seconds`. */
export async function udpFlood(
  lab: NetnsLab,
  a: BenchHost,
  b: BenchHost,
  seconds: number,
  generator: Generator,
  tmpDir: string,
  win: Window,
): Promise<UdpResult> {
  // iperf3's server must see its datagrams (port 5201, which the sink would not drop anyway)
  const sunk = generator === 'trafgen' && (await addUdpSink(lab, b, tmpDir));
  try {
    return { ...(await flood(lab, a, b, seconds, generator, tmpDir, win)), sunk };
  } finally {
    if (sunk) await removeUdpSink(lab, b);
  }
}

async function flood(
  lab: NetnsLab,
  a: BenchHost,
  b: BenchHost,
  seconds: number,
  generator: Generator,
  tmpDir: string,
  win: Window,
): Promise<Omit<UdpResult, 'sunk'>> {
  let cmd: string[];
  if (generator === 'trafgen') {
    const cfg = join(tmpDir, `trafgen-${a.ns}.cfg`);
    writeFileSync(cfg, trafgenConfig(a, b));
    cmd = ['trafgen', '--no-sock-mem', '--notouch-irq', '--cpus', '1', '--no-cpu-stats', '--dev', a.dev, '--conf', cfg];
  } else {
    // iperf3 needs a server; its results are not used, B's interface counters are
    cmd = [
      'iperf3',
      '-c',
      b.ip,
      '-p',
      String(kIperfPort),
      '-u',
      '-l',
      String(kUdpPayload),
      '-b',
      '0',
      '-t',
      String(seconds + 2),
    ];
  }
  const srv = generator === 'iperf3' ? await startIperfServer(lab, b) : null;
  // its own process group, so a trafgen that forks a worker is stopped whole
  const gen = lab.spawn(a.ns, cmd, { detached: true });
  let genOut = '';
  gen.stdout!.on('data', (d: Buffer) => (genOut += d.toString()));
  gen.stderr!.on('data', (d: Buffer) => (genOut += d.toString()));
  const exited = new Promise<void>((r) => gen.once('exit', () => r()));
  try {
    await sleep(kFloodWarmupMs);
    if (gen.exitCode !== null) throw new Error(`${generator} exited ${gen.exitCode}: ${genOut.trim()}`);
    const a0 = await linkCounters(lab, a);
    const b0 = await linkCounters(lab, b);
    win.open();
    await sleep(seconds * 1000);
    const window = win.close();
    const a1 = await linkCounters(lab, a);
    const b1 = await linkCounters(lab, b);
    if (gen.exitCode !== null) throw new Error(`${generator} stopped early (${gen.exitCode}): ${genOut.trim()}`);
    const s = window.seconds;
    return {
      generator,
      rxPps: (b1.rxPackets - b0.rxPackets) / s,
      txPps: (a1.txPackets - a0.txPackets) / s,
      txDroppedPps: (a1.txDropped - a0.txDropped) / s,
      window,
    };
  } finally {
    if (gen.exitCode === null && gen.signalCode === null && gen.pid !== undefined) {
      try {
        process.kill(-gen.pid, 'SIGINT');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-gen.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 2_000);
      await exited;
      clearTimeout(t);
    }
    srv?.kill();
    if (srv) await Promise.race([srv.done, sleep(2_000)]);
  }
}
