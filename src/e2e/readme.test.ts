/**
 * The README and every docs/ page run as written: their ```sh examples, in page order, each block exiting
 * 0 and printing what the page shows (the convention is in src/testing/doc-examples.ts); and their ```json
 * config snippets validate. So a page cannot drift from the program it documents.
 *
 * Design notes: README.md in this folder, section "readme.test.ts".
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { jsonBlocks, parseExamples, matchOutput, type Example } from '../testing/doc-examples.js';
import { portConfig, switchConfig, vswitchConfig } from '../control/validate.js';
import { NetnsLab, netnsSkipReason } from '../testing/netns.js';
import { cliPath } from '../testing/daemon.js';
import { until } from '../testing/until.js';

const checkout = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** VSWITCH_DOC_PAGE=docs/vlans.md runs one page (while writing it). */
const pages = [
  'README.md',
  ...readdirSync(join(checkout, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
].filter((p) => !process.env.VSWITCH_DOC_PAGE || p === process.env.VSWITCH_DOC_PAGE);

/** The shim directory inside the sandbox's private /tmp (what `npm link` would put on PATH). */
const kBin = '/tmp/.vswitch-bin';
/** One block: far above any example's run time on a busy 2-core machine; a hung one fails its page. */
const kBlockTimeoutMs = 60_000;
/** A background process's shown output (a daemon's start) or an until-match block's state. */
const kAwaitMs = 60_000;
/** SIGTERM to SIGKILL for background processes; the daemon ends within 2 s of a SIGTERM. */
const kKillGraceMs = 5_000;

interface Run {
  code: number | null;
  out: string;
}

class Sandbox {
  readonly lab = new NetnsLab();
  private holder: ChildProcess | null = null;
  private readonly background: Array<{ proc: ChildProcess; out: () => string }> = [];
  private readonly env: NodeJS.ProcessEnv;

  constructor() {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${kBin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    };
    // the defaults a reader has: the runtime directory /tmp/vswitch-$UID, no API override, no test context
    for (const k of ['VSWITCH_API', 'XDG_RUNTIME_DIR', 'TMPDIR', 'NODE_TEST_CONTEXT']) delete env[k];
    this.env = env;
  }

  async start(): Promise<void> {
    const ns = await this.lab.addNs('docs');
    const shim = `#!/bin/sh\nexec '${process.execPath}' '${cliPath}' "$@"\n`;
    const setup = [
      // the checkout, held on /mnt while /tmp and /run are replaced (it may live under them), comes back
      // as an overlay: what an example writes in it (a relative path) lands in the sandbox's tmpfs
      'mount -t tmpfs tmpfs /mnt',
      'mkdir /mnt/checkout /mnt/upper /mnt/work',
      `mount --bind '${checkout}' /mnt/checkout`,
      'mount -t tmpfs -o mode=1777 tmpfs /tmp',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      'mkdir /run/netns',
      `mkdir -p '${checkout}'`,
      `mount -t overlay overlay -o lowerdir=/mnt/checkout,upperdir=/mnt/upper,workdir=/mnt/work '${checkout}'`,
      `mkdir ${kBin}`,
      `printf '%s' "$0" > ${kBin}/vswitch`,
      `chmod 755 ${kBin}/vswitch`,
      'echo ready',
      // holds the mount namespace until the test closes its stdin (or dies)
      'exec cat > /dev/null',
    ].join(' && ');
    const h = this.lab.spawn(ns, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', setup, shim], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.holder = h;
    let out = '';
    h.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    h.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(
      () => {
        if (h.exitCode !== null) throw new Error(`sandbox setup failed (${h.exitCode}): ${out}`);
        return out.includes('ready');
      },
      'the sandbox mount namespace',
      kAwaitMs,
    );
  }

  private spawnIn(script: string, detached: boolean): ChildProcess {
    // the ERR trap names the command that failed, for the test's message (bash -e stops there)
    // stderr joins stdout as on a terminal, in the order written
    // and `cd` inside: nsenter's --wd would resolve the path outside the mount namespace (not the overlay)
    const traced = `exec 2>&1\ntrap 'echo "example: [$BASH_COMMAND] exited $?"' ERR\ncd '${checkout}'\n${script}`;
    const args = ['-t', String(this.holder!.pid), '-m', '-n', 'bash', '-e', '-o', 'pipefail', '-c', traced];
    return spawn('nsenter', args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached });
  }

  /** Run a block to its end: exit code and output (stdout and stderr). */
  run(script: string): Promise<Run> {
    return new Promise((res) => {
      // its own process group, so a block that hangs is killed with whatever it started
      const p = this.spawnIn(script, true);
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => {
        out += `\n(killed: still running after ${kBlockTimeoutMs} ms)`;
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* ended meanwhile */
        }
      }, kBlockTimeoutMs);
      p.once('close', (code) => {
        clearTimeout(timer);
        res({ code, out });
      });
    });
  }

  /** Start a block in its own process group; returns a reader of its output so far (stdout and stderr). */
  startBackground(script: string): { proc: ChildProcess; out: () => string } {
    const proc = this.spawnIn(script, true);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const bg = { proc, out: () => out };
    this.background.push(bg);
    return bg;
  }

  /** Stop everything, newest first (QEMU before the daemon); then the examples' namespaces, the mount
   *  namespace and the network namespace. */
  async stop(): Promise<void> {
    while (this.background.length > 0) await stopGroup(this.background.pop()!.proc);
    if (this.holder && this.holder.exitCode === null) {
      await this.run('ip -all netns delete');
      const gone = new Promise((r) => this.holder!.once('exit', r));
      this.holder.stdin!.end();
      await gone;
    }
    await this.lab.cleanup();
  }
}

