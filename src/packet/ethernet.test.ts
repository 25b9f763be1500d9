import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as eth from './ethernet.js';
import { fromHex } from './frame.js';
import * as g from './golden.js';

test('golden ARP request: accessors read the captured header', () => {
  const f = fromHex(g.capArpRequest);
  const v = new DataView(f.buffer);
  assert.ok(eth.check(v, 0, f.length));
  assert.equal(eth.dstHi16(v, 0), 0xffff);
  assert.equal(eth.dstLo32(v, 0), 0xffffffff);
  assert.equal(eth.srcHi16(v, 0), 0x5254);
  assert.equal(eth.srcLo32(v, 0), 0x00123456);
  assert.equal(eth.ethertype(v, 0), eth.EtherType.arp);
  assert.ok(eth.isDstBroadcast(v, 0));
  assert.ok(eth.isDstGroup(v, 0));
  assert.ok(!eth.isSrcGroup(v, 0));
});

test('golden frames parse to a Repr and emit back to the same bytes', () => {
  for (const hex of [g.capArpRequest, g.capIcmpEcho, g.capIcmp6Echo, g.taggedArpRequest, g.qinqArpRequest]) {
    const f = fromHex(hex);
    const r = eth.parse(f);
    const out = new Uint8Array(eth.bufferLen(r));
    assert.equal(eth.emit(r, out, 0), f.length);
    assert.deepEqual(out, f);
  }
  const r = eth.parse(fromHex(g.capIcmpEcho));
  assert.deepEqual(
    { ...r, payload: r.payload.length },
    { dst: '52:54:00:65:43:21', src: '52:54:00:12:34:56', ethertype: 0x0800, payload: 84 },
  );
});

test('check rejects a 13-byte frame and accepts a bare 14-byte header', () => {
  const f = fromHex(g.capArpRequest);
  const v = new DataView(f.buffer);
  assert.equal(eth.check(v, 0, 13), false);
  assert.equal(eth.check(v, 0, 0), false);
  assert.equal(eth.check(v, 0, 14), true);
  assert.throws(() => eth.parse(f.subarray(0, 13)), /malformed Ethernet frame: 13 bytes, need at least 14/);
});

test('multicast destination (33:33:00:00:00:02) is a group address but not broadcast', () => {
  const f = fromHex(g.capRouterSolicit);
  const v = new DataView(f.buffer);
  assert.ok(eth.isDstGroup(v, 0));
  assert.ok(!eth.isDstBroadcast(v, 0));
  assert.equal(eth.ethertype(v, 0), eth.EtherType.ipv6);
});

test('writers change exactly their field, at a non-zero frame offset', () => {
  const base = fromHex(g.capArpRequest);
  const buf = new Uint8Array(base.length + 7);
  buf.set(base, 7);
  const v = new DataView(buf.buffer);
  eth.setDst(v, 7, 0x0200, 0x00000001);
  eth.setSrc(v, 7, 0x5254, 0x00abcdef);
  eth.setEthertype(v, 7, 0x88b5);
  assert.equal(eth.parse(buf.subarray(7)).dst, '02:00:00:00:00:01');
  assert.equal(eth.parse(buf.subarray(7)).src, '52:54:00:ab:cd:ef');
  assert.equal(eth.ethertype(v, 7), 0x88b5);
  assert.deepEqual(buf.subarray(7 + 14), base.subarray(14), 'payload untouched');
  assert.deepEqual(buf.subarray(0, 7), new Uint8Array(7), 'bytes before the frame untouched');
});

test('emit refuses a frame that does not fit and a bad MAC', () => {
  const r = eth.parse(fromHex(g.capArpRequest));
  assert.throws(() => eth.emit(r, new Uint8Array(41), 0), /42 bytes do not fit at 0 in 41/);
  assert.throws(() => eth.emit({ ...r, dst: 'nope' }, new Uint8Array(42), 0), /invalid MAC 'nope'/);
});
