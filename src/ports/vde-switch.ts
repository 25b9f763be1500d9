/**
 * The vde_switch control protocol, served on a directory, so that QEMU `-netdev vde,sock=DIR`, `vde_plug
 * DIR` and `vde_plug2tap` attach to vswitch unchanged; each client becomes a port of its own.
 *
 *   client                                   switch (DIR)
 *   socket(AF_UNIX, SOCK_DGRAM), bind(C) ──▶
 *   connect(DIR/ctl), write(request)  ─────▶ check it; bind DIR/<n> (a datagram socket), connect it to C
 *                                     ◀───── write(struct sockaddr_un DIR/<n>)
 *   sendto(DIR/<n>, frame)  ◀════════════▶   one frame per datagram, both ways
 *   close(ctl)                        ─────▶ the client's port is removed
 *
 * Design notes: README.md in this folder, section "vde-switch.ts".
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { loadTapAddon } from './tap-native.js';
import { TapNic } from './tap.js';
import type { Nic, NicSink } from './nic.js';

export const kVdeMagic = 0xfeedface;
export const kVdeVersion = 3;
/** sizeof(struct sockaddr_un) on Linux: sun_family (2) + sun_path (108). */
export const kSockaddrUnLen = 110;
/** magic + version + type + sockaddr_un: the request without its description. */
export const kVdeRequestLen = 12 + kSockaddrUnLen;
/** A request longer than this is not one (vde_switch reads at most 256 bytes too). */
const kVdeRequestMax = 256;
const kAfUnix = 1;

export type VdeRefusal =
  | 'short'
  | 'bad-magic'
  | 'bad-version'
  | 'bad-type'
  | 'bad-address'
  | 'too-long'
  | 'timeout'
  | 'full'
  | 'attach-failed';

export interface VdeRequest {
  /** The client's datagram socket, as the raw 110-byte struct sockaddr_un it sent. */
  peer: Uint8Array;
  /** Its path, for logs and `port list` ('@name' for an abstract socket). */
  peerText: string;
  description: string;
}

/** Check one request once; the reason names what was wrong. */
export function parseVdeRequest(b: Uint8Array): VdeRequest | VdeRefusal {
  if (b.length < kVdeRequestLen) return 'short';
  if (b.length > kVdeRequestMax) return 'too-long';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0, true) !== kVdeMagic) return 'bad-magic';
  if (v.getUint32(4, true) !== kVdeVersion) return 'bad-version';
  // low byte: the request type (0 = a new port); vde2 clients put a requested port number above it, which
  // a switch that numbers its own ports may ignore
  if ((v.getUint32(8, true) & 0xff) !== 0) return 'bad-type';
  if (v.getUint16(12, true) !== kAfUnix) return 'bad-address';
  const path = b.subarray(14, 12 + kSockaddrUnLen);
  const abstract = path[0] === 0;
  const end = abstract ? path.length : path.indexOf(0);
  const name = Buffer.from(path.subarray(abstract ? 1 : 0, end < 0 ? path.length : end))
    .toString('latin1')
    .replace(/\0+$/, '');
  if (name.length === 0 || (!abstract && end < 0)) return 'bad-address';
  return {
    peer: b.slice(12, 12 + kSockaddrUnLen),
    peerText: abstract ? `@${name}` : name,
    description: Buffer.from(b.subarray(kVdeRequestLen)).toString('utf8').replace(/\0.*$/s, ''),
  };
}

/** The reply: a struct sockaddr_un naming the switch's datagram socket for this client. */
export function vdeReply(dataPath: string): Uint8Array {
  const out = new Uint8Array(kSockaddrUnLen);
  new DataView(out.buffer).setUint16(0, kAfUnix, true);
  const p = Buffer.from(dataPath, 'utf8');
  if (p.length >= kSockaddrUnLen - 2) throw new RangeError(`vde data socket path ${dataPath} is longer than 107 bytes`);
  out.set(p, 2);
  return out;
}

/** Counters of one listener: requests seen, clients attached and gone, refusals by reason. */
export interface VdeListenerStats {
  requests: number;
  attached: number;
  detached: number;
  refused: Partial<Record<VdeRefusal, number>>;
}

