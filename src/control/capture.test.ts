/**
 * Capture, control side, against a real Engine on this thread (the worker's two capture requests are
 * answered by the same calls the worker makes): request validation and its messages, frames reach the
 * pcap file byte-exact through the ring and waitAsync, --count stops exactly, --seconds with no traffic
 * ends with an empty file, one capture per port, stop returns the summary, a stale frame of an earlier
 * capture is never filed into a newer one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../engine/engine.js';
import type { CaptureOp } from '../runtime/switch-runtime.js';
import { buildEthernet } from '../packet/frame.js';
import { MemoryNic } from '../ports/memory.js';
import { captureRequest, SwitchCaptures } from './capture.js';
import { kGlobalHeaderLen, kRecordHeaderLen } from './pcap.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function frame(seq: number, len = 80): Uint8Array {
  const payload = new Uint8Array(len - 14);
  payload[0] = seq;
  return buildEthernet({ src: A, dst: B, ethertype: 0x0800, payload });
}

function rig() {
  const e = new Engine();
  const names = new Map([
    ['a', e.addPort()],
    ['b', e.addPort()],
  ]);
  const na = new MemoryNic();
  const nb = new MemoryNic();
  e.attach(names.get('a')!, na);
  e.attach(names.get('b')!, nb);
  // what engine/worker.ts does for the two capture requests
  const call = async (req: CaptureOp): Promise<number | null> => {
    if (req.op === 'captureStart') {
      const p = names.get(req.name);
      if (p === undefined) throw new Error(`no port named '${req.name}'`);
      e.capture.start(p, req.direction, req.id, req.shared);
      return p;
    }
    const p = names.get(req.name)!;
    if (e.capture.idOf(p) === req.id) e.capture.stop(p);
    return null;
  };
  const caps = new SwitchCaptures('s1', e.pool.maxFrame, call);
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-cap-'));
  return { e, na, nb, caps, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The records of a pcap file: [frame bytes, orig_len]. */
function records(file: string): Array<{ bytes: Buffer; orig: number }> {
  const b = readFileSync(file);
  const out: Array<{ bytes: Buffer; orig: number }> = [];
  let at = kGlobalHeaderLen;
  while (at < b.length) {
    const incl = b.readUInt32LE(at + 8);
    const orig = b.readUInt32LE(at + 12);
    out.push({ bytes: b.subarray(at + kRecordHeaderLen, at + kRecordHeaderLen + incl), orig });
    at += kRecordHeaderLen + incl;
  }
  return out;
}

test('request validation: each field refused with a message that says what would be right', () => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /must be an object like/],
    [
      { file: '../rel.pcap' },
      /capture\.file: a relative name is a file in the daemon's capture directory and cannot leave it with '\.\.'/,
    ],
    [{ file: '/tmp/x.pcap', force: 'yes' }, /capture\.force: must be true/],
    [{ file: '' }, /capture\.file: must be the path/],
    [
      { file: '/tmp/x.pcap', direction: 'sideways' },
      /capture\.direction: must be in .* out .* or both, got "sideways"/,
    ],
    [{ file: '/tmp/x.pcap', count: 0 }, /capture\.count: must be an integer from 1 to 1000000000/],
    [{ file: '/tmp/x.pcap', count: 1.5 }, /capture\.count/],
    [{ file: '/tmp/x.pcap', seconds: 86401 }, /capture\.seconds: must be an integer from 1 to 86400/],
    [{ file: '/tmp/x.pcap', snaplen: 96 }, /capture\.snaplen: unknown setting/],
  ];
  for (const [raw, re] of bad) assert.throws(() => captureRequest(raw), re, JSON.stringify(raw));
  assert.deepEqual(captureRequest({ file: '/tmp/x.pcap' }), { file: '/tmp/x.pcap', direction: 'both' });
  assert.deepEqual(captureRequest({ file: '/tmp/x.pcap', direction: 'in', count: 5, seconds: 2 }), {
    file: '/tmp/x.pcap',
    direction: 'in',
    count: 5,
    seconds: 2,
  });
});

