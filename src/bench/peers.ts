/**
 * The switches under test, each joining two namespace hosts: A (10.88.0.1/24) and B (10.88.0.2/24).
 *
 *          ns <p>-<k>a                ns <p>-<k>s                 ns <p>-<k>b
 *   [host A: dev, 10.88.0.1] ==== [ switch under test ] ==== [host B: dev, 10.88.0.2]
 *
 *   vswitch   the real `vswitch run` daemon (TestDaemon) with two TAP ports; it creates each TAP in its
 *             namespace and moves it into the host's (`{type:'tap', name, netns}`)
 *   vde       `vde_switch -d -t tapA -t tapB` in the switch namespace (it creates and owns the TAPs), the
 *             TAPs then moved into the host namespaces; stopped by the PID in its pidfile
 *   bridge    the Linux bridge in the switch namespace with a veth pair to each host (the kernel's own
 *             fast path: no TAP, no process, its work is softirq on whoever sends)
 *
 * Why: the issue compares vswitch with the switches a user would otherwise pick, on the same kind of host
 * attachment, measured in the same run. Each peer gets its own three namespaces (k = vs, vd, br) so all can
 * stand at once and trials interleave; the same addresses are reused since no namespace sees two peers.
 *
 * Safety: every interface and address lives in a namespace of the run's NetnsLab (never the root one);
 * `stop()` ends the switch process by its PID, and the lab's cleanup deletes the namespaces.
 *
 * Trade-offs:
 *  - Host neighbours are static (`nud permanent`), so no trial ever pays or races an ARP resolution; the
 *    switches still learn both MACs from the warm-up ping every trial starts with.
 *  - vswitch runs with its defaults (no vnet_hdr offloads): the bench measures what a user gets today.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon } from '../testing/daemon.js';
import type { NetnsLab } from '../testing/netns.js';

export type PeerName = 'vswitch' | 'vde' | 'bridge';
export const kPeerNames: readonly PeerName[] = ['vswitch', 'vde', 'bridge'];

export const kHostA = '10.88.0.1';
export const kHostB = '10.88.0.2';
/** /24: one subnet, two hosts, no router. */
const kPrefixLen = 24;

export interface BenchHost {
  ns: string;
  dev: string;
  ip: string;
  mac: string;
}

export interface Peer {
  readonly name: PeerName;
  /** One line for the table: what the peer is and how hosts attach. */
  readonly label: string;
  readonly switchNs: string;
  readonly a: BenchHost;
  readonly b: BenchHost;
  /** PID whose CPU time is the switch's work, or null when the work is kernel softirq (bridge). */
  readonly pid: number | null;
  /** End the switch process (by PID); the namespaces go with the lab's cleanup. Safe to call twice. */
  stop(): Promise<void>;
}

/** Namespace tags per peer: two letters keep `<prefix>-<tag><role>` short. */
const kTag: Record<PeerName, string> = { vswitch: 'vs', vde: 'vd', bridge: 'br' };
/** How long a daemonised vde_switch may take to write its pidfile: it does so right after fork. */
const kPidfileWaitMs = 5_000;
/** Grace between SIGTERM and SIGKILL when stopping vde_switch: it exits at once on SIGTERM. */
const kKillGraceMs = 2_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM by PID, SIGKILL after a grace; resolves when the process is gone. */
async function killPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + kKillGraceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function macOf(lab: NetnsLab, ns: string, dev: string): Promise<string> {
  return (JSON.parse(await lab.ip(ns, '-j', 'link', 'show', 'dev', dev)) as Array<{ address: string }>)[0].address;
}

/** Address, link up, and a permanent neighbour entry for the other host once both MACs are known. */
async function configureHosts(lab: NetnsLab, a: BenchHost, b: BenchHost): Promise<void> {
  for (const h of [a, b]) {
    await lab.ip(h.ns, 'addr', 'add', `${h.ip}/${kPrefixLen}`, 'dev', h.dev);
    await lab.ip(h.ns, 'link', 'set', 'dev', h.dev, 'up');
    h.mac = await macOf(lab, h.ns, h.dev);
  }
  await lab.ip(a.ns, 'neigh', 'replace', b.ip, 'lladdr', b.mac, 'dev', a.dev, 'nud', 'permanent');
  await lab.ip(b.ns, 'neigh', 'replace', a.ip, 'lladdr', a.mac, 'dev', b.dev, 'nud', 'permanent');
}

