/**
 * Help text generated from the command table: the overview (`vswitch --help`), a group (`vswitch help
 * port`) and one command (`vswitch help port add`, `vswitch port add --help`) with its options and examples.
 */
import { commandName, kGlobalOptions, usageLine, type Command, type OptionSpec } from './command.js';

function optionLines(opts: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(opts)
    .filter(([, o]) => !o.hidden)
    .map(([k, o]) => {
      const left = `${o.short ? `-${o.short}, ` : ''}--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
      return [
        left,
        o.help + (o.choices && o.value !== o.choices.join('|') ? ` (${o.choices.join('|')})` : ''),
      ] as const;
    });
  const w = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`);
}

export function commandHelp(c: Command): string {
  const lines = [`usage: ${usageLine(c)}`, '', c.summary];
  if (c.description) lines.push('', c.description);
  if (c.options && Object.values(c.options).some((o) => !o.hidden))
    lines.push('', 'Options:', ...optionLines(c.options));
  lines.push('', 'Global options:', ...optionLines(kGlobalOptions));
  if (c.examples?.length) lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

function listing(cmds: readonly Command[]): string[] {
  const rows = cmds.map(
    (c) =>
      [
        usageLine(c)
          .replace(/^vswitch /, '')
          .replace(/ \[OPTIONS\]$/, ''),
        c.summary,
      ] as const,
  );
  const w = Math.min(44, Math.max(...rows.map(([l]) => l.length)));
  return rows.map(([l, s]) => (l.length > w ? `  ${l}\n  ${''.padEnd(w)}  ${s}` : `  ${l.padEnd(w)}  ${s}`));
}

export function groupHelp(table: readonly Command[], group: string): string {
  return [
    `vswitch ${group} commands:`,
    ...listing(table.filter((c) => c.path[0] === group)),
    '',
    `'vswitch help ${group} CMD' shows one command's options.`,
  ].join('\n');
}

export function overview(table: readonly Command[]): string {
  return [
    'vswitch: a userspace 802.1Q virtual switch',
    '',
    ...listing(table),
    '',
    'Global options:',
    ...optionLines(kGlobalOptions),
    '  --version  print the version',
    '',
    "'vswitch help CMD' (or 'vswitch CMD --help') shows one command: its arguments, options and examples.",
  ].join('\n');
}

/** The command (or group) named by `words`, as help text; undefined when nothing is named so. */
export function helpFor(table: readonly Command[], words: readonly string[]): string | undefined {
  if (words.length === 0) return overview(table);
  const name = words.join(' ');
  const cmd = table.find((c) => commandName(c) === name);
  // `capture` is a command and the start of `capture list` / `capture stop`: name those too
  const more = table
    .filter((c) => c.path.length > words.length && c.path.slice(0, words.length).join(' ') === name)
    .map((c) => `'vswitch ${commandName(c)}'`);
  if (cmd) return commandHelp(cmd) + (more.length ? `\n\nSee also: ${more.join(', ')}.` : '');
  if (words.length === 1 && table.some((c) => c.path[0] === words[0])) return groupHelp(table, words[0]!);
  return undefined;
}
