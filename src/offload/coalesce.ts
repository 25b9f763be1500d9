/**
 * Receive segment coalescing (RSC, Linux GRO): toward a port that takes GSO frames (a TAP with
 * IFF_VNET_HDR and TUNSETOFFLOAD), merge consecutive in-order TCP segments of one flow within one egress
 * batch into a single GSO frame, so the guest's stack handles one 64 KB packet instead of 45 small ones
 * (docs/offloads.md).
 *
 *   slots in:  [A1][A2][A3][B1][A4][A5]        A = one flow, B = another, in batch order
 *   slots out: [A1+A2+A3][B1][A4+A5]           freed: [A2][A3][A5]  (the caller releases them)
 *
 * Design notes: README.md in this folder, section "coalesce.ts".
 */
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import * as tcp from '../packet/tcp.js';
import type { PacketPool } from '../dataplane/pool.js';
import { Meta, Meta16 } from '../dataplane/slot-meta.js';
import { kGsoNone, kGsoTcp4, kGsoTcp6, kOffDataValid, kOffNeedsCsum } from '../dataplane/pool.js';
import { ipv4HeaderChecksum, pseudoSumAt } from '../packet/checksum.js';
import { verifyParsed } from './checksum.js';
import { kOffloadOk } from './errors.js';
import {
  Headers,
  kIpv4MinHeader,
  kIpv6Header,
  kProtoTcp,
  kTcpCsumOff,
  kTcpMinHeader,
  parseHeaders,
} from './headers.js';

/** Out-parameter of `coalesceTcp`, allocated once by the caller with room for its largest batch. */
export class CoalesceResult {
  /** Slots left in `slots[0..count)`, in order. */
  count = 0;
  /** Slots merged away, in `freed[0..freedCount)`: the caller frees or releases them. */
  freedCount = 0;
  readonly freed: Int32Array;
  constructor(capacity: number) {
    this.freed = new Int32Array(capacity);
  }
}

const kTcpAck = 0x10; // TCP flag bits (RFC 9293)
const kTcpPsh = 0x08;
const kTcpSeqOff = tcp.field.seq; // header fields, from packet/
const kTcpAckOff = tcp.field.ack;
const kTcpDataOff = tcp.field.dataOff;
const kTcpFlagsOff = tcp.field.flags;
const kTcpWindowOff = tcp.field.window;
const kOptEol = 0; // TCP option kinds (RFC 9293, RFC 7323)
const kOptNop = 1;
const kOptTimestamp = 8;
const kOptTimestampLen = 10; // kind, length, TSval (4), TSecr (4)
const kIpv4TosOff = ipv4.field.dscpEcn;
const kIpv4TotalLenOff = ipv4.field.totalLen;
const kIpv4FlagsOff = ipv4.field.flagsFrag; // DF must match
const kIpv4TtlOff = ipv4.field.ttl;
const kIpv4CsumOff = ipv4.field.checksum;
const kIpv4AddrOff = ipv4.field.src; // src then dst: 8 bytes
const kIpv4AddrLen = 8;
const kIpv6PlenOff = ipv6.field.payloadLen;
const kIpv6HopOff = ipv6.field.hopLimit;
const kIpv6AddrOff = ipv6.field.src; // src then dst: 32 bytes
const kIpv6AddrLen = 32;
const kMaxIpLen = 0xffff; // IPv4 total length / IPv6 payload length are 16-bit fields

// Two header records that swap roles when a candidate becomes a run's head (no copying, no allocation).
let cand = new Headers();
let head = new Headers();

// The open run (at most one). Module state: one worker, one call at a time.
let runOpen = false;
let runSlot = -1;
let runMss = 0; // first segment's payload length = the GSO size
let runLen = 0; // frame length so far
let runLimit = 0; // largest frame length allowed
let runNextSeq = 0; // sequence number the next segment must carry
let runClosed = false; // a short segment was merged: nothing may follow
let runMinTtl = 0;
let runPsh = 0;
let runMerged = 0; // segments merged into the head so far
let runVerified = false; // head's checksum known good (or trusted by its flags)

/**
 * Coalesce the batch `slots[0..count)` (one egress batch toward one port, in order) in place. Returns the
 * new count (also in `res.count`); merged-away slots are listed in `res.freed[0..res.freedCount)`.
 * `maxBytes` bounds a merged frame's length including its L2 header.
 */
