import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex } from './frame.js';
import * as g from './golden.js';
import * as ipv6 from './ipv6.js';
import { Ipv6Check } from './ipv6.js';

const kEth = 14;

test('golden ICMPv6 echo: IPv6 accessors', () => {
  const f = fromHex(g.capIcmp6Echo);
  const v = new DataView(f.buffer);
  assert.equal(ipv6.check(v, kEth, f.length - kEth), Ipv6Check.ok);
  assert.equal(ipv6.version(v, kEth), 6);
  assert.equal(ipv6.trafficClass(v, kEth), 0);
  assert.equal(ipv6.flowLabel(v, kEth), 0xf6071);
  assert.equal(ipv6.payloadLength(v, kEth), 64);
  assert.equal(ipv6.nextHeader(v, kEth), 58);
  assert.equal(ipv6.hopLimit(v, kEth), 64);
  assert.deepEqual([0, 1, 2, 3].map((i) => ipv6.srcWord(v, kEth, i)), [0x20010db8, 0, 0, 1]);
  assert.deepEqual([0, 1, 2, 3].map((i) => ipv6.dstWord(v, kEth, i)), [0x20010db8, 0, 0, 2]);
  assert.equal(ipv6.isDstMulticast(v, kEth), false);
});

test('golden router solicitation: link-local source, ff02::2, hop limit 255', () => {
  const f = fromHex(g.capRouterSolicit);
  const r = ipv6.parse(f.subarray(kEth));
  assert.deepEqual(
    { ...r, payload: r.payload.length },
    { trafficClass: 0, flowLabel: 0, nextHeader: 58, hopLimit: 255, src: 'fe80::5054:ff:fe65:4321', dst: 'ff02::2', payload: 16 },
  );
  assert.ok(ipv6.isDstMulticast(new DataView(f.buffer), kEth));
});

test('golden datagrams emit back byte for byte', () => {
  for (const hex of [g.capIcmp6Echo, g.capNeighborAdvert, g.capRouterSolicit]) {
    const ip = fromHex(hex).subarray(kEth);
    const r = ipv6.parse(ip);
    const out = new Uint8Array(ipv6.bufferLen(r));
    assert.equal(ipv6.emit(r, out, 0), ip.length);
    assert.deepEqual(out, ip);
  }
  const tc = { ...ipv6.parse(fromHex(g.capIcmp6Echo).subarray(kEth)), trafficClass: 0xb8 }; // DSCP EF
  const out = new Uint8Array(ipv6.bufferLen(tc));
  ipv6.emit(tc, out, 0);
  assert.equal(new DataView(out.buffer).getUint32(0), 0x6b8f6071);
  assert.equal(ipv6.trafficClass(new DataView(out.buffer), 0), 0xb8);
});

test('check rejects truncated, wrong version, payload length past the buffer, jumbogram', () => {
  const base = fromHex(g.capIcmp6Echo).slice(kEth); // 104 bytes
  const at = (mut: (b: Uint8Array) => void, len = base.length) => {
    const b = base.slice();
    mut(b);
    return ipv6.check(new DataView(b.buffer), 0, len);
  };
  assert.equal(at(() => {}), Ipv6Check.ok);
  assert.equal(at(() => {}, 39), Ipv6Check.truncated);
  assert.equal(at((b) => (b[0] = 0x40)), Ipv6Check.version);
  assert.equal(at(() => {}, 103), Ipv6Check.payloadLength);
  assert.equal(at((b) => ((b[4] = 0), (b[5] = 0), (b[6] = 0))), Ipv6Check.payloadLength, 'jumbogram');
  assert.equal(at((b) => ((b[4] = 0), (b[5] = 0), (b[6] = 59))), Ipv6Check.ok, 'empty payload, no next header');
  assert.throws(() => ipv6.parse(base.subarray(0, 39)), /malformed IPv6 header: shorter than 40 bytes/);
});

test('writers: payload length and hop limit', () => {
  const f = fromHex(g.capIcmp6Echo);
  const v = new DataView(f.buffer);
  ipv6.setHopLimit(v, kEth, 1);
  ipv6.setPayloadLength(v, kEth, 8);
  const r = ipv6.parse(f.subarray(kEth));
  assert.equal(r.hopLimit, 1);
  assert.equal(r.payload.length, 8);
});
