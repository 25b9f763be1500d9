/** The vdeSwitch setting: what a config file may say, and the refusals naming the field and the fix. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVdeRequest, vdeReply, kVdeMagic, kVdeRequestLen, kSockaddrUnLen } from '../ports/vde-switch.js';
import { refuses } from '../testing/refuses.js';
import { switchConfig } from './validate.js';

test('vdeSwitch: a directory and a template of client ports', () => {
  const c = switchConfig(
    {
      name: 's',
      vdeSwitch: {
        dir: '/run/vde/lab/',
        prefix: 'vm',
        maxClients: 8,
        vlan: { mode: 'access', vid: 10 },
        mtu: 9000,
        policy: { dhcpGuard: true },
      },
    },
    'switch',
  );
  assert.deepEqual(c.vdeSwitch, {
    dir: '/run/vde/lab',
    prefix: 'vm',
    maxClients: 8,
    vlan: { mode: 'access', vid: 10 },
    mtu: 9000,
    policy: { dhcpGuard: true },
  });
  refuses(
    () => switchConfig({ name: 's', vdeSwitch: { dir: 'rel/dir' } }, 'switch'),
    'switch.vdeSwitch.dir',
    /absolute path/,
  );
  refuses(
    () => switchConfig({ name: 's', vdeSwitch: { dir: '/' + 'x'.repeat(120) } }, 'switch'),
    'switch.vdeSwitch.dir',
    /at most 96 bytes/,
  );
  refuses(
    () => switchConfig({ name: 's', vdeSwitch: { dir: '/d', prefix: '9x' } }, 'switch'),
    'switch.vdeSwitch.prefix',
    /starting with a letter/,
  );
  refuses(
    () => switchConfig({ name: 's', vdeSwitch: { dir: '/d', maxClients: 0 } }, 'switch'),
    'switch.vdeSwitch.maxClients',
    /1 to 1024/,
  );
  refuses(
    () => switchConfig({ name: 's', vdeSwitch: { dir: '/d', sock: '/x' } }, 'switch'),
    'switch.vdeSwitch.sock',
    /expected one of dir, prefix/,
  );
});

test('vde_switch requests: golden bytes of vdeplug4 parse; each malformed field is named', () => {
  // what vdeplug4's vde_plug sent to a listener here (magic, version 3, type 0, sockaddr_un, description)
  const golden = Buffer.alloc(kVdeRequestLen + 28);
  golden.writeUInt32LE(kVdeMagic, 0);
  golden.writeUInt32LE(3, 4);
  golden.writeUInt16LE(1, 12);
  golden.write('/tmp/vdeprobe/.24401-00000', 14);
  golden.write('vdeplug: user=root pid=24401', kVdeRequestLen);
  const r = parseVdeRequest(golden);
  assert.ok(typeof r !== 'string');
  assert.equal(r.peerText, '/tmp/vdeprobe/.24401-00000');
  assert.equal(r.description, 'vdeplug: user=root pid=24401');
  assert.equal(r.peer.length, kSockaddrUnLen);
  const bad = (f: (b: Buffer) => void) => {
    const b = Buffer.from(golden);
    f(b);
    return parseVdeRequest(b);
  };
  assert.equal(parseVdeRequest(golden.subarray(0, kVdeRequestLen - 1)), 'short');
  assert.equal(
    bad((b) => b.writeUInt32BE(kVdeMagic, 0)),
    'bad-magic',
    'the magic is in the client host order (little-endian here)',
  );
  assert.equal(
    bad((b) => b.writeUInt32LE(2, 4)),
    'bad-version',
  );
  assert.equal(
    bad((b) => b.writeUInt32LE(1, 8)),
    'bad-type',
  );
  assert.equal(
    bad((b) => b.writeUInt16LE(2, 12)),
    'bad-address',
  );
  assert.equal(
    bad((b) => b.fill(0, 14, kVdeRequestLen)),
    'bad-address',
  );
  assert.equal(parseVdeRequest(Buffer.alloc(300)), 'too-long');
  const reply = vdeReply('/run/vde/lab/1');
  assert.equal(reply.length, kSockaddrUnLen);
  assert.deepEqual([...reply.subarray(0, 2)], [1, 0]);
  assert.equal(Buffer.from(reply.subarray(2)).toString('latin1').replace(/\0+$/, ''), '/run/vde/lab/1');
});
