/**
 * Workers, VMQ, RSS, Dynamic VMQ and moderation from the command line: the flags (declared once, with
 * their help; the commands pick theirs), the translation of `switch add`, `port add` and `switch tune` flags into the config shapes (validated by
 * validate-queues.ts, with errors naming the flag typed), the RSS table list, and the `vswitch queues` view.
 *
 * Why a separate file: as with policy-args.ts, the commands only dispatch; the flag <-> key table lives here,
 * used both to build the shape and to put the flag back into the validator's messages. Settings fixed at
 * creation (workers, VMQ queues, RSS table size, a port's VMQ weight and vRSS) are refused by `switch tune`
 * with that reason, rather than ignored.
 */
import type { OptionSpec } from './cli/command.js';
import type { DvmqConfig, PortConfig, QueuesStatus, SwitchConfig } from './model.js';
import { table } from './text-table.js';
import { ConfigError } from './validate.js';
import { dvmqConfig, parseModeration, validatePortQueues, validateSwitchQueues } from './validate-queues.js';

export type QueueFlags = Record<string, string | boolean | undefined>;

/** The worker and queue flags, declared once: their type and help. `switch add`, `switch tune` and `port add` pick theirs. */
export const queueFlagOptions = {
  workers: { type: 'string', value: 'N', help: 'datapath threads (default: one per core)' },
  'vmq-queues': { type: 'string', value: 'N', help: 'VMQ receive queues besides the default queue (default 16; fixed at creation)' },
  'rss-table-size': { type: 'string', value: 'N', help: 'RSS indirection table entries, a power of two up to 128 (fixed at creation)' },
  moderation: { type: 'string', value: 'MODE|N/T', help: 'when a queue wakes its worker: off|low|medium|high|adaptive, or after N frames or T us (16/100)' },
  'poll-window': { type: 'string', value: 'US', help: 'after a wake that did work, keep polling TAPs and rings this many microseconds (0-1000; default 0: off)' },
  dvmq: { type: 'string', value: 'on|off', help: 'Dynamic VMQ: move queues between workers by load', choices: ['on', 'off'] },
  'dvmq-upper': { type: 'string', value: 'X', help: "a worker's load (0-1) above which it hands a queue away (default 0.8)" },
  'dvmq-lower': { type: 'string', value: 'X', help: "a worker's load (0-1) below which it hands its queues back (default 0.2)" },
  'dvmq-period': { type: 'string', value: 'MS', help: 'load sampling period (default 100)' },
  'dvmq-min-move': { type: 'string', value: 'MS', help: 'a moved queue stays put at least this long (default 1000)' },
  'vmq-weight': { type: 'string', value: '0-100', help: 'VMQ: 0 = no queue of its own (default 100)' },
  rss: { type: 'string', value: 'on|off', help: "vRSS: spread the port's queue over the workers", choices: ['on', 'off'] },
} as const satisfies Record<string, OptionSpec>;

type QueueFlag = keyof typeof queueFlagOptions;

function fail(field: string, msg: string): never {
  throw new ConfigError(field, msg);
}

/** A whole number as typed (sign allowed: the validator says what range is legal). */
function whole(text: string, field: string): number {
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) fail(field, `must be a whole number, got '${text}'`);
  return Number(text);
}

/** A decimal number as typed ("0.8", "100", "-0.1"); no exponents or hex, which no one means here. */
function decimal(text: string, field: string): number {
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text.trim())) fail(field, `must be a number like 0.8 or 100, got '${text}'`);
  return Number(text);
}

function onOff(text: string, field: string): boolean {
  if (text !== 'on' && text !== 'off') fail(field, `must be on or off, got '${text}'`);
  return text === 'on';
}

function value(f: QueueFlags, flag: QueueFlag): string | undefined {
  const x = f[flag];
  if (x === undefined) return undefined;
  if (typeof x !== 'string') fail(`--${flag}`, 'needs a value');
  return x;
}

const kSwitchFlags: ReadonlyArray<readonly [QueueFlag, 'workers' | 'vmqQueues' | 'rssTableSize', typeof whole]> = [
  ['workers', 'workers', whole],
  ['vmq-queues', 'vmqQueues', whole],
  ['rss-table-size', 'rssTableSize', whole],
];
const kDvmqFlags: ReadonlyArray<readonly [QueueFlag, keyof DvmqConfig, (text: string, field: string) => unknown]> = [
  ['dvmq', 'enabled', onOff],
  ['dvmq-upper', 'upperThreshold', decimal],
  ['dvmq-lower', 'lowerThreshold', decimal],
  ['dvmq-period', 'samplePeriodMs', decimal],
  ['dvmq-min-move', 'minMoveIntervalMs', decimal],
];
const kPortFlags: ReadonlyArray<readonly [QueueFlag, 'vmqWeight' | 'rss', (text: string, field: string) => unknown]> = [
  ['vmq-weight', 'vmqWeight', whole],
  ['rss', 'rss', onOff],
];

