/**
 * Test fixtures for the offload tests: whole TCP/UDP frames built by packet/frame.ts (the independent
 * reference: its checksums come from packet/tcp.ts and udp.ts `emit`), and the step that turns a frame
 * into what a TAP with IFF_VNET_HDR hands the switch - the L4 checksum field replaced by the folded
 * pseudo-header sum (Linux CHECKSUM_PARTIAL) and the GSO metadata set.
 *
 * Control path only: allocates and throws freely. Not imported by the datapath.
 */
import { kGsoNone, kOffNeedsCsum, type PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { pseudoSumAt } from '../packet/checksum.js';
import { buildEthernet, buildIpv6, buildTcp4, buildTcp6, buildUdp4, buildUdp6, type VlanTag } from '../packet/frame.js';
import * as ipv4 from '../packet/ipv4.js';
import * as tcp from '../packet/tcp.js';

export const kTcpAck = 0x10;
export const kTcpPsh = 0x08;
export const kTcpFin = 0x01;
export const kTcpCwr = 0x80;

const kMacA = '52:54:00:12:34:56';
const kMacB = '52:54:00:65:43:21';

/** Everything a test varies about one TCP/UDP frame. */
export interface Spec {
  v6?: boolean;
  vlan?: VlanTag;
  ipOptions?: Uint8Array; // IPv4 only: raw options, a multiple of 4 bytes
  hopByHop?: boolean; // IPv6 only: an 8-byte Hop-by-Hop extension header (PadN) before the TCP header
  tcpOptions?: Uint8Array;
  udp?: boolean;
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  ident?: number;
  ttl?: number;
  dscp?: number;
  trafficClass?: number;
  payload: Uint8Array;
}

/** A complete frame with correct checksums, from packet/frame.ts (IPv4 options: packet/ipv4.ts emit). */
export function build(spec: Spec): Uint8Array {
  const v6 = spec.v6 ?? false;
  const srcIp = spec.srcIp ?? (v6 ? '2001:db8::1' : '10.9.0.1');
  const dstIp = spec.dstIp ?? (v6 ? '2001:db8::2' : '10.9.0.2');
  const common = { srcMac: kMacA, dstMac: kMacB, srcIp, dstIp, vlan: spec.vlan };
  const ports = { srcPort: spec.srcPort ?? 40000, dstPort: spec.dstPort ?? 5201 };
  if (spec.udp) {
    const u = { ...common, ...ports, payload: spec.payload };
    return v6
      ? buildUdp6({ ...u, hopLimit: spec.ttl, trafficClass: spec.trafficClass })
      : buildUdp4({ ...u, ttl: spec.ttl, ident: spec.ident, dscp: spec.dscp, dontFragment: true });
  }
  const t = {
    ...ports,
    seq: spec.seq ?? 1000,
    ack: spec.ack ?? 5000,
    flags: spec.flags ?? kTcpAck,
    window: spec.window ?? 501,
    options: spec.tcpOptions,
    payload: spec.payload,
  };
  if (v6 && spec.hopByHop) {
    const tr: tcp.TcpRepr = { ...t, urgent: 0, options: t.options ?? new Uint8Array(0) };
    const body = new Uint8Array(8 + tcp.bufferLen(tr));
    body.set([6, 0, 1, 4, 0, 0, 0, 0]); // next header TCP, length 0 (8 bytes), PadN of 4
    tcp.emit(tr, body, 8, { src: srcIp, dst: dstIp });
    return buildIpv6({ ...common, nextHeader: 0, payload: body, hopLimit: spec.ttl, trafficClass: spec.trafficClass });
  }
  if (v6) return buildTcp6({ ...common, ...t, hopLimit: spec.ttl, trafficClass: spec.trafficClass });
  if (!spec.ipOptions)
    return buildTcp4({ ...common, ...t, ttl: spec.ttl, ident: spec.ident, dscp: spec.dscp, dontFragment: true });
  // IPv4 with options: frame.ts has no option field, so compose the same layers by hand.
  const tr: tcp.TcpRepr = { ...t, urgent: 0, options: t.options ?? new Uint8Array(0) };
  const tb = new Uint8Array(tcp.bufferLen(tr));
  tcp.emit(tr, tb, 0, { src: srcIp, dst: dstIp });
  const ir: ipv4.Ipv4Repr = {
    dscp: spec.dscp ?? 0,
    ecn: 0,
    ident: spec.ident ?? 0,
    dontFragment: true,
    moreFragments: false,
    fragOffset: 0,
    ttl: spec.ttl ?? 64,
    protocol: 6,
    src: srcIp,
    dst: dstIp,
    options: spec.ipOptions,
    payload: tb,
  };
  const ib = new Uint8Array(ipv4.bufferLen(ir));
  ipv4.emit(ir, ib, 0);
  return buildEthernet({ dst: kMacB, src: kMacA, ethertype: 0x0800, payload: ib, vlan: spec.vlan });
}

/** Where L3 and L4 start in a frame built by `build` (read independently of offload/headers.ts). */
export function offsets(frame: Uint8Array): { l3: number; l4: number; v6: boolean } {
  const l3 = frame[12] === 0x81 && frame[13] === 0x00 ? 18 : 14;
  const v6 = frame[l3]! >> 4 === 6;
  return { l3, l4: v6 ? l3 + 40 : l3 + ((frame[l3]! & 15) << 2), v6 };
}

/**
 * Load `frame` into the pool as a TAP would hand it over: L4 checksum field = folded pseudo-header sum,
 * kOffNeedsCsum with csumStart/csumOffset, and the GSO type and size given (kGsoNone: just partial).
 */
export function loadPartial(
  pool: PacketPool,
  frame: Uint8Array,
  gsoType: number,
  gsoSize: number,
  udp = false,
): number {
  const s = pool.load(frame);
  if (s < 0) throw new Error('pool exhausted or frame too large');
  const { l3, l4 } = offsets(frame);
  const base = pool.frameStart(s);
  const csumOff = udp ? 6 : 16; // UDP / TCP checksum field
  const partial = pseudoSumAt(pool.bytes, base + l3, udp ? 17 : 6, frame.length - l4);
  pool.view.setUint16(base + l4 + csumOff, partial);
  pool.meta32[(s << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
  pool.meta32[(s << Meta.shift) + Meta.gsoType] = gsoType;
  pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = gsoType === kGsoNone ? 0 : gsoSize;
  pool.meta32[(s << Meta.shift) + Meta.csumStart] = l4;
  pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = csumOff;
  return s;
}

/** Deterministic payload bytes (a counter mixed with a seed), so slices are distinguishable. */
export function payloadOf(n: number, seed = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + seed + (i >> 8)) & 0xff;
  return p;
}

/** NOP, NOP, timestamp (TSval, TSecr): the option block Linux puts on every data segment. */
export function timestampOption(tsval: number, tsecr: number): Uint8Array {
  const o = new Uint8Array(12);
  const v = new DataView(o.buffer);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  v.setUint32(4, tsval >>> 0);
  v.setUint32(8, tsecr >>> 0);
  return o;
}
