/**
 * Test harness: a real `vswitch run` daemon as a child process (optionally inside a network namespace, so
 * the TAPs it creates never touch the root namespace), driven through the real CLI. Tests see exactly what
 * a user sees: exit codes, stdout, stderr, and the --json output.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VswitchConfig } from '../control/model.js';

export const cliPath = resolve(fileURLToPath(new URL('../control/cli.js', import.meta.url)));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestDaemon {
  readonly dir: string;
  readonly api: string;
  proc: ChildProcess | null = null;
  log = '';

  /** `cli`: another build's dist/control/cli.js (the bench's `vswitch-base` peer); default this build's. */
  constructor(
    readonly netns?: string,
    private readonly cli_ = cliPath,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'vswitch-test-'));
    this.api = join(this.dir, 'api.sock');
  }

  /** Path for a socket or file inside this daemon's private directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Start the daemon on `config` (written to DIR/config.json; a state file beside it from an earlier run
   *  of this daemon is restored by the daemon itself). `env` adds environment variables (test hooks). */
  async start(config: VswitchConfig, timeoutMs = 15000, env: Record<string, string> = {}): Promise<void> {
    this.log = '';
    this.lastStart = [config, timeoutMs, env];
    const file = join(this.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...config, api: this.api }, null, 2));
    const argv = [process.execPath, this.cli_, 'run', '--config', file];
    const cmd = this.netns ? ['ip', 'netns', 'exec', this.netns, ...argv] : argv;
    this.proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.proc.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + timeoutMs;
    while (!this.log.includes('management API on')) {
      if (this.proc.exitCode !== null) throw new Error(`daemon exited ${this.proc.exitCode}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`daemon did not start in ${timeoutMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Run the real CLI against this daemon. */
  cli(...args: string[]): Promise<CliResult> {
    return new Promise((res) => {
      execFile(process.execPath, [cliPath, '--api', this.api, ...args], (err, stdout, stderr) => {
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  /** Run the CLI and parse its --json output; throws with stderr on failure. */
  async json<T = any>(...args: string[]): Promise<T> {
    const r = await this.cli(...args, '--json');
    if (r.code !== 0) throw new Error(`vswitch ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** SIGTERM by PID and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    if (code === null && p.exitCode === null) p.kill('SIGKILL');
    return code;
  }

  private lastStart: [VswitchConfig, number, Record<string, string>] | null = null;

  /** Start again exactly as last time (same config file, same directory: a state file there is restored). */
  restart(): Promise<void> {
    if (!this.lastStart) throw new Error('restart before start');
    return this.start(...this.lastStart);
  }

  /** SIGKILL by PID (a crash: nothing is cleaned up) and wait for the exit. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  }

  /** Resolves with the exit code (or signal name) once the daemon has exited by itself. */
  exited(): Promise<number | string | null> {
    const p = this.proc!;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode ?? p.signalCode);
    return new Promise((r) => p.once('exit', (code, sig) => r(code ?? sig)));
  }

  async cleanup(): Promise<void> {
    await this.stop();
    // VSWITCH_TEST_LOG=1: the daemon's whole output on stderr (for a failure seen only in CI)
    if (process.env.VSWITCH_TEST_LOG) process.stderr.write(`--- vswitch daemon log (${this.dir}) ---\n${this.log}\n`);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