export interface VdeClientHandlers {
  /** A valid request: make the client's port; resolve with its data socket path, reject to refuse. */
  attach(req: VdeRequest, id: number): Promise<string>;
  /** The client's control connection closed (or it was refused after attach): remove its port. */
  detach(id: number): Promise<void>;
}

/** A request must arrive within this after connecting: a silent client cannot hold a connection. */
const kRequestTimeoutMs = 5000;

/** Serves DIR/ctl on the control thread. */
export class VdeSwitchListener {
  readonly stats: VdeListenerStats = { requests: 0, attached: 0, detached: 0, refused: {} };
  private server: Server | null = null;
  private nextId = 1;
  private readonly clients = new Map<number, Socket>();

  constructor(
    readonly ctlPath: string,
    private readonly handlers: VdeClientHandlers,
    private readonly maxClients: number,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  listen(): Promise<void> {
    const server = createServer((c) => this.onConnection(c));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.ctlPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private refuse(c: Socket, why: VdeRefusal): void {
    this.stats.refused[why] = (this.stats.refused[why] ?? 0) + 1;
    c.destroy();
  }

  private onConnection(c: Socket): void {
    let buf = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.refuse(c, buf.length ? 'short' : 'timeout');
    }, kRequestTimeoutMs);
    c.on('error', () => c.destroy());
    c.on('data', (d: Buffer) => {
      if (done) return; // after the handshake the control connection carries nothing we read
      buf = Buffer.concat([buf, d]);
      if (buf.length < kVdeRequestLen) return;
      done = true;
      clearTimeout(timer);
      this.stats.requests++;
      const req = parseVdeRequest(buf);
      if (typeof req === 'string') return this.refuse(c, req);
      if (this.clients.size >= this.maxClients) return this.refuse(c, 'full');
      const id = this.nextId++;
      this.handlers.attach(req, id).then(
        (dataPath) => {
          if (c.destroyed) return void this.handlers.detach(id).catch(() => {});
          this.clients.set(id, c);
          this.stats.attached++;
          c.write(vdeReply(dataPath));
          c.once('close', () => {
            this.clients.delete(id);
            this.stats.detached++;
            void this.handlers.detach(id).catch(() => {});
          });
        },
        () => this.refuse(c, 'attach-failed'),
      );
    });
    c.once('close', () => clearTimeout(timer));
  }

  /** Stop listening and drop every client (their ports are the caller's to remove). */
  async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

export interface VdeClientNicOptions {
  /** The switch's datagram socket for this client (bound here, removed on close). */
  path: string;
  /** The client's struct sockaddr_un, 110 bytes. */
  peer: Uint8Array;
}

/** One VDE client's datagram socket as a NIC: the TAP machinery over a connected AF_UNIX datagram fd. */
export class VdeClientNic implements Nic {
  readonly kind = 'vde';
  private inner: TapNic | null = null;

  constructor(private readonly opts: VdeClientNicOptions) {}

  get offloadCaps(): number {
    return 0;
  }

  open(sink: NicSink): void {
    if (this.inner) throw new Error(`VdeClientNic ${this.opts.path}: already open`);
    const addon = loadTapAddon();
    const fd = addon.unixDgram(this.opts.path, this.opts.peer);
    const nic = new TapNic({ name: 'vde', dupOf: { fd, offloadCaps: 0 } });
    try {
      nic.open(sink); // reads and writes a dup of the socket
    } finally {
      addon.close(fd);
    }
    this.inner = nic;
  }

  transmit(slots: Int32Array, count: number): number {
    return this.inner !== null ? this.inner.transmit(slots, count) : 0;
  }

  close(): void {
    const nic = this.inner;
    if (!nic) return;
    this.inner = null;
    nic.close();
    try {
      unlinkSync(this.opts.path); // the socket file is ours (bound by open); a client that comes back gets a new one
    } catch {
      // already gone
    }
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, path: this.opts.path, ...(this.inner ? { fd: this.inner.fd } : {}) };
  }
}
