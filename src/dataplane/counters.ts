/**
 * Counters declared as data (the VPP `foreach_l2_learn_error` idea): every drop reason, per-port field and
 * global counter is one row of a table with a name and a meaning. The values live in one Float64Array over
 * a SharedArrayBuffer per datapath worker, so the control thread (CLI, API, tests) reads them directly with
 * no message round trip, and the datapath only does `c[i]++`.
 *
 * Single writer: only the owning worker writes its block; readers may see a counter one batch stale, never
 * a torn value (aligned 64-bit stores). Float64 holds integers exactly up to 2^53, i.e. 285 years of
 * 1 Mpps: no wrap handling needed.
 *
 *   block: | global (kGlobal) | nodes (kMaxNodes x 2) | ports (kMaxPorts x kPortStride) |
 */

/** Why a frame was dropped: code = index + 1 (0 means "not dropped" in pool.aux). */
export const dropReasons = [
  ['malformed', 'frame shorter than its Ethernet header (14 bytes) or otherwise unparsable'],
  ['truncated-vlan', 'TPID 0x8100 but shorter than the 18-byte tagged header'],
  ['src-multicast', 'source MAC is a group address (multicast or broadcast)'],
  ['vlan-not-allowed', 'VLAN not permitted on the port (ingress filter or egress membership)'],
  ['vlan-tagged-on-access', 'VLAN-tagged frame on an access, untagged or private VLAN port (its own VID included)'],
  ['vlan-double-tagged', 'priority tag (VID 0) with a second 802.1Q tag behind it: the inner tag would hop VLANs'],
  ['same-port', 'destination was learned on the ingress port: never forward back'],
  ['link-down', 'destination port has no connected NIC'],
  ['mtu-exceeded', 'frame longer than the egress port MTU + 14 (+4 per tag)'],
  ['no-buffer', 'packet pool exhausted'],
  ['ring-full', 'egress queue or socket backlog full'],
  ['tx-error', 'the endpoint refused the write'],
  ['framing-error', 'stream length prefix invalid (connection closed, as QEMU does)'],
  ['oversize', 'frame larger than the switch buffer size'],
  ['bad-vnet-hdr', 'virtio_net_hdr claims more than the frame holds (checksum offset, GSO without checksum)'],
  ['gso-unsupported', 'GSO type the switch cannot segment'],
  ['gso-malformed', 'GSO frame whose headers cannot be segmented (lengths, options, extension headers)'],
  ['acl-deny', 'a port ACL or extended ACL denied the frame'],
  ['mac-spoofing', "source MAC is not the port's MAC and MacAddressSpoofing is off"],
  ['dhcp-guard', 'DHCP server message from a port with DhcpGuard on'],
  ['router-guard', 'router advertisement or redirect from a port with RouterGuard on'],
  ['storm-limit', 'broadcast/multicast/unknown-unicast over the port StormLimit'],
  ['pvlan-isolated', 'private VLAN rules forbid this source and destination pair'],
  ['qos-queue-full', 'egress shaping queue of the source class full (MaximumBandwidth congestion)'],
  ['foreign-source', "datagram from another address than the dgram port's configured remote"],
] as const;

export type DropReason = (typeof dropReasons)[number][0];
export const kDropCount = dropReasons.length;
export const drop = Object.fromEntries(dropReasons.map(([name], i) => [name, i + 1])) as Record<DropReason, number>;

/** Per-port fields before the drop reasons. */
export const portFields = [
  ['rxFrames', 'frames received from the NIC'],
  ['rxBytes', 'bytes received from the NIC'],
  ['txFrames', 'frames delivered to the NIC'],
  ['txBytes', 'bytes delivered to the NIC'],
  ['txUnicast', 'frames delivered as known unicast'],
  ['txFlood', 'frames delivered as flood copies (broadcast, multicast, unknown unicast)'],
  ['vlanStripped', '802.1Q tags removed on ingress (offload: VLAN strip)'],
  ['vlanInserted', '802.1Q tags inserted on egress (offload: VLAN insert)'],
  ['linkChanges', 'NIC connect/disconnect events'],
  ['offSegmented', 'GSO frames segmented in software (LSO) for this port'],
  ['offSegments', 'segments produced by software LSO'],
  ['offCsum', 'partial checksums completed in software'],
  ['offCoalesced', 'segments merged by receive segment coalescing (RSC)'],
  ['mirrorCopies', 'mirror copies of this source port frames delivered to destinations'],
  ['qosDelayed', 'frames held by the egress shaper before delivery (MaximumBandwidth)'],
  ['macLimitRefused', 'source addresses not learned: the port owns its macLimit of MAC table entries'],
] as const;
export type PortField = (typeof portFields)[number][0];
export const pf = Object.fromEntries(portFields.map(([name], i) => [name, i])) as Record<PortField, number>;

