/**
 * claimSocketPath(): make a unix socket path ready for a listener (a `--listen` port, the management API)
 * without ever taking one that is in use. Runs on the control thread, before the datapath worker binds:
 *
 *   nothing there                      -> create the directory (private-dir.ts makeDirs), go
 *   a socket, and a connect succeeds   -> refused: someone listens (another port, a daemon's API, QEMU)
 *   a socket, connect: ECONNREFUSED    -> stale (its listener died without cleaning up): removed, go
 *   anything else (a file, a dir, ...) -> refused, never removed
 *
 * Why a probe connect: a socket file says nothing about whether anyone still listens on it; the kernel's
 * answer to a connect does (ECONNREFUSED only when no one does). The probe is one connect and close; the
 * caller checks its own ports first, so the probe never flaps one of ours. Every step has a deadline.
 */
import { connect } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withDeadline } from './deadline.js';
import { makeDirs } from './private-dir.js';

/** A local listener answers a connect at once; 1 s is far beyond that even on a loaded machine. */
const kProbeMs = 1000;

type Probe = 'live' | 'stale' | { error: string };

/** Connect to `p` once: 'live' if someone accepts (or the backlog is full), 'stale' on ECONNREFUSED. */
function probe(p: string): Promise<Probe> {
  return new Promise((resolve) => {
    const s = connect(p);
    const done = (r: Probe) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: `no answer to a connect within ${kProbeMs} ms` }), kProbeMs);
    s.once('connect', () => done('live'));
    s.once('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'stale' : e.code === 'EAGAIN' ? 'live' : { error: e.message }),
    );
  });
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  return 'not a socket';
}

/** Ready `p` for bind() or throw saying why not; `what` names the user of the path ("port sw/p", "API"). */
export async function claimSocketPath(p: string, what: string): Promise<void> {
  await makeDirs(dirname(p));
  let st;
  try {
    st = await withDeadline(lstat(p), `lstat ${p}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`${what}: cannot check ${p}: ${(err as Error).message}`);
  }
  if (!st.isSocket())
    throw new Error(
      `${what}: ${p} exists and is ${kindOf(st)}, not a socket; it is never removed: choose another path or remove it yourself`,
    );
  const r = await probe(p);
  if (r === 'live')
    throw new Error(
      `${what}: ${p} is in use: something is listening on it (another vswitch port, a daemon's API, QEMU or another program); choose another path or stop that listener`,
    );
  if (r !== 'stale')
    throw new Error(
      `${what}: ${p} is a socket that cannot be checked (${r.error}); not removing it: choose another path`,
    );
  try {
    await withDeadline(unlink(p), `unlink ${p}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${what}: cannot remove the stale socket ${p}: ${(err as Error).message}`);
  }
}
