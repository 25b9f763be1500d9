/**
 * The metadata record of a pool slot: one 64-byte record per slot (one cache line, 64-byte aligned) in one
 * SharedArrayBuffer, read and written through the pool's two long-lived views at the named offsets below.
 *
 * Why: a frame handed from one worker to another carries its metadata with it; with one typed array per
 * field (17 of them) a hand-over touched ~13 cache lines, each shared with 15 neighbouring slots that other
 * workers were writing (false sharing). One record per slot is one line, owned by whoever owns the slot.
 *
 *   Int32 word (meta32[(s << Meta.shift) + Meta.x]); bytes 60..63 as two Uint16 (meta16[(s << Meta16.shift) + ..])
 *   +0       +4       +8       +12      +16      +20      +24      +28
 *   | off    | len    | port   | vid    | pcp    | aux    | dst    | refs   |  frame, classification, graph
 *   +32      +36      +40      +44      +48      +52      +56      +60 +62
 *   | hdr    | l3     | l4     | hash   | oflags | gsoType| csStart|gso|cso|  header walk, offload (virtio)
 *
 * - off, len: the frame is bytes [slot base + off, + len) (off moves when a tag is pushed into the headroom).
 * - port, vid, pcp: ingress port index, classified VLAN (0 = not yet), 802.1p priority (switch/ingress.ts).
 * - aux: the next step a graph node wrote (0 = go on, n = drop reason n; dataplane/graph.ts).
 * - dst: the forwarding result, a port index or kFlood (switch/forward.ts); refs: egress queue references.
 * - hdr, l3, l4, hash: the header record of packet/walk.ts and the RSS hash (queues/rss.ts).
 * - oflags, gsoType, csumStart, gsoSize, csumOffset: virtio_net_hdr semantics (docs/offloads.md);
 *   gsoSize and csumOffset are 16-bit in virtio_net_hdr too, so they share the last word.
 *
 * Trade-off: 64 bytes per slot where the fields need ~50, so no two slots share a line (32-byte records
 * would put two slots, possibly owned by two workers, on one line); Int32 for the rest, not packed bit
 * fields, so every access is one load or store at a constant offset. The const enums inline as numbers.
 */

/** Int32 word offsets within a record; `shift`: a record is 1 << shift words. */
// biome-ignore lint/suspicious/noConstEnum: tsc inlines each use as a literal offset; no lookup per access on the datapath
export const enum Meta {
  shift = 4,
  words = 16,
  bytes = 64,
  off = 0,
  len = 1,
  port = 2,
  vid = 3,
  // biome-ignore lint/suspicious/noDuplicateEnumValues: shift, words and bytes are sizes, the rest offsets
  pcp = 4,
  aux = 5,
  dst = 6,
  refs = 7,
  hdr = 8,
  l3 = 9,
  l4 = 10,
  hash = 11,
  oflags = 12,
  gsoType = 13,
  csumStart = 14,
}

/** Uint16 offsets within a record (the last Int32 word, bytes 60..63). */
// biome-ignore lint/suspicious/noConstEnum: inlined like Meta
export const enum Meta16 {
  shift = 5,
  gsoSize = 30,
  csumOffset = 31,
}

/** The metadata buffer of a pool of `slots` slots. */
export function createSlotMeta(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * Meta.bytes);
}

/** Copy slot `from`'s whole record onto slot `to` (a frame copied into another slot keeps its metadata). */
export function copySlotMeta(meta32: Int32Array, from: number, to: number): void {
  const a = from << Meta.shift;
  const b = to << Meta.shift;
  for (let i = 0; i < Meta.words; i++) meta32[b + i] = meta32[a + i];
}
