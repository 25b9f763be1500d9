import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyL4 } from './checksum.js';
import { buildIcmp6, buildIcmp6Echo, fromHex } from './frame.js';
import * as g from './golden.js';
import * as icmpv6 from './icmpv6.js';

const kL4 = 14 + 40;

test('golden echo request: accessors', () => {
  const f = fromHex(g.capIcmp6Echo);
  const v = new DataView(f.buffer);
  assert.ok(icmpv6.check(v, kL4, f.length - kL4));
  assert.equal(icmpv6.check(v, kL4, 7), false);
  assert.equal(icmpv6.type(v, kL4), icmpv6.Icmp6Type.echoRequest);
  assert.equal(icmpv6.code(v, kL4), 0);
  assert.equal(icmpv6.checksum(v, kL4), 0x8ecd);
  assert.equal(icmpv6.echoIdent(v, kL4), 0x1d13);
  assert.equal(icmpv6.echoSeq(v, kL4), 1);
});

test('golden messages: parse, then emit with the pseudo-header reproduces the captured checksum', () => {
  const cases = [
    [g.capIcmp6Echo, '2001:db8::1', '2001:db8::2', 128],
    [g.capNeighborAdvert, '2001:db8::2', '2001:db8::1', 136],
    [g.capRouterSolicit, 'fe80::5054:ff:fe65:4321', 'ff02::2', 133],
  ] as const;
  for (const [hex, src, dst, type] of cases) {
    const m = fromHex(hex).subarray(kL4);
    const r = icmpv6.parse(m);
    assert.equal(r.type, type);
    const out = new Uint8Array(icmpv6.bufferLen(r));
    icmpv6.emit(r, out, 0, { src, dst });
    assert.deepEqual(out, m);
    icmpv6.emit(r, out, 0);
    assert.equal(icmpv6.checksum(new DataView(out.buffer), 0), 0, 'no addresses: checksum left 0');
  }
  assert.equal(
    icmpv6.parse(fromHex(g.capNeighborAdvert).subarray(kL4)).rest,
    0x60000000,
    'NA flags: Solicited, Override',
  );
});

test('buildIcmp6Echo and buildIcmp6 reproduce the captured frames exactly', () => {
  const echo = buildIcmp6Echo({
    srcMac: '52:54:00:12:34:56',
    dstMac: '52:54:00:65:43:21',
    srcIp: '2001:db8::1',
    dstIp: '2001:db8::2',
    flowLabel: 0xf6071,
    id: 0x1d13,
    seq: 1,
    payload: fromHex(g.capPingData6),
  });
  assert.deepEqual(echo, fromHex(g.capIcmp6Echo));
  const rs = buildIcmp6({
    srcMac: '52:54:00:65:43:21',
    dstMac: '33:33:00:00:00:02',
    srcIp: 'fe80::5054:ff:fe65:4321',
    dstIp: 'ff02::2',
    hopLimit: 255,
    type: icmpv6.Icmp6Type.routerSolicit,
    payload: fromHex('0101 525400654321'), // source link-layer address option
  });
  assert.deepEqual(rs, fromHex(g.capRouterSolicit));
  const ra = buildIcmp6({
    srcMac: '52:54:00:00:00:01',
    dstMac: '33:33:00:00:00:01',
    srcIp: 'fe80::1',
    dstIp: 'ff02::1',
    hopLimit: 255,
    type: icmpv6.Icmp6Type.routerAdvert,
    rest: 0x40000708, // cur hop limit 64, no flags, router lifetime 1800 s
    payload: new Uint8Array(8), // reachable time, retrans timer
  });
  assert.ok(verifyL4(ra, 14, kL4, ra.length - kL4, 58));
});
