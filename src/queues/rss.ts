/**
 * RSS: which worker receives a frame. Toeplitz-hash the flow's addresses (and ports), then index an
 * indirection table of workers with the hash's low bits (docs/queues.md).
 *
 * Why: one worker per flow keeps per-flow order without locks, and many flows spread over all workers.
 * Rebalancing rewrites only the table, never the hash, so flows move between workers in whole buckets.
 *
 * Design notes: README.md in this folder, section "rss.ts".
 */
import type { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import { family, kFamIpv4, kFamIpv6, kFragFirst, kFragLater, kHashed, protocol, walked } from '../packet/walk.js';
import { kDefaultToeplitz, type Toeplitz } from './toeplitz.js';

/** `rssHash` result for a frame it cannot hash: send it to the default queue (worker). Never a valid
 *  hash, since hashes are unsigned 32-bit values (0 .. 2^32-1). */
export const kNoHash = -1;

const kIpv4AddrsOff = ipv4.field.src; // src (12) and dst (16) are adjacent: 8 bytes from 12
const kIpv4AddrsLen = 8; // two 4-byte addresses
const kIpv6AddrsOff = ipv6.field.src; // src (8) and dst (24) are adjacent: 32 bytes from 8
const kIpv6AddrsLen = 32; // two 16-byte addresses
const kPortsLen = 4; // L4 src port + dst port, the first 4 bytes of both TCP and UDP headers

/**
 * The RSS hash of the frame in `slot` (unsigned 32-bit), or `kNoHash` (-1) when the frame is not IPv4/IPv6
 * or its IP header is malformed or truncated. Reads the slot's header record (packet/walk.ts, walking the
 * frame if no stage has) and keeps the hash there; allocates nothing.
 */
export function rssHash(pool: PacketPool, slot: number, toeplitz: Toeplitz = kDefaultToeplitz): number {
  const at = slot << Meta.shift;
  const h = walked(pool, slot);
  const fam = family(h);
  if (fam !== kFamIpv4 && fam !== kFamIpv6) return kNoHash;
  const view = pool.view;
  const bytes = pool.bytes;
  const start = pool.frameStart(slot);
  const ip = start + pool.meta32[at + Meta.l3];
  const proto = protocol(h);
  const l4Off = start + pool.meta32[at + Meta.l4];
  let hash: number;
  if (fam === kFamIpv4) {
    const fragment = (h & (kFragFirst | kFragLater)) !== 0; // MF set or a non-zero offset
    const l4Len = ipv4.totalLength(view, ip) - (l4Off - ip); // IP options are skipped
    if (!fragment && (proto === ipv4.IpProto.tcp || proto === ipv4.IpProto.udp) && l4Len >= kPortsLen)
      hash = toeplitz.hashAddrsPorts(bytes, ip + kIpv4AddrsOff, kIpv4AddrsLen, l4Off);
    else hash = toeplitz.hashAddrs(bytes, ip + kIpv4AddrsOff, kIpv4AddrsLen);
  } else {
    const l4Len = ipv6.payloadLength(view, ip);
    if ((proto === ipv4.IpProto.tcp || proto === ipv4.IpProto.udp) && l4Len >= kPortsLen)
      hash = toeplitz.hashAddrsPorts(bytes, ip + kIpv6AddrsOff, kIpv6AddrsLen, l4Off);
    else hash = toeplitz.hashAddrs(bytes, ip + kIpv6AddrsOff, kIpv6AddrsLen);
  }
  pool.meta32[at + Meta.hash] = hash;
  pool.meta32[at + Meta.hdr] = h | kHashed;
  return hash;
}

/** Largest indirection table: 128 entries, NDIS's limit for RSS (NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_1). */
export const kMaxIndirectionSize = 128;
/** Largest worker index an entry holds: entries are 16-bit (far beyond any worker_threads count). */
const kMaxWorker = 0xffff;

/**
 * Hash low bits -> worker. `lookup(hash)` is `entries[hash & (size - 1)]`; rebalancing rewrites entries
 * with `set`, so a flow moves only when its bucket does. Callers check for `kNoHash` before `lookup`
 * (-1 & mask would pick the last bucket) and send such frames to the default worker.
 */
export class IndirectionTable {
  readonly size: number;
  readonly entries: Uint16Array;
  private readonly mask: number;

  constructor(size: number, workers: number | readonly number[] = 1) {
    if (!Number.isInteger(size) || size < 1 || size > kMaxIndirectionSize || (size & (size - 1)) !== 0)
      throw new RangeError(
        `RSS indirection table size must be a power of two from 1 to ${kMaxIndirectionSize}, got ${size}`,
      );
    this.size = size;
    this.mask = size - 1;
    this.entries = new Uint16Array(size);
    this.fill(workers);
  }

  /** The worker for an (unsigned) RSS hash. */
  lookup(hash: number): number {
    return this.entries[hash & this.mask]!;
  }

  /** Spread the buckets round robin: over workers 0..n-1 for a count, or over the listed worker indices. */
  fill(workers: number | readonly number[]): void {
    if (typeof workers === 'number') {
      if (!Number.isInteger(workers) || workers < 1 || workers > kMaxWorker + 1)
        throw new RangeError(`RSS worker count must be an integer from 1 to ${kMaxWorker + 1}, got ${workers}`);
      for (let i = 0; i < this.size; i++) this.entries[i] = i % workers;
      return;
    }
    if (workers.length === 0) throw new RangeError('RSS indirection table fill needs at least one worker, got none');
    for (const w of workers) checkWorker(w);
    for (let i = 0; i < this.size; i++) this.entries[i] = workers[i % workers.length]!;
  }

  /** Point bucket `index` at `worker` (the rebalancing step). */
  set(index: number, worker: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`RSS indirection table index must be an integer from 0 to ${this.size - 1}, got ${index}`);
    checkWorker(worker);
    this.entries[index] = worker;
  }

  toJSON(): { size: number; entries: number[] } {
    return { size: this.size, entries: Array.from(this.entries) };
  }
}

function checkWorker(w: number): void {
  if (!Number.isInteger(w) || w < 0 || w > kMaxWorker)
    throw new RangeError(`RSS worker index must be an integer from 0 to ${kMaxWorker}, got ${w}`);
}