export const globalFields = [
  ['fdbEntries', 'MAC table entries now'],
  ['fdbLearned', 'MAC addresses learned'],
  ['fdbAged', 'entries removed by aging'],
  ['fdbMoved', 'MAC moves (address seen on another port)'],
  ['fdbRefused', 'addresses not learned because the table was full of static entries'],
  ['fdbEvicted', 'least recently seen entries removed to make room in a full table'],
  ['fdbFlushed', 'entries removed by flush or link down'],
  ['breaths', 'pipeline runs (batches)'],
  ['frames', 'frames entering the pipeline'],
  ['flowsActive', 'stateful ACL flow entries now'],
  ['flowsCreated', 'stateful ACL flows created'],
  ['flowsExpired', 'stateful ACL flows removed after their idle timeout'],
  ['flowsRefused', 'stateful ACL flows not created because the flow table was full of assured flows'],
  ['flowsEarlyDropped', 'unassured stateful ACL flows evicted to make room for a new one (early drop)'],
  ['flowsQuotaRefused', "stateful ACL flows not created because the port had its quota (policy maxFlows)"],
] as const;
export type GlobalField = (typeof globalFields)[number][0];
export const gf = Object.fromEntries(globalFields.map(([name], i) => [name, i])) as Record<GlobalField, number>;

/** Ports per switch: bounds the counter block and the per-port tables (a Hyper-V host rarely has more VMs). */
export const kMaxPorts = 256;
/** Graph nodes per worker: a pipeline of a dozen feature nodes with room to grow. */
export const kMaxNodes = 32;
const kGlobal = 16; // room for globalFields to grow without moving the node block
export const kPortStride = portFields.length + kDropCount;
const kNodeBase = kGlobal;
const kPortBase = kNodeBase + kMaxNodes * 2;
export const kCounterSlots = kPortBase + kMaxPorts * kPortStride;

export class Counters {
  readonly sab: SharedArrayBuffer;
  readonly c: Float64Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(kCounterSlots * 8);
    this.c = new Float64Array(this.sab);
  }
  /** Index of a per-port field. */
  static port(port: number, field: number): number {
    return kPortBase + port * kPortStride + field;
  }
  /** Index of a per-port drop counter for reason code (1-based). */
  static portDrop(port: number, code: number): number {
    return kPortBase + port * kPortStride + portFields.length + code - 1;
  }
  static nodePackets(node: number): number {
    return kNodeBase + node * 2;
  }
  static nodeDrops(node: number): number {
    return kNodeBase + node * 2 + 1;
  }
  static global(field: number): number {
    return field;
  }
  /** Zero a port's block (port index reused by a new port). */
  resetPort(port: number): void {
    const b = kPortBase + port * kPortStride;
    this.c.fill(0, b, b + kPortStride);
  }
  /** Control path: a port's counters as a plain object. */
  readPort(port: number): { fields: Record<PortField, number>; drops: Record<string, number> } {
    const b = kPortBase + port * kPortStride;
    const fields = {} as Record<PortField, number>;
    portFields.forEach(([n], i) => (fields[n] = this.c[b + i]));
    const drops: Record<string, number> = {};
    dropReasons.forEach(([n], i) => {
      const v = this.c[b + portFields.length + i];
      if (v !== 0) drops[n] = v;
    });
    return { fields, drops };
  }
  readGlobal(): Record<GlobalField, number> {
    const out = {} as Record<GlobalField, number>;
    globalFields.forEach(([n], i) => (out[n] = this.c[i]));
    return out;
  }
}
