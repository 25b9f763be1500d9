/**
 * TapNic: a Linux TAP interface as a switch port endpoint, through the project's native addon
 * (tap-native.ts, native/tap.c).
 *
 * Why: a TAP is how the host kernel (and through it a namespace, a VM on a bridge, iperf3) joins the
 * switch. One frame per read()/write() is the TAP's framing, and every syscall is expensive on these
 * machines, so the costs that can be batched are: one N-API call reads up to kBatch frames straight into
 * pool slots, one N-API call writes a whole egress batch, and the pipeline runs once per wake.
 *
 * Design notes: README.md in this folder, section "tap.ts".
 */
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { kCapCsum, kCapTso, kCapUso, type Nic, type NicSink } from './nic.js';
import { loadTapAddon, type TapAddon } from './tap-native.js';
import { kVnetHdrLen, readVnetHdr, writeVnetHdr } from './vnet-hdr.js';

export { kVnetHdrLen };

/** Frames per native read call: 64 amortises the N-API call (~0.1-0.2 us) over many read()s while
 *  parking few slots per port (64 x 9472 B = 606 KB). */
export const kBatch = 64;
/** Read batches per wake: 4 x 64 = 256 frames, then yield the loop to other ports. */
export const kMaxRoundsPerWake = 4;
/** Shortest frame we pass on: an Ethernet header (dst 6 + src 6 + type 2). */
const kMinFrame = 14;
/** First size of the transmit offset/length arrays: one breath of kMaxRoundsPerWake x kBatch frames;
 *  grows (rarely, control-path style) if the engine hands more at once. */
const kTxInitial = kMaxRoundsPerWake * kBatch;
/** Scratch for frames read while the pool is empty: they are discarded, so any size keeps the kernel
 *  queue draining (the kernel truncates); 64 B covers the vnet header plus an Ethernet header. */
const kScratchBytes = 64;
/** errno value of EAGAIN on Linux (writeBatch reports -EAGAIN when the kernel queue is full). */
const kEAGAIN = 11;
/** TUNSETOFFLOAD flags (linux/if_tun.h): checksum, TSO over IPv4/IPv6 (with ECN), UDP segmentation. */
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
const TUN_F_TSO_ECN = 0x08;
const TUN_F_USO4 = 0x20;
const TUN_F_USO6 = 0x40;

export interface TapNicOptions {
  /** Interface name (<= 15 bytes); `tap%d` lets the kernel pick. */
  name: string;
  /** Create it if missing (default true). false: must exist. */
  create?: boolean;
  /** Make the device persistent (it outlives the fd: a restarted switch finds it, MAC and addresses kept);
   *  `dispose()` undoes it when the port is removed for good. Default false: gone when closed. */
  persist?: boolean;
  /** Network namespace (a name under /run/netns) to create or find the device in. */
  netns?: string;
  /** IFF_VNET_HDR: 12-byte virtio_net_hdr per frame (prerequisite for the later offload work). */
  vnetHdr?: boolean;
  /** IFF_MULTI_QUEUE: this NIC opens one queue; other TapNics on the same name add more. */
  multiQueue?: boolean;
  /** TUNSETOFFLOAD: exchange GSO frames and partial checksums with the kernel (implies vnetHdr). */
  offload?: boolean;
  /**
   * Write-only use of a TAP another worker opened (multi-worker switches): transmit on this fd, never read
   * it, never report link, never close it. `offloadCaps` are the owner's.
   */
  borrow?: { fd: number; offloadCaps: number };
  /**
   * Take over a TAP that stays open elsewhere (a retired worker's released fd, the runtime's copy of a
   * crashed worker's): this NIC opens a dup of `fd` (its own, closed by it or by this thread's teardown),
   * reads it, writes it and reports its link. The device is already up; its offloads stay as they were.
   */
  dupOf?: { fd: number; offloadCaps: number };
}

/** TUNSETOFFLOAD with every offload we handle; the Nic capabilities the kernel accepted (USO from 6.2). */
function negotiateOffload(addon: TapAddon, fd: number): number {
  const got = addon.setOffload(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6);
  return kCapCsum | ((got & TUN_F_TSO4) !== 0 ? kCapTso : 0) | ((got & TUN_F_USO4) !== 0 ? kCapUso : 0);
}

export class TapNic implements Nic {
  readonly kind = 'tap';
  readonly vnetHdr: boolean;
  readonly multiQueue: boolean;
  readonly offload: boolean;
  /** Nic.offloadCaps: what the kernel accepted through TUNSETOFFLOAD (0 until open). */
  offloadCaps = 0;
  private readonly create: boolean;
  private readonly persist: boolean;
  private readonly netns: string | undefined;
  private requestedName: string;
  private ifname: string;
  private addon: TapAddon | null = null;
  private sink: NicSink | null = null;
  private fdNum = -1;
  private pollId = 0;
  private linkUp = false;
  /** errno of the error that stopped receive (0: none). */
  private lastErrno = 0;
  private readonly hdrLen: number;

