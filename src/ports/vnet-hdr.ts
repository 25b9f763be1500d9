/**
 * virtio_net_hdr <-> a pool slot's offload metadata: the parse, validation and emit that a TAP with
 * IFF_VNET_HDR needs on every frame (and, later, any other virtio-speaking endpoint: vhost-user, a QEMU
 * socket with vnet headers). Pure functions over the pool, no state: the NIC decides where the 12 header
 * bytes sit (tap.ts: just in front of the frame, in the slot's headroom) and how to count a refusal.
 *
 *   byte:  0       1          2..3     4..5      6..7        8..9         10..11
 *         | flags | gso_type | hdr_len | gso_size | csum_start | csum_offset | num_buffers |
 *   (little-endian: a TAP uses the host's order unless TUNSETVNETBE, and our hosts are x86/arm64 LE)
 *
 * Design notes: README.md in this folder, section "vnet-hdr.ts".
 */
import {
  kGsoEcn,
  kGsoNone,
  kGsoTcp4,
  kGsoTcp6,
  kGsoUdpL4,
  kOffDataValid,
  kOffNeedsCsum,
  type PacketPool,
} from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';

/** Bytes of virtio_net_hdr with IFF_VNET_HDR: the 12-byte (num_buffers) layout native/tap.c asks for
 *  (TUNSETVNETHDRSZ 12; the legacy 10-byte header lacks num_buffers, which we always write as 0). */
export const kVnetHdrLen = 12;
/** virtio_net_hdr field offsets (virtio spec 1.1, 5.1.6 "Device Operation"). */
export const kHdrFlags = 0;
export const kHdrGsoType = 1;
export const kHdrHdrLen = 2;
export const kHdrGsoSize = 4;
export const kHdrCsumStart = 6;
export const kHdrCsumOffset = 8;
export const kHdrNumBuffers = 10;
/** The checksum field itself is 2 bytes: csum_start + csum_offset + 2 must not pass the frame's end. */
const kCsumFieldLen = 2;
/** UDP header length: hdr_len of a USO frame ends there (RFC 768). */
const kUdpHeader = 8;
/** Byte of the TCP header holding the data offset (upper nibble, in 32-bit words). */
const kTcpDataOff = 12;

export type VnetHdrRefusal = 'bad-vnet-hdr' | 'gso-unsupported';

/**
 * Parse the virtio_net_hdr at byte `hdrAt` of `pool.bytes`, describing the `len`-byte frame in `slot`,
 * into the slot's offload metadata. Returns 0 on success; `gso-unsupported` for a GSO type the switch
 * cannot segment (UFO = 3, unknown values); `bad-vnet-hdr` when the header claims what the frame lacks:
 * a checksum field past the end, GSO without NEEDS_CSUM, or GSO with gso_size 0. Metadata is untouched
 * on refusal.
 */
export function readVnetHdr(pool: PacketPool, slot: number, hdrAt: number, len: number): 0 | VnetHdrRefusal {
  const at = slot << Meta.shift;
  const bytes = pool.bytes;
  const view = pool.view;
  const flags = bytes[hdrAt + kHdrFlags]!;
  const gso = bytes[hdrAt + kHdrGsoType]!;
  const gsoSize = view.getUint16(hdrAt + kHdrGsoSize, true);
  const csumStart = view.getUint16(hdrAt + kHdrCsumStart, true);
  const csumOffset = view.getUint16(hdrAt + kHdrCsumOffset, true);
  const type = gso & ~kGsoEcn;
  if (type !== kGsoNone && type !== kGsoTcp4 && type !== kGsoTcp6 && type !== kGsoUdpL4) return 'gso-unsupported';
  const needsCsum = (flags & kOffNeedsCsum) !== 0;
  if (needsCsum && csumStart + csumOffset + kCsumFieldLen > len) return 'bad-vnet-hdr';
  if (type !== kGsoNone && (gsoSize === 0 || !needsCsum)) return 'bad-vnet-hdr';
  if (type === kGsoNone && gso !== kGsoNone) return 'bad-vnet-hdr'; // the ECN bit alone: Linux refuses it too
  pool.meta32[at + Meta.oflags] = flags & (kOffNeedsCsum | kOffDataValid);
  pool.meta32[at + Meta.gsoType] = gso;
  pool.meta16[(slot << Meta16.shift) + Meta16.gsoSize] = gsoSize;
  pool.meta32[at + Meta.csumStart] = csumStart;
  pool.meta16[(slot << Meta16.shift) + Meta16.csumOffset] = csumOffset;
  return 0;
}

/**
 * The slot's offload metadata -> a 12-byte virtio_net_hdr at byte `at` of `pool.bytes` (tap.ts: just
 * before the frame). Fields that do not apply are written as 0, so the bytes are fully determined.
 * hdr_len (GSO only) = csum_start + the L4 header length read from the frame.
 */
export function writeVnetHdr(pool: PacketPool, slot: number, at: number): void {
  const view = pool.view;
  const flags = pool.meta32[(slot << Meta.shift) + Meta.oflags]!;
  const gso = pool.meta32[(slot << Meta.shift) + Meta.gsoType]!;
  view.setUint8(at + kHdrFlags, flags);
  view.setUint8(at + kHdrGsoType, gso);
  let hdrLen = 0;
  if ((flags & kOffNeedsCsum) !== 0) {
    const cs = pool.meta32[(slot << Meta.shift) + Meta.csumStart]!;
    // headers end after the L4 header: TCP's data offset, or UDP's fixed 8 bytes (the kernel re-derives it if short)
    hdrLen =
      gso === kGsoUdpL4 ? cs + kUdpHeader : cs + ((pool.bytes[pool.frameStart(slot) + cs + kTcpDataOff]! >>> 4) << 2);
    view.setUint16(at + kHdrCsumStart, cs, true);
    view.setUint16(at + kHdrCsumOffset, pool.meta16[(slot << Meta16.shift) + Meta16.csumOffset]!, true);
  } else {
    view.setUint16(at + kHdrCsumStart, 0, true);
    view.setUint16(at + kHdrCsumOffset, 0, true);
  }
  view.setUint16(at + kHdrHdrLen, gso !== kGsoNone ? hdrLen : 0, true);
  view.setUint16(at + kHdrGsoSize, gso !== kGsoNone ? pool.meta16[(slot << Meta16.shift) + Meta16.gsoSize]! : 0, true);
  view.setUint16(at + kHdrNumBuffers, 0, true);
}
