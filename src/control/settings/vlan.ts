/**
 * A port's VLAN mode, declared once: untagged, access VID, trunk (allowed, native, pruned) or private
 * (primary and secondaries), and how the command line spells it: `access 10`, `trunk 10,20 --native 30`,
 * `private isolated 100 101`. Used by ports, by `port vlan` and by the VDE client template.
 */
import { fail } from '../validate-helpers.js';
import { num, UsageError } from '../cli/typed.js';
import type { PvlanMode } from '../../switch/vlan-config.js';
import { list as listOf, lit, obj, oneOf, required, variant, vid, vidList, type Flags } from './setting.js';

const kPvlanModes = ['isolated', 'community', 'promiscuous'] as const satisfies readonly PvlanMode[];

function list(text: string): (number | string)[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** `access 10`, `trunk 10,20` (with --native, --pruned), `untagged`, `private isolated 100 101` -> the raw shape. */
export function vlanWords(args: readonly string[], f: Flags): Record<string, unknown> {
  const [mode, arg] = args;
  const raw: Record<string, unknown> = { mode };
  if (mode === 'access') raw.vid = num(arg, 'access VID');
  if (mode === 'private') {
    const [, pvlan, primary, secondary] = args;
    if (!pvlan || !primary || !secondary)
      throw new UsageError(
        "private needs a mode, the primary and the secondary VLAN(s), e.g. 'private isolated 100 101'",
      );
    Object.assign(raw, { pvlan, primary: num(primary, 'primary VID'), secondary: list(secondary) });
  }
  if (mode === 'trunk') {
    if (!arg) throw new UsageError("trunk needs the allowed VLANs, e.g. 'trunk 10,20,100-110'");
    raw.allowed = list(arg);
    if (f.native !== undefined) raw.native = num(f.native as string, '--native');
    if (f.pruned !== undefined) raw.pruned = list(f.pruned as string);
  }
  return raw;
}

export const kTrunkOptions = {
  native: { type: 'string', value: 'VID', help: 'trunk: the VLAN sent untagged' },
  pruned: { type: 'string', value: 'LIST', help: 'trunk: VLANs removed from the allowed set (10,20,100-110)' },
} as const;

/**
 * Private VLAN mode (Set-VMNetworkAdapterVlan -Isolated/-Community/-Promiscuous): a primary VLAN and the
 * secondaries; isolated and community ports have exactly one, promiscuous ports one or more. Secondaries
 * come back sorted with duplicates merged (as trunk lists do).
 */
export const pvlan = obj(
  {
    mode: lit('private'),
    pvlan: required(
      oneOf(kPvlanModes, {
        help: 'isolated: talks only to promiscuous ports; community: its community and promiscuous ports; promiscuous: to all',
      }),
    ),
    primary: required(vid({ help: 'the primary VLAN' })),
    secondary: required(
      listOf(vid(), { what: 'VLAN IDs (1-4094)', help: 'the secondary VLAN (a promiscuous port: one or more)' }),
    ),
  },
  {
    check: (o, f) => {
      o.secondary.forEach((x, i) => {
        if (x === o.primary)
          fail(`${f}.secondary[${i}]`, `${x} is the primary VLAN; a secondary VLAN must differ from the primary`);
      });
      o.secondary = [...new Set(o.secondary)].sort((p, q) => p - q);
      const n = o.secondary.length;
      const port = `${o.pvlan === 'community' ? 'a' : 'an'} ${o.pvlan} port`;
      if (n === 0)
        fail(
          `${f}.secondary`,
          `${port} needs ${o.pvlan === 'promiscuous' ? 'at least one secondary VLAN' : 'exactly one secondary VLAN'}, got none`,
        );
      if (o.pvlan !== 'promiscuous' && n !== 1)
        fail(
          `${f}.secondary`,
          `${port} has exactly one secondary VLAN, got ${n} (${o.secondary.join(', ')}); only a promiscuous port lists several`,
        );
    },
  },
);

export const vlan = variant(
  'mode',
  {
    untagged: obj({ mode: lit('untagged') }),
    access: obj({ mode: lit('access'), vid: required(vid({ help: 'the VLAN of every frame' })) }),
    trunk: obj(
      {
        mode: lit('trunk'),
        allowed: required(vidList({ help: 'VLANs carried tagged' })),
        native: vid({ help: 'the VLAN sent untagged' }),
        pruned: vidList({ help: 'VLANs removed from the allowed set' }),
      },
      { check: (o, f) => o.allowed.length === 0 && fail(`${f}.allowed`, 'a trunk needs at least one allowed VLAN') },
    ),
    private: pvlan,
  },
  {
    help: 'the VLAN mode: untagged, access, trunk or private (default untagged)',
    default: { mode: 'untagged' },
    runtime: { route: 'vlan', body: '', command: 'vlan' },
    example: { mode: 'trunk', allowed: [10, 20, 21], native: 10 },
    cli: {
      flag: 'vlan',
      value: 'MODE',
      help: "'untagged', 'access VID', 'trunk ALLOWED' (with --native, --pruned)",
      parse: (text, f) => vlanWords(text.split(/\s+/), f),
      extra: kTrunkOptions,
      example: ['--vlan', 'trunk 10,20-21', '--native', '10'],
    },
  },
);