/** Validator field suffix / camelCase key -> the flag typed. */
const kNames: Record<string, string> = {
  ...Object.fromEntries(kSwitchFlags.map(([flag, key]) => [key, `--${flag}`])),
  ...Object.fromEntries(kDvmqFlags.map(([flag, key]) => [`dvmq.${key}`, `--${flag}`])),
  ...Object.fromEntries(kDvmqFlags.map(([flag, key]) => [key, `--${flag}`])),
  ...Object.fromEntries(kPortFlags.map(([flag, key]) => [key, `--${flag}`])),
  moderation: '--moderation',
  pollWindowUs: '--poll-window',
};
const kCreateOnly: readonly QueueFlag[] = ['workers', 'vmq-queues', 'rss-table-size'];
/** What `switch tune` cannot change (the worker count it can). */
const kFixed: readonly QueueFlag[] = ['vmq-queues', 'rss-table-size'];
const kSwitchOnly: readonly QueueFlag[] = [...kCreateOnly, 'moderation', 'poll-window', ...kDvmqFlags.map(([flag]) => flag)];
const kPortOnly: readonly QueueFlag[] = kPortFlags.map(([flag]) => flag);

function refuse(f: QueueFlags, flags: readonly QueueFlag[], why: string): void {
  for (const flag of flags) if (f[flag] !== undefined) fail(`--${flag}`, why);
}

/** Runs a validator and rethrows its ConfigError with the flag typed (as policy-args.ts asTyped). */
function asTyped<T>(run: () => T, prefix: string): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.field.startsWith(`${prefix}.`)) throw err;
    const key = err.field.slice(prefix.length + 1);
    const message = err.message.slice(err.field.length + 2).replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (w) => kNames[w] ?? w);
    throw new ConfigError(kNames[key] ?? kNames[key.replace(/\.(packets|timeUs)$/, '')] ?? key, message);
  }
}

/** The flags of one table that were given, parsed, under their config keys. */
function parsed(f: QueueFlags, table: ReadonlyArray<readonly [QueueFlag, string, (text: string, field: string) => unknown]>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [flag, key, parse] of table) {
    const text = value(f, flag);
    if (text !== undefined) raw[key] = parse(text, `--${flag}`);
  }
  return raw;
}

function dvmqRaw(f: QueueFlags): Record<string, unknown> | undefined {
  const raw = parsed(f, kDvmqFlags);
  return Object.keys(raw).length ? raw : undefined;
}

/** `switch add` flags -> the queue keys of a SwitchConfig (only the ones given). */
export function switchQueuesFromFlags(f: QueueFlags): Partial<SwitchConfig> {
  refuse(f, kPortOnly, "is a port setting; give it to 'port add'");
  const raw = parsed(f, kSwitchFlags);
  const mod = value(f, 'moderation');
  if (mod !== undefined) raw.moderation = parseModeration(mod, '--moderation');
  const pw = value(f, 'poll-window');
  if (pw !== undefined) raw.pollWindowUs = whole(pw, '--poll-window');
  const dvmq = dvmqRaw(f);
  if (dvmq) raw.dvmq = dvmq;
  return asTyped(() => validateSwitchQueues(raw, 'switch'), 'switch');
}

/** `port add` flags -> the queue keys of a PortConfig (only the ones given). */
export function portQueuesFromFlags(f: QueueFlags): Partial<PortConfig> {
  refuse(f, kSwitchOnly, "is a switch setting; give it to 'switch add' (or 'switch tune' for --moderation, --poll-window and --dvmq*)");
  return asTyped(() => validatePortQueues(parsed(f, kPortFlags), 'port'), 'port');
}

/**
 * `switch tune` flags -> the body of PATCH /switches/:sw/tuning. Each flag is checked on its own range
 * here (and lower < upper when both are given); the daemon checks the merge with the running values.
 */
export function tuningFromFlags(f: QueueFlags): { workers?: number; moderation?: SwitchConfig['moderation']; dvmq?: DvmqConfig; pollWindowUs?: number } {
  refuse(f, kFixed, 'is fixed when the switch is created; remove and re-create the switch to change it');
  refuse(f, kPortOnly, "is a port setting, fixed when the port is added; remove and re-add the port to change it");
  const out: { workers?: number; moderation?: SwitchConfig['moderation']; dvmq?: DvmqConfig; pollWindowUs?: number } = {};
  const workers = value(f, 'workers');
  if (workers !== undefined) out.workers = asTyped(() => validateSwitchQueues({ workers: whole(workers, '--workers') }, 'switch'), 'switch').workers;
  const mod = value(f, 'moderation');
  if (mod !== undefined) out.moderation = parseModeration(mod, '--moderation');
  const pw = value(f, 'poll-window');
  if (pw !== undefined) out.pollWindowUs = asTyped(() => validateSwitchQueues({ pollWindowUs: whole(pw, '--poll-window') }, 'switch'), 'switch').pollWindowUs;
  const raw = dvmqRaw(f);
  if (raw) {
    // A threshold given alone is checked against the widest the other can be (the running value is the
    // daemon's to know, and it checks the merge): lower below 1, upper above 0.
    const widest = { enabled: true, upperThreshold: 1, lowerThreshold: Number.MIN_VALUE, samplePeriodMs: 100, minMoveIntervalMs: 0 };
    out.dvmq = asTyped(() => dvmqConfig(raw, 'switch.dvmq', widest, 'its largest value'), 'switch');
  }
  if (out.workers === undefined && out.moderation === undefined && out.dvmq === undefined && out.pollWindowUs === undefined)
    fail('switch tune', 'nothing to change; give --workers N, --moderation MODE|N/T, --poll-window US and/or --dvmq on|off, --dvmq-upper X, --dvmq-lower X, --dvmq-period MS, --dvmq-min-move MS');
  return out;
}

