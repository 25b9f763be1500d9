/**
 * Workers, VMQ, RSS, Dynamic VMQ and moderation from the command line: the flags come from the settings'
 * declarations (settings/queues.ts: key, flag, help, runtime or fixed), read into the config shapes and
 * validated by validate-queues.ts with errors naming the flag typed; plus the RSS table list and the
 * `vswitch queues` view. Settings fixed at creation (VMQ queues, RSS table size, a port's VMQ weight and
 * vRSS) are refused by `switch tune` with that reason, rather than ignored.
 */
import type { DvmqConfig, PortConfig, QueuesStatus, SwitchConfig } from './model.js';
import { asTyped, optionsOf, readFlags } from './settings/cli.js';
import { portQueues, switchQueues } from './settings/queues.js';
import { obj, type Setting } from './settings/setting.js';
import { table } from './text-table.js';
import { fail } from './validate-helpers.js';
import { dvmqConfig, pollWindowUs, validatePortQueues, validateSwitchQueues, workerCount } from './validate-queues.js';

export type QueueFlags = Record<string, string | boolean | undefined>;

const switchQueueSettings = obj(switchQueues);
const portQueueSettings = obj(portQueues);
/** The queue settings a running switch takes (`switch tune`): the ones declared with a runtime change,
 *  single values before groups (help and messages list --workers, --moderation, then the --dvmq* flags). */
const tunable = obj(
  Object.fromEntries(
    Object.entries(switchQueues)
      .filter(([, s]) => s.runtime)
      .sort(([, a], [, b]) => Number(!!a.fields) - Number(!!b.fields)),
  ),
);

/** The worker and queue flags, from their declarations (settings/queues.ts); the commands pick theirs. */
export const queueFlagOptions = { ...optionsOf(switchQueueSettings), ...optionsOf(portQueueSettings) };

const flagsOf = (s: Setting) => Object.keys(optionsOf(s));
/** What `switch tune` cannot change (fixed at creation): it takes them only to refuse them with that reason. */
export const kFixedQueueFlags = flagsOf(switchQueueSettings).filter((f) => !flagsOf(tunable).includes(f));
/** The options of `switch tune`. */
export const tuneFlagOptions = optionsOf(tunable);

function refuse(f: QueueFlags, flags: readonly string[], why: string): void {
  for (const flag of flags) if (f[flag] !== undefined) fail(`--${flag}`, why);
}

/** `switch add` flags -> the queue keys of a SwitchConfig (only the ones given). */
export function switchQueuesFromFlags(f: QueueFlags): Partial<SwitchConfig> {
  refuse(f, flagsOf(portQueueSettings), "is a port setting; give it to 'port add'");
  return asTyped(switchQueueSettings, 'switch', () =>
    validateSwitchQueues(readFlags(switchQueueSettings, f) ?? {}, 'switch'),
  );
}

/** `port add` flags -> the queue keys of a PortConfig (only the ones given). */
export function portQueuesFromFlags(f: QueueFlags): Partial<PortConfig> {
  refuse(
    f,
    flagsOf(switchQueueSettings),
    "is a switch setting; give it to 'switch add' (or 'switch tune' for --moderation, --poll-window and --dvmq*)",
  );
  return asTyped(portQueueSettings, 'port', () => validatePortQueues(readFlags(portQueueSettings, f) ?? {}, 'port'));
}

/**
 * `switch tune` flags -> the body of PATCH /switches/:sw/tuning. Each flag is checked on its own range
 * here (and lower < upper when both are given); the daemon checks the merge with the running values.
 */
