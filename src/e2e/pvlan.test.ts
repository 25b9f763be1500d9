/**
 * End to end private VLANs (docs/vlans.md): primary VLAN 100, isolated secondary 101, community
 * secondary 102, set from the config file. Hosts: h1 promiscuous (101,102), h2 and h3 isolated (101), h4
 * and h5 community (102). Isolated hosts reach only the promiscuous host; community members reach each
 * other and the promiscuous host but no isolated host; checked with IPv4 and IPv6 ping, with broadcasts
 * (who hears an ARP request), and with known unicast forced between isolated hosts by a static neighbour
 * entry (dropped at egress, counted `pvlan-isolated` on the destination port). Then p3 is moved to the
 * community at runtime with `vswitch port vlan` and back, and its reachability follows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason();

describe('private VLANs between namespace hosts', { skip }, () => {
  const lab = new SwitchLab();
  before(() =>
    lab.start({
      hosts: 5,
      vlans: [
        { mode: 'private', pvlan: 'promiscuous', primary: 100, secondary: [101, 102] },
        { mode: 'private', pvlan: 'isolated', primary: 100, secondary: [101] },
        { mode: 'private', pvlan: 'isolated', primary: 100, secondary: [101] },
        { mode: 'private', pvlan: 'community', primary: 100, secondary: [102] },
        { mode: 'private', pvlan: 'community', primary: 100, secondary: [102] },
      ],
    }),
  );
  after(() => lab.stop());

  type Case = [LabHost, LabHost, 'v4' | 'v6', boolean];
  /** Ping every case at once (unreachable ones take seconds each: ARP/ND gives up) and check each verdict. */
  async function reach(cases: Case[]): Promise<void> {
    const losses = await Promise.all(
      cases.map(([a, b, fam, ok]) => lab.ping(a, fam === 'v4' ? b.ip4 : b.ip6, ok ? {} : { count: 2, wait: 1 })),
    );
    const wrong = cases
      .map(([a, b, fam, ok], i) => ({
        what: `${a.port} -> ${b.port} ${fam}: expected ${ok ? 'reachable' : 'unreachable'}, loss ${losses[i]}%`,
        bad: ok ? losses[i] !== 0 : losses[i] !== 100,
      }))
      .filter((x) => x.bad)
      .map((x) => x.what);
    assert.deepEqual(wrong, [], wrong.join('\n'));
  }

  test('isolated hosts reach the promiscuous host but not each other (IPv4 and IPv6)', async () => {
    const [h1, h2, h3] = lab.hosts;
    await reach([
      [h2, h1, 'v4', true],
      [h3, h1, 'v4', true],
      [h1, h2, 'v6', true],
      [h3, h1, 'v6', true],
      [h2, h3, 'v4', false],
      [h3, h2, 'v4', false],
      [h2, h3, 'v6', false],
    ]);
  });

  test('community hosts reach each other and the promiscuous host, not the isolated hosts', async () => {
    const [h1, h2, h3, h4, h5] = lab.hosts;
    await reach([
      [h4, h5, 'v4', true],
      [h5, h4, 'v6', true],
      [h4, h1, 'v4', true],
      [h5, h1, 'v4', true],
      [h1, h4, 'v6', true],
      [h4, h2, 'v4', false],
      [h5, h3, 'v4', false],
      [h2, h4, 'v4', false],
      [h3, h5, 'v6', false],
    ]);
  });

  test('a broadcast from an isolated host reaches only the promiscuous host', async () => {
    const [h1, h2, h3, h4, h5] = lab.hosts;
    const filter = 'arp and host 10.77.0.98';
    const heard = await lab.capture(h1, filter, { count: 1, timeoutMs: 10_000 });
    const others = await Promise.all([h3, h4, h5].map((h) => lab.capture(h, filter)));
    await lab.ping(h2, '10.77.0.98', { count: 1, wait: 1 }); // an ARP request for an address nobody has
    assert.match(await heard.done, /Request who-has 10\.77\.0\.98/);
    const got = await Promise.all(others.map((c) => c.stop()));
    assert.deepEqual(
      got.map((g) => g.trim()),
      ['', '', ''],
      'h3 (isolated), h4 and h5 (community) heard nothing',
    );
  });

  test('known unicast between isolated hosts is dropped at egress and counted pvlan-isolated', async () => {
    const [h1, h2, h3] = lab.hosts;
    assert.equal(await lab.ping(h3, h1.ip4, { count: 1 }), 0); // h3's MAC is learned on p3
    const fdb: Array<{ mac: string; port: string; vid: number }> = await lab.daemon.json('fdb', 'show', 's1');
    const learned = fdb.find((e) => e.mac === h3.mac);
    assert.equal(learned?.port, 'p3');
    assert.equal(learned?.vid, 100, 'learned in the primary VLAN');
    // h2 sends straight to h3's MAC (no ARP): the switch knows the destination and must refuse it
    await lab.lab.ip(h2.ns, 'neigh', 'replace', h3.ip4, 'lladdr', h3.mac, 'dev', h2.tap, 'nud', 'permanent');
    try {
      const dump = await lab.capture(h3, `icmp and src host ${h2.ip4}`);
      const before = (await lab.counters()).ports;
      assert.equal(await lab.ping(h2, h3.ip4, { count: 5, wait: 1 }), 100);
      const afterC = (await lab.counters()).ports;
      const heard = await dump.stop();
      assert.equal(heard.trim(), '', 'h3 received none of the echo requests');
      const dropped = (afterC.p3.drops['pvlan-isolated'] ?? 0) - (before.p3.drops['pvlan-isolated'] ?? 0);
      assert.ok(dropped >= 5, `pvlan-isolated drops on p3: ${dropped} for 5 echo requests`);
    } finally {
      await lab.lab.ip(h2.ns, 'neigh', 'del', h3.ip4, 'dev', h2.tap);
    }
  });

  test('moving p3 to the community at runtime (port vlan ... private community) changes what it reaches', async () => {
    const [h1, h2, h3, h4, h5] = lab.hosts;
    await reach([[h3, h4, 'v4', false]]);
    let r = await lab.daemon.cli('port', 'vlan', 's1', 'p3', 'private', 'community', '100', '102');
    assert.equal(r.code, 0, r.stderr);
    const ports: Array<{ name: string; vlan: unknown }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(ports.find((p) => p.name === 'p3')?.vlan, {
      mode: 'private',
      pvlan: 'community',
      primary: 100,
      secondary: [102],
    });
    await reach([
      [h3, h4, 'v4', true],
      [h5, h3, 'v6', true],
      [h3, h1, 'v4', true],
      [h3, h2, 'v4', false],
    ]);

    // and back to isolated: h3 still has h4's MAC cached, so this is known unicast, refused at egress
    r = await lab.daemon.cli('port', 'vlan', 's1', 'p3', 'private', 'isolated', '100', '101');
    assert.equal(r.code, 0, r.stderr);
    const before = (await lab.counters()).ports.p4.drops['pvlan-isolated'] ?? 0;
    await reach([
      [h3, h4, 'v4', false],
      [h3, h1, 'v4', true],
    ]);
    assert.ok(
      ((await lab.counters()).ports.p4.drops['pvlan-isolated'] ?? 0) > before,
      'known unicast p3 -> p4 counted pvlan-isolated',
    );
  });
});
