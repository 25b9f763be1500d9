/**
 * `vswitch show`: every switch, its ports and the recent link events at a glance (ovs-vsctl show). One
 * table per switch; the policy column names only what differs from the defaults, so a plain port reads '-'.
 */
import type { LinkEvent, PortConfig, SwitchConfig } from '../model.js';
import type { PortView } from '../port-view.js';
import { table } from '../text-table.js';
import type { Command } from './command.js';
import { describeEvent } from './config.js';
import { describeNic, describeVlan } from './format.js';

/** Recent events shown: enough to see a flapping port, short enough for one screen. */
const kShowEvents = 10;

export function policySummary(p: PortConfig | undefined): string {
  const pol = p?.policy ?? {};
  const parts: string[] = [];
  if (p?.mac && !pol.macAddressSpoofing) parts.push('spoof-check');
  if (pol.dhcpGuard) parts.push('dhcp-guard');
  if (pol.routerGuard) parts.push('router-guard');
  if (pol.ieeePriorityTag === false) parts.push('no-priority');
  if (pol.stormLimit) parts.push(`storm ${pol.stormLimit} pps`);
  if (pol.maximumBandwidth) parts.push(`max ${pol.maximumBandwidth} bit/s`);
  if (pol.minimumBandwidthAbsolute) parts.push(`min ${pol.minimumBandwidthAbsolute} bit/s`);
  else if (pol.minimumBandwidthWeight !== undefined && pol.minimumBandwidthWeight !== 1)
    parts.push(`weight ${pol.minimumBandwidthWeight}`);
  if (pol.mirror && pol.mirror !== 'none')
    parts.push(`mirror ${pol.mirror}${pol.mirror === 'source' ? ` ${pol.mirrorDirection ?? 'both'}` : ''}`);
  if (pol.acls?.length) parts.push(`${pol.acls.length} ACL${pol.acls.length === 1 ? '' : 's'}`);
  if (pol.extendedAcls?.length)
    parts.push(`${pol.extendedAcls.length} xACL${pol.extendedAcls.length === 1 ? '' : 's'}`);
  return parts.join(', ') || '-';
}

export interface ShowData {
  switches: Array<{ config: SwitchConfig; ports: PortView[] }>;
  events: LinkEvent[];
}

export function formatShow(d: ShowData): string {
  const out: string[] = [];
  for (const { config: c, ports } of d.switches) {
    const workers = c.workers === undefined ? 'a worker per core' : `${c.workers} worker${c.workers === 1 ? '' : 's'}`;
    out.push(
      `switch ${c.name} (${c.type ?? 'private'}, ${workers}, MAC aging ${c.agingSeconds ?? 300} s, ${ports.length} port${ports.length === 1 ? '' : 's'}${c.staticMacs?.length ? `, ${c.staticMacs.length} static MACs` : ''})`,
    );
    if (ports.length === 0) continue;
    const rows = [['port', 'link', 'vlan', 'mac', 'worker', 'endpoint', 'policy']];
    for (const p of ports)
      rows.push([
        p.name,
        p.link + (p.adminDown ? ' (admin)' : ''),
        describeVlan(p.vlan),
        p.mac,
        String(p.detail?.worker ?? '-'),
        describeNic(p.nic),
        policySummary(c.ports?.find((x) => x.name === p.name)),
      ]);
    out.push(
      ...table(rows)
        .split('\n')
        .map((l) => `    ${l}`),
    );
  }
  if (d.switches.length === 0) out.push("no switches (add one: 'vswitch switch add NAME')");
  out.push(
    '',
    d.events.length ? 'recent events:' : 'no link events',
    ...d.events.map((e) => `    ${describeEvent(e)}`),
  );
  return out.join('\n');
}

export const showCommands: Command[] = [
  {
    path: ['show'],
    args: [],
    summary: 'every switch and port (link, VLAN, MAC, worker, endpoint, policy) and recent events',
    async run({ api, print }) {
      const names = await api.call<Array<{ name: string }>>('GET', '/switches');
      const switches = await Promise.all(
        names.map((s) =>
          api.call<{ config: SwitchConfig; ports: PortView[] }>('GET', `/switches/${encodeURIComponent(s.name)}`),
        ),
      );
      const events = await api.call<LinkEvent[]>('GET', `/events?since=${kShowEvents}`);
      const data: ShowData = { switches, events };
      print(formatShow(data), data);
    },
  },
];
