/**
 * The switches under test, each joining two namespace hosts: A (10.88.0.1/24) and B (10.88.0.2/24).
 *
 *          ns <p>-<k>a                ns <p>-<k>s                 ns <p>-<k>b
 *   [host A: dev, 10.88.0.1] ==== [ switch under test ] ==== [host B: dev, 10.88.0.2]
 *
 * Design notes: README.md in this folder, section "peers.ts".
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDaemon } from '../testing/daemon.js';
import type { NetnsLab } from '../testing/netns.js';

export type PeerName =
  | 'vswitch'
  | 'vswitch-offload'
  | 'vswitch-poll'
  | 'vswitch-base'
  | 'vde'
  | 'bridge'
  | 'ovs'
  | 'ovs-tso'
  | 'tapfwd';
export const kPeerNames: readonly PeerName[] = [
  'vswitch',
  'vswitch-offload',
  'vswitch-poll',
  'vswitch-base',
  'vde',
  'bridge',
  'ovs',
  'ovs-tso',
  'tapfwd',
];
/** Peers `npm run bench` runs without --only: the two opt-in variants (a poll window, another build) are left out. */
export const kDefaultPeers: readonly PeerName[] = [
  'vswitch',
  'vswitch-offload',
  'vde',
  'bridge',
  'ovs',
  'ovs-tso',
  'tapfwd',
];
/** The vswitch variants: the runner reports each as a ratio to every other peer. */
export const kVswitchPeers: readonly PeerName[] = ['vswitch', 'vswitch-offload', 'vswitch-poll', 'vswitch-base'];

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
const kTag: Record<PeerName, string> = {
  vswitch: 'vs',
  'vswitch-offload': 'vo',
  'vswitch-poll': 'vp',
  'vswitch-base': 'vb',
  vde: 'vd',
  bridge: 'br',
  ovs: 'ov',
  'ovs-tso': 'ot',
  tapfwd: 'tf',
};
/** How long a daemonised vde_switch may take to write its pidfile: it does so right after fork. */
const kPidfileWaitMs = 5_000;
/** Grace between SIGTERM and SIGKILL when stopping a switch: vde_switch exits at once on SIGTERM,
 *  ovs-vswitchd within about a second (it tears its ports down first). */
const kKillGraceMs = 3_000;

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

/** TAPs a switch created in its own namespace `s` move into the host namespaces (the switch keeps its
 *  file descriptors) and get configured there: vde_switch, OVS and tapfwd all create theirs this way. */
