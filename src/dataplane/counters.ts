/**
 * The counter registry (the VPP `foreach_l2_learn_error` idea): every drop reason, per-port counter and
 * per-switch counter is one declared row (index, name, meaning), declared by the feature that counts it,
 * in its own file (`declareDrops`, `declarePortCounters`, `declareSwitchCounters`). This file is the
 * mechanism: it knows no row's name. The values live in one Float64Array over a SharedArrayBuffer per
 * datapath worker, written in place by the stage that counts (`c[i]++`, never copied per breath), so the
 * control thread (CLI, API, tests) reads them directly with no message round trip.
 *
 * Design notes: README.md in this folder, section "counters.ts".
 */

/** A declared row: [index (a drop's code), name, meaning]. */
export type CounterRow = readonly [index: number, name: string, meaning: string];

/**
 * The values of the declared per-port counters by name: each declaring file adds its names to this
 * interface (module augmentation), so readers are typed without this file knowing a name.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the declaring features
export interface PortCounterValues {}
export type PortField = keyof PortCounterValues;

/** Room per block section: a declaration beyond it fails at load. */
export const kSwitchSlots = 32;
export const kPortCounterSlots = 24;
export const kDropSlots = 32;

interface Table {
  readonly what: string;
  readonly size: number;
  readonly names: string[];
  readonly meanings: string[];
}

const table = (what: string, size: number): Table => ({ what, size, names: [], meanings: [] });
const drops = table('drop reason code', kDropSlots + 1); // codes 1..kDropSlots (0 = not dropped)
const portRows = table('per-port counter', kPortCounterSlots);
const switchRows = table('switch counter', kSwitchSlots);

function declare<const R extends readonly CounterRow[]>(
  t: Table,
  owner: string,
  rows: R,
  min: number,
): { [K in R[number][1]]: number } {
  const out: Record<string, number> = {};
  for (const [i, name, meaning] of rows) {
    if (!Number.isInteger(i) || i < min || i >= t.size)
      throw new Error(`${owner}: ${t.what} ${i} for '${name}' is outside ${min}..${t.size - 1}`);
    const had = t.names[i];
    if (had !== undefined && had !== name)
      throw new Error(`${owner}: ${t.what} ${i} for '${name}' is already '${had}'`);
    if (t.names.indexOf(name) >= 0 && t.names.indexOf(name) !== i)
      throw new Error(`${owner}: '${name}' is already declared as ${t.what} ${t.names.indexOf(name)}`);
    t.names[i] = name;
    t.meanings[i] = meaning;
    out[name] = i;
  }
  return out as { [K in R[number][1]]: number };
}

/** Declare drop reasons: [code (1-based, what a node writes into the slot's aux), name, meaning]. */
export function declareDrops<const R extends readonly CounterRow[]>(
  owner: string,
  rows: R,
): { [K in R[number][1]]: number } {
  return declare(drops, owner, rows, 1);
}

/** Declare per-port counters: [index within the port's counters, name, meaning]. */
export function declarePortCounters<const R extends readonly CounterRow[]>(
  owner: string,
  rows: R,
): { [K in R[number][1]]: number } {
  return declare(portRows, owner, rows, 0);
}

/** Declare per-switch counters (one per worker block, summed by the reader): [index, name, meaning]. */
export function declareSwitchCounters<const R extends readonly CounterRow[]>(
  owner: string,
  rows: R,
): { [K in R[number][1]]: number } {
  return declare(switchRows, owner, rows, 0);
}

/** The code of a declared drop reason (control path, or a cold datapath event such as a NIC's drop). */
export function dropCode(name: string): number {
  const i = drops.names.indexOf(name);
  if (i < 1) throw new Error(`unknown drop reason '${name}'`);
  return i;
}

/** The declared rows, in index order (control path: help text, metrics, tests). */
export function declaredRows(
  kind: 'drop' | 'port' | 'switch',
): Array<{ index: number; name: string; meaning: string }> {
  const t = kind === 'drop' ? drops : kind === 'port' ? portRows : switchRows;
  const out: Array<{ index: number; name: string; meaning: string }> = [];
  t.names.forEach((name, index) => out.push({ index, name, meaning: t.meanings[index]! }));
  return out;
}

/** Ports per switch: bounds the counter block and the per-port tables (a Hyper-V host rarely has more VMs). */
export const kMaxPorts = 256;
/** Graph nodes per worker: a pipeline of a dozen feature nodes with room to grow. */
export const kMaxNodes = 32;
export const kPortStride = kPortCounterSlots + kDropSlots;
const kNodeBase = kSwitchSlots;
const kPortBase = kNodeBase + kMaxNodes * 2;
export const kCounterSlots = kPortBase + kMaxPorts * kPortStride;

export class Counters {
  readonly sab: SharedArrayBuffer;
  readonly c: Float64Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(kCounterSlots * 8);
    this.c = new Float64Array(this.sab);
  }
  /** Index of a per-port field. */
  static port(port: number, field: number): number {
    return kPortBase + port * kPortStride + field;
  }
  /** Index of a per-port drop counter for reason code (1-based). */
  static portDrop(port: number, code: number): number {
    return kPortBase + port * kPortStride + kPortCounterSlots + code - 1;
  }
  static nodePackets(node: number): number {
    return kNodeBase + node * 2;
  }
  static nodeDrops(node: number): number {
    return kNodeBase + node * 2 + 1;
  }
  static global(field: number): number {
    return field;
  }
  /** Zero a port's block (port index reused by a new port). */
  resetPort(port: number): void {
    const b = kPortBase + port * kPortStride;
    this.c.fill(0, b, b + kPortStride);
  }
  /** Control path: a port's declared counters, and its non-zero drops by reason. */
  readPort(port: number): { fields: PortCounterValues; drops: Record<string, number> } {
    const b = kPortBase + port * kPortStride;
    const fields: Record<string, number> = {};
    portRows.names.forEach((n, i) => (fields[n] = this.c[b + i]!));
    const out: Record<string, number> = {};
    drops.names.forEach((n, code) => {
      const v = this.c[b + kPortCounterSlots + code - 1]!;
      if (v !== 0) out[n] = v;
    });
    return { fields: fields as unknown as PortCounterValues, drops: out };
  }
  /** Control path: the declared switch counters. */
  readGlobal(): Record<string, number> {
    const out: Record<string, number> = {};
    switchRows.names.forEach((n, i) => (out[n] = this.c[i]!));
    return out;
  }
}
