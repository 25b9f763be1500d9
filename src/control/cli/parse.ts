/**
 * From argv to one command and its checked arguments. The command is found by its words first (global
 * options may come before them), then node:util parseArgs runs with that command's own options only, so a
 * flag of another command is refused ("unknown option --port for 'fdb show'") instead of being ignored.
 * Every refusal suggests the nearest command or option (suggest.ts) and points at `vswitch help CMD`.
 * Options declared as paths are resolved against the CLI's working directory here, once, for every command.
 */
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import {
  commandName,
  kGlobalOptions,
  UsageError,
  usageLine,
  type Command,
  type Flags,
  type OptionSpec,
} from './command.js';

import { closest } from './suggest.js';
import { kTcpAddress } from '../settings/nic.js';

export type Located =
  | { cmd: Command; rest: string[] }
  | { group: string; rest: string[] }
  | { top: true; rest: string[] };

/** Indices of the first `n` words of argv that are not options (or the value of a global string option). */
function wordIndices(argv: readonly string[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < argv.length && out.length < n; i++) {
    const t = argv[i]!;
    if (t === '--') break;
    if (t.startsWith('-') && t.length > 1) {
      const name = t.replace(/^--?/, '');
      if (!name.includes('=') && kGlobalOptions[name]?.type === 'string') i++;
      continue;
    }
    out.push(i);
  }
  return out;
}

const without = (argv: readonly string[], idx: number[]) => argv.filter((_, i) => !idx.includes(i));

/** The command named by argv's leading words, a group (`port` alone), or nothing (`vswitch --help`). */
export function locate(table: readonly Command[], argv: readonly string[]): Located {
  const idx = wordIndices(argv, 2);
  const words = idx.map((i) => argv[i]!);
  for (const len of [2, 1]) {
    if (words.length < len) continue;
    const cmd = table.find((c) => c.path.length === len && c.path.every((w, k) => w === words[k]));
    if (cmd) return { cmd, rest: without(argv, idx.slice(0, len)) };
  }
  if (words.length === 0) return { top: true, rest: [...argv] };
  const groups = new Set(table.map((c) => c.path[0]!));
  if (groups.has(words[0]!) && words.length === 1) return { group: words[0]!, rest: without(argv, idx) };
  const typed = words.join(' ');
  const names = table.map(commandName);
  const near = groups.has(words[0]!)
    ? closest(
        typed,
        names.filter((n) => n.startsWith(`${words[0]} `)),
      )
    : (closest(typed, names) ?? closest(words[0]!, groups));
  throw new UsageError(
    `unknown command '${typed}'${near ? `; did you mean '${near}'?` : '.'} Run 'vswitch --help' for the list of commands.`,
    'command',
  );
}

function parseOptions(cmd: Command): Record<string, OptionSpec> {
  return { ...kGlobalOptions, ...(cmd.options ?? {}) };
}

/** Which commands take an option: for "--port belongs to 'fdb flush'". */
function ownersOf(table: readonly Command[], name: string): string[] {
  return table.filter((c) => c.options?.[name]).map(commandName);
}

function unknownOption(table: readonly Command[], cmd: Command, typed: string): UsageError {
  const name = typed.replace(/^--?/, '').replace(/=.*$/, '');
  const mine = Object.keys(parseOptions(cmd));
  const near = closest(name, mine);
  const owners = ownersOf(table, name);
  let hint = '';
  if (near) hint = `; did you mean --${near}?`;
  else if (owners.length)
    hint = `; --${name} is an option of ${owners.map((o) => `'${o}'`).join(', ')}, not of '${commandName(cmd)}'.`;
  else hint = '.';
  return new UsageError(
    `unknown option ${typed} for '${commandName(cmd)}'${hint} Run 'vswitch help ${commandName(cmd)}' for its options.`,
    typed,
  );
}

export interface Parsed {
  args: string[];
  flags: Flags;
  help: boolean;
}

/** Parse the words and options after the command's name, refusing what the command does not declare. */
export function parseCommand(
  table: readonly Command[],
  cmd: Command,
  rest: readonly string[],
  cwd = process.cwd(),
): Parsed {
  const specs = parseOptions(cmd);
  const options = Object.fromEntries(
    Object.entries(specs).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const m = /'(-[^' ]+)/.exec(e.message);
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) throw unknownOption(table, cmd, m[1]!);
    throw new UsageError(`${e.message} Run 'vswitch help ${commandName(cmd)}' for usage.`);
  }
  const flags = parsed.values as Flags;
  const args = parsed.positionals;
  if (flags.help) return { args, flags, help: true };
  const required = cmd.args.filter((a) => !a.optional).length;
  const variadic = cmd.args.some((a) => a.variadic);
  if (args.length < required) {
    const missing = cmd.args[Math.min(args.length, cmd.args.length - 1)]!;
    throw new UsageError(`missing ${missing.name} for '${commandName(cmd)}': usage: ${usageLine(cmd)}`, missing.name);
  }
  if (!variadic && args.length > cmd.args.length)
    throw new UsageError(
      `unexpected argument '${args[cmd.args.length]}' for '${commandName(cmd)}': usage: ${usageLine(cmd)}`,
    );
  for (const [k, o] of Object.entries(specs)) {
    const val = flags[k];
    if (typeof val !== 'string') continue;
    if (o.choices && !o.choices.includes(val)) {
      const near = closest(val, o.choices);
      throw new UsageError(
        `--${k} must be one of ${o.choices.join(', ')}, got '${val}'${near ? `; did you mean '${near}'?` : ''}`,
        `--${k}`,
      );
    }
    // a path option that also takes a TCP address (--listen HOST:PORT) keeps the address as given
    if (o.path && !kTcpAddress.test(val)) flags[k] = resolvePath(cwd, val);
  }
  return { args, flags, help: false };
}
