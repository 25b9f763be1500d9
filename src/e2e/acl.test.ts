/**
 * End to end port ACLs (docs/policy.md) with real traffic between namespace hosts h1..h4:
 *   - a Meter rule counts exactly what it matches: N echo requests of a known size from h1 to h2 are N
 *     frames and N x frame-size bytes on the outbound rule (ARP, IPv6, other destinations and the inbound
 *     replies are not);
 *   - a port ACL Deny on p2 for h1's address stops ping and TCP both ways between h1 and h2 (other hosts
 *     unaffected), counted as `acl-deny` on p2 in `vswitch counters`; removing it restores TCP;
 *   - extended ACLs on p2 (allow icmp weight 200, deny everything weight 100): ping passes, TCP does not;
 *     removing the deny restores TCP;
 *   - a stateful extended ACL on p2 (allow outbound tcp stateful, deny all inbound): h2 opens TCP
 *     connections to h1 over IPv4 and IPv6 and gets h1's data back, h1 cannot connect to h2; flows are
 *     counted (`ACL flows`, counters .flows.created);
 *   - policy edits apply to the running switch without disturbing other traffic: a ping h3 -> h4 running
 *     throughout ACL edits on p1 and p2 loses nothing.
 * TCP is `nc -z` (netcat-openbsd) against `nc -l` listeners on h1 and h2 (one per family): a connect that an
 * ACL stops times out after 2 s, one that passes completes at once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** TCP listener ports on h1 and h2: one per family (each listener binds the host's own address). */
const kPort4 = 5001;
const kPort6 = 5002;
/** Ethernet + IPv4 + ICMP headers around a ping payload of -s bytes. */
const kIcmp4Overhead = 14 + 20 + 8;

interface RuleStats {
  id: number;
  frames: number;
  bytes: number;
}