async function handOverTaps(lab: NetnsLab, s: string, a: BenchHost, b: BenchHost): Promise<void> {
  for (const h of [a, b]) await lab.ip(s, 'link', 'set', 'dev', h.dev, 'netns', h.ns);
  await configureHosts(lab, a, b);
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
  for (const [h, side] of [
    [a, 'pa'],
    [b, 'pb'],
  ] as const) {
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
    await lab.exec(
      s,
      ['vde_switch', '-d', '-s', join(dir, 'ctl'), '-M', join(dir, 'mgmt'), '-p', pidfile, '-t', a.dev, '-t', b.dev],
      { check: true },
    );
    const deadline = Date.now() + kPidfileWaitMs;
    while (pid === 0) {
      pid = readPidfile(pidfile);
      if (pid === 0 && Date.now() > deadline) throw new Error('vde_switch wrote no pidfile');
      if (pid === 0) await sleep(20);
    }
    await handOverTaps(lab, s, a, b);
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

async function vswitch(
  lab: NetnsLab,
  register: Register,
  offload: boolean,
  variant: { name: PeerName; pollWindowUs?: number; cli?: string } | null = null,
): Promise<Peer> {
  const name: PeerName = variant?.name ?? (offload ? 'vswitch-offload' : 'vswitch');
  const { s, a, b } = await hostNamespaces(lab, name);
  const opt = offload ? { offload: true } : {};
  const daemon = new TestDaemon(s, variant?.cli);
  const stop = () => daemon.cleanup();
  register(stop);
  try {
    await daemon.start({
      switches: [
        {
          name: 'bench',
          ...(variant?.pollWindowUs !== undefined ? { pollWindowUs: variant.pollWindowUs } : {}),
          ports: [
            { name: 'a', nic: { type: 'tap', name: a.dev, netns: a.ns, ...opt } },
            { name: 'b', nic: { type: 'tap', name: b.dev, netns: b.ns, ...opt } },
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
  const label = variant?.cli
    ? `vswitch daemon from ${variant.cli}, TAP ports`
    : variant?.pollWindowUs !== undefined
      ? `vswitch daemon, TAP ports, poll window ${variant.pollWindowUs} us`
      : offload
        ? 'vswitch daemon, TAP ports, offload'
        : 'vswitch daemon, TAP ports';
  return { name, label, switchNs: s, a, b, pid, stop };
}

/** Database schema shipped by Debian's openvswitch-common. */
const kOvsSchema = '/usr/share/openvswitch/vswitch.ovsschema';
/** ovsdb-server and ovs-vswitchd --detach return once they are ready (pidfile written); this bounds a
 *  hang, e.g. ovs-vswitchd waiting on a database it cannot reach. */
const kOvsStartMs = 30_000;

/**
 * Open vSwitch, userspace (netdev) datapath, run by hand. Everything of this instance is in `dir`:
 *
 *   ovsdb-tool create conf.db vswitch.ovsschema
 *   ovsdb-server conf.db --remote=punix:db.sock --pidfile=... --detach            (in the switch ns)
 *   ovs-vsctl --db=unix:db.sock --no-wait init [-- set Open_vSwitch . other_config:userspace-tso-enable=true]
 *   ovs-vswitchd unix:db.sock --pidfile=... --detach                              (in the switch ns)
 *   ovs-vsctl add-br vsbench -- set bridge vsbench datapath_type=netdev
 *   ovs-vsctl add-port vsbench <tapA> -- set Interface <tapA> type=tap             (and tapB)
 *   ip link set <tapA> netns <host A>                                              (and tapB)
 *
 * Both daemons are stopped by the PIDs in their pidfiles. The TSO key is set before ovs-vswitchd starts:
 * it is read once at start (its log then says "Userspace TCP Segmentation Offloading support enabled").
 */
async function openVSwitch(lab: NetnsLab, register: Register, tso: boolean): Promise<Peer> {
  const name: PeerName = tso ? 'ovs-tso' : 'ovs';
  const { s, a, b } = await hostNamespaces(lab, name);
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-bench-ovs-'));
  const db = join(dir, 'conf.db');
  const sock = `unix:${join(dir, 'db.sock')}`;
  const pidfiles = { db: join(dir, 'ovsdb-server.pid'), vsd: join(dir, 'ovs-vswitchd.pid') };
  // every OVS tool reads these: a private run/log/db/config directory, nothing under /var/run/openvswitch
  const env = ['env', `OVS_RUNDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_DBDIR=${dir}`, `OVS_SYSCONFDIR=${dir}`];
  const ovs = (cmd: string[]) => lab.exec(s, [...env, ...cmd], { check: true, timeoutMs: kOvsStartMs });
  const vsctl = (...args: string[]) => ovs(['ovs-vsctl', `--db=${sock}`, '--timeout=20', ...args]);
  let vsdPid = 0;
  let dbPid = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // interrupted between a daemon's fork and our read of its pidfile: the file says who to stop
    vsdPid ||= readPidfile(pidfiles.vsd);
    dbPid ||= readPidfile(pidfiles.db);
    if (vsdPid > 0) await killPid(vsdPid);
    if (dbPid > 0) await killPid(dbPid);
    vsdPid = dbPid = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  register(stop);
  const bridge = 'vsbench'; // not br0: nothing here is shared with a system OVS, but the name says whose it is
  try {
    await ovs(['ovsdb-tool', 'create', db, kOvsSchema]);
    await ovs([
      'ovsdb-server',
      db,
      `--remote=p${sock}`,
      `--pidfile=${pidfiles.db}`,
      `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(dir, 'ovsdb-server.log')}`,
      '-vconsole:off',
      '--detach',
      '--no-chdir',
    ]);
    dbPid = readPidfile(pidfiles.db);
    if (dbPid === 0) throw new Error('ovsdb-server wrote no pidfile');
    await vsctl(
      '--no-wait',
      'init',
      ...(tso ? ['--', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true'] : []),
    );
    await ovs([
      'ovs-vswitchd',
      sock,
      `--pidfile=${pidfiles.vsd}`,
      `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      '-vconsole:off',
      '--detach',
      '--no-chdir',
    ]);
    vsdPid = readPidfile(pidfiles.vsd);
    if (vsdPid === 0) throw new Error('ovs-vswitchd wrote no pidfile');
    await vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
    // without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change: the TAPs exist
    for (const h of [a, b]) await vsctl('add-port', bridge, h.dev, '--', 'set', 'Interface', h.dev, 'type=tap');
    const log = readFileSync(join(dir, 'ovs-vswitchd.log'), 'utf8');
    if (tso && !log.includes('Userspace TCP Segmentation Offloading support enabled')) {
      throw new Error('ovs-vswitchd did not enable userspace TSO (its log does not say so)');
    }
    await handOverTaps(lab, s, a, b);
  } catch (err) {
    let tail = '';
    try {
      tail = readFileSync(join(dir, 'ovs-vswitchd.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      /* no log yet */
    }
    await stop();
    throw new Error(`${name}: ${(err as Error).message}${tail ? `\novs-vswitchd.log:\n${tail}` : ''}`, { cause: err });
  }
  return {
    name,
    label: tso ? 'OVS userspace, TAP ports, TSO on' : 'OVS userspace, TAP ports',
    switchNs: s,
    a,
    b,
    get pid() {
      return vsdPid > 0 ? vsdPid : null;
    },
    stop,
  };
}

/** Source of the reference forwarder, from dist/bench/ (or src/bench/) up to the repository root. */
const kTapfwdSource = fileURLToPath(new URL('../../native/tapfwd.c', import.meta.url));
/** How long tapfwd may take to create its two TAPs and say "ready": a few ms normally. */
const kTapfwdReadyMs = 5_000;
/** Bounds the compile of a 100-line C file. */
const kCompileMs = 60_000;

/**
 * Compile native/tapfwd.c into `dir` (`cc -O2 -o DIR/tapfwd native/tapfwd.c`) and return the binary's
 * path. Rejects with cc's first lines of output when it cannot: the runner then skips the peer with
 * that reason, as for a missing tool. Built at run time rather than by node-gyp because it is a program,
 * not an addon, and only the bench needs it.
 */
export function buildTapfwd(dir: string): Promise<string> {
  const bin = join(dir, 'tapfwd');
  return new Promise((resolve, reject) => {
    execFile('cc', ['-O2', '-o', bin, kTapfwdSource], { timeout: kCompileMs }, (err, _stdout, stderr) => {
      if (!err) return resolve(bin);
      const why = stderr.trim().split('\n').slice(0, 3).join(' / ') || err.message;
      reject(new Error(`cc -O2 ${kTapfwdSource} failed: ${why}`));
    });
  });
}

/**
 * The reference forwarder (native/tapfwd.c): `tapfwd tapA tapB` spawned in the switch namespace, its PID
 * kept; it creates both TAPs there and prints "ready", then the TAPs move into the host namespaces as
 * vde_switch's do. Stopped by SIGTERM to that PID (its default action ends it at once).
 */
async function tapfwd(lab: NetnsLab, register: Register, bin: string | undefined): Promise<Peer> {
  if (!bin) throw new Error('tapfwd: no binary (buildTapfwd was not run)');
  const { s, a, b } = await hostNamespaces(lab, 'tapfwd');
  let pid = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (pid > 0) await killPid(pid);
    pid = 0;
  };
  register(stop);
  try {
    // `ip netns exec` execs, so the child's PID is tapfwd's own (the lab's cleanup also knows it)
    const child = lab.spawn(s, [bin, a.dev, b.dev]);
    pid = child.pid ?? 0;
    if (pid === 0) throw new Error('tapfwd did not start');
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => done(new Error('tapfwd did not say ready')), kTapfwdReadyMs);
      const onExit = (code: number | null) => done(new Error(`tapfwd exited (${code}) before ready: ${stderr.trim()}`));
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) done(null);
      };
      function done(err: Error | null) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // nothing more comes, but never let a full pipe stall it
        if (err) reject(err);
        else resolve();
      }
      child.once('exit', onExit);
      child.stdout?.on('data', onData);
    });
    await handOverTaps(lab, s, a, b);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'tapfwd',
    label: 'tapfwd reference, read+write only',
    switchNs: s,
    a,
    b,
    get pid() {
      return pid > 0 ? pid : null;
    },
    stop,
  };
}

/** Per-peer inputs the runner prepares beforehand. */
export interface PeerOptions {
  /** Path of the compiled native/tapfwd.c (buildTapfwd); needed for the tapfwd peer only. */
  tapfwdBin?: string;
  /** vswitch-poll: the poll window its daemon runs with, microseconds (default 200). */
  pollWindowUs?: number;
  /** vswitch-base: another build's dist/control/cli.js (a before/after pair in one run). */
  baseCli?: string;
}

/** Receives a peer's stopper before its process starts, so an interrupt during setup still ends it. */
export type Register = (stop: () => Promise<void>) => void;

/** Build one peer inside `lab`. On failure nothing of the peer's process is left running; `register`
 *  gets the stopper as soon as there may be a process to stop (SIGINT during setup). */
export function setupPeer(
  name: PeerName,
  lab: NetnsLab,
  register: Register = () => {},
  opts: PeerOptions = {},
): Promise<Peer> {
  switch (name) {
    case 'vswitch':
      return vswitch(lab, register, false);
    case 'vswitch-offload':
      return vswitch(lab, register, true);
    case 'vswitch-poll':
      return vswitch(lab, register, false, { name, pollWindowUs: opts.pollWindowUs ?? 200 });
    case 'vswitch-base':
      if (!opts.baseCli) throw new Error('vswitch-base needs --base DIST_DIR (another build of vswitch)');
      return vswitch(lab, register, false, { name, cli: opts.baseCli });
    case 'ovs':
      return openVSwitch(lab, register, false);
    case 'ovs-tso':
      return openVSwitch(lab, register, true);
    case 'vde':
      return vdeSwitch(lab, register);
    case 'bridge':
      return linuxBridge(lab);
    case 'tapfwd':
      return tapfwd(lab, register, opts.tapfwdBin);
  }
}
