import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyIpv4Header, verifyL4 } from './checksum.js';
import * as eth from './ethernet.js';
import {
  buildDhcpDiscover,
  buildDhcpOffer,
  buildEthernet,
  buildIpv4,
  DhcpMessageType,
  fromHex,
  parseFrame,
  toHex,
} from './frame.js';
import * as g from './golden.js';
import * as ipv4 from './ipv4.js';
import * as udp from './udp.js';

const kL3 = 14;
const kL4 = 14 + 20;
const kBootp = kL4 + 8;

test('buildDhcpDiscover: broadcast 0.0.0.0:68 -> 255.255.255.255:67, 300-byte BOOTP, DISCOVER option, good checksums', () => {
  const f = buildDhcpDiscover({ srcMac: '52:54:00:12:34:56', xid: 0xdeadbeef });
  const v = new DataView(f.buffer);
  assert.equal(f.length, 14 + 20 + 8 + 300);
  const e = parseFrame(f);
  assert.equal(e.dst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(e.src, '52:54:00:12:34:56');
  assert.equal(e.ethertype, eth.EtherType.ipv4);
  const ip = ipv4.parse(e.payload);
  assert.equal(ip.src, '0.0.0.0');
  assert.equal(ip.dst, '255.255.255.255');
  assert.equal(ip.protocol, ipv4.IpProto.udp);
  assert.ok(verifyIpv4Header(f, kL3));
  assert.equal(udp.srcPort(v, kL4), udp.UdpPort.bootpc);
  assert.equal(udp.dstPort(v, kL4), udp.UdpPort.bootps);
  assert.ok(verifyL4(f, kL3, kL4, 308, 17));
  assert.notEqual(udp.checksum(v, kL4), 0);
  assert.equal(f[kBootp], 1, 'op BOOTREQUEST');
  assert.equal(v.getUint32(kBootp + 4), 0xdeadbeef, 'xid');
  assert.equal(toHex(f.subarray(kBootp + 28, kBootp + 34)), '525400123456', 'chaddr');
  assert.equal(v.getUint32(kBootp + 236), 0x63825363, 'magic cookie');
  assert.deepEqual(Array.from(f.subarray(kBootp + 240, kBootp + 244)), [53, 1, DhcpMessageType.discover, 255]);
  const tagged = buildDhcpDiscover({ srcMac: '52:54:00:12:34:56', vlan: { vid: 10 } });
  assert.equal(tagged.length, f.length + 4);
  assert.equal(parseFrame(tagged).vlan?.vid, 10);
});

test('buildDhcpOffer: server 67 -> client 68 with yiaddr and server id', () => {
  const f = buildDhcpOffer({
    serverMac: '52:54:00:00:00:fe',
    serverIp: '192.0.2.254',
    clientMac: '52:54:00:12:34:56',
    yourIp: '192.0.2.10',
    xid: 7,
  });
  const v = new DataView(f.buffer);
  assert.equal(udp.srcPort(v, kL4), 67);
  assert.equal(udp.dstPort(v, kL4), 68);
  assert.equal(ipv4.parse(f.subarray(kL3)).src, '192.0.2.254');
  assert.equal(f[kBootp], 2, 'op BOOTREPLY');
  assert.equal(v.getUint32(kBootp + 16), 0xc000020a, 'yiaddr');
  assert.deepEqual(Array.from(f.subarray(kBootp + 240, kBootp + 249)), [
    53,
    1,
    DhcpMessageType.offer,
    54,
    4,
    192,
    0,
    2,
    254,
  ]);
  assert.ok(verifyL4(f, kL3, kL4, f.length - kL4, 17));
});

test('buildEthernet: padding to 60, bytes or text MACs, priority tag VID 0, invalid VID', () => {
  const payload = new Uint8Array([1, 2, 3]);
  const short = buildEthernet({
    dst: new Uint8Array([2, 0, 0, 0, 0, 1]),
    src: '02-00-00-00-00-02',
    ethertype: 0x88b5,
    payload,
  });
  assert.equal(toHex(short), '020000000001' + '020000000002' + '88b5' + '010203');
  const padded = buildEthernet({
    dst: '02:00:00:00:00:01',
    src: '02:00:00:00:00:02',
    ethertype: 0x88b5,
    payload,
    pad: true,
  });
  assert.equal(padded.length, 60);
  assert.deepEqual(padded.subarray(0, 17), short);
  assert.deepEqual(padded.subarray(17), new Uint8Array(43));
  const prio = parseFrame(
    buildEthernet({
      dst: '02:00:00:00:00:01',
      src: '02:00:00:00:00:02',
      ethertype: 0x0800,
      payload,
      vlan: { vid: 0, pcp: 6 },
    }),
  );
  assert.deepEqual(prio.vlan, { vid: 0, pcp: 6, dei: false });
  assert.throws(
    () =>
      buildEthernet({
        dst: '02:00:00:00:00:01',
        src: '02:00:00:00:00:02',
        ethertype: 0x0800,
        payload,
        vlan: { vid: 4096 },
      }),
    /invalid VLAN id 4096/,
  );
  assert.throws(
    () => buildEthernet({ dst: new Uint8Array(5), src: '02:00:00:00:00:02', ethertype: 0x0800, payload }),
    /invalid MAC: 5 bytes/,
  );
});

test('buildIpv4 wraps any protocol with a correct header checksum', () => {
  const f = buildIpv4({
    srcMac: '02:00:00:00:00:01',
    dstMac: '01:00:5e:00:00:16',
    srcIp: '192.0.2.1',
    dstIp: '224.0.0.22',
    ttl: 1,
    protocol: ipv4.IpProto.igmp,
    payload: new Uint8Array(8),
  });
  const r = ipv4.parse(f.subarray(kL3));
  assert.equal(r.protocol, 2);
  assert.equal(r.ttl, 1);
  assert.ok(verifyIpv4Header(f, kL3));
});

test('fromHex/toHex round trip and reject junk', () => {
  assert.equal(toHex(fromHex(g.capArpRequest)), g.capArpRequest.replace(/\s/g, ''));
  assert.deepEqual(fromHex('01:02 0a'), new Uint8Array([1, 2, 10]));
  assert.throws(() => fromHex('abc'), /invalid hex/);
  assert.throws(() => fromHex('zz'), /invalid hex/);
});
