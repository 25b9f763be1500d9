/**
 * A reader that goes away early (`vswitch fdb show sw | head`) closes the pipe under the CLI; Node then
 * reports EPIPE as an 'error' event on process.stdout, which, unhandled, prints a stack trace and exits 1.
 * A command's output is only for its reader, so the CLI ends quietly with status 0, as `seq 1000000 | head`
 * does in effect. The daemon (`vswitch run`) must not end because whoever read its log went away: it
 * keeps running and drops what it cannot write. Any other write error is still reported.
 */
import type { Writable } from 'node:stream';

/** Install on stdout and stderr. `keepRunning`: the daemon; otherwise exit 0 on the first EPIPE. */
export function quietOnBrokenPipe(keepRunning: boolean, streams: Writable[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (!keepRunning) process.exit(0);
    });
  }
}
