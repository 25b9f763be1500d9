import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyL4 } from './checksum.js';
import { buildUdp4, buildUdp6, fromHex } from './frame.js';
import * as g from './golden.js';
import * as udp from './udp.js';
import { UdpCheck } from './udp.js';

const kL4 = 14 + 20;

test('golden datagram: accessors and Repr', () => {
  const f = fromHex(g.capUdp);
  const v = new DataView(f.buffer);
  assert.equal(udp.check(v, kL4, f.length - kL4), UdpCheck.ok);
  assert.equal(udp.srcPort(v, kL4), 50060);
  assert.equal(udp.dstPort(v, kL4), 9999);
  assert.equal(udp.length(v, kL4), 13);
  assert.equal(udp.checksum(v, kL4), 0xbd51);
  const r = udp.parse(f.subarray(kL4));
  assert.deepEqual(r, { srcPort: 50060, dstPort: 9999, payload: new TextEncoder().encode('hello') });
  const out = new Uint8Array(udp.bufferLen(r));
  udp.emit(r, out, 0, { src: '10.9.0.1', dst: '10.9.0.2' });
  assert.deepEqual(out, f.subarray(kL4), 'checksum bd51, as tshark computed');
  udp.emit(r, out, 0);
  assert.equal(udp.checksum(new DataView(out.buffer), 0), 0, 'no addresses: 0 = no checksum (IPv4)');
});

test('buildUdp4 reproduces the captured datagram with a full checksum; buildUdp6 verifies', () => {
  const built = buildUdp4({
    srcMac: '52:54:00:12:34:56',
    dstMac: '52:54:00:65:43:21',
    srcIp: '10.9.0.1',
    dstIp: '10.9.0.2',
    ident: 0x0b3f,
    dontFragment: true,
    srcPort: 50060,
    dstPort: 9999,
    payload: new TextEncoder().encode('hello'),
  });
  assert.deepEqual(built, fromHex(g.capUdp));
  const six = buildUdp6({
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    srcIp: 'fe80::1',
    dstIp: 'ff02::1:2',
    srcPort: 546,
    dstPort: 547,
  });
  assert.equal(six.length, 14 + 40 + 8);
  assert.ok(verifyL4(six, 14, 54, 8, 17));
  assert.notEqual(udp.checksum(new DataView(six.buffer), 54), 0);
});

test('check: truncated, length field below 8 or past the buffer; trailing bytes ignored', () => {
  const d = fromHex(g.capUdp).slice(kL4); // 13 bytes
  const v = new DataView(d.buffer);
  assert.equal(udp.check(v, 0, 7), UdpCheck.truncated);
  assert.equal(udp.check(v, 0, 12), UdpCheck.length);
  udp.setLength(v, 0, 7);
  assert.equal(udp.check(v, 0, 13), UdpCheck.length);
  assert.throws(() => udp.parse(d), /length field 7 is below 8/);
  udp.setLength(v, 0, 10);
  assert.equal(udp.check(v, 0, 13), UdpCheck.ok);
  assert.equal(udp.parse(d).payload.length, 2);
});

test('writers: ports and checksum', () => {
  const f = fromHex(g.capUdp);
  const v = new DataView(f.buffer);
  udp.setSrcPort(v, kL4, 68);
  udp.setDstPort(v, kL4, udp.UdpPort.bootps);
  udp.setChecksum(v, kL4, 0);
  assert.deepEqual([udp.srcPort(v, kL4), udp.dstPort(v, kL4), udp.checksum(v, kL4)], [68, 67, 0]);
  assert.ok(verifyL4(f, 14, kL4, 13, 17), 'zero UDP checksum over IPv4 = not computed');
});
