/**
 * Test helper: every declared setting of a switch or port (control/settings/) as a case the walk tests
 * set through each channel: a fragment of the switch or port object holding the setting's example (with
 * what it needs around it: an endpoint, the VDE directory) and the argv of `switch add` / `port add` that
 * gives it, or none when the setting declares it has no flag (`noCli`). `uncovered` lists the settings no
 * case sets, so a setting added without an example (or a `noWalk` reason) fails the walk.
 */
import { walk, type Setting } from '../control/settings/setting.js';

export interface SettingCase {
  /** The setting's path below the switch or port ('mtu', 'nic.netns', 'dvmq.upperThreshold'). */
  path: string;
  /** The keys to merge into the switch or port object (placeholders @DIR, @IF, @NS, @N unresolved). */
  fragment: Record<string, unknown>;
  /** The flags that set it, or null: it has no flag (the reason is the declaration's noCli). */
  argv: string[] | null;
}

const argvOf = (s: Setting): string[] | null => {
  const cli = s.cli;
  if (!cli?.flag || s.noCli) return null;
  if (cli.example) return [...cli.example];
  if (!cli.value) return [`--${cli.flag}`];
  const x = s.example;
  return [`--${cli.flag}`, typeof x === 'boolean' ? (x ? 'on' : 'off') : String(x)];
};

/** Cases for the fields of `obj` (a switch or a port), skipping `skip` (the name, given as an argument). */
export function settingCases(obj: Setting, skip: readonly string[] = ['name']): SettingCase[] {
  const out: SettingCase[] = [];
  const visit = (
    s: Setting,
    path: string,
    wrap: (v: unknown) => Record<string, unknown>,
    baseArgv: string[] | null,
  ) => {
    for (const [k, c] of Object.entries(s.fields ?? {})) {
      const p = path ? `${path}.${k}` : k;
      if (!path && skip.includes(k)) continue;
      // a list is walked only whole, by its example (a port's ACLs); the ports of a switch have their own
      if (c.kind === 'lit' || (c.kind === 'list' && c.example === undefined) || c.noWalk) continue;
      if (c.example !== undefined) {
        const argv = argvOf(c);
        const w = c.with;
        out.push({
          path: p,
          fragment: wrap({ ...w?.value, [k]: c.example }),
          argv: argv && baseArgv ? [...baseArgv, ...(w?.argv ?? []), ...argv] : null,
        });
      } else if (c.variants) {
        for (const shape of Object.values(c.variants)) {
          for (const ex of shape.examples ?? []) {
            const argv = shape.noCli || !baseArgv ? null : [...baseArgv, ...ex.argv];
            out.push({ path: `${p}(${ex.value[c.key!]})`, fragment: wrap({ [k]: ex.value }), argv });
          }
          const first = shape.examples?.[0];
          if (first)
            visit(
              shape,
              p,
              (v) => wrap({ [k]: { ...first.value, ...(v as object) } }),
              shape.noCli || !baseArgv ? null : [...baseArgv, ...first.argv],
            );
        }
      } else if (c.fields) {
        const first = c.examples?.[0];
        if (first)
          out.push({
            path: p,
            fragment: wrap({ [k]: first.value }),
            argv: baseArgv && !c.noCli ? [...baseArgv, ...first.argv] : null,
          });
        visit(
          c,
          p,
          (v) => wrap({ [k]: { ...(first?.value ?? {}), ...(v as object) } }),
          baseArgv && !c.noCli ? [...baseArgv, ...(first?.argv ?? [])] : null,
        );
      }
    }
  };
  visit(obj, '', (v) => v as Record<string, unknown>, []);
  return out;
}

/** Settings below `obj` that no case sets (paths as walk() spells them, variants and lists flattened). */
export function uncovered(obj: Setting, cases: readonly SettingCase[], skip: readonly string[] = ['name']): string[] {
  const has = (frag: unknown, keys: string[]): boolean => {
    if (keys.length === 0) return true;
    if (typeof frag !== 'object' || frag === null) return false;
    return has((frag as Record<string, unknown>)[keys[0]!], keys.slice(1));
  };
  return walk(obj)
    .filter(
      ({ path, setting }) => setting.kind !== 'lit' && !setting.noWalk && !path.includes('[]') && !skip.includes(path),
    )
    .map(({ path }) => path.replace(/\([^)]*\)/g, ''))
    .filter((path) => !/^(ports|staticMacs)\b/.test(path))
    .filter((path, i, all) => all.indexOf(path) === i)
    .filter((path) => !cases.some((c) => has(c.fragment, path.split('.'))))
    .filter((path) => !isInsideExample(obj, path));
}

/** A path inside a setting whose example is a whole value (a VLAN mode's vid, a policy's keys). */
function isInsideExample(obj: Setting, path: string): boolean {
  const parts = path.split('.');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('.');
    const hit = walk(obj).find((x) => x.path.replace(/\([^)]*\)/g, '') === prefix);
    if (hit?.setting.example !== undefined) return true;
  }
  return false;
}

/** `v` with the placeholders replaced (every string, at any depth). */
export function resolveCase<T>(v: T, vars: Readonly<Record<'DIR' | 'IF' | 'NS' | 'N', string>>): T {
  if (typeof v === 'string') return v.replace(/@(DIR|IF|NS|N)/g, (_, k: keyof typeof vars) => vars[k]) as T;
  if (Array.isArray(v)) return v.map((x) => resolveCase(x, vars)) as T;
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveCase(x, vars)])) as T;
  return v;
}

/** What a port case needs around it when it does not choose the endpoint itself: a unix socket listener. */
export function portBase(c: SettingCase): { fragment: Record<string, unknown>; argv: string[] } {
  return 'nic' in c.fragment
    ? { fragment: {}, argv: [] }
    : {
        fragment: { nic: { type: 'stream', mode: 'listen', path: '@DIR/b@N.sock' } },
        argv: ['--listen', '@DIR/b@N.sock'],
      };
}

/** The declarations from `decl` down to a case's setting, variant shapes included (`nic(memory)`). */
export function settingChain(decl: Setting, path: string): Setting[] {
  const out: Setting[] = [];
  let at: Setting | undefined = decl;
  for (const part of path.split('.')) {
    const m = /^([^(]+)(?:\(([^)]*)\))?$/.exec(part)!;
    at = at?.fields?.[m[1]!];
    if (at) out.push(at);
    if (m[2] !== undefined) at = at?.variants?.[m[2]];
    if (at && m[2] !== undefined) out.push(at);
  }
  return out;
}
