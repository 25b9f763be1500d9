/**
 * StreamNic: a port whose endpoint is a length-prefixed byte stream over a unix or TCP socket: QEMU
 * `-netdev stream` (or the older `socket,connect=`/`listen=`), 4-byte prefix; or `vde_plug` bridged onto the
 * socket (e.g. with socat), 2-byte prefix.
 *
 * Design notes: README.md in this folder, section "stream.ts".
 */
import net from 'node:net';
import { hostPortText } from './address.js';
import {
  countUnencodable,
  encodeBatch,
  FrameReassembler,
  prefixBytesFor,
  type FramingKind,
  type PrefixBytes,
} from './framing.js';
import type { Nic, NicSink } from './nic.js';
import { qemuEscape, reachable } from './qemu-args.js';
import { ReadyWaiters } from './ready.js';

/**
 * Connect mode re-dial interval: a restarting QEMU is back within seconds, so 1 s bounds the extra link-down
 * time while costing one refused connect() per second when the peer is away.
 */
export const kReconnectMs = 1000;
/**
 * Write backlog above which frames are dropped ('ring-full'): a stalled peer (a paused VM) must not make the
 * switch buffer without bound. 4 MiB is ~2800 full-size frames, about 34 ms of a 1 Gbit/s port: room for a
 * momentary stall, small enough that a dead-but-open peer costs little memory.
 */
export const kMaxPendingBytes = 4 * 1024 * 1024;
/**
 * Give up on one dial after 5 s: a peer that neither accepts nor refuses (a SYN dropped by a firewall) would
 * otherwise hold the attempt for the kernel's SYN retry budget (~2 min) instead of re-dialing.
 */
export const kDialTimeoutMs = 5000;
/** Default address for TCP: loopback, so a port is not exposed to the network unless asked. */
const kDefaultHost = '127.0.0.1';

export interface StreamNicOptions {
  mode: 'listen' | 'connect';
  /** Unix socket path (exclusive with port). */
  path?: string;
  /** TCP host (default 127.0.0.1) and port (exclusive with path); port 0 in listen mode picks a free port. */
  host?: string;
  port?: number;
  /** 'qemu' (4-byte length prefix, default) or 'vde' (2-byte). */
  framing?: FramingKind;
  /** Connect mode re-dial interval in ms (default kReconnectMs; tests shorten it). */
  retryMs?: number;
}

function checkOptions(opts: StreamNicOptions): void {
  if (opts.mode !== 'listen' && opts.mode !== 'connect')
    throw new RangeError(`stream mode must be 'listen' or 'connect', got ${String(opts.mode)}`);
  const hasPath = opts.path !== undefined && opts.path !== '';
  const hasPort = opts.port !== undefined;
  if (hasPath === hasPort) throw new RangeError('stream needs exactly one of path (unix) or port (tcp)');
  if (hasPort && (!Number.isInteger(opts.port) || opts.port! < 0 || opts.port! > 65535))
    throw new RangeError(`stream port must be 0..65535, got ${opts.port}`);
  if (hasPort && opts.mode === 'connect' && opts.port === 0)
    throw new RangeError('stream connect mode needs a real port, not 0');
  if (opts.framing !== undefined && opts.framing !== 'qemu' && opts.framing !== 'vde')
    throw new RangeError(`stream framing must be 'qemu' or 'vde', got ${String(opts.framing)}`);
  if (opts.retryMs !== undefined && (!Number.isFinite(opts.retryMs) || opts.retryMs <= 0))
    throw new RangeError(`stream retryMs must be > 0, got ${opts.retryMs}`);
}

export class StreamNic implements Nic {
  readonly kind = 'stream';
  readonly mode: 'listen' | 'connect';
  readonly path: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly framing: FramingKind;
  readonly retryMs: number;
  private readonly prefixBytes: PrefixBytes;

  private sink: NicSink | null = null;
  private reasm: FrameReassembler | null = null;
  private server: net.Server | null = null;
  /** The connected peer whose frames we read and to which we write; null when the link is down. */
  private sock: net.Socket | null = null;
  /** Connect mode: a dial in progress. */
  private dialing: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private listening = false;
  /** Why listening failed (bind error); ready() rejects with it from then on. */
  private failure: Error | null = null;
  private readonly waiters = new ReadyWaiters();
  private peer = '';
  private connects = 0;
  /** Clients closed at once because another was connected (listen mode). */
  private refused = 0;
  private framingErrors = 0;
  private lastError = '';

