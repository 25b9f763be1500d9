import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex } from './frame.js';
import * as g from './golden.js';
import * as ipv6 from './ipv6.js';
import { ExtPosition, ExtWalk, Ipv6Check, walkExtensions } from './ipv6.js';

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
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => ipv6.srcWord(v, kEth, i)),
    [0x20010db8, 0, 0, 1],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => ipv6.dstWord(v, kEth, i)),
    [0x20010db8, 0, 0, 2],
  );
  assert.equal(ipv6.isDstMulticast(v, kEth), false);
});

test('golden router solicitation: link-local source, ff02::2, hop limit 255', () => {
  const f = fromHex(g.capRouterSolicit);
  const r = ipv6.parse(f.subarray(kEth));
  assert.deepEqual(
    { ...r, payload: r.payload.length },
    {
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: 58,
      hopLimit: 255,
      src: 'fe80::5054:ff:fe65:4321',
      dst: 'ff02::2',
      payload: 16,
    },
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
  assert.equal(
    at(() => {}),
    Ipv6Check.ok,
  );
  assert.equal(
    at(() => {}, 39),
    Ipv6Check.truncated,
  );
  assert.equal(
    at((b) => (b[0] = 0x40)),
    Ipv6Check.version,
  );
  assert.equal(
    at(() => {}, 103),
    Ipv6Check.payloadLength,
  );
  assert.equal(
    at((b) => b.fill(0, 4, 7)),
    Ipv6Check.payloadLength,
    'jumbogram',
  );
  assert.equal(
    at((b) => b.set([0, 0, 59], 4)),
    Ipv6Check.ok,
    'empty payload, no next header',
  );
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

test('walkExtensions: steps over hop-by-hop, AH and fragment headers; reports later fragments, truncation and too many', () => {
  // fixed header (next = 0 hop-by-hop) + hop-by-hop (8 bytes, next 51 AH) + AH (len 1: 12 bytes, next 44) +
  // fragment (next 6, offset 0, M set) + 4 bytes of TCP ports
  const ext = [51, 0, 0, 0, 0, 0, 0, 0] // hop-by-hop: next AH, 8 bytes
    .concat([44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) // AH: next fragment, (1 + 2) * 4 = 12 bytes
    .concat([6, 0, 0x00, 0x01, 0, 0, 0, 0]) // fragment: next TCP, offset 0, M = 1
    .concat([0x9c, 0x40, 0x00, 0x50]);
  const b = new Uint8Array(40 + ext.length);
  b[0] = 0x60;
  new DataView(b.buffer).setUint16(4, ext.length);
  b[6] = 0;
  b.set(ext, 40);
  const view = new DataView(b.buffer);
  const end = b.length;
  const w = new ExtPosition();
  assert.equal(walkExtensions(view, 0, end, 8, w), ExtWalk.upper);
  assert.deepEqual([w.next, w.pos, w.firstFragment], [6, 40 + 28, true]);
  assert.equal(walkExtensions(view, 0, end, 2, w), ExtWalk.tooMany, 'three headers, two allowed');
  assert.equal(walkExtensions(view, 0, 40 + 8 + 6, 8, w), ExtWalk.truncated, 'the AH runs past the end');
  b[40 + 20 + 3] = 0x09; // fragment offset 1 (8 bytes), M set: a later fragment
  assert.equal(walkExtensions(view, 0, end, 8, w), ExtWalk.laterFragment);
  assert.deepEqual([w.next, w.pos], [6, 40 + 28]);
});
