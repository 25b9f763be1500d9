/**
 * End to end link state: a NIC disconnect is a link-down on its port (docs/ports.md). Disconnecting
 * a TAP port (admin) shows NO-CARRIER to the host, flushes the port's MACs and stops all traffic to it;
 * connecting restores it with the same VLAN settings. A QEMU-stream endpoint that goes away is the same
 * event, seen in `vswitch events`; a new connection on the port keeps the port's settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildArpRequest } from '../packet/frame.js';
import { StreamPeer } from '../testing/stream-peer.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();

describe('link down and up', { skip }, () => {
  const lab = new SwitchLab();
  before(() =>
    lab.start({
      hosts: 2,
      vlans: [
        { mode: 'access', vid: 10 },
        { mode: 'access', vid: 10 },
      ],
      trunkPath: true,
    }),
  );
  after(() => lab.stop());

  test('disconnect: NO-CARRIER on the host, MACs flushed, nothing delivered; connect restores with the same VLAN', async () => {
    const [h1, h2] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4), 0);
    let r = await lab.daemon.cli('port', 'disconnect', 's1', 'p2');
    assert.equal(r.code, 0, r.stderr);
    const link = await lab.lab.ip(h2.ns, 'link', 'show', h2.tap);
    assert.match(link, /NO-CARRIER/);
    const fdb: Array<{ port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(fdb.filter((e) => e.port === 'p2').length, 0, 'p2 MACs flushed');
    const ports: Array<{ name: string; link: string; adminDown: boolean }> = await lab.daemon.json(
      'port',
      'list',
      's1',
    );
    assert.deepEqual(
      ports.find((p) => p.name === 'p2'),
      { ...ports.find((p) => p.name === 'p2'), link: 'down', adminDown: true },
    );
    const before = (await lab.counters()).ports.p2.txFrames;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3, wait: 1 }), 100);
    assert.equal((await lab.counters()).ports.p2.txFrames, before, 'a link-down port receives nothing');
    const events: Array<{ port: string; link: string; flushedMacs: number }> = await lab.daemon.json('events');
    assert.ok(
      events.some((e) => e.port === 'p2' && e.link === 'down' && e.flushedMacs >= 1),
      JSON.stringify(events),
    );

    r = await lab.daemon.cli('port', 'connect', 's1', 'p2');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(await lab.lab.ip(h2.ns, 'link', 'show', h2.tap), /NO-CARRIER/);
    assert.equal(await lab.ping(h1, h2.ip4), 0);
    const after: Array<{ name: string; vlan: unknown; link: string }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(
      after.find((p) => p.name === 'p2')?.vlan,
      { mode: 'access', vid: 10 },
      'settings survive the reconnect',
    );
  });

  test('a stream endpoint that goes away is a link down; reconnecting keeps the port settings', async () => {
    let r = await lab.daemon.cli('port', 'vlan', 's1', 'trunk', 'access', '10');
    assert.equal(r.code, 0, r.stderr);
    const peer = new StreamPeer(lab.trunkPath);
    await peer.connect();
    peer.respondAs('10.77.0.50', '02:00:00:00:05:00');
    assert.equal(await lab.ping(lab.hosts[0], '10.77.0.50'), 0);
    let fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.ok(fdb.some((e) => e.mac === '02:00:00:00:05:00' && e.port === 'trunk'));
    await peer.close();
    await new Promise((res) => setTimeout(res, 300));
    fdb = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(
      fdb.some((e) => e.port === 'trunk'),
      false,
      'flushed on disconnect',
    );
    const events: Array<{ port: string; link: string; reason: string }> = await lab.daemon.json('events');
    assert.equal(events.filter((e) => e.port === 'trunk').at(-1)?.link, 'down');
    const before = (await lab.counters()).ports.trunk.txFrames;
    await lab.ping(lab.hosts[0], '10.77.0.50', { count: 2, wait: 1 });
    assert.equal((await lab.counters()).ports.trunk.txFrames, before);

    const again = new StreamPeer(lab.trunkPath);
    await again.connect();
    again.respondAs('10.77.0.50', '02:00:00:00:05:00');
    assert.equal(await lab.ping(lab.hosts[0], '10.77.0.50'), 0, 'back in VLAN 10 after reconnect');
    again.send(
      buildArpRequest({ srcMac: '02:00:00:00:05:00', srcIp: '10.77.0.50', targetIp: '10.77.0.1', vlan: { vid: 20 } }),
    );
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(((await lab.counters()).ports.trunk.drops['vlan-tagged-on-access'] ?? 0) >= 1, 'still access 10');
    await again.close();
    r = await lab.daemon.cli('events');
    assert.match(r.stdout, /s1\/trunk link up \(nic-connected\)/);
  });
});
