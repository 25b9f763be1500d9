/**
 * Every declared switch and port setting walked without a daemon: each has a case (testing/setting-cases.ts)
 * whose example is valid and not the default, and whose flags (`switch add` / `port add` options, derived
 * from the same declarations) give exactly what the config file gives; a setting without a flag says why.
 * The e2e twin (e2e/settings-walk.test.ts) sends the same cases through a real daemon.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { portBase, resolveCase, settingCases, settingChain, uncovered } from '../../testing/setting-cases.js';
import { optionsOf, readFlags } from './cli.js';
import { port } from './port.js';
import type { Setting } from './setting.js';
import { switchSettings } from './switch.js';

const vars = (n: number) => ({ DIR: '/tmp/walk', IF: `wt${n}`, NS: 'walkns', N: String(n) });

function viaFlags(decl: Setting, name: string, argv: string[]): unknown {
  const options = Object.fromEntries(Object.entries(optionsOf(decl)).map(([k, o]) => [k, { type: o.type }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  return decl.check({ name, ...readFlags(decl, values) }, 'x');
}

for (const [kind, decl, base] of [
  ['switch', switchSettings, () => ({ fragment: { workers: 1 }, argv: ['--workers', '1'] })],
  ['port', port, portBase],
] as const) {
  test(`every ${kind} setting has a valid, non-default example, set alike by its flag and the config file`, () => {
    const cases = settingCases(decl);
    assert.deepEqual(
      uncovered(decl, cases),
      [],
      'settings no case sets: give them an example (or examples on their shape)',
    );
    cases.forEach((c, n) => {
      const b = base(c);
      const v = vars(n);
      const withIt = decl.check(resolveCase({ name: 'x', ...b.fragment, ...c.fragment }, v), 'x');
      const without = decl.check(
        resolveCase({ name: 'x', ...base({ path: '', fragment: {}, argv: null }).fragment }, v),
        'x',
      );
      assert.notDeepEqual(withIt, without, `${c.path}: the example is the default`);
      if (c.argv)
        assert.deepEqual(
          viaFlags(decl, 'x', resolveCase([...b.argv, ...c.argv], v)),
          withIt,
          `${c.path}: ${c.argv.join(' ')}`,
        );
    });
  });

  test(`every ${kind} setting without a flag says why (noCli)`, () => {
    for (const c of settingCases(decl).filter((x) => !x.argv)) {
      const chain = settingChain(decl, c.path);
      assert.ok(
        chain.some((s) => s.noCli),
        `${c.path} has neither a flag nor a noCli reason`,
      );
    }
  });
}
