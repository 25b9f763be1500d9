/**
 * withDeadline(): every filesystem and socket call the control plane makes on a path a user named runs
 * with a deadline, so a path on a hung mount (NFS, FUSE) or an odd filesystem fails the request with a
 * clear error instead of hanging the API (and with it SIGTERM). The call itself runs on libuv's thread
 * pool or as a socket; when the deadline passes we stop waiting for it and say what we waited for.
 *
 * Trade-off: a call that never returns still holds one thread-pool thread; the control plane refuses the
 * request and stays responsive, which is what the user can act on.
 */

/** Long enough for any local filesystem on a loaded machine, short enough to answer an API request. */
export const kFsDeadlineMs = 3000;

export class DeadlineError extends Error {}

/** `p`, or a DeadlineError naming `what` if it has not settled within `ms`. */
export function withDeadline<T>(p: Promise<T>, what: string, ms = kFsDeadlineMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DeadlineError(
            `${what} did not finish within ${ms} ms (a hung or unusual filesystem?); choose a path on a local filesystem`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