test('frames reach the file byte-exact, in order; --count stops after exactly N; the pool gets every slot back', async () => {
  const { e, na, caps, dir, cleanup } = rig();
  try {
    const free0 = e.pool.available;
    const file = join(dir, 'a.pcap');
    const st = await caps.start('a', { file, direction: 'in', count: 5 });
    assert.equal(st.state, 'running');
    const done = caps.wait('a');
    for (let i = 0; i < 8; i++) na.inject(frame(i));
    const r = await done;
    assert.equal(r.state, 'done');
    assert.equal(r.reason, 'count');
    assert.equal(r.framesWritten, 5);
    assert.equal(r.captureLost, 0);
    const recs = records(file);
    assert.equal(recs.length, 5);
    recs.forEach((x, i) => assert.deepEqual(new Uint8Array(x.bytes), frame(i)));
    assert.equal(e.capture.armed, 0, 'the datapath tap is off again');
    assert.equal(e.pool.available, free0);
    assert.deepEqual(caps.status('a'), r, 'the last finished capture stays readable');
  } finally {
    cleanup();
  }
});

test('--seconds with no traffic ends with 0 frames and a header-only file', async () => {
  const { caps, dir, cleanup } = rig();
  try {
    const file = join(dir, 'quiet.pcap');
    const t0 = Date.now();
    await caps.start('b', { file, direction: 'both', seconds: 1 });
    const r = await caps.wait('b');
    assert.ok(Date.now() - t0 >= 950, 'ran for about a second');
    assert.equal(r.reason, 'seconds');
    assert.equal(r.framesWritten, 0);
    assert.equal(readFileSync(file).length, kGlobalHeaderLen);
  } finally {
    cleanup();
  }
});

test('one capture per port: a second is refused naming the first file; stop returns the summary; list shows running ones', async () => {
  const { na, caps, dir, cleanup } = rig();
  try {
    const first = join(dir, 'first.pcap');
    await caps.start('a', { file: first, direction: 'both' });
    await assert.rejects(caps.start('a', { file: join(dir, 'second.pcap'), direction: 'in' }), (err: Error) => {
      assert.match(err.message, /already being captured to .*first\.pcap/);
      assert.match(err.message, /vswitch capture stop s1 a/);
      return true;
    });
    await caps.start('b', { file: join(dir, 'b.pcap'), direction: 'out' });
    assert.deepEqual(
      caps
        .list()
        .map((c) => c.port)
        .sort(),
      ['a', 'b'],
    );
    na.inject(frame(1)); // a: in (flooded to b: b out)
    await new Promise((r) => setTimeout(r, 20)); // the reader wakes on the ring
    assert.equal(caps.list().find((c) => c.port === 'a')!.framesWritten, 1);
    const ra = await caps.stop('a');
    const rb = await caps.stop('b');
    assert.deepEqual([ra.reason, ra.framesWritten, rb.framesWritten], ['stopped', 1, 1]);
    assert.deepEqual(caps.list(), []);
    assert.throws(() => caps.stop('a'), /no capture is running on port 'a'/);
    await assert.rejects(
      caps.start('a', { file: '/nonexistent-vswitch-dir/x.pcap', direction: 'in' }),
      /cannot create capture file .*ENOENT/,
    );
    assert.deepEqual(caps.list(), [], 'a refused start leaves nothing behind');
  } finally {
    cleanup();
  }
});

test('frames left in the ring by an earlier capture of the port are not filed into the next one', async () => {
  const { na, caps, dir, cleanup } = rig();
  try {
    const f1 = join(dir, '1.pcap');
    await caps.start('a', { file: f1, direction: 'in', count: 1 });
    na.inject(frame(1));
    na.inject(frame(2)); // same turn: both in the ring before the reader runs; only one is wanted
    await caps.wait('a');
    const f2 = join(dir, '2.pcap');
    await caps.start('a', { file: f2, direction: 'in' });
    na.inject(frame(3));
    await new Promise((r) => setTimeout(r, 20));
    const r2 = await caps.stop('a');
    assert.equal(records(f1).length, 1);
    assert.equal(r2.framesWritten, 1);
    assert.equal(records(f2)[0].bytes[14], 3);
  } finally {
    cleanup();
  }
});
