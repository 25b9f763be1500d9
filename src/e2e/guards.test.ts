/**
 * End to end port guards (docs/policy.md) with real servers and clients in namespace hosts:
 * - DhcpGuard: a real dnsmasq DHCP server on h1 never gives a lease to a busybox udhcpc client on h2 while
 *   p1 has the guard on (its OFFERs are dropped and counted `dhcp-guard`); with the guard off (a trusted
 *   server) the same server does give one, and turning it back on stops it again.
 * - RouterGuard: router advertisements dnsmasq sends from h1 (solicited by rdisc6 on h2, and unsolicited)
 *   never reach h2 while p1 has the guard (counted `router-guard`), and do reach it when it is off.
 * - MacAddressSpoofing: with p3's MAC set to h3's TAP MAC and spoofing off (the default), h3 talks; once
 *   h3 takes another MAC its frames are dropped (`mac-spoofing`) and pings fail; allowing spoofing brings
 *   them back.
 * Hosts: h1 the server (p1: dhcpGuard and routerGuard from the config), h2 the client, h3 the MAC test.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason, run } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

async function hasTool(name: string): Promise<boolean> {
  try {
    return (await run(['sh', '-c', `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

const skip =
  netnsSkipReason() ||
  (!(await hasTool('dnsmasq')) && 'needs dnsmasq (dnsmasq-base)') ||
  (!(await hasTool('busybox')) && 'needs busybox (udhcpc)') ||
  (!(await hasTool('rdisc6')) && 'needs rdisc6 (ndisc6)');

/** Poll `cond` every 50 ms until it holds; throws `what` after `timeoutMs`. */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A dnsmasq in the foreground on host h's TAP, stopped by PID. `log` collects its output (--log-dhcp). */
class Dnsmasq {
  log = '';
  private proc!: ChildProcess;
  private exited!: Promise<void>;

  constructor(
    private readonly lab: SwitchLab,
    private readonly h: LabHost,
  ) {}

  async start(name: string, args: string[], ready: RegExp): Promise<void> {
    this.proc = this.lab.lab.spawn(this.h.ns, [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--user=root',
      `--interface=${this.h.tap}`,
      '--bind-interfaces',
      '--log-facility=-',
      `--dhcp-leasefile=${this.lab.daemon.path(`${name}.leases`)}`,
      `--pid-file=${this.lab.daemon.path(`${name}.pid`)}`,
      ...args,
    ]);
    this.proc.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    await waitFor(() => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`dnsmasq exited: ${this.log}`);
      return ready.test(this.log);
    }, `dnsmasq to start (${ready}); log:\n${this.log}`);
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      await this.exited;
    }
  }
}

