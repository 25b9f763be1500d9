/**
 * private-dir: mkdir -p that returns under /proc (where Node's recursive mkdir spins forever), and the
 * checks that make a directory the owner's alone: created 0700 whatever the umask; a symlink, a file, a
 * foreign owner or a group/world-writable mode refused with the path and the fix.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensurePrivateDir, makeDirs } from './private-dir.js';

const base = mkdtempSync(join(tmpdir(), 'vswitch-pdir-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('makeDirs under /proc fails at once with ENOENT instead of spinning', async () => {
  const t0 = Date.now();
  await assert.rejects(
    makeDirs('/proc/vswitch-nonexistent/a/b'),
    /cannot create directory \/proc\/vswitch-nonexistent: ENOENT/,
  );
  assert.ok(Date.now() - t0 < 2000, 'answered promptly');
  await makeDirs(join(base, 'f', 'x'));
  assert.ok(statSync(join(base, 'f', 'x')).isDirectory(), 'an ordinary path is made, parents included');
});

test('makeDirs refuses to build under a file', async () => {
  writeFileSync(join(base, 'file'), '');
  await assert.rejects(
    makeDirs(join(base, 'file', 'sub')),
    /a part of that path is a file, not a directory \(ENOTDIR\)/,
  );
});

test('ensurePrivateDir: created 0700 (parents too) under umask 000; an existing private one is accepted as it is', async () => {
  const dir = join(base, 'rt', 'vswitch');
  const old = process.umask(0);
  try {
    await ensurePrivateDir(dir);
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(base, 'rt')).mode & 0o777, 0o700, 'a missing parent is private too');
  await ensurePrivateDir(dir);
});

test('ensurePrivateDir refuses a symlink, a file, a foreign owner and a writable mode, saying how to fix it', async () => {
  const real = join(base, 'real');
  mkdirSync(real, { mode: 0o700 });
  const link = join(base, 'link');
  symlinkSync(real, link);
  await assert.rejects(ensurePrivateDir(link), /runtime directory .*link is a symbolic link; refusing to use it/);
  writeFileSync(join(base, 'plain'), '');
  await assert.rejects(ensurePrivateDir(join(base, 'plain')), /exists and is not a directory/);
  const group = join(base, 'group');
  mkdirSync(group);
  chmodSync(group, 0o770);
  await assert.rejects(
    ensurePrivateDir(group, 'capture directory'),
    /capture directory .*group is writable by its group \(mode 0770\).*chmod 700/,
  );
  if (process.geteuid?.() === 0) {
    const foreign = join(base, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    await assert.rejects(ensurePrivateDir(foreign), /is owned by uid 65534, not by this user \(uid 0\).*rm -r/);
  }
});
