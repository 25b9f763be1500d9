/**
 * Every declared switch and port setting through every channel of a real daemon (in a namespace, so TAPs
 * stay out of the root namespace): its example set in the config file, by its `switch add` / `port add`
 * flag, and in the API's POST body, then (for a setting that changes at runtime) by its runtime command
 * on an object created without it; after each channel `config show` must hold the example. The cases come
 * from the declarations (testing/setting-cases.ts), so a new setting is walked without touching this file,
 * and one that misses a channel fails here. A setting without a flag (noCli) skips the CLI channel only.
 * GET /v1/schema is checked against the declarations too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiClient } from '../control/client.js';
import type { SwitchConfig, VswitchConfig } from '../control/model.js';
import { port } from '../control/settings/port.js';
import { configSchema } from '../control/settings/schema.js';
import type { Setting } from '../control/settings/setting.js';
import { switchSettings } from '../control/settings/switch.js';
import { TestDaemon } from '../testing/daemon.js';
import { NetnsLab, netnsSkipReason, runPrefix } from '../testing/netns.js';
import { portBase, resolveCase, settingCases, settingChain, type SettingCase } from '../testing/setting-cases.js';

type Obj = Record<string, unknown>;

/** The value at a case's path ('nic(tap)' -> nic, 'dvmq.upperThreshold'). */
function at(o: unknown, path: string): unknown {
  return path
    .replace(/\([^)]*\)/g, '')
    .split('.')
    .reduce<unknown>((x, k) => (x as Obj | undefined)?.[k], o);
}

/** The runtime command's words for a case: `port mtu SW P 9000`, `switch tune SW --dvmq-upper 0.9`, `port policy SW P --dhcp-guard on`. */
function runtimeArgv(decl: Setting, c: SettingCase, sw: string, p?: string): string[] | null {
  const s = settingChain(decl, c.path)
    .reverse()
    .find((x) => x.runtime);
  if (!s?.runtime || !c.argv) return null;
  const own = c.argv.slice(c.argv.indexOf(`--${s.cli?.flag ?? ''}`) >= 0 ? c.argv.indexOf(`--${s.cli!.flag}`) : 0);
  // flags as typed (`switch tune --workers 2`, `port policy --dhcp-guard on`: a setting with no flag of its own
  // changes through its fields' flags), the value as the command's argument (`port mtu SW P 9000`), or none
  const words =
    s.runtime.command === 'tune' || !s.cli?.flag ? own : s.cli.value ? [...own[1]!.split(' '), ...own.slice(2)] : [];
  return p === undefined ? ['switch', s.runtime.command, sw, ...words] : ['port', s.runtime.command, sw, p, ...words];
}

