/**
 * DgramNic over real UDP sockets: frames both ways with a learned and with a configured remote, the
 * receive-side checks (empty -> malformed, too big -> oversize), the transmit ring filling up (ring-full)
 * without in-flight buffers being overwritten, and the QEMU `-netdev dgram` string. QEMU itself on the
 * other end is exercised in stream.test.ts (one QEMU hub carries stream and dgram ports).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { DgramNic, kTxRing, qemuDgramNetdevArg } from './dgram.js';
import { RecordingSink } from '../testing/recording-sink.js';
import { until } from '../testing/until.js';

function frameOf(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7 + (seed >> 8)) & 255;
  return b;
}

/** A real UDP peer (QEMU's role) on 127.0.0.1 that records what it receives. */
async function peer(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  // Large receive buffer: a ring-full test bursts 256 datagrams before the peer reads (the kernel caps it).
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const got: Buffer[] = [];
  sock.on('message', (m: Buffer) => got.push(m));
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  return { sock, port: sock.address().port, got };
}

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

const newPool = () => new PacketPool({ slots: 512, slotSize: 2048 }); // maxFrame 1920

test('learned remote: receive from a peer, then transmit back to it; flushed once per turn', async () => {
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localPort: 0 });
  cleanups.push(() => nic.close());
  nic.open(sink);
  await nic.ready();
  assert.equal(sink.connects, 1, 'up once bound');
  const port = nic.boundPort;
  assert.ok(port > 0);

  const p = await peer();
  cleanups.push(() => p.sock.close());
  const slots = Int32Array.of(sink.pool.load(frameOf(60, 9)));
  assert.equal(nic.transmit(slots, 1), 0, 'no remote yet');
  assert.deepEqual(sink.drops, { 'tx-error': 1 });
  assert.equal(nic.describe().remote, null);

  const frames = Array.from({ length: 20 }, (_, i) => frameOf(14 + i * 50, i));
  for (const f of frames) p.sock.send(f, port, '127.0.0.1');
  await until(() => sink.frames.length === 20, '20 frames');
  assert.deepEqual(sink.frames, frames);
  await sleep(10);
  assert.equal(sink.unflushed, 0, 'every received frame was flushed');
  assert.ok(sink.flushes >= 1 && sink.flushes <= 20, `flushes ${sink.flushes}`);
  assert.equal(nic.describe().remote, `127.0.0.1:${p.port}`);

  assert.equal(nic.transmit(slots, 1), 1);
  sink.pool.free(slots[0]);
  await until(() => p.got.length === 1, 'frame at the peer');
  assert.deepEqual(p.got[0], frameOf(60, 9));
  nic.close();
});

test('configured remote: transmit without having heard from it; another sender is dropped (foreign-source) and redirects nothing', async () => {
  const p = await peer();
  const stranger = await peer();
  cleanups.push(
    () => p.sock.close(),
    () => stranger.sock.close(),
  );
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localHost: '127.0.0.1', localPort: 0, remoteHost: '127.0.0.1', remotePort: p.port });
  cleanups.push(() => nic.close());
  nic.open(sink);
  await nic.ready();
  stranger.sock.send(frameOf(60, 1), nic.boundPort, '127.0.0.1');
  await until(() => sink.drops['foreign-source'] === 1, 'the stranger counted foreign-source');
  p.sock.send(frameOf(60, 4), nic.boundPort, '127.0.0.1');
  await until(() => sink.frames.length === 1, 'frame from the configured remote');
  assert.deepEqual(sink.frames, [frameOf(60, 4)], "only the remote's frame was taken");
  assert.equal(nic.describe().foreignDropped, 1);
  assert.equal(nic.describe().lastForeign, `127.0.0.1:${stranger.port}`);
  assert.equal(sink.pool.available, 512, 'no slot leaked by the drop');
  const slots = Int32Array.of(sink.pool.load(frameOf(1920, 2)), sink.pool.load(frameOf(1, 3)));
  assert.equal(nic.transmit(slots, 2), 2);
  await until(() => p.got.length === 2, 'frames at the configured remote');
  assert.deepEqual(p.got, [frameOf(1920, 2), frameOf(1, 3)]);
  assert.equal(stranger.got.length, 0);
  assert.deepEqual(sink.drops, { 'foreign-source': 1 });
  for (const s of slots) sink.pool.free(s);
  nic.close();
});

test('IPv6: a configured remote ::1 (written 0:0::1) is bound on ::1 by default, frames both ways, strangers dropped', async () => {
  const sock = dgram.createSocket('udp6');
  const got: Buffer[] = [];
  sock.on('message', (m: Buffer) => got.push(m));
  sock.bind(0, '::1');
  await once(sock, 'listening');
  const stranger = dgram.createSocket('udp6');
  stranger.bind(0, '::1');
  await once(stranger, 'listening');
  cleanups.push(
    () => sock.close(),
    () => stranger.close(),
  );
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localPort: 0, remoteHost: '0:0::1', remotePort: sock.address().port });
  cleanups.push(() => nic.close());
  nic.open(sink);
  await nic.ready();
  assert.equal(nic.localHost, '::1');
  assert.equal(nic.describe().remote, `[::1]:${sock.address().port}`);
  stranger.send(frameOf(60, 1), nic.boundPort, '::1');
  sock.send(frameOf(60, 2), nic.boundPort, '::1');
  await until(() => sink.frames.length === 1 && sink.drops['foreign-source'] === 1, 'one frame taken, one foreign');
  assert.deepEqual(sink.frames, [frameOf(60, 2)]);
  const slots = Int32Array.of(sink.pool.load(frameOf(100, 3)));
  assert.equal(nic.transmit(slots, 1), 1);
  sink.pool.free(slots[0]);
  await until(() => got.length === 1, 'frame at the IPv6 peer');
  assert.deepEqual(got[0], frameOf(100, 3));
  nic.close();
});