export function coalesceTcp(
  pool: PacketPool,
  slots: Int32Array,
  count: number,
  maxBytes: number,
  res: CoalesceResult,
): number {
  let w = 0;
  res.freedCount = 0;
  runOpen = false;
  for (let i = 0; i < count; i++) {
    const s = slots[i]!;
    const ok = eligible(pool, s, cand);
    let candBad = false;
    if (ok && runOpen && mergeable(pool, s, res)) {
      if (!runVerified) runVerified = verifyParsed(pool, runSlot, head);
      if (runVerified) {
        if (
          (pool.meta32[(s << Meta.shift) + Meta.oflags]! & (kOffDataValid | kOffNeedsCsum)) !== 0 ||
          verifyParsed(pool, s, cand)
        ) {
          merge(pool, s, res);
          continue;
        }
        candBad = true;
      }
    }
    if (runOpen) finalize(pool);
    runOpen = false;
    slots[w++] = s;
    if (ok && !candBad && pool.meta32[(s << Meta.shift) + Meta.refs]! <= 1) open(pool, s, maxBytes);
  }
  if (runOpen) finalize(pool);
  runOpen = false;
  res.count = w;
  return w;
}

/** Could the frame in `s` be part of a run at all? Fills `h`. Cheap checks only (no checksum). */
function eligible(pool: PacketPool, s: number, h: Headers): boolean {
  const at = s << Meta.shift;
  if (pool.meta32[at + Meta.gsoType] !== kGsoNone) return false;
  if (parseHeaders(pool, s, h) !== kOffloadOk) return false;
  if (h.proto !== kProtoTcp || h.fragment || h.ipEnd !== pool.meta32[at + Meta.len]) return false; // padding: not a data segment
  if (!h.v6 && h.l4 - h.l3 !== kIpv4MinHeader) return false; // IPv4 options
  if (h.payload >= h.ipEnd) return false; // no payload: a pure ACK ends a run
  const b = pool.bytes;
  const t = pool.frameStart(s) + h.l4;
  const flags = b[t + kTcpFlagsOff]!;
  if ((flags & ~(kTcpAck | kTcpPsh)) !== 0 || (flags & kTcpAck) === 0) return false;
  if (
    (pool.meta32[at + Meta.oflags]! & kOffNeedsCsum) !== 0 &&
    (pool.meta32[at + Meta.csumStart] !== h.l4 || pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] !== kTcpCsumOff)
  )
    return false;
  // Options: only NOP, EOL and a well-formed timestamp.
  const end = pool.frameStart(s) + h.payload;
  for (let o = t + kTcpMinHeader; o < end; ) {
    const kind = b[o]!;
    if (kind === kOptEol) break;
    if (kind === kOptNop) {
      o++;
      continue;
    }
    if (kind !== kOptTimestamp || o + kOptTimestampLen > end || b[o + 1] !== kOptTimestampLen) return false;
    o += kOptTimestampLen;
  }
  return true;
}

