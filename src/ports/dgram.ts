/**
 * DgramNic: a port whose endpoint exchanges one Ethernet frame per UDP datagram: QEMU `-netdev dgram`
 * (`local.type=inet,...,remote.type=inet,...`, or the older `socket,udp=`).
 *
 * Design notes: README.md in this folder, section "dgram.ts".
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { canonicalHost, hostPortText } from './address.js';
import { copyBytes, kFlushEvery, viewOf } from './framing.js';
import type { Nic, NicSink } from './nic.js';
import { qemuEscape, reachable } from './qemu-args.js';
import { ReadyWaiters } from './ready.js';
import { Meta } from '../dataplane/slot-meta.js';

/**
 * Transmit buffers in flight: one breath hands a port at most 256 frames (dataplane/graph.ts kMaxBatch), so
 * a whole breath can be queued while libuv drains the previous one. Power of two for the index mask.
 * Memory: 256 x pool.maxFrame (2.3 MiB with the default 9344-byte frames) per dgram port.
 */
export const kTxRing = 256;
const kTxMask = kTxRing - 1;
/** Default bind address: loopback, so the port is not reachable from the network unless asked. */
const kDefaultHost = '127.0.0.1';
const kDefaultHost6 = '::1';

/** The local address when none is given: loopback of the remote's family (a udp4 socket cannot reach ::1). */
function defaultLocal(opts: DgramNicOptions): string {
  return opts.remoteHost !== undefined && net.isIPv6(opts.remoteHost) ? kDefaultHost6 : kDefaultHost;
}

export interface DgramNicOptions {
  /** Local bind address (default 127.0.0.1) and port (0 picks a free port). */
  localHost?: string;
  localPort: number;
  /** Where to send; when absent, learned from the source of the last received datagram. */
  remoteHost?: string;
  remotePort?: number;
}

function checkPort(name: string, p: number | undefined, allowZero: boolean): void {
  if (p === undefined) return;
  if (!Number.isInteger(p) || p < (allowZero ? 0 : 1) || p > 65535)
    throw new RangeError(`dgram ${name} must be ${allowZero ? 0 : 1}..65535, got ${p}`);
}

function checkOptions(opts: DgramNicOptions): void {
  if (opts.localPort === undefined) throw new RangeError('dgram needs localPort');
  checkPort('localPort', opts.localPort, true);
  checkPort('remotePort', opts.remotePort, false);
  if (opts.remoteHost !== undefined && opts.remotePort === undefined)
    throw new RangeError('dgram remoteHost needs remotePort');
  const local = opts.localHost ?? defaultLocal(opts);
  if (
    opts.remoteHost !== undefined &&
    net.isIP(opts.remoteHost) &&
    net.isIP(local) &&
    net.isIP(opts.remoteHost) !== net.isIP(local)
  )
    throw new RangeError(
      `dgram local ${local} and remote ${opts.remoteHost} are of different IP families; use two IPv4 or two IPv6 addresses`,
    );
}

export class DgramNic implements Nic {
  readonly kind = 'dgram';
  readonly localHost: string;
  readonly localPort: number;
  /** True when the remote is learned from received datagrams rather than configured. */
  readonly learn: boolean;
  private remoteHost: string;
  private remotePort: number; // 0 = not known yet

  private sink: NicSink | null = null;
  private sock: dgram.Socket | null = null;
  private bound = false;
  private closed = false;
  /** Why binding failed; ready() rejects with it from then on. */
  private failure: Error | null = null;
  private readonly waiters = new ReadyWaiters();
  private lastError = '';
  /** Datagrams dropped because they came from another address than the configured remote. */
  private foreign = 0;
  private lastForeign = '';

  // Receive: frames handed to the sink and not yet flushed; whether the flush callback is queued.
  private unflushed = 0;
  private flushQueued = false;

  // Transmit ring: kTxRing buffers of `stride` bytes in one allocation; `txBufs[i]` views entry i.
  private txMem: Buffer | null = null;
  private txView: DataView | null = null;
  private txBufs: Buffer[] = [];
  private stride = 0;
  private txHead = 0;
  private inFlight = 0;
  private txErrors = 0;

  constructor(opts: DgramNicOptions) {
    checkOptions(opts);
    this.localHost = opts.localHost ?? defaultLocal(opts);
    this.localPort = opts.localPort;
    this.learn = opts.remotePort === undefined;
    this.remoteHost = canonicalHost(opts.remoteHost ?? reachable(this.localHost));
    this.remotePort = opts.remotePort ?? 0;
  }