/** SIGTERM the process group the block leads (npm and the node it starts, bash and QEMU), SIGKILL after a grace. */
async function stopGroup(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  try {
    process.kill(-p.pid!, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }, kKillGraceMs);
  await gone;
  clearTimeout(timer);
}

function where(page: string, ex: Example): string {
  return `${page}:${ex.line}`;
}

async function runExample(
  sb: Sandbox,
  page: string,
  ex: Example,
  log: Array<{ ex: Example; out: string }>,
): Promise<void> {
  if (ex.mode === 'skip') return;
  if (ex.mode === 'background') {
    // the README's first command installs too; the checkout under test is installed and built already
    const script = ex.script.replace(/^npm install && /, '');
    const bg = sb.startBackground(script);
    if (ex.expect) {
      const want = ex.expect.text;
      await until(
        () => {
          if (bg.proc.exitCode !== null)
            assert.fail(`${where(page, ex)}: \`${script}\` exited ${bg.proc.exitCode}:\n${bg.out()}`);
          return matchOutput(want, bg.out()) === null;
        },
        `${where(page, ex)}: the output shown at line ${ex.expect.line}; so far:\n${bg.out()}`,
        kAwaitMs,
      );
    }
    log.push({ ex, out: '' });
    return;
  }
  let r = await sb.run(ex.script);
  if (ex.mode === 'until-match') {
    assert.ok(ex.expect, `${where(page, ex)}: until-match needs a \`\`\`text block after it`);
    const t0 = Date.now();
    while (r.code !== 0 || matchOutput(ex.expect.text, r.out) !== null) {
      if (Date.now() - t0 > kAwaitMs) break;
      r = await sb.run(ex.script);
    }
  }
  assert.equal(r.code, 0, `${where(page, ex)}: the block exited ${r.code}:\n${ex.script}\n--- output:\n${r.out}`);
  if (ex.expect) {
    const miss = matchOutput(ex.expect.text, r.out);
    assert.equal(
      miss,
      null,
      `${where(page, ex)}: the output differs from the one shown at line ${ex.expect.line}: ${miss}`,
    );
  }
  log.push({ ex, out: r.out });
}

const skip =
  netnsSkipReason() || (onPath('nsenter') && onPath('unshare') ? false : 'needs nsenter and unshare (util-linux)');

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

test('README starts with the two commands: install and run, and the CI line', () => {
  const ex = parseExamples(readFileSync(join(checkout, 'README.md'), 'utf8'), 'README.md');
  assert.equal(ex[0]?.script, 'npm install && npm start');
  const ci = readFileSync(join(checkout, '.ci/run'), 'utf8').trimEnd().split('\n').pop();
  assert.equal(ex[1]?.script, ci, "the README's test command is the line .ci/run runs, byte for byte");
});

test('every config snippet in the pages validates (a whole file, a switch or a port)', () => {
  for (const page of pages) {
    for (const b of jsonBlocks(readFileSync(join(checkout, page), 'utf8'))) {
      const at = `${page}:${b.line}`;
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(b.text) as Record<string, unknown>;
      } catch (err) {
        assert.fail(`${at}: not JSON: ${(err as Error).message}`);
      }
      assert.doesNotThrow(
        () => ('switches' in v ? vswitchConfig(v) : 'nic' in v ? portConfig(v, 'port') : switchConfig(v, 'switch')),
        at,
      );
    }
  }
});

for (const page of pages) {
  test(`${page}: every example runs as written`, { skip }, async () => {
    const examples = parseExamples(readFileSync(join(checkout, page), 'utf8'), page);
    if (examples.every((e) => e.mode === 'skip')) return; // nothing to run (a page of prose and tables)
    const before = readdirSync(checkout).sort();
    const sb = new Sandbox();
    const log: Array<{ ex: Example; out: string }> = [];
    try {
      await sb.start();
      if (page !== 'README.md') {
        const d = sb.startBackground('vswitch run');
        await until(
          () => {
            if (d.proc.exitCode !== null) assert.fail(`the default daemon exited ${d.proc.exitCode}:\n${d.out()}`);
            return d.out().includes('management API on');
          },
          'the default daemon',
          kAwaitMs,
        );
      }
      for (const ex of examples) await runExample(sb, page, ex, log);
    } finally {
      await sb.stop();
    }
    if (page === 'README.md') {
      // the QEMU line the README pastes is the one `port add` printed
      const printed = log.map((l) => /^\s*QEMU: (.*)$/m.exec(l.out)?.[1]).find((x) => x !== undefined);
      assert.ok(printed, 'a README example prints a QEMU line (port add)');
      assert.ok(
        log.some((l) => l.ex.mode === 'background' && l.ex.script.includes(printed)),
        `a README example runs QEMU with the printed arguments: ${printed}`,
      );
    }
    assert.deepEqual(readdirSync(checkout).sort(), before, 'the examples left no file in the checkout');
  });
}
