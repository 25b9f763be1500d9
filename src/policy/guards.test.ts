/**
 * GuardNode tests: golden frames for every guard case (DHCPv4/DHCPv6 server messages, router
 * advertisements and redirects over IPv4 and IPv6, behind extension headers and split by fragmentation),
 * the MAC spoofing check, priority clearing, drops counted by reason through a real Graph, and
 * properties: truncated or random frames never throw, and no verdict depends on bytes past the slot's len.
 *
 * Frames come from packet/frame.ts; the few shapes it has no builder for (ICMPv4 redirect and router
 * advertisement, IPv6 extension headers and fragments, IPv4 fragments) are assembled here from the packet
 * emitters, and the hand-assembled IPv6 ones are pinned as hex that tshark 4.0 decodes as stated (see
 * kGolden below).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counters, declaredRows, kMaxPorts } from '../dataplane/counters.js';
import './counters.js';
import { Batch, Graph } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { ipv4HeaderChecksum } from '../packet/checksum.js';
import {
  buildArpRequest,
  buildDhcpDiscover,
  buildDhcpOffer,
  buildEthernet,
  buildIcmp6,
  buildIcmp6Echo,
  buildIcmpEcho,
  buildIpv4,
  buildIpv6,
  buildTcp6,
  buildUdp4,
  buildUdp6,
  fromHex,
  toHex,
} from '../packet/frame.js';
import * as icmp from '../packet/icmp.js';
import * as icmpv6 from '../packet/icmpv6.js';
import { Icmp6Type } from '../packet/icmpv6.js';
import { IpProto } from '../packet/ipv4.js';
import { GuardNode } from './guards.js';

const pool = new PacketPool({ slots: 512, slotSize: 4096 });

const vmMac = '52:54:00:12:34:56';
const otherMac = '52:54:00:65:43:21';
const allNodesMac = '33:33:00:00:00:01'; // ff02::1
const dhcp6Mac = '33:33:00:01:00:02'; // ff02::1:2, All_DHCP_Relay_Agents_and_Servers
const ll = 'fe80::5054:ff:fe12:3456'; // the VM's link-local address
const v4 = { srcMac: vmMac, dstMac: otherMac, srcIp: '10.9.0.1', dstIp: '10.9.0.2' };
const v6 = { srcMac: vmMac, dstMac: allNodesMac, srcIp: ll, dstIp: 'ff02::1' };

/** Run frames from `port` through `node` in one batch; the verdict per frame: 'pass' or the drop reason. */
function verdicts(node: GuardNode, frames: Uint8Array[], port = 1): string[] {
  const batch = new Batch();
  for (const f of frames) {
    const s = pool.load(f, port);
    assert.ok(s >= 0);
    pool.meta32[(s << Meta.shift) + Meta.vid] = 1;
    batch.slots[batch.count++] = s;
  }
  node.process(batch);
  const out: string[] = [];
  for (let i = 0; i < batch.count; i++) {
    const s = batch.slots[i];
    const code = pool.meta32[(s << Meta.shift) + Meta.aux];
    out.push(code === 0 ? 'pass' : declaredRows('drop').find((r) => r.index === code)!.name);
    pool.meta32[(s << Meta.shift) + Meta.aux] = 0;
    pool.free(s);
  }
  return out;
}

