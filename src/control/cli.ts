#!/usr/bin/env node
/**
 * The `vswitch` command. `vswitch run` is the daemon; every other command is a client of its management
 * API (control/api.ts), so the CLI, scripts and tests all drive the same validated path. The commands are
 * declared in control/cli/ (one file per group, one table); this file finds the command, runs it, and turns
 * a failure into a message and an exit code: 2 for the user's mistake (a usage error, a refused value, an
 * API 4xx), 1 for anything else (no daemon, an API 5xx). With --json the error is a JSON object on stderr.
 */
import { quietOnBrokenPipe } from './broken-pipe.js';
import { ApiClient, ApiError } from './client.js';
import { defaultApiPath } from './defaults.js';
import { groupHelp, helpFor, overview } from './cli/help.js';
import { kGlobalOptions, UsageError } from './cli/command.js';
import { complete } from './cli/completion.js';
import { version } from './cli/meta.js';
import { locate, parseCommand } from './cli/parse.js';
import { closest } from './cli/suggest.js';
import { commands } from './cli/table.js';
import { ConfigError } from './validate.js';

/** How long completion waits for the daemon's names: a TAB must not hang. */
const kCompleteTimeoutMs = 1000;

async function completeWords(words: string[], out: (s: string) => void): Promise<number> {
  const i = words.indexOf('--api');
  const api = new ApiClient(i >= 0 && words[i + 1] ? words[i + 1]! : defaultApiPath());
  const names = async (kind: 'switch' | 'port', sw?: string): Promise<string[]> => {
    const call =
      kind === 'switch'
        ? api.call<Array<{ name: string }>>('GET', '/switches')
        : api.call<Array<{ name: string }>>('GET', `/switches/${encodeURIComponent(sw ?? '')}/ports`);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('timeout')), kCompleteTimeoutMs).unref(),
    );
    return (await Promise.race([call, timeout]).catch(() => [])).map((x) => x.name);
  };
  const c = await complete(commands, words, names);
  if (c.length) out(c.join('\n'));
  return 0;
}

/** `vswitch`, `vswitch --help`, `vswitch --version`: the options before any command. */
function topLevel(rest: string[], out: (s: string) => void): number {
  for (const t of rest) {
    if (t === '--version' || t === '-V') {
      out(version());
      return 0;
    }
    if (t.startsWith('-') && t !== '--help' && t !== '-h' && t !== '--json') {
      const name = t.replace(/^--?/, '').replace(/=.*$/, '');
      if (kGlobalOptions[name]) continue;
      const near = closest(name, [...Object.keys(kGlobalOptions), 'version']);
      throw new UsageError(
        `unknown option ${t}${near ? `; did you mean --${near}?` : ''} Run 'vswitch --help' for usage.`,
        t,
      );
    }
  }
  out(overview(commands));
  return 0;
}

export async function main(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
): Promise<number> {
  // the shell calls `vswitch __complete WORDS...`; tests may put --api SOCK first
  const ci = argv.indexOf('__complete');
  if (ci === 0 || (ci === 2 && argv[0] === '--api'))
    return completeWords([...argv.slice(0, ci), ...argv.slice(ci + 1)], out);
  const loc = locate(commands, argv);
  if ('top' in loc) return topLevel(loc.rest, out);
  if ('group' in loc) {
    out(groupHelp(commands, loc.group));
    return 0;
  }
  const { cmd } = loc;
  const p = parseCommand(commands, cmd, loc.rest);
  if (p.help) {
    out(helpFor(commands, cmd.path)!);
    return 0;
  }
  const json = p.flags.json === true;
  const api = new ApiClient((p.flags.api as string | undefined) ?? defaultApiPath());
  const print = (human: string, data: unknown) => out(json ? JSON.stringify(data, null, 2) : human);
  return (await cmd.run({ args: p.args, flags: p.flags, json, api, out, print })) ?? 0;
}

/** 2: the user's mistake; 1: not (no daemon, an internal error). */
export function exitCode(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError || (err instanceof ApiError && err.status < 500)
    ? 2
    : 1;
}

/** The error as printed: text, or with --json an object {error, field?, status?, exitCode}. */
export function errorReport(err: unknown, json: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!json) return `vswitch: ${message}`;
  const field =
    err instanceof UsageError || err instanceof ConfigError || err instanceof ApiError ? err.field : undefined;
  const status = err instanceof ApiError ? err.status : undefined;
  return JSON.stringify({
    error: message,
    ...(field ? { field } : {}),
    ...(status ? { status } : {}),
    exitCode: exitCode(err),
  });
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('/vswitch')) {
  const argv = process.argv.slice(2);
  quietOnBrokenPipe(argv.includes('run'));
  main(argv).then(
    (code) => {
      if (argv.includes('run')) process.exit(code);
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(errorReport(err, argv.includes('--json')));
      process.exitCode = exitCode(err);
    },
  );
}
