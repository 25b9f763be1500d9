#!/usr/bin/env node
/**
 * The `vswitch` command. `vswitch run` is the daemon; every other command is a client of its management
 * API (control/api.ts), so the CLI, scripts and tests all drive the same validated path. Flags are parsed
 * with node:util parseArgs (no dependency); every command takes --json for machine-readable output, and
 * every refusal says what was wrong and what would be right.
 */
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { quietOnBrokenPipe } from './broken-pipe.js';
import { captureRequest } from './capture.js';
import { ApiClient, ApiError } from './client.js';
import { runDaemon } from './daemon.js';
import { defaultApiPath } from './defaults.js';
import type { AclRule, CaptureStatus, ExtAclRule, FdbEntry, FlowStatus, LinkEvent, NicConfig, PolicyStatus, PortConfig, PortStatus, QueuesStatus, RuleStats, SwitchConfig, SwitchCounters, VlanConfig } from './model.js';
import { qemuRecipe } from './recipes.js';
import { aclFromArgs, extAclFromArgs, policyFlagOptions, policyFromFlags } from './policy-args.js';
import { describeTuning, formatQueues, portQueuesFromFlags, queueFlagOptions, rssEntriesFromText, switchQueuesFromFlags, tuningFromFlags } from './queue-args.js';
import { table } from './text-table.js';
import { queueSettings } from './validate-queues.js';
import * as v from './validate.js';

export const usage = `vswitch: a userspace 802.1Q virtual switch

  vswitch run [--config FILE] [--api SOCK]         run the daemon (default config: switch sw0, QEMU ports vm1-vm3)
  vswitch switch list | show SW | rm SW
  vswitch switch add SW [--type private|internal] [--aging SECONDS] [--mac-table-size N] [--no-rsc]
                        [--min-bandwidth-mode weight|absolute] [--flow-table-size N]
                        [--workers N] [--vmq-queues N] [--rss-table-size N] [--moderation MODE|N/T]
                        [--dvmq on|off] [--dvmq-upper X] [--dvmq-lower X] [--dvmq-period MS] [--dvmq-min-move MS]
      --workers: datapath threads (default: one per core); MODE: off|low|medium|high|adaptive, N/T: wake a
      worker after N frames or T us (16/100); X: a worker's load, 0-1 (defaults 0.8 / 0.2)
  vswitch switch aging SW SECONDS                   MAC aging time (0 = never)
  vswitch switch mac-table-size SW N                MAC table size, on the running switch
  vswitch switch tune SW [--workers N] [--moderation MODE|N/T] [--dvmq on|off] [--dvmq-upper X] [--dvmq-lower X]
                         [--dvmq-period MS] [--dvmq-min-move MS]    change moderation / Dynamic VMQ at runtime
  vswitch queues SW                                 workers, VMQ queues (filter, worker, load), RSS table, queue moves
  vswitch queue move SW QUEUE WORKER                move a queue to a worker (Dynamic VMQ may move it again)
  vswitch rss set SW W0,W1,...                      rewrite the RSS table: one worker per entry (as many as its size)
  vswitch port list SW
  vswitch port add SW PORT ENDPOINT [--vlan MODE] [--mtu N] [--mac-limit N] [--disconnected] [--vmq-weight 0-100] [--rss on|off]
      ENDPOINT: --tap IFNAME [--netns NS] [--no-create] [--offload] [--multi-queue] | --listen PATH | --listen-tcp [HOST:]PORT
                | --connect PATH | --connect-tcp HOST:PORT | --dgram LPORT[:RHOST:RPORT]  [--vde]
  vswitch port rm SW PORT
  vswitch port vlan SW PORT untagged | access VID | trunk ALLOWED [--native VID] [--pruned LIST]
      ALLOWED/LIST: comma-separated VIDs and ranges, e.g. 10,20,100-110
      | private isolated|community PRIMARY SECONDARY | private promiscuous PRIMARY SECONDARIES
  vswitch port mtu SW PORT MTU
  vswitch port mac-limit SW PORT N                     port security: at most N learned MACs (0 = no limit)
  vswitch port disconnect SW PORT | connect SW PORT   link down / up (learned MACs flushed on down)
  vswitch port netdev SW PORT                          the QEMU -netdev/-device line for the port
  vswitch port policy SW PORT [SETTINGS]               show, or change, the port's policy (Hyper-V names):
      --mac MAC|none  --mac-spoofing on|off  --dhcp-guard on|off  --router-guard on|off  --priority-tag on|off
      --storm-limit PPS  --max-bandwidth RATE [--max-burst BYTES]  --min-weight 1-100 | --min-absolute RATE
      --mirror none|source|destination [--mirror-direction ingress|egress|both]     RATE: 50M, 1.5G, 800k
  vswitch acl add SW PORT allow|deny|meter inbound|outbound|both  --local-ip|--remote-ip PREFIX|any
                                                       and/or --local-mac|--remote-mac MAC  (most specific wins)
  vswitch acl list SW PORT | rm SW PORT ID             rules with hit counters (frames, bytes)
  vswitch xacl add SW PORT allow|deny inbound|outbound|both WEIGHT [--protocol tcp|udp|icmp|icmpv6|N]
       [--local-ip P] [--remote-ip P] [--local-port N[-M]] [--remote-port N[-M]] [--stateful [--idle-timeout S]]
                                                       extended ACL: higher weight first, first match wins
  vswitch xacl list SW PORT | rm SW PORT ID
  vswitch flows SW [--port PORT]                       stateful ACL flows (local = the port's endpoint), idle time
  vswitch fdb show SW | flush SW [--port PORT]
  vswitch fdb add SW MAC VID PORT | del SW MAC VID     static entries
  vswitch counters SW [PORT]                           rx/tx frames and bytes, drops by reason
  vswitch events                                       recent link up/down events
  vswitch capture SW PORT -w FILE [--direction in|out|both] [--count N] [--seconds S] [--no-wait]
                                                       write a port's frames to a pcap file (tshark -r FILE);
                                                       waits for the limit or Ctrl-C, then prints frames written/lost
  vswitch capture list SW | stop SW PORT               running captures / stop one
  vswitch config show                                  the running configuration (config file format)

Global options: --api SOCK (default ${defaultApiPath()}, or $VSWITCH_API), --json
`;

