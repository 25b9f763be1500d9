/**
 * End to end: three namespace hosts on TAP ports of a real daemon. Ping over IPv4 and IPv6 at 56, 1600 and
 * 3200 bytes (the last two fragment at MTU 1500); learning (known unicast reaches only its port, counted);
 * flooding of broadcast and unknown unicast; a MAC move; aging with a short configured age.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();

describe('switching between namespace hosts', { skip }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 3 }));
  after(() => lab.stop());

  for (const size of [56, 1600, 3200]) {
    test(`IPv4 and IPv6 ping at ${size} bytes, 0% loss between every pair`, async () => {
      const [h1, h2, h3] = lab.hosts;
      for (const [a, b] of [
        [h1, h2],
        [h2, h3],
        [h3, h1],
      ]) {
        assert.equal(await lab.ping(a, b.ip4, { size }), 0, `${a.port} -> ${b.ip4} size ${size}`);
        assert.equal(await lab.ping(a, b.ip6, { size }), 0, `${a.port} -> ${b.ip6} size ${size}`);
      }
    });
  }

  test('learning: after the first exchange, unicast reaches only its port', async () => {
    const [h1, h2, h3] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(fdb.find((e) => e.mac === h1.mac)?.port, 'p1');
    assert.equal(fdb.find((e) => e.mac === h2.mac)?.port, 'p2');
    // a third host listens for the conversation; it must hear none of it
    const dump = await lab.capture(h3, `icmp and host ${h1.ip4} and host ${h2.ip4}`);
    const before = await lab.counters();
    assert.equal(await lab.ping(h1, h2.ip4, { count: 20 }), 0);
    const afterC = await lab.counters();
    const heard = await dump.stop();
    const delta = (port: string, f: string) => afterC.ports[port][f] - before.ports[port][f];
    assert.ok(delta('p2', 'txUnicast') >= 20, `p2 got ${delta('p2', 'txUnicast')} unicast frames`);
    assert.ok(delta('p1', 'txUnicast') >= 20, `p1 got ${delta('p1', 'txUnicast')} unicast frames`);
    assert.equal(heard.trim(), '', 'the third host saw none of the echo traffic');
    assert.ok(
      delta('p3', 'txFrames') < 5,
      `p3 got ${delta('p3', 'txFrames')} frames during 40 unicast frames between p1 and p2`,
    );
  });

  test('flooding: broadcast and unknown unicast reach every other port, never back to the ingress port', async () => {
    const [h1] = lab.hosts;
    // unknown unicast: a static neighbour whose MAC the switch has never seen
    await lab.lab.ip(
      h1.ns,
      'neigh',
      'replace',
      '10.77.0.99',
      'lladdr',
      '02:00:00:00:09:99',
      'dev',
      h1.tap,
      'nud',
      'permanent',
    );
    const echo = await lab.capture(h1, 'inbound and icmp and dst host 10.77.0.99');
    const before = await lab.counters();
    await lab.ping(h1, '10.77.0.99', { count: 5, wait: 1 });
    // broadcast: an ARP request for an address nobody has
    await lab.ping(h1, '10.77.0.98', { count: 1, wait: 1 });
    const afterC = await lab.counters();
    const delta = (port: string, f: string) => afterC.ports[port][f] - before.ports[port][f];
    assert.ok(delta('p2', 'txFlood') >= 6, `p2 flood copies: ${delta('p2', 'txFlood')}`);
    assert.ok(delta('p3', 'txFlood') >= 6, `p3 flood copies: ${delta('p3', 'txFlood')}`);
    const echoed = await echo.stop();
    assert.equal(echoed.trim(), '', 'a flooded frame never comes back to its ingress port');
    const fdb: Array<{ mac: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(
      fdb.some((e) => e.mac === '02:00:00:00:09:99'),
      false,
      'a destination is never learned',
    );
  });

  test('MAC move: an address seen on another port moves there', async () => {
    const [h1, h2, h3] = lab.hosts;
    const moved0 = (await lab.counters()).fdb.moved;
    // h1 goes quiet and h3 takes over its MAC (as a migrated VM would) and talks
    await lab.lab.ip(h1.ns, 'link', 'set', h1.tap, 'down');
    await lab.lab.ip(h3.ns, 'link', 'set', h3.tap, 'address', h1.mac);
    try {
      await lab.ping(h3, h2.ip4, { count: 2, wait: 1 }); // replies may go to h3's old MAC: only its frames matter
      const fdb: Array<{ mac: string; port: string; vid: number }> = await lab.daemon.json('fdb', 'show', 's1');
      assert.equal(fdb.find((e) => e.mac === h1.mac)?.port, 'p3');
      assert.ok((await lab.counters()).fdb.moved > moved0);
    } finally {
      await lab.lab.ip(h3.ns, 'link', 'set', h3.tap, 'address', h3.mac);
      await lab.lab.ip(h1.ns, 'link', 'set', h1.tap, 'up');
    }
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0, 'h1 reclaims its MAC');
    const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(fdb.find((e) => e.mac === h1.mac)?.port, 'p1');
  });

  test('aging: with a 2 s age, an address that falls silent is removed', async () => {
    const [, h2, h3] = lab.hosts;
    const r = await lab.daemon.cli('switch', 'aging', 's1', '2');
    assert.equal(r.code, 0, r.stderr);
    const ghost = '02:00:00:00:0a:0b';
    await lab.lab.ip(h3.ns, 'link', 'set', h3.tap, 'address', ghost);
    await lab.ping(h3, h2.ip4, { count: 1 });
    await lab.lab.ip(h3.ns, 'link', 'set', h3.tap, 'address', h3.mac);
    let fdb: Array<{ mac: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.ok(
      fdb.some((e) => e.mac === ghost),
      'learned',
    );
    const aged0 = (await lab.counters()).fdb.aged;
    await new Promise((res) => setTimeout(res, 4500));
    fdb = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(
      fdb.some((e) => e.mac === ghost),
      false,
      'aged out',
    );
    assert.ok((await lab.counters()).fdb.aged > aged0);
    await lab.daemon.cli('switch', 'aging', 's1', '300');
  });
});
