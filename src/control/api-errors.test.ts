/**
 * Whose mistake: the API answers 4xx for the caller's (a ConfigError names the field; a plain Error is a
 * refusal explained in words: 409) and 500 for ours (a TypeError is a bug), logging the stack; the CLI
 * exits 2 for 4xx and 1 for 5xx, and with --json reports the error as an object.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApi, errorStatus, HttpError } from './api.js';
import { errorReport, exitCode, main } from './cli.js';
import { ApiError } from './client.js';
import type { Manager } from './manager.js';
import { ConfigError } from './validate.js';

const logged: string[] = [];
let dir = '';
let sock = '';
let server: ReturnType<typeof createApi>;

const fakeManager = {
  get(name: string) {
    if (name === 'bug') return { setAging: async () => (undefined as unknown as { x: number }).x };
    if (name === 'busy') return { setAging: async () => Promise.reject(new Error('MAC table is full (8 entries)')) };
    throw new ConfigError('switch', `no switch named '${name}'; existing: bug, busy`);
  },
} as unknown as Manager;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vswitch-apierr-'));
  sock = join(dir, 'api.sock');
  server = createApi(fakeManager, sock, (l) => logged.push(l));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('errorStatus: HttpError its own, ConfigError 400, a plain Error 409, anything else 500', () => {
  assert.equal(errorStatus(new HttpError(405, 'x')), 405);
  assert.equal(errorStatus(new ConfigError('f', 'x')), 400);
  assert.equal(errorStatus(new Error('address in use')), 409);
  assert.equal(errorStatus(new TypeError('x is undefined')), 500);
  assert.equal(errorStatus('a string'), 500);
});

async function run(...argv: string[]): Promise<unknown> {
  return main([...argv, '--api', sock], () => {});
}

test('a bug in a handler: 500, the stack in the log, CLI exit 1', async () => {
  logged.length = 0;
  const err = await run('switch', 'aging', 'bug', '10').then(
    () => assert.fail('must fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 500);
  assert.match(err.message, /Cannot read properties of undefined/);
  assert.equal(exitCode(err), 1);
  assert.equal(logged.length, 1);
  assert.match(
    logged[0]!,
    /API PUT \/v1\/switches\/bug\/aging: internal error\nTypeError: Cannot read properties of undefined[\s\S]*at /,
  );
});

test("the user's mistake: 400 with the field, CLI exit 2, nothing logged; a refusal in words: 409", async () => {
  logged.length = 0;
  const err = await run('switch', 'aging', 'nope', '10').then(
    () => assert.fail('must fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 400);
  assert.equal(err.field, 'switch');
  assert.equal(exitCode(err), 2);
  assert.deepEqual(JSON.parse(errorReport(err, true)), {
    error: "switch: no switch named 'nope'; existing: bug, busy",
    field: 'switch',
    status: 400,
    exitCode: 2,
  });
  const busy = await run('switch', 'aging', 'busy', '10').then(
    () => assert.fail('must fail'),
    (e: unknown) => e,
  );
  assert.equal((busy as ApiError).status, 409);
  assert.equal(exitCode(busy), 2);
  assert.deepEqual(logged, []);
});

test('errors before any request: usage errors exit 2 and report their field in JSON', async () => {
  const err = await run('port', 'mtu', 'sw', 'p', 'big').then(
    () => assert.fail('must fail'),
    (e: unknown) => e,
  );
  assert.equal(exitCode(err), 2);
  assert.deepEqual(JSON.parse(errorReport(err, true)), {
    error: "MTU must be a whole number, got 'big'",
    field: 'MTU',
    exitCode: 2,
  });
  assert.equal(errorReport(err, false), "vswitch: MTU must be a whole number, got 'big'");
});
