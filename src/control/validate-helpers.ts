/**
 * The checks every validator is made of: one `if` and one message that names the field, says what was
 * wrong and what would be right. They sit apart from validate.ts so the validators of policy and queues
 * (validate-policy.ts, validate-queues.ts), which validate.ts composes, import them without a cycle.
 */

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function fail(field: string, msg: string): never {
  throw new ConfigError(field, msg);
}
export const show = (v: unknown) => JSON.stringify(v) ?? String(v);

export type Obj = Record<string, unknown>;

export function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, `must be an object, got ${show(v)}`);
  return v as Obj;
}

export function onlyKeys(o: Obj, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k)) fail(`${field}.${k}`, `unknown setting; expected one of ${keys.join(', ')}`);
}

export function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(field, `must be an integer from ${min} to ${max}, got ${show(v)}`);
  return v as number;
}

export function str(v: unknown, field: string, pattern?: RegExp, hint?: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(field, `must be a non-empty string, got ${show(v)}`);
  if (pattern && !pattern.test(v as string)) fail(field, `${show(v)} is not valid; ${hint}`);
  return v as string;
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${show(v)}`);
  return v as boolean;
}

export function oneOf<T extends string>(v: unknown, field: string, options: readonly T[]): T {
  if (!options.includes(v as T)) fail(field, `must be one of ${options.join(', ')}, got ${show(v)}`);
  return v as T;
}

export function vid(v: unknown, field: string): number {
  return int(v, field, 1, 4094);
}

/** A MAC address as the model keeps it: lower case, colon separated. */
export function macText(v: unknown, field: string): string {
  return str(v, field, /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, 'expected six hex pairs like 52:54:00:12:34:56')
    .toLowerCase()
    .replace(/-/g, ':');
}