describe('port ACLs, extended and stateful ACLs with real traffic', { skip }, () => {
  const lab = new SwitchLab();

  /** `nc -z` from host a to addr:port: true when the TCP handshake completed within 2 s. */
  async function tcp(a: LabHost, addr: string, port: number): Promise<boolean> {
    const r = await lab.lab.exec(a.ns, ['nc', '-n', '-z', '-w', '2', addr, String(port)], { timeoutMs: 10_000 });
    return r.code === 0;
  }

  /** Start `nc -dlk ADDR PORT` in h's namespace and wait until a local connect succeeds. */
  async function listen(h: LabHost, addr: string, port: number): Promise<void> {
    lab.lab.spawn(h.ns, ['nc', '-n', '-d', '-l', '-k', addr, String(port)]);
    const t0 = Date.now();
    while (!(await tcp(h, addr, port))) {
      if (Date.now() - t0 > 5000) throw new Error(`nc -l ${addr} ${port} in ${h.ns} is not listening after 5 s`);
      await sleep(50);
    }
  }

  async function cli(...args: string[]): Promise<string> {
    const r = await lab.daemon.cli(...args);
    assert.equal(r.code, 0, `vswitch ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async function add(kind: 'acl' | 'xacl', port: string, ...args: string[]): Promise<number> {
    const r: { id: number } = await lab.daemon.json(kind, 'add', 's1', port, ...args);
    assert.equal(typeof r.id, 'number', JSON.stringify(r));
    return r.id;
  }

  async function stats(kind: 'acl' | 'xacl', port: string, id: number): Promise<RuleStats> {
    const r: { rules: Array<{ id: number }>; stats: RuleStats[] } = await lab.daemon.json(kind, 'list', 's1', port);
    assert.ok(
      r.rules.some((x) => x.id === id),
      `${kind} ${id} on ${port}: ${JSON.stringify(r.rules)}`,
    );
    return r.stats.find((s) => s.id === id) ?? { id, frames: 0, bytes: 0 };
  }

  const aclDeny = async (port: string): Promise<number> => (await lab.counters()).ports[port].drops['acl-deny'] ?? 0;

  /** Both directions, both families at once: every pair connects (the baseline before a rule goes in). */
  async function allConnect(a: LabHost, b: LabHost): Promise<void> {
    const got = await Promise.all([
      tcp(a, b.ip4, kPort4),
      tcp(b, a.ip4, kPort4),
      tcp(a, b.ip6, kPort6),
      tcp(b, a.ip6, kPort6),
    ]);
    assert.deepEqual(
      got,
      [true, true, true, true],
      `${a.port}<->${b.port} TCP over IPv4 and IPv6 (a->b4, b->a4, a->b6, b->a6)`,
    );
  }

  before(async () => {
    await lab.start({ hosts: 4 });
    const [h1, h2] = lab.hosts;
    for (const h of [h1, h2]) {
      await listen(h, h.ip4, kPort4);
      await listen(h, h.ip6, kPort6);
    }
  });
  after(() => lab.stop());

  test('a Meter rule counts exactly the echo requests h1 sends to h2: N frames, N x frame size bytes', async () => {
    const [h1, h2, h3] = lab.hosts;
    const n = 10;
    const size = 100;
    // resolve neighbours first (ARP is not IP, so it would not count anyway; this keeps the window quiet)
    assert.equal(await lab.ping(h1, h2.ip4, { count: 1 }), 0);
    assert.equal(await lab.ping(h1, h3.ip4, { count: 1 }), 0);
    const id = await add('acl', 'p1', 'meter', 'outbound', '--remote-ip', h2.ip4);
    try {
      // traffic the rule must not count: another destination, and IPv6 to h2 (not an IPv4 prefix's family)
      assert.equal(await lab.ping(h1, h3.ip4, { count: 3 }), 0);
      assert.equal(await lab.ping(h1, h2.ip6, { count: 3 }), 0);
      assert.deepEqual(await stats('acl', 'p1', id), { id, frames: 0, bytes: 0 }, 'nothing matched yet');
      // exactly n echo requests of (14 + 20 + 8 + size) bytes; a meter does not block them, and h2's replies
      // (inbound to p1) are not counted by an outbound rule
      assert.equal(await lab.ping(h1, h2.ip4, { count: n, size }), 0, 'a meter rule never drops');
      let s = await stats('acl', 'p1', id);
      const t0 = Date.now();
      while (s.frames < n && Date.now() - t0 < 3000) {
        await sleep(50);
        s = await stats('acl', 'p1', id);
      }
      assert.deepEqual(
        s,
        { id, frames: n, bytes: n * (kIcmp4Overhead + size) },
        `${n} echo requests of ${kIcmp4Overhead + size} bytes`,
      );
      const human = await cli('acl', 'list', 's1', 'p1');
      assert.match(
        human,
        new RegExp(
          `^${id}\\s+meter\\s+outbound\\s+-\\s+${h2.ip4.replaceAll('.', '\\.')}\\s+${n}\\s+${n * (kIcmp4Overhead + size)}$`,
          'm',
        ),
        human,
      );
    } finally {
      await cli('acl', 'rm', 's1', 'p1', String(id));
    }
  });

  test('a port ACL Deny on p2 for h1 stops ping and TCP both ways; counted acl-deny; removing it restores TCP', async () => {
    const [h1, h2, h3] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    await allConnect(h1, h2);
    const drops0 = await aclDeny('p2');
    const id = await add('acl', 'p2', 'deny', 'both', '--remote-ip', h1.ip4);
    try {
      const [ping12, ping21, tcp12, tcp21] = await Promise.all([
        lab.ping(h1, h2.ip4, { count: 2, wait: 1 }),
        lab.ping(h2, h1.ip4, { count: 2, wait: 1 }),
        tcp(h1, h2.ip4, kPort4),
        tcp(h2, h1.ip4, kPort4),
      ]);
      assert.equal(ping12, 100, 'h1 -> h2 ping stopped (inbound to p2)');
      assert.equal(ping21, 100, 'h2 -> h1 ping stopped (outbound from p2)');
      assert.equal(tcp12, false, 'h1 -> h2 TCP stopped');
      assert.equal(tcp21, false, 'h2 -> h1 TCP stopped');
      // only h1's address is denied: h2 still talks to h3, and IPv6 (not matched by an IPv4 prefix) passes
      assert.equal(await lab.ping(h2, h3.ip4, { count: 2 }), 0, 'h2 <-> h3 unaffected');
      assert.equal(await tcp(h1, h2.ip6, kPort6), true, 'IPv6 is not matched by an IPv4 rule');
      const drops = (await aclDeny('p2')) - drops0;
      assert.ok(drops >= 4 + 2, `acl-deny on p2 counted ${drops} frames (4 echo requests + TCP SYNs at least)`);
      const human = await cli('counters', 's1');
      assert.match(human, /^p2\s.*acl-deny=\d+/m, human);
      const s = await stats('acl', 'p2', id);
      assert.ok(s.frames >= 6 && s.bytes > 0, `the deny rule's hits: ${JSON.stringify(s)}`);
    } finally {
      await cli('acl', 'rm', 's1', 'p2', String(id));
    }
    const [tcp12, tcp21] = await Promise.all([tcp(h1, h2.ip4, kPort4), tcp(h2, h1.ip4, kPort4)]);
    assert.deepEqual([tcp12, tcp21], [true, true], 'TCP restored both ways once the rule is removed');
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0, 'ping restored');
  });

  test('extended ACLs on p2 (allow icmp 200, deny all 100): ping passes, TCP does not; removing the deny restores TCP', async () => {
    const [h1, h2] = lab.hosts;
    await allConnect(h1, h2);
    const drops0 = await aclDeny('p2');
    const allow = await add('xacl', 'p2', 'allow', 'both', '200', '--protocol', 'icmp');
    let deny = await add('xacl', 'p2', 'deny', 'both', '100');
    try {
      assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0, 'h1 -> h2 ping allowed by weight 200');
      assert.equal(await lab.ping(h2, h1.ip4, { count: 3 }), 0, 'h2 -> h1 ping allowed by weight 200');
      const [tcp12, tcp21] = await Promise.all([tcp(h1, h2.ip4, kPort4), tcp(h2, h1.ip4, kPort4)]);
      assert.equal(tcp12, false, 'h1 -> h2 TCP denied by weight 100');
      assert.equal(tcp21, false, 'h2 -> h1 TCP denied by weight 100');
      assert.ok((await aclDeny('p2')) - drops0 >= 2, 'TCP SYNs counted acl-deny on p2');
      const a = await stats('xacl', 'p2', allow);
      const d = await stats('xacl', 'p2', deny);
      // 6 echo requests and 6 replies cross p2, each checked once by p2's rules (inbound or outbound)
      assert.ok(a.frames >= 12, `allow icmp hits: ${JSON.stringify(a)}`);
      assert.ok(d.frames >= 2, `deny hits: ${JSON.stringify(d)}`);
      await cli('xacl', 'rm', 's1', 'p2', String(deny));
      deny = 0;
      const [back12, back21] = await Promise.all([tcp(h1, h2.ip4, kPort4), tcp(h2, h1.ip4, kPort4)]);
      assert.deepEqual([back12, back21], [true, true], 'TCP restored both ways once the deny is removed');
      assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    } finally {
      if (deny) await cli('xacl', 'rm', 's1', 'p2', String(deny));
      await cli('xacl', 'rm', 's1', 'p2', String(allow));
    }
  });

  test('stateful: h2 opens TCP to h1 (replies pass, IPv4 and IPv6), h1 cannot connect to h2; flows counted', async () => {
    const [h1, h2] = lab.hosts;
    // Neighbour discovery is ICMPv6, which "deny inbound" on p2 stops too: pin both IPv6 neighbours so the
    // IPv6 checks test TCP and nothing else. (ARP is not IP: extended ACLs pass it, so IPv4 resolves itself.)
    await lab.lab.ip(h1.ns, '-6', 'neigh', 'replace', h2.ip6, 'lladdr', h2.mac, 'dev', h1.tap, 'nud', 'permanent');
    await lab.lab.ip(h2.ns, '-6', 'neigh', 'replace', h1.ip6, 'lladdr', h1.mac, 'dev', h2.tap, 'nud', 'permanent');
    const ids: number[] = [];
    let server: ChildProcess | undefined;
    try {
      await allConnect(h1, h2);
      const c0 = await lab.counters();
      const drops0 = c0.ports.p2.drops['acl-deny'] ?? 0;
      ids.push(await add('xacl', 'p2', 'allow', 'outbound', '200', '--protocol', 'tcp', '--stateful'));
      ids.push(await add('xacl', 'p2', 'deny', 'inbound', '100'));

      // h2 -> h1: the SYN goes out through the stateful allow, the SYN-ACK comes back through its flow
      assert.equal(await tcp(h2, h1.ip4, kPort4), true, 'h2 -> h1 TCP over IPv4');
      assert.equal(await tcp(h2, h1.ip6, kPort6), true, 'h2 -> h1 TCP over IPv6');
      // and data from h1 reaches h2 on such a connection
      server = lab.lab.spawn(h1.ns, ['nc', '-n', '-l', '-N', h1.ip4, '5003'], { stdio: ['pipe', 'pipe', 'pipe'] });
      server.stdin!.end('banner-from-h1\n');
      const t0 = Date.now();
      while (!(await lab.lab.exec(h1.ns, ['ss', '-Hltn', 'sport = :5003'])).stdout.includes('5003')) {
        if (Date.now() - t0 > 5000) assert.fail('nc -l on h1 port 5003 not listening after 5 s');
        await sleep(50);
      }
      const got = await lab.lab.exec(h2.ns, ['nc', '-n', '-d', '-w', '3', h1.ip4, '5003'], { timeoutMs: 10_000 });
      assert.equal(
        got.stdout,
        'banner-from-h1\n',
        `h2 got h1's data over the stateful flow (nc exit ${got.code}, ${got.stderr})`,
      );

      // h1 -> h2: unsolicited inbound to p2 meets the deny
      const [in4, in6] = await Promise.all([tcp(h1, h2.ip4, kPort4), tcp(h1, h2.ip6, kPort6)]);
      assert.equal(in4, false, 'h1 -> h2 TCP over IPv4 denied');
      assert.equal(in6, false, 'h1 -> h2 TCP over IPv6 denied');

      const c1 = await lab.counters();
      assert.ok(
        c1.flows.created - c0.flows.created >= 3,
        `flows created: ${c0.flows.created} -> ${c1.flows.created} (3 connections from h2)`,
      );
      assert.ok((c1.ports.p2.drops['acl-deny'] ?? 0) - drops0 >= 2, 'h1 SYNs counted acl-deny on p2');
      const human = await cli('counters', 's1');
      assert.match(
        human,
        /^ACL flows: \d+ active; created \d+, expired \d+, refused \d+, early-dropped \d+, over quota \d+$/m,
        human,
      );
      const allowHits = await stats('xacl', 'p2', ids[0]);
      assert.ok(allowHits.frames >= 6, `the stateful allow counts its flows' frames: ${JSON.stringify(allowHits)}`);
      // the flows themselves, as `vswitch flows` lists them: p2's endpoint (local) talking to h1's listeners
      const flows: Array<{
        port: string;
        protocol: string;
        local: string;
        remote: string;
        remotePort: number;
        rule: number;
        timeoutSeconds: number;
      }> = JSON.parse(await cli('flows', 's1', '--port', 'p2', '--json'));
      for (const [local, remote, port] of [
        [h2.ip4, h1.ip4, kPort4],
        [h2.ip6, h1.ip6, kPort6],
      ] as const)
        assert.ok(
          flows.some(
            (f) =>
              f.port === 'p2' &&
              f.protocol === 'tcp' &&
              f.local === local &&
              f.remote === remote &&
              f.remotePort === port &&
              f.rule === ids[0] &&
              f.timeoutSeconds === 60,
          ),
          `a flow ${local} -> ${remote}:${port} by rule ${ids[0]} in ${JSON.stringify(flows)}`,
        );
      assert.match(
        await cli('flows', 's1'),
        new RegExp(
          `^p2\\s+tcp\\s+${h2.ip4.replace(/\./g, '\\.')}:\\d+\\s+${h1.ip4.replace(/\./g, '\\.')}:${kPort4}\\s`,
          'm',
        ),
      );
    } finally {
      if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
      for (const id of ids) await cli('xacl', 'rm', 's1', 'p2', String(id));
      await lab.lab.ip(h1.ns, '-6', 'neigh', 'del', h2.ip6, 'dev', h1.tap);
      await lab.lab.ip(h2.ns, '-6', 'neigh', 'del', h1.ip6, 'dev', h2.tap);
    }
    await allConnect(h1, h2);
  });

  test('ACL edits on p1 and p2 apply to the running switch without losing any of a ping h3 -> h4', async () => {
    const [h1, h2, h3, h4] = lab.hosts;
    assert.equal(await lab.ping(h3, h4.ip4, { count: 1 }), 0);
    const count = 100;
    const ping = lab.lab.spawn(h3.ns, ['ping', '-4', '-n', '-c', String(count), '-i', '0.05', '-W', '2', h4.ip4]);
    let out = '';
    ping.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => ping.once('exit', () => r()));
    let running = true;
    void exited.then(() => (running = false));
    let rounds = 0;
    while (running || rounds < 2) {
      const a = await add('acl', 'p1', 'deny', 'both', '--remote-ip', h2.ip4);
      const m = await add('acl', 'p2', 'meter', 'both', '--remote-ip', 'any');
      const x = await add('xacl', 'p2', 'deny', 'inbound', '100', '--protocol', 'tcp');
      const s = await add('xacl', 'p1', 'allow', 'outbound', '200', '--protocol', 'tcp', '--stateful');
      await cli('acl', 'rm', 's1', 'p1', String(a));
      await cli('acl', 'rm', 's1', 'p2', String(m));
      await cli('xacl', 'rm', 's1', 'p2', String(x));
      await cli('xacl', 'rm', 's1', 'p1', String(s));
      rounds++;
    }
    await exited;
    assert.match(
      out,
      new RegExp(`${count} packets transmitted, ${count} received, 0% packet loss`),
      `after ${rounds} rounds of edits:\n${out}`,
    );
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0, 'every rule removed: h1 and h2 talk again');
  });
});
