/**
 * End to end with a real Linux guest on the QEMU lines vswitch prints: a Debian cloud kernel (which has
 * virtio-net and no e1000) boots under QEMU (TCG: KVM guests hang on this host) with two NICs, each on its
 * own `--listen` port of the switch, joined by exactly the arguments `vswitch port add` printed (the
 * default `-device virtio-net-pci` line, a unique id and MAC per port) plus only the guest's own
 * arguments. The two ports are access ports of VLANs 10 and 20, each with a TAP host of its own subnet
 * running dnsmasq (so each NIC can only get its lease, and reach its router, through its own port). The guest's /init (busybox, in an initramfs this test writes) loads the
 * virtio modules, runs udhcpc on every NIC and pings the router each lease names through that NIC, and
 * prints markers on its serial console: each NIC must get a lease in its own VLAN's subnet and reach its
 * router. QEMU, dnsmasq and the namespaces are removed by PID and name in `after`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBusybox, newestCloudKernel, writeGuestInitramfs, type GuestKernel } from '../testing/guest-initramfs.js';
import { netnsSkipReason } from '../testing/netns.js';
import { until } from '../testing/until.js';
import { SwitchLab } from './lab.js';

const kQemu = 'qemu-system-x86_64';
/** Boot, two leases and two pings under TCG take ~20 s on an idle 2-core host; a loaded one is slower. */
const kGuestTimeoutMs = 240_000;
/** One VLAN and one subnet per guest NIC: the ports' access VID (the VM's and its TAP host's), the TAP
 *  host's address (dnsmasq's, which it gives as the router). */
const kNets = [
  { port: 'vm1', vid: 10, router: '10.10.0.1', prefix: '10.10.0.' },
  { port: 'vm2', vid: 20, router: '10.20.0.1', prefix: '10.20.0.' },
];

/** The guest's udhcpc script: configure the lease, note the router, print a marker. */
const kUdhcpcScript = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    echo "$router" > "/tmp/router.$interface"
    echo "VSW-LEASE $(cat /sys/class/net/$interface/address) $ip router $router"
    ;;
esac
`;

/** The guest's /init: modules, then per NIC a lease and a ping to its router through that NIC; then it
 *  idles (the ports stay up so the test can read the FDB) until the test kills QEMU. */
const kInit = `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod "$m" || echo "VSW-FAIL insmod $m"; done
ip link set lo up
for d in /sys/class/net/*; do
  i=\${d##*/}
  [ "$i" = lo ] && continue
  mac=$(cat "$d/address")
  echo "VSW-NIC $i $mac"
  ip link set "$i" up
  if udhcpc -i "$i" -f -q -n -t 20 -T 3 -s /udhcpc.sh; then
    r=$(cat "/tmp/router.$i")
    if ping -c 3 -W 5 -I "$i" "$r"; then echo "VSW-PING $mac $r ok"; else echo "VSW-PING $mac $r failed"; fi
  else
    echo "VSW-FAIL no lease on $i $mac"
  fi
done
echo VSW-DONE
while :; do sleep 60; done
`;

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => {
    try {
      accessSync(`${dir}/${bin}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function skipReason(): string | false {
  const ns = netnsSkipReason();
  if (ns) return ns;
  for (const bin of [kQemu, 'dnsmasq', 'ldd']) if (!onPath(bin)) return `needs ${bin}`;
  if (!findBusybox()) return 'needs busybox (apt-get install busybox)';
  if (!newestCloudKernel()) return 'needs a Debian cloud kernel in /boot (apt-get install linux-image-cloud-amd64)';
  return false;
}

const skip = skipReason();

