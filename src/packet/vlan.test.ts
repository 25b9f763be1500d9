import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as eth from './ethernet.js';
import { buildEthernet, fromHex, parseFrame } from './frame.js';
import * as g from './golden.js';
import * as vlan from './vlan.js';

test('golden 802.1Q frame: PCP 5, DEI 0, VID 10, inner ARP', () => {
  const f = fromHex(g.taggedArpRequest);
  const v = new DataView(f.buffer);
  assert.ok(vlan.check(v, 0, f.length));
  assert.ok(vlan.isTagged(v, 0));
  assert.equal(vlan.tci(v, 0), 0xa00a);
  assert.equal(vlan.pcp(v, 0), 5);
  assert.equal(vlan.dei(v, 0), false);
  assert.equal(vlan.vid(v, 0), 10);
  assert.equal(vlan.headerLen(v, 0), 18);
  assert.equal(vlan.innerEthertype(v, 0), eth.EtherType.arp);
  assert.equal(eth.ethertype(v, 0), 0x8100);
});

test('QinQ (0x88a8) is not a C-tag: untagged header length, EtherType 0x88a8', () => {
  const f = fromHex(g.qinqArpRequest);
  const v = new DataView(f.buffer);
  assert.equal(vlan.isTagged(v, 0), false);
  assert.equal(vlan.headerLen(v, 0), 14);
  assert.equal(vlan.innerEthertype(v, 0), eth.EtherType.qinq);
  assert.ok(vlan.check(v, 0, 14), 'a 14-byte 0x88a8 frame holds a whole (untagged) header');
  const p = parseFrame(f);
  assert.equal(p.vlan, undefined);
  assert.equal(p.ethertype, 0x88a8);
  assert.equal(p.payload.length, f.length - 14);
});

test('check: tagged frames need 18 bytes, untagged 14', () => {
  const t = fromHex(g.taggedArpRequest);
  const tv = new DataView(t.buffer);
  for (let len = 0; len < 18; len++) assert.equal(vlan.check(tv, 0, len), false, `tagged, ${len} bytes`);
  assert.equal(vlan.check(tv, 0, 18), true);
  const u = fromHex(g.capArpRequest);
  const uv = new DataView(u.buffer);
  assert.equal(vlan.check(uv, 0, 13), false);
  assert.equal(vlan.check(uv, 0, 14), true);
});

test('pushTag turns the captured ARP into the golden tagged frame in place; popTag undoes it', () => {
  const arp = fromHex(g.capArpRequest);
  const headroom = 8;
  const buf = new Uint8Array(headroom + arp.length);
  buf.set(arp, headroom);
  const v = new DataView(buf.buffer);
  const off = vlan.pushTag(v, headroom, vlan.makeTci(5, 10));
  assert.equal(off, headroom - 4);
  assert.deepEqual(buf.subarray(off), fromHex(g.taggedArpRequest));
  const back = vlan.popTag(v, off);
  assert.equal(back, headroom);
  assert.deepEqual(buf.subarray(back), arp);
});

test('setVid and setPcp change only their bits', () => {
  const f = fromHex(g.taggedArpRequest);
  const v = new DataView(f.buffer);
  vlan.setTci(v, 0, vlan.makeTci(5, 10, true));
  vlan.setVid(v, 0, 4094);
  assert.equal(vlan.vid(v, 0), 4094);
  assert.equal(vlan.pcp(v, 0), 5);
  assert.equal(vlan.dei(v, 0), true);
  vlan.setPcp(v, 0, 7);
  assert.equal(vlan.pcp(v, 0), 7);
  assert.equal(vlan.vid(v, 0), 4094);
  assert.equal(vlan.dei(v, 0), true);
  vlan.setPcp(v, 0, 0);
  assert.equal(vlan.tci(v, 0), 0x1ffe);
  vlan.setEthertype(v, 0, 0x0800);
  assert.equal(vlan.innerEthertype(v, 0), 0x0800);
});

test('VlanRepr: parse the Ethernet payload of a tagged frame and emit it back', () => {
  const f = fromHex(g.taggedArpRequest);
  const e = eth.parse(f);
  const t = vlan.parse(e.payload);
  assert.deepEqual(
    { ...t, payload: t.payload.length },
    { pcp: 5, dei: false, vid: 10, ethertype: 0x0806, payload: 28 },
  );
  const out = new Uint8Array(vlan.bufferLen(t));
  vlan.emit(t, out, 0);
  assert.deepEqual(out, e.payload);
  assert.throws(() => vlan.parse(new Uint8Array(3)), /malformed 802.1Q tag: 3 bytes after the TPID, need 4/);
  assert.throws(() => vlan.emit({ ...t, vid: 4096 }, out, 0), /vid 4096 0..4095/);
});

test('buildEthernet with vlan {vid 10, pcp 5} equals the golden tagged frame; parseFrame inverts it', () => {
  const arp = fromHex(g.capArpRequest);
  const built = buildEthernet({
    dst: 'ff:ff:ff:ff:ff:ff',
    src: '52:54:00:12:34:56',
    vlan: { vid: 10, pcp: 5 },
    ethertype: 0x0806,
    payload: arp.subarray(14),
  });
  assert.deepEqual(built, fromHex(g.taggedArpRequest));
  const p = parseFrame(built);
  assert.deepEqual(p.vlan, { vid: 10, pcp: 5, dei: false });
  assert.equal(p.ethertype, 0x0806);
  assert.deepEqual(p.payload, arp.subarray(14));
});
