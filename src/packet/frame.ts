/**
 * Whole-frame builders for tests and the control plane: one call gives the bytes a real stack would put
 * on the wire, checksums included.
 *
 * Why: switch tests (forwarding, VLANs, guards, ACLs, offloads) need realistic frames without each
 * test hand-assembling headers; the control plane needs the same to inject probes. `parseFrame` is the
 * inverse of `buildEthernet` so tests can look at what came out of a port.
 *
 * Trade-offs: control path only (allocates, throws on bad input). Frames are NOT padded to 60 bytes
 * unless `pad` is set, because the kernel never pads what it writes to a TAP (a real ARP is 42 bytes) and
 * the switch must handle both. Defaults follow Linux (TTL/hop limit 64, TCP window 64240).
 */
import * as arp from './arp.js';
import * as eth from './ethernet.js';
import { EtherType, kMinFrameLen } from './ethernet.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import { parseIpv4 } from './ipaddr.js';
import { IpProto } from './ipv4.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { formatMac, parseMac } from './mac.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import * as vlan from './vlan.js';

/** A MAC as text ("52:54:00:12:34:56") or six bytes. */
export type MacLike = string | Uint8Array;

/** An 802.1Q tag to insert; pcp defaults to 0. VID 0 makes a priority tag. */
export interface VlanTag {
  vid: number;
  pcp?: number;
  dei?: boolean;
}

/** Options every builder takes. */
export interface L2Options {
  vlan?: VlanTag;
  /** Pad with zeros to 60 bytes (the minimum without FCS), as a NIC or v86's NE2K would. */
  pad?: boolean;
}

export interface EthernetSpec extends L2Options {
  dst: MacLike;
  src: MacLike;
  ethertype: number;
  payload: Uint8Array;
}

const kBroadcastMac = 'ff:ff:ff:ff:ff:ff';
const kZeroMac = '00:00:00:00:00:00';
const kDefaultTtl = 64; // Linux net.ipv4.ip_default_ttl and IPv6 hop limit default
const kDefaultWindow = 64240; // Linux initial TCP window (44 * 1460), seen in real SYNs
const kEmpty = new Uint8Array(0);

function macText(m: MacLike): string {
  if (typeof m === 'string') return formatMac(parseMac(m));
  if (m.length !== 6) throw new Error(`invalid MAC: ${m.length} bytes, expected 6`);
  return formatMac(m);
}

/** Build an Ethernet frame, optionally 802.1Q-tagged and padded. */
export function buildEthernet(spec: EthernetSpec): Uint8Array {
  let payload = spec.payload;
  let ethertype = spec.ethertype;
  if (spec.vlan) {
    const t = spec.vlan;
    if (!Number.isInteger(t.vid) || t.vid < 0 || t.vid > vlan.kVidMask)
      throw new Error(`invalid VLAN id ${t.vid}: expected 0..4095`);
    const tag: vlan.VlanRepr = { pcp: t.pcp ?? 0, dei: t.dei ?? false, vid: t.vid, ethertype, payload };
    payload = new Uint8Array(vlan.bufferLen(tag));
    vlan.emit(tag, payload, 0);
    ethertype = vlan.kTpid;
  }
  const repr: eth.EthernetRepr = { dst: macText(spec.dst), src: macText(spec.src), ethertype, payload };
  const len = eth.bufferLen(repr);
  const out = new Uint8Array(spec.pad ? Math.max(len, kMinFrameLen) : len);
  eth.emit(repr, out, 0);
  return out;
}

/** What `parseFrame` returns: the inverse of `buildEthernet` (the tag, if any, taken apart). */
export interface ParsedFrame {
  dst: string;
  src: string;
  vlan?: { vid: number; pcp: number; dei: boolean };
  ethertype: number; // after the tag, if tagged
  payload: Uint8Array; // after the tag, if tagged; includes any padding
}

/** Take a frame apart. Only a 0x8100 tag is removed; a 0x88a8 frame is reported with that EtherType. */
export function parseFrame(bytes: Uint8Array): ParsedFrame {
  const e = eth.parse(bytes);
  if (e.ethertype !== vlan.kTpid) return e;
  const t = vlan.parse(e.payload);
  return {
    dst: e.dst,
    src: e.src,
    vlan: { vid: t.vid, pcp: t.pcp, dei: t.dei },
    ethertype: t.ethertype,
    payload: t.payload,
  };
}

