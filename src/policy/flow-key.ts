/**
 * FlowKey: the fields port ACLs, extended ACLs and the flow table match on, read once per frame from a
 * pool slot into preallocated scratch fields (MACs, IP family, addresses, protocol behind IPv6 extension
 * headers, L4 ports).
 *
 * Why: a frame is matched against up to dozens of rules; reading each header field through the DataView
 * once and then comparing plain int32 values keeps the per-rule cost to a few integer operations. One
 * FlowKey is owned by one node and reused for every frame: nothing is allocated per call.
 *
 * Design notes: README.md in this folder, section "flow-key.ts".
 */
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import * as eth from '../packet/ethernet.js';
import { field as ethField } from '../packet/ethernet.js';
import * as vlan from '../packet/vlan.js';
import { field as vlanField } from '../packet/vlan.js';
import { kLo32Off } from '../packet/mac.js';
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import * as udp from '../packet/udp.js';
import { family, kFamIpv4, kFamIpv6, kFragLater, protocol, walked } from '../packet/walk.js';

/**
 * Slots of `FlowKey.v`, the flat int32 vector rule programs (acl.ts) compare against. Address words are
 * stored with the sign bit flipped (`^ kSignFlip`) so unsigned prefix ranges compare as signed int32.
 */
export const kf = {
  family: 0,
  src: 1, // 4 words: src + 0..3
  dst: 5, // 4 words
  srcMacHi: 9,
  srcMacLo: 10,
  dstMacHi: 11,
  dstMacLo: 12,
  protocol: 13,
  hasPorts: 14,
  srcPort: 15,
  dstPort: 16,
} as const;
export const kKeyFields = 17;
/** XOR on address words in `v`: unsigned order becomes signed int32 order. */
export const kSignFlip = 0x80000000 | 0;

export const kFamilyNone = 0;
export const kFamily4 = 4;
export const kFamily6 = 6;

/** Protocol reported for an IPv6 extension-header chain that is truncated or too long (255 is IANA-reserved). */
export const kProtoUnknown = 255;

const kProtoTcp = 6;
const kProtoUdp = 17;
/** Extension headers walked before giving up: RFC 8200 recommends at most one of each (6 kinds), 8 leaves room. */
const kMaxExtHeaders = 8;
const kPortsLen = 4; // src port + dst port: the first 4 bytes of TCP and UDP

export class FlowKey {
  /** 0 (not IP or bad IP header), 4 or 6. */
  family = kFamilyNone;
  /** IPv4 protocol or the IPv6 upper-layer header after extension headers; 0 when family is 0. */
  protocol = 0;
  /** 1 when srcPort/dstPort were read (TCP/UDP, not a later fragment, header long enough). */
  hasPorts = 0;
  srcPort = 0;
  dstPort = 0;
  /** 1 for a non-first fragment (no L4 header). */
  laterFragment = 0;
  /** Frame-relative offset of the L4 header (0 when unknown). */
  l4Off = 0;
  /** EtherType after the (optional) tag; 0 when the frame is shorter than an Ethernet header. */
  ethertype = 0;
  srcMacHi = 0;
  srcMacLo = 0;
  dstMacHi = 0;
  dstMacLo = 0;
  readonly src = new Int32Array(4);
  readonly dst = new Int32Array(4);
  /** The same fields as one vector (layout `kf`) for the rule programs; written by `parse`. */
  readonly v = new Int32Array(kKeyFields);
  /** Scratch for the IPv6 extension-header walk. */
  private readonly ext = new ipv6.ExtPosition();

  /**
   * Parse the frame in `slot`. Returns false (and family 0) when it is shorter than an Ethernet header;
   * otherwise the MACs are set and family/addresses/protocol/ports as far as the headers are sound.
   */
  parse(pool: PacketPool, slot: number): boolean {
    const ok = this.read(pool, slot);
    const v = this.v;
    const src = this.src;
    const dst = this.dst;
    v[kf.family] = this.family;
    v[kf.src] = src[0]! ^ kSignFlip;
    v[kf.src + 1] = src[1]! ^ kSignFlip;
    v[kf.src + 2] = src[2]! ^ kSignFlip;
    v[kf.src + 3] = src[3]! ^ kSignFlip;
    v[kf.dst] = dst[0]! ^ kSignFlip;
    v[kf.dst + 1] = dst[1]! ^ kSignFlip;
    v[kf.dst + 2] = dst[2]! ^ kSignFlip;
    v[kf.dst + 3] = dst[3]! ^ kSignFlip;
    v[kf.srcMacHi] = this.srcMacHi;
    v[kf.srcMacLo] = this.srcMacLo;
    v[kf.dstMacHi] = this.dstMacHi;
    v[kf.dstMacLo] = this.dstMacLo;
    v[kf.protocol] = this.protocol;
    v[kf.hasPorts] = this.hasPorts;
    v[kf.srcPort] = this.srcPort;
    v[kf.dstPort] = this.dstPort;
    return ok;
  }

