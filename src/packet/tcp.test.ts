import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTcp4, buildTcp6, fromHex } from './frame.js';
import { verifyL4 } from './checksum.js';
import * as g from './golden.js';
import * as tcp from './tcp.js';
import { TcpCheck, TcpFlag } from './tcp.js';

const kL4 = 14 + 20;
const ph = { src: '10.9.0.1', dst: '10.9.0.2' };

test('golden SYN: accessors', () => {
  const f = fromHex(g.capTcpSyn);
  const v = new DataView(f.buffer);
  assert.equal(tcp.check(v, kL4, f.length - kL4), TcpCheck.ok);
  assert.equal(tcp.srcPort(v, kL4), 44864);
  assert.equal(tcp.dstPort(v, kL4), 80);
  assert.equal(tcp.seqNumber(v, kL4), 4231538102);
  assert.equal(tcp.ackNumber(v, kL4), 0);
  assert.equal(tcp.headerLen(v, kL4), 40);
  assert.equal(tcp.flags(v, kL4), TcpFlag.syn);
  assert.equal(tcp.window(v, kL4), 64240);
  assert.equal(tcp.checksum(v, kL4), 0x03f8);
  assert.equal(tcp.urgent(v, kL4), 0);
});

test('golden SYN and RST: emit with the pseudo-header gives the real checksums (03f8 from tshark, ca3b from Linux)', () => {
  const syn = fromHex(g.capTcpSyn).subarray(kL4);
  const r = tcp.parse(syn);
  assert.deepEqual(
    { ...r, payload: r.payload.length },
    {
      srcPort: 44864,
      dstPort: 80,
      seq: 4231538102,
      ack: 0,
      flags: 2,
      window: 64240,
      urgent: 0,
      options: fromHex(g.capTcpSynOptions),
      payload: 0,
    },
  );
  const out = new Uint8Array(tcp.bufferLen(r));
  tcp.emit(r, out, 0, ph);
  assert.deepEqual(out, syn);
  tcp.emit(r, out, 0);
  assert.equal(tcp.checksum(new DataView(out.buffer), 0), 0, 'no addresses: checksum left for the offload fix-up');

  const rst = fromHex(g.capTcpRst).subarray(kL4);
  const rr = tcp.parse(rst);
  assert.equal(rr.flags, TcpFlag.rst | TcpFlag.ack);
  assert.equal(rr.ack, 4231538103);
  const ro = new Uint8Array(tcp.bufferLen(rr));
  tcp.emit(rr, ro, 0, { src: '10.9.0.2', dst: '10.9.0.1' });
  assert.deepEqual(ro, rst);
});

test('buildTcp4 reproduces the captured SYN with its full checksum', () => {
  const built = buildTcp4({
    srcMac: '52:54:00:12:34:56',
    dstMac: '52:54:00:65:43:21',
    srcIp: '10.9.0.1',
    dstIp: '10.9.0.2',
    ident: 0xc495,
    dontFragment: true,
    srcPort: 44864,
    dstPort: 80,
    seq: 4231538102,
    options: fromHex(g.capTcpSynOptions),
  });
  assert.deepEqual(built, fromHex(g.capTcpSyn));
  const six = buildTcp6({
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    srcIp: '2001:db8::1',
    dstIp: '2001:db8::2',
    srcPort: 1,
    dstPort: 2,
    flags: TcpFlag.psh | TcpFlag.ack,
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.ok(verifyL4(six, 14, 54, six.length - 54, 6));
});

test('check rejects truncated headers and bad data offsets', () => {
  const seg = fromHex(g.capTcpSyn).slice(kL4); // 40 bytes
  const v = new DataView(seg.buffer);
  assert.equal(tcp.check(v, 0, 19), TcpCheck.truncated);
  assert.equal(tcp.check(v, 0, 39), TcpCheck.dataOffset, 'data offset 40 > 39 bytes');
  seg[12] = 0x40;
  assert.equal(tcp.check(v, 0, 40), TcpCheck.dataOffset, 'data offset 4 words < 5');
  assert.throws(() => tcp.parse(seg), /data offset 16 bytes is below 20/);
  assert.throws(() => tcp.parse(seg.subarray(0, 10)), /malformed TCP: 10 bytes, need at least 20/);
});

test('writers: ports, flags, sequence, checksum', () => {
  const f = fromHex(g.capTcpSyn);
  const v = new DataView(f.buffer);
  tcp.setSrcPort(v, kL4, 1234);
  tcp.setDstPort(v, kL4, 443);
  tcp.setFlags(v, kL4, TcpFlag.fin | TcpFlag.ack);
  tcp.setSeqNumber(v, kL4, 0xffffffff);
  tcp.setChecksum(v, kL4, 0xbeef);
  const r = tcp.parse(f.subarray(kL4));
  assert.deepEqual([r.srcPort, r.dstPort, r.flags, r.seq, tcp.checksum(v, kL4)], [1234, 443, 0x11, 0xffffffff, 0xbeef]);
});