export interface ArpRequestSpec extends L2Options {
  srcMac: MacLike;
  srcIp: string;
  targetIp: string; // equal to srcIp for a gratuitous ARP
}

/** Who has targetIp? Tell srcIp: broadcast, target MAC zero (42 bytes untagged, unpadded). */
export function buildArpRequest(spec: ArpRequestSpec): Uint8Array {
  const a: arp.ArpRepr = {
    operation: arp.ArpOp.request,
    senderMac: macText(spec.srcMac),
    senderIp: spec.srcIp,
    targetMac: kZeroMac,
    targetIp: spec.targetIp,
  };
  return l2(
    spec,
    kBroadcastMac,
    spec.srcMac,
    EtherType.arp,
    emitted(arp.bufferLen(a), (b) => arp.emit(a, b, 0)),
  );
}

export interface ArpReplySpec extends L2Options {
  srcMac: MacLike;
  srcIp: string;
  dstMac: MacLike;
  dstIp: string;
}

/** srcIp is at srcMac, unicast to dstMac. */
export function buildArpReply(spec: ArpReplySpec): Uint8Array {
  const a: arp.ArpRepr = {
    operation: arp.ArpOp.reply,
    senderMac: macText(spec.srcMac),
    senderIp: spec.srcIp,
    targetMac: macText(spec.dstMac),
    targetIp: spec.dstIp,
  };
  return l2(
    spec,
    spec.dstMac,
    spec.srcMac,
    EtherType.arp,
    emitted(arp.bufferLen(a), (b) => arp.emit(a, b, 0)),
  );
}

/** Addresses and IPv4 header options for the IPv4 builders. */
export interface Ip4Spec extends L2Options {
  srcMac: MacLike;
  dstMac: MacLike;
  srcIp: string;
  dstIp: string;
  ttl?: number; // default 64
  ident?: number; // default 0
  dscp?: number; // default 0
  dontFragment?: boolean; // default false
}

/** Addresses and header fields for the IPv6 builders. */
export interface Ip6Spec extends L2Options {
  srcMac: MacLike;
  dstMac: MacLike;
  srcIp: string;
  dstIp: string;
  hopLimit?: number; // default 64
  trafficClass?: number;
  flowLabel?: number;
}

/** An IPv4 frame around any payload (the payload's own checksum is the caller's). */
export function buildIpv4(spec: Ip4Spec & { protocol: number; payload: Uint8Array }): Uint8Array {
  const ip: ipv4.Ipv4Repr = {
    dscp: spec.dscp ?? 0,
    ecn: 0,
    ident: spec.ident ?? 0,
    dontFragment: spec.dontFragment ?? false,
    moreFragments: false,
    fragOffset: 0,
    ttl: spec.ttl ?? kDefaultTtl,
    protocol: spec.protocol,
    src: spec.srcIp,
    dst: spec.dstIp,
    options: kEmpty,
    payload: spec.payload,
  };
  return l2(
    spec,
    spec.dstMac,
    spec.srcMac,
    EtherType.ipv4,
    emitted(ipv4.bufferLen(ip), (b) => ipv4.emit(ip, b, 0)),
  );
}

/** An IPv6 frame around any payload (no extension headers unless the payload carries them). */
export function buildIpv6(spec: Ip6Spec & { nextHeader: number; payload: Uint8Array }): Uint8Array {
  const ip: ipv6.Ipv6Repr = {
    trafficClass: spec.trafficClass ?? 0,
    flowLabel: spec.flowLabel ?? 0,
    nextHeader: spec.nextHeader,
    hopLimit: spec.hopLimit ?? kDefaultTtl,
    src: spec.srcIp,
    dst: spec.dstIp,
    payload: spec.payload,
  };
  return l2(
    spec,
    spec.dstMac,
    spec.srcMac,
    EtherType.ipv6,
    emitted(ipv6.bufferLen(ip), (b) => ipv6.emit(ip, b, 0)),
  );
}

export interface EchoOptions {
  id?: number; // default 1
  seq?: number; // default 1
  reply?: boolean; // echo reply instead of request
  payload?: Uint8Array; // default: 56 bytes 0x00.. like ping's default size
}

const kPingPayloadLen = 56; // iputils ping default data size
function pingPayload(): Uint8Array {
  return Uint8Array.from({ length: kPingPayloadLen }, (_, i) => i);
}

