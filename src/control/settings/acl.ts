/**
 * The rules of a port's ACLs, declared once (docs/policy.md): a port ACL (Add-VMNetworkAdapterAcl:
 * MAC or IP selectors, the most specific wins) and an extended ACL (Add-VMNetworkAdapterExtendedAcl:
 * 5-tuple, weight, stateful allow), each field with its range, help and its `acl add` / `xacl add` flag.
 * Outputs are canonical (an IP prefix has one spelling, a port range one form, a protocol number with a
 * name becomes the name) so the compilers in policy/ and `config show` see one form per value; the cost
 * is that a config read back may not be byte-identical to the one written. Rules that could never match
 * (an IPv4 local prefix with an IPv6 remote one, icmp with IPv6 prefixes, ports without tcp/udp) are
 * refused by the rules' `check` hooks rather than accepted as dead rules.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../../packet/ipaddr.js';
import type { AclProtocol } from '../../policy/config.js';
import { fail, int as intCheck, oneOf as oneOfCheck, show } from '../validate-helpers.js';
import { whole } from './cli.js';
import { bool, custom, int, mac, obj, oneOf, required } from './setting.js';

const kIpv4Bits = 32;
const kIpv6Bits = 128;
const kMaxPort = 65535;
/** Rule ids fit a u32 column of the compiled rule tables. */
const kMaxRuleId = 0xffffffff;
/** Extended ACL weights: Hyper-V's range (Add-VMNetworkAdapterExtendedAcl -Weight). */
const kMaxWeight = 65535;
/** Stateful idle timeout: at most a day, like MAC aging (more is almost certainly a unit mistake). */
const kMaxIdleTimeout = 86400;
/** IP protocol numbers with a name in ExtAclRule.protocol: the name is the canonical form. */
export const kProtoNames: Record<number, AclProtocol> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const kProtocols = ['tcp', 'udp', 'icmp', 'icmpv6'] as const;
export const kDirections = ['inbound', 'outbound', 'both'] as const;

/**
 * An IP selector: 'any', an IPv4 address with optional /0-32 or an IPv6 address with optional /0-128.
 * Canonical output: 'any', the address for a host prefix (/32, /128), else network/length, IPv6 in
 * RFC 5952 form.
 */
export function ipPrefix(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0)
    fail(field, `must be an IP prefix like 10.0.0.0/8 or fd00::/8, an address, or "any", got ${show(v)}`);
  const text = v as string;
  if (text === 'any') return 'any';
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const len = slash < 0 ? undefined : text.slice(slash + 1);
  return text.includes(':') ? prefix6(text, addr, len, field) : prefix4(text, addr, len, field);
}

function prefixLength(text: string, len: string | undefined, max: number, field: string): number {
  if (len === undefined) return max;
  if (!/^\d{1,3}$/.test(len) || Number(len) > max)
    fail(field, `prefix length ${show(len)} in ${text} must be a whole number from 0 to ${max}`);
  return Number(len);
}

function prefix4(text: string, addrText: string, lenText: string | undefined, field: string): string {
  let addr = 0;
  try {
    addr = parseIpv4(addrText);
  } catch {
    fail(
      field,
      `${show(text)} is not an IPv4 address or prefix; expected four decimal octets 0-255 and an optional /0-32, like 10.0.0.0/8`,
    );
  }
  const len = prefixLength(text, lenText, kIpv4Bits, field);
  const net = len === 0 ? 0 : (addr & (0xffffffff << (kIpv4Bits - len))) >>> 0;
  if (net !== addr) fail(field, `${text} has host bits set; did you mean ${formatIpv4(net)}/${len}?`);
  return len === kIpv4Bits ? formatIpv4(addr) : `${formatIpv4(addr)}/${len}`;
}

