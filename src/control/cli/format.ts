/**
 * Text views of what the API returns (the human side of every command; --json prints the data itself):
 * VLAN modes, endpoints, policy, ACL tables, counters, captures and the port table.
 */
import type {
  AclRule,
  CaptureStatus,
  ExtAclRule,
  NicConfig,
  PolicyStatus,
  RuleStats,
  SwitchCounters,
  VlanConfig,
} from '../model.js';
import type { PortView } from '../port-view.js';
import { table } from '../text-table.js';
import { hostPortText } from '../../ports/address.js';
import { UsageError } from './command.js';

/** VLAN IDs as typed: runs of three or more become `a-b` (`10,20,21,22,100-110` for 13 IDs), so a trunk
 *  carrying a range stays one short column and the text can be given back to `port vlan`. */
export function vidText(vids: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < vids.length; ) {
    let j = i;
    while (j + 1 < vids.length && vids[j + 1] === vids[j] + 1) j++;
    if (j - i >= 2) out.push(`${vids[i]}-${vids[j]}`);
    else for (let k = i; k <= j; k++) out.push(String(vids[k]));
    i = j + 1;
  }
  return out.join(',');
}

export function describeVlan(x: VlanConfig): string {
  if (x.mode === 'untagged') return 'untagged';
  if (x.mode === 'access') return `access ${x.vid}`;
  if (x.mode === 'private') return `private ${x.pvlan} ${x.primary}/${vidText(x.secondary)}`;
  return `trunk ${vidText(x.allowed)}${x.native ? ` native ${x.native}` : ''}${x.pruned?.length ? ` pruned ${vidText(x.pruned)}` : ''}`;
}

export function formatPolicy(port: string, r: PolicyStatus): string {
  const p = r.policy;
  const onOff = (x: boolean | undefined, dflt: boolean) => ((x ?? dflt) ? 'on' : 'off');
  const rate = (x: number | undefined) => (x ? `${x} bit/s` : 'off');
  const lines = [
    `port ${port}: mac ${r.mac ?? '-'}`,
    `  mac-spoofing ${onOff(p.macAddressSpoofing, false)}${r.mac ? '' : ' (no mac set: not checked)'}, dhcp-guard ${onOff(p.dhcpGuard, false)}, router-guard ${onOff(p.routerGuard, false)}, priority-tag ${onOff(p.ieeePriorityTag, true)}`,
    `  storm-limit ${p.stormLimit ? `${p.stormLimit} pps` : 'off'}, max-flows ${p.maxFlows || 'no quota'}, max-bandwidth ${rate(p.maximumBandwidth)}${p.maximumBurst ? ` burst ${p.maximumBurst} B` : ''}, min-bandwidth ${p.minimumBandwidthAbsolute ? `${p.minimumBandwidthAbsolute} bit/s` : `weight ${p.minimumBandwidthWeight ?? 1}`}`,
    `  mirror ${p.mirror ?? 'none'}${p.mirror === 'source' ? ` (${p.mirrorDirection ?? 'both'})` : ''}, ${p.acls?.length ?? 0} ACLs, ${p.extendedAcls?.length ?? 0} extended ACLs`,
  ];
  return lines.join('\n');
}

export function formatAcls(rules: AclRule[], stats: RuleStats[]): string {
  const hits = new Map(stats.map((s) => [s.id, s]));
  const rows = [['id', 'action', 'direction', 'local', 'remote', 'frames', 'bytes']];
  for (const a of rules)
    rows.push([
      String(a.id),
      a.action,
      a.direction,
      a.localIp ?? a.localMac ?? '-',
      a.remoteIp ?? a.remoteMac ?? '-',
      String(hits.get(a.id!)?.frames ?? 0),
      String(hits.get(a.id!)?.bytes ?? 0),
    ]);
  return table(rows);
}

export function formatExtAcls(rules: ExtAclRule[], stats: RuleStats[]): string {
  const hits = new Map(stats.map((s) => [s.id, s]));
  const rows = [['id', 'weight', 'action', 'direction', 'protocol', 'local', 'remote', 'stateful', 'frames', 'bytes']];
  const ep = (ip?: string, port?: string) => `${ip ?? 'any'}${port ? `:${port}` : ''}`;
  for (const a of [...rules].sort((x, y) => y.weight - x.weight))
    rows.push([
      String(a.id),
      String(a.weight),
      a.action,
      a.direction,
      String(a.protocol ?? 'any'),
      ep(a.localIp, a.localPort),
      ep(a.remoteIp, a.remotePort),
      a.stateful ? `yes (${a.idleTimeout ?? 60} s)` : 'no',
      String(hits.get(a.id!)?.frames ?? 0),
      String(hits.get(a.id!)?.bytes ?? 0),
    ]);
  return table(rows);
}

export function describeNic(n: NicConfig): string {
  switch (n.type) {
    case 'tap':
      return `tap ${n.name}${n.offload ? ' offload' : ''}${n.netns ? ` (netns ${n.netns})` : ''}`;
    case 'stream':
      return `stream ${n.mode} ${n.path ?? hostPortText(n.host ?? '127.0.0.1', n.port ?? 0)}`;
    case 'dgram': {
      const local = n.localHost ?? (n.remoteHost?.includes(':') ? '::1' : '127.0.0.1');
      return `dgram ${hostPortText(local, n.localPort)}${n.remotePort ? ` -> ${hostPortText(n.remoteHost ?? local, n.remotePort)}` : ''}`;
    }
    case 'memory':
      return 'memory';
    case 'vde':
      return `vde client ${n.path}`;
  }
}