test('a local address in use: ready() rejects with the address and EADDRINUSE', async () => {
  const p = await peer();
  cleanups.push(() => p.sock.close());
  const nic = new DgramNic({ localPort: p.port });
  cleanups.push(() => nic.close());
  nic.open(new RecordingSink(newPool()));
  await assert.rejects(
    nic.ready(),
    new RegExp(`cannot bind 127\\.0\\.0\\.1:${p.port}: already in use \\(EADDRINUSE\\)`),
  );
  assert.match(String(nic.describe().down), /EADDRINUSE/);
  nic.close();
});

test('empty datagram -> malformed; datagram larger than a slot -> oversize; the port stays usable', async () => {
  const p = await peer();
  cleanups.push(() => p.sock.close());
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localPort: 0 });
  cleanups.push(() => nic.close());
  nic.open(sink);
  await nic.ready();
  p.sock.send(Buffer.alloc(0), nic.boundPort, '127.0.0.1');
  p.sock.send(frameOf(1921, 1), nic.boundPort, '127.0.0.1');
  p.sock.send(frameOf(1920, 2), nic.boundPort, '127.0.0.1');
  await until(() => sink.frames.length === 1, 'the good frame');
  assert.deepEqual(sink.frames[0], frameOf(1920, 2));
  assert.deepEqual(sink.drops, { malformed: 1, oversize: 1 });
  assert.equal(sink.pool.available, 512);
  nic.close();
});

test('transmit ring: frames beyond kTxRing in flight are dropped ring-full; in-flight buffers are not overwritten', async () => {
  const p = await peer();
  cleanups.push(() => p.sock.close());
  const pool = newPool();
  const sink = new RecordingSink(pool);
  const nic = new DgramNic({ localPort: 0, remotePort: p.port });
  cleanups.push(() => nic.close());
  nic.open(sink);
  await nic.ready();

  const frames = Array.from({ length: 400 }, (_, i) => frameOf(60, i));
  const slots = Int32Array.from(frames.map((f) => pool.load(f)));
  // Send callbacks cannot run inside a synchronous call, so back-to-back calls see the ring fill.
  assert.equal(nic.transmit(slots.subarray(0, 200), 200), 200);
  assert.equal(nic.transmit(slots.subarray(200, 400), 200), kTxRing - 200);
  assert.deepEqual(sink.drops, { 'ring-full': 400 - kTxRing });
  assert.equal(nic.describe().inFlight, kTxRing);
  // Overwrite the pool slots now: what is on the wire must be the copies made at transmit time.
  for (const s of slots)
    pool.bytes.fill(0xee, pool.frameStart(s), pool.frameStart(s) + pool.meta32[(s << Meta.shift) + Meta.len]);
  await until(() => p.got.length === kTxRing, `${kTxRing} datagrams at the peer`);
  assert.deepEqual(p.got, frames.slice(0, kTxRing));
  await until(() => nic.describe().inFlight === 0, 'ring drained');
  assert.equal(nic.transmit(slots, 1), 1, 'usable again once drained');
  for (const s of slots) pool.free(s);
  nic.close();
});

test('close: link goes down once, idempotent, transmit returns 0', async () => {
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localPort: 0, remotePort: 9 });
  nic.open(sink);
  await nic.ready();
  nic.close();
  nic.close();
  assert.equal(sink.connects, 1);
  assert.equal(sink.disconnects, 1);
  const slots = Int32Array.of(sink.pool.load(frameOf(60, 1)));
  assert.equal(nic.transmit(slots, 1), 0);
  assert.deepEqual(sink.drops, {});
  await assert.rejects(nic.ready(), /closed/);
});

test('a port already in use: ready() rejects and describe() says why', async () => {
  const p = await peer();
  cleanups.push(() => p.sock.close());
  const sink = new RecordingSink(newPool());
  const nic = new DgramNic({ localPort: p.port });
  nic.open(sink);
  await assert.rejects(nic.ready(), /EADDRINUSE/);
  assert.match(String(nic.describe().lastError), /EADDRINUSE/);
  assert.equal(sink.connects, 0);
  nic.close();
  assert.equal(sink.disconnects, 0);
});

test('qemuDgramNetdevArg mirrors the switch side (QEMU remote = switch local)', () => {
  assert.equal(
    qemuDgramNetdevArg({ localPort: 10001, remotePort: 10002 }, 'n0'),
    'dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=10002,remote.type=inet,remote.host=127.0.0.1,remote.port=10001',
  );
  assert.equal(
    qemuDgramNetdevArg({ localHost: '0.0.0.0', localPort: 10001 }, 'n1'),
    'dgram,id=n1,local.type=inet,local.host=127.0.0.1,local.port=0,remote.type=inet,remote.host=127.0.0.1,remote.port=10001',
  );
  assert.equal(
    qemuDgramNetdevArg({ localHost: '10.1.0.1', localPort: 10001, remoteHost: '10.1.0.2', remotePort: 10002 }, 'n2'),
    'dgram,id=n2,local.type=inet,local.host=10.1.0.2,local.port=10002,remote.type=inet,remote.host=10.1.0.1,remote.port=10001',
  );
  assert.throws(() => new DgramNic({ localPort: 70000 }), /localPort/);
  assert.throws(() => new DgramNic({ localPort: 1, remoteHost: '127.0.0.1' }), /remotePort/);
});