function same(b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

/** Does the candidate (in `cand`) continue the open run: same flow and headers, in order, fits? */
function mergeable(pool: PacketPool, s: number, res: CoalesceResult): boolean {
  if (runClosed || res.freedCount >= res.freed.length) return false;
  if (cand.l2 !== head.l2 || cand.v6 !== head.v6 || cand.payload !== head.payload) return false;
  const p = cand.ipEnd - cand.payload; // candidate's payload bytes
  if (p > runMss) return false;
  const newLen = runLen + p;
  if (newLen > runLimit || newLen - head.l3 - (head.v6 ? kIpv6Header : 0) > kMaxIpLen) return false;
  if (pool.meta32[(s << Meta.shift) + Meta.vid] !== pool.meta32[(runSlot << Meta.shift) + Meta.vid]) return false;
  const b = pool.bytes;
  const c = pool.frameStart(s);
  const r = pool.frameStart(runSlot);
  const ct = c + cand.l4;
  const rt = r + head.l4;
  const seq =
    ((b[ct + kTcpSeqOff]! << 24) |
      (b[ct + kTcpSeqOff + 1]! << 16) |
      (b[ct + kTcpSeqOff + 2]! << 8) |
      b[ct + kTcpSeqOff + 3]!) >>>
    0;
  if (seq !== runNextSeq) return false;
  if (!same(b, c, r, cand.l2)) return false; // MACs, tag, EtherType
  const ci = c + cand.l3;
  const ri = r + head.l3;
  if (cand.v6) {
    if (!same(b, ci, ri, 4)) return false; // version, traffic class (DSCP+ECN), flow label
    if (!same(b, ci + kIpv6AddrOff, ri + kIpv6AddrOff, kIpv6AddrLen)) return false;
  } else {
    if (b[ci + kIpv4TosOff] !== b[ri + kIpv4TosOff]) return false; // DSCP+ECN
    if (!same(b, ci + kIpv4FlagsOff, ri + kIpv4FlagsOff, 2)) return false; // DF (neither is a fragment)
    if (!same(b, ci + kIpv4AddrOff, ri + kIpv4AddrOff, kIpv4AddrLen)) return false;
  }
  if (!same(b, ct, rt, 4)) return false; // ports
  if (!same(b, ct + kTcpAckOff, rt + kTcpAckOff, 4)) return false; // ACK number
  if (b[ct + kTcpDataOff] !== b[rt + kTcpDataOff]) return false; // header length
  if (!same(b, ct + kTcpWindowOff, rt + kTcpWindowOff, 2)) return false;
  return same(b, ct + kTcpMinHeader, rt + kTcpMinHeader, cand.payload - cand.l4 - kTcpMinHeader); // options, byte for byte
}

function open(pool: PacketPool, s: number, maxBytes: number): void {
  const at = s << Meta.shift;
  const t = head;
  head = cand;
  cand = t;
  const b = pool.bytes;
  const f = pool.frameStart(s);
  const room = pool.slotSize - pool.meta32[at + Meta.off]!; // bytes from the frame start to the slot end
  runOpen = true;
  runSlot = s;
  runLen = pool.meta32[at + Meta.len]!;
  runMss = head.ipEnd - head.payload;
  runLimit = maxBytes < room ? maxBytes : room;
  const st = f + head.l4 + kTcpSeqOff;
  runNextSeq = ((((b[st]! << 24) | (b[st + 1]! << 16) | (b[st + 2]! << 8) | b[st + 3]!) >>> 0) + runMss) >>> 0;
  runClosed = false;
  runMinTtl = b[f + head.l3 + (head.v6 ? kIpv6HopOff : kIpv4TtlOff)]!;
  runPsh = 0;
  runMerged = 0;
  runVerified = (pool.meta32[at + Meta.oflags]! & (kOffDataValid | kOffNeedsCsum)) !== 0;
}

function merge(pool: PacketPool, s: number, res: CoalesceResult): void {
  const b = pool.bytes;
  const c = pool.frameStart(s);
  const p = cand.ipEnd - cand.payload;
  b.copyWithin(pool.frameStart(runSlot) + runLen, c + cand.payload, c + cand.ipEnd);
  runLen += p;
  runNextSeq = (runNextSeq + p) >>> 0;
  if (p < runMss) runClosed = true;
  runPsh |= b[c + cand.l4 + kTcpFlagsOff]! & kTcpPsh;
  const ttl = b[c + cand.l3 + (cand.v6 ? kIpv6HopOff : kIpv4TtlOff)]!;
  if (ttl < runMinTtl) runMinTtl = ttl;
  runMerged++;
  res.freed[res.freedCount++] = s;
}

/** Turn the run's head into a GSO frame (nothing to do if no segment was merged into it). */
function finalize(pool: PacketPool): void {
  if (runMerged === 0) return;
  const s = runSlot;
  const b = pool.bytes;
  const v = pool.view;
  const f = pool.frameStart(s);
  const ip = f + head.l3;
  const t = f + head.l4;
  pool.meta32[(s << Meta.shift) + Meta.len] = runLen;
  if (head.v6) {
    v.setUint16(ip + kIpv6PlenOff, runLen - head.l3 - kIpv6Header);
    b[ip + kIpv6HopOff] = runMinTtl;
  } else {
    v.setUint16(ip + kIpv4TotalLenOff, runLen - head.l3);
    b[ip + kIpv4TtlOff] = runMinTtl;
    v.setUint16(ip + kIpv4CsumOff, 0);
    v.setUint16(ip + kIpv4CsumOff, ipv4HeaderChecksum(b, ip));
  }
  b[t + kTcpFlagsOff] = b[t + kTcpFlagsOff]! | runPsh;
  // Partial checksum, as Linux leaves it for CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented.
  v.setUint16(t + kTcpCsumOff, pseudoSumAt(b, ip, kProtoTcp, runLen - head.l4));
  pool.meta32[(s << Meta.shift) + Meta.oflags] = kOffNeedsCsum;
  pool.meta32[(s << Meta.shift) + Meta.gsoType] = head.v6 ? kGsoTcp6 : kGsoTcp4;
  pool.meta16[(s << Meta16.shift) + Meta16.gsoSize] = runMss;
  pool.meta32[(s << Meta.shift) + Meta.csumStart] = head.l4;
  pool.meta16[(s << Meta16.shift) + Meta16.csumOffset] = kTcpCsumOff;
}
