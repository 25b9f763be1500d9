/**
 * Packet capture, control side: one `SwitchCaptures` per switch drains the switch's capture FrameRing
 * (filled by the datapath worker, engine/capture.ts) and writes each capture's frames to its pcap file
 * (control/pcap.ts). This is where frames change threads, and the only place: the worker copies a frame
 * into the ring once and never waits for us.
 *
 * The reader sleeps on the ring's tail with Atomics.waitAsync (no polling): the worker publishes and
 * notifies once per breath, we wake, pop everything, release once, hand each file one buffered write.
 * Each ring entry carries the capture id, so a frame still in the ring from an earlier capture of the
 * same port is never filed into a newer one.
 *
 * Design notes: README.md in this folder, section "capture.ts".
 */
import { isAbsolute } from 'node:path';
import { FrameRing } from '../dataplane/ring.js';
import {
  createCaptureShared,
  kCaptureIn,
  kCaptureOut,
  kCaptureRingSize,
  kMeta,
  type CaptureShared,
} from '../engine/capture.js';
import type { CaptureOp } from '../runtime/switch-runtime.js';
import type { CaptureDirection, CaptureRequest, CaptureStatus } from './model.js';
import { PcapWriter } from './pcap.js';
import { ConfigError } from './validate.js';

/** Largest --count: a billion frames is days of line rate on these machines; the bound keeps typos out. */
export const kMaxCaptureCount = 1_000_000_000;
/** Longest --seconds: one day. Longer captures belong in a rotating tool, not one file. */
export const kMaxCaptureSeconds = 86_400;
/** How long the reader sleeps with no frame before it checks whether any capture is left. */
const kIdleWaitMs = 1000;

