/**
 * Loss the switch cannot see, read where the kernel counts it: frames a host sent into a TAP that the
 * switch had not read before the TAP's queue filled (the device's tx_dropped), frames the switch wrote that
 * the host's stack dropped (rx_dropped), and datagrams that overflowed a dgram port's socket buffer (the
 * `drops` column of /proc/net/udp and udp6). Shown per port beside the switch's own drop reasons.
 *
 * Control path only, read on demand: one `ip -s -j link` per namespace that holds TAP ports (a TAP may
 * live in another namespace, which sysfs does not show; one call lists every device there, so fifty TAPs
 * in one namespace cost one process, not fifty), bounded by a timeout, so a slow or missing tool costs the
 * counters call at most that, never the datapath.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { KernelDrops, PortConfig } from './model.js';

/** Bound on one `ip` call: far above its few ms, low enough that a counters call never hangs. */
const kIpTimeoutMs = 2000;

type LinkStats = { tx: { dropped: number }; rx: { dropped: number } };

/** Every device's stats64 in one namespace (the caller's when `netns` is undefined), by interface name. */
function ipLinkStats(netns: string | undefined): Promise<Map<string, LinkStats>> {
  const args = [...(netns ? ['-n', netns] : []), '-s', '-j', 'link', 'show'];
  const out = new Map<string, LinkStats>();
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: kIpTimeoutMs, maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return resolve(out);
      try {
        for (const link of JSON.parse(stdout) as Array<{ ifname?: string; stats64?: LinkStats }>) {
          if (link.ifname && link.stats64) out.set(link.ifname, link.stats64);
        }
      } catch {
        // A tool whose output is not JSON reports nothing; the counters call still answers.
      }
      resolve(out);
    });
  });
}

/** Drops per local UDP port from /proc/net/udp and udp6 (this process's network namespace). */
async function udpDropsByPort(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13) continue;
      const port = parseInt(cols[1]!.split(':')[1]!, 16);
      out.set(port, (out.get(port) ?? 0) + Number(cols[12]));
    }
  }
  return out;
}

/** Kernel-side drops for every port that has them to report (TAP and dgram ports), by port name. */
export async function kernelDrops(
  ports: readonly PortConfig[],
  boundPort: (name: string) => number | undefined,
): Promise<Record<string, KernelDrops>> {
  const out: Record<string, KernelDrops> = {};
  const udp = ports.some((p) => p.nic.type === 'dgram') ? await udpDropsByPort() : null;
  const namespaces = [...new Set(ports.flatMap((p) => (p.nic.type === 'tap' ? [p.nic.netns ?? ''] : [])))];
  const links = new Map(
    await Promise.all(namespaces.map(async (ns) => [ns, await ipLinkStats(ns || undefined)] as const)),
  );
  for (const p of ports) {
    if (p.nic.type === 'tap') {
      const s = links.get(p.nic.netns ?? '')?.get(p.nic.name);
      if (s) out[p.name] = { tapTxDropped: s.tx.dropped, tapRxDropped: s.rx.dropped };
    } else if (p.nic.type === 'dgram' && udp) {
      const port = p.nic.localPort || boundPort(p.name);
      if (port !== undefined && udp.has(port)) out[p.name] = { socketDrops: udp.get(port)! };
    }
  }
  return out;
}
