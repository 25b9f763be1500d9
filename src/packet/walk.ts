/**
 * The one header walk of the datapath (VPP's l2/l3/l4 offsets in vnet_buffer): L2 (14 bytes, or 18 with
 * one 802.1Q tag) -> IPv4/IPv6 fixed header, checked once against the frame length, recorded in the
 * slot's metadata so every later stage (RSS steering, guards, ACL flow keys, the offload fix-ups) reads
 * offsets and flags instead of walking the frame again.
 *
 *   hdr     | protocol (8) | . | hashed | inner tag | later frag | first frag | family (2) | walked |   (16 bits:
 *           a small integer, never a heap number)
 *   l3      frame-relative offset of the IP header (14 or 18; 0 for a frame shorter than its L2 header)
 *   l4      frame-relative offset after the IP fixed header (IPv4 options included); 0 when not IP
 *
 * Design notes: README.md in this folder, section "walk.ts".
 */
import { EtherType, field as ethField } from './ethernet.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { field as vlanField, kTpid } from './vlan.js';
import { Meta } from '../dataplane/slot-meta.js';

/** The metadata a walk fills: the pool's slot records (dataplane/pool.ts, dataplane/slot-meta.ts). */
export interface WalkMeta {
  readonly view: DataView;
  readonly meta32: Int32Array;
  frameStart(slot: number): number;
}

/** hdr bits. */
export const kWalked = 1;
const kFamilyShift = 1;
/** Family values (hdr >> 1 & 3): not IP; IPv4 or IPv6 whose fixed header passed its check; an IP
 *  EtherType whose header failed it (or a tag cut short). */
export const kFamNone = 0;
export const kFamIpv4 = 1;
export const kFamIpv6 = 2;
export const kFamBad = 3;
/** IPv4 first fragment: offset 0, more-fragments set. */
export const kFragFirst = 1 << 3;
/** IPv4 later fragment: non-zero offset, no L4 header. */
export const kFragLater = 1 << 4;
/** The EtherType behind the skipped tag is another 0x8100 tag. */
export const kInnerTag = 1 << 5;
/** The record's `hash` holds the frame's RSS hash (queues/rss.ts). */
export const kHashed = 1 << 6;
const kProtoShift = 8;

export function family(hdr: number): number {
  return (hdr >> kFamilyShift) & 3;
}
/** IPv4 protocol or IPv6 next header (of the fixed header). */
export function protocol(hdr: number): number {
  return (hdr >> kProtoShift) & 0xff;
}

/** The record of slot s, walking the frame first if no stage has. */
export function walked(m: WalkMeta, s: number): number {
  const h = m.meta32[(s << Meta.shift) + Meta.hdr];
  return h !== 0 ? h : walk(m, s);
}

/** Walk the frame in slot s and record it; returns the hdr word. */
export function walk(m: WalkMeta, s: number): number {
  const view = m.view;
  const meta = m.meta32;
  const b = s << Meta.shift;
  const len = meta[b + Meta.len];
  const start = m.frameStart(s);
  let h = kWalked;
  let l3 = 0;
  let l4 = 0;
  if (len >= ethField.headerLen) {
    let type = view.getUint16(start + ethField.ethertype);
    l3 = ethField.headerLen;
    if (type === kTpid) {
      if (len < vlanField.headerLen) {
        l3 = 0;
        h |= kFamBad << kFamilyShift;
      } else {
        type = view.getUint16(start + vlanField.ethertype);
        l3 = vlanField.headerLen;
        if (type === kTpid) h |= kInnerTag;
      }
    }
    const ip = start + l3;
    if (l3 !== 0 && type === EtherType.ipv4) {
      if (ipv4.check(view, ip, len - l3) !== ipv4.Ipv4Check.ok) h |= kFamBad << kFamilyShift;
      else {
        h |= (kFamIpv4 << kFamilyShift) | (ipv4.protocol(view, ip) << kProtoShift);
        if (ipv4.isLaterFragment(view, ip)) h |= kFragLater;
        else if (ipv4.moreFragments(view, ip)) h |= kFragFirst;
        l4 = l3 + ipv4.headerLen(view, ip);
      }
    } else if (l3 !== 0 && type === EtherType.ipv6) {
      if (ipv6.check(view, ip, len - l3) !== ipv6.Ipv6Check.ok) h |= kFamBad << kFamilyShift;
      else {
        h |= (kFamIpv6 << kFamilyShift) | (ipv6.nextHeader(view, ip) << kProtoShift);
        l4 = l3 + ipv6.field.headerLen;
      }
    }
  }
  meta[b + Meta.hdr] = h;
  meta[b + Meta.l3] = l3;
  meta[b + Meta.l4] = l4;
  return h;
}

/**
 * The frame's L2 header grew (`delta` 4: a tag inserted) or shrank (-4: a tag stripped): shift the record
 * where a new walk would find the same headers 4 bytes away, else clear it (the next stage walks again).
 */
export function shiftL2(m: WalkMeta, s: number, delta: number): void {
  const meta = m.meta32;
  const b = s << Meta.shift;
  const h = meta[b + Meta.hdr];
  if (h === 0) return;
  const l3 = meta[b + Meta.l3];
  // strip: the one skipped tag goes and nothing hides behind it; insert: the frame had no tag
  const same = delta < 0 ? l3 === vlanField.headerLen && (h & kInnerTag) === 0 : l3 === ethField.headerLen;
  if (!same) {
    meta[b + Meta.hdr] = 0;
    return;
  }
  meta[b + Meta.l3] = l3 + delta;
  if (meta[b + Meta.l4] !== 0) meta[b + Meta.l4] += delta;
}
