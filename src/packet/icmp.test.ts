import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verify } from './checksum.js';
import { buildIcmpEcho, fromHex } from './frame.js';
import * as g from './golden.js';
import * as icmp from './icmp.js';

const kL4 = 14 + 20;

test('golden echo request: accessors', () => {
  const f = fromHex(g.capIcmpEcho);
  const v = new DataView(f.buffer);
  assert.ok(icmp.check(v, kL4, f.length - kL4));
  assert.equal(icmp.type(v, kL4), icmp.IcmpType.echoRequest);
  assert.equal(icmp.code(v, kL4), 0);
  assert.equal(icmp.checksum(v, kL4), 0xe8d6);
  assert.equal(icmp.echoIdent(v, kL4), 0x1d12);
  assert.equal(icmp.echoSeq(v, kL4), 1);
  assert.equal(icmp.check(v, kL4, 7), false);
});

test('golden echo and port unreachable: parse, then emit computes the captured checksum', () => {
  const e = fromHex(g.capIcmpEcho).subarray(kL4);
  const r = icmp.parse(e);
  assert.deepEqual(r, { type: 8, code: 0, rest: 0x1d120001, payload: fromHex(g.capPingData4) });
  const out = new Uint8Array(icmp.bufferLen(r));
  icmp.emit(r, out, 0);
  assert.deepEqual(out, e);
  const u = fromHex(g.capIcmpPortUnreachable).subarray(kL4);
  const ur = icmp.parse(u);
  assert.equal(ur.type, icmp.IcmpType.destUnreachable);
  assert.equal(ur.code, 3);
  assert.equal(ur.payload.length, 33, 'quotes the IPv4 header and the whole 13-byte UDP datagram');
  const uo = new Uint8Array(icmp.bufferLen(ur));
  icmp.emit(ur, uo, 0);
  assert.deepEqual(uo, u);
  assert.ok(verify(uo, 0, uo.length));
  assert.throws(() => icmp.parse(new Uint8Array(7)), /malformed ICMP: 7 bytes, need 8/);
});

test('buildIcmpEcho reproduces the captured ping frame exactly', () => {
  const built = buildIcmpEcho({
    srcMac: '52:54:00:12:34:56',
    dstMac: '52:54:00:65:43:21',
    srcIp: '10.9.0.1',
    dstIp: '10.9.0.2',
    ident: 0x3388,
    dontFragment: true,
    id: 0x1d12,
    seq: 1,
    payload: fromHex(g.capPingData4),
  });
  assert.deepEqual(built, fromHex(g.capIcmpEcho));
  const reply = buildIcmpEcho({
    srcMac: '02:00:00:00:00:02',
    dstMac: '02:00:00:00:00:01',
    srcIp: '192.0.2.2',
    dstIp: '192.0.2.1',
    reply: true,
  });
  assert.equal(reply.length, 14 + 20 + 8 + 56);
  assert.equal(reply[kL4], icmp.IcmpType.echoReply);
  assert.ok(verify(reply, kL4, reply.length - kL4));
});
