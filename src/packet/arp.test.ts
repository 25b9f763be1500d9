import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as arp from './arp.js';
import { buildArpReply, buildArpRequest, fromHex } from './frame.js';
import * as g from './golden.js';

const kEth = 14;

test('golden request: check and accessors', () => {
  const f = fromHex(g.capArpRequest);
  const v = new DataView(f.buffer);
  assert.ok(arp.check(v, kEth, f.length - kEth));
  assert.equal(arp.oper(v, kEth), arp.ArpOp.request);
  assert.equal(arp.shaHi16(v, kEth), 0x5254);
  assert.equal(arp.shaLo32(v, kEth), 0x00123456);
  assert.equal(arp.spa(v, kEth), 0x0a090001);
  assert.equal(arp.thaHi16(v, kEth), 0);
  assert.equal(arp.thaLo32(v, kEth), 0);
  assert.equal(arp.tpa(v, kEth), 0x0a090002);
});

test('golden request and reply: parse to Repr, emit back, and the builders produce the captured frames', () => {
  const req = fromHex(g.capArpRequest);
  const rep = fromHex(g.capArpReply);
  const r1 = arp.parse(req.subarray(kEth));
  assert.deepEqual(r1, {
    operation: 1,
    senderMac: '52:54:00:12:34:56',
    senderIp: '10.9.0.1',
    targetMac: '00:00:00:00:00:00',
    targetIp: '10.9.0.2',
  });
  const r2 = arp.parse(rep.subarray(kEth));
  assert.deepEqual(r2, {
    operation: 2,
    senderMac: '52:54:00:65:43:21',
    senderIp: '10.9.0.2',
    targetMac: '52:54:00:12:34:56',
    targetIp: '10.9.0.1',
  });
  for (const [r, f] of [
    [r1, req],
    [r2, rep],
  ] as const) {
    const out = new Uint8Array(arp.bufferLen(r));
    assert.equal(arp.emit(r, out, 0), 28);
    assert.deepEqual(out, f.subarray(kEth));
  }
  assert.deepEqual(buildArpRequest({ srcMac: '52:54:00:12:34:56', srcIp: '10.9.0.1', targetIp: '10.9.0.2' }), req);
  assert.deepEqual(
    buildArpReply({ srcMac: '52:54:00:65:43:21', srcIp: '10.9.0.2', dstMac: '52:54:00:12:34:56', dstIp: '10.9.0.1' }),
    rep,
  );
  const padded = buildArpRequest({ srcMac: '52:54:00:12:34:56', srcIp: '10.9.0.1', targetIp: '10.9.0.2', pad: true });
  assert.equal(padded.length, 60);
  assert.deepEqual(padded.subarray(0, 42), req);
  assert.deepEqual(arp.parse(padded.subarray(kEth)), r1, 'padding after the ARP body is ignored');
});

test('check rejects truncated and non-Ethernet/IPv4 ARP; parse says why', () => {
  const f = fromHex(g.capArpRequest);
  const v = new DataView(f.buffer);
  assert.equal(arp.check(v, kEth, 27), false);
  const ieee802 = f.slice();
  ieee802[kEth + 1] = 6; // htype 6: IEEE 802 networks
  assert.equal(arp.check(new DataView(ieee802.buffer), kEth, 28), false);
  assert.throws(() => arp.parse(ieee802.subarray(kEth)), /unsupported ARP: htype 6 ptype 0x800 hlen 6 plen 4/);
  assert.throws(() => arp.parse(f.subarray(kEth, kEth + 27)), /malformed ARP: 27 bytes, need 28/);
});
