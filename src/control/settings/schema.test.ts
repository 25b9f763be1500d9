/**
 * The published schema against the validator: a small checker of the JSON Schema keywords the declarations
 * emit (it refuses any other keyword, so a new one is checked here before it is published) accepts the
 * embedded default config and every walk case's config, and refuses what the validator refuses for a
 * type or range (an unknown key, an MTU out of range, a wrong enum, a missing endpoint). And
 * docs/settings.md is what `vswitch schema --markdown` prints.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { portBase, resolveCase, settingCases } from '../../testing/setting-cases.js';
import { defaultConfig } from '../defaults.js';
import { port } from './port.js';
import { configSchema, settingsMarkdown } from './schema.js';
import type { JsonSchema } from './setting.js';
import { switchSettings } from './switch.js';

const kAnnotations = new Set(['$schema', '$id', 'title', 'description', 'default']);
const kKeywords = new Set([
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minLength',
  'maxLength',
  'pattern',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'oneOf',
]);

/** Errors of `v` against `s` (JSON pointer: message); empty when it conforms. */
function check(s: JsonSchema, v: unknown, at = ''): string[] {
  const errs: string[] = [];
  for (const k of Object.keys(s))
    if (!kAnnotations.has(k) && !kKeywords.has(k)) throw new Error(`${at}: the checker does not know keyword ${k}`);
  const t = s.type as string | undefined;
  const is: Record<string, (x: unknown) => boolean> = {
    object: (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
    array: Array.isArray,
    string: (x) => typeof x === 'string',
    integer: Number.isInteger,
    number: (x) => typeof x === 'number' && Number.isFinite(x),
    boolean: (x) => typeof x === 'boolean',
  };
  if (t && !is[t]!(v)) return [`${at}: not ${t}`];
  if (s.enum && !(s.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v)))
    errs.push(`${at}: not one of the enum`);
  if ('const' in s && s.const !== v) errs.push(`${at}: not ${String(s.const)}`);
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < (s.minimum as number)) errs.push(`${at}: below minimum`);
    if (s.maximum !== undefined && v > (s.maximum as number)) errs.push(`${at}: above maximum`);
    if (s.exclusiveMinimum !== undefined && v <= (s.exclusiveMinimum as number))
      errs.push(`${at}: not above exclusiveMinimum`);
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < (s.minLength as number)) errs.push(`${at}: too short`);
    if (s.maxLength !== undefined && v.length > (s.maxLength as number)) errs.push(`${at}: too long`);
    if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(v))
      errs.push(`${at}: does not match ${String(s.pattern)}`);
  }
  if (is.object!(v)) {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) errs.push(`${at}/${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) errs.push(...check(props[k], x, `${at}/${k}`));
      else if (s.additionalProperties === false) errs.push(`${at}/${k}: not allowed`);
    }
  }
  if (Array.isArray(v) && s.items) v.forEach((x, i) => errs.push(...check(s.items as JsonSchema, x, `${at}/${i}`)));
  if (s.oneOf) {
    const ok = (s.oneOf as JsonSchema[]).filter((alt) => check(alt, v, at).length === 0).length;
    if (ok !== 1) errs.push(`${at}: matches ${ok} of oneOf, not exactly one`);
  }
  return errs;
}

const schema = configSchema();
const vars = (n: number) => ({ DIR: '/tmp/schema', IF: `st${n}`, NS: 'schemans', N: String(n) });

test('the schema accepts the embedded default config and every walk case', () => {
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(check(schema, defaultConfig()), []);
  const switches = settingCases(switchSettings).map((c, n) => resolveCase({ name: `s${n}`, ...c.fragment }, vars(n)));
  const ports = settingCases(port).map((c, n) =>
    resolveCase({ name: `p${n}`, ...portBase(c).fragment, ...c.fragment }, vars(n)),
  );
  const file = {
    api: '/tmp/schema/api.sock',
    switches: [...switches, { name: 'pp', ports, staticMacs: [{ mac: '52:54:00:00:00:01', port: 'p0' }] }],
  };
  assert.deepEqual(check(schema, file), []);
});

test('the schema refuses what the validator refuses for a type or a range', () => {
  const sw = (extra: Record<string, unknown>, portExtra: Record<string, unknown> = {}) => ({
    switches: [
      {
        name: 's',
        ...extra,
        ports: [{ name: 'p', nic: { type: 'stream', mode: 'listen', path: '/tmp/p.sock' }, ...portExtra }],
      },
    ],
  });
  assert.deepEqual(check(schema, sw({})), []);
  assert.match(check(schema, { ...sw({}), colour: 'blue' }).join(), /\/colour: not allowed/);
  assert.match(check(schema, sw({}, { mtu: 20 })).join(), /\/mtu: below minimum/);
  assert.match(check(schema, sw({ type: 'bridge' })).join(), /\/type: not one of the enum/);
  assert.match(check(schema, sw({}, { nic: { type: 'tap' } })).join(), /nic: matches 0 of oneOf/);
  assert.match(check(schema, { switches: [{ name: 's', ports: [{ name: 'p' }] }] }).join(), /\/nic: required/);
  assert.match(check(schema, sw({ name: 'bad name' })).join(), /\/name: does not match/);
});

test('docs/settings.md is what `vswitch schema --markdown` prints', () => {
  const file = readFileSync(new URL('../../../docs/settings.md', import.meta.url), 'utf8');
  assert.equal(
    file,
    settingsMarkdown() + '\n',
    "docs/settings.md is stale: run 'node dist/control/cli.js schema --markdown > docs/settings.md'",
  );
});