function arpFrom(srcMac: string): Uint8Array {
  return buildArpRequest({ srcMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
}

function verdict(node: GuardNode, frame: Uint8Array, port = 1): string {
  return verdicts(node, [frame], port)[0];
}

function guarded(opts: Parameters<GuardNode['set']>[1], port = 1): GuardNode {
  const g = new GuardNode(pool);
  g.set(port, opts);
  return g;
}

// --- frames -----------------------------------------------------------------------------------------

/** ICMPv6 message bytes with a correct checksum (the pseudo-header does not include extension headers). */
function icmp6Bytes(type: number, rest: number, body: number[], src = ll, dst = 'ff02::1'): Uint8Array {
  const m = { type, code: 0, rest, payload: Uint8Array.from(body) };
  const b = new Uint8Array(icmpv6.bufferLen(m));
  icmpv6.emit(m, b, 0, { src, dst });
  return b;
}

/** RFC 4861 4.2 router advertisement: cur hop limit 64, no flags, router lifetime 1800 s; reachable/retrans 0. */
const kRaRest = (64 << 24) | 1800;
const kRaBody = [0, 0, 0, 0, 0, 0, 0, 0];
function raBytes(): Uint8Array {
  return icmp6Bytes(Icmp6Type.routerAdvert, kRaRest, kRaBody);
}

function ra(): Uint8Array {
  return buildIcmp6({ ...v6, type: Icmp6Type.routerAdvert, rest: kRaRest, payload: Uint8Array.from(kRaBody) });
}

/** RFC 4861 4.5 redirect: target and destination addresses (here both 2001:db8::9). */
function redirect6(): Uint8Array {
  const addr = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
  return buildIcmp6({
    ...v6,
    dstMac: otherMac,
    dstIp: 'fe80::5054:ff:fe65:4321',
    type: Icmp6Type.redirect,
    payload: Uint8Array.from([...addr, ...addr]),
  });
}

function icmp6(type: number): Uint8Array {
  return buildIcmp6({ ...v6, type });
}

/** An ICMPv4 message of any type around `rest` and `body`. */
function icmp4(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = { type, code, rest, payload: body };
  const b = new Uint8Array(icmp.bufferLen(m));
  icmp.emit(m, b, 0);
  return buildIpv4({ ...v4, protocol: IpProto.icmp, payload: b });
}

/** RFC 792 redirect (code 1, host): gateway 10.9.0.1, then the original IP header + 8 bytes. */
function redirect4(): Uint8Array {
  const orig = buildUdp4({ ...v4, srcIp: '10.9.0.2', dstIp: '192.0.2.7', srcPort: 5000, dstPort: 53 }).slice(
    14,
    14 + 28,
  );
  return icmp4(icmp.IcmpType.redirect, 1, 0x0a090001, orig);
}

/** RFC 1256 router advertisement: 1 address, entry size 2 words, lifetime 1800 s; 10.9.0.1 preference 0. */
function routerAdvert4(): Uint8Array {
  return icmp4(9, 0, (1 << 24) | (2 << 16) | 1800, Uint8Array.from([10, 9, 0, 1, 0, 0, 0, 0]));
}

/** A DHCPv6 message (RFC 8415 section 8): type, transaction id 0x123456, an elapsed-time option. */
function dhcp6(type: number, srcPort: number, dstPort: number, toServers = false): Uint8Array {
  const payload = Uint8Array.from([type, 0x12, 0x34, 0x56, 0, 8, 0, 2, 0, 0]);
  return buildUdp6({
    ...v6,
    dstMac: toServers ? dhcp6Mac : otherMac,
    dstIp: toServers ? 'ff02::1:2' : 'fe80::5054:ff:fe65:4321',
    srcPort,
    dstPort,
    payload,
  });
}

const kDhcp6 = {
  solicit: 1,
  advertise: 2,
  request: 3,
  reply: 7,
  reconfigure: 10,
  informationRequest: 11,
  relayRepl: 13,
};

// Extension headers: [next header, length, options...], each a multiple of 8 bytes.
const kHopByHop = 0;
const kRouting = 43;
const kFragment = 44;
const kDestOpts = 60;
const kAh = 51;
/** Hop-by-hop or destination options header of 8 bytes: one PadN option of 4 bytes fills it. */
function optsHeader(next: number): number[] {
  return [next, 0, 1, 4, 0, 0, 0, 0];
}
/** Hop-by-hop header with a router alert option (RFC 2711, value 0 = MLD), as MLD reports carry. */
function routerAlertHeader(next: number): number[] {
  return [next, 0, 5, 2, 0, 0, 1, 0];
}
/** Type 2 routing header (RFC 6275: one home address), segments left 0; 24 bytes. */
function routingHeader(next: number): number[] {
  return [next, 2, 2, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
}
/** AH (RFC 4302) with a 12-byte ICV: payload length (12 + 12) / 4 - 2 = 4. */
function ahHeader(next: number): number[] {
  return [next, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, ...new Array<number>(12).fill(0xaa)];
}
/** Fragment header: offset in bytes (multiple of 8), M flag, identification 0xdeadbeef. */
function fragHeader(next: number, offset: number, more: boolean): number[] {
  const w = offset | (more ? 1 : 0);
  return [next, 0, w >> 8, w & 0xff, 0xde, 0xad, 0xbe, 0xef];
}

function ipv6With(nextHeader: number, payload: number[] | Uint8Array, dstMac = allNodesMac): Uint8Array {
  return buildIpv6({ ...v6, dstMac, nextHeader, payload: Uint8Array.from(payload) });
}

/** Set an IPv4 frame's fragment fields (MF, offset in bytes) and fix its header checksum. */
function fragment4(frame: Uint8Array, more: boolean, offset: number, cut?: number): Uint8Array {
  const f = cut === undefined ? frame.slice() : frame.slice(0, 14 + cut);
  const v = new DataView(f.buffer);
  v.setUint16(14 + 6, (more ? 0x2000 : 0) | (offset >> 3));
  v.setUint16(14 + 2, f.length - 14);
  v.setUint16(14 + 10, 0);
  v.setUint16(14 + 10, ipv4HeaderChecksum(f, 14));
  return f;
}

/**
 * Hand-assembled IPv6 frames pinned as bytes. Written to a pcap and decoded by tshark 4.0
 * (`-o ipv6.defragment:TRUE`):
 * - raBehindHopByHop: "IPv6 Hop-by-Hop Option" (PadN), next header ICMPv6, "Router Advertisement",
 *   checksum 0xb16b [correct]
 * - raBehindDestOpts: the same behind "Destination Options for IPv6"
 * - fragEvasion1: "IPv6 fragment (off=0 more=y ident=0xdeadbeef nxt=60)" carrying only the first 8 bytes of
 *   a 2048-byte destination options header; with fragEvasion2 (offset 8, the rest of that header, then
 *   the RA) tshark reassembles "[2 IPv6 Fragments (2064 bytes)]" into a "Router Advertisement" with a
 *   correct checksum: the RA guard evasion of RFC 7113 section 2.
 */
const kGolden = {
  raBehindHopByHop:
    '333300000001 525400123456 86dd' +
    '6000 0000 0018 00 40 fe80000000000000505400fffe123456 ff020000000000000000000000000001' +
    '3a 00 0104 00000000' +
    '86 00 b16b 40 00 0708 00000000 00000000',
  raBehindDestOpts:
    '333300000001 525400123456 86dd' +
    '6000 0000 0018 3c 40 fe80000000000000505400fffe123456 ff020000000000000000000000000001' +
    '3a 00 0104 00000000' +
    '86 00 b16b 40 00 0708 00000000 00000000',
  fragEvasion1:
    '333300000001 525400123456 86dd' +
    '6000 0000 0010 2c 40 fe80000000000000505400fffe123456 ff020000000000000000000000000001' +
    '3c 00 0001 deadbeef' +
    '3a ff 01f6 00000000',
};

/** The destination options header of the evasion case: 2048 bytes, one PadN of 246 then Pad1s. */
const kBigOpts = [58, 255, 1, 254 - 8, ...new Array<number>(2048 - 4).fill(0)];

// --- tests ------------------------------------------------------------------------------------------

test('DhcpGuard drops DHCPv4 server messages (from UDP 67); a client DISCOVER from 68 passes', () => {
  const g = guarded({ dhcpGuard: true });
  const offer = buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' });
  const discover = buildDhcpDiscover({ srcMac: vmMac });
  const relayed = buildUdp4({ ...v4, srcPort: 67, dstPort: 67, payload: new Uint8Array(300) }); // relay agent to server
  const dns = buildUdp4({ ...v4, srcPort: 40000, dstPort: 53 });
  assert.deepEqual(verdicts(g, [offer, discover, relayed, dns]), ['dhcp-guard', 'pass', 'dhcp-guard', 'pass']);
  // a padded offer (as v86's NE2K sends) is judged the same: bytes past the IP total length are padding
  assert.equal(
    verdict(
      g,
      buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50', pad: true }),
    ),
    'dhcp-guard',
  );
  // guard off: the offer passes
  assert.equal(verdict(guarded({ routerGuard: true }), offer), 'pass');
  assert.equal(verdict(guarded({}), offer), 'pass');
});

test('DhcpGuard drops DHCPv6 ADVERTISE/REPLY/RECONFIGURE/RELAY-REPL; SOLICIT, REQUEST, INFORMATION-REQUEST pass', () => {
  const g = guarded({ dhcpGuard: true });
  // a server answering from 547 to the client's 546
  assert.deepEqual(
    verdicts(g, [
      dhcp6(kDhcp6.advertise, 547, 546),
      dhcp6(kDhcp6.reply, 547, 546),
      dhcp6(kDhcp6.reconfigure, 547, 546),
    ]),
    ['dhcp-guard', 'dhcp-guard', 'dhcp-guard'],
  );
  // anything from 547 is a server (or relay) talking
  assert.equal(verdict(g, dhcp6(kDhcp6.solicit, 547, 547, true)), 'dhcp-guard');
  // server message types sent to the client port from some other source port are caught by type
  for (const t of [kDhcp6.advertise, kDhcp6.reply, kDhcp6.reconfigure, kDhcp6.relayRepl])
    assert.equal(verdict(g, dhcp6(t, 40000, 546)), 'dhcp-guard', `type ${t}`);
  // client messages pass: to the servers' 547, and even to another client's 546
  assert.deepEqual(
    verdicts(g, [
      dhcp6(kDhcp6.solicit, 546, 547, true),
      dhcp6(kDhcp6.request, 546, 547, true),
      dhcp6(kDhcp6.informationRequest, 546, 547, true),
    ]),
    ['pass', 'pass', 'pass'],
  );
  assert.equal(verdict(g, dhcp6(kDhcp6.solicit, 40000, 546)), 'pass');
  // to 546 with no message type byte, unfragmented: nothing a client would act on
  assert.equal(verdict(g, buildUdp6({ ...v6, srcPort: 40000, dstPort: 546 })), 'pass');
  // other IPv6 UDP and TCP pass; the guard off lets the ADVERTISE through
  assert.equal(verdict(g, buildUdp6({ ...v6, srcPort: 40000, dstPort: 53 })), 'pass');
  assert.equal(
    verdict(g, buildTcp6({ ...v6, dstMac: otherMac, dstIp: 'fe80::1', srcPort: 547, dstPort: 546 })),
    'pass',
    'TCP is not DHCPv6',
  );
  assert.equal(verdict(guarded({ routerGuard: true }), dhcp6(kDhcp6.advertise, 547, 546)), 'pass');
});

test('RouterGuard drops RA and redirect over IPv6 and IPv4; router solicitation, ND and echo pass', () => {
  const g = guarded({ routerGuard: true });
  assert.deepEqual(verdicts(g, [ra(), redirect6(), redirect4(), routerAdvert4()]), [
    'router-guard',
    'router-guard',
    'router-guard',
    'router-guard',
  ]);
  assert.deepEqual(
    verdicts(g, [
      icmp6(Icmp6Type.routerSolicit),
      icmp6(Icmp6Type.neighborSolicit),
      icmp6(Icmp6Type.neighborAdvert),
      buildIcmp6Echo(v6),
      buildIcmpEcho(v4),
      icmp4(icmp.IcmpType.destUnreachable, 3, 0, new Uint8Array(28)),
      icmp4(10, 0, 0, new Uint8Array(0)), // ICMPv4 router solicitation (RFC 1256)
      buildArpRequest({ srcMac: vmMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' }),
    ]),
    ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass'],
  );
  // the guard off (or only the DHCP guard on) lets a router be a router
  assert.deepEqual(verdicts(guarded({ dhcpGuard: true }), [ra(), redirect6(), redirect4(), routerAdvert4()]), [
    'pass',
    'pass',
    'pass',
    'pass',
  ]);
});

test('golden frames: the tshark-checked bytes match the builders here, and the guards judge them', () => {
  const raB = Array.from(raBytes());
  const built = {
    raBehindHopByHop: ipv6With(kHopByHop, [...optsHeader(58), ...raB]),
    raBehindDestOpts: ipv6With(kDestOpts, [...optsHeader(58), ...raB]),
    fragEvasion1: ipv6With(kFragment, [...fragHeader(kDestOpts, 0, true), ...kBigOpts.slice(0, 8)]),
  };
  for (const [name, hex] of Object.entries(kGolden))
    assert.equal(toHex(built[name as keyof typeof built]), toHex(fromHex(hex)), name);
  const rg = guarded({ routerGuard: true });
  assert.deepEqual(
    verdicts(rg, [fromHex(kGolden.raBehindHopByHop), fromHex(kGolden.raBehindDestOpts), fromHex(kGolden.fragEvasion1)]),
    ['router-guard', 'router-guard', 'router-guard'],
  );
  assert.deepEqual(verdicts(guarded({}), [fromHex(kGolden.raBehindHopByHop), fromHex(kGolden.fragEvasion1)]), [
    'pass',
    'pass',
  ]);
});

test('RouterGuard finds an RA behind hop-by-hop, destination options, routing and AH headers', () => {
  const g = guarded({ routerGuard: true });
  const raB = Array.from(raBytes());
  const echoB = Array.from(icmp6Bytes(Icmp6Type.echoRequest, 0x00010001, [1, 2, 3, 4]));
  const chains: [string, number, number[]][] = [
    ['hop-by-hop', kHopByHop, optsHeader(58)],
    ['destination options', kDestOpts, optsHeader(58)],
    ['routing', kRouting, routingHeader(58)],
    ['AH', kAh, ahHeader(58)],
    [
      'hop-by-hop, destination options, routing, destination options',
      kHopByHop,
      [...optsHeader(kDestOpts), ...optsHeader(kRouting), ...routingHeader(kDestOpts), ...optsHeader(58)],
    ],
    ['a 2048-byte destination options header', kDestOpts, kBigOpts],
  ];
  for (const [name, first, headers] of chains) {
    assert.equal(verdict(g, ipv6With(first, [...headers, ...raB])), 'router-guard', `RA behind ${name}`);
    assert.equal(verdict(g, ipv6With(first, [...headers, ...echoB])), 'pass', `echo behind ${name}`);
  }
  // an MLDv2 report carries a hop-by-hop router alert: it is not a router message
  const mld = icmp6Bytes(143, 1, [4, 0, 0, 0, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb], ll, 'ff02::16');
  assert.equal(verdict(g, ipv6With(kHopByHop, [...routerAlertHeader(58), ...mld], '33:33:00:00:00:16')), 'pass');
  // DHCPv6 behind a destination options header is found by the DHCP guard too
  const adv = dhcp6(kDhcp6.advertise, 547, 546).slice(14 + 40);
  assert.equal(
    verdict(guarded({ dhcpGuard: true }), ipv6With(kDestOpts, [...optsHeader(IpProto.udp), ...adv], otherMac)),
    'dhcp-guard',
  );
  // "no next header" (59) and ESP (50) end the walk: nothing to match
  assert.equal(verdict(g, ipv6With(kHopByHop, [...optsHeader(59)])), 'pass');
  assert.equal(verdict(g, ipv6With(50, [0, 0, 1, 0, 0, 0, 0, 1, ...raB])), 'pass');
});

test('fragmentation: an RA or DHCPv6 server message split so its header is not in the first fragment is dropped', () => {
  const rg = guarded({ routerGuard: true });
  const dg = guarded({ dhcpGuard: true });
  const raB = Array.from(raBytes());
  // RFC 7113 section 3 evasion: the first fragment holds only part of a long destination options header;
  // the RA follows in the second fragment
  const bigOpts = kBigOpts;
  const frag1 = ipv6With(kFragment, [...fragHeader(kDestOpts, 0, true), ...bigOpts.slice(0, 8)]);
  const frag2 = ipv6With(kFragment, [...fragHeader(kDestOpts, 8, false), ...bigOpts.slice(8), ...raB]);
  assert.equal(verdict(rg, frag1), 'router-guard', 'first fragment without the upper-layer header');
  assert.equal(verdict(dg, frag1), 'dhcp-guard', 'the DHCP guard alone drops it too: its upper layer is unknown');
  assert.equal(verdict(guarded({ routerGuard: true, dhcpGuard: true }), frag1), 'router-guard');
  assert.equal(verdict(rg, frag2), 'pass', 'a later fragment cannot be judged: reassembly fails without the first');
  assert.equal(verdict(guarded({ mac: vmMac }), frag1), 'pass', 'no inspecting guard: fragments are not touched');
  // the whole RA inside a first fragment, behind the fragment header: judged and dropped
  assert.equal(verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, true), ...raB])), 'router-guard');
  // a first fragment that ends right after the ICMPv6 type/UDP header, with the rest later
  assert.equal(
    verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, true)])),
    'router-guard',
    'empty first fragment of ICMPv6',
  );
  const toClient = Array.from(
    buildUdp6({ ...v6, srcPort: 40000, dstPort: 546, payload: new Uint8Array(16) }).slice(14 + 40),
  );
  assert.equal(
    verdict(dg, ipv6With(kFragment, [...fragHeader(17, 0, true), ...toClient.slice(0, 8)])),
    'dhcp-guard',
    'DHCPv6 type in fragment 2',
  );
  // an echo or DNS query in a first fragment is not a guard's business
  const echoB = Array.from(icmp6Bytes(Icmp6Type.echoRequest, 0x00010001, new Array<number>(16).fill(7)));
  assert.equal(verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, true), ...echoB])), 'pass');
  const dns = Array.from(buildUdp6({ ...v6, srcPort: 40000, dstPort: 53, payload: new Uint8Array(16) }).slice(14 + 40));
  assert.equal(verdict(dg, ipv6With(kFragment, [...fragHeader(17, 0, true), ...dns.slice(0, 16)])), 'pass');
  assert.equal(
    verdict(dg, ipv6With(kFragment, [...fragHeader(6, 0, true)])),
    'pass',
    'a TCP first fragment is neither guard’s',
  );
  // atomic fragments (offset 0, M clear) are whole datagrams
  assert.equal(verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, false), ...raB])), 'router-guard');
  assert.equal(verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, false), ...echoB])), 'pass');
  assert.equal(
    verdict(rg, ipv6With(kFragment, [...fragHeader(58, 0, false)])),
    'pass',
    'an empty atomic fragment is whole: nothing follows',
  );
  // a middle fragment (offset 8, more to come) whose data happens to read like an RA is data, not a header
  assert.equal(verdict(rg, ipv6With(kFragment, [...fragHeader(58, 8, true), ...raB])), 'pass');
  // unfragmented and cut short: a receiver discards it, so it passes as "not matching"
  assert.equal(
    verdict(rg, ipv6With(kHopByHop, [58, 1, 1, 4, 0, 0, 0, 0])),
    'pass',
    'extension header longer than the datagram',
  );
  assert.equal(verdict(rg, ipv6With(58, [])), 'pass', 'ICMPv6 with no bytes');
  assert.equal(verdict(dg, ipv6With(17, [0x02, 0x23])), 'pass', 'UDP without a destination port');
});

