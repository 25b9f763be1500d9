/**
 * The command line's side of the declarations: the options a command takes for an object of settings
 * (each setting's flag, value name, help and choices) and the reading of those flags back into the raw
 * object the same declaration validates. A refusal from the validator is re-aimed at the flag typed
 * (`--mtu: must be an integer from 68 to 9216, got 20`), so the CLI has no flag table of its own.
 */
import { ConfigError } from '../validate-helpers.js';
import { walk, type FlagSpec, type Flags, type Setting } from './setting.js';

/** The help of a setting's flag: the flag's own, else the setting's, with its default unless it says one. */
function helpOf(s: Setting): string {
  const help = s.cli?.help ?? s.help ?? '';
  const d = s.default;
  return s.cli?.value && d !== undefined && typeof d !== 'object' && !/default/.test(help)
    ? `${help} (default ${typeof d === 'boolean' ? (d ? 'on' : 'off') : d})`
    : help;
}

/**
 * The options of `s` and every setting below it that has a flag (variants included), in declaration order;
 * a setting without a flag (`noCli`) hides what is below it (a switch's ports have their own command).
 */
export function optionsOf(s: Setting): Record<string, FlagSpec> {
  const out: Record<string, FlagSpec> = {};
  const add = (c: Setting) => {
    const cli = c.cli;
    if (cli?.group) Object.assign(out, cli.group.options);
    if (cli?.flag)
      out[cli.flag] = cli.value
        ? {
            type: 'string',
            value: cli.value,
            help: helpOf(c),
            ...(c.choices ? { choices: c.choices } : c.kind === 'bool' ? { choices: ['on', 'off'] } : {}),
            ...(cli.path ? { path: true } : {}),
          }
        : { type: 'boolean', help: helpOf(c) };
    if (cli?.extra) Object.assign(out, cli.extra);
    if (c.noCli) return;
    for (const k of [...Object.values(c.fields ?? {}), ...Object.values(c.variants ?? {})]) add(k);
  };
  add(s);
  return out;
}

/** The flags of `s`'s settings that were given, as the raw object `s` validates (undefined when none). */
export function readFlags(s: Setting, flags: Flags): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(s.fields ?? {})) {
    const x = readOne(c, flags);
    if (x !== undefined) out[k] = x;
  }
  return Object.keys(out).length ? out : undefined;
}

function readOne(c: Setting, flags: Flags): unknown {
  const cli = c.cli;
  if (cli?.group) return cli.group.read(flags);
  if (cli?.flag) {
    const given = flags[cli.flag];
    if (given === undefined || given === false) return undefined;
    if (!cli.value) return cli.sets ?? true;
    const text = given as string;
    if (cli.parse) return cli.parse(text, flags, `--${cli.flag}`);
    if (c.kind === 'int') return whole(text, `--${cli.flag}`);
    if (c.kind === 'num') return decimal(text, `--${cli.flag}`);
    if (c.kind === 'bool') return onOff(text, `--${cli.flag}`);
    return text;
  }
  if (c.fields && c.kind !== 'list') return readFlags(c, flags);
  return undefined;
}

/** A decimal number as typed ("0.8", "100", "-0.1"); no exponents or hex, which no one means here. */
export function decimal(text: string, flag: string): number {
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()))
    throw new ConfigError(flag, `must be a number like 0.8 or 100, got '${text}'`);
  return Number(text);
}

/** A whole number as typed (sign allowed: the validator says what range is legal). */
export function whole(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text)))
    throw new ConfigError(flag, `must be a whole number, got '${text}'`);
  return Number(text);
}

export function onOff(text: string, flag: string): boolean {
  if (text !== 'on' && text !== 'off') throw new ConfigError(flag, `must be on or off, got '${text}'`);
  return text === 'on';
}

/** The flag that sets the setting at `path` below `s` ('mtu', 'qemu.device', 'nic.netns'), if it has one. */
export function flagOf(s: Setting, path: string): string | undefined {
  const plain = (p: string) => p.replace(/\([^)]*\)/g, '').replace(/\[\d*\]/g, '[]');
  const hit = walk(s).find((x) => plain(x.path) === plain(path) && x.setting.cli?.flag);
  return hit ? `--${hit.setting.cli!.flag}` : undefined;
}

/**
 * Run `validate` on what the flags gave; a refusal naming `prefix.PATH` is re-aimed at PATH's flag (or at
 * `names[PATH]`: a positional such as ACTION), one naming `prefix` itself keeps it, and the config keys in
 * its message are spelled as flags ("--rss needs --vmq-weight 1-100").
 */
export function asTyped<T>(
  s: Setting,
  prefix: string,
  validate: () => T,
  names: Readonly<Record<string, string>> = {},
): T {
  try {
    return validate();
  } catch (err) {
    if (!(err instanceof ConfigError) || (err.field !== prefix && !err.field.startsWith(`${prefix}.`))) throw err;
    const path = err.field.slice(prefix.length + 1);
    const flag = err.field === prefix ? prefix : (names[path] ?? flagOf(s, path));
    if (!flag) throw err;
    // the keys a message names (`below upperThreshold 0.8`) as the flags typed (`below --dvmq-upper 0.8`)
    const keys = new Map(
      walk(s)
        .filter((x) => x.setting.cli?.flag)
        .map((x) => [x.path.replace(/^.*[.)]/, ''), `--${x.setting.cli!.flag}`]),
    );
    throw new ConfigError(
      flag,
      err.message.slice(err.field.length + 2).replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (w) => keys.get(w) ?? w),
    );
  }
}
