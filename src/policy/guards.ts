/**
 * Guard node: the built-in ingress guards of a Hyper-V port (docs/design.md, docs/policy.md), run right after
 * the ingress node, so frames are untagged and the slot's `vid`/`pcp` are set.
 *
 * Design notes: README.md in this folder, section "guards.ts".
 */
import { kMaxPorts } from '../dataplane/counters.js';
import type { Batch, GraphNode } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import * as eth from '../packet/ethernet.js';
import * as icmp from '../packet/icmp.js';
import * as icmpv6 from '../packet/icmpv6.js';
import * as ipv4 from '../packet/ipv4.js';
import { IpProto } from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import { parseMacWords } from '../packet/mac.js';
import * as udp from '../packet/udp.js';
import { family, kFamIpv4, kFamIpv6, kFragFirst, kFragLater, protocol, walked } from '../packet/walk.js';
import { policyDrops } from './counters.js';

/** What a control-path caller sets on one port (policy/config.ts PortPolicy names, plus the port's MAC). */
export interface GuardSettings {
  /** The port's own MAC ("52:54:00:12:34:56"); without it the spoofing check is off. */
  mac?: string;
  /** MacAddressSpoofing: true allows any source MAC (default false). */
  macAddressSpoofing?: boolean;
  dhcpGuard?: boolean;
  routerGuard?: boolean;
  /** IeeePriorityTag: false clears the frame's PCP (default true). */
  ieeePriorityTag?: boolean;
}

// Per-port flag bits (one Uint8Array byte per port; 0 = nothing to do).
const kSpoofCheck = 1; // port has a MAC and MacAddressSpoofing is off
const kDhcpGuard = 2;
const kRouterGuard = 4;
const kClearPcp = 8; // IeeePriorityTag false
const kInspect = kDhcpGuard | kRouterGuard; // guards that need the L3/L4 headers

// DHCPv6 server-to-client message types (RFC 8415 section 7.3) looked for on UDP to port 546.
const kDhcp6Advertise = 2;
const kDhcp6Reply = 7;
const kDhcp6Reconfigure = 10;
const kDhcp6RelayRepl = 13;
const kDhcp6MsgTypeLen = 1; // the message type is the first payload byte

const kIcmp4RouterAdvert = 9; // RFC 1256 (icmp.ts names only the types the tests ping with)
const kPortsLen = 4; // UDP source + destination port
const kSrcPortLen = 2;
const kTypeLen = 1; // ICMP/ICMPv6 type byte

export class GuardNode implements GraphNode {
  readonly name = 'guard';
  /** Per-port flag bits (kSpoofCheck | kDhcpGuard | kRouterGuard | kClearPcp). */
  private readonly flags = new Uint8Array(kMaxPorts);
  /** The port's MAC as the two words of packet/mac.ts, meaningful where kSpoofCheck is set. */
  private readonly macHi = new Uint16Array(kMaxPorts);
  private readonly macLo = new Uint32Array(kMaxPorts);
  private readonly view: DataView;
  /** Scratch for the IPv6 extension-header walk (ipv6.walkExtensions). */
  private readonly ext = new ipv6.ExtPosition();

  constructor(private readonly pool: PacketPool) {
    this.view = pool.view;
  }

  /** Replace a port's guard settings (absent fields take their defaults). Throws only on a bad port index or MAC text. */
  set(port: number, opts: GuardSettings): void {
    checkPort(port);
    let f = 0;
    let hi = 0;
    let lo = 0;
    if (opts.mac !== undefined) {
      ({ hi16: hi, lo32: lo } = parseMacWords(opts.mac)); // a group MAC is accepted: ingress drops such sources anyway
      if (opts.macAddressSpoofing !== true) f |= kSpoofCheck;
    }
    if (opts.dhcpGuard === true) f |= kDhcpGuard;
    if (opts.routerGuard === true) f |= kRouterGuard;
    if (opts.ieeePriorityTag === false) f |= kClearPcp;
    this.macHi[port] = hi;
    this.macLo[port] = lo;
    this.flags[port] = f;
  }

  /** Remove every guard from a port (port deleted or its policy reset). */
  clear(port: number): void {
    checkPort(port);
    this.flags[port] = 0;
    this.macHi[port] = 0;
    this.macLo[port] = 0;
  }