test('IPv4 fragments: a first fragment is judged, a later one passes, a tiny first fragment is dropped', () => {
  const dg = guarded({ dhcpGuard: true });
  const rg = guarded({ routerGuard: true });
  const offer = buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' });
  assert.equal(verdict(dg, fragment4(offer, true, 0, 20 + 16)), 'dhcp-guard', 'first fragment of an offer');
  // a later fragment whose first bytes happen to read 67 is payload, not a UDP header
  const later = fragment4(buildUdp4({ ...v4, srcPort: 67, dstPort: 68, payload: new Uint8Array(64) }), false, 1480);
  assert.equal(verdict(dg, later), 'pass');
  const dns = buildUdp4({ ...v4, srcPort: 40000, dstPort: 53, payload: new Uint8Array(64) });
  assert.equal(verdict(dg, fragment4(dns, true, 0, 20 + 24)), 'pass', 'first fragment of a DNS message');
  // first fragments with no L4 bytes at all: the port or type is in a later fragment
  assert.equal(verdict(dg, fragment4(dns, true, 0, 20)), 'dhcp-guard');
  assert.equal(verdict(rg, fragment4(buildIcmpEcho(v4), true, 0, 20)), 'router-guard');
  // the same zero-payload datagrams unfragmented are just malformed: a receiver discards them
  assert.equal(verdict(dg, fragment4(dns, false, 0, 20)), 'pass');
  assert.equal(verdict(rg, fragment4(buildIcmpEcho(v4), false, 0, 20)), 'pass');
});

