/**
 * Length-prefixed framing over a byte stream: QEMU `-netdev stream` / `socket` (4-byte big-endian length +
 * frame) and VDE `vde_plug` (2-byte big-endian length + frame).
 *
 * Why a state machine (the ws `receiver.js` shape): TCP and unix sockets deliver arbitrary chunks, so a
 * frame, and even its length prefix, may be split across 'data' events, and one chunk may hold hundreds of
 * frames. The reassembler keeps only a few integers between chunks and copies frame bytes straight from the
 * chunk into a pool slot, so a frame is never staged in a temporary buffer:
 *
 *   READ_LENGTH --prefix complete, 1..maxFrame, slot--> READ_FRAME --len bytes copied--> receive, READ_LENGTH
 *        |  \--0--> drop 'malformed', READ_LENGTH
 *        |--> maxFrame < len <= 69632, or no slot --> SKIP --len bytes skipped--> READ_LENGTH
 *        \--> len > 69632 --> drop 'framing-error', FATAL (caller destroys the connection, as QEMU does)
 *
 * Trade-offs: a frame that arrives in pieces is copied piecewise (no extra copy, but one copy call per
 * piece); a length the switch cannot hold is skipped byte-for-byte rather than closing the connection, so a
 * guest with a jumbo MTU above our slot size loses frames, not its link. Only a length no QEMU could send
 * (> 69632) is treated as a corrupted stream.
 *
 * The encoder builds one Buffer per transmit batch holding every length-prefixed frame, so a stream port
 * costs one allocation and one socket write per batch, whatever the number of frames.
 */
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import type { NicSink } from './nic.js';

/** QEMU's NET_BUFSIZE (4096 + 65536): QEMU refuses longer lengths as a corrupt stream and drops the connection. */
export const kMaxStreamFrame = 69632;
/** QEMU `-netdev stream`/`socket`: 4-byte big-endian length (net/stream.c, net/socket.c). */
export const kQemuPrefixBytes = 4;
/** VDE `vde_plug` stdio stream: 2-byte big-endian length (vde2 vde_plug.c). */
export const kVdePrefixBytes = 2;
/** The largest length a 2-byte prefix can carry. */
const kMaxVdeFrame = 0xffff;

export type FramingKind = 'qemu' | 'vde';
export type PrefixBytes = 2 | 4;

export function prefixBytesFor(kind: FramingKind): PrefixBytes {
  return kind === 'vde' ? kVdePrefixBytes : kQemuPrefixBytes;
}

/** Longest frame the encoder can put on the wire with this prefix (and the peer will accept). */
export function maxEncodableFrame(prefixBytes: PrefixBytes): number {
  return prefixBytes === kVdePrefixBytes ? kMaxVdeFrame : kMaxStreamFrame;
}

/**
 * Frames delivered before the reassembler flushes mid-chunk: the datapath's batch is 256 slots
 * (dataplane/graph.ts kMaxBatch), and a 64 KiB chunk of minimum-size frames holds about 1000.
 */
export const kFlushEvery = 256;

/**
 * Below this many bytes a 32-bit DataView loop copies faster than Buffer.copy / TypedArray.set and allocates
 * nothing; above it the native memcpy wins. Measured here (Node 20, copy into the SharedArrayBuffer pool):
 * 60 B: loop 95 ns vs copy 211 ns; 256 B: loop 171 ns vs copy 122 ns; 1514 B: loop 1154 ns vs copy 818 ns.
 * Node 20's copy paths create one Uint8Array view per call, so the large-copy path costs one small object.
 */
const kSmallCopy = 128;

/**
 * Copy `len` bytes from `src[srcOff..]` to `dst[dstOff..]`. `srcView`/`dstView` are DataViews over the same
 * bytes as `src`/`dst` (long-lived or one per chunk/batch, never per frame).
 */
export function copyBytes(
  src: Uint8Array,
  srcView: DataView,
  srcOff: number,
  dst: Uint8Array,
  dstView: DataView,
  dstOff: number,
  len: number,
): void {
  if (len >= kSmallCopy) {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
    return;
  }
  // DataView offsets are relative to the view; the views here start where their arrays start.
  let k = 0;
  for (; k + 4 <= len; k += 4) dstView.setInt32(dstOff + k, srcView.getInt32(srcOff + k));
  for (; k < len; k++) dst[dstOff + k] = src[srcOff + k];
}

/** A DataView covering exactly the bytes of `a` (so view offsets equal array indices). */
export function viewOf(a: Uint8Array): DataView {
  return new DataView(a.buffer, a.byteOffset, a.byteLength);
}

// Reassembler states.
const kReadLength = 0;
const kReadFrame = 1;
const kSkip = 2;
const kFatal = 3;

/** Result of `feed()`. */
export const kFeedOk = true;
/** The stream is corrupt (length > 69632): the caller must destroy the connection. */
export const kFeedFatal = false;

export class FrameReassembler {
  private state = kReadLength;
  /** Length prefix bytes gathered so far and their value. */
  private lenHave = 0;
  private lenValue = 0;
  /** Current frame: its slot (READ_FRAME), length, bytes still to copy or skip, next write position. */
  private slot = -1;
  private frameLen = 0;
  private remaining = 0;
  private dst = 0;
  /** Frames handed to the sink since the last flush. */
  private unflushed = 0;