  constructor(opts: StreamNicOptions) {
    checkOptions(opts);
    this.mode = opts.mode;
    this.path = opts.path || undefined;
    this.host = opts.host ?? kDefaultHost;
    this.port = opts.port;
    this.framing = opts.framing ?? 'qemu';
    this.retryMs = opts.retryMs ?? kReconnectMs;
    this.prefixBytes = prefixBytesFor(this.framing);
  }

  open(sink: NicSink): void {
    if (this.closed) throw new Error('stream: open() after close()');
    if (this.sink) throw new Error('stream: already open');
    this.sink = sink;
    this.reasm = new FrameReassembler(sink, this.prefixBytes);
    if (this.mode === 'listen') this.listen();
    else this.dial();
  }

  /**
   * Resolves when the endpoint is usable from outside: listen mode once the listener is bound (so a test or
   * the control plane can read the port and start QEMU), connect mode at the first connection. Rejects if
   * listening fails or the NIC is closed first. Control path only.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('stream: closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.mode === 'listen' ? this.listening : this.sock !== null) return Promise.resolve();
    return this.waiters.wait();
  }

  // --- listen mode ---

  private listen(): void {
    const srv = net.createServer();
    this.server = srv;
    srv.on('connection', (s: net.Socket) => this.accept(s));
    srv.on('listening', () => {
      this.listening = true;
      this.waiters.settle(null);
    });
    srv.on('error', (e: NodeJS.ErrnoException) => {
      const where = this.path ?? hostPortText(this.host, this.port);
      const why = e.code === 'EADDRINUSE' ? 'already in use (EADDRINUSE)' : e.message;
      this.lastError = `cannot listen on ${where}: ${why}`;
      if (!this.listening) this.failure = new Error(this.lastError);
      this.waiters.settle(this.failure ?? e);
    });
    if (this.path) {
      srv.listen(this.path);
    } else {
      srv.listen(this.port, this.host);
    }
  }

  private accept(s: net.Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    s.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    s.on('close', () => this.onClose(s));
    if (this.sock?.destroyed) this.onClose(this.sock); // closed by us, its 'close' not yet here
    if (this.sock !== null) {
      // One client at a time, as QEMU's own server: the connected one keeps the port; a VM that restarts
      // closes its old socket first (the kernel does it when QEMU exits), so it is accepted again.
      this.refused++;
      this.lastError = `refused a second client while ${this.peer} is connected`;
      s.destroy();
      return;
    }
    this.attach(s);
  }

  // --- connect mode ---

  private dial(): void {
    if (this.closed) return;
    const s = this.path
      ? net.createConnection({ path: this.path })
      : net.createConnection({ host: this.host, port: this.port! });
    this.dialing = s;
    s.setTimeout(kDialTimeoutMs);
    s.on('timeout', () => {
      if (this.dialing === s) {
        this.lastError = 'connect timed out';
        s.destroy();
      }
    });
    s.on('connect', () => {
      if (this.dialing === s) this.dialing = null;
      s.setTimeout(0);
      if (this.closed) {
        s.destroy();
        return;
      }
      this.attach(s);
    });
    s.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    s.on('close', () => this.onClose(s));
  }

  private scheduleDial(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dial();
    }, this.retryMs);
  }

  // --- both modes ---

  /** `s` is now the peer: reset the reassembler, start reading, raise the link. */
  private attach(s: net.Socket): void {
    const sink = this.sink!;
    const reasm = this.reasm!;
    this.sock = s;
    reasm.reset();
    if (!this.path) s.setNoDelay(true); // frames are latency-sensitive and already batched per write
    this.peer = this.path ? `unix:${this.path}` : hostPortText(s.remoteAddress ?? '?', s.remotePort);
    this.connects++;
    // One closure per connection (not per frame).
    s.on('data', (chunk: Buffer) => {
      if (this.sock !== s) return;
      if (!reasm.feed(chunk)) {
        this.framingErrors++;
        this.lastError = 'framing error: length prefix above 69632, connection closed';
        s.destroy();
      }
    });
    sink.connected();
    this.waiters.settle(null);
  }

