/**
 * The vPort table as the datapath sees it: per-port VLAN membership, the VLAN sent untagged, MTU and link
 * state, in typed arrays indexed by port number (no Map of objects on the hot path).
 *
 * VLAN modes reduce to two facts per port, which makes ingress and egress one rule each:
 *   pvid[p]      VLAN of untagged (and priority-tagged, VID 0) frames received on p, and the one VLAN p sends
 *                untagged; 0 = p accepts no untagged frames (a trunk without a native VLAN)
 *   member(p,v)  p carries VLAN v (tagged ingress with v accepted; egress in v allowed)
 *
 * Design notes: README.md in this folder, section "port-table.ts".
 */
import { kMaxPorts } from '../dataplane/counters.js';
import type { VlanConfig } from '../switch/vlan-config.js';

/** 4096 VLAN bits per port = 128 words. */
const kVlanWords = 128;
/** The default VLAN of untagged-mode ports (802.1Q's default PVID). */
export const kDefaultVlan = 1;
export const kDefaultMtu = 1500;
export const kPvlanNone = 0;
export const kPvlanIsolated = 1;
export const kPvlanCommunity = 2;
export const kPvlanPromiscuous = 3;

export class PortTable {
  readonly inUse = new Uint8Array(kMaxPorts);
  /** Link state; shared by every worker of a multi-worker switch (written by the port's home worker). */
  readonly linkUp: Uint8Array;
  readonly pvid = new Int32Array(kMaxPorts);
  /** 1 = a trunk: accepts frames tagged with a VID it carries; 0 = untagged, access or private VLAN port. */
  readonly trunk = new Uint8Array(kMaxPorts);
  readonly mtu = new Int32Array(kMaxPorts);
  /** Offload capabilities of the port's NIC (ports/nic.ts kCap*): what egress need not do in software. */
  readonly caps = new Int32Array(kMaxPorts);
  readonly members = new Int32Array(kMaxPorts * kVlanWords);
  /** Private VLAN: kind (kPvlan*), the secondary VLAN of isolated/community ports, and the secondaries a
   *  promiscuous port serves (4096 bits per port). */
  readonly pvlanKind = new Uint8Array(kMaxPorts);
  readonly pvlanSecondary = new Int32Array(kMaxPorts);
  readonly pvlanServes = new Int32Array(kMaxPorts * kVlanWords);
  /** Ports in use, dense, for flooding. */
  readonly active = new Int32Array(kMaxPorts);
  activeCount = 0;

  /** `linkState`: a kMaxPorts-byte shared buffer when several workers switch for the same ports. */
  constructor(linkState?: SharedArrayBuffer) {
    this.linkUp = linkState ? new Uint8Array(linkState, 0, kMaxPorts) : new Uint8Array(kMaxPorts);
  }

  isMember(port: number, vid: number): boolean {
    return (this.members[port * kVlanWords + (vid >>> 5)] & (1 << (vid & 31))) !== 0;
  }

  /**
   * Private VLAN reachability between two ports of the same primary VLAN (the frame's VLAN is the primary
   * for every PVLAN port, so learning and flooding are shared): a promiscuous port reaches the isolated and
   * community ports whose secondary it serves; community ports reach their own community; isolated ports
   * reach only promiscuous ports. A port that is not private (an ordinary access or trunk port carrying the
   * primary) acts as promiscuous for every secondary. Symmetric. Callers test `(kind[a] | kind[b]) !== 0`
   * first, so ordinary traffic pays one OR.
   */
  pvlanAllows(a: number, b: number): boolean {
    const ka = this.pvlanKind[a];
    const kb = this.pvlanKind[b];
    if (ka === kPvlanNone || ka === kPvlanPromiscuous) return this.serves(a, b);
    if (kb === kPvlanNone || kb === kPvlanPromiscuous) return this.serves(b, a);
    return ka === kPvlanCommunity && kb === kPvlanCommunity && this.pvlanSecondary[a] === this.pvlanSecondary[b];
  }

  /** Does promiscuous-like port p reach port q? */
  private serves(p: number, q: number): boolean {
    const kq = this.pvlanKind[q];
    if (kq === kPvlanNone || kq === kPvlanPromiscuous || this.pvlanKind[p] === kPvlanNone) return true;
    const v = this.pvlanSecondary[q];
    return (this.pvlanServes[p * kVlanWords + (v >>> 5)] & (1 << (v & 31))) !== 0;
  }

  allocate(): number {
    for (let p = 0; p < kMaxPorts; p++) if (!this.inUse[p]) return p;
    return -1;
  }

  add(port: number, vlan: VlanConfig, mtu: number): void {
    this.inUse[port] = 1; // linkUp stays 0 from remove() (or belongs to the worker hosting the NIC)
    this.mtu[port] = mtu;
    this.setVlan(port, vlan);
    this.rebuildActive();
  }

  remove(port: number): void {
    this.linkUp[port] = 0;
    this.removeKeepingLink(port);
  }

  /** Remove a port whose shared link state another worker owns (and clears). */
  removeKeepingLink(port: number): void {
    this.inUse[port] = 0;
    this.trunk[port] = 0;
    this.members.fill(0, port * kVlanWords, (port + 1) * kVlanWords);
    this.pvlanServes.fill(0, port * kVlanWords, (port + 1) * kVlanWords);
    this.pvlanKind[port] = kPvlanNone;
    this.rebuildActive();
  }

  setVlan(port: number, vlan: VlanConfig): void {
    const base = port * kVlanWords;
    this.members.fill(0, base, base + kVlanWords);
    const set = (v: number) => (this.members[base + (v >>> 5)] |= 1 << (v & 31));
    this.pvlanKind[port] = kPvlanNone;
    this.pvlanSecondary[port] = 0;
    this.pvlanServes.fill(0, base, base + kVlanWords);
    this.trunk[port] = vlan.mode === 'trunk' ? 1 : 0;
    if (vlan.mode === 'private') {
      this.pvlanKind[port] =
        vlan.pvlan === 'isolated' ? kPvlanIsolated : vlan.pvlan === 'community' ? kPvlanCommunity : kPvlanPromiscuous;
      this.pvlanSecondary[port] = vlan.pvlan === 'promiscuous' ? 0 : vlan.secondary[0];
      for (const v of vlan.secondary) this.pvlanServes[base + (v >>> 5)] |= 1 << (v & 31);
      this.pvid[port] = vlan.primary;
      set(vlan.primary);
    } else if (vlan.mode === 'untagged') {
      this.pvid[port] = kDefaultVlan;
      set(kDefaultVlan);
    } else if (vlan.mode === 'access') {
      this.pvid[port] = vlan.vid;
      set(vlan.vid);
    } else {
      const pruned = new Set(vlan.pruned ?? []);
      for (const v of vlan.allowed) if (!pruned.has(v)) set(v);
      this.pvid[port] = vlan.native ?? 0;
      if (vlan.native) set(vlan.native);
    }
  }

  private rebuildActive(): void {
    let n = 0;
    for (let p = 0; p < kMaxPorts; p++) if (this.inUse[p]) this.active[n++] = p;
    this.activeCount = n;
  }
}