  open(sink: NicSink): void {
    if (this.closed) throw new Error('dgram: open() after close()');
    if (this.sink) throw new Error('dgram: already open');
    this.sink = sink;
    const stride = sink.pool.maxFrame;
    this.stride = stride;
    this.txMem = Buffer.alloc(kTxRing * stride);
    this.txView = viewOf(this.txMem);
    for (let i = 0; i < kTxRing; i++) this.txBufs.push(this.txMem.subarray(i * stride, (i + 1) * stride));
    const sock = dgram.createSocket({ type: net.isIPv6(this.localHost) ? 'udp6' : 'udp4' });
    this.sock = sock;
    sock.on('message', this.onMessage);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const where = hostPortText(this.localHost, this.localPort);
      this.lastError =
        e.code === 'EADDRINUSE'
          ? `cannot bind ${where}: already in use (EADDRINUSE)`
          : `cannot bind ${where}: ${e.message}`;
      if (!this.bound) {
        this.failure = new Error(this.lastError);
        this.waiters.settle(this.failure);
      }
    });
    sock.on('listening', () => {
      if (this.closed) return;
      this.bound = true;
      sink.connected();
      this.waiters.settle(null);
    });
    sock.bind(this.localPort, this.localHost);
  }

  /** Resolves once the local socket is bound (then `boundPort` is known). Control path only. */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('dgram: closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.bound) return Promise.resolve();
    return this.waiters.wait();
  }

  /** One datagram = one frame. Preallocated (class field), so no closure per datagram. */
  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const sink = this.sink;
    if (sink === null || this.closed) return;
    const pool = sink.pool;
    const len = msg.length;
    if (len === 0) {
      sink.drop('malformed');
      return;
    }
    if (len > pool.maxFrame) {
      sink.drop('oversize');
      return;
    }
    if (this.learn) {
      this.remoteHost = rinfo.address;
      this.remotePort = rinfo.port;
    } else if (rinfo.port !== this.remotePort || rinfo.address !== this.remoteHost) {
      // not the configured peer: two compares per datagram, and a string kept only for `port show`
      this.foreign++;
      if (this.foreign === 1 || (this.foreign & 1023) === 0) this.lastForeign = hostPortText(rinfo.address, rinfo.port);
      sink.drop('foreign-source');
      return;
    }
    const slot = sink.alloc();
    if (slot < 0) {
      sink.drop('no-buffer'); // NicSink.alloc contract: the NIC counts each frame it loses
      return;
    }
    pool.bytes.set(msg, pool.frameStart(slot));
    pool.meta32[(slot << Meta.shift) + Meta.len] = len;
    sink.receive(slot);
    if (++this.unflushed >= kFlushEvery) this.flushNow();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.onTurnEnd);
    }
  };

  /** Runs after the poll phase that delivered the datagrams: one flush for all of them. */
  private readonly onTurnEnd = (): void => {
    this.flushQueued = false;
    this.flushNow();
  };

  private flushNow(): void {
    if (this.unflushed === 0 || this.sink === null) return;
    this.unflushed = 0;
    this.sink.flush();
  }

  /** Send completion: sends finish in order, so this releases the oldest ring entry. */
  private readonly onSent = (err: Error | null): void => {
    this.inFlight--;
    if (err && !this.closed) {
      // The frame was already reported sent; the failure is still counted so it is visible.
      this.txErrors++;
      this.lastError = err.message;
      this.sink?.drop('tx-error');
    }
  };

  transmit(slots: Int32Array, count: number): number {
    const sock = this.sock;
    if (sock === null || !this.bound || this.closed) return 0;
    const sink = this.sink!;
    if (this.remotePort === 0) {
      // Up (bound) but no peer heard from yet: nowhere to send.
      for (let i = 0; i < count; i++) sink.drop('tx-error');
      return 0;
    }
    const pool = sink.pool;
    const txMem = this.txMem!;
    const txView = this.txView!;
    const stride = this.stride;
    const host = this.remoteHost;
    const port = this.remotePort;
    let sent = 0;
    for (let i = 0; i < count; i++) {
      if (this.inFlight === kTxRing) {
        for (let j = i; j < count; j++) sink.drop('ring-full');
        break;
      }
      const slot = slots[i];
      const len = pool.meta32[(slot << Meta.shift) + Meta.len];
      const e = this.txHead;
      this.txHead = (e + 1) & kTxMask;
      this.inFlight++;
      copyBytes(pool.bytes, pool.view, pool.frameStart(slot), txMem, txView, e * stride, len);
      sock.send(this.txBufs[e], 0, len, port, host, this.onSent);
      sent++;
    }
    return sent;
  }

  close(): void {
    if (this.closed) return;
    this.flushNow(); // frames already handed to the sink belong to the pipeline
    this.closed = true;
    const sock = this.sock;
    this.sock = null;
    if (sock !== null) {
      try {
        sock.close();
      } catch {
        // already closed by Node after a failed bind
      }
    }
    if (this.bound) {
      this.bound = false;
      this.sink!.disconnected();
    }
    this.waiters.settle(new Error('dgram: closed'));
  }

  /** The bound local port (useful with localPort 0), else the configured one. */
  get boundPort(): number {
    return this.bound && this.sock ? this.sock.address().port : this.localPort;
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      local: hostPortText(this.localHost, this.boundPort),
      remote: this.remotePort ? hostPortText(this.remoteHost, this.remotePort) : null,
      remoteLearned: this.learn,
      connected: this.bound,
      foreignDropped: this.foreign,
      lastForeign: this.lastForeign || null,
      down: this.bound ? null : (this.failure?.message ?? (this.closed ? 'closed' : 'binding')),
      inFlight: this.inFlight,
      txErrors: this.txErrors,
      lastError: this.lastError || null,
    };
  }
}

/**
 * The QEMU 7.2 `-netdev` value that pairs with a DgramNic built from `opts`: QEMU's remote is the switch's
 * local address and QEMU's local is the switch's remote, e.g.
 * `dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=10002,remote.type=inet,remote.host=127.0.0.1,remote.port=10001`.
 * Without a configured remote, QEMU binds an ephemeral port (`local.port=0`) and the switch learns it from
 * QEMU's first frame (QEMU 7.2 requires a remote for inet, so the switch side is always given).
 */
export function qemuDgramNetdevArg(opts: DgramNicOptions, id: string): string {
  checkOptions(opts);
  const reach = reachable(opts.localHost ?? defaultLocal(opts));
  const qLocalHost = opts.remoteHost ?? reach;
  const qLocalPort = opts.remotePort ?? 0;
  return (
    `dgram,id=${qemuEscape(id)},local.type=inet,local.host=${qemuEscape(qLocalHost)},local.port=${qLocalPort},` +
    `remote.type=inet,remote.host=${qemuEscape(reach)},remote.port=${opts.localPort}`
  );
}
