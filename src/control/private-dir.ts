/**
 * Directories the daemon creates: `makeDirs` (mkdir -p) for the directory of a socket or capture file, and
 * `ensurePrivateDir` for the runtime directory (/tmp/vswitch-$UID or $XDG_RUNTIME_DIR/vswitch) and the
 * capture directory, which must be the owner's alone.
 *
 * Why not fs.mkdir({recursive: true}): on /proc it never returns (mkdir of /proc/x gives ENOENT although
 * /proc exists, and Node retries forever at 100 % CPU; seen with Node 20). Here each component is one
 * mkdir, at most one pass over the path, every call under a deadline (deadline.ts).
 *
 * Why the checks: a directory in /tmp can be made by anyone first. A runtime directory owned by another
 * user, or writable by group or others, lets them replace our sockets or read our captures, so it is
 * refused with the path, the owner and the fix, as ssh refuses a ~/.ssh it does not trust.
 */
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { withDeadline } from './deadline.js';

/** Mode of the directories we make private: the owner alone may list, enter and change them. */
export const kPrivateDirMode = 0o700;

/** errno code of a failed fs call, e.g. 'ENOENT'. */
function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** The directory `dir` and its missing parents, one mkdir per component; refuses a non-directory on the way. */
export async function makeDirs(dir: string, mode = 0o777): Promise<void> {
  const full = resolve(dir);
  const missing: string[] = [];
  for (let d = full; ; d = dirname(d)) {
    try {
      const st = await withDeadline(lstat(d), `lstat ${d}`);
      if (st.isSymbolicLink() || st.isDirectory()) break; // a symlink is resolved by mkdir below it (and by the check)
      throw new Error(`${d} exists and is not a directory; cannot create ${full} under it`);
    } catch (err) {
      if (codeOf(err) === 'ENOTDIR')
        throw new Error(`cannot create directory ${full}: a part of that path is a file, not a directory (ENOTDIR)`);
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      await withDeadline(mkdir(d, { mode }), `mkdir ${d}`);
    } catch (err) {
      if (codeOf(err) === 'EEXIST') continue; // made meanwhile (another daemon): checked by the caller's use
      throw new Error(`cannot create directory ${d}: ${(err as Error).message}`);
    }
  }
}

/**
 * `dir` exists, is a real directory (not a symlink) owned by us, and no one else may write to it. Created
 * 0700 (whatever the umask) when missing; an existing one is checked, never changed.
 */
export async function ensurePrivateDir(dir: string, what = 'runtime directory'): Promise<void> {
  await makeDirs(dirname(resolve(dir)), kPrivateDirMode); // missing parents (the runtime directory) are private too
  let created = false;
  try {
    await withDeadline(mkdir(dir, { mode: kPrivateDirMode }), `mkdir ${dir}`);
    created = true;
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw new Error(`cannot create ${what} ${dir}: ${(err as Error).message}`);
  }
  if (created) await withDeadline(chmod(dir, kPrivateDirMode), `chmod ${dir}`); // the umask may have taken bits away; never add
  const st = await withDeadline(lstat(dir), `lstat ${dir}`);
  const me = process.geteuid?.() ?? st.uid;
  if (st.isSymbolicLink())
    throw new Error(
      `${what} ${dir} is a symbolic link; refusing to use it (someone may redirect the switch's sockets): remove it, or point XDG_RUNTIME_DIR / --api elsewhere`,
    );
  if (!st.isDirectory())
    throw new Error(
      `${what} ${dir} exists and is not a directory; remove it or point XDG_RUNTIME_DIR / --api elsewhere`,
    );
  if (st.uid !== me)
    throw new Error(
      `${what} ${dir} is owned by uid ${st.uid}, not by this user (uid ${me}): another user may have created it to take over the switch's sockets; remove it (rm -r ${dir}) or set XDG_RUNTIME_DIR to a directory of your own`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new Error(
      `${what} ${dir} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): others could replace the sockets in it; fix with chmod 700 ${dir}`,
    );
}