  /** Slots taken from the pool for the next read: refill[i] is read at rxOffsets[i]. */
  private readonly refill = new Int32Array(kBatch);
  private readonly rxOffsets = new Int32Array(kBatch);
  private readonly rxLens = new Int32Array(kBatch);
  private refillCount = 0;
  /** What the addon reads on the next wake: [frames (= refillCount), bytes per frame]. */
  private readonly rxCtl = new Int32Array(2);
  private readonly scratch = new Uint8Array(kScratchBytes);
  private readonly scratchOffsets = new Int32Array(kBatch); // all 0: discarded frames overwrite each other
  private txOffsets = new Int32Array(kTxInitial);
  private txLens = new Int32Array(kTxInitial);

  /** The one closure of this NIC, bound at construction and handed to the native poll. */
  private readonly onReadable = (status: number, pre: number | undefined): void => {
    // an addon built before the pre-read (no `pre`) leaves the first read to drain
    this.drain(status, pre ?? 0, pre !== undefined);
  };

  constructor(opts: TapNicOptions) {
    this.requestedName = opts.name;
    this.ifname = opts.name;
    this.create = opts.create ?? true;
    this.persist = opts.persist ?? false;
    this.netns = opts.netns;
    this.offload = opts.offload ?? false;
    this.vnetHdr = (opts.vnetHdr ?? false) || this.offload;
    this.multiQueue = opts.multiQueue ?? false;
    this.hdrLen = this.vnetHdr ? kVnetHdrLen : 0;
    this.borrowed = opts.borrow ?? null;
    this.adopted = opts.dupOf ?? null;
  }

  private readonly borrowed: { fd: number; offloadCaps: number } | null;
  private readonly adopted: { fd: number; offloadCaps: number } | null;

  /** The kernel's name for the interface (differs from the requested one for `tap%d`). */
  get name(): string {
    return this.ifname;
  }

  /** The TAP fd, or -1 when closed. */
  get fd(): number {
    return this.fdNum;
  }

  open(sink: NicSink): void {
    if (this.fdNum >= 0) throw new Error(`TapNic ${this.ifname}: already open`);
    const addon = loadTapAddon();
    if (this.borrowed !== null) {
      this.addon = addon;
      this.sink = sink;
      this.fdNum = this.borrowed.fd;
      this.offloadCaps = this.borrowed.offloadCaps;
      return;
    }
    const h =
      this.adopted !== null
        ? { fd: addon.dup(this.adopted.fd), name: this.requestedName }
        : addon.open(this.requestedName, {
            create: this.create,
            vnetHdr: this.vnetHdr,
            multiQueue: this.multiQueue,
            persist: this.persist,
            ...(this.netns !== undefined ? { netns: this.netns } : {}),
          });
    this.addon = addon;
    this.sink = sink;
    this.fdNum = h.fd;
    this.ifname = h.name;
    this.lastErrno = 0;
    this.refillCount = 0;
    try {
      if (this.adopted !== null) this.offloadCaps = this.adopted.offloadCaps;
      else if (this.offload) this.offloadCaps = negotiateOffload(addon, h.fd);
      this.pollId = this.startPoll(addon, h.fd, sink);
    } catch (err) {
      addon.close(h.fd);
      this.fdNum = -1;
      throw err;
    }
    this.linkUp = true;
    sink.connected();
  }