  process(batch: Batch): number {
    const { pool, view, flags } = this;
    const m = pool.meta32;
    let marked = 0;
    // L3/L4 offsets come from the slot's header record (packet/walk.ts), walked once per frame
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const at = s << Meta.shift;
      const p = m[at + Meta.port];
      const f = flags[p];
      if (!f) continue; // no guard on the port (or a port index outside the table)
      if ((f & kClearPcp) !== 0) m[at + Meta.pcp] = 0;
      const n = m[at + Meta.len];
      if (n < eth.field.headerLen) continue; // ingress drops these; never read past the frame
      const start = pool.slotBase(s) + m[at + Meta.off];
      if (
        (f & kSpoofCheck) !== 0 &&
        (eth.srcHi16(view, start) !== this.macHi[p] || eth.srcLo32(view, start) !== this.macLo[p])
      ) {
        m[at + Meta.aux] = policyDrops['mac-spoofing'];
        marked++;
        continue;
      }
      if ((f & kInspect) === 0) continue;
      const h = walked(pool, s);
      if (m[at + Meta.l3] !== eth.field.headerLen) continue; // a tag left behind the stripped one: not inspected
      const fam = family(h);
      let code = 0;
      if (fam === kFamIpv4) code = this.inspect4(start + m[at + Meta.l3], start + m[at + Meta.l4], h, f);
      else if (fam === kFamIpv6) code = this.inspect6(start + m[at + Meta.l3], f);
      if (code !== 0) {
        m[at + Meta.aux] = code;
        marked++;
      }
    }
    return marked;
  }

  /** Drop code for the IPv4 datagram at `ip` (its header checked by the walk, `h` its record), 0 to pass. */
  private inspect4(ip: number, l4: number, h: number, f: number): number {
    const view = this.view;
    if ((h & kFragLater) !== 0) return 0;
    const first = (h & kFragFirst) !== 0;
    const proto = protocol(h);
    const l4Len = ipv4.totalLength(view, ip) - (l4 - ip);
    if (proto === IpProto.udp) {
      if ((f & kDhcpGuard) === 0) return 0;
      if (l4Len < kSrcPortLen) return first ? policyDrops['dhcp-guard'] : 0;
      return udp.srcPort(view, l4) === udp.UdpPort.bootps ? policyDrops['dhcp-guard'] : 0;
    }
    if (proto === IpProto.icmp) {
      if ((f & kRouterGuard) === 0) return 0;
      if (l4Len < kTypeLen) return first ? policyDrops['router-guard'] : 0;
      const t = icmp.type(view, l4);
      return t === icmp.IcmpType.redirect || t === kIcmp4RouterAdvert ? policyDrops['router-guard'] : 0;
    }
    return 0;
  }

  /** Drop code for the IPv6 datagram at `ip` (its fixed header checked by the walk), 0 to pass. */
  private inspect6(ip: number, f: number): number {
    const view = this.view;
    const end = ip + ipv6.field.headerLen + ipv6.payloadLength(view, ip); // bytes after it are padding
    // the walk is bounded by the datagram (each header is at least 8 bytes), not by a header count
    const w = this.ext;
    const r = ipv6.walkExtensions(view, ip, end, Infinity, w);
    const first = w.firstFragment;
    if (r === ipv6.ExtWalk.laterFragment) return 0; // no upper-layer header to judge
    if (r !== ipv6.ExtWalk.upper) return first ? truncatedChain(f) : 0;
    const next = w.next;
    const pos = w.pos;
    const l4Len = end - pos;
    if (next === IpProto.udp) {
      if ((f & kDhcpGuard) === 0) return 0;
      if (l4Len < kPortsLen) return first ? policyDrops['dhcp-guard'] : 0;
      if (udp.srcPort(view, pos) === udp.UdpPort.dhcpv6Server) return policyDrops['dhcp-guard'];
      if (udp.dstPort(view, pos) !== udp.UdpPort.dhcpv6Client) return 0;
      if (l4Len < udp.field.headerLen + kDhcp6MsgTypeLen) return first ? policyDrops['dhcp-guard'] : 0;
      const m = view.getUint8(pos + udp.field.headerLen);
      return m === kDhcp6Advertise || m === kDhcp6Reply || m === kDhcp6Reconfigure || m === kDhcp6RelayRepl
        ? policyDrops['dhcp-guard']
        : 0;
    }
    if (next === IpProto.icmpv6) {
      if ((f & kRouterGuard) === 0) return 0;
      if (l4Len < kTypeLen) return first ? policyDrops['router-guard'] : 0;
      const t = icmpv6.type(view, pos);
      return t === icmpv6.Icmp6Type.routerAdvert || t === icmpv6.Icmp6Type.redirect ? policyDrops['router-guard'] : 0;
    }
    return 0;
  }
}

/** First fragment whose extension chain ends before its upper-layer header: the upper layer is unknown. */
function truncatedChain(f: number): number {
  return (f & kRouterGuard) !== 0 ? policyDrops['router-guard'] : policyDrops['dhcp-guard'];
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port >= kMaxPorts)
    throw new RangeError(`guard port index must be an integer from 0 to ${kMaxPorts - 1}, got ${port}`);
}
