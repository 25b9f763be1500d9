/**
 * Port policy through the CLI against a real daemon, as an operator types it (docs/policy.md):
 *   - bad input is refused with exit code 2, nothing on stdout, a message naming the field (the flag or
 *     positional the user typed, or the config key) and the bad value, and the running configuration
 *     (`vswitch config show --json`) unchanged: invalid IP prefixes, port ranges, weights (0, 70000, a
 *     weight already used in the same direction), private VLAN IDs, minimum-bandwidth weights, an absolute
 *     minimum on a weight-mode switch, an unknown mirror mode;
 *   - a config file with a bad policy is refused at `vswitch run --config` (exit 2, the field's path in the
 *     message, no API socket left behind);
 *   - the good path: `port policy --dhcp-guard on --storm-limit 500` shows in `port policy --json` and in
 *     `config show`, and a daemon started from that saved config has the same policy (rules too).
 * Needs no root (stream ports only), so it also runs where namespaces are unavailable.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { VswitchConfig } from '../control/model.js';
import { cliPath, TestDaemon } from '../testing/daemon.js';
import { ApiClient } from '../control/client.js';
import type { PolicyStatus } from '../control/model.js';

describe('port policy from the CLI: refusals leave the switch as it was', () => {
  const d = new TestDaemon();
  before(() =>
    d.start({
      switches: [
        {
          name: 's1',
          minimumBandwidthMode: 'weight',
          ports: [
            { name: 'p1', nic: { type: 'stream', mode: 'listen', path: d.path('p1.sock') } },
            { name: 'p2', nic: { type: 'stream', mode: 'listen', path: d.path('p2.sock') } },
          ],
        },
      ],
    }),
  );
  after(() => d.cleanup());

  async function configNow(): Promise<string> {
    const r = await d.cli('config', 'show', '--json');
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }

  /** The running config as of the last refusal (so back-to-back refusals read it once each); an accepted
   *  change clears it. */
  let known: string | undefined;

  /** The command must exit 2 with every pattern in stderr, print nothing on stdout, and change nothing. */
  async function refused(args: string[], ...mustSay: RegExp[]): Promise<string> {
    const before = known ?? (await configNow());
    known = undefined;
    const r = await d.cli(...args);
    assert.equal(r.code, 2, `vswitch ${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}, stdout: ${r.stdout}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    for (const re of mustSay) assert.match(r.stderr, re, `vswitch ${args.join(' ')}`);
    const now = await configNow();
    assert.equal(now, before, 'running configuration unchanged');
    known = now;
    return r.stderr;
  }

  async function ok(...args: string[]): Promise<string> {
    known = undefined;
    const r = await d.cli(...args);
    assert.equal(r.code, 0, `vswitch ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  test('invalid IP prefixes name the flag and the value', async () => {
    await refused(
      ['acl', 'add', 's1', 'p1', 'deny', 'both', '--remote-ip', '10.0.0.300/8'],
      /--remote-ip/,
      /10\.0\.0\.300\/8/,
    );
    await refused(
      ['acl', 'add', 's1', 'p1', 'deny', 'both', '--remote-ip', '10.0.0.1/8'],
      /--remote-ip/,
      /10\.0\.0\.1\/8/,
      /host bits/,
    );
    await refused(
      ['acl', 'add', 's1', 'p1', 'deny', 'both', '--local-ip', 'fd00::/129'],
      /--local-ip/,
      /fd00::\/129/,
      /128/,
    );
    await refused(
      ['xacl', 'add', 's1', 'p1', 'deny', 'inbound', '100', '--remote-ip', '10.0.0.300/8'],
      /--remote-ip/,
      /10\.0\.0\.300/,
    );
    await refused(
      ['xacl', 'add', 's1', 'p1', 'deny', 'inbound', '100', '--local-ip', 'fd00::/129'],
      /--local-ip/,
      /fd00::\/129/,
    );
  });

  test('invalid port ranges name the flag and the value', async () => {
    await refused(
      ['xacl', 'add', 's1', 'p1', 'allow', 'inbound', '100', '--protocol', 'tcp', '--local-port', '80-70'],
      /--local-port/,
      /80-70/,
      /70-80/,
    );
    await refused(
      ['xacl', 'add', 's1', 'p1', 'allow', 'inbound', '100', '--protocol', 'tcp', '--remote-port', '70000'],
      /--remote-port/,
      /70000/,
      /65535/,
    );
  });

  test('weights: 0 and 70000 are out of range; a weight already used in one direction is refused there only', async () => {
    await refused(['xacl', 'add', 's1', 'p1', 'allow', 'inbound', '0'], /WEIGHT|weight/, /\b0\b/, /65535/);
    await refused(['xacl', 'add', 's1', 'p1', 'allow', 'inbound', '70000'], /WEIGHT|weight/, /70000/, /65535/);
    known = undefined;
    const first: { id: number } = await d.json(
      'xacl',
      'add',
      's1',
      'p1',
      'allow',
      'inbound',
      '100',
      '--protocol',
      'tcp',
    );
    let other = 0;
    try {
      await refused(['xacl', 'add', 's1', 'p1', 'deny', 'inbound', '100'], /weight/, /\b100\b/);
      await refused(['xacl', 'add', 's1', 'p1', 'deny', 'both', '100'], /weight/, /\b100\b/);
      // the same weight in the other direction is fine
      known = undefined;
      other = (await d.json<{ id: number }>('xacl', 'add', 's1', 'p1', 'deny', 'outbound', '100')).id;
      const r: { rules: Array<{ weight: number; direction: string }> } = await d.json('xacl', 'list', 's1', 'p1');
      assert.deepEqual(r.rules.map((x) => `${x.direction} ${x.weight}`).sort(), ['inbound 100', 'outbound 100']);
    } finally {
      await ok('xacl', 'rm', 's1', 'p1', String(first.id));
      if (other) await ok('xacl', 'rm', 's1', 'p1', String(other));
    }
  });

  test('private VLAN: primary 4095 and a secondary equal to the primary are refused', async () => {
    await refused(['port', 'vlan', 's1', 'p1', 'private', 'isolated', '4095', '101'], /primary/, /4095/, /4094/);
    await refused(['port', 'vlan', 's1', 'p1', 'private', 'isolated', '100', '100'], /secondary/, /\b100\b/, /primary/);
    await refused(
      ['port', 'vlan', 's1', 'p1', 'private', 'promiscuous', '100', '101,100'],
      /secondary/,
      /\b100\b/,
      /primary/,
    );
  });

  test('minimum bandwidth: weight 0 and 101 are refused, and an absolute minimum on a weight-mode switch', async () => {
    await refused(['port', 'policy', 's1', 'p1', '--min-weight', '0'], /--min-weight/, /\b0\b/, /100/);
    await refused(['port', 'policy', 's1', 'p1', '--min-weight', '101'], /--min-weight/, /101/);
    await refused(
      ['port', 'policy', 's1', 'p1', '--min-absolute', '50M'],
      /--min-absolute|minimumBandwidthAbsolute/,
      /weight/,
    );
  });

  test('an unknown mirror mode names the flag, the value and the modes', async () => {
    await refused(
      ['port', 'policy', 's1', 'p1', '--mirror', 'sideways'],
      /--mirror/,
      /sideways/,
      /none, source, destination/,
    );
  });

  test('good path: --dhcp-guard on --storm-limit 500 shows in port policy and in config show; a saved config restores it', async () => {
    const human = await ok('port', 'policy', 's1', 'p1', '--dhcp-guard', 'on', '--storm-limit', '500');
    assert.match(human, /dhcp-guard on/, human);
    assert.match(human, /storm-limit 500 pps/, human);
    const acl: { id: number } = await d.json('acl', 'add', 's1', 'p1', 'deny', 'inbound', '--remote-ip', '10.9.0.0/16');
    const xacl: { id: number } = await d.json(
      'xacl',
      'add',
      's1',
      'p1',
      'allow',
      'outbound',
      '300',
      '--protocol',
      'tcp',
      '--remote-port',
      '443',
      '--stateful',
    );

    const status: { policy: Record<string, unknown> } = await d.json('port', 'policy', 's1', 'p1');
    assert.equal(status.policy.dhcpGuard, true);
    assert.equal(status.policy.stormLimit, 500);
    const shown = await ok('port', 'policy', 's1', 'p1');
    assert.match(shown, /dhcp-guard on/);
    assert.match(shown, /storm-limit 500 pps/);
    assert.match(shown, /1 ACLs, 1 extended ACLs/);

    const saved: VswitchConfig = JSON.parse(await configNow());
    const p1 = saved.switches.find((s) => s.name === 's1')?.ports?.find((p) => p.name === 'p1');
    const p2 = saved.switches.find((s) => s.name === 's1')?.ports?.find((p) => p.name === 'p2');
    assert.equal(p1?.policy?.dhcpGuard, true, JSON.stringify(p1));
    assert.equal(p1?.policy?.stormLimit, 500, JSON.stringify(p1));
    assert.deepEqual(p1?.policy?.acls, [{ id: acl.id, action: 'deny', direction: 'inbound', remoteIp: '10.9.0.0/16' }]);
    assert.deepEqual(p1?.policy?.extendedAcls, [
      {
        id: xacl.id,
        action: 'allow',
        direction: 'outbound',
        weight: 300,
        protocol: 'tcp',
        remotePort: '443',
        stateful: true,
      },
    ]);
    assert.equal(p2?.policy?.dhcpGuard, undefined, 'p2 untouched');
    assert.equal(p2?.policy?.stormLimit, undefined, 'p2 untouched');

    // a second daemon from the saved config (its own socket paths) comes up with the same policy
    const d2 = new TestDaemon();
    try {
      for (const sw of saved.switches)
        for (const p of sw.ports ?? [])
          if (p.nic.type === 'stream' && p.nic.path) p.nic.path = d2.path(basename(p.nic.path));
      await d2.start(saved);
      const restored: { policy: Record<string, unknown> } = await d2.json('port', 'policy', 's1', 'p1');
      assert.deepEqual(restored.policy, status.policy, 'the restored policy equals the saved one');
      const cfg2: VswitchConfig = await d2.json('config', 'show');
      assert.deepEqual(
        cfg2.switches.find((s) => s.name === 's1')?.ports?.find((p) => p.name === 'p1')?.policy,
        p1?.policy,
      );
    } finally {
      await d2.cleanup();
    }

    // back to defaults (null resets are the API's; the CLI turns them off)
    await ok('port', 'policy', 's1', 'p1', '--dhcp-guard', 'off', '--storm-limit', '0');
    await ok('acl', 'rm', 's1', 'p1', String(acl.id));
    await ok('xacl', 'rm', 's1', 'p1', String(xacl.id));
  });

  test('the API: PUT .../policy merges settings, null resets one, rule lists given whole get ids the CLI can remove', async () => {
    const api = new ApiClient(d.api);
    const base = '/switches/s1/ports/p2/policy';
    await api.call('PUT', base, {
      routerGuard: true,
      stormLimit: 300,
      acls: [{ action: 'deny', direction: 'both', remoteIp: '10.8.0.0/16' }],
    });
    let st = await api.call<PolicyStatus>('GET', base);
    assert.equal(st.policy.routerGuard, true);
    assert.equal(st.policy.stormLimit, 300);
    assert.deepEqual(st.policy.acls, [{ id: 1, action: 'deny', direction: 'both', remoteIp: '10.8.0.0/16' }]);
    assert.deepEqual(st.stats.acls, [{ id: 1, frames: 0, bytes: 0 }]);
    await api.call('PUT', base, { stormLimit: null });
    st = await api.call<PolicyStatus>('GET', base);
    assert.equal(st.policy.stormLimit, undefined, 'null resets the setting');
    assert.equal(st.policy.routerGuard, true, 'other settings kept');
    await ok('acl', 'rm', 's1', 'p2', '1');
    await api.call('PUT', base, { routerGuard: null });
    st = await api.call<PolicyStatus>('GET', base);
    assert.deepEqual(st.policy, {}, 'nothing left: an emptied rule list is dropped too');
    // a refused PUT (unknown key) changes nothing
    await assert.rejects(api.call('PUT', base, { routerGaurd: true }), /policy\.routerGaurd: unknown setting/);
    assert.deepEqual((await api.call<PolicyStatus>('GET', base)).policy, {});
  });
});

