/**
 * A port's policy (docs/policy.md, Hyper-V's names), declared once: the guards, storm limit, flow
 * quota, QoS, mirroring and the two rule lists (settings/acl.ts), each with its range, help and its flag
 * of `port add` and `port policy`. The rules that span fields are the `check` hook: the switch's
 * MinimumBandwidth mode (the context's `mode`; absent: either kind, not both) decides between weight and
 * absolute, a mirror direction needs a mirroring source, rule ids are unique per list and extended ACL
 * weights unique per direction. Checks that need the whole switch (mirror destinations existing, one
 * isolated secondary per primary) belong to whoever holds the switch.
 */
import type { AclDirection, MinimumBandwidthMode } from '../../policy/config.js';
import { fail, show } from '../validate-helpers.js';
import { aclRule, extAclRule } from './acl.js';
import { bool, custom, int, list, obj, oneOf, type Meta } from './setting.js';
import { bytes, rate } from './units.js';

/** Storm limit: 10 Mpps is above what one userspace port delivers; a larger number is a unit mistake. */
const kMaxStormLimit = 10_000_000;
/** Bandwidth bounds in bits/s: below 1 kbit/s a 1514-byte frame waits 12 s; 100 Gbit/s is the fastest NIC class. */
const kMinRate = 1000;
const kMaxRate = 100_000_000_000;
/** Burst bounds in bytes: one full Ethernet frame (1514) at least, 1 GB at most (a larger bucket never shapes). */
const kMinBurst = 1514;
const kMaxBurst = 1_000_000_000;
/** Hyper-V MinimumBandwidthWeight range. */
const kMaxMinWeight = 100;

const onOff = (flag: string, help: string) => ({ flag, value: 'on|off', help });

/** 0 (off) or a rate in [kMinRate, kMaxRate] bits/s; typed as 50M. */
function bandwidth(o: Meta) {
  return custom<number>({
    ...o,
    check: (v, f) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || (v !== 0 && (v < kMinRate || v > kMaxRate)))
        fail(
          f,
          `must be 0 (off) or a whole number of bits/s from ${kMinRate} to ${kMaxRate} (1k to 100G), got ${show(v)}`,
        );
      return v as number;
    },
    schema: { oneOf: [{ const: 0 }, { type: 'integer', minimum: kMinRate, maximum: kMaxRate }] },
    kind: 'bits/s',
  });
}

const overlap = (a: AclDirection, b: AclDirection) => a === b || a === 'both' || b === 'both';

function uniqueIds(rules: { id?: number }[], field: string): void {
  const seen = new Map<number, number>();
  rules.forEach((r, i) => {
    if (r.id === undefined) return;
    const j = seen.get(r.id);
    if (j !== undefined)
      fail(`${field}[${i}].id`, `id ${r.id} is already used by ${field}[${j}]; rule ids are unique within a port`);
    seen.set(r.id, i);
  });
}

