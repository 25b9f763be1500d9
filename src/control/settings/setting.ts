/**
 * One declaration per setting: small combinators (int, bool, str, oneOf, mac, list, obj, variant, custom)
 * that each carry a setting's key (its place in an obj), type and range, default, help text, CLI flag,
 * whether it changes at runtime, and an example value. From one declaration come the validator (with the
 * ws-receiver style messages of validate-helpers.ts: field, bad value, what would be right), the static
 * TypeScript type (Infer), the JSON Schema (schema.ts), the CLI options and their parsing (cli.ts) and the
 * reference docs. Trade-off: an in-house set instead of TypeBox (measured in issue 10: TypeBox's messages
 * were far worse and its types no simpler); cross-field rules stay plain code in an obj's `check` hook.
 */
import {
  bool as boolCheck,
  fail,
  int as intCheck,
  macText,
  obj as objCheck,
  onlyKeys,
  oneOf as oneOfCheck,
  show,
  str as strCheck,
} from '../validate-helpers.js';

export type JsonSchema = Record<string, unknown>;
export type Flags = Record<string, string | boolean | undefined>;
/** What a parent hands its children while validating (a port's policy needs its switch's bandwidth mode). */
export type Ctx = Readonly<Record<string, unknown>>;

/** A CLI option as cli/command.ts declares it (kept structural here so settings/ imports nothing of cli/). */
export interface FlagSpec {
  type: 'string' | 'boolean';
  value?: string;
  help: string;
  choices?: readonly string[];
  path?: boolean;
  hidden?: boolean;
}

/** How a setting is typed on the command line: one flag, or a group of flags read together (the endpoint). */
export interface CliSpec {
  flag?: string;
  /** The value's name in help (`--mtu N`); absent: a boolean flag that gives `sets`. */
  value?: string;
  sets?: unknown;
  /** Help when it differs from the setting's. */
  help?: string;
  /** Typed text -> the raw value the validator checks; default by kind (a whole number for int). */
  parse?: (text: string, flags: Flags, flag: string) => unknown;
  path?: boolean;
  /** Options this setting also reads (a trunk's --native and --pruned). */
  extra?: Readonly<Record<string, FlagSpec>>;
  /** Several flags that together give the value (the endpoint flags): their options and the reader. */
  group?: { options: Readonly<Record<string, FlagSpec>>; read: (flags: Flags) => unknown };
  /** The argv words that set the walk test's example (default: the flag and String(example)). */
  example?: readonly string[];
}

/** How a setting changes on a running switch: the API route (under the switch or port) and its body key. */
export interface RuntimeSpec {
  route: string;
  body: string;
  /** The CLI command (`port mtu SW PORT N`), in `group` when it is not the object's own (`policy set`). */
  command: string;
  group?: string;
  /** The running switch's setter a port setting's change calls with (port, value): api.ts and the CLI
   *  derive the route `PUT .../ports/:p/ROUTE {BODY}` and the command `port COMMAND SW PORT VALUE` from it. */
  apply?: keyof PortSetters;
  /** The same for a switch setting: the running switch's setter; the route is `PUT /switches/:sw/ROUTE {BODY}`
   *  and the command `switch COMMAND SW VALUE`. */
  applySwitch?: keyof SwitchSetters;
  /** What the command prints after the change, from the API's reply (default: the key and the value). */
  says?: (reply: Record<string, unknown>, value: unknown) => string;
  /** The value's name in that command (`port mtu SW PORT MTU`; default the flag's value name). */
  arg?: string;
}

/** What a running switch (runtime/switch-runtime.ts) offers the switch settings that change at runtime. */
export interface SwitchSetters {
  setAging(value: number): Promise<unknown>;
  setMacTableSize(value: number): Promise<unknown>;
}

/** What a running switch (runtime/switch-runtime.ts) offers the port settings that change at runtime. */
export interface PortSetters {
  setMtu(port: string, value: number): Promise<void>;
  setMacLimit(port: string, value: number): Promise<void>;
}

export interface Meta {
  help?: string;
  /** The value when absent (documentation and schema; `fill` puts it into the validated output). */
  default?: unknown;
  fill?: boolean;
  cli?: CliSpec;
  /** Why it has no CLI flag (the walk test demands a flag or a reason). */
  noCli?: string;
  /** Changeable on a running switch (how: `runtime`), or fixed once created. Default fixed. */
  runtime?: RuntimeSpec;
  /** A valid non-default value: the walk test sets it through every channel. */
  example?: unknown;
  /** The sibling settings the example needs (a mirror direction needs mirror "source"), and their argv. */
  with?: { value: Record<string, unknown>; argv: readonly string[] };
  /** Why the walk test cannot set it (it needs a context the walk's objects lack); tested elsewhere. */
  noWalk?: string;
  /** For an object shape whose fields have no flag of their own (an endpoint, the VDE service): whole valid
   *  values and the argv that gives each; the walk test sets every field through one of them. `@DIR`, `@IF`,
   *  `@NS` and `@N` stand for the test's directory, a fresh interface, a namespace and a counter. */
  examples?: ReadonlyArray<{ value: Record<string, unknown>; argv: readonly string[] }>;
}