class UsageError extends Error {}

const options = {
  api: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  type: { type: 'string' },
  aging: { type: 'string' },
  'mac-table-size': { type: 'string' },
  tap: { type: 'string' },
  netns: { type: 'string' },
  'no-create': { type: 'boolean' },
  offload: { type: 'boolean' },
  'multi-queue': { type: 'boolean' },
  'no-rsc': { type: 'boolean' },
  listen: { type: 'string' },
  'listen-tcp': { type: 'string' },
  connect: { type: 'string' },
  'connect-tcp': { type: 'string' },
  dgram: { type: 'string' },
  vde: { type: 'boolean' },
  vlan: { type: 'string' },
  mtu: { type: 'string' },
  'mac-limit': { type: 'string' },
  disconnected: { type: 'boolean' },
  native: { type: 'string' },
  pruned: { type: 'string' },
  port: { type: 'string' },
  write: { type: 'string', short: 'w' },
  direction: { type: 'string' },
  count: { type: 'string' },
  seconds: { type: 'string' },
  'no-wait': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'min-bandwidth-mode': { type: 'string' },
  'flow-table-size': { type: 'string' },
  ...policyFlagOptions,
  ...queueFlagOptions,
} as const;

type Flags = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

function num(text: string | undefined, what: string): number {
  if (text === undefined || !/^-?\d+$/.test(text)) throw new UsageError(`${what} must be a whole number, got '${text ?? ''}'`);
  return Number(text);
}

function need(args: string[], n: number, shape: string): void {
  if (args.length < n) throw new UsageError(`missing arguments: expected '${shape}'`);
}

