/**
 * vswitch serving vde_switch's protocol on a directory (switch setting vdeSwitch), with the real VDE
 * clients from Debian's vde2/vdeplug and QEMU:
 *   - two `vde_plug DIR` clients exchange frames (each its own port, removed when it goes);
 *   - `vde_plug2tap` in a namespace pings a TAP host of the switch;
 *   - 100 clients attaching one after another each get a port and give it back;
 *   - malformed control requests (short, bad magic, version, type, address) are refused and counted;
 *   - a QEMU guest with `-netdev vde,sock=DIR` (iPXE network boot) gets a DHCP lease from dnsmasq on a TAP
 *     host, and its MAC is learned on its VDE port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { kVdeMagic, kVdeRequestLen } from '../ports/vde-switch.js';
import { netnsSkipReason } from '../testing/netns.js';
import { until } from '../testing/until.js';
import { SwitchLab, type LabHost } from './lab.js';

function toolsSkip(): string | false {
  const ns = netnsSkipReason();
  if (ns) return ns;
  for (const bin of ['vde_plug', 'vde_plug2tap', 'qemu-system-x86_64', 'dnsmasq']) {
    const found = (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => {
      try {
        accessSync(`${d}/${bin}`, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return `needs ${bin} (apt-get install vde2 qemu-system-x86 dnsmasq-base)`;
  }
  return false;
}

/** vde_plug's stdio framing: 2-byte big-endian length + frame. */
const framed = (f: Uint8Array) => Buffer.concat([Buffer.from([f.length >> 8, f.length & 0xff]), f]);