  private onClose(s: net.Socket): void {
    if (this.dialing === s) this.dialing = null;
    if (this.sock === s) {
      this.sock = null;
      this.peer = '';
      this.reasm!.reset();
      this.sink!.disconnected();
    }
    if (this.mode === 'connect' && !this.closed && this.sock === null && this.dialing === null) this.scheduleDial();
  }

  transmit(slots: Int32Array, count: number): number {
    const s = this.sock;
    if (s === null || s.destroyed) return 0; // link down: the engine does not send here, nothing to count
    const sink = this.sink!;
    if (s.writableLength > kMaxPendingBytes) {
      for (let i = 0; i < count; i++) sink.drop('ring-full');
      return 0;
    }
    const pool = sink.pool;
    const bad = countUnencodable(pool, slots, count, this.prefixBytes);
    for (let i = 0; i < bad; i++) sink.drop('tx-error');
    if (bad === count) return 0;
    s.write(encodeBatch(pool, slots, count, this.prefixBytes));
    return count - bad;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.dialing !== null) {
      this.dialing.destroy();
      this.dialing = null;
    }
    const s = this.sock;
    if (s !== null) {
      this.sock = null;
      this.peer = '';
      s.destroy();
      this.reasm!.reset();
      this.sink!.disconnected();
    }
    if (this.server !== null) {
      this.server.close(); // libuv removes the socket file it bound
      this.server = null;
    }
    this.listening = false;
    this.waiters.settle(new Error('stream: closed'));
  }

  /** The bound TCP port in listen mode (useful with port 0), else the configured one. */
  get boundPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.port;
  }

  /** Why the link is down, in words (null when up): what `port list` shows. */
  private downReason(): string | null {
    if (this.sock !== null) return null;
    if (this.mode === 'connect')
      return `connecting to ${this.path ?? hostPortText(this.host, this.port)}${this.lastError ? `: ${this.lastError}` : ''}`;
    if (this.failure) return this.failure.message;
    return `no client connected to ${this.path ?? hostPortText(this.host, this.boundPort)}`;
  }

  describe(): Record<string, unknown> {
    const where = this.path !== undefined ? { path: this.path } : { address: hostPortText(this.host, this.boundPort) };
    return {
      kind: this.kind,
      mode: this.mode,
      framing: this.framing,
      ...where,
      connected: this.sock !== null,
      peer: this.peer || null,
      connects: this.connects,
      refused: this.refused,
      down: this.downReason(),
      framingErrors: this.framingErrors,
      lastError: this.lastError || null,
    };
  }
}

/**
 * The QEMU 7.2 `-netdev` value that pairs with a StreamNic built from `opts`, e.g.
 * `stream,id=n0,server=off,addr.type=unix,addr.path=/run/x.sock` (the switch listens, QEMU connects) or
 * `stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=10001` (QEMU listens, the switch
 * connects). Use with `-device virtio-net-pci,netdev=<id>`. VDE framing has no QEMU netdev: bridge vde_plug
 * onto the socket instead (e.g. `dpipe vde_plug SWITCH = socat - UNIX-CONNECT:PATH`).
 */
export function qemuNetdevArg(opts: StreamNicOptions, id: string): string {
  checkOptions(opts);
  if ((opts.framing ?? 'qemu') === 'vde') {
    throw new RangeError(
      'stream: VDE framing is not a QEMU netdev; bridge vde_plug onto the socket (e.g. `dpipe vde_plug SWITCH = socat - UNIX-CONNECT:PATH`)',
    );
  }
  const server = opts.mode === 'listen' ? 'off' : 'on';
  const addr = opts.path
    ? `addr.type=unix,addr.path=${qemuEscape(opts.path)}`
    : `addr.type=inet,addr.host=${qemuEscape(opts.mode === 'listen' ? reachable(opts.host ?? kDefaultHost) : (opts.host ?? kDefaultHost))},addr.port=${opts.port}`;
  return `stream,id=${qemuEscape(id)},server=${server},${addr}`;
}