/** ICMPv4 echo request (or reply) with a correct checksum. */
export function buildIcmpEcho(spec: Ip4Spec & EchoOptions): Uint8Array {
  const m: icmp.IcmpRepr = {
    type: spec.reply ? icmp.IcmpType.echoReply : icmp.IcmpType.echoRequest,
    code: 0,
    rest: icmp.echoRest(spec.id ?? 1, spec.seq ?? 1),
    payload: spec.payload ?? pingPayload(),
  };
  return buildIpv4({ ...spec, protocol: IpProto.icmp, payload: emitted(icmp.bufferLen(m), (b) => icmp.emit(m, b, 0)) });
}

/** Any ICMPv6 message (e.g. a router advertisement for router-guard tests) with a correct checksum. */
export function buildIcmp6(
  spec: Ip6Spec & { type: number; code?: number; rest?: number; payload?: Uint8Array },
): Uint8Array {
  const m: icmpv6.Icmpv6Repr = {
    type: spec.type,
    code: spec.code ?? 0,
    rest: spec.rest ?? 0,
    payload: spec.payload ?? kEmpty,
  };
  const ph = { src: spec.srcIp, dst: spec.dstIp };
  return buildIpv6({
    ...spec,
    nextHeader: IpProto.icmpv6,
    payload: emitted(icmpv6.bufferLen(m), (b) => icmpv6.emit(m, b, 0, ph)),
  });
}

/** ICMPv6 echo request (or reply) with a correct checksum. */
export function buildIcmp6Echo(spec: Ip6Spec & EchoOptions): Uint8Array {
  return buildIcmp6({
    ...spec,
    type: spec.reply ? icmpv6.Icmp6Type.echoReply : icmpv6.Icmp6Type.echoRequest,
    code: 0,
    rest: icmp.echoRest(spec.id ?? 1, spec.seq ?? 1),
    payload: spec.payload ?? pingPayload(),
  });
}

