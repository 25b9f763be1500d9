/**
 * Shell completion generated from the command table. The bash and zsh functions are a few lines that ask
 * `vswitch __complete WORDS...` for the candidates (the npm CLI's approach), so commands, options, fixed
 * values and even the running switches' and ports' names come from one place: the table and the daemon.
 * The cost is a Node start per TAB (about 50 ms); names are skipped quietly when no daemon answers.
 */
import { kGlobalOptions, type Command } from './command.js';

/** Names the daemon knows, for arguments declared `complete: 'switch' | 'port'`. */
export type NameSource = (kind: 'switch' | 'port', sw?: string) => Promise<string[]>;

/** Candidates for the last word of `words` (the words after `vswitch`, the last one possibly empty). */
export async function complete(
  table: readonly Command[],
  words: readonly string[],
  names: NameSource,
): Promise<string[]> {
  const cur = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const visible = table;
  // the command: its words are the leading non-option words
  const plain: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const t = before[i]!;
    if (t.startsWith('-')) {
      if (kGlobalOptions[t.slice(2)]?.type === 'string') i++;
      continue;
    }
    plain.push(t);
  }
  const cmd =
    visible.find((c) => c.path.length === 2 && c.path[0] === plain[0] && c.path[1] === plain[1]) ??
    visible.find((c) => c.path.length === 1 && c.path[0] === plain[0]);
  const pick = (xs: Iterable<string>) => [...new Set(xs)].filter((x) => x.startsWith(cur)).sort();
  if (!cmd) {
    if (plain.length === 0)
      return pick([...visible.map((c) => c.path[0]!), ...(cur.startsWith('-') ? ['--help', '--version'] : [])]);
    if (plain.length === 1)
      return pick(visible.filter((c) => c.path[0] === plain[0] && c.path.length === 2).map((c) => c.path[1]!));
    return [];
  }
  if (cmd.path[0] === 'help')
    return pick(
      plain.length === 1
        ? visible.map((c) => c.path[0]!)
        : visible.filter((c) => c.path[0] === plain[1] && c.path.length === 2).map((c) => c.path[1]!),
    );
  const opts = { ...(cmd.options ?? {}), ...kGlobalOptions };
  const prev = before[before.length - 1];
  const prevOpt = prev?.startsWith('-')
    ? Object.entries(opts).find(([k, o]) => prev === `--${k}` || (o.short && prev === `-${o.short}`))
    : undefined;
  if (prevOpt && prevOpt[1].type === 'string') return prevOpt[1].choices ? pick(prevOpt[1].choices) : []; // a value: files come from the shell
  if (cur.startsWith('-'))
    return pick(
      Object.entries(opts)
        .filter(([, o]) => !o.hidden)
        .map(([k]) => `--${k}`),
    );
  // the positional being typed: words after the command's own, minus option values
  const pos: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const t = before[i]!;
    if (t.startsWith('-')) {
      const o = opts[t.replace(/^--?/, '')] ?? Object.values(opts).find((x) => x.short && t === `-${x.short}`);
      if (o?.type === 'string' && !t.includes('=')) i++;
      continue;
    }
    pos.push(t);
  }
  const given = pos.slice(cmd.path.length);
  const spec = cmd.args[Math.min(given.length, cmd.args.length - 1)];
  if (!spec || (given.length >= cmd.args.length && !spec.variadic)) return [];
  // `capture SW PORT` next to `capture list` / `capture stop`: offer both in the first position
  const subs =
    cmd.path.length === 1 && given.length === 0
      ? visible.filter((c) => c.path.length === 2 && c.path[0] === cmd.path[0]).map((c) => c.path[1]!)
      : [];
  if (spec.complete === 'switch') return pick([...subs, ...(await names('switch'))]);
  if (spec.complete === 'port') return pick(await names('port', given[0]));
  if (Array.isArray(spec.complete)) return pick(spec.complete as readonly string[]);
  return [];
}

export function bashScript(): string {
  return `# vswitch completion for bash: source <(vswitch completion bash), or save it in
# /etc/bash_completion.d/vswitch. Generated from vswitch's command table.
_vswitch() {
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _vswitch vswitch
`;
}

export function zshScript(): string {
  return `#compdef vswitch
# vswitch completion for zsh: source <(vswitch completion zsh), or save it as _vswitch in your $fpath.
# Generated from vswitch's command table.
_vswitch() {
  local -a c
  c=(\${(f)"$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"})
  if (( \${#c} )); then compadd -a c; else _files; fi
}
compdef _vswitch vswitch
`;
}
