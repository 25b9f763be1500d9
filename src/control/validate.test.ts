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
  refuses(
    () => portConfig({ name: 'vm1', nic: { type: 'tap', name: 'a-very-long-interface-name' } }, 'p'),
    'p.nic.name',
    /15/,
  );
  refuses(
    () => portConfig({ name: 'vm1', nic: { type: 'stream', mode: 'listen' } }, 'p'),
    'p.nic',
    /either "path".*or "port"/,
  );
  refuses(() => portConfig({ name: 'bad name', nic: { type: 'memory' } }, 'p'), 'p.name', /letters, digits/);
  refuses(
    () => portConfig({ name: 'vm1', nic: { type: 'dgram', localPort: 70000 } }, 'p'),
    'p.nic.localPort',
    /0 to 65535/,
  );
  refuses(
    () => portConfig({ name: 'vm1', nic: { type: 'stream', mode: 'connect', host: '127.0.0.1', port: 0 } }, 'p'),
    'p.nic.port',
    /1 to 65535/,
  );
  refuses(() => portConfig({ name: 'vm1', nic: { type: 'memory' }, mtu: 20 }, 'p'), 'p.mtu', /68 to 9216/);
});

test('switches: duplicate ports, static MACs on unknown ports, group MACs refused', () => {
  const port = { name: 'a', nic: { type: 'memory' } };
  refuses(() => switchConfig({ name: 's', ports: [port, port] }, 'sw'), 'sw.ports[1].name', /used twice/);
  refuses(
    () =>
      switchConfig({ name: 's', ports: [port], staticMacs: [{ mac: '52:54:00:00:00:01', vid: 1, port: 'b' }] }, 'sw'),
    'sw.staticMacs[0].port',
    /no port named 'b'/,
  );
  refuses(
    () =>
      switchConfig({ name: 's', ports: [port], staticMacs: [{ mac: '01:00:5e:00:00:01', vid: 1, port: 'a' }] }, 'sw'),
    'sw.staticMacs[0].mac',
    /group/,
  );
  refuses(() => switchConfig({ name: 's', agingSeconds: -1 }, 'sw'), 'sw.agingSeconds', /0 to 86400/);
  refuses(() => vswitchConfig({ switches: [{ name: 's' }, { name: 's' }] }), 'config.switches[1].name', /used twice/);
  refuses(() => vswitchConfig({ switches: [], colour: 'blue' }), 'config.colour', /unknown setting/);
  assert.equal(switchConfig({ name: 's' }, 'sw').type, 'private');
});