export interface Setting<T = unknown, R extends boolean = boolean> extends Meta {
  readonly kind: string;
  readonly required: R;
  check(v: unknown, field: string, ctx?: Ctx): T;
  schema(): JsonSchema;
  /** The settings inside an obj. */
  readonly fields?: Readonly<Record<string, Setting>>;
  /** The shapes of a variant, by the value of its `key`. */
  readonly variants?: Readonly<Record<string, Setting>>;
  readonly key?: string;
  /** An enum's values (offered by the CLI's completion). */
  readonly choices?: readonly string[];
}

export type Infer<S> = S extends Setting<infer T, boolean> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Fields = Record<string, Setting>;
type ReqKeys<F extends Fields> = { [K in keyof F]: F[K] extends Setting<unknown, true> ? K : never }[keyof F];
export type ObjOut<F extends Fields> = Simplify<
  { [K in ReqKeys<F>]: Infer<F[K]> } & { [K in Exclude<keyof F, ReqKeys<F>>]?: Infer<F[K]> }
>;

function make<T>(
  kind: string,
  meta: Meta,
  check: Setting<T>['check'],
  schema: () => JsonSchema,
  extra: Partial<Setting> = {},
): Setting<T, false> {
  return { ...meta, ...extra, kind, required: false, check, schema: () => withMeta(schema(), meta) } as Setting<
    T,
    false
  >;
}

function withMeta(s: JsonSchema, meta: Meta): JsonSchema {
  return {
    ...s,
    ...(meta.help ? { description: meta.help } : {}),
    ...(meta.default !== undefined ? { default: meta.default } : {}),
  };
}

/** The same setting, optional in its obj but always in the output (its default filled in when absent). */
export function filled<T>(s: Setting<T>): Setting<T, true> {
  return { ...s, fill: true } as unknown as Setting<T, true>;
}

/** The same setting, required in its obj. */
export function required<T>(s: Setting<T>): Setting<T, true> {
  return { ...s, required: true } as Setting<T, true>;
}

export function int(o: Meta & { min: number; max: number }): Setting<number, false> {
  return make(
    'int',
    o,
    (v, f) => intCheck(v, f, o.min, o.max),
    () => ({ type: 'integer', minimum: o.min, maximum: o.max }),
  );
}

export function bool(o: Meta = {}): Setting<boolean, false> {
  return make(
    'bool',
    o,
    (v, f) => boolCheck(v, f),
    () => ({ type: 'boolean' }),
  );
}

export function str(o: Meta & { pattern?: RegExp; hint?: string } = {}): Setting<string, false> {
  return make(
    'str',
    o,
    (v, f) => strCheck(v, f, o.pattern, o.hint),
    () => ({ type: 'string', minLength: 1, ...(o.pattern ? { pattern: o.pattern.source } : {}) }),
  );
}

export function oneOf<const T extends string>(values: readonly T[], o: Meta = {}): Setting<T, false> {
  return make(
    'enum',
    o,
    (v, f) => oneOfCheck(v, f, values),
    () => ({ enum: [...values] }),
    { choices: values },
  );
}

/** The discriminating key of a variant's shape (`type: 'tap'`). */
export function lit<const T extends string>(value: T): Setting<T, true> {
  return required(
    make(
      'lit',
      {},
      (v, f) => oneOfCheck(v, f, [value]),
      () => ({ const: value }),
    ),
  );
}

/** A MAC address, kept lower case and colon separated. */
export function mac(o: Meta = {}): Setting<string, false> {
  return make(
    'mac',
    o,
    (v, f) => macText(v, f),
    () => ({ type: 'string', pattern: '^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$' }),
  );
}

/** A value whose check is plain code (a VLAN mode, a policy): declared here for its key, help, flag and schema. */
export function custom<T>(
  o: Meta & { check: (v: unknown, field: string, ctx?: Ctx) => T; schema: JsonSchema; kind?: string; fields?: Fields },
): Setting<T, false> {
  return make(o.kind ?? 'custom', o, o.check, () => o.schema, o.fields ? { fields: o.fields } : {});
}

/** A finite number in [min, max] (`above`: min itself excluded). */
export function num(o: Meta & { min: number; max: number; above?: boolean }): Setting<number, false> {
  const what = `a number ${o.above ? 'above' : 'from'} ${o.min} ${o.above ? 'and at most' : 'to'} ${o.max}`;
  return make(
    'num',
    o,
    (v, f) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < o.min || v > o.max || (o.above && v === o.min))
        fail(f, `must be ${what}, got ${show(v)}`);
      return v as number;
    },
    () => ({ type: 'number', ...(o.above ? { exclusiveMinimum: o.min } : { minimum: o.min }), maximum: o.max }),
  );
}