function list(text: string): (number | string)[] {
  return text.split(',').filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** `access 10`, `trunk 10,20 --native 30`, `untagged` -> a validated VlanConfig. */
export function vlanFromArgs(args: string[], f: Flags): VlanConfig {
  const [mode, arg] = args;
  const raw: Record<string, unknown> = { mode };
  if (mode === 'access') raw.vid = num(arg, 'access VID');
  if (mode === 'private') {
    const [, pvlan, primary, secondary] = args;
    if (!pvlan || !primary || !secondary) throw new UsageError("private needs a mode, the primary and the secondary VLAN(s), e.g. 'private isolated 100 101'");
    Object.assign(raw, { pvlan, primary: num(primary, 'primary VID'), secondary: list(secondary) });
  }
  if (mode === 'trunk') {
    if (!arg) throw new UsageError("trunk needs the allowed VLANs, e.g. 'trunk 10,20,100-110'");
    raw.allowed = list(arg);
    if (f.native !== undefined) raw.native = num(f.native, '--native');
    if (f.pruned !== undefined) raw.pruned = list(f.pruned);
  }
  return v.vlanConfig(raw, 'vlan');
}

function hostPort(text: string, what: string): { host?: string; port: number } {
  const i = text.lastIndexOf(':');
  return i < 0 ? { port: num(text, what) } : { host: text.slice(0, i), port: num(text.slice(i + 1), what) };
}

export function nicFromFlags(f: Flags): NicConfig {
  const given = (['tap', 'listen', 'listen-tcp', 'connect', 'connect-tcp', 'dgram'] as const).filter((k) => f[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError(`give exactly one endpoint: --tap IFNAME, --listen PATH, --listen-tcp [HOST:]PORT, --connect PATH, --connect-tcp HOST:PORT or --dgram LPORT[:RHOST:RPORT]${given.length ? ` (got ${given.map((g) => '--' + g).join(', ')})` : ''}`);
  const framing = f.vde ? 'vde' : undefined;
  let raw: Record<string, unknown>;
  switch (given[0]) {
    case 'tap':
      raw = { type: 'tap', name: f.tap, ...(f.netns ? { netns: f.netns } : {}), ...(f['no-create'] ? { create: false } : {}), ...(f.offload ? { offload: true } : {}), ...(f['multi-queue'] ? { multiQueue: true } : {}) };
      break;
    case 'listen':
      raw = { type: 'stream', mode: 'listen', path: f.listen };
      break;
    case 'connect':
      raw = { type: 'stream', mode: 'connect', path: f.connect };
      break;
    case 'listen-tcp':
      raw = { type: 'stream', mode: 'listen', ...hostPort(f['listen-tcp']!, '--listen-tcp port') };
      break;
    case 'connect-tcp': {
      const hp = hostPort(f['connect-tcp']!, '--connect-tcp port');
      if (!hp.host) throw new UsageError('--connect-tcp needs HOST:PORT, e.g. 127.0.0.1:5555');
      raw = { type: 'stream', mode: 'connect', ...hp };
      break;
    }
    case 'dgram': {
      const parts = f.dgram!.split(':');
      if (parts.length !== 1 && parts.length !== 3) throw new UsageError(`--dgram takes LPORT or LPORT:RHOST:RPORT, got '${f.dgram}'`);
      raw = { type: 'dgram', localPort: num(parts[0], '--dgram local port') };
      if (parts.length === 3) Object.assign(raw, { remoteHost: parts[1], remotePort: num(parts[2], '--dgram remote port') });
      break;
    }
  }
  if (framing) raw.framing = framing;
  return v.nicConfig(raw, 'nic');
}

function describeVlan(x: VlanConfig): string {
  if (x.mode === 'untagged') return 'untagged';
  if (x.mode === 'access') return `access ${x.vid}`;
  if (x.mode === 'private') return `private ${x.pvlan} ${x.primary}/${x.secondary.join(',')}`;
  return `trunk ${x.allowed.join(',')}${x.native ? ` native ${x.native}` : ''}${x.pruned?.length ? ` pruned ${x.pruned.join(',')}` : ''}`;
}

function formatPolicy(port: string, r: PolicyStatus): string {
  const p = r.policy;
  const onOff = (x: boolean | undefined, dflt: boolean) => ((x ?? dflt) ? 'on' : 'off');
  const rate = (x: number | undefined) => (x ? `${x} bit/s` : 'off');
  const lines = [
    `port ${port}: mac ${r.mac ?? '-'}`,
    `  mac-spoofing ${onOff(p.macAddressSpoofing, false)}${r.mac ? '' : ' (no mac set: not checked)'}, dhcp-guard ${onOff(p.dhcpGuard, false)}, router-guard ${onOff(p.routerGuard, false)}, priority-tag ${onOff(p.ieeePriorityTag, true)}`,
    `  storm-limit ${p.stormLimit ? `${p.stormLimit} pps` : 'off'}, max-bandwidth ${rate(p.maximumBandwidth)}${p.maximumBurst ? ` burst ${p.maximumBurst} B` : ''}, min-bandwidth ${p.minimumBandwidthAbsolute ? `${p.minimumBandwidthAbsolute} bit/s` : `weight ${p.minimumBandwidthWeight ?? 1}`}`,
    `  mirror ${p.mirror ?? 'none'}${p.mirror === 'source' ? ` (${p.mirrorDirection ?? 'both'})` : ''}, ${p.acls?.length ?? 0} ACLs, ${p.extendedAcls?.length ?? 0} extended ACLs`,
  ];
  return lines.join('\n');
}

function formatAcls(rules: AclRule[], stats: RuleStats[]): string {
  const hits = new Map(stats.map((s) => [s.id, s]));
  const rows = [['id', 'action', 'direction', 'local', 'remote', 'frames', 'bytes']];
  for (const a of rules)
    rows.push([String(a.id), a.action, a.direction, a.localIp ?? a.localMac ?? '-', a.remoteIp ?? a.remoteMac ?? '-', String(hits.get(a.id!)?.frames ?? 0), String(hits.get(a.id!)?.bytes ?? 0)]);
  return table(rows);
}

function formatExtAcls(rules: ExtAclRule[], stats: RuleStats[]): string {
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

function describeNic(n: NicConfig): string {
  switch (n.type) {
    case 'tap':
      return `tap ${n.name}${n.offload ? ' offload' : ''}${n.netns ? ` (netns ${n.netns})` : ''}`;
    case 'stream':
      return `stream ${n.mode} ${n.path ?? `${n.host ?? ''}:${n.port}`}`;
    case 'dgram':
      return `dgram ${n.localHost ?? '127.0.0.1'}:${n.localPort}${n.remotePort ? ` -> ${n.remoteHost ?? '127.0.0.1'}:${n.remotePort}` : ''}`;
    case 'memory':
      return 'memory';
  }
}

function formatCounters(c: SwitchCounters, only?: string): string {
  const names = Object.keys(c.ports).filter((n) => !only || n === only);
  if (only && names.length === 0) throw new UsageError(`no port named '${only}'`);
  const rows = [['port', 'rx frames', 'rx bytes', 'tx frames', 'tx bytes', 'unicast', 'flood', 'drops']];
  for (const n of names) {
    const p = c.ports[n];
    const drops = Object.entries(p.drops).map(([r, k]) => `${r}=${k}`).join(' ') || '-';
    rows.push([n, String(p.rxFrames), String(p.rxBytes), String(p.txFrames), String(p.txBytes), String(p.txUnicast ?? 0), String(p.txFlood ?? 0), drops]);
  }
  // Offloads (DESIGN.md section 6; VLAN strip/insert count as offloads too) and policy work (mirror copies,
  // frames held by the shaper): a second table, only for ports
  // where one of them did any work, so a switch without offload traffic prints exactly what it always did.
  // The fields come from the counter block (dataplane/counters.ts portFields); an older daemon lacks the off* ones.
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
  const flows = fl && fl.created > 0 ? `\nACL flows: ${fl.active} active; created ${fl.created}, expired ${fl.expired}, refused ${fl.refused}` : '';
  return `${table(rows)}${off}\nMAC table: ${f.entries} entries; learned ${f.learned}, aged ${f.aged}, moved ${f.moved}, evicted ${f.evicted ?? 0}, refused ${f.refused}, flushed ${f.flushed}${flows}`;
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. Run 'vswitch --help' for usage.`);
  }
  const f = parsed.values as Flags;
  const [cmd, sub, ...rest] = parsed.positionals;
  if (f.help || !cmd) {
    out(usage);
    return 0;
  }
  if (cmd === 'run') {
    const stop = await runDaemon({ config: f.config, api: f.api });
    await new Promise<void>((resolve) => {
      const shutdown = (sig: string) => {
        console.log(`vswitch: ${sig}, shutting down`);
        stop().then(resolve, (err) => {
          console.error(`vswitch: shutdown error: ${(err as Error).message}`);
          resolve();
        });
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
    return 0;
  }
  const api = new ApiClient(f.api ?? defaultApiPath());
  const print = (human: string, data: unknown) => out(f.json ? JSON.stringify(data, null, 2) : human);
  const sw = (s: string | undefined) => encodeURIComponent(v.switchName(s, 'switch name'));
  const pt = (s: string | undefined) => encodeURIComponent(v.portName(s, 'port name'));
  if (cmd === 'queues') {
    if (!sub || rest.length) throw new UsageError("expected 'queues SW'");
    const r = await api.call<QueuesStatus>('GET', `/switches/${sw(sub)}/queues`);
    print(formatQueues(r), r);
    return 0;
  }
  if (cmd === 'flows') {
    if (!sub) throw new UsageError("missing arguments: expected 'flows SW [--port PORT]'");
    const q = f.port !== undefined ? `?port=${pt(f.port)}` : '';
    const r = await api.call<FlowStatus[]>('GET', `/switches/${sw(sub)}/flows${q}`);
    const rows = [['port', 'protocol', 'local', 'remote', 'idle s', 'timeout s', 'rule']];
    const ep = (a: string, p: number) => (a.includes(':') ? `[${a}]` : a) + (p ? `:${p}` : '');
    for (const x of r) rows.push([x.port, x.protocol, ep(x.local, x.localPort), ep(x.remote, x.remotePort), String(x.idleSeconds), String(x.timeoutSeconds), String(x.rule)]);
    print(r.length ? table(rows) : 'no flows', r);
    return 0;
  }
  const key = `${cmd} ${sub ?? ''}`.trim();
  const args = rest;
  switch (key) {
    case 'switch list': {
      const r = await api.call<Array<{ name: string; type: string; ports: number }>>('GET', '/switches');
      print(table([['switch', 'type', 'ports'], ...r.map((s) => [s.name, s.type, String(s.ports)])]), r);
      return 0;
    }
    case 'switch show': {
      need(args, 1, 'switch show SW');
      const r = await api.call<{ config: SwitchConfig; ports: PortStatus[] }>('GET', `/switches/${sw(args[0])}`);
      const c = r.config;
      const q = queueSettings(c);
      const workers = c.workers === undefined ? 'a worker per core' : `${c.workers} worker${c.workers === 1 ? '' : 's'}`;
      const queues = `${workers}, ${q.vmqQueues} VMQ queues, RSS table ${q.rssTableSize}`;
      print(`switch ${c.name} (${c.type ?? 'private'}), MAC aging ${c.agingSeconds ?? 300} s, table size ${c.macTableSize ?? 8192}, ${queues}\n` + portTable(r.ports), r);
      return 0;
    }
    case 'switch add': {
      need(args, 1, 'switch add SW');
      const raw: Record<string, unknown> = { name: args[0] };
      if (f.type) raw.type = f.type;
      if (f.aging !== undefined) raw.agingSeconds = num(f.aging, '--aging');
      if (f['mac-table-size'] !== undefined) raw.macTableSize = num(f['mac-table-size'], '--mac-table-size');
      if (f['no-rsc']) raw.rsc = false;
      if (f['min-bandwidth-mode'] !== undefined) raw.minimumBandwidthMode = f['min-bandwidth-mode'];
      if (f['flow-table-size'] !== undefined) raw.flowTableSize = num(f['flow-table-size'], '--flow-table-size');
      Object.assign(raw, switchQueuesFromFlags(f));
      const r = await api.call('POST', '/switches', v.switchConfig(raw, 'switch'));
      print(`switch ${args[0]} created`, r);
      return 0;
    }
    case 'switch tune': {
      need(args, 1, 'switch tune SW [--workers N] [--moderation MODE|N/T] [--dvmq on|off] [--dvmq-upper X] ...');
      const r = await api.call<Pick<QueuesStatus, 'moderation' | 'dvmq'> & { workers: number }>('PATCH', `/switches/${sw(args[0])}/tuning`, tuningFromFlags(f));
      print(`switch ${args[0]}: ${describeTuning(r)}`, r);
      return 0;
    }
    case 'queue move': {
      need(args, 3, 'queue move SW QUEUE WORKER');
      const queue = num(args[1], 'QUEUE');
      const r = await api.call('POST', `/switches/${sw(args[0])}/queues/${queue}/move`, { worker: num(args[2], 'WORKER') });
      print(`switch ${args[0]}: queue ${queue} moved to worker ${args[2]}`, r);
      return 0;
    }
    case 'rss set': {
      need(args, 2, 'rss set SW W0,W1,...');
      const entries = rssEntriesFromText(args[1]);
      const r = await api.call('PUT', `/switches/${sw(args[0])}/rss`, { entries });
      print(`switch ${args[0]}: RSS table rewritten (${entries.length} entries)`, r);
      return 0;
    }
    case 'switch rm': {
      need(args, 1, 'switch rm SW');
      const r = await api.call('DELETE', `/switches/${sw(args[0])}`);
      print(`switch ${args[0]} removed`, r);
      return 0;
    }
    case 'switch mac-table-size': {
      need(args, 2, 'switch mac-table-size SW N');
      const r = await api.call<{ entries: number; dropped: number }>('PUT', `/switches/${sw(args[0])}/mac-table-size`, { macTableSize: v.macTableSize(num(args[1], 'N'), 'macTableSize') });
      print(`switch ${args[0]}: MAC table size ${args[1]}, ${r.entries} entries kept, ${r.dropped} dropped`, r);
      return 0;
    }
    case 'switch aging': {
      need(args, 2, 'switch aging SW SECONDS');
      const r = await api.call('PUT', `/switches/${sw(args[0])}/aging`, { seconds: v.agingSeconds(num(args[1], 'SECONDS'), 'seconds') });
      print(`switch ${args[0]}: MAC aging ${args[1]} s`, r);
      return 0;
    }
    case 'port list': {
      need(args, 1, 'port list SW');
      const r = await api.call<PortStatus[]>('GET', `/switches/${sw(args[0])}/ports`);
      print(portTable(r), r);
      return 0;
    }
    case 'port add': {
      need(args, 2, 'port add SW PORT ENDPOINT');
      const port: PortConfig = { name: v.portName(args[1], 'port name'), nic: nicFromFlags(f) };
      if (f.vlan !== undefined) port.vlan = vlanFromArgs(f.vlan.split(/\s+/), f);
      if (f.mtu !== undefined) port.mtu = v.mtu(num(f.mtu, '--mtu'), 'mtu');
      if (f['mac-limit'] !== undefined) port.macLimit = v.macLimit(num(f['mac-limit'], '--mac-limit'), 'macLimit');
      if (f.disconnected) port.disconnected = true;
      Object.assign(port, portQueuesFromFlags(f));
      const r = await api.call('POST', `/switches/${sw(args[0])}/ports`, v.portConfig(port, 'port'));
      const recipe = qemuRecipe(port);
      print(`port ${args[1]} added to ${args[0]}${recipe ? `\n  QEMU: ${recipe}` : ''}`, r);
      return 0;
    }
    case 'port policy': {
      need(args, 2, 'port policy SW PORT [SETTINGS]');
      const base = `/switches/${sw(args[0])}/ports/${pt(args[1])}/policy`;
      const flags = f as Record<string, string | boolean | undefined>;
      // the switch's MinimumBandwidth mode decides which of --min-weight / --min-absolute is legal
      const mode = flags['min-weight'] !== undefined || flags['min-absolute'] !== undefined
        ? (await api.call<{ config: SwitchConfig }>('GET', `/switches/${sw(args[0])}`)).config.minimumBandwidthMode ?? 'weight'
        : undefined;
      const { policy, mac } = policyFromFlags(flags, mode);
      const change = mac !== undefined || Object.keys(policy).length > 0;
      const r = await api.call<PolicyStatus>(change ? 'PUT' : 'GET', base, change ? { ...policy, ...(mac !== undefined ? { mac } : {}) } : undefined);
      print(formatPolicy(args[1], r), r);
      return 0;
    }
    case 'acl add':
    case 'xacl add': {
      const ext = cmd === 'xacl';
      need(args, ext ? 5 : 4, ext ? 'xacl add SW PORT ACTION DIRECTION WEIGHT' : 'acl add SW PORT ACTION DIRECTION');
      const flags = f as Record<string, string | boolean | undefined>;
      const rule = ext ? extAclFromArgs(args.slice(2), flags) : aclFromArgs(args.slice(2), flags);
      const r = await api.call<{ id: number }>('POST', `/switches/${sw(args[0])}/ports/${pt(args[1])}/${ext ? 'extended-acls' : 'acls'}`, rule);
      print(`${ext ? 'extended ACL' : 'ACL'} ${r.id} added to ${args[0]}/${args[1]}`, r);
      return 0;
    }
    case 'acl list':
    case 'xacl list': {
      need(args, 2, `${cmd} list SW PORT`);
      const r = await api.call<PolicyStatus>('GET', `/switches/${sw(args[0])}/ports/${pt(args[1])}/policy`);
      const ext = cmd === 'xacl';
      const rules = ext ? (r.policy.extendedAcls ?? []) : (r.policy.acls ?? []);
      print(ext ? formatExtAcls(rules as ExtAclRule[], r.stats.extendedAcls) : formatAcls(rules as AclRule[], r.stats.acls), { rules, stats: ext ? r.stats.extendedAcls : r.stats.acls });
      return 0;
    }
    case 'acl rm':
    case 'xacl rm': {
      need(args, 3, `${cmd} rm SW PORT ID`);
      const r = await api.call('DELETE', `/switches/${sw(args[0])}/ports/${pt(args[1])}/${cmd === 'xacl' ? 'extended-acls' : 'acls'}/${num(args[2], 'ID')}`);
      print(`${cmd === 'xacl' ? 'extended ACL' : 'ACL'} ${args[2]} removed from ${args[0]}/${args[1]}`, r);
      return 0;
    }
    case 'port rm': {
      need(args, 2, 'port rm SW PORT');
      const r = await api.call('DELETE', `/switches/${sw(args[0])}/ports/${pt(args[1])}`);
      print(`port ${args[1]} removed`, r);
      return 0;
    }
    case 'port vlan': {
      need(args, 3, 'port vlan SW PORT untagged|access VID|trunk ALLOWED');
      const vlan = vlanFromArgs(args.slice(2), f);
      const r = await api.call('PUT', `/switches/${sw(args[0])}/ports/${pt(args[1])}/vlan`, vlan);
      print(`port ${args[1]}: ${describeVlan(vlan)}`, r);
      return 0;
    }
    case 'port mac-limit': {
      need(args, 3, 'port mac-limit SW PORT N');
      const r = await api.call('PUT', `/switches/${sw(args[0])}/ports/${pt(args[1])}/mac-limit`, { macLimit: v.macLimit(num(args[2], 'N'), 'macLimit') });
      print(`port ${args[1]}: MAC limit ${args[2] === '0' ? 'none' : args[2]}`, r);
      return 0;
    }
    case 'port mtu': {
      need(args, 3, 'port mtu SW PORT MTU');
      const r = await api.call('PUT', `/switches/${sw(args[0])}/ports/${pt(args[1])}/mtu`, { mtu: v.mtu(num(args[2], 'MTU'), 'mtu') });
      print(`port ${args[1]}: MTU ${args[2]}`, r);
      return 0;
    }
    case 'port disconnect':
    case 'port connect': {
      need(args, 2, `${key} SW PORT`);
      const r = await api.call('POST', `/switches/${sw(args[0])}/ports/${pt(args[1])}/${sub}`);
      print(`port ${args[1]}: link ${sub === 'connect' ? 'up (admin)' : 'down'}`, r);
      return 0;
    }
    case 'port netdev': {
      need(args, 2, 'port netdev SW PORT');
      const r = await api.call<{ config: SwitchConfig }>('GET', `/switches/${sw(args[0])}`);
      const p = r.config.ports?.find((x) => x.name === args[1]);
      if (!p) throw new UsageError(`switch '${args[0]}' has no port named '${args[1]}'`);
      const recipe = qemuRecipe(p);
      if (!recipe) throw new UsageError(`port '${args[1]}' is a ${p.nic.type} port: QEMU joins stream ports, and dgram ports with a remote address`);
      print(`qemu-system-x86_64 ... ${recipe}`, { qemu: recipe });
      return 0;
    }
    case 'fdb show': {
      need(args, 1, 'fdb show SW');
      const r = await api.call<FdbEntry[]>('GET', `/switches/${sw(args[0])}/fdb`);
      r.sort((a, b) => a.vid - b.vid || a.mac.localeCompare(b.mac));
      print(table([['vlan', 'mac', 'port', 'type', 'age'], ...r.map((e) => [String(e.vid), e.mac, e.port, e.static ? 'static' : 'learned', e.static ? '-' : `${e.ageSeconds}s`])]), r);
      return 0;
    }
    case 'fdb flush': {
      need(args, 1, 'fdb flush SW');
      const q = f.port !== undefined ? `?port=${pt(f.port)}` : '';
      const r = await api.call<{ flushed: number }>('DELETE', `/switches/${sw(args[0])}/fdb${q}`);
      print(`${r.flushed} entries flushed`, r);
      return 0;
    }
    case 'fdb add': {
      need(args, 4, 'fdb add SW MAC VID PORT');
      const e = v.staticMac({ mac: args[1], vid: num(args[2], 'VID'), port: args[3] }, 'entry');
      const r = await api.call('POST', `/switches/${sw(args[0])}/fdb`, e);
      print(`static ${e.mac} vlan ${e.vid} -> ${e.port}`, r);
      return 0;
    }
    case 'fdb del': {
      need(args, 3, 'fdb del SW MAC VID');
      const mac = v.macText(args[1], 'MAC');
      const r = await api.call('DELETE', `/switches/${sw(args[0])}/fdb/${v.vid(num(args[2], 'VID'), 'VID')}/${encodeURIComponent(mac)}`);
      print(`removed ${mac} vlan ${args[2]}`, r);
      return 0;
    }
    case 'events': {
      const r = await api.call<LinkEvent[]>('GET', '/events');
      print(r.map((e) => `${e.time} ${e.switch}/${e.port} link ${e.link} (${e.reason}${e.flushedMacs ? `, ${e.flushedMacs} MACs flushed` : ''})`).join('\n') || 'no link events', r);
      return 0;
    }
    case 'config show': {
      const r = await api.call('GET', '/config');
      out(JSON.stringify(r, null, 2));
      return 0;
    }
    default:
      if (cmd === 'capture') return capture([sub, ...rest].filter((x): x is string => x !== undefined), f, api, print);
      if (cmd === 'counters') {
        const [s, port] = [sub, ...rest];
        need(s ? [s] : [], 1, 'counters SW [PORT]');
        const r = await api.call<SwitchCounters>('GET', `/switches/${sw(s)}/counters`);
        if (f.json) out(JSON.stringify(port ? r.ports[port] ?? null : r, null, 2));
        else out(formatCounters(r, port));
        return 0;
      }
      throw new UsageError(`unknown command '${key}'. Run 'vswitch --help' for the list of commands.`);
  }
}

function describeCapture(c: CaptureStatus): string {
  const limit = [c.count !== undefined ? `${c.count} frames` : '', c.seconds !== undefined ? `${c.seconds} s` : ''].filter(Boolean).join(' or ') || 'until stopped';
  return `${c.switch}/${c.port} ${c.direction} -> ${c.file} (${limit})`;
}

function captureSummary(c: CaptureStatus): string {
  const why = { count: 'count reached', seconds: 'time limit reached', stopped: 'stopped', 'port-removed': 'port removed', 'switch-removed': 'switch removed', error: 'file error' }[c.reason ?? 'stopped'];
  return `capture ${c.switch}/${c.port} ended (${why}): ${c.framesWritten} frames written to ${c.file}, ${c.captureLost} lost (capture ring full)${c.error ? `\n  ${c.error}` : ''}`;
}

/** `capture SW PORT -w FILE ...` (start, and by default wait for the end), `capture list SW`, `capture stop SW PORT`. */
async function capture(args: string[], f: Flags, api: ApiClient, print: (human: string, data: unknown) => void): Promise<number> {
  const sw = (s: string | undefined) => encodeURIComponent(v.switchName(s, 'switch name'));
  const pt = (s: string | undefined) => encodeURIComponent(v.portName(s, 'port name'));
  if (args[0] === 'list' && args.length === 2) {
    const r = await api.call<CaptureStatus[]>('GET', `/switches/${sw(args[1])}/captures`);
    const rows = [['port', 'direction', 'file', 'written', 'lost', 'started', 'limit']];
    for (const c of r) rows.push([c.port, c.direction, c.file, String(c.framesWritten), String(c.captureLost), c.started, [c.count !== undefined ? `${c.count} frames` : '', c.seconds !== undefined ? `${c.seconds} s` : ''].filter(Boolean).join(', ') || '-']);
    print(r.length ? table(rows) : 'no capture running', r);
    return 0;
  }
  if (args[0] === 'stop' && args.length === 3) {
    const r = await api.call<CaptureStatus>('DELETE', `/switches/${sw(args[1])}/ports/${pt(args[2])}/capture`);
    print(captureSummary(r), r);
    return 0;
  }
  need(args, 2, 'capture SW PORT -w FILE');
  if (f.write === undefined) throw new UsageError("capture needs the file to write: -w FILE (a pcap file, e.g. 'vswitch capture sw0 vm1 -w /tmp/vm1.pcap')");
  const raw: Record<string, unknown> = { file: resolvePath(process.cwd(), f.write), direction: f.direction ?? 'both' };
  if (f.count !== undefined) raw.count = num(f.count, '--count');
  if (f.seconds !== undefined) raw.seconds = num(f.seconds, '--seconds');
  const body = captureRequest(raw, 'capture');
  const path = `/switches/${sw(args[0])}/ports/${pt(args[1])}/capture`;
  const started = await api.call<CaptureStatus>('POST', path, body);
  if (f['no-wait']) {
    print(`capturing ${describeCapture(started)}; stop with 'vswitch capture stop ${args[0]} ${args[1]}'`, started);
    return 0;
  }
  if (!f.json) process.stderr.write(`capturing ${describeCapture(started)}; Ctrl-C stops\n`);
  // Ctrl-C (or SIGTERM) stops the capture; the waiting request below then returns its summary
  const stop = () => void api.call('DELETE', path).catch(() => {});
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await api.call<CaptureStatus>('GET', `${path}?wait=1`);
    print(captureSummary(r), r);
    return r.reason === 'error' ? 1 : 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

function portTable(ports: PortStatus[]): string {
  return table([['port', 'link', 'vlan', 'mtu', 'endpoint'], ...ports.map((p) => [p.name, p.link + (p.adminDown ? ' (admin)' : ''), describeVlan(p.vlan), String(p.mtu), describeNic(p.nic)])]);
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('/vswitch')) {
  quietOnBrokenPipe(process.argv[2] === 'run');
  main(process.argv.slice(2)).then(
    (code) => {
      if (process.argv[2] === 'run') process.exit(code);
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`vswitch: ${err instanceof Error ? err.message : String(err)}`);
      const userError = err instanceof UsageError || err instanceof v.ConfigError || (err instanceof ApiError && err.status < 500);
      process.exitCode = userError ? 2 : 1;
    },
  );
}