describe('port guards with real DHCP and RA servers; MAC spoofing', { skip }, () => {
  const lab = new SwitchLab();
  before(async () => {
    await lab.start({ hosts: 3, policy: [{ dhcpGuard: true, routerGuard: true }, undefined, undefined] });
    // link-local addresses must have finished DAD: dnsmasq sends RAs from h1's, rdisc6 solicits from h2's
    for (const h of lab.hosts) {
      await waitFor(async () => {
        const out = await lab.lab.ip(h.ns, '-6', 'addr', 'show', 'dev', h.tap, 'scope', 'link');
        return out.includes('fe80') && !out.includes('tentative');
      }, `${h.tap} link-local address`);
    }
    // h2 only observes RAs (rdisc6 reads them itself): its kernel must not configure itself from them
    await lab.lab.exec(lab.hosts[1].ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${lab.hosts[1].tap}.accept_ra=0`], {
      check: true,
    });
  });
  after(() => lab.stop());

  const drops = async (port: string, reason: string): Promise<number> =>
    (await lab.counters()).ports[port].drops[reason] ?? 0;
  const policy = async (port: string, ...flags: string[]) => {
    const r = await lab.daemon.cli('port', 'policy', 's1', port, ...flags);
    assert.equal(r.code, 0, `port policy ${port} ${flags.join(' ')}: ${r.stderr}`);
  };

  test('DhcpGuard: a guarded DHCP server gives no lease; trusted (guard off) it does', async () => {
    const [h1, h2] = lab.hosts;
    const server = new Dnsmasq(lab, h1);
    await server.start(
      'dhcp',
      ['--no-ping', '--dhcp-authoritative', '--log-dhcp', '--dhcp-range=10.77.0.50,10.77.0.59,255.255.255.0,1h'],
      /DHCP, IP range 10\.77\.0\.50/,
    );
    /** busybox udhcpc on h2, configuring nothing (-s /bin/true): the leased address, or null. */
    const lease = async (tries: number): Promise<{ addr: string | null; out: string }> => {
      const r = await lab.lab.exec(
        h2.ns,
        ['busybox', 'udhcpc', '-f', '-i', h2.tap, '-n', '-q', '-t', String(tries), '-T', '1', '-s', '/bin/true'],
        { timeoutMs: 30_000 },
      );
      const out = r.stdout + r.stderr;
      const m = out.match(/lease of (\d+\.\d+\.\d+\.\d+) obtained/);
      return { addr: r.code === 0 && m ? m[1] : null, out };
    };
    try {
      // guarded (from the config): the client sends its DISCOVERs, the server answers, nothing gets back
      const dump = await lab.capture(h2, 'udp and src port 67');
      const d0 = await drops('p1', 'dhcp-guard');
      const offers0 = (server.log.match(/DHCPOFFER/g) ?? []).length;
      const guarded = await lease(3);
      const heard = await dump.stop();
      const offers = (server.log.match(/DHCPOFFER/g) ?? []).length - offers0;
      const dropped = (await drops('p1', 'dhcp-guard')) - d0;
      assert.equal(guarded.addr, null, `no lease through the guard; udhcpc said:\n${guarded.out}`);
      assert.ok(offers >= 1, `the server did answer (it logged ${offers} OFFERs):\n${server.log}`);
      assert.ok(dropped >= offers, `dhcp-guard drops on p1: ${dropped}, server OFFERs: ${offers}`);
      assert.equal(heard.trim(), '', 'no DHCP server message reached the client');

      // trusted: the same server, guard off
      await policy('p1', '--dhcp-guard', 'off');
      const dOff = await drops('p1', 'dhcp-guard'); // after the change: a late OFFER to the last DISCOVER may have been dropped
      const trusted = await lease(5);
      assert.match(
        trusted.addr ?? '',
        /^10\.77\.0\.5\d$/,
        `a lease from the trusted server; udhcpc said:\n${trusted.out}\nserver:\n${server.log}`,
      );
      assert.equal(await drops('p1', 'dhcp-guard'), dOff, 'nothing dropped while trusted');

      // guarded again, from the CLI
      await policy('p1', '--dhcp-guard', 'on');
      const d1 = await drops('p1', 'dhcp-guard');
      const again = await lease(2);
      assert.equal(again.addr, null, `no lease once the guard is back on; udhcpc said:\n${again.out}`);
      assert.ok((await drops('p1', 'dhcp-guard')) > d1, 'the renewed OFFERs were dropped');
    } finally {
      await server.stop();
    }
  });

  test('RouterGuard: router advertisements from a guarded port never reach another host; unguarded they do', async () => {
    const [h1, h2] = lab.hosts;
    const server = new Dnsmasq(lab, h1);
    await server.start('ra', ['--enable-ra', '--dhcp-range=fd77::,ra-only,64,1h'], /router advertisement on fd77::/);
    /** rdisc6 on h2: solicit and wait 1 s for an answer, 3 tries. */
    const rdisc = async (): Promise<{ ok: boolean; out: string }> => {
      const r = await lab.lab.exec(h2.ns, ['rdisc6', '-1', '-w', '1000', '-r', '3', h2.tap], { timeoutMs: 20_000 });
      return { ok: r.code === 0 && /from fe80:/i.test(r.stdout), out: r.stdout + r.stderr };
    };
    try {
      const dump = await lab.capture(h2, 'icmp6 and ip6[40] == 134');
      const d0 = await drops('p1', 'router-guard');
      const guarded = await rdisc();
      const heard = await dump.stop();
      assert.equal(guarded.ok, false, `no router advertisement through the guard; rdisc6 said:\n${guarded.out}`);
      assert.equal(heard.trim(), '', 'h2 saw no RA at all (solicited or not)');
      const dropped = (await drops('p1', 'router-guard')) - d0;
      assert.ok(dropped >= 1, `router-guard drops on p1: ${dropped}; dnsmasq:\n${server.log}`);

      await policy('p1', '--router-guard', 'off');
      const dOff = await drops('p1', 'router-guard'); // after the change: RAs are answered up to 0.5 s late (RFC 4861)
      const dump2 = await lab.capture(h2, 'icmp6 and ip6[40] == 134', { count: 1, timeoutMs: 10_000 });
      const open = await rdisc();
      assert.equal(open.ok, true, `the router answers with the guard off; rdisc6 said:\n${open.out}`);
      assert.match(open.out, /fd77::\/64/, 'and advertises its prefix');
      assert.match(await dump2.done, /ICMP6, router advertisement/);
      assert.equal(await drops('p1', 'router-guard'), dOff, 'nothing dropped while unguarded');

      await policy('p1', '--router-guard', 'on');
      const d1 = await drops('p1', 'router-guard');
      const again = await rdisc();
      assert.equal(again.ok, false, `guarded again: no answer; rdisc6 said:\n${again.out}`);
      assert.ok((await drops('p1', 'router-guard')) > d1);
    } finally {
      await server.stop();
    }
  });

  test('MacAddressSpoofing: a port with a MAC drops frames from any other source MAC until spoofing is allowed', async () => {
    const [, h2, h3] = lab.hosts;
    const other = '02:00:00:00:0c:33';
    const flush = async () => {
      await lab.lab.ip(h3.ns, 'neigh', 'flush', 'dev', h3.tap);
      await lab.lab.ip(h2.ns, 'neigh', 'flush', 'dev', h2.tap);
    };
    await policy('p3', '--mac', h3.mac);
    try {
      const shown: { mac?: string; policy: { macAddressSpoofing?: boolean } } = await lab.daemon.json(
        'port',
        'policy',
        's1',
        'p3',
      );
      assert.equal(shown.mac, h3.mac);
      assert.notEqual(shown.policy.macAddressSpoofing, true, 'spoofing is off by default');
      const d0 = await drops('p3', 'mac-spoofing');
      assert.equal(await lab.ping(h3, h2.ip4), 0, 'the port MAC itself passes (IPv4)');
      assert.equal(await lab.ping(h3, h2.ip6), 0, 'the port MAC itself passes (IPv6)');
      assert.equal(await drops('p3', 'mac-spoofing'), d0, 'nothing dropped with the right MAC');

      await lab.lab.ip(h3.ns, 'link', 'set', 'dev', h3.tap, 'address', other);
      await flush();
      assert.equal(await lab.ping(h3, h2.ip4, { count: 2, wait: 1 }), 100, 'a spoofed source MAC is dropped');
      const dropped = (await drops('p3', 'mac-spoofing')) - d0;
      assert.ok(dropped >= 1, `mac-spoofing drops on p3: ${dropped}`);
      const fdb: Array<{ mac: string }> = await lab.daemon.json('fdb', 'show', 's1');
      assert.equal(
        fdb.some((e) => e.mac === other),
        false,
        'a dropped source is never learned',
      );

      await policy('p3', '--mac-spoofing', 'on');
      await flush();
      const d1 = await drops('p3', 'mac-spoofing'); // (the kernel may have sent one more ARP probe meanwhile)
      assert.equal(await lab.ping(h3, h2.ip4), 0, 'spoofing allowed: the other MAC passes');
      assert.equal(await lab.ping(h3, h2.ip6), 0);
      assert.equal(await drops('p3', 'mac-spoofing'), d1, 'no more drops once allowed');
    } finally {
      await lab.lab.ip(h3.ns, 'link', 'set', 'dev', h3.tap, 'address', h3.mac);
      await lab.daemon.cli('port', 'policy', 's1', 'p3', '--mac', 'none', '--mac-spoofing', 'off');
      await flush();
    }
  });
});
