/**
 * End to end with real QEMU guests: a `vswitch run` daemon in a namespace, one TAP host listening with
 * tcpdump, and QEMU 7.2 VMs with no disk that network-boot (iPXE in the e1000 option ROM), so each sends a
 * DHCP DISCOVER from the MAC we give it a few seconds after start. The TAP host must see that DISCOVER
 * through the switch, for each way QEMU joins a port:
 *   (a) `-netdev stream,server=off` (unix) to a stream port in listen mode: link up on connect, down on exit;
 *   (b) `-netdev dgram` (inet, loopback) to a dgram port: connectionless, the port stays up;
 *   (c) `-netdev stream,server=on` (unix) with the switch port in connect mode: the switch dials QEMU and,
 *       after QEMU is killed (SIGKILL) and a new one listens on the same path, dials again by itself.
 * QEMU runs in the daemon's namespace (the dgram port binds that namespace's loopback) under TCG: KVM
 * guests hang on this host. Every QEMU and tcpdump is killed by PID; namespaces go in `after`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LinkEvent, PortStatus } from '../control/model.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const kQemu = 'qemu-system-x86_64';
/** iPXE ROM for e1000 (Debian's ipxe-qemu); QEMU's default romfile name is not installed in its data dir. */
const kRom = '/usr/lib/ipxe/qemu/pxe-e1000.rom';
/** iPXE sends its first DISCOVER ~3 s after QEMU starts under TCG and retries; 30 s is a generous bound. */
const kDhcpTimeoutMs = 30_000;
/** Link state follows a connect or an exit within milliseconds; connect mode re-dials every 1 s. */
const kLinkTimeoutMs = 10_000;
/** dgram port addresses inside the switch namespace's own loopback (no other run can collide). */
const kSwitchUdp = 40001;
const kQemuUdp = 40002;

