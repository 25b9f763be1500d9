/**
 * The system tools the namespace benchmark drives, and how to get them: Debian packages through apt-get.
 *
 * Why: the benchmark measures vswitch beside other switches with the same real tools a person would use
 * (ping, iperf3, trafgen, vde_switch, Open vSwitch, the kernel bridge through iproute2), and machines here
 * are handed over fresh, so the project must install what it needs itself (it adds nothing to
 * package.json: these are not npm packages). `node dist/bench/install.js` installs them; the runner calls
 * `ensureTools()` first and installs only what is missing.
 *
 * Design notes: README.md in this folder, section "install.ts".
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Tool {
  /** Binary looked up on PATH. */
  bin: string;
  /** Debian package that ships it. */
  pkg: string;
  /** What the bench does with it. */
  why: string;
  /** Not needed by the default peers. */
  optional?: boolean;
}

export const kTools: readonly Tool[] = [
  { bin: 'ip', pkg: 'iproute2', why: 'namespaces, veth, bridge, interface counters' },
  { bin: 'ping', pkg: 'iputils-ping', why: 'RTT' },
  { bin: 'iperf3', pkg: 'iperf3', why: 'TCP throughput (and the UDP fallback generator)' },
  { bin: 'vde_switch', pkg: 'vde2', why: 'the vde_switch peer' },
  { bin: 'trafgen', pkg: 'netsniff-ng', why: '64-byte UDP frame generator' },
  { bin: 'nft', pkg: 'nftables', why: "drop the UDP flood at host B's ingress (no ICMP answers)" },
  {
    bin: 'ovs-vswitchd',
    pkg: 'openvswitch-switch',
    why: 'the Open vSwitch peers (ovsdb-server, ovs-vsctl, ovsdb-tool come with it)',
  },
];

/** apt-get may wait on the dpkg lock held by another session's install: 10 minutes is generous for the
 *  packages above and still ends a hung run. */
const kAptTimeoutMs = 10 * 60_000;

/** Directories searched besides PATH: a non-login root shell may lack the sbin ones. */
const kExtraBinDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** True when `bin` is an executable on PATH or in the sbin/bin directories. */
export function hasBinary(bin: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...kExtraBinDirs];
  return dirs.some((d) => {
    try {
      accessSync(`${d}/${bin}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Tools not found, optional ones included only when asked. */
export function missingTools(opts: { optional?: boolean } = {}): Tool[] {
  return kTools.filter((t) => (opts.optional || !t.optional) && !hasBinary(t.bin));
}

function apt(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'apt-get',
      args,
      {
        timeout: kAptTimeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Install whatever is missing (root only). Returns the tools still missing afterwards, so the caller
 * can skip a peer or fall back (e.g. iperf3 instead of trafgen) and say so.
 */
export async function ensureTools(opts: { optional?: boolean; log?: (line: string) => void } = {}): Promise<Tool[]> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const missing = missingTools(opts);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    log(`bench: missing ${missing.map((t) => t.bin).join(', ')} and not root: cannot apt-get install`);
    return missing;
  }
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  log(`bench: installing ${pkgs.join(' ')} (apt-get)`);
  const install = ['install', '-y', '--no-install-recommends', ...pkgs];
  let r = await apt(install);
  if (r.code !== 0) {
    log('bench: apt-get install failed, refreshing package lists and retrying');
    await apt(['update']);
    r = await apt(install);
    if (r.code !== 0) log(`bench: apt-get install failed:\n${r.out.trim().split('\n').slice(-5).join('\n')}`);
  }
  return missingTools(opts);
}

// `node dist/bench/install.js`: install the bench's tools by hand.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const left = await ensureTools({ optional: true });
  if (left.length > 0) {
    console.error(`still missing: ${left.map((t) => `${t.bin} (${t.pkg})`).join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(
      'bench tools present: ' +
        kTools
          .filter((t) => hasBinary(t.bin))
          .map((t) => t.bin)
          .join(', '),
    );
  }
}