test('every switch and port setting through the config file, its flag, the API and its runtime command', {
  skip: netnsSkipReason(),
}, async () => {
  const lab = new NetnsLab(runPrefix());
  let d: TestDaemon | null = null;
  try {
    const ns = await lab.addNs('sw');
    const other = await lab.addNs('o');
    d = new TestDaemon(ns);
    const api = new ApiClient(d.api);
    const swCases = settingCases(switchSettings);
    const ptCases = settingCases(port);
    const swBase = { workers: 1 };
    const vars = (ch: string, n: number) => ({ DIR: d!.dir, IF: lab.ifname(`${ch}${n}`), NS: other, N: `${ch}${n}` });
    /** A TAP the case attaches to rather than creates (create: false) must exist first. */
    const prepare = async (frag: Obj) => {
      const nic = frag.nic as Obj | undefined;
      if (nic?.type === 'tap' && nic.create === false)
        await lab.ip(ns, 'tuntap', 'add', 'dev', String(nic.name), 'mode', 'tap');
    };
    const expectSwitch = (c: SettingCase, v: ReturnType<typeof vars>) =>
      switchSettings.check(resolveCase({ name: 'x', ...swBase, ...c.fragment }, v), 'x');
    const expectPort = (c: SettingCase, v: ReturnType<typeof vars>) =>
      port.check(resolveCase({ name: 'x', ...portBase(c).fragment, ...c.fragment }, v), 'x');

    /** After a channel: every case's object in `config show` holds its example. */
    const verify = async (ch: string, only: (c: SettingCase, decl: Setting) => boolean) => {
      const shown = (await d!.json('config', 'show')) as VswitchConfig;
      const sw = (name: string) => shown.switches.find((s) => s.name === name);
      swCases.forEach((c, n) => {
        if (!only(c, switchSettings)) return;
        const got = sw(`${ch}${n}`);
        assert.ok(got, `${ch}: switch ${ch}${n} (${c.path}) missing from config show`);
        assert.deepEqual(at(got, c.path), at(expectSwitch(c, vars(ch, n)), c.path), `${ch}: switch ${c.path}`);
      });
      ptCases.forEach((c, n) => {
        if (!only(c, port)) return;
        const got = sw(`p${ch}`)?.ports?.find((p) => p.name === `${ch}${n}`);
        assert.ok(got, `${ch}: port ${ch}${n} (${c.path}) missing from config show`);
        assert.deepEqual(at(got, c.path), at(expectPort(c, vars(ch, n)), c.path), `${ch}: port ${c.path}`);
      });
    };
    const removeSwitches = async (ch: string) => {
      for (const s of ((await d!.json('config', 'show')) as VswitchConfig).switches)
        if (s.name.startsWith(ch) || s.name === `p${ch}`) await d!.json('switch', 'rm', s.name);
    };

    // 1. the config file
    const file: SwitchConfig[] = swCases.map(
      (c, n) => resolveCase({ name: `f${n}`, ...swBase, ...c.fragment }, vars('f', n)) as SwitchConfig,
    );
    const fports = ptCases.map((c, n) =>
      resolveCase({ name: `f${n}`, ...portBase(c).fragment, ...c.fragment }, vars('f', n)),
    );
    for (const p of fports) await prepare(p as Obj);
    file.push({ name: 'pf', ...swBase, ports: fports as SwitchConfig['ports'] });
    await d.start({ switches: file });
    await verify('f', () => true);
    await removeSwitches('f');

    // 2. the CLI flags (settings without one are declared noCli: checked by settings/walk.test.ts)
    await d.json('switch', 'add', 'pc', '--workers', '1');
    for (const [n, c] of swCases.entries())
      if (c.argv) await d.json('switch', 'add', `c${n}`, '--workers', '1', ...resolveCase(c.argv, vars('c', n)));
    for (const [n, c] of ptCases.entries()) {
      if (!c.argv) continue;
      await prepare(resolveCase(c.fragment, vars('c', n)));
      await d.json('port', 'add', 'pc', `c${n}`, ...resolveCase([...portBase(c).argv, ...c.argv], vars('c', n)));
    }
    await verify('c', (c) => c.argv !== null);
    await removeSwitches('c');

    // 3. the API's fields
    await api.call('POST', '/switches', { name: 'pa', ...swBase });
    for (const [n, c] of swCases.entries())
      await api.call('POST', '/switches', resolveCase({ name: `a${n}`, ...swBase, ...c.fragment }, vars('a', n)));
    for (const [n, c] of ptCases.entries()) {
      const body = resolveCase({ name: `a${n}`, ...portBase(c).fragment, ...c.fragment }, vars('a', n));
      await prepare(body);
      await api.call('POST', '/switches/pa/ports', body);
    }
    await verify('a', () => true);
    await removeSwitches('a');

    // 4. runtime commands, on objects created without the setting
    await d.json('switch', 'add', 'pr', '--workers', '1');
    const runtime = (decl: Setting) => (c: SettingCase) =>
      runtimeArgv(decl, c, 'x', decl === port ? 'y' : undefined) !== null;
    for (const [n, c] of swCases.entries()) {
      const argv = runtimeArgv(switchSettings, c, `r${n}`);
      if (!argv) continue;
      await d.json('switch', 'add', `r${n}`, '--workers', '1');
      await d.json(...resolveCase(argv, vars('r', n)));
    }
    for (const [n, c] of ptCases.entries()) {
      const argv = runtimeArgv(port, c, 'pr', `r${n}`);
      if (!argv) continue;
      await d.json('port', 'add', 'pr', `r${n}`, ...resolveCase(portBase(c).argv, vars('r', n)));
      await d.json(...resolveCase(argv, vars('r', n)));
    }
    await verify('r', (c, decl) => runtime(decl)(c));
    await removeSwitches('r');

    // the schema the daemon publishes is the declarations'
    assert.deepEqual(await api.call('GET', '/schema'), configSchema());
  } finally {
    await d?.cleanup();
    await lab.cleanup();
  }
});
