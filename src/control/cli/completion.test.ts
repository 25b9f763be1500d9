/**
 * Completion from the command table: the candidates for each position, and the generated bash function run
 * in a real bash against the real CLI (a `vswitch` on PATH), as a user's TAB would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath } from '../../testing/daemon.js';
import { complete } from './completion.js';
import { commands } from './table.js';

const names = async (kind: 'switch' | 'port', sw?: string) =>
  kind === 'switch' ? ['lab', 'sw0'] : sw === 'lab' ? ['h1', 'h2'] : [];
const c = (...words: string[]) => complete(commands, words, names);

test('candidates: command words, options of that command only, choices, daemon names', async () => {
  assert.ok((await c('')).includes('port') && (await c('')).includes('show') && (await c('')).includes('completion'));
  assert.deepEqual(await c('po'), ['port']);
  assert.deepEqual(await c('port', 'a'), ['add']);
  assert.deepEqual(await c('fdb', 'show', 'lab', '--p'), ['--port']);
  assert.deepEqual(await c('port', 'add', 'lab', 'x', '--dev'), ['--device']);
  assert.deepEqual(await c('port', 'add', 'lab', 'x', '--device', 'e1'), ['e1000', 'e1000e']);
  assert.deepEqual(await c('port', 'rm', ''), ['lab', 'sw0']);
  assert.deepEqual(await c('port', 'rm', 'lab', ''), ['h1', 'h2']);
  assert.deepEqual(await c('--api', '/x.sock', 'port', 'rm', 'lab', 'h'), ['h1', 'h2']);
  assert.deepEqual(await c('port', 'vlan', 'lab', 'h1', 'a'), ['access']);
  assert.deepEqual(await c('completion', ''), ['bash', 'zsh']);
  assert.deepEqual(await c('capture', ''), ['lab', 'list', 'stop', 'sw0']);
  assert.deepEqual(await c('capture', 'lab', ''), ['h1', 'h2']);
  assert.deepEqual(await c('help', 'fdb', ''), ['add', 'del', 'flush', 'show']);
  assert.deepEqual(await c('port', 'rm', 'lab', 'h1', ''), [], 'no more arguments');
  assert.ok(!(await c('switch', 'tune', 'lab', '--')).includes('--rss-table-size'), 'hidden options are not offered');
});

/** Runs the generated bash completion for a command line; returns COMPREPLY. */
function bashComplete(dir: string, line: string[]): Promise<string[]> {
  const script = `source <(vswitch completion bash)\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')})\nCOMP_CWORD=${line.length - 1}\n_vswitch\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      ['-c', script],
      { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.split('\n').filter(Boolean)),
    ),
  );
}

test('the generated bash function completes commands and options through the real CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-compl-'));
  try {
    writeFileSync(join(dir, 'vswitch'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
    chmodSync(join(dir, 'vswitch'), 0o755);
    assert.deepEqual(await bashComplete(dir, ['vswitch', 'port', 'a']), ['add']);
    assert.deepEqual(await bashComplete(dir, ['vswitch', 'fdb', 'show', 'lab', '--po']), ['--port']);
    assert.deepEqual(await bashComplete(dir, ['vswitch', 'capture', 's', 'p', '--direction', '']), [
      'both',
      'in',
      'out',
    ]);
    const top = await bashComplete(dir, ['vswitch', '']);
    for (const w of ['show', 'switch', 'port', 'fdb', 'help', 'completion'])
      assert.ok(top.includes(w), `${w} in ${top.join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