test('endpoints: two ports on one listen path, TCP or UDP address, or TAP name are refused naming both fields', () => {
  const sw = (ports: unknown[]) => () => switchConfig({ name: 's', ports }, 'sw');
  const tap = (name: string, ifname: string) => ({ name, nic: { type: 'tap', name: ifname } });
  refuses(
    sw([tap('a', 'tap0'), tap('b', 'tap0')]),
    'sw.ports[1].nic.name',
    /TAP name tap0 is already the endpoint of port 'a' \(sw\.ports\[0\]\.nic\.name\)/,
  );
  const listen = (name: string, path: string) => ({ name, nic: { type: 'stream', mode: 'listen', path } });
  refuses(
    sw([listen('a', '/run/x.sock'), listen('b', '/run/./x.sock')]),
    'sw.ports[1].nic.path',
    /listen path \/run\/x\.sock is already the endpoint of port 'a'/,
  );
  const tcp = (name: string, host: string, port: number) => ({
    name,
    nic: { type: 'stream', mode: 'listen', host, port },
  });
  refuses(
    sw([tcp('a', '0.0.0.0', 5555), tcp('b', '127.0.0.1', 5555)]),
    'sw.ports[1].nic.port',
    /TCP listen address 127\.0\.0\.1:5555 is already the endpoint of port 'a'/,
  );
  refuses(sw([tcp('a', '::', 5555), tcp('b', '127.0.0.1', 5555)]), 'sw.ports[1].nic.port', /already the endpoint/);
  refuses(
    sw([tcp('a', '::1', 5555), tcp('b', '0:0::1', 5555)]),
    'sw.ports[1].nic.port',
    /TCP listen address \[::1\]:5555/,
  );
  const udp = (name: string, localPort: number) => ({ name, nic: { type: 'dgram', localPort } });
  refuses(
    sw([udp('a', 5000), udp('b', 5000)]),
    'sw.ports[1].nic.localPort',
    /UDP local address 127\.0\.0\.1:5000 is already the endpoint of port 'a'/,
  );
  // different addresses, port 0 (the kernel picks) and a connect beside a listen are fine
  assert.equal(
    switchConfig(
      {
        name: 's',
        ports: [
          tcp('a', '127.0.0.1', 5555),
          tcp('b', '127.0.0.2', 5555),
          tcp('c', '127.0.0.1', 0),
          tcp('d', '127.0.0.1', 0),
        ],
      },
      'sw',
    ).ports!.length,
    4,
  );
  assert.equal(
    switchConfig(
      {
        name: 's',
        ports: [
          udp('a', 0),
          udp('b', 0),
          listen('c', '/x.sock'),
          { name: 'd', nic: { type: 'stream', mode: 'connect', path: '/y.sock' } },
        ],
      },
      'sw',
    ).ports!.length,
    4,
  );
  // across switches, and against the API socket
  refuses(
    () =>
      vswitchConfig({
        switches: [
          { name: 's1', ports: [tap('a', 'tap0')] },
          { name: 's2', ports: [tap('b', 'tap0')] },
        ],
      }),
    'config.switches[1].ports[0].nic.name',
    /TAP name tap0 is already the endpoint of port 'a' \(config\.switches\[0\]\.ports\[0\]\.nic\.name\)/,
  );
  refuses(
    () => vswitchConfig({ api: '/run/v/api.sock', switches: [{ name: 's', ports: [listen('a', '/run/v/api.sock')] }] }),
    'config.switches[0].ports[0].nic.path',
    /is the management API's socket/,
  );
});

test('endpoint addresses: IPv6 without brackets, names only where the switch dials, one family per dgram port', () => {
  const stream = (host: string) =>
    portConfig({ name: 'p', nic: { type: 'stream', mode: 'connect', host, port: 5555 } }, 'p');
  assert.equal((stream('::1').nic as { host: string }).host, '::1');
  assert.equal((stream('vm-host.example').nic as { host: string }).host, 'vm-host.example');
  refuses(() => stream('[::1]'), 'p.nic.host', /write the IPv6 address without brackets here: "::1"/);
  refuses(() => stream('1.2.3.999'), 'p.nic.host', /neither an IP address nor a host name/);
  refuses(() => stream('a b'), 'p.nic.host', /neither an IP address nor a host name/);
  const dg = (nic: Record<string, unknown>) =>
    portConfig({ name: 'p', nic: { type: 'dgram', localPort: 5000, ...nic } }, 'p');
  assert.deepEqual(dg({ localHost: '::1', remoteHost: '::1', remotePort: 5001 }).nic, {
    type: 'dgram',
    localPort: 5000,
    localHost: '::1',
    remoteHost: '::1',
    remotePort: 5001,
  });
  refuses(
    () => dg({ remoteHost: 'localhost', remotePort: 5001 }),
    'p.nic.remoteHost',
    /not an IP address; give one, e\.g\. 127\.0\.0\.1 or ::1/,
  );
  refuses(
    () => dg({ localHost: '127.0.0.1', remoteHost: '::1', remotePort: 5001 }),
    'p.nic.remoteHost',
    /::1 is IPv6 but localHost 127\.0\.0\.1 is IPv4; use one family/,
  );
  refuses(() => dg({ remoteHost: '127.0.0.1' }), 'p.nic.remotePort', /a remoteHost needs its remotePort/);
});