function prefix6(text: string, addrText: string, lenText: string | undefined, field: string): string {
  let addr: Uint8Array = new Uint8Array(0);
  try {
    addr = parseIpv6(addrText);
  } catch (err) {
    const why = (err as Error).message.replace(/^invalid IPv6 address '[^']*': /, '');
    fail(
      field,
      `${show(text)} is not an IPv6 address or prefix (${why}); expected a form like fd00::/8 or 2001:db8::1`,
    );
  }
  const len = prefixLength(text, lenText, kIpv6Bits, field);
  const net = new Uint8Array(addr.length);
  for (let i = 0; i < net.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i)); // bits of byte i inside the prefix
    net[i] = addr[i]! & ((0xff00 >> keep) & 0xff);
  }
  if (!net.every((b, i) => b === addr[i]))
    fail(field, `${text} has host bits set; did you mean ${formatIpv6(net)}/${len}?`);
  return len === kIpv6Bits ? formatIpv6(addr) : `${formatIpv6(addr)}/${len}`;
}

/** 4, 6, or 0 for 'any'. */
function family(prefix: string): 0 | 4 | 6 {
  return prefix === 'any' ? 0 : prefix.includes(':') ? 6 : 4;
}

/** A port or port range: 80, '80', '1024-65535'. Canonical output: 'N' (also for 'N-N') or 'N-M'. */
export function portRange(v: unknown, field: string): string {
  if (typeof v === 'number') return String(intCheck(v, field, 0, kMaxPort));
  const m = typeof v === 'string' ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v) : null;
  if (!m) fail(field, `must be a port 0-${kMaxPort} or a range "low-high" like "1024-65535", got ${show(v)}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > kMaxPort || hi > kMaxPort) fail(field, `${show(v)} is out of range; ports are 0 to ${kMaxPort}`);
  if (lo > hi) fail(field, `range ${v as string} is backwards; write it low-high (${hi}-${lo})`);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** Refuses a local/remote IP pair of different families: no frame could match both. */
function sameFamily(local: string | undefined, remote: string | undefined, field: string): void {
  if (local === undefined || remote === undefined) return;
  const a = family(local);
  const b = family(remote);
  if (a !== 0 && b !== 0 && a !== b)
    fail(
      `${field}.remoteIp`,
      `${remote} is IPv${b} but localIp ${local} is IPv${a}; a frame has one family, so write one rule per family (or use "any")`,
    );
}

const kPrefixSchema = {
  type: 'string',
  minLength: 1,
  description: 'an IP address or prefix (10.0.0.0/8, fd00::/8) or "any"',
};
const ip = (side: 'local' | 'remote', help: string) =>
  custom({
    check: ipPrefix,
    schema: kPrefixSchema,
    kind: 'ip prefix',
    help,
    cli: { flag: `${side}-ip`, value: 'PREFIX|any' },
  });
const l4port = (side: 'local' | 'remote', help: string) =>
  custom({
    check: portRange,
    schema: {
      oneOf: [
        { type: 'integer', minimum: 0, maximum: kMaxPort },
        { type: 'string', pattern: '^\\d{1,5}(-\\d{1,5})?$' },
      ],
    },
    kind: 'port range',
    help,
    cli: { flag: `${side}-port`, value: 'N[-M]' },
  });

const id = int({
  min: 1,
  max: kMaxRuleId,
  help: "the rule's id, stable per port (given by the switch when absent)",
  noCli: "given by the switch; 'acl rm ID' and 'xacl rm ID' take it",
});
const direction = required(
  oneOf(kDirections, {
    help: 'inbound: frames to the port; outbound: frames from it',
    noCli: 'the DIRECTION argument',
  }),
);

export const localIp = ip('local', "the port's side: an IP prefix");
export const remoteIp = ip('remote', 'the other side: an IP prefix');

/** Port ACL (Add-VMNetworkAdapterAcl): MAC selectors or IP selectors, at least one, never both kinds. */
export const aclRule = obj(
  {
    id,
    action: required(
      oneOf(['allow', 'deny', 'meter'], { help: 'meter counts and lets through', noCli: 'the ACTION argument' }),
    ),
    direction,
    localMac: mac({ help: "the port's side: a MAC", cli: { flag: 'local-mac', value: 'MAC' } }),
    remoteMac: mac({ help: 'the other side: a MAC', cli: { flag: 'remote-mac', value: 'MAC' } }),
    localIp,
    remoteIp,
  },
  {
    help: 'a port ACL: MAC or IP prefix selectors; the most specific rule wins',
    check: (o, f) => {
      const macs = o.localMac !== undefined || o.remoteMac !== undefined;
      const ips = o.localIp !== undefined || o.remoteIp !== undefined;
      if (!macs && !ips)
        fail(
          f,
          'needs an address to match: at least one of localMac, remoteMac, localIp, remoteIp (localIp "any" matches every IP frame)',
        );
      if (macs && ips)
        fail(
          f,
          'mixes MAC and IP selectors; a port ACL matches MAC addresses or IP prefixes, so write one rule for each',
        );
      sameFamily(o.localIp, o.remoteIp, f);
    },
  },
);

const protocol = custom({
  check: (v, f): AclProtocol =>
    typeof v === 'number' ? (kProtoNames[intCheck(v, f, 0, 255)] ?? (v as AclProtocol)) : oneOfCheck(v, f, kProtocols),
  schema: { oneOf: [{ enum: [...kProtocols] }, { type: 'integer', minimum: 0, maximum: 255 }] },
  kind: 'protocol',
  help: 'tcp, udp, icmp, icmpv6 or an IP protocol number (absent: any)',
  cli: {
    flag: 'protocol',
    value: 'PROTO',
    help: 'tcp, udp, icmp, icmpv6 or a number',
    parse: (t, _f, flag) => (/^\d+$/.test(t) ? whole(t, flag) : t.toLowerCase()),
  },
});

/** Extended port ACL (Add-VMNetworkAdapterExtendedAcl): 5-tuple, weight, optional stateful allow. */
export const extAclRule = obj(
  {
    id,
    action: required(
      oneOf(['allow', 'deny'], { help: 'the first matching rule decides', noCli: 'the ACTION argument' }),
    ),
    direction,
    weight: required(
      int({
        min: 1,
        max: kMaxWeight,
        help: 'evaluation order: higher weights first; unique per direction on a port',
        cli: { flag: 'weight', value: 'N', help: 'the weight, instead of the WEIGHT argument' },
      }),
    ),
    protocol,
    localIp,
    remoteIp,
    localPort: l4port('local', "the port's side: a TCP/UDP port or range"),
    remotePort: l4port('remote', 'the other side: a TCP/UDP port or range'),
    stateful: bool({
      help: 'allow replies of the flows this rule allows (and nothing unsolicited)',
      cli: { flag: 'stateful' },
    }),
    idleTimeout: int({
      min: 1,
      max: kMaxIdleTimeout,
      default: 60,
      help: 'stateful: seconds a flow lives without traffic (default 60)',
      cli: { flag: 'idle-timeout', value: 'S' },
    }),
  },
  {
    help: 'an extended ACL: 5-tuple, higher weight first, first match wins; a stateful allow lets the replies in',
    check: (o, f) => {
      sameFamily(o.localIp, o.remoteIp, f);
      const fam = Math.max(family(o.localIp ?? 'any'), family(o.remoteIp ?? 'any'));
      if (o.protocol === 'icmp' && fam === 6)
        fail(`${f}.protocol`, 'icmp is IPv4 ICMP but the rule has IPv6 prefixes; use icmpv6');
      if (o.protocol === 'icmpv6' && fam === 4)
        fail(`${f}.protocol`, 'icmpv6 is IPv6 ICMP but the rule has IPv4 prefixes; use icmp');
      const ported = o.protocol === 'tcp' || o.protocol === 'udp';
      for (const k of ['localPort', 'remotePort'] as const)
        if (o[k] !== undefined && !ported)
          fail(
            `${f}.${k}`,
            `ports apply only to protocol tcp or udp, got ${o.protocol === undefined ? 'no protocol (any)' : `protocol ${o.protocol}`}`,
          );
      if (o.stateful && o.action !== 'allow')
        fail(
          `${f}.stateful`,
          'only an allow rule can be stateful (its flow entry lets the replies through); use action allow or drop stateful',
        );
      if (o.idleTimeout !== undefined && !o.stateful)
        fail(`${f}.idleTimeout`, 'applies only to stateful rules (the flow entry is what times out)');
    },
  },
);
