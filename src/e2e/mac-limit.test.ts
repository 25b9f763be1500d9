/**
 * Port security end to end, through the real daemon and CLI (stream ports, no root): a port with
 * `--mac-limit 8` flooded with frames from 200 random source MACs owns 8 MAC table entries, the rest is
 * counted `macLimitRefused` on it; a station on another port is still learned; the limit shows in
 * `port list` and the running config, is changed at runtime with `port mac-limit`, and a bad value is
 * refused naming the field. The MAC table of the same running switch (two workers, one shared table) is
 * then shrunk and grown with `switch mac-table-size`: the most recent entries stay, the new size holds.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../testing/daemon.js';
import { StreamPeer } from '../testing/stream-peer.js';

function frame(src: number, dst = 0xffffffffffff): Uint8Array {
  const f = Buffer.alloc(60);
  f.writeUIntBE(dst, 0, 6);
  f.writeUIntBE(src, 6, 6);
  f.writeUInt16BE(0x88b5, 12);
  return new Uint8Array(f);
}

describe('per-port MAC limit (port security)', () => {
  const d = new TestDaemon();
  let a: StreamPeer;
  let b: StreamPeer;

  before(async () => {
    await d.start({
      switches: [
        {
          name: 's1',
          workers: 2,
          ports: [
            { name: 'a', macLimit: 8, nic: { type: 'stream', mode: 'listen', path: d.path('a.sock') } },
            { name: 'b', nic: { type: 'stream', mode: 'listen', path: d.path('b.sock') } },
          ],
        },
      ],
    });
    a = new StreamPeer(d.path('a.sock'));
    b = new StreamPeer(d.path('b.sock'));
    await a.connect();
    await b.connect();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await d.cleanup();
  });

  async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() - t0 > 10_000) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
      await sleep(50);
    }
  }

  test('a flooding port owns only its limit; the rest is counted on it; other ports still learn', async () => {
    for (let i = 0; i < 200; i++) a.send(frame(0x026600000000 + i));
    b.send(frame(0x020000000051));
    const c = await until(
      () => d.json('counters', 's1'),
      (c) => c.ports.a.rxFrames === 200 && c.ports.b.rxFrames >= 1,
      '201 frames',
    );
    assert.equal(c.ports.a.macLimitRefused, 192);
    const fdb: Array<{ mac: string; port: string }> = await d.json('fdb', 'show', 's1');
    assert.equal(fdb.filter((e) => e.port === 'a').length, 8);
    assert.ok(
      fdb.some((e) => e.port === 'b' && e.mac === '02:00:00:00:00:51'),
      'the station on b was learned',
    );
    const ports: Array<{ name: string; macLimit: number; macs: number }> = await d.json('port', 'list', 's1');
    assert.deepEqual(
      ports.map((p) => [p.name, p.macLimit, p.macs]),
      [
        ['a', 8, 8],
        ['b', 0, 1],
      ],
    );
  });

  test('changed at runtime, kept in the running config; a bad value is refused naming the field', async () => {
    let r = await d.cli('port', 'mac-limit', 's1', 'a', '0');
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 20; i++) a.send(frame(0x026700000000 + i));
    await until(
      () => d.json('port', 'list', 's1'),
      (p: Array<{ name: string; macs: number }>) => p[0].macs === 28,
      'port a learning again',
    );
    r = await d.cli('port', 'mac-limit', 's1', 'a', '30');
    assert.equal(r.code, 0, r.stderr);
    const cfg: { switches: Array<{ ports: Array<{ name: string; macLimit?: number }> }> } = await d.json(
      'config',
      'show',
    );
    assert.equal(cfg.switches[0].ports.find((p) => p.name === 'a')?.macLimit, 30);
    r = await d.cli('port', 'mac-limit', 's1', 'a', '2000000');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /macLimit.*0 to 1048576.*2000000/);
  });

  test('the MAC table is resized on the running switch, on both workers', async () => {
    let r = await d.cli('switch', 'mac-table-size', 's1', '10', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout),
      { macTableSize: 10, entries: 10, dropped: 19 },
      '29 entries (a 28, b 1): 19 did not fit in 10',
    );
    let c = await d.json('counters', 's1');
    assert.equal(c.fdb.entries, 10);
    b.send(frame(0x020000000099));
    c = await until(
      () => d.json('counters', 's1'),
      (c) => c.fdb.evicted >= 1,
      'an eviction at the new size',
    );
    assert.equal(c.fdb.entries, 10);
    const fdb: Array<{ mac: string }> = await d.json('fdb', 'show', 's1');
    assert.ok(
      fdb.some((e) => e.mac === '02:00:00:00:00:99'),
      'the newcomer was learned in the full, smaller table',
    );
    r = await d.cli('switch', 'mac-table-size', 's1', '1000');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /MAC table size 1000, 10 entries kept, 0 dropped/);
    for (let i = 0; i < 20; i++) a.send(frame(0x026800000000 + i));
    await until(
      () => d.json('counters', 's1'),
      (c) => c.fdb.entries === 30,
      '20 more entries after growing',
    );
    const cfg: { switches: Array<{ macTableSize?: number }> } = await d.json('config', 'show');
    assert.equal(cfg.switches[0].macTableSize, 1000);
    r = await d.cli('switch', 'mac-table-size', 's1', '0');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /macTableSize.*1 to 1048576.*0/);
  });
});
