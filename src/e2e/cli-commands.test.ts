/**
 * The command-table CLI against a real daemon, as a user meets it: help per command, --version, typo
 * suggestions, refused foreign flags, `show`, JSON errors, the QEMU lines (ids and MACs per port and
 * per switch, the device model), relative paths taken from the CLI's directory, resources answered back
 * after a change, static MACs in `config show`, and completion of the daemon's names. Stream ports only
 * (no root needed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ApiClient, ApiError } from '../control/client.js';
import { cliPath, TestDaemon, type CliResult } from '../testing/daemon.js';

describe('vswitch commands', () => {
  const d = new TestDaemon();
  before(() =>
    d.start({
      switches: [
        {
          name: 'base',
          ports: [
            { name: 'a', nic: { type: 'stream', mode: 'listen', path: d.path('a.sock') } },
            { name: 'b', nic: { type: 'stream', mode: 'listen', path: d.path('b.sock') } },
          ],
        },
        { name: 'other', ports: [] },
      ],
    }),
  );
  after(() => d.cleanup());

  /** The CLI run from `cwd` (TestDaemon.cli runs from the test's directory). */
  const cliIn = (cwd: string, ...args: string[]) =>
    new Promise<CliResult>((res) =>
      execFile(process.execPath, [cliPath, '--api', d.api, ...args], { cwd }, (err, stdout, stderr) =>
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );

  async function refused(args: string[], ...mustSay: RegExp[]): Promise<CliResult> {
    const r = await d.cli(...args);
    assert.equal(r.code, 2, `vswitch ${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    for (const re of mustSay) assert.match(r.stderr, re, args.join(' '));
    return r;
  }

  test("--version is package.json's", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await d.cli('--version');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('CMD --help and help CMD show only that command', async () => {
    const a = await d.cli('port', 'add', '--help');
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^usage: vswitch port add SW PORT \[OPTIONS\]/);
    assert.match(a.stdout, /--device MODEL/);
    assert.doesNotMatch(a.stdout, /--remote-ip|switch add|fdb show/);
    assert.equal((await d.cli('help', 'port', 'add')).stdout, a.stdout);
    const f = await d.cli('help', 'fdb', 'show');
    assert.match(f.stdout, /usage: vswitch fdb show SW \[OPTIONS\][\s\S]*--port PORT[\s\S]*--vlan VID/);
    const all = await d.cli('--help');
    for (const c of ['show', 'port add', 'fdb show', 'completion SHELL', 'help [COMMAND...]'])
      assert.ok(all.stdout.includes(`  ${c}`), c);
    await refused(['help', 'port', 'ad'], /no command 'port ad'/);
  });

  test("typos get a suggestion; another command's flag is refused; unknown commands too", async () => {
    await refused(
      ['fdb', 'show', 'base', '--prot', 'a'],
      /unknown option --prot for 'fdb show'; did you mean --port\?/,
    );
    await refused(['fdb', 'show', 'base', '--vde'], /--vde is an option of 'port add', not of 'fdb show'/);
    await refused(['prot', 'list', 'base'], /unknown command 'prot list'; did you mean 'port list'\?/);
    await refused(
      ['port', 'add', 'base', 'x', '--listen', d.path('x.sock'), '--device', 'e100'],
      /did you mean 'e1000'\?/,
    );
    assert.equal(existsSync(d.path('x.sock')), false, 'nothing was opened');
  });

  test('fdb show --port and --vlan filter for real', async () => {
    assert.equal((await d.cli('fdb', 'add', 'base', '52:54:00:00:00:0a', '1', 'a')).code, 0);
    assert.equal((await d.cli('fdb', 'add', 'base', '52:54:00:00:00:0b', '2', 'b')).code, 0);
    const onA: Array<{ mac: string }> = await d.json('fdb', 'show', 'base', '--port', 'a');
    assert.deepEqual(
      onA.map((e) => e.mac),
      ['52:54:00:00:00:0a'],
    );
    const vlan2: Array<{ mac: string }> = await d.json('fdb', 'show', 'base', '--vlan', '2');
    assert.deepEqual(
      vlan2.map((e) => e.mac),
      ['52:54:00:00:00:0b'],
    );
  });

  test('static MACs are in config show, and leave it when removed', async () => {
    const cfg = await d.json('config', 'show');
    const base = cfg.switches.find((s: { name: string }) => s.name === 'base');
    assert.deepEqual(base.staticMacs, [
      { mac: '52:54:00:00:00:0a', vid: 1, port: 'a' },
      { mac: '52:54:00:00:00:0b', vid: 2, port: 'b' },
    ]);
    const removed = await d.json('fdb', 'del', 'base', '52:54:00:00:00:0b', '2');
    assert.deepEqual(removed, { mac: '52:54:00:00:00:0b', vid: 2 });
    const after = await d.json('config', 'show');
    assert.deepEqual(after.switches.find((s: { name: string }) => s.name === 'base').staticMacs, [
      { mac: '52:54:00:00:00:0a', vid: 1, port: 'a' },
    ]);
    // a port removed takes its static entries along, and a port of that name added again has none
    assert.equal((await d.cli('port', 'add', 'base', 'tmp', '--listen', d.path('tmp.sock'))).code, 0);
    assert.equal((await d.cli('fdb', 'add', 'base', '52:54:00:00:00:0c', '1', 'tmp')).code, 0);
    assert.equal((await d.cli('port', 'rm', 'base', 'tmp')).code, 0);
    assert.equal((await d.cli('port', 'add', 'base', 'tmp', '--listen', d.path('tmp.sock'))).code, 0);
    const fdb: Array<{ mac: string }> = await d.json('fdb', 'show', 'base', '--port', 'tmp');
    assert.deepEqual(fdb, []);
    const again = await d.json('config', 'show');
    assert.deepEqual(again.switches.find((s: { name: string }) => s.name === 'base').staticMacs, [
      { mac: '52:54:00:00:00:0a', vid: 1, port: 'a' },
    ]);
    assert.equal((await d.cli('port', 'rm', 'base', 'tmp')).code, 0);
  });

  test('--json errors: an object on stderr with the message, the field and the status; same exit codes', async () => {
    const r = await d.cli('port', 'mtu', 'base', 'nope', '1000', '--json');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.deepEqual(JSON.parse(r.stderr), {
      error: "port: switch 'base' has no port named 'nope'",
      field: 'port',
      status: 400,
      exitCode: 2,
    });
    const u = await d.cli('fdb', 'show', 'base', '--prot', 'a', '--json');
    assert.equal(u.code, 2);
    assert.equal(JSON.parse(u.stderr).field, '--prot');
    const none = await d.cli('--api', d.path('nothing.sock'), 'switch', 'list', '--json');
    assert.equal(none.code, 1);
    assert.match(JSON.parse(none.stderr).error, /no vswitch daemon answers/);
  });

  test('QEMU lines: an id and a MAC per port, per switch; the device model is a port setting', async () => {
    const line = async (...args: string[]) => {
      const r = await d.json('port', 'add', ...args);
      assert.ok(r.qemu, JSON.stringify(r));
      return r as { qemu: string; mac: string };
    };
    const v1 = await line('base', 'v1', '--listen', d.path('v1.sock'));
    const v2 = await line('base', 'v2', '--listen', d.path('v2.sock'));
    const o1 = await line('other', 'v1', '--listen', d.path('o-v1.sock'));
    const id = (l: string) => /-netdev stream,id=([^,]+),/.exec(l)![1];
    assert.deepEqual([id(v1.qemu), id(v2.qemu), id(o1.qemu)], ['base.v1', 'base.v2', 'other.v1']);
    assert.equal(new Set([v1.mac, v2.mac, o1.mac]).size, 3, 'v1 on two switches gets two MACs');
    assert.match(v1.qemu, new RegExp(`-device virtio-net-pci,netdev=base\\.v1,mac=${v1.mac}$`));
    const human = await d.cli('port', 'list', 'base');
    assert.match(human.stdout, new RegExp(`^v1 .*${v1.mac}`, 'm'), 'port list shows the MAC');
    assert.equal((await d.cli('port', 'netdev', 'base', 'v2')).stdout.trim(), `qemu-system-x86_64 ... ${v2.qemu}`);
    const old = await line('base', 'v3', '--listen', d.path('v3.sock'), '--device', 'e1000', '--id', 'net0');
    assert.match(old.qemu, /^-netdev stream,id=net0,.* -device e1000,netdev=net0,mac=/);
    const cfg = await d.json('config', 'show');
    assert.deepEqual(cfg.switches[0].ports.find((p: { name: string }) => p.name === 'v3').qemu, {
      device: 'e1000',
      id: 'net0',
    });
  });

  test("relative paths are the CLI's: --listen from its directory; the API refuses relative ones", async () => {
    const r = await cliIn(d.dir, 'port', 'add', 'base', 'rel', '--listen', 'rel.sock');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`addr.path=${d.path('rel.sock')}`), r.stdout);
    assert.equal(existsSync(d.path('rel.sock')), true, "the socket is in the CLI's directory");
    const cfg = await d.json('config', 'show');
    assert.equal(cfg.switches[0].ports.find((p: { name: string }) => p.name === 'rel').nic.path, d.path('rel.sock'));
    await assert.rejects(
      new ApiClient(d.api).call('POST', '/switches/base/ports', {
        name: 'r2',
        nic: { type: 'stream', mode: 'listen', path: 'r2.sock' },
      }),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 400);
        assert.equal(e.field, 'port.nic.path');
        assert.match(e.message, /'r2\.sock' is a relative path; give an absolute one/);
        return true;
      },
    );
  });

  test('a change answers the resulting object', async () => {
    const mtu = await d.json('port', 'mtu', 'base', 'a', '1400');
    assert.equal(mtu.name, 'a');
    assert.equal(mtu.mtu, 1400);
    assert.match(mtu.mac, /^52:54:00:/);
    const vlan = await d.json('port', 'vlan', 'base', 'a', 'access', '10');
    assert.deepEqual(vlan.vlan, { mode: 'access', vid: 10 });
    const down = await d.json('port', 'disconnect', 'base', 'b');
    assert.equal(down.adminDown, true);
    const aging = await d.json('switch', 'aging', 'base', '120');
    assert.equal(aging.agingSeconds, 120);
    const gone = await d.json('port', 'rm', 'base', 'v2');
    assert.equal(gone.name, 'v2');
    assert.equal(gone.nic.path, d.path('v2.sock'));
    const created = await d.json('switch', 'add', 'tmp');
    assert.equal(created.name, 'tmp');
    assert.equal((await d.json('switch', 'rm', 'tmp')).name, 'tmp');
  });

  test('show: every switch, its ports (link, VLAN, MAC, worker, endpoint, policy) and recent events', async () => {
    assert.equal((await d.cli('port', 'policy', 'base', 'a', '--dhcp-guard', 'on', '--storm-limit', '100')).code, 0);
    const r = await d.cli('show');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^switch base \(private, a worker per core, MAC aging 120 s, \d+ ports, 1 static MACs\)$/m);
    assert.match(r.stdout, /^switch other \(private, .*1 port\)$/m);
    assert.match(r.stdout, /^ {4}port\s+link\s+vlan\s+mac\s+worker\s+endpoint\s+policy$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `^ {4}a\\s+down\\s+access 10\\s+52:54:00(:[0-9a-f]{2}){3}\\s+0\\s+stream listen ${d.path('a.sock').replace(/[.]/g, '\\.')}\\s+dhcp-guard, storm 100 pps$`,
        'm',
      ),
    );
    assert.match(r.stdout, /^ {4}b\s+down \(admin\)\s+untagged\s+.*-$/m);
    assert.match(r.stdout, /^recent events:\n( {4}.*\n)* {4}\S+ base\/v2 link down \(port-removed\)$/m);
    const j = await d.json('show');
    assert.deepEqual(
      j.switches.map((s: { config: { name: string } }) => s.config.name),
      ['base', 'other'],
    );
    assert.ok(j.events.length >= 1);
  });

  test("completion offers the daemon's switch and port names", async () => {
    const sw = await d.cli('__complete', 'port', 'rm', '');
    assert.deepEqual(sw.stdout.trim().split('\n'), ['base', 'other']);
    const ports = await d.cli('__complete', 'port', 'rm', 'base', 'v');
    assert.deepEqual(ports.stdout.trim().split('\n'), ['v1', 'v3']);
    const script = await d.cli('completion', 'zsh');
    assert.match(script.stdout, /^#compdef vswitch/);
    assert.match(script.stdout, /__complete/);
  });
});
