/**
 * The CLI in a shell pipeline whose reader leaves early (`vswitch fdb show sw | head`): it must end quietly
 * with status 0, not print Node's "Unhandled 'error' event ... EPIPE" stack. The reader here is `true`,
 * which exits without reading, so the pipe is always closed before the CLI (a Node start plus an API round
 * trip later) writes: the broken pipe is certain, not a race. Needs no root (stream ports only).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { cliPath, TestDaemon } from '../testing/daemon.js';

/** Run `{ vswitch ARGS; echo rc=$? >&2; } | READER` in sh; returns what the CLI wrote to stderr. */
function piped(d: TestDaemon, reader: string, ...args: string[]): Promise<string> {
  const cli = [process.execPath, cliPath, '--api', d.api, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', `{ ${cli}; echo "rc=$?" >&2; } | ${reader}`], (err, _stdout, stderr) =>
      err ? reject(err) : resolve(stderr),
    ),
  );
}

describe('the CLI under a closed pipe (EPIPE)', () => {
  const d = new TestDaemon();
  before(async () => {
    await d.start({
      switches: [
        { name: 's1', ports: [{ name: 'a', nic: { type: 'stream', mode: 'listen', path: d.path('a.sock') } }] },
      ],
    });
    for (let i = 1; i <= 3; i++)
      assert.equal((await d.cli('fdb', 'add', 's1', `02:00:00:00:00:0${i}`, '1', 'a')).code, 0);
  });
  after(() => d.cleanup());

  test('fdb show, port list and --json into a reader that is gone: no stack trace, status 0', async () => {
    assert.equal(await piped(d, 'true', 'fdb', 'show', 's1'), 'rc=0\n');
    assert.equal(await piped(d, 'true', 'fdb', 'show', 's1', '--json'), 'rc=0\n');
    assert.equal(await piped(d, 'true', 'port', 'list', 's1'), 'rc=0\n');
    assert.equal(await piped(d, 'true', '--help'), 'rc=0\n');
  });

  test('a reader that takes the first line gets it', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'sh',
        ['-c', `'${process.execPath}' '${cliPath}' --api '${d.api}' fdb show s1 | head -n 1`],
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    assert.equal(out.split('\n').length, 2, out);
  });

  test('errors are still reported when stdout is gone', async () => {
    assert.match(await piped(d, 'true', 'fdb', 'show', 'nosuch'), /vswitch: .*nosuch[\s\S]*rc=2\n$/);
  });
});
