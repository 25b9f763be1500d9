/**
 * The published forms of the declarations: a JSON Schema (draft 2020-12) of the config file, which is also
 * the shape of `config show` and of the API's POST bodies, for editors to validate config files against
 * (`vswitch schema`, GET /v1/schema); and the reference page docs/settings.md (`vswitch schema --markdown`),
 * one table per object: key, type and range, default, flag, and whether it changes at runtime. Trade-off:
 * the schema states types and ranges; the rules that span fields (a trunk needs an allowed VLAN, one port
 * per endpoint) stay in the validator, so a file the schema accepts can still be refused with a message.
 */
import type { JsonSchema, RuntimeSpec, Setting } from './setting.js';
import { aclRule, extAclRule } from './acl.js';
import { nic } from './nic.js';
import { policySettings } from './policy.js';
import { port, qemu } from './port.js';
import { staticMac, switchSettings, vdeSwitch, vswitchSettings } from './switch.js';

export const kSchemaId = 'urn:vswitch:config';

export function configSchema(): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: kSchemaId,
    title: 'vswitch configuration',
    ...vswitchSettings.schema(),
  };
}

/** One line for a setting's type and range. */
function typeText(s: Setting): string {
  const j = s.schema();
  if (s.choices) return s.choices.map((c) => `\`${c}\``).join(' | ');
  if (j.type === 'integer' || j.type === 'number') {
    if (Array.isArray(j.enum)) return `${j.type}: ${(j.enum as number[]).join(', ')}`;
    const lo = j.exclusiveMinimum !== undefined ? `> ${j.exclusiveMinimum}` : `${j.minimum}`;
    return `${j.type} ${lo}..${j.maximum}`;
  }
  const named: Record<string, string> = {
    mac: 'MAC address',
    vidList: 'VLAN list',
    'ip prefix': 'IP prefix or `any`',
    'port range': 'port or range `N-M`',
    protocol: 'tcp | udp | icmp | icmpv6 | 0..255',
    'bits/s': 'bits/s: 0 or 1000..100000000000',
  };
  if (named[s.kind]) return named[s.kind]!;
  if (s.kind === 'list') return 'list';
  if (s.variants) return `object, by \`${s.key}\``;
  if (j.type) return String(j.type);
  return s.kind;
}

const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function flagText(s: Setting): string {
  if (s.cli?.group)
    return Object.keys(s.cli.group.options)
      .map((k) => `\`--${k}\``)
      .join(', ');
  if (s.cli?.flag) return `\`--${s.cli.flag}${s.cli.value ? ` ${s.cli.value}` : ''}\``;
  return s.noCli ? `none: ${cell(s.noCli)}` : '';
}

interface TableOpts {
  prefix?: string;
  /** The command group of runtime changes ('switch', 'port'); absent: nothing changes at runtime. */
  group?: string;
  /** The runtime spec of the object the fields are in (dvmq's fields change with `switch tune`). */
  inherit?: RuntimeSpec;
  /** What "fixed" means here ('at creation', 'at start'). */
  fixed?: string;
}

function table(title: string, intro: string, fields: Readonly<Record<string, Setting>>, o: TableOpts = {}): string[] {
  const rows = Object.entries(fields)
    .filter(([, s]) => s.kind !== 'lit')
    .map(([k, s]) => {
      const dflt = s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``;
      const rt = s.runtime ?? o.inherit;
      const when =
        rt && o.group ? `runtime: \`vswitch ${rt.group ?? o.group} ${rt.command}\`` : (o.fixed ?? 'at creation');
      return `| \`${o.prefix ?? ''}${k}\`${s.required ? ' (required)' : ''} | ${cell(typeText(s))} | ${dflt} | ${cell(flagText(s))} | ${when} | ${cell(s.help ?? '')} |`;
    });
  return [
    `## ${title}`,
    '',
    intro,
    '',
    '| key | type | default | CLI flag | changes | meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** docs/settings.md. */
export function settingsMarkdown(): string {
  const nicShapes = Object.entries(nic.variants ?? {}).flatMap(([name, shape]) =>
    table(
      `Endpoint \`${name}\` (port \`nic\`)`,
      shape.noCli ? `Not offered by the CLI: ${shape.noCli}.` : `\`"nic": {"type": "${name}", ...}\`.`,
      shape.fields ?? {},
      { prefix: 'nic.' },
    ),
  );
  return [
    '# Settings reference',
    '',
    '<!-- Generated from src/control/settings/ by `vswitch schema --markdown`; do not edit by hand',
    '     (src/control/settings/schema.test.ts fails when this file and the declarations differ). -->',
    '',
    'Every setting of the config file, with its type and range, default, `switch add` / `port add` flag and',
    'whether it changes on a running switch (and with which command). The API takes the same keys in its',
    'POST bodies, and `vswitch config show` prints them. `vswitch schema` prints a JSON Schema',
    '(draft 2020-12) of the config file for editors:',
    '',
    '```sh',
    'vswitch schema > vswitch.schema.json    # e.g. VS Code: "json.schemas": [{"fileMatch": ["vswitch*.json"], "url": "./vswitch.schema.json"}]',
    '```',
    '',
    ...table(
      'Config file',
      'The top level of the file given to `vswitch run --config FILE`.',
      vswitchSettings.fields ?? {},
      { fixed: 'at start' },
    ),
    ...table(
      'Switch',
      'An entry of `switches`; `vswitch switch add SW [flags]`, POST /v1/switches.',
      switchSettings.fields ?? {},
      { group: 'switch' },
    ),
    ...table(
      'Dynamic VMQ (switch `dvmq`)',
      'Dynamic VMQ: which worker serves each queue, re-decided from measured load.',
      switchSettings.fields?.dvmq?.fields ?? {},
      { prefix: 'dvmq.', group: 'switch', inherit: switchSettings.fields?.dvmq?.runtime },
    ),
    ...table(
      'VDE service (switch `vdeSwitch`)',
      'Each client of the directory becomes a port with these settings.',
      vdeSwitch.fields ?? {},
      { prefix: 'vdeSwitch.' },
    ),
    ...table('Static MAC (switch `staticMacs`)', 'Also `vswitch fdb add`.', staticMac.fields ?? {}),
    ...table(
      'Port',
      "An entry of a switch's `ports`; `vswitch port add SW PORT [flags]`, POST /v1/switches/SW/ports.",
      port.fields ?? {},
      { group: 'port' },
    ),
    ...table(
      'Port policy (port `policy`)',
      "Hyper-V's port policy; also `vswitch port add` flags, and PUT /v1/switches/SW/ports/PORT/policy. See docs/policy.md.",
      policySettings.fields ?? {},
      { prefix: 'policy.', group: 'port', inherit: port.fields?.policy?.runtime },
    ),
    ...table(
      'Port ACL rule (policy `acls`)',
      '`vswitch acl add SW PORT ACTION DIRECTION [flags]`, POST /v1/switches/SW/ports/PORT/acls.',
      aclRule.fields ?? {},
      { prefix: 'acls[].', fixed: 'with its rule' },
    ),
    ...table(
      'Extended ACL rule (policy `extendedAcls`)',
      '`vswitch xacl add SW PORT ACTION DIRECTION WEIGHT [flags]`, POST /v1/switches/SW/ports/PORT/extended-acls.',
      extAclRule.fields ?? {},
      { prefix: 'extendedAcls[].', fixed: 'with its rule' },
    ),
    ...table('QEMU line (port `qemu`)', 'How the printed QEMU line joins a VM to the port.', qemu.fields ?? {}, {
      prefix: 'qemu.',
    }),
    ...nicShapes,
  ].join('\n');
}
