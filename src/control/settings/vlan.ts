/**
 * A port's VLAN mode, declared once: untagged, access VID, trunk (allowed, native, pruned) or private
 * (policy's pvlanConfig), and how the command line spells it: `access 10`, `trunk 10,20 --native 30`,
 * `private isolated 100 101`. Used by ports, by `port vlan` and by the VDE client template.
 */
import { pvlanConfig } from '../validate-policy.js';
import { fail } from '../validate-helpers.js';
import { num, UsageError } from '../cli/typed.js';
import { custom, lit, obj, required, variant, vid, vidList, type Flags } from './setting.js';

function list(text: string): (number | string)[] {
  return text.split(',').filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** `access 10`, `trunk 10,20` (with --native, --pruned), `untagged`, `private isolated 100 101` -> the raw shape. */
export function vlanWords(args: readonly string[], f: Flags): Record<string, unknown> {
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
    if (f.native !== undefined) raw.native = num(f.native as string, '--native');
    if (f.pruned !== undefined) raw.pruned = list(f.pruned as string);
  }
  return raw;
}

export const kTrunkOptions = {
  native: { type: 'string', value: 'VID', help: 'trunk: the VLAN sent untagged' },
  pruned: { type: 'string', value: 'LIST', help: 'trunk: VLANs removed from the allowed set (10,20,100-110)' },
} as const;

const pvlan = custom({
  check: (v, f) => pvlanConfig(v, f),
  schema: {
    type: 'object',
    properties: {
      mode: { const: 'private' },
      pvlan: { enum: ['isolated', 'community', 'promiscuous'] },
      primary: { type: 'integer', minimum: 1, maximum: 4094 },
      secondary: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 4094 } },
    },
    required: ['mode', 'pvlan', 'primary', 'secondary'],
    additionalProperties: false,
  },
});

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
    cli: { flag: 'vlan', value: 'MODE', help: "'untagged', 'access VID', 'trunk ALLOWED' (with --native, --pruned)", parse: (text, f) => vlanWords(text.split(/\s+/), f), extra: kTrunkOptions, example: ['--vlan', 'trunk 10,20-21', '--native', '10'] },
  },
);