  constructor(
    private readonly sink: NicSink,
    readonly prefixBytes: PrefixBytes,
  ) {}

  /** True after a fatal framing error, until `reset()`. */
  get failed(): boolean {
    return this.state === kFatal;
  }

  /**
   * Consume one chunk: deliver every completed frame with `sink.receive()`, then `sink.flush()` once if
   * anything was delivered. Returns `kFeedFatal` (false) when the stream is corrupt; the caller destroys the
   * connection and further chunks are ignored until `reset()`.
   */
  feed(chunk: Uint8Array): boolean {
    if (this.state === kFatal) return kFeedFatal;
    const n = chunk.length;
    const sink = this.sink;
    const pool = sink.pool;
    let view: DataView | null = null; // made at most once per chunk, only when a small frame is copied
    let i = 0;
    while (i < n) {
      if (this.state === kReadLength) {
        // Gather the prefix a byte at a time: it may be split across chunks. Multiply, not shift: a 4-byte
        // length must stay unsigned.
        while (this.lenHave < this.prefixBytes && i < n) {
          this.lenValue = this.lenValue * 256 + chunk[i++];
          this.lenHave++;
        }
        if (this.lenHave < this.prefixBytes) break;
        const len = this.lenValue;
        this.lenHave = 0;
        this.lenValue = 0;
        if (len === 0) {
          sink.drop('malformed');
          continue;
        }
        if (len > kMaxStreamFrame) {
          sink.drop('framing-error');
          this.state = kFatal;
          this.flushIfAny();
          return kFeedFatal;
        }
        this.frameLen = len;
        this.remaining = len;
        if (len > pool.maxFrame) {
          sink.drop('oversize');
          this.state = kSkip;
          continue;
        }
        const slot = sink.alloc();
        if (slot < 0) {
          sink.drop('no-buffer'); // NicSink.alloc contract: the NIC counts each frame it loses
          this.state = kSkip;
          continue;
        }
        this.slot = slot;
        this.dst = pool.frameStart(slot);
        this.state = kReadFrame;
      } else if (this.state === kReadFrame) {
        const avail = n - i;
        const take = avail < this.remaining ? avail : this.remaining;
        if (take < kSmallCopy && view === null) view = viewOf(chunk);
        copyBytes(chunk, view as DataView, i, pool.bytes, pool.view, this.dst, take);
        i += take;
        this.dst += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          const slot = this.slot;
          pool.meta32[(slot << Meta.shift) + Meta.len] = this.frameLen;
          this.slot = -1;
          this.state = kReadLength;
          sink.receive(slot);
          if (++this.unflushed >= kFlushEvery) this.flushIfAny();
        }
      } else {
        // kSkip
        const avail = n - i;
        const take = avail < this.remaining ? avail : this.remaining;
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = kReadLength;
      }
    }
    this.flushIfAny();
    return kFeedOk;
  }

  /**
   * Forget the current connection's partial state (call on connect and disconnect). A frame cut short by the
   * connection ending is counted 'malformed' and its slot returned to the pool.
   */
  reset(): void {
    if (this.state === kReadFrame) {
      this.sink.pool.free(this.slot);
      this.sink.drop('malformed');
    }
    this.state = kReadLength;
    this.slot = -1;
    this.lenHave = 0;
    this.lenValue = 0;
    this.remaining = 0;
    this.frameLen = 0;
    this.unflushed = 0;
  }

  private flushIfAny(): void {
    if (this.unflushed === 0) return;
    this.unflushed = 0;
    this.sink.flush();
  }
}

/**
 * Encode `count` frames (pool slots) as one length-prefixed byte string: one allocation, ready for one
 * socket write. Frames longer than `maxEncodableFrame(prefixBytes)` are left out (a QEMU peer would drop
 * the whole connection for one; a 2-byte prefix cannot say their length): the caller counts them.
 */
export function encodeBatch(pool: PacketPool, slots: Int32Array, count: number, prefixBytes: PrefixBytes): Buffer {
  const limit = maxEncodableFrame(prefixBytes);
  const m = pool.meta32;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const len = m[(slots[i] << Meta.shift) + Meta.len];
    if (len <= limit) total += prefixBytes + len;
  }
  const out = Buffer.allocUnsafe(total);
  const outView = viewOf(out);
  let o = 0;
  for (let i = 0; i < count; i++) {
    const slot = slots[i];
    const len = m[(slot << Meta.shift) + Meta.len];
    if (len > limit) continue;
    if (prefixBytes === kQemuPrefixBytes) outView.setUint32(o, len);
    else outView.setUint16(o, len);
    o += prefixBytes;
    copyBytes(pool.bytes, pool.view, pool.frameStart(slot), out, outView, o, len);
    o += len;
  }
  return out;
}

/** How many of the first `count` slots `encodeBatch` leaves out, for the caller to count as drops. */
export function countUnencodable(pool: PacketPool, slots: Int32Array, count: number, prefixBytes: PrefixBytes): number {
  const limit = maxEncodableFrame(prefixBytes);
  if (pool.maxFrame <= limit) return 0; // no slot can hold such a frame
  let n = 0;
  for (let i = 0; i < count; i++) if (pool.meta32[(slots[i] << Meta.shift) + Meta.len] > limit) n++;
  return n;
}
