/**
 * Typed loader for the project's TAP addon (native/tap.c, built by `npm install` through node-gyp into
 * build/Release/vswitch_tap.node).
 *
 * Why a separate module: the addon is the only native code in the project, and not every machine that
 * runs the in-memory tests has built it. Loading is lazy (first `loadTapAddon()` call, not import time), so
 * importing `tap.ts` never fails; only opening a TAP needs the addon, and then the error says how to get it.
 *
 * Trade-off: `createRequire` with a path relative to this compiled file (dist/ports/ -> ../../build/Release)
 * ties the layout of dist/ and build/ together, instead of a search over several candidate paths (what the
 * `bindings` package does); one known path is simpler and fails with one clear message.
 *
 * Each worker thread loads its own instance: fds and poll handles belong to the thread that made them and
 * are closed by that thread's teardown (worker exit, process exit).
 */
import { createRequire } from 'node:module';

/** What `open` returns: the non-blocking, close-on-exec fd and the kernel's name for the interface. */
export interface TapHandle {
  fd: number;
  name: string;
}

export interface TapOpenOptions {
  /** IFF_VNET_HDR with a 12-byte virtio_net_hdr in front of every frame read and written. */
  vnetHdr?: boolean;
  /** IFF_MULTI_QUEUE: each open of the same name adds one kernel queue. */
  multiQueue?: boolean;
  /** Create the TAP if missing (default true, non-persistent: it vanishes when its last fd closes).
   *  false: fail with a clear error when no interface of that name exists. */
  create?: boolean;
  /** TUNSETPERSIST: the device outlives its fds (a restarted switch re-attaches to it, MAC and addresses kept). */
  persist?: boolean;
  /** Attach (or create) inside this network namespace (a name under /run/netns) instead of the thread's own. */
  netns?: string;
  /** An fd of this thread whose device went away: the new attachment takes over its number (dup3). */
  replaceFd?: number;
}

/** The receive arrays a poll reads into on each wake (TapAddon.poll); ctl = [frames to read, bytes per frame]. */
export interface TapRx {
  bytes: Uint8Array;
  offsets: Int32Array;
  lens: Int32Array;
  ctl: Int32Array;
}

export interface TapAddon {
  /** Attach to (or create) TAP `name`. Throws Error("TUNSETIFF name: <strerror> (hint)") with `code`. */
  open(name: string, opts?: TapOpenOptions): TapHandle;
  /** TUNSETCARRIER: false (down) shows NO-CARRIER on the host. Returns false if the kernel lacks it. */
  setCarrier(fd: number, up: boolean): boolean;
  /** TUNSETOFFLOAD with TUN_F_* flags; returns the flags accepted (USO bits dropped on kernels before 6.2). */
  setOffload(fd: number, flags: number): number;
  /**
   * Read up to `max` frames, frame i into bytes[offsets[i] .. offsets[i] + capacity); lens[i] = bytes the
   * kernel returned (the kernel truncates longer frames to `capacity` silently, so a read that fills the
   * whole capacity must be treated as oversize). Stops at EAGAIN. Returns the count,
   * or -errno when the first read fails hard (-77 EBADFD: the interface was deleted).
   */
  readBatch(
    fd: number,
    bytes: Uint8Array,
    offsets: Int32Array,
    capacity: number,
    lens: Int32Array,
    max: number,
  ): number;
  /**
   * One write() per frame i < n from bytes[offsets[i] .. + lens[i]). Returns how many were written before
   * the first failure; on a failure at frame k, lens[k] is overwritten with -errno (-11 EAGAIN: queue full).
   */
  writeBatch(fd: number, bytes: Uint8Array, offsets: Int32Array, lens: Int32Array, n: number): number;
  /**
   * Level-triggered uv_poll on this thread's loop: onReadable(0, pre) while frames are waiting;
   * onReadable(<0, 0) once on a libuv error (e.g. the interface was deleted), after which the watcher is
   * stopped. With `rx` the addon reads the wake's first batch itself before calling (as readBatch would,
   * up to ctl[0] frames of ctl[1] bytes at offsets[i], lengths into lens) and passes the count, or -errno,
   * as `pre`: one N-API crossing per wake instead of two. The arrays are resolved once, here.
   * Returns a handle id for `unpoll`. One poll per fd per thread.
   */
  poll(fd: number, onReadable: (status: number, pre: number) => void, rx?: TapRx): number;
  /** Stop and close a poll handle; false if it was already gone (idempotent). */
  unpoll(handle: number): boolean;
  /** A non-blocking AF_UNIX datagram socket bound at bindPath and connected to `peer` (a raw 110-byte
   *  struct sockaddr_un): a VDE client's data channel, read and written like a TAP (one datagram per frame). */
  unixDgram(bindPath: string, peer: Uint8Array): number;
  /** dup3(from, to): `to` (an fd this thread holds) now names what `from` names. */
  redup(from: number, to: number): boolean;
  /** TUNSETPERSIST 0: the device goes away with its last fd. */
  unpersist(fd: number): boolean;
  /** Close an fd this thread opened (stopping its polls first); false if not open here (idempotent). */
  close(fd: number): boolean;
  /** A new fd on the same open TAP (fcntl F_DUPFD_CLOEXEC), owned and closed at teardown by this thread.
   *  The TAP device lives while any fd on it is open. */
  dup(fd: number): number;
  /** A doorbell on this thread's loop for the Int32Array word words[index] (shared memory): ring() from any
   *  thread makes onRing() run here, several rings before it runs making one call. No promise per wake
   *  (Atomics.waitAsync makes one). Returns an id for `unbell`. */
  bell(words: Int32Array, index: number, onRing: () => void): number;
  /** Wake every bell on words[index] (any thread); nothing when none is registered. */
  ring(words: Int32Array, index: number): void;
  /** Close a bell of this thread; false if it was already gone (idempotent). */
  unbell(id: number): boolean;
  /** out[0] = CLOCK_MONOTONIC in ms, without allocating (performance.now() makes a heap number per call). */
  now(out: Float64Array): void;
  /** Bytes of virtio_net_hdr used with vnetHdr (12). */
  readonly vnetHdrLen: number;
}

/** Relative to the compiled file: dist/ports/tap-native.js -> build/Release/vswitch_tap.node. */
const kAddonPath = '../../build/Release/vswitch_tap.node';

let cached: TapAddon | null = null;

/** The addon, loaded on first use. Throws a clear Error when it has not been built. */
export function loadTapAddon(): TapAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require(kAddonPath) as TapAddon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ENOENT') {
      throw new Error(
        `vswitch TAP addon not built (${kAddonPath} from ${import.meta.url}): run \`npm install\` ` +
          '(it runs node-gyp; needs python3, make and g++)',
        { cause: err },
      );
    }
    throw new Error(`vswitch TAP addon failed to load: ${(err as Error).message}`, { cause: err });
  }
  return cached;
}

/** True when the addon can be loaded (for tests that skip without it). */
export function tapAddonAvailable(): boolean {
  try {
    loadTapAddon();
    return true;
  } catch {
    return false;
  }
}
