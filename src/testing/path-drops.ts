/**
 * The kernel's drops on a stream's path between two namespace hosts, so an e2e test or the soak can tell a
 * loss the switch caused from one the kernel caused: the sender's TAP (the kernel's queue toward the switch
 * overflowed: the switch did not read in time), the receiver's TAP, the receiver's UDP socket buffer, and
 * the kernel's per-CPU input backlog (global, so it may include others).
 */
import { readFileSync } from 'node:fs';
import type { NetnsLab } from './netns.js';

export interface PathDrops {
  senderTap: number;
  receiverTap: number;
  udpRcvbuf: number;
  softnet: number;
}

/** A host at the end of the path: its namespace and the TAP the switch gave it. */
export interface PathHost {
  ns: string;
  tap: string;
}

export async function pathDrops(lab: NetnsLab, tx: PathHost, rx: PathHost): Promise<PathDrops> {
  const link = async (h: PathHost) =>
    JSON.parse(await lab.ip(h.ns, '-s', '-j', 'link', 'show', 'dev', h.tap))[0].stats64;
  const snmp = (await lab.exec(rx.ns, ['cat', '/proc/net/snmp'], { check: true })).stdout
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const udp = Object.fromEntries(
    snmp[0]!
      .split(/\s+/)
      .slice(1)
      .map((k, i) => [k, Number(snmp[1]!.split(/\s+/)[i + 1])]),
  );
  const softnet = readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[1]!, 16), 0);
  return {
    senderTap: (await link(tx)).tx.dropped,
    receiverTap: (await link(rx)).rx.dropped,
    udpRcvbuf: udp.RcvbufErrors ?? 0,
    softnet,
  };
}

export function pathDropsDelta(a: PathDrops, b: PathDrops): PathDrops {
  return {
    senderTap: b.senderTap - a.senderTap,
    receiverTap: b.receiverTap - a.receiverTap,
    udpRcvbuf: b.udpRcvbuf - a.udpRcvbuf,
    softnet: b.softnet - a.softnet,
  };
}