describe('VDE switch protocol', { skip: toolsSkip() }, () => {
  const lab = new SwitchLab();
  let dir = '';
  const procs = new Set<ChildProcess>();
  before(async () => {
    dir = '/tmp/' + lab.lab.ifname('vde'); // short: DIR/ctl must fit a unix socket address
    await lab.start({ hosts: 1, switch: { workers: 1, vdeSwitch: { dir } } });
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await lab.stop();
    (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  });

  /** Start a process in the switch's namespace (the ctl socket is a path, so any namespace would do). */
  const start = (argv: string[], ns = lab.swNs): ChildProcess => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    procs.add(p);
    p.once('exit', () => procs.delete(p));
    return p;
  };
  const stop = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
  };
  const vdePorts = async () =>
    (await lab.daemon.json<Array<{ name: string; link: string }>>('port', 'list', 's1')).filter((p) =>
      p.name.startsWith('vde'),
    );
  const stats = async () =>
    (await lab.counters()).vde as {
      requests: number;
      attached: number;
      detached: number;
      clients: number;
      refused: Record<string, number>;
    };

  test('two vde_plug clients exchange frames, each on a port of its own that goes with it', async () => {
    const a = start(['vde_plug', dir]);
    const b = start(['vde_plug', dir]);
    await until(async () => (await vdePorts()).filter((p) => p.link === 'up').length === 2, 'two VDE ports up', 20_000);
    let got = Buffer.alloc(0);
    b.stdout!.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    const frame = Buffer.alloc(60);
    frame.fill(0xff, 0, 6);
    frame.set([0x02, 0, 0, 0, 0x7d, 0x01], 6);
    frame.writeUInt16BE(0x88b5, 12); // local experimental EtherType
    frame.write('vswitch vde', 14);
    /** The frames b received so far (other hosts' multicast arrives too: find ours among them). */
    const frames = () => {
      const out: Buffer[] = [];
      for (let o = 0; o + 2 <= got.length; ) {
        const n = got.readUInt16BE(o);
        if (o + 2 + n > got.length) break;
        out.push(got.subarray(o + 2, o + 2 + n));
        o += 2 + n;
      }
      return out;
    };
    try {
      a.stdin!.write(framed(frame));
      await until(() => frames().some((f) => f.equals(frame)), 'the frame at the other client', 20_000);
    } finally {
      await stop(a);
      await stop(b);
    }
    await until(async () => (await vdePorts()).length === 0, 'both ports removed', 20_000);
    const s = await stats();
    assert.deepEqual([s.attached, s.detached, s.clients], [2, 2, 0]);
  });

  test('vde_plug2tap in a namespace pings a TAP host of the switch', async () => {
    const h1 = lab.hosts[0] as LabHost;
    const ns = await lab.lab.addNs('v2t');
    const tap = lab.lab.ifname('v2t');
    const p = start(['vde_plug2tap', '-s', dir, tap], ns);
    await until(
      async () => (await lab.lab.exec(ns, ['ip', 'link', 'show', tap])).code === 0,
      'vde_plug2tap made its TAP',
      20_000,
    );
    await lab.lab.ip(ns, 'addr', 'add', '10.77.0.50/24', 'dev', tap);
    await lab.lab.ip(ns, 'link', 'set', tap, 'up');
    const r = await lab.lab.exec(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '2', h1.ip4], { timeoutMs: 30_000 });
    assert.match(r.stdout, / 0% packet loss/, r.stdout + r.stderr);
    await stop(p);
  });

  test('100 clients attaching one after another each get a port and give it back', async () => {
    const s0 = await stats();
    for (let i = 0; i < 100; i++) {
      const p = start(['vde_plug', dir]);
      await until(async () => (await stats()).attached === s0.attached + i + 1, `client ${i} attached`, 20_000);
      await stop(p);
      await until(async () => (await stats()).detached === s0.detached + i + 1, `client ${i} detached`, 20_000);
    }
    assert.equal((await vdePorts()).length, 0, 'every port given back');
    assert.equal((await stats()).clients, 0);
  });

  test('malformed control requests are refused (connection closed, no port) and counted by reason', async () => {
    const req = (mutate: (b: Buffer) => void, len = kVdeRequestLen) => {
      const b = Buffer.alloc(len);
      b.writeUInt32LE(kVdeMagic, 0);
      b.writeUInt32LE(3, 4);
      b.writeUInt32LE(0, 8);
      b.writeUInt16LE(1, 12);
      b.write('/tmp/nonexistent-client', 14);
      mutate(b);
      return b;
    };
    const send = (b: Buffer) =>
      new Promise<Buffer>((resolve) => {
        const c = connect(`${dir}/ctl`);
        let got = Buffer.alloc(0);
        c.on('data', (d) => (got = Buffer.concat([got, d])));
        c.on('error', () => {});
        c.on('close', () => resolve(got));
        c.write(b);
        setTimeout(() => c.end(), 200); // a short request waits for more: end it
      });
    const s0 = await stats();
    assert.equal((await send(req((b) => b.writeUInt32LE(0xdeadbeef, 0)))).length, 0);
    assert.equal((await send(req((b) => b.writeUInt32LE(2, 4)))).length, 0);
    assert.equal((await send(req((b) => b.writeUInt32LE(7, 8)))).length, 0);
    assert.equal((await send(req((b) => b.writeUInt16LE(2, 12)))).length, 0);
    assert.equal((await send(req((b) => b.fill(0, 14)))).length, 0);
    assert.equal((await send(req(() => {}))).length, 0, 'a client socket that is not there: attach fails');
    const s = await stats();
    const d = (k: string) => (s.refused[k] ?? 0) - (s0.refused[k] ?? 0);
    assert.deepEqual(
      [d('bad-magic'), d('bad-version'), d('bad-type'), d('bad-address'), d('attach-failed')],
      [1, 1, 1, 2, 1],
      JSON.stringify(s.refused),
    );
    assert.equal((await vdePorts()).length, 0, 'no port half-made');
  });

  test('QEMU -netdev vde: the guest gets a DHCP lease from a TAP host through the switch', async () => {
    const h1 = lab.hosts[0] as LabHost;
    const dns = start(
      [
        'dnsmasq',
        '--no-daemon',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--port=0',
        '--user=root',
        `--interface=${h1.tap}`,
        '--bind-interfaces',
        '--log-facility=-',
        '--log-dhcp',
        `--dhcp-leasefile=${lab.daemon.path('vde.leases')}`,
        '--dhcp-range=10.77.0.100,10.77.0.150,1h',
      ],
      h1.ns,
    );
    let log = '';
    dns.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    dns.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const mac = '52:54:00:7d:00:42';
    const vm = start([
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-nographic',
      '-nodefaults',
      '-boot',
      'n',
      '-m',
      '64',
      '-no-reboot',
      '-netdev',
      `vde,id=n0,sock=${dir}`,
      '-device',
      `e1000,netdev=n0,mac=${mac},romfile=/usr/lib/ipxe/qemu/pxe-e1000.rom`,
    ]);
    try {
      await until(
        () => new RegExp(`DHCPACK\\(${h1.tap}\\) 10\\.77\\.0\\.\\d+ ${mac}`).test(log),
        'a DHCPACK for the guest',
        60_000,
      );
      const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
      assert.ok(
        fdb.some((e) => e.mac === mac && e.port.startsWith('vde')),
        `the guest's MAC is on its VDE port: ${JSON.stringify(fdb)}`,
      );
    } finally {
      await stop(vm);
      await stop(dns);
    }
  });
});