export const policySettings = obj(
  {
    macAddressSpoofing: bool({
      help: "MacAddressSpoofing: off drops frames whose source is not the port's mac",
      default: false,
      example: true,
      cli: onOff('mac-spoofing', 'off: drop frames whose source is not --mac'),
    }),
    dhcpGuard: bool({
      help: 'DhcpGuard: drop DHCP server messages (UDP from 67, DHCPv6 from 547) from the port',
      default: false,
      example: true,
      cli: onOff('dhcp-guard', 'drop DHCP server messages from the port'),
    }),
    routerGuard: bool({
      help: 'RouterGuard: drop router advertisements and redirects (ICMPv4, ICMPv6) from the port',
      default: false,
      example: true,
      cli: onOff('router-guard', 'drop router advertisements and redirects from the port'),
    }),
    ieeePriorityTag: bool({
      help: "IeeePriorityTag: keep frames' 802.1p priority (off clears it to 0)",
      default: true,
      example: false,
      cli: onOff('priority-tag', 'keep 802.1p priority'),
    }),
    stormLimit: int({
      min: 0,
      max: kMaxStormLimit,
      help: 'StormLimit: broadcast + multicast + unknown unicast frames/s from the port (0 = off)',
      default: 0,
      example: 1000,
      cli: {
        flag: 'storm-limit',
        value: 'PPS',
        help: 'broadcast + multicast + unknown unicast frames/s from the port, 0 = off',
      },
    }),
    maxFlows: int({
      min: 0,
      max: 1 << 22,
      help: 'stateful ACL flows the port may hold at once (0 = no quota)',
      default: 0,
      example: 100,
      cli: { flag: 'max-flows', value: 'N', help: 'stateful ACL flows the port may hold at once, 0 = no quota' },
    }),
    maximumBandwidth: bandwidth({
      help: 'MaximumBandwidth: egress cap in bits/s (0 = off)',
      default: 0,
      example: 50_000_000,
      cli: {
        flag: 'max-bandwidth',
        value: 'RATE',
        help: 'egress cap in bits/s: 800k, 50M, 1.5G; 0 = off',
        parse: (t, _f, flag) => rate(t, flag),
        example: ['--max-bandwidth', '50M'],
      },
    }),
    maximumBurst: int({
      min: kMinBurst,
      max: kMaxBurst,
      help: 'token bucket depth in bytes (default: 10 ms at the rate, at least 64 KiB)',
      example: 131072,
      cli: {
        flag: 'max-burst',
        value: 'BYTES',
        help: 'token bucket depth: 64K, 1M',
        parse: (t, _f, flag) => bytes(t, flag),
        example: ['--max-burst', '128K'],
      },
    }),
    minimumBandwidthWeight: int({
      min: 1,
      max: kMaxMinWeight,
      help: 'MinimumBandwidthWeight: share of a congested egress (switch mode weight)',
      example: 10,
      cli: { flag: 'min-weight', value: '1-100', help: 'share of a congested egress (switch mode weight)' },
    }),
    minimumBandwidthAbsolute: int({
      min: kMinRate,
      max: kMaxRate,
      help: 'MinimumBandwidthAbsolute: guaranteed bits/s of a congested egress (switch mode absolute)',
      noWalk:
        "valid only on a switch in absolute mode, and the walk's ports are on weight switches (validate-policy.test.ts and policy-args.test.ts cover it)",
      cli: {
        flag: 'min-absolute',
        value: 'RATE',
        help: 'guaranteed bits/s of a congested egress (switch mode absolute)',
        parse: (t, _f, flag) => rate(t, flag),
      },
    }),
    mirror: oneOf(['none', 'source', 'destination'], {
      help: 'PortMirroring: a source is copied to every destination port of the switch',
      default: 'none',
      example: 'destination',
      cli: { flag: 'mirror', value: 'MODE', help: 'port mirroring role' },
    }),
    mirrorDirection: oneOf(['ingress', 'egress', 'both'], {
      help: 'what a mirroring source copies',
      default: 'both',
      example: 'egress',
      with: { value: { mirror: 'source' }, argv: ['--mirror', 'source'] },
      cli: { flag: 'mirror-direction', value: 'DIR', help: 'what a source mirrors' },
    }),
    acls: list(aclRule, {
      what: 'port ACL rules',
      help: 'port ACLs (Add-VMNetworkAdapterAcl)',
      noCli: "added with 'vswitch acl add'",
      runtime: { route: 'acls', body: '', command: 'add', group: 'acl' },
      example: [{ id: 1, action: 'deny', direction: 'inbound', remoteIp: '10.9.0.0/16' }],
    }),
    extendedAcls: list(extAclRule, {
      what: 'extended ACL rules',
      help: 'extended ACLs (Add-VMNetworkAdapterExtendedAcl)',
      noCli: "added with 'vswitch xacl add'",
      runtime: { route: 'extended-acls', body: '', command: 'add', group: 'xacl' },
      example: [
        {
          id: 1,
          action: 'allow',
          direction: 'outbound',
          weight: 100,
          protocol: 'tcp',
          remotePort: '443',
          stateful: true,
        },
      ],
    }),
  },
  {
    help: 'guards, storm limit, QoS, mirroring and ACLs (Hyper-V names; docs/policy.md)',
    check: (o, f, ctx) => {
      const mode = ctx.mode as MinimumBandwidthMode | undefined;
      const w = o.minimumBandwidthWeight;
      const a = o.minimumBandwidthAbsolute;
      if (w !== undefined && mode === 'absolute')
        fail(
          `${f}.minimumBandwidthWeight`,
          "this switch's minimum-bandwidth mode is absolute; give minimumBandwidthAbsolute (bits/s) instead",
        );
      if (a !== undefined && mode === 'weight')
        fail(
          `${f}.minimumBandwidthAbsolute`,
          "this switch's minimum-bandwidth mode is weight; give minimumBandwidthWeight (1-100) instead",
        );
      if (w !== undefined && a !== undefined)
        fail(
          `${f}.minimumBandwidthAbsolute`,
          "give minimumBandwidthWeight or minimumBandwidthAbsolute, not both; the switch's minimum-bandwidth mode decides which one applies",
        );
      if (o.mirrorDirection !== undefined && o.mirror !== 'source')
        fail(
          `${f}.mirrorDirection`,
          `applies only to a mirroring source (mirror "source"), got ${o.mirror === undefined ? 'no mirror setting' : `mirror ${show(o.mirror)}`}`,
        );
      if (o.acls) uniqueIds(o.acls, `${f}.acls`);
      const ext = o.extendedAcls;
      if (!ext) return;
      uniqueIds(ext, `${f}.extendedAcls`);
      // Weights order evaluation; two rules that can see the same frame with one weight would tie.
      ext.forEach((r, i) => {
        const j = ext.findIndex((q, k) => k < i && q.weight === r.weight && overlap(q.direction, r.direction));
        if (j >= 0)
          fail(
            `${f}.extendedAcls[${i}].weight`,
            `weight ${r.weight} is already used by extendedAcls[${j}] (${ext[j]!.direction}) and this rule is ${r.direction}; weights are unique per direction, so pick another`,
          );
      });
    },
  },
);
