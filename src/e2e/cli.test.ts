/**
 * The CLI against a real daemon, as a user drives it: create and remove switches and ports, read them
 * back in human and --json form, and see the running configuration follow. Needs no root (stream ports
 * only), so it also runs where namespaces are unavailable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../testing/daemon.js';

describe('vswitch CLI lifecycle', () => {
  const d = new TestDaemon();
  before(() =>
    d.start({
      switches: [
        { name: 'base', ports: [{ name: 'a', nic: { type: 'stream', mode: 'listen', path: d.path('a.sock') } }] },
      ],
    }),
  );
  after(() => d.cleanup());

  test('switch add / list / show / rm', async () => {
    let r = await d.cli('switch', 'add', 'lab', '--aging', '120', '--mac-table-size', '1024');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /switch lab created/);
    const list: Array<{ name: string; type: string; ports: number }> = await d.json('switch', 'list');
    assert.deepEqual(list.map((s) => s.name).sort(), ['base', 'lab']);
    r = await d.cli('switch', 'show', 'lab');
    assert.match(r.stdout, /switch lab \(private\), MAC aging 120 s, table size 1024/);
    r = await d.cli('switch', 'add', 'lab');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a switch named 'lab' already exists/);
    r = await d.cli('switch', 'rm', 'lab');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await d.json('switch', 'list')).map((s: { name: string }) => s.name),
      ['base'],
    );
  });

  test('port add (every endpoint kind but TAP) / list / vlan / mtu / netdev / rm; config show follows', async () => {
    const add = async (...args: string[]) => {
      const r = await d.cli('port', 'add', 'base', ...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const out = await add('b', '--listen', d.path('b.sock'), '--vlan', 'access 10', '--mtu', '9000');
    assert.match(
      out,
      /QEMU: -netdev stream,id=base\.b,server=off,addr.type=unix,addr.path=.*b\.sock -device virtio-net-pci,netdev=base\.b,mac=52:54:00:/,
    );
    await add('c', '--connect', d.path('qemu-c.sock'));
    await add('d', '--listen-tcp', '127.0.0.1:0');
    await add('e', '--dgram', '0:127.0.0.1:10999');
    await add('f', '--listen', d.path('f.sock'), '--vde');
    let r = await d.cli('port', 'vlan', 'base', 'c', 'trunk', '10,20-22', '--native', '5', '--pruned', '21');
    assert.equal(r.code, 0, r.stderr);
    r = await d.cli('port', 'mtu', 'base', 'e', '1400');
    assert.equal(r.code, 0, r.stderr);
    const ports: Array<{ name: string; vlan: unknown; mtu: number; link: string }> = await d.json(
      'port',
      'list',
      'base',
    );
    assert.deepEqual(
      ports.map((p) => p.name),
      ['a', 'b', 'c', 'd', 'e', 'f'],
    );
    assert.deepEqual(ports.find((p) => p.name === 'b')!.vlan, { mode: 'access', vid: 10 });
    assert.equal(ports.find((p) => p.name === 'b')!.mtu, 9000);
    assert.deepEqual(ports.find((p) => p.name === 'c')!.vlan, {
      mode: 'trunk',
      allowed: [10, 20, 21, 22],
      native: 5,
      pruned: [21],
    });
    assert.equal(ports.find((p) => p.name === 'e')!.mtu, 1400);
    assert.equal(ports.find((p) => p.name === 'a')!.link, 'down', 'no QEMU connected yet');
    r = await d.cli('port', 'netdev', 'base', 'c');
    assert.match(r.stdout, /-netdev stream,id=base\.c,server=on,addr.type=unix,addr.path=.*qemu-c\.sock/);
    r = await d.cli('port', 'netdev', 'base', 'f');
    assert.equal(r.code, 2, 'VDE framing is not a QEMU netdev');
    const human = (await d.cli('port', 'list', 'base')).stdout;
    assert.match(human, /^c\s+down\s+trunk 10,20-22 native 5 pruned 21\s+1500\s+stream connect /m);
    const cfg: { switches: Array<{ name: string; ports: Array<{ name: string }> }> } = await d.json('config', 'show');
    assert.deepEqual(
      cfg.switches[0].ports.map((p) => p.name),
      ['a', 'b', 'c', 'd', 'e', 'f'],
    );
    for (const p of ['b', 'c', 'd', 'e', 'f']) assert.equal((await d.cli('port', 'rm', 'base', p)).code, 0);
    assert.deepEqual(
      (await d.json('port', 'list', 'base')).map((p: { name: string }) => p.name),
      ['a'],
    );
  });

  test('fdb add / show / del and counters in both forms', async () => {
    let r = await d.cli('fdb', 'add', 'base', '52:54:00:aa:bb:cc', '10', 'a');
    assert.equal(r.code, 0, r.stderr);
    const fdb: Array<{ mac: string; vid: number; port: string; static: boolean }> = await d.json('fdb', 'show', 'base');
    assert.deepEqual(fdb, [{ mac: '52:54:00:aa:bb:cc', vid: 10, port: 'a', static: true, ageSeconds: 0 }]);
    r = await d.cli('fdb', 'show', 'base');
    assert.match(r.stdout, /10\s+52:54:00:aa:bb:cc\s+a\s+static/);
    assert.equal((await d.json('fdb', 'flush', 'base')).flushed, 0, 'flush keeps static entries');
    r = await d.cli('fdb', 'del', 'base', '52:54:00:AA:BB:CC', '10');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await d.json('fdb', 'show', 'base'), []);
    const c = await d.json('counters', 'base');
    assert.deepEqual(Object.keys(c.ports), ['a']);
    assert.equal(c.ports.a.rxFrames, 0);
    assert.deepEqual(Object.keys(c.nodes).slice(0, 1).length, 1);
    r = await d.cli('counters', 'base');
    assert.match(r.stdout, /MAC table: 0 entries/);
  });

  test('SIGTERM shuts down cleanly and removes the API socket', async () => {
    const code = await d.stop();
    assert.equal(code, 0);
    const r = await d.cli('switch', 'list');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no vswitch daemon answers/);
  });
});