const directionBits: Record<CaptureDirection, number> = {
  in: kCaptureIn,
  out: kCaptureOut,
  both: kCaptureIn | kCaptureOut,
};

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Validate a capture request body (API) completely; the CLI resolves a relative path before sending. */
export function captureRequest(raw: unknown, field = 'capture'): CaptureRequest {
  const fail = (f: string, msg: string): never => {
    throw new ConfigError(f, msg);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail(field, `must be an object like {"file": "/tmp/p1.pcap", "direction": "both"}, got ${show(raw)}`);
  const o = raw as Record<string, unknown>;
  const keys = ['file', 'direction', 'count', 'seconds', 'force'];
  for (const k of Object.keys(o))
    if (!keys.includes(k)) fail(`${field}.${k}`, `unknown setting; expected one of ${keys.join(', ')}`);
  if (typeof o.file !== 'string' || o.file.length === 0)
    fail(`${field}.file`, `must be the path of the pcap file to write, got ${show(o.file)}`);
  const file = o.file as string;
  if (!isAbsolute(file) && file.split('/').includes('..'))
    fail(
      `${field}.file`,
      `a relative name is a file in the daemon's capture directory and cannot leave it with '..'; give a name like "vm1.pcap" or an absolute path, got ${show(file)}`,
    );
  const direction = o.direction ?? 'both';
  if (direction !== 'in' && direction !== 'out' && direction !== 'both')
    fail(
      `${field}.direction`,
      `must be in (as received from the port's endpoint), out (as delivered to it) or both, got ${show(direction)}`,
    );
  const out: CaptureRequest = { file, direction: direction as CaptureDirection };
  if (o.force !== undefined) {
    if (typeof o.force !== 'boolean')
      fail(`${field}.force`, `must be true (overwrite an existing file) or false, got ${show(o.force)}`);
    if (o.force) out.force = true;
  }
  if (o.count !== undefined) {
    if (typeof o.count !== 'number' || !Number.isInteger(o.count) || o.count < 1 || o.count > kMaxCaptureCount)
      fail(`${field}.count`, `must be an integer from 1 to ${kMaxCaptureCount} frames, got ${show(o.count)}`);
    out.count = o.count as number;
  }
  if (o.seconds !== undefined) {
    if (
      typeof o.seconds !== 'number' ||
      !Number.isInteger(o.seconds) ||
      o.seconds < 1 ||
      o.seconds > kMaxCaptureSeconds
    )
      fail(`${field}.seconds`, `must be an integer from 1 to ${kMaxCaptureSeconds} (one day), got ${show(o.seconds)}`);
    out.seconds = o.seconds as number;
  }
  return out;
}

interface Session {
  status: CaptureStatus;
  writer: PcapWriter;
  /** Port index in the worker; -1 until the worker confirmed the start. */
  index: number;
  timer: NodeJS.Timeout | null;
  /** No more frames are filed (count reached or stopping). */
  full: boolean;
  ending: Promise<CaptureStatus> | null;
  waiters: Array<(s: CaptureStatus) => void>;
}

type Call = (req: CaptureOp) => Promise<number | null>;

export class SwitchCaptures {
  private shared: CaptureShared | null = null;
  private ring: FrameRing | null = null;
  private lost: Float64Array | null = null;
  private scratch: Buffer | null = null;
  private nextId = 1;
  private readonly byId = new Map<number, Session>();
  private readonly byPort = new Map<string, Session>();
  private readonly finished = new Map<string, CaptureStatus>();
  private pumping = false;

  /** `capacity`: the pool's largest frame (a ring entry holds one whole frame). */
  constructor(
    private readonly switchName: string,
    private readonly capacity: number,
    private readonly call: Call,
  ) {}

  /** Start a capture on `port` (validated request); resolves once the datapath taps the port. */
  async start(port: string, req: CaptureRequest): Promise<CaptureStatus> {
    const running = this.byPort.get(port);
    if (running)
      throw new ConfigError(
        'capture',
        `port '${port}' of switch '${this.switchName}' is already being captured to ${running.status.file} (since ${running.status.started}); one capture per port: stop it first with 'vswitch capture stop ${this.switchName} ${port}'`,
      );
    const status: CaptureStatus = {
      id: this.nextId++,
      switch: this.switchName,
      port,
      file: req.file,
      direction: req.direction,
      ...(req.count !== undefined ? { count: req.count } : {}),
      ...(req.seconds !== undefined ? { seconds: req.seconds } : {}),
      started: new Date().toISOString(),
      state: 'running',
      framesWritten: 0,
      captureLost: 0,
    };
    // reserve the port before the first await, so two concurrent starts cannot both pass the check
    const s: Session = {
      status,
      writer: null as unknown as PcapWriter,
      index: -1,
      timer: null,
      full: false,
      ending: null,
      waiters: [],
    };
    this.byPort.set(port, s);
    try {
      s.writer = await PcapWriter.create(req.file, { force: req.force === true });
    } catch (err) {
      this.byPort.delete(port);
      throw new ConfigError('capture.file', `cannot create capture file ${req.file}: ${(err as Error).message}`);
    }
    this.ensureRing();
    this.byId.set(status.id, s);
    try {
      s.index = (await this.call({
        op: 'captureStart',
        name: port,
        id: status.id,
        direction: directionBits[req.direction],
        shared: this.shared!,
      })) as number;
    } catch (err) {
      this.byId.delete(status.id);
      this.byPort.delete(port);
      await s.writer.close().catch(() => {});
      throw err;
    }
    if (req.seconds !== undefined) s.timer = setTimeout(() => void this.finish(s, 'seconds'), req.seconds * 1000);
    void this.pump();
    return this.snapshot(s);
  }

  /** Stop the capture running on `port`; resolves with its final summary once the file is closed. */
  stop(port: string): Promise<CaptureStatus> {
    const s = this.byPort.get(port);
    if (!s || s.index < 0)
      throw new ConfigError('capture', `no capture is running on port '${port}' of switch '${this.switchName}'`);
    return this.finish(s, 'stopped');
  }

  /** Running captures, with frames written and lost so far. */
  list(): CaptureStatus[] {
    return [...this.byPort.values()].filter((s) => s.index >= 0).map((s) => this.snapshot(s));
  }

  /** The capture of `port`: the running one, else the last finished one. */
  status(port: string): CaptureStatus {
    const s = this.byPort.get(port);
    if (s && s.index >= 0) return this.snapshot(s);
    const f = this.finished.get(port);
    if (!f) throw new ConfigError('capture', `port '${port}' of switch '${this.switchName}' has no capture`);
    return f;
  }

  /** Resolve with the final summary when the capture of `port` ends (at once if it already has). */
  wait(port: string): Promise<CaptureStatus> {
    const s = this.byPort.get(port);
    if (s && s.index >= 0) return new Promise((resolve) => s.waiters.push(resolve));
    return Promise.resolve(this.status(port));
  }

  /** The port is being removed: end its capture (the worker's removePort turns the tap off itself). */
  async portRemoved(port: string): Promise<void> {
    const s = this.byPort.get(port);
    if (s && s.index >= 0) await this.finish(s, 'port-removed');
  }

  /** The switch is stopping: end every capture with what reached the ring. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.byPort.values()].filter((s) => s.index >= 0).map((s) => this.finish(s, 'switch-removed')),
    );
  }

  private ensureRing(): void {
    if (this.shared) return;
    this.shared = createCaptureShared(this.capacity);
    this.ring = new FrameRing(kCaptureRingSize, this.capacity, this.shared.ring, kMeta.count);
    this.lost = new Float64Array(this.shared.lost);
    this.scratch = Buffer.allocUnsafe(this.capacity);
  }

  private snapshot(s: Session): CaptureStatus {
    if (s.status.state === 'running' && s.index >= 0) s.status.captureLost = this.lost![s.index];
    return { ...s.status };
  }

  /** Sleep on the ring, drain it, repeat while any capture runs. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.byId.size > 0) {
        this.drain();
        const sleep = this.ring!.waitAsync(kIdleWaitMs);
        if (sleep) await sleep;
        else await new Promise((r) => setImmediate(r)); // frames raced in: go again, but let I/O run first
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Pop every published frame, file it with its capture, release the ring once, start the file writes. */
  private drain(): void {
    const ring = this.ring;
    if (!ring) return;
    const buf = this.scratch!;
    let len: number;
    let popped = 0;
    while ((len = ring.pop(buf, 0)) >= 0) {
      popped++;
      const s = this.byId.get(ring.getMeta(kMeta.id));
      if (!s || s.full) continue;
      s.writer.record(
        ring.getMeta(kMeta.sec) >>> 0,
        ring.getMeta(kMeta.usec),
        buf,
        0,
        len,
        ring.getMeta(kMeta.origLen),
      );
      s.status.framesWritten++;
      if (s.status.count !== undefined && s.status.framesWritten >= s.status.count) {
        s.full = true;
        void this.finish(s, 'count');
      }
    }
    if (popped === 0) return;
    ring.release();
    for (const s of this.byId.values()) {
      s.writer.flush();
      if (s.writer.error && !s.ending) void this.finish(s, 'error');
    }
  }

  private finish(s: Session, reason: NonNullable<CaptureStatus['reason']>): Promise<CaptureStatus> {
    if (s.ending) return s.ending;
    s.ending = (async () => {
      if (s.timer) clearTimeout(s.timer);
      s.status.reason = reason;
      if (reason !== 'port-removed' && reason !== 'switch-removed') {
        await this.call({ op: 'captureStop', name: s.status.port, id: s.status.id }).catch(() => {});
      }
      // the tap is off and everything it pushed is published: collect the tail of this capture
      if (!s.full) this.drain();
      s.full = true;
      s.status.captureLost = this.lost![s.index];
      this.byId.delete(s.status.id);
      this.byPort.delete(s.status.port);
      try {
        await s.writer.close();
      } catch (err) {
        s.status.reason = 'error';
        s.status.error = (err as Error).message;
      }
      s.status.state = 'done';
      const final = { ...s.status };
      this.finished.set(s.status.port, final);
      for (const w of s.waiters) w(final);
      return final;
    })();
    return s.ending;
  }
}