describe('a Debian cloud kernel guest with two NICs on the printed QEMU lines', { skip }, () => {
  const lab = new SwitchLab();
  const dir = skip ? '' : mkdtempSync(join(tmpdir(), 'vswitch-guest-'));
  let kernel: GuestKernel;
  let dnsLog = '';

  before(async () => {
    kernel = newestCloudKernel()!;
    writeGuestInitramfs(join(dir, 'initrd.cpio'), kernel, kInit, { '/udhcpc.sh': kUdhcpcScript });
    await lab.start({ hosts: kNets.length, vlans: kNets.map((n) => ({ mode: 'access', vid: n.vid })) });
    for (const [i, n] of kNets.entries()) {
      const h = lab.hosts[i]!;
      await lab.lab.ip(h.ns, 'addr', 'add', `${n.router}/24`, 'dev', h.tap);
      const dns = lab.lab.spawn(h.ns, [
        'dnsmasq',
        '--no-daemon',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--port=0',
        '--user=root',
        `--interface=${h.tap}`,
        '--bind-interfaces',
        '--log-facility=-',
        '--log-dhcp',
        `--dhcp-leasefile=${join(dir, `${n.port}.leases`)}`,
        `--dhcp-range=${n.prefix}100,${n.prefix}150,1h`,
      ]);
      dns.stdout!.on('data', (d: Buffer) => (dnsLog += d.toString()));
      dns.stderr!.on('data', (d: Buffer) => (dnsLog += d.toString()));
    }
    await until(() => dnsLog.split('DHCP, IP range').length > kNets.length, 'both dnsmasq to start', 10_000);
  });
  after(async () => {
    try {
      await lab.stop(); // QEMU and dnsmasq by PID (lab.lab.spawn), then the namespaces
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('both NICs get a lease in their own VLAN and reach its router', {
    timeout: kGuestTimeoutMs + 60_000,
  }, async () => {
    // the printed lines: `port add` as a user types it, and `port netdev` (what the daemon prints) agree
    const lines: Array<{ args: string[]; mac: string; id: string }> = [];
    for (const n of kNets) {
      const add = await lab.daemon.cli(
        'port',
        'add',
        's1',
        n.port,
        '--listen',
        join(dir, `${n.port}.sock`),
        '--vlan',
        `access ${n.vid}`,
      );
      assert.equal(add.code, 0, add.stderr);
      const printed = /^\s*QEMU: (.*)$/m.exec(add.stdout);
      assert.ok(printed, `port add prints a QEMU line: ${add.stdout}`);
      const line = printed[1]!.trim();
      const netdev = await lab.daemon.cli('port', 'netdev', 's1', n.port);
      assert.equal(netdev.stdout.trim(), `${kQemu} ... ${line}`);
      const m = /^-netdev stream,id=([^,]+),.* -device virtio-net-pci,netdev=\1,mac=([0-9a-f:]{17})$/.exec(line);
      assert.ok(m, `the default line is a stream netdev with a virtio-net-pci device: ${line}`);
      lines.push({ args: line.split(/\s+/), id: m[1]!, mac: m[2]! });
    }
    assert.notEqual(lines[0]!.id, lines[1]!.id, 'one id per port');
    assert.notEqual(lines[0]!.mac, lines[1]!.mac, 'one MAC per port');

    const argv = [
      kQemu,
      '-accel',
      'tcg',
      '-m',
      '256',
      '-nographic',
      '-nodefaults',
      '-serial',
      'stdio',
      '-kernel',
      kernel.vmlinuz,
      '-initrd',
      join(dir, 'initrd.cpio'),
      '-append',
      'console=ttyS0 panic=-1 quiet',
      ...lines.flatMap((l) => l.args),
    ];
    const vm: ChildProcess = lab.lab.spawn(lab.swNs, argv);
    let serial = '';
    vm.stdout!.on('data', (d: Buffer) => (serial += d.toString()));
    vm.stderr!.on('data', (d: Buffer) => (serial += d.toString()));
    try {
      const t0 = Date.now();
      try {
        await until(
          () => serial.includes('VSW-DONE') || vm.exitCode !== null || vm.signalCode !== null,
          'the guest to finish (VSW-DONE on its serial console)',
          kGuestTimeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\nguest console:\n${serial}\ndnsmasq:\n${dnsLog}`);
      }
      const ctx = `\nguest console (${Date.now() - t0} ms):\n${serial}\ndnsmasq:\n${dnsLog}`;
      assert.ok(serial.includes('VSW-DONE'), `the guest ran its /init to the end${ctx}`);
      assert.doesNotMatch(serial, /VSW-FAIL/, ctx);
      const nics = [...serial.matchAll(/VSW-NIC (\S+) (\S+)\r?$/gm)].map((x) => x[2]);
      assert.deepEqual(
        nics.sort(),
        lines.map((l) => l.mac).sort(),
        `the guest sees both NICs with the printed MACs${ctx}`,
      );
      for (const [i, n] of kNets.entries()) {
        const mac = lines[i]!.mac;
        const lease = new RegExp(`VSW-LEASE ${mac} (\\S+) router (\\S+)\\r?$`, 'm').exec(serial);
        assert.ok(lease, `NIC ${mac} (port ${n.port}) got a lease${ctx}`);
        assert.ok(lease[1]!.startsWith(n.prefix), `NIC ${mac} leased ${lease[1]} in VLAN ${n.vid}'s subnet${ctx}`);
        assert.equal(lease[2], n.router, ctx);
        assert.match(
          serial,
          new RegExp(`VSW-PING ${mac} ${n.router} ok\\r?$`, 'm'),
          `NIC ${mac} reached ${n.router}${ctx}`,
        );
        assert.match(dnsLog, new RegExp(`DHCPACK\\(\\S+\\) ${lease[1]!.replaceAll('.', '\\.')} ${mac}`), ctx);
      }
      // each MAC was learned on its own port, in its own VLAN
      const fdb: Array<{ mac: string; vid: number; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
      for (const [i, n] of kNets.entries()) {
        const e = fdb.find((x) => x.mac === lines[i]!.mac);
        assert.deepEqual(e && { port: e.port, vid: e.vid }, { port: n.port, vid: n.vid }, JSON.stringify(fdb));
      }
    } finally {
      if (vm.exitCode === null && vm.signalCode === null) process.kill(vm.pid!, 'SIGKILL'); // by PID
    }
  });
});