async function hostNamespaces(lab: NetnsLab, name: PeerName): Promise<{ s: string; a: BenchHost; b: BenchHost }> {
  const t = kTag[name];
  const s = await lab.addNs(`${t}s`);
  const a = { ns: await lab.addNs(`${t}a`), dev: lab.ifname(`${t}a`), ip: kHostA, mac: '' };
  const b = { ns: await lab.addNs(`${t}b`), dev: lab.ifname(`${t}b`), ip: kHostB, mac: '' };
  return { s, a, b };
}

async function linuxBridge(lab: NetnsLab): Promise<Peer> {
  const { s, a, b } = await hostNamespaces(lab, 'bridge');
  const br = 'br0';
  await lab.ip(s, 'link', 'add', br, 'type', 'bridge');
  await lab.ip(s, 'link', 'set', 'dev', br, 'up');
  for (const [h, side] of [[a, 'pa'], [b, 'pb']] as const) {
    // the switch-side end is created in the switch namespace, its peer straight in the host's
    await lab.ip(s, 'link', 'add', side, 'type', 'veth', 'peer', 'name', h.dev, 'netns', h.ns);
    await lab.ip(s, 'link', 'set', 'dev', side, 'master', br);
    await lab.ip(s, 'link', 'set', 'dev', side, 'up');
  }
  await configureHosts(lab, a, b);
  return { name: 'bridge', label: 'Linux bridge, veth pairs', switchNs: s, a, b, pid: null, stop: async () => {} };
}

/** The PID a daemonised vde_switch wrote, or 0 while there is none. */
function readPidfile(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

async function vdeSwitch(lab: NetnsLab, register: Register): Promise<Peer> {
  const { s, a, b } = await hostNamespaces(lab, 'vde');
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-bench-vde-'));
  const pidfile = join(dir, 'vde.pid');
  let pid = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    pid ||= readPidfile(pidfile); // interrupted between fork and our read
    if (pid > 0) await killPid(pid);
    pid = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  register(stop);
  try {
    await lab.exec(s, ['vde_switch', '-d', '-s', join(dir, 'ctl'), '-M', join(dir, 'mgmt'), '-p', pidfile, '-t', a.dev, '-t', b.dev], { check: true });
    const deadline = Date.now() + kPidfileWaitMs;
    while (pid === 0) {
      pid = readPidfile(pidfile);
      if (pid === 0 && Date.now() > deadline) throw new Error('vde_switch wrote no pidfile');
      if (pid === 0) await sleep(20);
    }
    for (const h of [a, b]) await lab.ip(s, 'link', 'set', 'dev', h.dev, 'netns', h.ns);
    await configureHosts(lab, a, b);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'vde',
    label: 'vde_switch, TAPs it owns',
    switchNs: s,
    a,
    b,
    get pid() {
      return pid > 0 ? pid : null;
    },
    stop,
  };
}

async function vswitch(lab: NetnsLab, register: Register): Promise<Peer> {
  const { s, a, b } = await hostNamespaces(lab, 'vswitch');
  const daemon = new TestDaemon(s);
  const stop = () => daemon.cleanup();
  register(stop);
  try {
    await daemon.start({
      switches: [
        {
          name: 'bench',
          ports: [
            { name: 'a', nic: { type: 'tap', name: a.dev, netns: a.ns } },
            { name: 'b', nic: { type: 'tap', name: b.dev, netns: b.ns } },
          ],
        },
      ],
    });
    await configureHosts(lab, a, b);
  } catch (err) {
    await stop();
    throw err;
  }
  // `ip netns exec` execs node, so the child's PID is the daemon's (main and datapath worker threads)
  const pid = daemon.proc?.pid ?? null;
  return { name: 'vswitch', label: 'vswitch daemon, TAP ports', switchNs: s, a, b, pid, stop };
}

/** Receives a peer's stopper before its process starts, so an interrupt during setup still ends it. */
export type Register = (stop: () => Promise<void>) => void;

/** Build one peer inside `lab`. On failure nothing of the peer's process is left running; `register`
 *  gets the stopper as soon as there may be a process to stop (SIGINT during setup). */
export function setupPeer(name: PeerName, lab: NetnsLab, register: Register = () => {}): Promise<Peer> {
  switch (name) {
    case 'vswitch':
      return vswitch(lab, register);
    case 'vde':
      return vdeSwitch(lab, register);
    case 'bridge':
      return linuxBridge(lab);
  }
}