export function formatCounters(c: SwitchCounters, only?: string): string {
  const names = Object.keys(c.ports).filter((n) => !only || n === only);
  if (only && names.length === 0) throw new UsageError(`no port named '${only}'`);
  const rows = [['port', 'rx frames', 'rx bytes', 'tx frames', 'tx bytes', 'unicast', 'flood', 'drops']];
  for (const n of names) {
    const p = c.ports[n];
    const drops =
      Object.entries(p.drops)
        .map(([r, k]) => `${r}=${k}`)
        .join(' ') || '-';
    rows.push([
      n,
      String(p.rxFrames),
      String(p.rxBytes),
      String(p.txFrames),
      String(p.txBytes),
      String(p.txUnicast ?? 0),
      String(p.txFlood ?? 0),
      drops,
    ]);
  }
  // Offloads (docs/offloads.md; VLAN strip/insert count as offloads too) and policy work (mirror copies,
  // frames held by the shaper): a second table, only for ports
  // where one of them did any work, so a switch without offload traffic prints exactly what it always did.
  // The fields are the port rows the features declare (switch/, offload/, policy/ counters.ts).
  const offCols = [
    ['vlanStripped', 'vlan stripped'],
    ['vlanInserted', 'vlan inserted'],
    ['offSegmented', 'gso segmented'],
    ['offSegments', 'segments out'],
    ['offCsum', 'csum completed'],
    ['offCoalesced', 'rsc coalesced'],
    ['mirrorCopies', 'mirror copies'],
    ['qosDelayed', 'qos delayed'],
  ] as const;
  const field = (n: string, k: string) => Number((c.ports[n] as unknown as Record<string, unknown>)[k] ?? 0);
  const offRows = [['port', ...offCols.map(([, h]) => h)]];
  for (const n of names) {
    const vals = offCols.map(([k]) => field(n, k));
    if (vals.some((x) => x !== 0)) offRows.push([n, ...vals.map(String)]);
  }
  const off = offRows.length > 1 ? `\n\n${table(offRows)}` : '';
  const f = c.fdb;
  const fl = c.flows;
  const flows =
    fl && fl.created > 0
      ? `\nACL flows: ${fl.active} active; created ${fl.created}, expired ${fl.expired}, refused ${fl.refused}, early-dropped ${fl.earlyDropped}, over quota ${fl.quotaRefused}`
      : '';
  // loss before the switch saw the frame (kernel counters), only where there was some
  const kern = names
    .map((n) => [n, c.ports[n]!.kernel] as const)
    .filter(([, k]) => k && (k.tapTxDropped ?? 0) + (k.tapRxDropped ?? 0) + (k.socketDrops ?? 0) > 0)
    .map(
      ([n, k]) =>
        `${n}: ${[k!.tapTxDropped ? `tap queue overflow ${k!.tapTxDropped}` : '', k!.tapRxDropped ? `host dropped ${k!.tapRxDropped}` : '', k!.socketDrops ? `socket buffer overflow ${k!.socketDrops}` : ''].filter(Boolean).join(', ')}`,
    );
  const kernel = kern.length ? `\nKernel drops (before the switch): ${kern.join('; ')}` : '';
  const r = c.datapath?.restarts ?? 0;
  const restarts = r
    ? `\nDatapath: workers replaced ${r} time${r === 1 ? '' : 's'} after a fault (see vswitch events)`
    : '';
  return `${table(rows)}${off}${kernel}\nMAC table: ${f.entries} entries; learned ${f.learned}, aged ${f.aged}, moved ${f.moved}, evicted ${f.evicted ?? 0}, refused ${f.refused}, flushed ${f.flushed}${flows}${restarts}`;
}

export function describeCapture(c: CaptureStatus): string {
  const limit =
    [c.count !== undefined ? `${c.count} frames` : '', c.seconds !== undefined ? `${c.seconds} s` : '']
      .filter(Boolean)
      .join(' or ') || 'until stopped';
  return `${c.switch}/${c.port} ${c.direction} -> ${c.file} (${limit})`;
}

export function captureSummary(c: CaptureStatus): string {
  const why = {
    count: 'count reached',
    seconds: 'time limit reached',
    stopped: 'stopped',
    'port-removed': 'port removed',
    'switch-removed': 'switch removed',
    error: 'file error',
  }[c.reason ?? 'stopped'];
  return `capture ${c.switch}/${c.port} ended (${why}): ${c.framesWritten} frames written to ${c.file}, ${c.captureLost} lost (capture ring full)${c.error ? `\n  ${c.error}` : ''}`;
}

/** Why a port is down, in words (its NIC says; '' when up): the `reason` column of `port list`. */
function downReason(p: PortView): string {
  if (p.adminDown) return "disconnected by 'port disconnect'";
  if (p.link === 'up') return '';
  const d = (p.detail ?? {}) as { down?: unknown; lastError?: unknown };
  return String(d.down ?? d.lastError ?? 'endpoint not connected');
}

/** Ports: link, VLAN, MTU, endpoint, the VM's MAC, the worker that hosts the NIC, and why a port is down. */
export function portTable(ports: PortView[]): string {
  const reasons = ports.map(downReason);
  const withReason = reasons.some(Boolean);
  return table([
    ['port', 'link', 'vlan', 'mtu', 'endpoint', 'mac', 'worker', ...(withReason ? ['reason'] : [])],
    ...ports.map((p, i) => [
      p.name,
      p.link + (p.adminDown ? ' (admin)' : ''),
      describeVlan(p.vlan),
      String(p.mtu),
      describeNic(p.nic),
      p.mac ?? '-',
      String(p.detail?.worker ?? '-'),
      ...(withReason ? [reasons[i] || '-'] : []),
    ]),
  ]);
}