function qemuSkipReason(): string | false {
  const ns = netnsSkipReason();
  if (ns) return ns;
  const path = (process.env.PATH ?? '/usr/bin:/bin').split(':');
  for (const bin of [kQemu, 'tcpdump']) {
    const found = path.some((dir) => {
      try {
        accessSync(`${dir}/${bin}`, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return `needs ${bin}`;
  }
  try {
    accessSync(kRom, constants.R_OK);
  } catch {
    return `needs ${kRom} (apt-get install ipxe-qemu)`;
  }
  return false;
}

const skip = qemuSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A locally unique QEMU MAC for this run: 52:54:00:rr:rr:NN. */
function vmMac(n: number): string {
  const r = () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return `52:54:00:${r()}:${r()}:${n.toString(16).padStart(2, '0')}`;
}

describe('QEMU guests network-boot through the switch', { skip }, () => {
  const lab = new SwitchLab();
  const dir = skip ? '' : mkdtempSync(join(tmpdir(), 'vswitch-qemu-'));
  const listenPath = join(dir, 'q1.sock'); // switch listens, QEMU connects
  const qemuServerPath = join(dir, 'q3.sock'); // QEMU listens, switch connects
  const vms = new Set<ChildProcess>();

  before(() =>
    lab.start({
      hosts: 1,
      extraPorts: [
        { name: 'q1', nic: { type: 'stream', mode: 'listen', path: listenPath } },
        {
          name: 'q2',
          nic: {
            type: 'dgram',
            localHost: '127.0.0.1',
            localPort: kSwitchUdp,
            remoteHost: '127.0.0.1',
            remotePort: kQemuUdp,
          },
        },
        { name: 'q3', nic: { type: 'stream', mode: 'connect', path: qemuServerPath } },
      ],
    }),
  );
  after(async () => {
    try {
      for (const vm of vms) await killVm(vm, 'SIGKILL');
      await lab.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Start a diskless QEMU in the switch namespace that PXE-boots over netdev `n0`. */
  function startVm(netdev: string, mac: string): ChildProcess {
    const vm = lab.lab.spawn(lab.swNs, [
      kQemu,
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
      `${netdev},id=n0`,
      '-device',
      `e1000,netdev=n0,mac=${mac},romfile=${kRom}`,
    ]);
    let out = '';
    vm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    vm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    vm.once('exit', (code) => {
      vms.delete(vm);
      if (code !== null && code !== 0) console.error(`qemu exited ${code}: ${out}`); // e.g. a bad -netdev
    });
    vms.add(vm);
    return vm;
  }

  /** Kill a QEMU by its PID and wait until it is gone. */
  async function killVm(vm: ChildProcess, sig: NodeJS.Signals): Promise<void> {
    if (vm.exitCode !== null || vm.signalCode !== null) return;
    const gone = new Promise((r) => vm.once('exit', r));
    process.kill(vm.pid!, sig);
    await gone;
  }

  function assertDiscover(line: string, mac: string): void {
    assert.match(line, new RegExp(`^\\S+ ${mac} > ff:ff:ff:ff:ff:ff, ethertype IPv4`), line);
    assert.match(line, /0\.0\.0\.0\.68 > 255\.255\.255\.255\.67: BOOTP\/DHCP, Request from/, line);
    assert.ok(line.includes(`Request from ${mac}`), line);
  }

  async function port(name: string): Promise<PortStatus> {
    const ports: PortStatus[] = await lab.daemon.json('port', 'list', 's1');
    const p = ports.find((x) => x.name === name);
    assert.ok(p, `port ${name} listed`);
    return p;
  }

  async function waitLink(name: string, link: 'up' | 'down'): Promise<number> {
    const t0 = Date.now();
    while ((await port(name)).link !== link) {
      if (Date.now() - t0 > kLinkTimeoutMs) assert.fail(`port ${name} did not go ${link} within ${kLinkTimeoutMs} ms`);
      await sleep(100);
    }
    return Date.now() - t0;
  }

  async function events(name: string): Promise<LinkEvent[]> {
    const all: LinkEvent[] = await lab.daemon.json('events');
    return all.filter((e) => e.port === name);
  }

  async function fdbPort(mac: string): Promise<string | undefined> {
    const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    return fdb.find((e) => e.mac === mac)?.port;
  }

  /** One boot: watch the TAP host, start QEMU, see its DISCOVER there; returns the running VM. */
  async function bootAndSeeDiscover(netdev: string, mac: string): Promise<ChildProcess> {
    const watch = await lab.capture(lab.hosts[0], `udp port 67 and ether src ${mac}`, {
      count: 1,
      timeoutMs: kDhcpTimeoutMs,
    });
    let vm: ChildProcess | undefined;
    try {
      vm = startVm(netdev, mac);
      assertDiscover(await watch.done, mac);
      return vm;
    } catch (err) {
      if (vm) await killVm(vm, 'SIGKILL');
      throw err;
    } finally {
      await watch.stop();
    }
  }

  test('(a) QEMU stream client (server=off, unix) on a listen port: DISCOVER reaches the TAP host; link follows QEMU', async () => {
    const mac = vmMac(1);
    assert.equal((await port('q1')).link, 'down', 'no client yet: link down');
    const vm = await bootAndSeeDiscover(`stream,server=off,addr.type=unix,addr.path=${listenPath}`, mac);
    try {
      assert.equal((await port('q1')).link, 'up');
      assert.equal(await fdbPort(mac), 'q1', 'the VM MAC is learned on its port');
      const c = await lab.counters();
      assert.ok(
        c.ports.q1.rxFrames >= 1 && c.ports.p1.txFlood >= 1,
        JSON.stringify({ q1: c.ports.q1, p1: c.ports.p1 }),
      );
    } finally {
      await killVm(vm, 'SIGTERM');
    }
    await waitLink('q1', 'down');
    assert.equal(await fdbPort(mac), undefined, 'MACs learned on the port are flushed on link down');
    const ev = await events('q1');
    assert.deepEqual(
      ev.map((e) => `${e.link}/${e.reason}`),
      ['up/nic-connected', 'down/nic-disconnected'],
    );
    assert.ok(ev[1].flushedMacs >= 1, 'the down event reports the flushed VM MAC');
  });

  test('(b) QEMU dgram (inet, loopback) on a dgram port: DISCOVER reaches the TAP host; the port stays up', async () => {
    const mac = vmMac(2);
    assert.equal((await port('q2')).link, 'up', 'a bound dgram port is up with no peer');
    const netdev =
      `dgram,local.type=inet,local.host=127.0.0.1,local.port=${kQemuUdp},` +
      `remote.type=inet,remote.host=127.0.0.1,remote.port=${kSwitchUdp}`;
    const vm = await bootAndSeeDiscover(netdev, mac);
    try {
      assert.equal(await fdbPort(mac), 'q2');
    } finally {
      await killVm(vm, 'SIGTERM');
    }
    // connectionless: QEMU going away is not visible to the switch, and a new QEMU just resumes
    assert.equal((await port('q2')).link, 'up');
    assert.deepEqual(
      (await events('q2')).map((e) => `${e.link}/${e.reason}`),
      ['up/nic-connected'],
      'one up event when the socket was bound at start, none from QEMU coming or going',
    );
  });

  test('(c) QEMU stream server (server=on, unix), switch connects: DISCOVER, then QEMU killed and restarted, DISCOVER again', async () => {
    const netdev = `stream,server=on,addr.type=unix,addr.path=${qemuServerPath}`;
    assert.equal((await port('q3')).link, 'down', 'nothing to dial yet');
    // The switch dials once a second; iPXE retries DISCOVER, so a frame sent before the dial succeeds is
    // only a delay.
    const mac1 = vmMac(3);
    const vm1 = await bootAndSeeDiscover(netdev, mac1);
    try {
      assert.equal((await port('q3')).link, 'up');
      assert.equal(await fdbPort(mac1), 'q3');
    } finally {
      await killVm(vm1, 'SIGKILL'); // a crash: QEMU leaves its socket file behind
    }
    await waitLink('q3', 'down');
    const mac2 = vmMac(4);
    const vm2 = await bootAndSeeDiscover(netdev, mac2); // no CLI call to the switch in between
    try {
      assert.equal((await port('q3')).link, 'up');
      assert.equal(await fdbPort(mac2), 'q3');
      assert.equal(await fdbPort(mac1), undefined, 'the dead VM MAC was flushed');
      const detail = (await port('q3')).detail;
      assert.equal(detail.connects, 2, JSON.stringify(detail));
    } finally {
      await killVm(vm2, 'SIGTERM');
    }
    await waitLink('q3', 'down');
    assert.deepEqual(
      (await events('q3')).map((e) => `${e.link}/${e.reason}`),
      ['up/nic-connected', 'down/nic-disconnected', 'up/nic-connected', 'down/nic-disconnected'],
    );
  });
});