export interface UdpOptions {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

function udpBytes(spec: UdpOptions & { srcIp: string; dstIp: string }): Uint8Array {
  const u: udp.UdpRepr = { srcPort: spec.srcPort, dstPort: spec.dstPort, payload: spec.payload ?? kEmpty };
  return emitted(udp.bufferLen(u), (b) => udp.emit(u, b, 0, { src: spec.srcIp, dst: spec.dstIp }));
}

/** UDP over IPv4 with a correct checksum. */
export function buildUdp4(spec: Ip4Spec & UdpOptions): Uint8Array {
  return buildIpv4({ ...spec, protocol: IpProto.udp, payload: udpBytes(spec) });
}

/** UDP over IPv6 with a correct (mandatory) checksum. */
export function buildUdp6(spec: Ip6Spec & UdpOptions): Uint8Array {
  return buildIpv6({ ...spec, nextHeader: IpProto.udp, payload: udpBytes(spec) });
}

export interface TcpOptions {
  srcPort: number;
  dstPort: number;
  seq?: number; // default 0
  ack?: number; // default 0
  flags?: number; // default SYN
  window?: number; // default 64240
  options?: Uint8Array; // raw TCP options, multiple of 4 bytes
  payload?: Uint8Array;
}

function tcpBytes(spec: TcpOptions & { srcIp: string; dstIp: string }): Uint8Array {
  const t: tcp.TcpRepr = {
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq ?? 0,
    ack: spec.ack ?? 0,
    flags: spec.flags ?? tcp.TcpFlag.syn,
    window: spec.window ?? kDefaultWindow,
    urgent: 0,
    options: spec.options ?? kEmpty,
    payload: spec.payload ?? kEmpty,
  };
  return emitted(tcp.bufferLen(t), (b) => tcp.emit(t, b, 0, { src: spec.srcIp, dst: spec.dstIp }));
}

/** TCP over IPv4 (a SYN by default) with a correct checksum. */
export function buildTcp4(spec: Ip4Spec & TcpOptions): Uint8Array {
  return buildIpv4({ ...spec, protocol: IpProto.tcp, payload: tcpBytes(spec) });
}

/** TCP over IPv6 (a SYN by default) with a correct checksum. */
export function buildTcp6(spec: Ip6Spec & TcpOptions): Uint8Array {
  return buildIpv6({ ...spec, nextHeader: IpProto.tcp, payload: tcpBytes(spec) });
}

/** DHCP message types (RFC 2132 option 53). */
export const DhcpMessageType = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;

const kBootpFixedLen = 236; // RFC 2131 fixed fields: op..file
const kBootpMinLen = 300; // RFC 1542 section 3.2: relays may drop BOOTP messages shorter than 300 bytes
const kDhcpCookie = 0x63825363; // RFC 2131 section 3: magic cookie before the options
const kBootpChaddr = 28; // offset of chaddr in the BOOTP message
const kBootpYiaddr = 16; // offset of yiaddr
const kBootpSiaddr = 20; // offset of siaddr
const kBootRequest = 1; // BOOTP op: client to server
const kBootReply = 2; // BOOTP op: server to client
const kOptMessageType = 53; // RFC 2132 section 9.6
const kOptServerId = 54; // RFC 2132 section 9.7
const kOptLeaseTime = 51; // RFC 2132 section 9.2
const kOptEnd = 255;

function bootp(op: number, xid: number, chaddr: MacLike, options: number[], yiaddr = 0, siaddr = 0): Uint8Array {
  const len = Math.max(kBootpFixedLen + 4 + options.length, kBootpMinLen);
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = op;
  b[1] = 1; // htype: Ethernet
  b[2] = 6; // hlen: MAC length
  v.setUint32(4, xid >>> 0);
  v.setUint32(kBootpYiaddr, yiaddr >>> 0);
  v.setUint32(kBootpSiaddr, siaddr >>> 0);
  b.set(parseMac(macText(chaddr)), kBootpChaddr);
  v.setUint32(kBootpFixedLen, kDhcpCookie);
  b.set(options, kBootpFixedLen + 4);
  return b;
}

/** A minimal DHCPDISCOVER: broadcast from 0.0.0.0:68 to 255.255.255.255:67 (what a booting VM sends). */
export function buildDhcpDiscover(spec: L2Options & { srcMac: MacLike; xid?: number }): Uint8Array {
  const msg = bootp(kBootRequest, spec.xid ?? 0x12345678, spec.srcMac, [
    kOptMessageType,
    1,
    DhcpMessageType.discover,
    kOptEnd,
  ]);
  return buildUdp4({
    ...spec,
    dstMac: kBroadcastMac,
    srcIp: '0.0.0.0',
    dstIp: '255.255.255.255',
    srcPort: udp.UdpPort.bootpc,
    dstPort: udp.UdpPort.bootps,
    payload: msg,
  });
}

/** A minimal DHCPOFFER from a server (what the DHCP guard must stop on untrusted ports): serverIp:67 -> broadcast:68. */
export function buildDhcpOffer(
  spec: L2Options & { serverMac: MacLike; serverIp: string; clientMac: MacLike; yourIp: string; xid?: number },
): Uint8Array {
  const server = ipv4Words(spec.serverIp);
  const opts = [
    kOptMessageType,
    1,
    DhcpMessageType.offer,
    kOptServerId,
    4,
    ...server,
    kOptLeaseTime,
    4,
    0,
    0,
    0x0e,
    0x10,
    kOptEnd,
  ]; // lease 3600 s
  const msg = bootp(
    kBootReply,
    spec.xid ?? 0x12345678,
    spec.clientMac,
    opts,
    parseIpv4(spec.yourIp),
    parseIpv4(spec.serverIp),
  );
  return buildUdp4({
    ...spec,
    srcMac: spec.serverMac,
    dstMac: kBroadcastMac,
    srcIp: spec.serverIp,
    dstIp: '255.255.255.255',
    srcPort: udp.UdpPort.bootps,
    dstPort: udp.UdpPort.bootpc,
    payload: msg,
  });
}

/** Hex text (whitespace and colons ignored) -> bytes: for golden frames in tests. */
export function fromHex(text: string): Uint8Array {
  const s = text.replace(/[\s:]/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s))
    throw new Error(`invalid hex: ${s.length} digits or a non-hex character`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes -> lower-case hex with no separators. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// --- helpers ---

function emitted(len: number, write: (b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(len);
  write(b);
  return b;
}

function l2(opts: L2Options, dst: MacLike, src: MacLike, ethertype: number, payload: Uint8Array): Uint8Array {
  return buildEthernet({ dst, src, ethertype, payload, vlan: opts.vlan, pad: opts.pad });
}

function ipv4Words(text: string): number[] {
  const n = parseIpv4(text);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
