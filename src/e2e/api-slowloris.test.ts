/**
 * The management API under slowloris (control/api-limits.ts), against the real daemon: 300 connections
 * each sending an unfinished request header and a header line now and then. The daemon's open file
 * descriptors (read in /proc) stay within kMaxConnections of where they started, the real CLI still gets
 * its answer, the log says connections were closed, and a lone slow connection is closed by the header
 * timeout. Needs no root.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { kMaxConnections } from '../control/api-limits.js';
import { TestDaemon } from '../testing/daemon.js';

const kAttack = 300;
/** Descriptors the daemon may open besides the API's (a log flush, a worker's timer fd, ...). */
const kSlack = 16;

describe('management API bounded against slow clients', () => {
  const d = new TestDaemon();
  const slow: Socket[] = [];
  let trickle: NodeJS.Timeout | undefined;
  const fds = () => readdirSync(`/proc/${d.proc!.pid}/fd`).length;

  before(() => d.start({ switches: [{ name: 's1', ports: [] }] }));
  after(async () => {
    clearInterval(trickle);
    for (const s of slow) s.destroy();
    await d.cleanup();
  });

  /** A connection that starts a request and never finishes its headers; resolves once connected or closed. */
  function slowClient(): Promise<Socket> {
    return new Promise((resolve) => {
      const s = connect(d.api);
      s.on('error', () => {}); // closed by the daemon: expected
      s.once('connect', () => {
        s.write('GET /v1/switches HTTP/1.1\r\nHost: x\r\n');
        resolve(s);
      });
      s.once('close', () => resolve(s));
    });
  }

  test(`${kAttack} slow connections: descriptors stay bounded and the CLI still answers`, async (t) => {
    assert.equal((await d.cli('switch', 'list')).code, 0);
    const base = fds();
    for (let i = 0; i < kAttack; i++) slow.push(await slowClient());
    trickle = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('X-Slow: 1\r\n');
    }, 1000);
    await sleep(200); // let the daemon accept what is still in its backlog
    const during = fds();
    assert.ok(
      during <= base + kMaxConnections + kSlack,
      `daemon holds ${during} descriptors, started with ${base}, bound ${kMaxConnections}`,
    );
    const t0 = Date.now();
    const r = await d.cli('switch', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((s: { name: string }) => s.name),
      ['s1'],
    );
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `the CLI answered in ${ms} ms`);
    t.diagnostic(`descriptors: ${base} before, ${during} under ${kAttack} slow connections; CLI answered in ${ms} ms`);
    assert.ok(slow.filter((s) => !s.destroyed).length <= kMaxConnections, 'the daemon closed the surplus');
    assert.match(d.log, /management API at its \d+ connections: \d+ slow or idle ones closed/);
  });

  test('a slow request header is cut off by the header timeout', async () => {
    clearInterval(trickle);
    for (const s of slow) s.destroy();
    const s = await slowClient();
    const t0 = Date.now();
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    const iv = setInterval(() => s.write('X-Slow: 1\r\n'), 1000);
    try {
      await Promise.race([closed, sleep(20_000).then(() => assert.fail('still open after 20 s'))]);
    } finally {
      clearInterval(iv);
    }
    const ms = Date.now() - t0;
    assert.ok(ms >= 9000 && ms < 15_000, `closed after ${ms} ms (header timeout 10 s, checked every second)`);
  });
});
