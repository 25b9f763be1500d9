/**
 * The QEMU lines: every port gets its own -netdev id and MAC (two NICs of one VM must not collide, and
 * `vm1` on two switches must not share a MAC), the device model is the port's setting, default virtio.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PortConfig } from './model.js';
import { qemuId, qemuRecipe, vmMac } from './recipes.js';
import { portConfig } from './validate.js';

const stream = (name: string, extra: Partial<PortConfig> = {}): PortConfig => ({
  name,
  nic: { type: 'stream', mode: 'listen', path: `/run/${name}.sock` },
  ...extra,
});

test('default: virtio-net-pci, id SW.PORT, a MAC from the switch and port names', () => {
  const line = qemuRecipe('sw0', stream('vm1'));
  assert.equal(
    line,
    `-netdev stream,id=sw0.vm1,server=off,addr.type=unix,addr.path=/run/vm1.sock -device virtio-net-pci,netdev=sw0.vm1,mac=${vmMac('sw0', stream('vm1'))}`,
  );
  assert.match(vmMac('sw0', stream('vm1')), /^52:54:00(:[0-9a-f]{2}){3}$/);
});

test('two ports: two ids and two MACs (one VM, two NICs)', () => {
  const a = qemuRecipe('sw0', stream('vm1'))!;
  const b = qemuRecipe('sw0', stream('vm2'))!;
  const ids = [a, b].map((l) => /id=([^,]+)/.exec(l)![1]);
  const macs = [a, b].map((l) => /mac=([0-9a-f:]+)/.exec(l)![1]);
  assert.notEqual(ids[0], ids[1]);
  assert.notEqual(macs[0], macs[1]);
  assert.match(a + ' ' + b, /netdev=sw0\.vm1,.*netdev=sw0\.vm2,/);
});

test('the same port name on two switches: different MACs and ids', () => {
  assert.notEqual(vmMac('sw0', stream('vm1')), vmMac('sw1', stream('vm1')));
  assert.notEqual(qemuId('sw0', stream('vm1')), qemuId('sw1', stream('vm1')));
});

test('MACs of many ports differ in more than the last byte', () => {
  const macs = new Set<string>();
  const firstBytes = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const m = vmMac('lab', stream(`vm${i}`));
    macs.add(m);
    firstBytes.add(m.slice(9, 11));
  }
  assert.equal(macs.size, 500);
  assert.ok(firstBytes.size > 100, `the fourth byte takes ${firstBytes.size} values`);
});

test('device model, id and MAC from the port settings; a switch name starting with a digit', () => {
  const p = portConfig(
    {
      name: 'vm1',
      nic: { type: 'dgram', localPort: 10001, remoteHost: '127.0.0.1', remotePort: 10002 },
      mac: '02:00:00:00:00:01',
      qemu: { device: 'e1000', id: 'net0' },
    },
    'port',
  );
  assert.equal(
    qemuRecipe('sw0', p),
    '-netdev dgram,id=net0,local.type=inet,local.host=127.0.0.1,local.port=10002,remote.type=inet,remote.host=127.0.0.1,remote.port=10001 -device e1000,netdev=net0,mac=02:00:00:00:00:01',
  );
  assert.equal(qemuId('0lab', stream('vm1')), 'n0lab.vm1', 'QEMU ids start with a letter');
  assert.throws(
    () => portConfig({ ...stream('x'), qemu: { device: 'e1001' } }, 'port'),
    /port\.qemu\.device: must be one of virtio-net-pci.*e1000.*got "e1001"/,
  );
  assert.throws(
    () => portConfig({ ...stream('x'), qemu: { id: '1net' } }, 'port'),
    /port\.qemu\.id: "1net" is not valid; QEMU ids start with a letter/,
  );
  assert.throws(
    () => portConfig({ ...stream('x'), qemu: { model: 'e1000' } }, 'port'),
    /port\.qemu\.model: unknown setting; expected one of device, id/,
  );
});

test('no line for TAP ports and VDE framing', () => {
  assert.equal(qemuRecipe('sw0', { name: 't', nic: { type: 'tap', name: 't0' } }), null);
  assert.equal(
    qemuRecipe('sw0', { name: 'v', nic: { type: 'stream', mode: 'listen', path: '/v.sock', framing: 'vde' } }),
    null,
  );
});
