/**
 * The daemon: load and validate the configuration (a file, or the embedded default), start every switch,
 * serve the management API on a unix socket, print the QEMU lines to paste, and shut down cleanly on
 * SIGINT/SIGTERM (every NIC closed, every worker stopped, the API socket removed). Changes made through the
 * API are saved to a state file (control/state-file.ts) that the next start restores.
 *
 * The API socket is the owner's alone: mode 0600 whatever the umask (bound under umask 177), in the
 * runtime directory, which is created 0700 and refused if someone else owns it or may write to it
 * (private-dir.ts). A socket path in use is never taken (socket-path.ts). Shutdown has a deadline
 * (kShutdownMs): a worker that does not answer cannot keep the daemon alive after SIGTERM.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createApi } from './api.js';
import { defaultApiPath, defaultConfig, runtimeDir } from './defaults.js';
import { Manager } from './manager.js';
import { ensurePrivateDir, kPrivateDirMode, makeDirs } from './private-dir.js';
import { claimSocketPath } from './socket-path.js';
import type { VswitchConfig } from './model.js';
import { qemuRecipe } from './recipes.js';
import { StateFile, statePathFor } from './state-file.js';
import { ConfigError, vswitchConfig } from './validate.js';

export function loadConfig(file?: string): VswitchConfig {
  if (!file) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read config file: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid JSON: ${(err as Error).message}`);
  }
  return vswitchConfig(raw);
}

/** Graceful shutdown gets 2 s (closing sockets and stopping workers takes milliseconds); then we exit anyway. */
export const kShutdownMs = 2000;
/** API socket mode: the owner alone may connect (as docker.sock is root:docker 0660, without the group). */
const kApiUmask = 0o177;

/** Is `p` inside `dir` (or `dir` itself)? */
const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');

/** Exit code when a switch's datapath keeps failing: EX_SOFTWARE (sysexits.h), so a supervisor restarts us. */
export const kExitDatapathFailed = 70;

/**
 * `onFatal`: what to do when a switch's datapath cannot be kept alive (repeated worker faults). The
 * default ends the process with kExitDatapathFailed at once: a half-alive daemon whose API answers while
 * nothing switches is worse than a restart by systemd (Restart=on-failure), which rebuilds every TAP.
 */
export async function runDaemon(
  opts: { config?: string; api?: string; onFatal?: (err: Error) => void },
  log: (line: string) => void = (l) => console.log(l),
): Promise<() => Promise<void>> {
  const fileCfg = loadConfig(opts.config);
  // the runtime directory is trusted only if it is ours alone: checked before anything in it is read (the
  // state file of the default config lives there) and whenever the API or a port lives there
  const rt = resolve(runtimeDir());
  const statePath = statePathFor(opts.config, opts.api ?? fileCfg.api ?? defaultApiPath());
  if (inside(resolve(statePath), rt)) await ensurePrivateDir(rt);
  const state = new StateFile(statePath, log);
  const saved = state.load();
  if (saved)
    log(
      `vswitch: restored the running state from ${state.path} (remove it to start from ${opts.config ?? 'the default config'})`,
    );
  const cfg = saved ?? fileCfg;
  const apiPath = resolve(opts.api ?? cfg.api ?? defaultApiPath());
  const paths = [
    apiPath,
    ...cfg.switches.flatMap((s) =>
      (s.ports ?? []).map((p) => (p.nic.type === 'stream' && p.nic.path ? resolve(p.nic.path) : '')),
    ),
  ];
  if (paths.some((p) => p && inside(p, rt))) await ensurePrivateDir(rt);
  // elsewhere a missing directory is made 0700; an existing one of the user's choice (even /tmp) is used as
  // it is: the socket's own mode protects it
  if (!inside(apiPath, rt)) await makeDirs(dirname(apiPath), kPrivateDirMode);
  await claimSocketPath(apiPath, 'API');
  const onFatal =
    opts.onFatal ??
    ((err: Error) => {
      log(`vswitch: ${err.message}; exiting with code ${kExitDatapathFailed} so the supervisor restarts the daemon`);
      try {
        unlinkSync(apiPath);
      } catch {
        // already gone
      }
      process.exit(kExitDatapathFailed);
    });
  const mgr = new Manager(log, onFatal, { api: apiPath, captureDir: cfg.captureDir });
  try {
    await mgr.apply(cfg);
  } catch (err) {
    await mgr.stop();
    if (saved && err instanceof Error)
      err.message += ` (in the state restored from ${state.path}; fix or remove it to start from ${opts.config ?? 'the default config'})`;
    throw err;
  }
  const server = createApi(
    mgr,
    apiPath,
    (l) => console.error(l),
    () => state.save(mgr.snapshot(apiPath)),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const umask = process.umask(kApiUmask); // bind() creates the file now, already 0600: no window
      try {
        server.listen(apiPath, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
  } catch (err) {
    await mgr.stop();
    throw new Error(`cannot serve the API on ${apiPath}: ${(err as Error).message}`);
  }
  log(`vswitch: management API on ${apiPath} (try: vswitch --api ${apiPath} switch list)`);
  for (const sw of mgr.list()) {
    for (const p of sw.config.ports ?? []) {
      const recipe = qemuRecipe(sw.name, p);
      if (recipe) log(`  ${sw.name}/${p.name}: qemu-system-x86_64 ... ${recipe}`);
    }
  }
  let stopping: Promise<void> | null = null;
  const graceful = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await state.flush();
    await mgr.stop();
  };
  return () =>
    (stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => {
        timer = setTimeout(() => {
          log(
            `vswitch: shutdown did not finish within ${kShutdownMs} ms (a datapath worker does not answer); exiting anyway`,
          );
          r();
        }, kShutdownMs);
      });
      await Promise.race([graceful().catch((err: Error) => log(`vswitch: shutdown error: ${err.message}`)), late]);
      clearTimeout(timer); // closing the server removed its socket file (libuv does)
    })());
}
