/**
 * Network-namespace lab for integration tests: real hosts (ping, iperf3, tcpdump) on the far side of a
 * switch port, without touching the machine's own network.
 *
 * Why: tests need real kernels on the other end of the wire, but the root namespace holds
 * the machine's uplink and other runs may share the machine. So every host
 * lives in its own namespace named `<prefix>-<short>` with a per-run random prefix; addresses and routes
 * are only ever added inside those namespaces (this module has no call that configures the root one);
 * and `cleanup()` removes exactly what this lab made: its namespaces (which deletes the interfaces moved
 * into them) and its processes, by PID.
 *
 * Design notes: README.md in this folder, section "netns.ts".
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Characters of randomness in a run prefix: 36^4 = 1.7 M names, enough for concurrent runs on one machine. */
const kPrefixRandom = 4;
/** Longest interface name Linux accepts (IFNAMSIZ 16 minus the NUL). A prefix of 6 leaves 9 for the rest. */
export const kMaxIfName = 15;
/** Default time limit for one `exec`: long enough for `ping -c3`, short enough to fail a hung test. */
const kExecTimeoutMs = 20_000;
/** Grace between SIGTERM and SIGKILL in cleanup: tcpdump flushes its file in well under that. */
const kKillGraceMs = 1_000;

/** A short unique per-run prefix: `vs` + 4 random base36 characters, e.g. `vsk3f9`. */
export function runPrefix(): string {
  let s = '';
  for (let i = 0; i < kPrefixRandom; i++) s += Math.floor(Math.random() * 36).toString(36);
  return `vs${s}`;
}

/** Why integration tests cannot run here, or false when they can: root, /dev/net/tun and `ip` present.
 *  Meant for `test('...', { skip: netnsSkipReason() }, ...)`. */
export function netnsSkipReason(): string | false {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, TAP)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return 'needs /dev/net/tun (tun module)';
  }
  const path = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  const hasIp = path.some((dir) => {
    try {
      accessSync(`${dir}/ip`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!hasIp) return 'needs iproute2 (`ip`): apt-get install -y iproute2';
  return false;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal or the timeout. */
  code: number | null;
}

export interface ExecOptions {
  /** Kill the command after this many ms (default 20 s). */
  timeoutMs?: number;
  /** Throw (with stderr in the message) when the exit code is not 0. Default false. */
  check?: boolean;
}

/** Run a command in the *current* (normally root) namespace and collect its output; never rejects for a
 *  non-zero exit unless `check`. For read-only queries (`ip link show`); configure hosts with NetnsLab. */
export function run(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd[0],
      cmd.slice(1),
      { timeout: opts.timeoutMs ?? kExecTimeoutMs, maxBuffer: 64 * 1024 * 1024 /* tcpdump -x dumps */ },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e && typeof e.code === 'string') return reject(new Error(`${cmd[0]}: ${e.message}`, { cause: e })); // ENOENT
        const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        if (opts.check && code !== 0) {
          return reject(
            new Error(`\`${cmd.join(' ')}\` exited ${code}: ${String(stderr).trim() || String(stdout).trim()}`),
          );
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor(prefix: string = runPrefix()) {
    if (!/^[a-z0-9]{1,8}$/.test(prefix)) throw new RangeError(`netns prefix must be 1-8 of [a-z0-9], got "${prefix}"`);
    this.prefix = prefix;
  }

  /** An interface name unique to this run: prefix + suffix, checked against the 15-byte limit. */
  ifname(suffix: string): string {
    const name = this.prefix + suffix;
    if (name.length > kMaxIfName) throw new RangeError(`interface name "${name}" is longer than ${kMaxIfName} bytes`);
    return name;
  }

  /** Create namespace `<prefix>-<short>` with its loopback up; returns the full name. */
  async addNs(short: string): Promise<string> {
    const name = `${this.prefix}-${short}`;
    await run(['ip', 'netns', 'add', name], { check: true });
    this.namespaces.push(name);
    await run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], { check: true });
    return name;
  }

  /** Run `cmd` inside namespace `ns` (`ip netns exec`) and collect its output. */
  exec(ns: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.own(ns);
    return run(['ip', 'netns', 'exec', ns, ...cmd], opts);
  }

  /** `ip -n ns ARGS...` with check: configure links, addresses, routes inside one of our namespaces. */
  async ip(ns: string, ...args: string[]): Promise<string> {
    this.own(ns);
    return (await run(['ip', '-n', ns, ...args], { check: true })).stdout;
  }

  /** Start a long-running command in `ns` (tcpdump, iperf3 -s). `ip netns exec` execs the command, so
   *  the child's PID is the command's; cleanup() kills it by that PID. */
  spawn(ns: string, cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    this.own(ns);
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Move a root-namespace interface (e.g. a TAP the test opened) into one of our namespaces. */
  async moveLink(ifname: string, ns: string): Promise<void> {
    this.own(ns);
    await run(['ip', 'link', 'set', 'dev', ifname, 'netns', ns], { check: true });
  }

  /** Kill every process this lab spawned (SIGTERM, then SIGKILL after a grace) and delete every namespace
   *  it made, which also deletes the interfaces inside them. Safe to call twice. */
  async cleanup(): Promise<void> {
    const alive = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined);
    await Promise.all(
      alive.map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              try {
                process.kill(c.pid!, 'SIGKILL');
              } catch {
                /* already gone */
              }
            }, kKillGraceMs);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            try {
              process.kill(c.pid!, 'SIGTERM');
            } catch {
              clearTimeout(timer);
              resolve();
            }
          }),
      ),
    );
    this.children.clear();
    const errors: string[] = [];
    while (this.namespaces.length > 0) {
      const ns = this.namespaces.pop()!;
      const r = await run(['ip', 'netns', 'del', ns]);
      if (r.code !== 0) errors.push(`${ns}: ${r.stderr.trim()}`);
    }
    if (errors.length > 0) throw new Error(`netns cleanup failed: ${errors.join('; ')}`);
  }

  private own(ns: string): void {
    if (!this.namespaces.includes(ns))
      throw new Error(`namespace "${ns}" was not made by this lab (prefix ${this.prefix})`);
  }
}
