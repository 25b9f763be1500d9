/**
 * A restart loses nothing that was changed at runtime: ports, VLANs, MTU, ACLs, port policy, aging and
 * tuning made through the CLI come back after a `kill -9` and a new start on the same config file; and a
 * crash in the middle of saving (between the write and the rename) leaves the previous state whole (stream
 * ports: no root needed); and TAP devices the switch made outlive the daemon, so hosts keep their MACs and
 * addresses and a running ping resumes once the daemon is back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../testing/daemon.js';
import { netnsSkipReason } from '../testing/netns.js';
import { until } from '../testing/until.js';
import { SwitchLab, type LabHost } from './lab.js';
import type { VswitchConfig } from '../control/model.js';

describe('restart: runtime changes survive kill -9', () => {
  const d = new TestDaemon();
  const boot: VswitchConfig = {
    switches: [{ name: 's1', ports: [{ name: 'a', nic: { type: 'stream', mode: 'listen', path: d.path('a.sock') } }] }],
  };
  after(() => d.cleanup());

  const ok = async (...args: string[]) => {
    const r = await d.cli(...args);
    assert.equal(r.code, 0, `vswitch ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  test('ports, VLANs, MTU, ACLs, policy, aging and tuning come back; the config file alone would not have them', async () => {
    await d.start(boot);
    await ok('port', 'add', 's1', 'b', '--listen', d.path('b.sock'), '--vlan', 'access 10');
    await ok('port', 'add', 's1', 'c', '--dgram', '0:127.0.0.1:10999');
    await ok('port', 'vlan', 's1', 'a', 'trunk', '10,20', '--native', '30');
    await ok('port', 'mtu', 's1', 'c', '9000');
    await ok('acl', 'add', 's1', 'b', 'deny', 'inbound', '--remote-ip', '10.9.0.0/16');
    await ok(
      'xacl',
      'add',
      's1',
      'b',
      'allow',
      'outbound',
      '100',
      '--protocol',
      'tcp',
      '--remote-port',
      '443',
      '--stateful',
    );
    await ok('port', 'policy', 's1', 'a', '--dhcp-guard', 'on', '--storm-limit', '5000');
    await ok('switch', 'aging', 's1', '77');
    await ok('switch', 'tune', 's1', '--dvmq', 'off');
    await ok('switch', 'add', 's2', '--aging', '42');
    const before: VswitchConfig = await d.json('config', 'show');
    assert.equal(before.switches.length, 2);

    await d.kill();
    await d.start(boot);
    assert.match(d.log, /restored the running state from .*config\.state\.json/);
    const restored: VswitchConfig = await d.json('config', 'show');
    assert.deepEqual(restored, before, 'the running config after the restart is the one before the crash');
    const ports: Array<{ name: string; vlan: unknown; mtu: number }> = await d.json('port', 'list', 's1');
    assert.deepEqual(
      ports.map((p) => p.name),
      ['a', 'b', 'c'],
    );
    assert.equal(ports.find((p) => p.name === 'c')!.mtu, 9000);
    const acls: unknown[] = (await d.json('port', 'policy', 's1', 'b')).policy.acls;
    assert.equal(acls.length, 1, 'the ACL is back');
  });

  test('a crash between writing the state and renaming it leaves the previous state whole', async () => {
    const statePath = d.path('config.state.json');
    const saved = readFileSync(statePath, 'utf8');
    await d.kill();
    await d.start(boot, 15_000, { VSWITCH_FAULT_INJECT: 'state-before-rename' });
    const r = await d.cli('port', 'add', 's1', 'lost', '--listen', d.path('lost.sock'));
    assert.notEqual(r.code, 0, 'the daemon died while saving, so the change was not confirmed');
    assert.equal(await d.exited(), 'SIGKILL');
    assert.ok(existsSync(`${statePath}.tmp-${d.proc!.pid}`), 'the crash came after the temporary file was written');
    assert.equal(readFileSync(statePath, 'utf8'), saved, 'the state file is the previous one, byte for byte');
    await d.start(boot);
    const ports: Array<{ name: string }> = await d.json('port', 'list', 's1');
    assert.deepEqual(
      ports.map((p) => p.name),
      ['a', 'b', 'c'],
      'restored from the last complete state',
    );
  });

  test('a state file that is not a valid configuration stops the start, naming the file', async () => {
    await d.kill();
    const statePath = d.path('config.state.json');
    const good = readFileSync(statePath, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(statePath, '{"switches": [{"name": "bad name!"}]}');
    await assert.rejects(d.start(boot), /config\.state\.json.*fix or remove it/s);
    writeFileSync(statePath, good);
  });
});

describe('restart: TAP devices outlive the daemon', { skip: netnsSkipReason() }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 2 }));
  after(() => lab.stop());

  const link = async (h: LabHost) =>
    JSON.parse(await lab.lab.ip(h.ns, '-j', 'addr', 'show', 'dev', h.tap))[0] as {
      address: string;
      addr_info: Array<{ local: string }>;
    };

  test('kill -9 under a running ping: the TAPs keep their MACs and addresses, the restarted daemon re-attaches, the ping resumes', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    const before1 = await link(h1);
    // 300 pings 20 ms apart (6 s); the crash and the restart happen in the middle
    const ping = lab.lab.exec(h1.ns, ['ping', '-4', '-c', '300', '-i', '0.02', '-W', '1', h2.ip4], {
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    await lab.daemon.kill();
    const after1 = await link(h1);
    assert.equal(after1.address, before1.address, 'the TAP is still there with its MAC while the daemon is down');
    assert.ok(
      after1.addr_info.some((a) => a.local === h1.ip4),
      'and with its address',
    );
    await lab.daemon.restart();
    const restartMs = Date.now() - t0;
    const out = (await ping).stdout;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    const lost = Number(m[1]) - Number(m[2]);
    console.log(`# restart window ${restartMs} ms (kill -9 to API up): ${lost} of ${m[1]} pings at 20 ms lost`);
    assert.ok(lost < Number(m[1]) / 2, `the ping resumed after the restart: ${out}`);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0, 'and the path is whole again');
    assert.equal((await link(h1)).address, before1.address, 'same MAC after the restart');
  });

  test('a TAP deleted under its port comes back on port connect, with the settings of the port', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const r0 = await lab.daemon.cli('port', 'vlan', 's1', h1.port, 'access', '7');
    assert.equal(r0.code, 0, r0.stderr);
    await lab.daemon.cli('port', 'vlan', 's1', h2.port, 'access', '7');
    await lab.lab.ip(h1.ns, 'link', 'del', 'dev', h1.tap);
    const linkOf = async () =>
      (await lab.daemon.json<Array<{ name: string; link: string }>>('port', 'list', 's1')).find(
        (p) => p.name === h1.port,
      )!.link;
    await until(async () => (await linkOf()) === 'down', 'the switch to see the TAP go', 10_000);
    const r = await lab.daemon.cli('port', 'connect', 's1', h1.port);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await linkOf(), 'up', 'link up again');
    // a new device: the host configures it again, as after any interface re-creation
    await lab.lab.ip(h1.ns, 'addr', 'add', `${h1.ip4}/24`, 'dev', h1.tap);
    await lab.lab.ip(h1.ns, 'link', 'set', h1.tap, 'up');
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0, 'traffic flows through the re-created TAP');
    const ports: Array<{ name: string; vlan: unknown }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(
      ports.find((p) => p.name === h1.port)!.vlan,
      { mode: 'access', vid: 7 },
      'the port kept its settings',
    );
  });

  test('port rm takes the persistent TAP device with it', async () => {
    const h2 = lab.hosts[1]!;
    const r = await lab.daemon.cli('port', 'rm', 's1', h2.port);
    assert.equal(r.code, 0, r.stderr);
    const show = await lab.lab.exec(h2.ns, ['ip', 'link', 'show', 'dev', h2.tap]);
    assert.notEqual(show.code, 0, `the TAP is gone: ${show.stdout}`);
  });
});
