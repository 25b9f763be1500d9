/**
 * The daemon: load and validate the configuration (a file, or the embedded default), start every switch,
 * serve the management API on a unix socket, print the QEMU lines to paste, and shut down cleanly on
 * SIGINT/SIGTERM (every NIC closed, every worker stopped, the API socket removed). Changes made through the
 * API are saved to a state file (control/state-file.ts) that the next start restores.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { createApi } from './api.js';
import { defaultApiPath, defaultConfig } from './defaults.js';
import { Manager } from './manager.js';
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

/** True if a live daemon answers on the socket (so we must not steal it). */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

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
  const state = new StateFile(statePathFor(opts.config, opts.api ?? fileCfg.api ?? defaultApiPath()), log);
  const saved = state.load();
  if (saved) log(`vswitch: restored the running state from ${state.path} (remove it to start from ${opts.config ?? 'the default config'})`);
  const cfg = saved ?? fileCfg;
  const apiPath = opts.api ?? cfg.api ?? defaultApiPath();
  if (existsSync(apiPath)) {
    if (await socketInUse(apiPath)) throw new Error(`another vswitch daemon is already serving ${apiPath}; stop it or pass --api with another path`);
    unlinkSync(apiPath);
  }
  mkdirSync(dirname(apiPath), { recursive: true });
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
  const mgr = new Manager(log, onFatal);
  try {
    await mgr.apply(cfg);
  } catch (err) {
    await mgr.stop();
    if (saved && err instanceof Error) err.message += ` (in the state restored from ${state.path}; fix or remove it to start from ${opts.config ?? 'the default config'})`;
    throw err;
  }
  const server = createApi(mgr, apiPath, (l) => console.error(l), () => state.save(mgr.snapshot(apiPath)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(apiPath, () => resolve());
  });
  log(`vswitch: management API on ${apiPath} (try: vswitch --api ${apiPath} switch list)`);
  for (const sw of mgr.list()) {
    for (const p of sw.config.ports ?? []) {
      const recipe = qemuRecipe(sw.name, p);
      if (recipe) log(`  ${sw.name}/${p.name}: qemu-system-x86_64 ... ${recipe}`);
    }
  }
  let stopping: Promise<void> | null = null;
  return () =>
    (stopping ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await state.flush();
      await mgr.stop();
      if (existsSync(apiPath)) unlinkSync(apiPath);
    })());
}
