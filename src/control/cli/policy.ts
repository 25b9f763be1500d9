/** `vswitch port policy`, `acl ...`, `xacl ...` and `flows`: per-port policy with Hyper-V's names. */
import type { AclRule, ExtAclRule, FlowStatus, MinimumBandwidthMode, PolicyStatus, SwitchConfig } from '../model.js';
import {
  aclFromArgs,
  aclOptions,
  extAclFromArgs,
  policyFromFlags,
  portPolicyOptions,
  xaclOptions,
} from '../policy-args.js';
import { table } from '../text-table.js';
import { num, ptSeg, swSeg, type Command, type Context, type Flags } from './command.js';
import { formatAcls, formatExtAcls, formatPolicy } from './format.js';

const sw = { name: 'SW', complete: 'switch' } as const;
const port = { name: 'PORT', complete: 'port' } as const;
const kAction = { name: 'ACTION', complete: ['allow', 'deny', 'meter'] } as const;
const kDirection = { name: 'DIRECTION', complete: ['inbound', 'outbound', 'both'] } as const;

/**
 * The switch's MinimumBandwidth mode when the flags give a minimum bandwidth (it decides which of
 * --min-weight / --min-absolute is legal), else undefined: one request only when it matters.
 */
export async function bandwidthMode(
  api: Context['api'],
  sw: string,
  flags: Flags,
): Promise<MinimumBandwidthMode | undefined> {
  if (flags['min-weight'] === undefined && flags['min-absolute'] === undefined) return undefined;
  return (
    (await api.call<{ config: SwitchConfig }>('GET', `/switches/${swSeg(sw)}`)).config.minimumBandwidthMode ?? 'weight'
  );
}

const kinds = {
  acl: { label: 'ACL', route: 'acls', list: 'acls' },
  xacl: { label: 'extended ACL', route: 'extended-acls', list: 'extendedAcls' },
} as const;

export const policyCommands: Command[] = [
  {
    path: ['port', 'policy'],
    args: [sw, port],
    summary: "show, or change, a port's policy (guards, storm limit, QoS, mirroring)",
    options: portPolicyOptions,
    examples: [
      'vswitch port policy sw0 vm1',
      'vswitch port policy sw0 vm1 --mac 52:54:00:12:34:56 --mac-spoofing off --dhcp-guard on',
      'vswitch port policy sw0 vm1 --max-bandwidth 50M --max-burst 64K',
    ],
    async run({ api, args, flags, print }) {
      const base = `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/policy`;
      const mode = await bandwidthMode(api, args[0]!, flags);
      const { policy, mac } = policyFromFlags(flags, mode);
      const change = mac !== undefined || Object.keys(policy).length > 0;
      const r = await api.call<PolicyStatus>(
        change ? 'PUT' : 'GET',
        base,
        change ? { ...policy, ...(mac !== undefined ? { mac } : {}) } : undefined,
      );
      print(formatPolicy(args[1]!, r), r);
    },
  },
  ...(['acl', 'xacl'] as const).flatMap((kind): Command[] => {
    const k = kinds[kind];
    const ext = kind === 'xacl';
    return [
      {
        path: [kind, 'add'],
        args: ext
          ? [sw, port, { name: 'ACTION', complete: ['allow', 'deny'] }, kDirection, { name: 'WEIGHT', optional: true }]
          : [sw, port, kAction, kDirection],
        summary: ext
          ? 'add an extended ACL: 5-tuple, higher weight first, first match wins'
          : 'add a port ACL: MAC or IP prefix, the most specific rule wins',
        options: ext ? xaclOptions : aclOptions,
        examples: ext
          ? [
              'vswitch xacl add sw0 vm1 allow outbound 300 --protocol tcp --remote-port 443 --stateful',
              'vswitch xacl add sw0 vm1 deny inbound 100',
            ]
          : [
              'vswitch acl add sw0 vm1 deny inbound --remote-ip 10.9.0.0/16',
              'vswitch acl add sw0 vm1 meter both --remote-mac 52:54:00:00:00:01',
            ],
        async run({ api, args, flags, print }) {
          const rule = ext ? extAclFromArgs(args.slice(2), flags) : aclFromArgs(args.slice(2), flags);
          const r = await api.call<AclRule | ExtAclRule>(
            'POST',
            `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/${k.route}`,
            rule,
          );
          print(`${k.label} ${r.id} added to ${args[0]}/${args[1]}`, r);
        },
      },
      {
        path: [kind, 'list'],
        args: [sw, port],
        summary: `a port's ${k.label}s with hit counters (frames, bytes)`,
        async run({ api, args, print }) {
          const r = await api.call<PolicyStatus>('GET', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/policy`);
          const rules = r.policy[k.list] ?? [];
          const stats = ext ? r.stats.extendedAcls : r.stats.acls;
          print(ext ? formatExtAcls(rules as ExtAclRule[], stats) : formatAcls(rules as AclRule[], stats), {
            rules,
            stats,
          });
        },
      },
      {
        path: [kind, 'rm'],
        args: [sw, port, { name: 'ID' }],
        summary: `remove a ${k.label} by its id`,
        async run({ api, args, print }) {
          const r = await api.call(
            'DELETE',
            `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/${k.route}/${num(args[2], 'ID')}`,
          );
          print(`${k.label} ${args[2]} removed from ${args[0]}/${args[1]}`, r);
        },
      },
    ];
  }),
  {
    path: ['flows'],
    args: [sw],
    summary: "stateful ACL flows (local = the port's endpoint), idle time",
    options: { port: { type: 'string', value: 'PORT', help: "only this port's flows" } },
    async run({ api, args, flags, print }) {
      const q = flags.port !== undefined ? `?port=${ptSeg(flags.port as string)}` : '';
      const r = await api.call<FlowStatus[]>('GET', `/switches/${swSeg(args[0])}/flows${q}`);
      const rows = [['port', 'protocol', 'local', 'remote', 'idle s', 'timeout s', 'rule']];
      const ep = (a: string, p: number) => (a.includes(':') ? `[${a}]` : a) + (p ? `:${p}` : '');
      for (const x of r)
        rows.push([
          x.port,
          x.protocol,
          ep(x.local, x.localPort),
          ep(x.remote, x.remotePort),
          String(x.idleSeconds),
          String(x.timeoutSeconds),
          String(x.rule),
        ]);
      print(r.length ? table(rows) : 'no flows', r);
    },
  },
];