export function tuningFromFlags(f: QueueFlags): {
  workers?: number;
  moderation?: SwitchConfig['moderation'];
  dvmq?: DvmqConfig;
  pollWindowUs?: number;
} {
  refuse(f, kFixedQueueFlags, 'is fixed when the switch is created; remove and re-create the switch to change it');
  refuse(
    f,
    flagsOf(portQueueSettings),
    'is a port setting, fixed when the port is added; remove and re-add the port to change it',
  );
  const raw = (readFlags(tunable, f) ?? {}) as {
    workers?: unknown;
    moderation?: SwitchConfig['moderation'];
    dvmq?: unknown;
    pollWindowUs?: unknown;
  };
  const out: { workers?: number; moderation?: SwitchConfig['moderation']; dvmq?: DvmqConfig; pollWindowUs?: number } =
    {};
  if (raw.workers !== undefined)
    out.workers = asTyped(tunable, 'switch', () => workerCount(raw.workers, 'switch.workers'));
  if (raw.moderation !== undefined) out.moderation = raw.moderation;
  if (raw.pollWindowUs !== undefined)
    out.pollWindowUs = asTyped(tunable, 'switch', () => pollWindowUs(raw.pollWindowUs, 'switch.pollWindowUs'));
  if (raw.dvmq !== undefined) {
    // A threshold given alone is checked against the widest the other can be (the running value is the
    // daemon's to know, and it checks the merge): lower below 1, upper above 0.
    const widest = {
      enabled: true,
      upperThreshold: 1,
      lowerThreshold: Number.MIN_VALUE,
      samplePeriodMs: 100,
      minMoveIntervalMs: 0,
    };
    out.dvmq = asTyped(tunable, 'switch', () => dvmqConfig(raw.dvmq, 'switch.dvmq', widest, 'its largest value'));
  }
  if (
    out.workers === undefined &&
    out.moderation === undefined &&
    out.dvmq === undefined &&
    out.pollWindowUs === undefined
  )
    fail(
      'switch tune',
      `nothing to change; give ${Object.entries(optionsOf(tunable))
        .map(([k, o]) => `--${k} ${o.value}`)
        .join(', ')}`,
    );
  return out;
}

/** `0,1,2,3,...` -> worker indices (the daemon checks the length and range against the switch). */
export function rssEntriesFromText(text: string, field = 'ENTRIES'): number[] {
  const parts = text.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x)))
    fail(
      field,
      `'${text}' is not a list of worker indices; write one per RSS table entry, comma-separated, like 0,1,0,1`,
    );
  return parts.map(Number);
}

/** Load as a percentage of one worker. */
const pct = (load: number) => `${(load * 100).toFixed(1)}%`;

/** Entries of the RSS table, 16 per line with the first bucket's index; then buckets per worker. */
export function formatRss(rss: QueuesStatus['rss'], workers: number): string {
  const lines = [`RSS table (${rss.size} entries: hash low bits -> worker)`];
  const width = String(Math.max(0, ...rss.entries)).length;
  for (let i = 0; i < rss.entries.length; i += 16)
    lines.push(
      `  ${String(i).padStart(3)}: ${rss.entries
        .slice(i, i + 16)
        .map((w) => String(w).padStart(width))
        .join(' ')}`,
    );
  const per = new Array<number>(workers).fill(0);
  for (const w of rss.entries) if (w < workers) per[w]++;
  lines.push(`  buckets per worker: ${per.map((n, w) => `${w}=${n}`).join(' ')}`);
  return lines.join('\n');
}

function describeModeration(m: QueuesStatus['moderation']): string {
  return typeof m === 'string' ? m : `${m.packets} frames / ${m.timeUs} us`;
}

/** One line: the moderation, poll window and Dynamic VMQ settings a switch runs with. */
export function describeTuning(
  s: Pick<QueuesStatus, 'moderation' | 'dvmq' | 'pollWindowUs'> & { workers?: number },
): string {
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
    ...s.workers.map((w) => [
      String(w.worker),
      pct(w.load),
      String(w.frames),
      String(w.handedOver),
      String(w.signals),
      String(w.pollWindows ?? 0),
      String(w.pollWindowCatches ?? 0),
      w.queues.join(',') || '-',
    ]),
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
  const settings = describeTuning({
    workers: s.workers.length,
    moderation: s.moderation,
    dvmq: s.dvmq,
    pollWindowUs: s.pollWindowUs,
  });
  const recent = s.moves.recent.slice(-lastMoves);
  const moves = recent.length
    ? `queue moves: ${s.moves.total} in all; last ${recent.length}:\n${recent.map((m) => `  ${m.time} queue ${m.queue}: worker ${m.from} -> ${m.to} (${m.reason})`).join('\n')}`
    : `queue moves: ${s.moves.total}`;
  return [settings, '', workers, '', queues, '', formatRss(s.rss, s.workers.length), '', moves].join('\n');
}
