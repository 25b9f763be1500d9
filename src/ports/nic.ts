/**
 * The NIC contract: what an endpoint (TAP, QEMU stream, QEMU dgram, in-memory, later WebSocket/VXLAN)
 * must do to plug into a vPort. Keeping NIC apart from vPort keeps the switch ignorant of endpoint kinds:
 * the port holds the policy and counters, the NIC only moves frames.
 *
 * Receive: the NIC takes free slots from `sink.pool` (`sink.alloc()`), fills frame bytes at
 * `pool.frameStart(slot)` and sets the slot's `len`, then calls `sink.receive(slot)` once per frame and
 * `sink.flush()` once at the end of each I/O event (one read batch, one socket 'data' chunk), which runs
 * the pipeline over the batch (run to completion). No per-frame allocation beyond what Node's socket API
 * itself forces.
 *
 * Design notes: README.md in this folder, section "nic.ts".
 */
import type { PacketPool } from '../dataplane/pool.js';

export interface NicSink {
  readonly pool: PacketPool;
  /** A free slot for a received frame, or -1 when the pool is exhausted (the NIC counts `no-buffer` via drop() for each frame it actually loses). */
  alloc(): number;
  /** Hand one filled slot (off/len set) to the datapath. */
  receive(slot: number): void;
  /** End of one I/O event: run the pipeline over what was received. */
  flush(): void;
  /** Count a frame the NIC itself dropped (e.g. `malformed`, `framing-error`, `oversize`). */
  drop(reason: NicDropReason): void;
  connected(): void;
  disconnected(): void;
}

export type NicDropReason =
  | 'malformed'
  | 'framing-error'
  | 'oversize'
  | 'no-buffer'
  | 'tx-error'
  | 'ring-full'
  | 'bad-vnet-hdr'
  | 'gso-unsupported'
  | 'foreign-source';

/** Offload capabilities of an endpoint (Nic.offloadCaps): frames it takes with a partial checksum... */
export const kCapCsum = 1;
/** ...TCP GSO frames (TSO over IPv4 and IPv6)... */
export const kCapTso = 2;
/** ...UDP GSO frames (USO). The switch does in software what a port lacks (offload/). */
export const kCapUso = 4;

export interface Nic {
  readonly kind: string;
  /** kCapCsum | kCapTso | kCapUso; absent or 0: the switch completes checksums and segments in software. */
  readonly offloadCaps?: number;
  /** Start I/O; calls sink.connected() when (and each time) the endpoint becomes usable. */
  open(sink: NicSink): void;
  /** Write `count` frames from pool slots; returns how many were sent. Must not retain slots. */
  transmit(slots: Int32Array, count: number): number;
  /** Stop I/O and release OS resources; must be safe to call twice. */
  close(): void;
  /** The port is removed for good (not a shutdown): let go of what was kept across restarts (a persistent
   *  TAP device). Called before close(). */
  dispose?(): void;
  /** Administrative link change (port disconnect/connect): show it to the endpoint where the medium can (TAP carrier). */
  setLink?(up: boolean): void;
  /** Busy poll (the poll window, engine/poll-window.ts): take what is waiting now, without waiting, as a
   *  wake would (receive + flush); returns the frames handed over. Absent: the NIC cannot be polled. */
  poll?(): number;
  /** Plain-object description for `port show` (addresses, fd, peer...). Control path only. */
  describe(): Record<string, unknown>;
}
