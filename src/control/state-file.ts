/**
 * The state file: the running configuration, rewritten after every change made through the API and read
 * back at the next start, so a restart (or a crash) keeps the ports, VLANs, policies and tuning that were
 * changed at runtime. It lives next to the config file (`lab.json` -> `lab.state.json`; the embedded
 * default's beside the API socket) and, when present, wins over the config file.
 *
 * A write is atomic: a temporary file in the same directory, fsync, rename over the old one, fsync of the
 * directory; a crash at any point leaves either the old state or the new one, never half of one. Writes are
 * serialized (one in flight, the latest snapshot queued), and they run on libuv's thread pool, never on a
 * datapath thread. The API answers a change once its snapshot is on disk (an fsync, a few ms), so a change
 * a client saw succeed survives a crash; a write that fails is logged and leaves the running switch as it is.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { VswitchConfig } from './model.js';
import { ConfigError, vswitchConfig } from './validate.js';

/** `DIR/NAME.json` -> `DIR/NAME.state.json`; without a config file, `state.json` beside the API socket. */
export function statePathFor(configFile: string | undefined, apiPath: string): string {
  if (!configFile) return join(dirname(apiPath), 'state.json');
  const ext = extname(configFile);
  return join(dirname(configFile), `${basename(configFile, ext)}.state.json`);
}

/** Test hook: with VSWITCH_FAULT_INJECT=state-before-rename the daemon kills itself between write and rename. */
const kFaultBeforeRename = 'state-before-rename';

export class StateFile {
  private writing: Promise<void> | null = null;
  private pending: VswitchConfig | null = null;
  /** Writes completed, and the last write error (logged; the running switch is not affected). */
  writes = 0;
  lastError: string | undefined;

  constructor(
    readonly path: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** The saved configuration, or undefined when there is none. A file that exists but does not validate is
   *  an error naming it (it is not silently ignored: the user would lose what it held). */
  load(): VswitchConfig | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ConfigError(this.path, `cannot read the state file: ${(err as Error).message}`);
    }
    try {
      return vswitchConfig(JSON.parse(text));
    } catch (err) {
      throw new ConfigError(
        this.path,
        `the saved state is not a valid configuration (${(err as Error).message}); fix or remove it to start from the config file`,
      );
    }
  }

  /** Queue a snapshot for writing; resolves once it (or a later one) is on disk. */
  save(cfg: VswitchConfig): Promise<void> {
    this.pending = cfg;
    this.writing ??= this.drain();
    return this.writing;
  }

  /** Resolves when nothing is left to write. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const cfg = this.pending;
        this.pending = null;
        try {
          await this.writeAtomic(JSON.stringify(cfg, null, 2) + '\n');
          this.writes++;
          this.lastError = undefined;
        } catch (err) {
          this.lastError = (err as Error).message;
          this.log(`vswitch: cannot save the running state to ${this.path}: ${this.lastError}`);
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async writeAtomic(text: string): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (process.env.VSWITCH_FAULT_INJECT === kFaultBeforeRename) process.kill(process.pid, 'SIGKILL');
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