  private read(pool: PacketPool, slot: number): boolean {
    const view = pool.view;
    const m = pool.meta32;
    const at = slot << Meta.shift;
    const len = m[at + Meta.len]!;
    const start = pool.slotBase(slot) + m[at + Meta.off]!;
    this.family = kFamilyNone;
    this.protocol = 0;
    this.hasPorts = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.laterFragment = 0;
    this.l4Off = 0;
    const src = this.src;
    const dst = this.dst;
    src[0] = src[1] = src[2] = src[3] = 0;
    dst[0] = dst[1] = dst[2] = dst[3] = 0;
    if (len < ethField.headerLen) {
      this.ethertype = 0;
      this.srcMacHi = this.srcMacLo = this.dstMacHi = this.dstMacLo = 0;
      return false;
    }
    this.dstMacHi = view.getUint16(start + ethField.dst);
    this.dstMacLo = view.getInt32(start + ethField.dst + kLo32Off);
    this.srcMacHi = view.getUint16(start + ethField.src);
    this.srcMacLo = view.getInt32(start + ethField.src + kLo32Off);
    // the slot's header record (packet/walk.ts): EtherType after one tag, checked IP header, offsets
    const h = walked(pool, slot);
    this.ethertype =
      m[at + Meta.l3] === vlanField.headerLen ? vlan.innerEthertype(view, start) : eth.ethertype(view, start);
    const fam = family(h);
    const ip = start + m[at + Meta.l3]!;
    if (fam === kFamIpv4) {
      this.family = kFamily4;
      src[0] = view.getInt32(ip + ipv4.field.src);
      dst[0] = view.getInt32(ip + ipv4.field.dst);
      const proto = protocol(h);
      this.protocol = proto;
      if ((h & kFragLater) !== 0) {
        this.laterFragment = 1;
        return true;
      }
      const l4 = start + m[at + Meta.l4]!;
      this.l4Off = l4 - start;
      if (
        (proto === kProtoTcp || proto === kProtoUdp) &&
        l4 + kPortsLen <= ip + view.getUint16(ip + ipv4.field.totalLen)
      ) {
        this.hasPorts = 1;
        this.srcPort = udp.srcPort(view, l4); // TCP and UDP ports sit at the same offsets
        this.dstPort = udp.dstPort(view, l4);
      }
      return true;
    }
    if (fam === kFamIpv6) {
      this.family = kFamily6;
      for (let i = 0; i < 4; i++) {
        src[i] = view.getInt32(ip + ipv6.field.src + 4 * i);
        dst[i] = view.getInt32(ip + ipv6.field.dst + 4 * i);
      }
      const end = ip + ipv6.field.headerLen + view.getUint16(ip + ipv6.field.payloadLen);
      const w = this.ext;
      const r = ipv6.walkExtensions(view, ip, end, kMaxExtHeaders, w);
      if (r === ipv6.ExtWalk.laterFragment) {
        this.protocol = w.next;
        this.laterFragment = 1;
      } else if (r === ipv6.ExtWalk.upper) {
        // the upper layer (or 59, no next header)
        const next = w.next;
        const off = w.pos;
        this.protocol = next;
        this.l4Off = off - start;
        if ((next === kProtoTcp || next === kProtoUdp) && off + kPortsLen <= end) {
          this.hasPorts = 1;
          this.srcPort = udp.srcPort(view, off); // TCP and UDP ports sit at the same offsets
          this.dstPort = udp.dstPort(view, off);
        }
      } else this.protocol = kProtoUnknown; // truncated chain or more than kMaxExtHeaders headers
      return true;
    }
    return true;
  }
}