/** A list of `item`s; `what` says what one is in the message ("must be a list of ports"). */
export function list<T>(item: Setting<T>, o: Meta & { what: string }): Setting<T[], false> {
  return make(
    'list',
    o,
    (v, f, ctx) => {
      if (!Array.isArray(v)) fail(f, `must be a list of ${o.what}, got ${show(v)}`);
      return (v as unknown[]).map((x, i) => item.check(x, `${f}[${i}]`, ctx));
    },
    () => ({ type: 'array', items: item.schema() }),
    { fields: { '[]': item } },
  );
}

export interface ObjOptions<F extends Fields> extends Meta {
  /** Cross-field rules, run on the validated output (field: the object's). */
  check?: (out: ObjOut<F>, field: string, ctx: Ctx) => void;
  /** The context the fields see, from the fields validated before them (in declaration order). */
  context?: (out: Partial<ObjOut<F>>, ctx: Ctx) => Ctx;
}

/** An object of named settings: unknown keys refused naming the known ones; fields validated in order. */
export function obj<F extends Fields>(fields: F, o: ObjOptions<F> = {}): Setting<ObjOut<F>, false> {
  const keys = Object.keys(fields);
  return make(
    'obj',
    o,
    (v, f, ctx = {}) => {
      const raw = objCheck(v, f);
      onlyKeys(raw, f, keys);
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const s = fields[k]!;
        const inner = o.context ? o.context(out as Partial<ObjOut<F>>, ctx) : ctx;
        if (raw[k] !== undefined || s.required) out[k] = s.check(raw[k], `${f}.${k}`, inner);
        else if (s.fill) out[k] = s.default;
      }
      o.check?.(out as ObjOut<F>, f, ctx);
      return out as ObjOut<F>;
    },
    () => ({
      type: 'object',
      properties: Object.fromEntries(keys.map((k) => [k, fields[k]!.schema()])),
      ...(keys.some((k) => fields[k]!.required) ? { required: keys.filter((k) => fields[k]!.required) } : {}),
      additionalProperties: false,
    }),
    { fields },
  );
}

type VariantOut<V extends Fields> = { [K in keyof V]: Infer<V[K]> }[keyof V];

/** One of several object shapes told apart by `key` (a NIC's `type`, a VLAN's `mode`). */
export function variant<V extends Fields>(key: string, variants: V, o: Meta = {}): Setting<VariantOut<V>, false> {
  const names = Object.keys(variants);
  return make(
    'variant',
    o,
    (v, f, ctx) => {
      const raw = objCheck(v, f);
      const which = oneOfCheck(raw[key], `${f}.${key}`, names);
      return variants[which]!.check(raw, f, ctx) as VariantOut<V>;
    },
    () => ({ type: 'object', required: [key], oneOf: names.map((n) => variants[n]!.schema()) }),
    { variants, key },
  );
}

export function vid(o: Meta = {}): Setting<number, false> {
  return int({ ...o, min: 1, max: 4094 });
}

/** VLAN lists accept numbers and "a-b" ranges: [10, "20-29"]; the output is sorted, duplicates merged. */
export function vidList(o: Meta = {}): Setting<number[], false> {
  const one = vid();
  return make(
    'vidList',
    o,
    (v, field) => {
      if (!Array.isArray(v)) fail(field, `must be a list of VLAN IDs (1-4094) or "a-b" ranges, got ${show(v)}`);
      const out: number[] = [];
      (v as unknown[]).forEach((x, i) => {
        const f = `${field}[${i}]`;
        if (typeof x === 'string' && /^\d+-\d+$/.test(x)) {
          const [a, b] = x.split('-').map(Number);
          one.check(a, f);
          one.check(b, f);
          if (a! > b!) fail(f, `range ${x} is backwards; write it low-high`);
          for (let k = a!; k <= b!; k++) out.push(k);
        } else out.push(one.check(typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x, f));
      });
      return [...new Set(out)].sort((a, b) => a - b);
    },
    () => ({
      type: 'array',
      items: {
        oneOf: [
          { type: 'integer', minimum: 1, maximum: 4094 },
          { type: 'string', pattern: '^\\d+(-\\d+)?$' },
        ],
      },
    }),
  );
}

/** Every setting below `s` with its dotted path (lists as `[]`), depth first, `s` itself excluded. */
export function walk(s: Setting, path = ''): Array<{ path: string; setting: Setting }> {
  const out: Array<{ path: string; setting: Setting }> = [];
  const kids = s.fields ?? {};
  for (const [k, c] of Object.entries(kids)) {
    const p = k === '[]' ? `${path}[]` : path ? `${path}.${k}` : k;
    out.push({ path: p, setting: c }, ...walk(c, p));
  }
  for (const [name, c] of Object.entries(s.variants ?? {})) out.push(...walk(c, `${path}(${s.key}=${name})`));
  return out;
}