  transmit(slots: Int32Array, count: number): number {
    const sink = this.sink;
    if (sink === null) return 0;
    if (this.fdNum < 0 || this.addon === null) {
      for (let i = 0; i < count; i++) sink.drop('tx-error');
      return 0;
    }
    if (count > this.txOffsets.length) this.growTx(count);
    const pool = sink.pool;
    const bytes = pool.bytes;
    const hdr = this.hdrLen;
    const offsets = this.txOffsets;
    const lens = this.txLens;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const s = slots[i];
      const len = pool.meta32[(s << Meta.shift) + Meta.len];
      if (len < kMinFrame) {
        sink.drop('malformed'); // the kernel would refuse it (EINVAL) and stop the batch there
        continue;
      }
      let start = pool.frameStart(s);
      if (hdr !== 0) {
        if (pool.meta32[(s << Meta.shift) + Meta.off] < hdr) {
          sink.drop('tx-error'); // no headroom left in front of the frame for the virtio_net_hdr
          continue;
        }
        start -= hdr;
        writeVnetHdr(pool, s, start);
      }
      offsets[n] = start;
      lens[n] = len + hdr;
      n++;
    }
    if (n === 0) return 0;
    const sent = this.addon.writeBatch(this.fdNum, bytes, offsets, lens, n);
    if (sent < n) {
      const reason = lens[sent] === -kEAGAIN ? 'ring-full' : 'tx-error';
      for (let i = sent; i < n; i++) sink.drop(reason);
    }
    return sent;
  }

  /**
   * Stop reading and let go of the fd without closing it (another worker adopts it): no link event, the
   * slots waiting for a read go back to the pool. Returns the fd.
   */
  release(): number {
    const fd = this.fdNum;
    const addon = this.addon;
    if (fd < 0 || addon === null) return -1;
    if (this.pollId !== 0) addon.unpoll(this.pollId);
    this.pollId = 0;
    this.fdNum = -1;
    this.linkUp = false;
    const sink = this.sink;
    if (sink !== null) for (let i = 0; i < this.refillCount; i++) sink.pool.free(this.refill[i]);
    this.refillCount = 0;
    return fd;
  }

  /** Nic.setLink: administrative link state shown to the host as carrier. */
  setLink(up: boolean): void {
    if (this.fdNum >= 0 && this.addon !== null && this.borrowed === null) this.setCarrier(up);
  }

  /** TUNSETCARRIER: false makes the host see NO-CARRIER. Returns false if the kernel lacks it. */
  setCarrier(up: boolean): boolean {
    if (this.fdNum < 0 || this.addon === null) throw new Error(`TapNic ${this.ifname}: not open`);
    return this.addon.setCarrier(this.fdNum, up);
  }

  /**
   * The device went away under the port (deleted): attach again, re-creating it when the switch creates it,
   * on the same fd number (so workers that borrow it for writes follow). Reports connected. Returns false
   * when there is nothing to revive (open and healthy, closed, or borrowed); throws when the open fails.
   */
  revive(): boolean {
    const addon = this.addon;
    const sink = this.sink;
    if (this.fdNum < 0 || this.lastErrno === 0 || addon === null || sink === null || this.borrowed !== null)
      return false;
    const h = addon.open(this.requestedName, {
      create: this.create,
      vnetHdr: this.vnetHdr,
      multiQueue: this.multiQueue,
      persist: this.persist,
      replaceFd: this.fdNum,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
    this.ifname = h.name;
    this.lastErrno = 0;
    if (this.offload) this.offloadCaps = negotiateOffload(addon, h.fd);
    this.pollId = this.startPoll(addon, h.fd, sink);
    this.linkUp = true;
    sink.connected();
    return true;
  }

  /** Nic.dispose: the port is removed for good, so a persistent device goes with the fd (never a borrowed one). */
  dispose(): void {
    if (this.fdNum >= 0 && this.addon !== null && this.borrowed === null && this.persist)
      this.addon.unpersist(this.fdNum);
  }

  close(): void {
    const addon = this.addon;
    if (this.fdNum < 0 || addon === null) return;
    if (this.borrowed !== null) {
      this.fdNum = -1; // the owner closes the fd
      return;
    }
    if (this.pollId !== 0) addon.unpoll(this.pollId);
    this.pollId = 0;
    addon.close(this.fdNum);
    this.fdNum = -1;
    const sink = this.sink;
    if (sink !== null) {
      for (let i = 0; i < this.refillCount; i++) sink.pool.free(this.refill[i]);
      this.refillCount = 0;
      if (this.linkUp) {
        this.linkUp = false;
        sink.disconnected();
      }
    }
  }

  describe(): Record<string, unknown> {
    return {
      name: this.ifname,
      fd: this.fdNum,
      vnetHdr: this.vnetHdr,
      multiQueue: this.multiQueue,
      offload: this.offload,
      offloadCaps: this.offloadCaps,
      ...(this.lastErrno !== 0 ? { lastErrno: this.lastErrno } : {}),
    };
  }

  /** The level-triggered poll, with the first read of each wake done by the addon into our slots. */
  private startPoll(addon: TapAddon, fd: number, sink: NicSink): number {
    const pool = sink.pool;
    this.topUp(pool, sink);
    this.rxCtl[1] = this.capacity(pool);
    return addon.poll(fd, this.onReadable, {
      bytes: pool.bytes,
      offsets: this.rxOffsets,
      lens: this.rxLens,
      ctl: this.rxCtl,
    });
  }

  /** Room from the read position (headroom - hdr) to the slot's end. */
  private capacity(pool: PacketPool): number {
    return pool.slotSize - pool.headroom + this.hdrLen;
  }

  /** Nic.poll: one wake's worth of reading if this NIC reads (not a borrowed writer, not lost). */
  poll(): number {
    return this.pollId === 0 ? 0 : this.drain(0, 0, false);
  }

  /**
   * One wake: up to kMaxRoundsPerWake read batches, then one flush. `woken`: a wake from the poll, whose
   * first batch the addon already read into refill[0..pre) (or failed with -errno: pre < 0); false for a
   * busy poll, which reads for itself. Returns the frames delivered.
   */
  private drain(status: number, pre: number, woken: boolean): number {
    const sink = this.sink;
    const addon = this.addon;
    if (sink === null || addon === null || this.fdNum < 0) return 0;
    const pool = sink.pool;
    const capacity = this.capacity(pool);
    let delivered = 0;
    let err = 0;
    for (let round = 0; round < kMaxRoundsPerWake; round++) {
      const max = this.refillCount;
      if (round === 0 && woken && status === 0 && max > 0) {
        // the addon read this batch already (into the slots rxCtl[0] announced: refillCount)
        if (pre < 0) err = -pre;
        else delivered += this.deliver(pool, sink, pre, capacity);
        if (pre < max) break;
        continue;
      }
      this.topUp(pool, sink);
      const fresh = this.refillCount;
      let n: number;
      if (fresh === 0) {
        // Pool empty: drain the kernel queue into scratch and count each loss, or the poll would spin.
        n = addon.readBatch(this.fdNum, this.scratch, this.scratchOffsets, kScratchBytes, this.rxLens, kBatch);
        for (let i = 0; i < n; i++) sink.drop('no-buffer');
        if (n < 0) err = -n;
        if (n < kBatch) break;
        continue;
      }
      n = addon.readBatch(this.fdNum, pool.bytes, this.rxOffsets, capacity, this.rxLens, fresh);
      if (n < 0) {
        err = -n;
        break;
      }
      delivered += this.deliver(pool, sink, n, capacity);
      if (n < fresh) break; // EAGAIN: the kernel queue is empty
    }
    this.topUp(pool, sink); // the slots the addon reads into on the next wake
    if (delivered > 0) sink.flush();
    // A hard read error, or libuv reporting an error (it has stopped the watcher): the device is gone.
    if (err !== 0) this.lost(err);
    else if (status < 0) this.lost(-status);
    return delivered;
  }

  /** Hand frames refill[0..n) to the sink; keep the slots of refused frames and the unused ones. */
  private deliver(pool: PacketPool, sink: NicSink, n: number, capacity: number): number {
    const hdr = this.hdrLen;
    const refill = this.refill;
    const rxOffsets = this.rxOffsets;
    const rxLens = this.rxLens;
    let keep = 0;
    let delivered = 0;
    for (let i = 0; i < n; i++) {
      const s = refill[i];
      const got = rxLens[i];
      const len = got - hdr;
      if (len < kMinFrame || got >= capacity) {
        // got >= capacity: the kernel silently truncates a frame longer than the buffer.
        sink.drop(len < kMinFrame ? 'malformed' : 'oversize');
        refill[keep] = s;
        rxOffsets[keep] = rxOffsets[i];
        keep++;
        continue;
      }
      pool.meta32[(s << Meta.shift) + Meta.off] = pool.headroom;
      pool.meta32[(s << Meta.shift) + Meta.len] = len;
      const refused = hdr !== 0 ? readVnetHdr(pool, s, pool.slotBase(s) + pool.headroom - kVnetHdrLen, len) : 0;
      if (refused !== 0) {
        sink.drop(refused); // the header lies or asks for a GSO kind we cannot segment (vnet-hdr.ts)
        refill[keep] = s;
        rxOffsets[keep] = rxOffsets[i];
        keep++;
        continue;
      }
      sink.receive(s);
      delivered++;
    }
    for (let i = n; i < this.refillCount; i++) {
      refill[keep] = refill[i];
      rxOffsets[keep] = rxOffsets[i];
      keep++;
    }
    this.refillCount = keep;
    return delivered;
  }

  /** Fill the refill array up to kBatch from the pool (stops quietly at the first -1), and tell the addon
   *  how many slots the next wake may read into. */
  private topUp(pool: PacketPool, sink: NicSink): void {
    const readAt = pool.headroom - this.hdrLen;
    while (this.refillCount < kBatch) {
      const s = sink.alloc();
      if (s < 0) break;
      this.refill[this.refillCount] = s;
      this.rxOffsets[this.refillCount] = pool.slotBase(s) + readAt;
      this.refillCount++;
    }
    this.rxCtl[0] = this.refillCount;
  }

  /** The device went away under us (deleted, or a hard error): stop polling, report link down. The fd
   *  stays open until close(). */
  private lost(errno: number): void {
    this.lastErrno = errno;
    if (this.pollId !== 0 && this.addon !== null) this.addon.unpoll(this.pollId);
    this.pollId = 0;
    if (this.linkUp) {
      this.linkUp = false;
      this.sink?.disconnected();
    }
  }

  private growTx(count: number): void {
    let size = this.txOffsets.length;
    while (size < count) size *= 2;
    this.txOffsets = new Int32Array(size);
    this.txLens = new Int32Array(size);
  }
}
