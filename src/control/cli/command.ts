/**
 * What a CLI command is: one declaration (its words, positional arguments, options with their help, a
 * description, examples and a run function) from which the parser, `help`, usage errors and shell
 * completion are all derived (the npm CLI's lib/commands shape). A command sees only its own options:
 * a flag that belongs to another command is refused, never silently ignored.
 */
import type { ApiClient } from '../client.js';
import * as v from '../validate.js';
import { num, UsageError } from './typed.js';
export { num, UsageError };

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's name in help (`--port PORT`). */
  value?: string;
  help: string;
  /** Legal values, checked before the request is sent and offered by completion. */
  choices?: readonly string[];
  /** A filesystem path: resolved against the CLI's working directory before it reaches the daemon. */
  path?: boolean;
  /** Accepted by the parser but not offered (help, completion): a setting the command refuses with its reason. */
  hidden?: boolean;
}

export interface ArgSpec {
  name: string;
  optional?: boolean;
  /** Takes every remaining word (at least one unless optional). */
  variadic?: boolean;
  /** What completion offers here: names read from the daemon, or fixed words. */
  complete?: 'switch' | 'port' | readonly string[];
}

export type Flags = Record<string, string | boolean | undefined>;

export interface Context {
  args: string[];
  flags: Flags;
  json: boolean;
  api: ApiClient;
  out: (s: string) => void;
  /** Human text, or the data as JSON under --json. */
  print: (human: string, data: unknown) => void;
}

export interface Command {
  /** The words that name it: ['port', 'add']. */
  path: readonly string[];
  args: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** One line for the command list. */
  summary: string;
  /** More text for `help CMD`, if one line is not enough. */
  description?: string;
  examples?: readonly string[];
  /** Exit code (0 when nothing is returned). */
  run(ctx: Context): Promise<number | void>;
}

/** Options every command takes. */
export const kGlobalOptions: Readonly<Record<string, OptionSpec>> = {
  api: {
    type: 'string',
    value: 'SOCK',
    help: "the daemon's API socket (default $VSWITCH_API or the runtime directory's api.sock)",
    path: true,
  },
  json: { type: 'boolean', help: 'machine-readable output, errors included (a JSON object on stderr)' },
  help: { type: 'boolean', short: 'h', help: "show this command's help" },
};

export const commandName = (c: Command): string => c.path.join(' ');

export function usageLine(c: Command): string {
  const args = c.args.map((a) => {
    const n = a.variadic ? `${a.name}...` : a.name;
    return a.optional ? `[${n}]` : n;
  });
  return ['vswitch', ...c.path, ...args, ...(c.options && Object.keys(c.options).length ? ['[OPTIONS]'] : [])].join(
    ' ',
  );
}

/** A string option's value (parseArgs gives string options strings). */
export const str = (f: Flags, k: string): string | undefined => f[k] as string | undefined;

/** A switch or port name as a URL path segment (validated first, so a bad name is refused here). */
export const swSeg = (s: string | undefined): string => encodeURIComponent(v.switchName(s, 'switch name'));
export const ptSeg = (s: string | undefined): string => encodeURIComponent(v.portName(s, 'port name'));

/** Some options of a declared set, by name (a command takes the flags it uses, each declared once). */
export function pick<K extends string>(
  from: Readonly<Record<K, OptionSpec>>,
  names: readonly K[],
): Record<string, OptionSpec> {
  return Object.fromEntries(names.map((k) => [k, from[k]]));
}