test('Ethernet padding after the IP datagram is never read as payload', () => {
  const dg = guarded({ dhcpGuard: true });
  const rg = guarded({ routerGuard: true });
  // UDP to 546 with no DHCPv6 message, then padding whose first byte is REPLY (7)
  const udp546 = buildUdp6({ ...v6, srcPort: 40000, dstPort: 546 });
  assert.equal(verdict(dg, Uint8Array.from([...udp546, kDhcp6.reply, 0, 0, 0])), 'pass');
  // ICMPv6 and ICMPv4 datagrams with no message, then padding that reads like an RA type
  assert.equal(verdict(rg, Uint8Array.from([...ipv6With(58, []), Icmp6Type.routerAdvert, 0, 0, 0])), 'pass');
  assert.equal(verdict(rg, Uint8Array.from([...fragment4(buildIcmpEcho(v4), false, 0, 20), 9, 0, 0, 0, 0, 0])), 'pass');
  // a hop-by-hop header that ends the datagram, padding behind it
  assert.equal(verdict(rg, Uint8Array.from([...ipv6With(kHopByHop, optsHeader(58)), ...raBytes()])), 'pass');
});

test('frames shorter than an Ethernet header are not judged (ingress drops them as malformed)', () => {
  const g = guarded({ mac: vmMac, dhcpGuard: true, routerGuard: true });
  const spoofed = buildArpRequest({ srcMac: otherMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
  assert.equal(verdict(g, spoofed), 'mac-spoofing');
  const s = pool.load(spoofed, 1);
  const batch = new Batch();
  for (let n = 0; n < 14; n++) {
    pool.meta32[(s << Meta.shift) + Meta.len] = n; // the spoofed source MAC is still in the slot, past the frame's end
    batch.slots[0] = s;
    batch.count = 1;
    g.process(batch);
    assert.equal(pool.meta32[(s << Meta.shift) + Meta.aux], 0, `${n} bytes`);
  }
  pool.free(s);
});

test('MacAddressSpoofing: with a port MAC, other sources drop unless spoofing is allowed; no MAC, no check', () => {
  const g = new GuardNode(pool);
  const own = buildArpRequest({ srcMac: vmMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
  const spoofed = buildArpRequest({ srcMac: otherMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
  const nearMiss = buildArpRequest({ srcMac: '52:54:00:12:34:57', srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
  const hiMiss = buildArpRequest({ srcMac: '53:54:00:12:34:56', srcIp: '10.9.0.1', targetIp: '10.9.0.2' });
  g.set(1, { mac: vmMac });
  assert.deepEqual(verdicts(g, [own, spoofed, nearMiss, hiMiss]), [
    'pass',
    'mac-spoofing',
    'mac-spoofing',
    'mac-spoofing',
  ]);
  g.set(1, { mac: vmMac, macAddressSpoofing: true });
  assert.deepEqual(verdicts(g, [own, spoofed, nearMiss, hiMiss]), ['pass', 'pass', 'pass', 'pass']);
  g.set(1, { mac: vmMac, macAddressSpoofing: false });
  assert.deepEqual(verdicts(g, [own, spoofed]), ['pass', 'mac-spoofing']);
  // Windows and Hyper-V spellings of the same MAC
  g.set(1, { mac: '52-54-00-12-34-56' });
  assert.deepEqual(verdicts(g, [own, spoofed]), ['pass', 'mac-spoofing']);
  g.set(1, { mac: '525400123456' });
  assert.deepEqual(verdicts(g, [own, spoofed]), ['pass', 'mac-spoofing']);
  // other ports are unaffected; a port with guards but no MAC is not checked
  assert.deepEqual(verdicts(g, [own, spoofed], 2), ['pass', 'pass']);
  g.set(3, { macAddressSpoofing: false, dhcpGuard: true });
  assert.deepEqual(verdicts(g, [own, spoofed], 3), ['pass', 'pass']);
  g.clear(1);
  assert.deepEqual(verdicts(g, [own, spoofed]), ['pass', 'pass']);
  // a MAC whose low word is above 2^31 compares as unsigned on both sides
  const high = '52:54:80:12:34:56';
  g.set(4, { mac: high });
  assert.deepEqual(verdicts(g, [arpFrom(high), arpFrom('52:54:80:12:34:55')], 4), ['pass', 'mac-spoofing']);
  // spoofing is judged first: a spoofed DHCP offer counts as spoofing
  g.set(5, { mac: vmMac, dhcpGuard: true });
  assert.equal(
    verdict(g, buildDhcpOffer({ serverMac: otherMac, serverIp: '10.9.0.1', clientMac: vmMac, yourIp: '10.9.0.50' }), 5),
    'mac-spoofing',
  );
  assert.equal(
    verdict(g, buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' }), 5),
    'dhcp-guard',
  );
});

test('IeeePriorityTag false clears the PCP; true or absent keeps it', () => {
  const g = new GuardNode(pool);
  g.set(1, { ieeePriorityTag: false });
  g.set(2, { ieeePriorityTag: true });
  g.set(3, { dhcpGuard: true });
  const frame = buildUdp4({ ...v4, srcPort: 40000, dstPort: 53 });
  const batch = new Batch();
  for (const port of [1, 2, 3, 4]) {
    const s = pool.load(frame, port);
    pool.meta32[(s << Meta.shift) + Meta.vid] = 10;
    pool.meta32[(s << Meta.shift) + Meta.pcp] = 5; // as ingress sets it from the 802.1Q tag
    batch.slots[batch.count++] = s;
  }
  g.process(batch);
  const pcps = Array.from(batch.slots.subarray(0, 4), (s) => pool.meta32[(s << Meta.shift) + Meta.pcp]);
  const auxes = Array.from(batch.slots.subarray(0, 4), (s) => pool.meta32[(s << Meta.shift) + Meta.aux]);
  for (const s of batch.slots.subarray(0, 4)) pool.free(s);
  assert.deepEqual(pcps, [0, 5, 5, 5]);
  assert.deepEqual(auxes, [0, 0, 0, 0]);
});

test('settings are validated on the control path', () => {
  const g = new GuardNode(pool);
  assert.throws(() => g.set(-1, {}), /port index/);
  assert.throws(() => g.set(kMaxPorts, {}), /port index/);
  assert.throws(() => g.set(1.5, {}), /port index/);
  assert.throws(() => g.clear(kMaxPorts), /port index/);
  assert.throws(() => g.set(1, { mac: 'not-a-mac' }), /invalid MAC/);
  assert.throws(() => g.set(1, { mac: '52:54:00:12:34' }), /invalid MAC/);
  // an explicit undefined MAC (the engine spreads { mac, ...policy }) means "no MAC": not checked
  g.set(1, { mac: undefined, macAddressSpoofing: false });
  assert.equal(verdict(g, buildArpRequest({ srcMac: otherMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' })), 'pass');
  // a failed set leaves the previous settings in force
  g.set(1, { mac: vmMac });
  assert.throws(() => g.set(1, { mac: 'bad' }));
  assert.equal(
    verdict(g, buildArpRequest({ srcMac: otherMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' })),
    'mac-spoofing',
  );
});

test('through a Graph: drops are counted per port by reason and the survivors go on', () => {
  const counters = new Counters();
  const g = new GuardNode(pool);
  g.set(1, { mac: vmMac, dhcpGuard: true, routerGuard: true });
  const graph = new Graph(pool, counters).add(g);
  const frames = [
    buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' }),
    ra(),
    redirect4(),
    buildArpRequest({ srcMac: otherMac, srcIp: '10.9.0.1', targetIp: '10.9.0.2' }),
    buildIcmpEcho(v4),
    buildDhcpDiscover({ srcMac: vmMac }),
  ];
  const before = pool.available;
  const batch = new Batch();
  for (const f of frames) batch.slots[batch.count++] = pool.load(f, 1);
  const survivors = [batch.slots[4], batch.slots[5]];
  graph.run(batch);
  assert.equal(batch.count, 2);
  assert.deepEqual(Array.from(batch.slots.subarray(0, 2)), survivors);
  assert.deepEqual(counters.readPort(1).drops, { 'mac-spoofing': 1, 'dhcp-guard': 1, 'router-guard': 2 });
  for (const s of batch.slots.subarray(0, 2)) pool.free(s);
  assert.equal(pool.available, before, 'dropped slots were freed');
});

/** Frames every guard drops whole (one per case), for the truncation test. */
function allFrames(): Uint8Array[] {
  const raB = Array.from(raBytes());
  return [
    buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' }),
    dhcp6(kDhcp6.advertise, 547, 546),
    dhcp6(kDhcp6.reply, 40000, 546),
    ra(),
    redirect6(),
    redirect4(),
    routerAdvert4(),
    ipv6With(kHopByHop, [
      ...optsHeader(kDestOpts),
      ...optsHeader(kRouting),
      ...routingHeader(kAh),
      ...ahHeader(58),
      ...raB,
    ]),
    ipv6With(kFragment, [...fragHeader(58, 0, true), ...raB]),
    fragment4(
      buildDhcpOffer({ serverMac: vmMac, serverIp: '10.9.0.1', clientMac: otherMac, yourIp: '10.9.0.50' }),
      true,
      0,
      20 + 16,
    ),
  ];
}

test('truncated frames never throw and are judged only on the bytes within the frame length', () => {
  const g = guarded({ mac: vmMac, dhcpGuard: true, routerGuard: true, ieeePriorityTag: false });
  for (const frame of allFrames()) {
    assert.notEqual(verdict(g, frame), 'pass', `the whole frame is dropped: ${toHex(frame)}`);
    // every strict prefix: the IP length fields now claim more than the frame holds, so nothing matches,
    // even though the slot still holds the rest of the frame right after the slot's len
    const s = pool.load(frame, 1);
    const batch = new Batch();
    for (let n = 0; n < frame.length; n++) {
      pool.meta32[(s << Meta.shift) + Meta.len] = n;
      batch.slots[0] = s;
      batch.count = 1;
      g.process(batch);
      assert.equal(
        pool.meta32[(s << Meta.shift) + Meta.aux],
        0,
        `prefix of ${n} bytes of ${toHex(frame.subarray(0, 20))}...`,
      );
    }
    pool.free(s);
  }
});

test('property: random IP frames never throw, and bytes past the frame length never change a verdict', () => {
  const g = guarded({ mac: vmMac, dhcpGuard: true, routerGuard: true });
  const eth = Array.from(fromHex('333300000001 525400123456'));
  const arb = fc.record({
    type: fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8100),
    // bias the first bytes towards plausible IP headers so the walk gets exercised
    head: fc.oneof(
      fc.constant([0x45, 0]),
      fc.constant([0x60, 0]),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 2 }),
    ),
    body: fc.uint8Array({ minLength: 0, maxLength: 200 }),
    tail: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    nexts: fc.array(fc.constantFrom(0, 43, 44, 51, 60, 17, 58, 1), { minLength: 0, maxLength: 6 }),
  });
  fc.assert(
    fc.property(arb, ({ type, head, body, tail, nexts }) => {
      const bytes = Uint8Array.from([...eth, type >> 8, type & 0xff, ...head, ...body]);
      // sprinkle plausible next-header values where an IPv6 walk would look
      for (let i = 0; i < nexts.length; i++) {
        const at = 14 + 6 + i * 8;
        if (at < bytes.length) bytes[at] = nexts[i];
      }
      const s = pool.load(Uint8Array.from([...bytes, ...tail]), 1);
      const batch = new Batch();
      batch.slots[0] = s;
      batch.count = 1;
      pool.meta32[(s << Meta.shift) + Meta.len] = bytes.length;
      g.process(batch);
      const withTail = pool.meta32[(s << Meta.shift) + Meta.aux];
      pool.meta32[(s << Meta.shift) + Meta.aux] = 0;
      pool.bytes.fill(0, pool.frameStart(s) + bytes.length, pool.frameStart(s) + bytes.length + tail.length);
      g.process(batch);
      const withZeros = pool.meta32[(s << Meta.shift) + Meta.aux];
      pool.meta32[(s << Meta.shift) + Meta.aux] = 0;
      pool.free(s);
      assert.equal(withTail, withZeros);
    }),
    { numRuns: 3000 },
  );
});

test('property: an RA behind any chain of extension headers is dropped, an echo behind it passes', () => {
  const g = guarded({ routerGuard: true });
  const raB = Array.from(raBytes());
  const echoB = Array.from(icmp6Bytes(Icmp6Type.echoRequest, 0x00010001, [1, 2, 3, 4]));
  const ext = fc.oneof(
    fc.record({ kind: fc.constantFrom(kHopByHop, kDestOpts, kRouting), units: fc.integer({ min: 0, max: 8 }) }),
    fc.record({ kind: fc.constant(kAh), units: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ kind: fc.constant(kFragment), units: fc.constant(0) }),
  );
  fc.assert(
    fc.property(fc.array(ext, { minLength: 0, maxLength: 6 }), (chain) => {
      const build = (upper: number[]): Uint8Array => {
        const parts: number[] = [];
        for (let i = 0; i < chain.length; i++) {
          const next = i + 1 < chain.length ? chain[i + 1].kind : 58;
          const { kind, units } = chain[i];
          if (kind === kFragment) parts.push(...fragHeader(next, 0, false));
          else if (kind === kAh) parts.push(next, units, ...new Array<number>((units + 2) * 4 - 2).fill(0));
          else parts.push(next, units, ...new Array<number>((units + 1) * 8 - 2).fill(0)); // Pad1 options
        }
        return ipv6With(chain.length === 0 ? 58 : chain[0].kind, [...parts, ...upper]);
      };
      assert.equal(verdict(g, build(raB)), 'router-guard');
      assert.equal(verdict(g, build(echoB)), 'pass');
    }),
    { numRuns: 500 },
  );
});

test('a frame for an unguarded port costs nothing and changes nothing; an empty batch is fine', () => {
  const g = new GuardNode(pool);
  assert.deepEqual(
    verdicts(g, [ra(), buildEthernet({ dst: otherMac, src: vmMac, ethertype: 0x88b5, payload: new Uint8Array(0) })], 7),
    ['pass', 'pass'],
  );
  g.process(new Batch());
});