/** `0,1,2,3,...` -> worker indices (the daemon checks the length and range against the switch). */
export function rssEntriesFromText(text: string, field = 'ENTRIES'): number[] {
  const parts = text.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x)))
    fail(field, `'${text}' is not a list of worker indices; write one per RSS table entry, comma-separated, like 0,1,0,1`);
  return parts.map(Number);
}

/** Load as a percentage of one worker. */
const pct = (load: number) => `${(load * 100).toFixed(1)}%`;

/** Entries of the RSS table, 16 per line with the first bucket's index; then buckets per worker. */
export function formatRss(rss: QueuesStatus['rss'], workers: number): string {
  const lines = [`RSS table (${rss.size} entries: hash low bits -> worker)`];
  const width = String(Math.max(0, ...rss.entries)).length;
  for (let i = 0; i < rss.entries.length; i += 16)
    lines.push(`  ${String(i).padStart(3)}: ${rss.entries.slice(i, i + 16).map((w) => String(w).padStart(width)).join(' ')}`);
  const per = new Array<number>(workers).fill(0);
  for (const w of rss.entries) if (w < workers) per[w]++;
  lines.push(`  buckets per worker: ${per.map((n, w) => `${w}=${n}`).join(' ')}`);
  return lines.join('\n');
}

function describeModeration(m: QueuesStatus['moderation']): string {
  return typeof m === 'string' ? m : `${m.packets} frames / ${m.timeUs} us`;
}

/** One line: the moderation, poll window and Dynamic VMQ settings a switch runs with. */
export function describeTuning(s: Pick<QueuesStatus, 'moderation' | 'dvmq' | 'pollWindowUs'> & { workers?: number }): string {
  const d = s.dvmq;
  const dvmq = d.enabled
    ? `on (spread above ${pct(d.upperThreshold)}, coalesce below ${pct(d.lowerThreshold)}, every ${d.samplePeriodMs} ms, a queue stays ${d.minMoveIntervalMs} ms after a move)`
    : 'off';
  return `${s.workers !== undefined ? `${s.workers} worker${s.workers === 1 ? '' : 's'}; ` : ''}moderation ${describeModeration(s.moderation)}; ${s.pollWindowUs ? `poll window ${s.pollWindowUs} us` : 'poll window off'}; dynamic VMQ ${dvmq}`;
}

/** `vswitch queues SW`: workers, queues, the RSS table, the last moves. */
export function formatQueues(s: QueuesStatus, lastMoves = 10): string {
  const workers = table([
    ['worker', 'load', 'frames', 'handed over', 'signals', 'poll windows', 'caught work', 'queues'],
    ...s.workers.map((w) => [String(w.worker), pct(w.load), String(w.frames), String(w.handedOver), String(w.signals), String(w.pollWindows ?? 0), String(w.pollWindowCatches ?? 0), w.queues.join(',') || '-']),
  ]);
  const queues = table([
    ['queue', 'port', 'filter', 'worker', 'load', 'frames', 'moves'],
    ...s.queues.map((q) => [
      String(q.queue),
      q.port ?? (q.queue === 0 ? '(default)' : '-'),
      q.filter ? `${q.filter.mac} vlan ${q.filter.vlan}` : '-',
      String(q.worker),
      pct(q.load),
      String(q.frames),
      String(q.moves),
    ]),
  ]);
  const settings = describeTuning({ workers: s.workers.length, moderation: s.moderation, dvmq: s.dvmq, pollWindowUs: s.pollWindowUs });
  const recent = s.moves.recent.slice(-lastMoves);
  const moves = recent.length
    ? `queue moves: ${s.moves.total} in all; last ${recent.length}:\n${recent.map((m) => `  ${m.time} queue ${m.queue}: worker ${m.from} -> ${m.to} (${m.reason})`).join('\n')}`
    : `queue moves: ${s.moves.total}`;
  return [settings, '', workers, '', queues, '', formatRss(s.rss, s.workers.length), '', moves].join('\n');
}