describe('vswitch run --config refuses a bad policy', () => {
  const d = new TestDaemon(); // only for its private directory; never started

  after(() => d.cleanup());

  /** A one-switch config whose port p1 carries `port` (merged in) on a switch with `sw` settings. */
  function config(port: Record<string, unknown>, sw: Record<string, unknown> = {}): unknown {
    return {
      api: d.path('api.sock'),
      switches: [
        {
          name: 's1',
          ...sw,
          ports: [{ name: 'p1', nic: { type: 'stream', mode: 'listen', path: d.path('p1.sock') }, ...port }],
        },
      ],
    };
  }

  /** `vswitch run --config FILE` must exit 2 at once with every pattern in stderr and leave no API socket. */
  async function refusedAtRun(name: string, cfg: unknown, ...mustSay: RegExp[]): Promise<void> {
    const file = d.path(`${name}.json`);
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      // a daemon that wrongly accepts the file keeps running: the timeout kills it (by its PID) and fails the test
      execFile(process.execPath, [cliPath, 'run', '--config', file], { timeout: 15_000 }, (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number | string }).code ?? null) : 0;
        res({ code: typeof code === 'number' ? code : null, stdout, stderr });
      });
    });
    assert.equal(r.code, 2, `${name}: exit ${r.code}, stderr: ${r.stderr}, stdout: ${r.stdout}`);
    for (const re of mustSay) assert.match(r.stderr, re, name);
    assert.equal(existsSync(d.path('api.sock')), false, `${name}: no API socket was left behind`);
    assert.equal(existsSync(d.path('p1.sock')), false, `${name}: no port socket was left behind`);
  }

  test('a prefix with host bits names its path in the file', async () => {
    await refusedAtRun(
      'host-bits',
      config({ policy: { acls: [{ action: 'deny', direction: 'both', remoteIp: '10.0.0.1/8' }] } }),
      /switches\[0\]\.ports\[0\]\.policy\.acls\[0\]\.remoteIp/,
      /10\.0\.0\.1\/8/,
    );
  });

  test('a duplicate extended ACL weight in one direction names the second rule', async () => {
    const ext = [
      { action: 'allow', direction: 'inbound', weight: 100, protocol: 'tcp' },
      { action: 'deny', direction: 'both', weight: 100 },
    ];
    await refusedAtRun(
      'dup-weight',
      config({ policy: { extendedAcls: ext } }),
      /switches\[0\]\.ports\[0\]\.policy\.extendedAcls\[1\]\.weight/,
      /\b100\b/,
    );
  });

  test('a backwards port range names the field', async () => {
    const ext = [{ action: 'allow', direction: 'inbound', weight: 10, protocol: 'udp', localPort: '80-70' }];
    await refusedAtRun(
      'port-range',
      config({ policy: { extendedAcls: ext } }),
      /policy\.extendedAcls\[0\]\.localPort/,
      /80-70/,
    );
  });

  test('a private VLAN with primary 4095 names the field', async () => {
    await refusedAtRun(
      'pvlan',
      config({ vlan: { mode: 'private', pvlan: 'isolated', primary: 4095, secondary: [101] } }),
      /switches\[0\]\.ports\[0\]\.vlan\.primary/,
      /4095/,
    );
  });

  test('a minimum-bandwidth weight on an absolute-mode switch names the field', async () => {
    await refusedAtRun(
      'min-weight',
      config({ policy: { minimumBandwidthWeight: 50 } }, { minimumBandwidthMode: 'absolute' }),
      /policy\.minimumBandwidthWeight/,
      /absolute/,
    );
  });

  test('an unknown mirror mode names the field and the modes', async () => {
    await refusedAtRun(
      'mirror',
      config({ policy: { mirror: 'sideways' } }),
      /switches\[0\]\.ports\[0\]\.policy\.mirror/,
      /sideways/,
      /none, source, destination/,
    );
  });
});
