/**
 * An internal switch: its host port is a TAP (`vs-<name>`) left in the daemon's own namespace, so the host
 * can talk to the VMs. Here the daemon's namespace plays the host: it gets an address on that TAP and
 * pings a namespace host on a VM port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestDaemon } from '../testing/daemon.js';
import { NetnsLab, netnsSkipReason, runPrefix } from '../testing/netns.js';

test('internal switch: the host TAP reaches a VM port', { skip: netnsSkipReason() }, async () => {
  const lab = new NetnsLab(runPrefix());
  let d: TestDaemon | null = null;
  try {
    const sw = await lab.addNs('sw');
    const h1 = await lab.addNs('h1');
    const tap = lab.ifname('t1');
    d = new TestDaemon(sw);
    await d.start({
      switches: [
        { name: 'in1', type: 'internal', ports: [{ name: 'p1', nic: { type: 'tap', name: tap, netns: h1 } }] },
      ],
    });
    const ports: Array<{ name: string; nic: { name?: string } }> = await d.json('port', 'list', 'in1');
    assert.deepEqual(
      ports.map((p) => p.name),
      ['host', 'p1'],
    );
    assert.equal(ports[0].nic.name, 'vs-in1');
    await lab.ip(sw, 'addr', 'add', '10.78.0.254/24', 'dev', 'vs-in1');
    await lab.ip(h1, 'addr', 'add', '10.78.0.1/24', 'dev', tap);
    await lab.ip(h1, 'link', 'set', tap, 'up');
    const r = await lab.exec(sw, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1']);
    assert.match(r.stdout, / 0% packet loss/, r.stdout + r.stderr);
    const r2 = await d.cli('switch', 'add', 'ext', '--type', 'external');
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /external switches need an uplink/);
  } finally {
    await d?.cleanup();
    await lab.cleanup();
  }
});
