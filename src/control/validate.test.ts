import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, portConfig, switchConfig, vlanConfig, vswitchConfig } from './validate.js';

const refuses = (fn: () => unknown, field: string, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.field === field && re.test(e.message));

test('VLAN modes: valid shapes, ranges expanded, duplicates merged', () => {
  assert.deepEqual(vlanConfig({ mode: 'untagged' }, 'v'), { mode: 'untagged' });
  assert.deepEqual(vlanConfig({ mode: 'access', vid: 10 }, 'v'), { mode: 'access', vid: 10 });
  assert.deepEqual(vlanConfig({ mode: 'trunk', allowed: [20, '10-12', 11], native: 5, pruned: [12] }, 'v'), {
    mode: 'trunk',
    allowed: [10, 11, 12, 20],
    native: 5,
    pruned: [12],
  });
});

test('VLAN errors name the field and the legal range', () => {
  refuses(() => vlanConfig({ mode: 'access', vid: 4095 }, 'vlan'), 'vlan.vid', /integer from 1 to 4094, got 4095/);
  refuses(() => vlanConfig({ mode: 'access', vid: 0 }, 'vlan'), 'vlan.vid', /1 to 4094/);
  refuses(() => vlanConfig({ mode: 'trunk', allowed: [] }, 'vlan'), 'vlan.allowed', /at least one/);
  refuses(() => vlanConfig({ mode: 'trunk', allowed: ['30-20'] }, 'vlan'), 'vlan.allowed[0]', /backwards/);
  refuses(() => vlanConfig({ mode: 'hybrid' }, 'vlan'), 'vlan.mode', /one of untagged, access, trunk/);
  refuses(() => vlanConfig({ mode: 'access', vid: 10, native: 3 }, 'vlan'), 'vlan.native', /unknown setting/);
});

test('ports: endpoint shapes and names', () => {
  assert.deepEqual(portConfig({ name: 'vm1', nic: { type: 'stream', mode: 'listen', path: '/tmp/x.sock' } }, 'p'), {
    name: 'vm1',
    nic: { type: 'stream', mode: 'listen', path: '/tmp/x.sock' },
  });
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'tap', name: 'a-very-long-interface-name' } }, 'p'), 'p.nic.name', /15/);
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'stream', mode: 'listen' } }, 'p'), 'p.nic', /either "path".*or "port"/);
  refuses(() => portConfig({ name: 'bad name', nic: { type: 'memory' } }, 'p'), 'p.name', /letters, digits/);
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'dgram', localPort: 70000 } }, 'p'), 'p.nic.localPort', /0 to 65535/);
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'stream', mode: 'connect', host: '127.0.0.1', port: 0 } }, 'p'), 'p.nic.port', /1 to 65535/);
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'memory' }, mtu: 20 }, 'p'), 'p.mtu', /68 to 9216/);
});

test('switches: duplicate ports, static MACs on unknown ports, group MACs refused', () => {
  const port = { name: 'a', nic: { type: 'memory' } };
  refuses(() => switchConfig({ name: 's', ports: [port, port] }, 'sw'), 'sw.ports[1].name', /used twice/);
  refuses(() => switchConfig({ name: 's', ports: [port], staticMacs: [{ mac: '52:54:00:00:00:01', vid: 1, port: 'b' }] }, 'sw'), 'sw.staticMacs[0].port', /no port named 'b'/);
  refuses(() => switchConfig({ name: 's', ports: [port], staticMacs: [{ mac: '01:00:5e:00:00:01', vid: 1, port: 'a' }] }, 'sw'), 'sw.staticMacs[0].mac', /group/);
  refuses(() => switchConfig({ name: 's', agingSeconds: -1 }, 'sw'), 'sw.agingSeconds', /0 to 86400/);
  refuses(() => vswitchConfig({ switches: [{ name: 's' }, { name: 's' }] }), 'config.switches[1].name', /used twice/);
  refuses(() => vswitchConfig({ switches: [], colour: 'blue' }), 'config.colour', /unknown setting/);
  assert.equal(switchConfig({ name: 's' }, 'sw').type, 'private');
});
