/**
 * StreamNic over real sockets: unix and TCP listeners with a real net client, one client at a time, garbage
 * input, backpressure, connect mode against a net.Server that goes away and comes back, and (when
 * qemu-system-x86_64 is installed) QEMU 7.2 itself on the other end in both directions, using the exact
 * `-netdev` strings qemuNetdevArg/qemuDgramNetdevArg print, including a QEMU restart; and (when vde2 is
 * installed) vde_plug through a real vde_switch for the 2-byte VDE framing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { PacketPool } from '../dataplane/pool.js';
import { DgramNic, qemuDgramNetdevArg } from './dgram.js';
import { kMaxPendingBytes, qemuNetdevArg, StreamNic, type StreamNicOptions } from './stream.js';
import { RecordingSink } from '../testing/recording-sink.js';
import { until } from '../testing/until.js';

/** Independent peer-side codec: a plain length-prefixed reader/writer. */
function encode(frames: Uint8Array[], prefix: 2 | 4 = 4): Buffer {
  return Buffer.concat(
    frames.flatMap((f) => {
      const h = Buffer.alloc(prefix);
      if (prefix === 4) h.writeUInt32BE(f.length);
      else h.writeUInt16BE(f.length);
      return [h, Buffer.from(f)];
    }),
  );
}

class FrameReader {
  readonly frames: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  constructor(s: Readable, prefix: 2 | 4 = 4) {
    s.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      for (;;) {
        if (this.buf.length < prefix) break;
        const len = prefix === 4 ? this.buf.readUInt32BE(0) : this.buf.readUInt16BE(0);
        if (this.buf.length < prefix + len) break;
        this.frames.push(Buffer.from(this.buf.subarray(prefix, prefix + len)));
        this.buf = this.buf.subarray(prefix + len);
      }
    });
  }
}

function frameOf(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 255;
  // broadcast destination, locally administered source: QEMU's hub floods it regardless
  if (len >= 14) {
    b.fill(0xff, 0, 6);
    b.set([0x02, 0, 0, 0, 0, seed & 255], 6);
    b.writeUInt16BE(0x88b5, 12); // IEEE 802 local experimental EtherType
  }
  return b;
}

async function connectTo(opts: net.NetConnectOpts): Promise<net.Socket> {
  const s = net.createConnection(opts);
  await once(s, 'connect');
  return s;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-stream-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function newPool(): PacketPool {
  return new PacketPool({ slots: 256, slotSize: 2048 });
}

/** Load frames into pool slots for transmit. */
function slotsOf(pool: PacketPool, frames: Buffer[]): Int32Array {
  return Int32Array.from(frames.map((f) => pool.load(f)));
}

function freeAll(pool: PacketPool, slots: Int32Array): void {
  for (const s of slots) pool.free(s);
}

/** Transmit `frames` as one batch and check that all were taken; the NIC has copied them, so free the slots. */
function sendAll(nic: StreamNic, pool: PacketPool, frames: Buffer[]): void {
  const slots = slotsOf(pool, frames);
  assert.equal(nic.transmit(slots, slots.length), frames.length);
  freeAll(pool, slots);
}

/** A StreamNic opened on a fresh RecordingSink and closed after the file; awaiting ready() is the test's. */
function openNic(opts: StreamNicOptions): { sink: RecordingSink; nic: StreamNic } {
  const sink = new RecordingSink(newPool());
  const nic = new StreamNic(opts);
  cleanups.push(() => nic.close());
  nic.open(sink);
  return { sink, nic };
}

test('listen on unix: frames both ways across chunk splits, removes the socket on close', async () => {
  const p = path.join(tmp, 'a', 'b', 'sw.sock');
  fs.mkdirSync(path.dirname(p), { recursive: true }); // the control plane makes the directory (control/private-dir.ts)
  const { sink, nic } = openNic({ mode: 'listen', path: p });
  await nic.ready();
  assert.ok(fs.lstatSync(p).isSocket());

  const c = await connectTo({ path: p });
  const reader = new FrameReader(c);
  await until(() => sink.connects === 1, 'connected()');
  const frames = [frameOf(60, 1), frameOf(1514, 2), frameOf(13, 3)];
  const wire = encode(frames);
  c.write(wire.subarray(0, 2)); // half a length prefix
  await sleep(20);
  c.write(wire.subarray(2, 70)); // rest of frame 1 plus part of frame 2
  await sleep(20);
  c.write(wire.subarray(70));
  await until(() => sink.frames.length === 3, '3 frames');
  assert.deepEqual(sink.frames, frames);

  const out = [frameOf(64, 4), frameOf(1920, 5)];
  sendAll(nic, sink.pool, out);
  await until(() => reader.frames.length === 2, '2 frames at the client');
  assert.deepEqual(reader.frames, out);

  const d = nic.describe();
  assert.equal(d.mode, 'listen');
  assert.equal(d.path, p);
  assert.equal(d.connected, true);

  c.end();
  await until(() => sink.disconnects === 1, 'disconnected()');
  assert.equal(nic.describe().connected, false);
  assert.equal(nic.transmit(Int32Array.of(), 0), 0);
  nic.close();
  nic.close(); // idempotent
  assert.equal(fs.existsSync(p), false, 'socket file removed');
  assert.deepEqual(sink.drops, {});
});

test('listen on unix: the NIC removes no file it did not bind; a path in use fails ready() with EADDRINUSE', async () => {
  const p = path.join(tmp, 'stale.sock');
  // A listener killed without cleanup leaves its socket file behind: only the control plane may judge it stale.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.ok(fs.lstatSync(p).isSocket(), 'stale socket exists');
  const { nic } = openNic({ mode: 'listen', path: p });
  await assert.rejects(nic.ready(), /cannot listen on .*stale\.sock: already in use \(EADDRINUSE\)/);
  await assert.rejects(nic.ready(), /EADDRINUSE/, 'a later ready() still says why');
  assert.match(String(nic.describe().down), /EADDRINUSE/);
  nic.close();
  assert.ok(fs.lstatSync(p).isSocket(), 'close did not remove a file the NIC never bound');

  const f = path.join(tmp, 'not-a-socket');
  fs.writeFileSync(f, 'precious');
  const { nic: nic2 } = openNic({ mode: 'listen', path: f });
  await assert.rejects(nic2.ready(), /EADDRINUSE/);
  nic2.close();
  assert.equal(fs.readFileSync(f, 'utf8'), 'precious');
});

for (const kind of ['unix', 'tcp'] as const) {
  test(`listen on ${kind}: the connected client keeps the port; a second is closed at once and counted; accepted after the first leaves`, async () => {
    const p = path.join(tmp, 'one-client.sock');
    const { sink, nic } = openNic(kind === 'unix' ? { mode: 'listen', path: p } : { mode: 'listen', port: 0 });
    await nic.ready();
    const where: net.NetConnectOpts = kind === 'unix' ? { path: p } : { host: '127.0.0.1', port: nic.boundPort! };

    const c1 = await connectTo(where);
    const r1 = new FrameReader(c1);
    await until(() => sink.connects === 1, 'first connected()');
    const c2 = await connectTo(where);
    const r2 = new FrameReader(c2);
    await once(c2, 'close'); // the switch closed the newcomer
    c2.write = () => true;
    assert.equal(sink.connects, 1, 'the newcomer never became the peer');
    assert.equal(nic.describe().refused, 1);
    assert.equal(c1.destroyed, false, 'the first client is still connected');

    sendAll(nic, sink.pool, [frameOf(60, 7)]);
    await until(() => r1.frames.length === 1, 'frame at the first client');
    c1.write(encode([frameOf(60, 8)]));
    await until(() => sink.frames.length === 1, 'frame from the first client');
    assert.equal(r2.frames.length, 0);

    c1.end();
    await until(() => sink.disconnects === 1, 'disconnected()');
    const c3 = await connectTo(where);
    await until(() => sink.connects === 2, 'a new client once the first is gone');
    c3.destroy();
    await until(() => sink.disconnects === 2, 'second disconnected()');
    nic.close();
  });
}

test('listen: garbage (an HTTP request) counts framing-error, closes that connection, and the listener accepts again', async () => {
  const p = path.join(tmp, 'garbage.sock');
  const { sink, nic } = openNic({ mode: 'listen', path: p });
  await nic.ready();

  const c1 = await connectTo({ path: p });
  c1.on('error', () => {});
  const closed = once(c1, 'close');
  c1.write(encode([frameOf(60, 1)]));
  c1.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await closed;
  await until(() => sink.disconnects === 1, 'disconnected()');
  assert.deepEqual(sink.drops, { 'framing-error': 1 });
  assert.deepEqual(sink.frames, [frameOf(60, 1)], 'frames before the garbage were delivered');
  assert.equal(nic.describe().framingErrors, 1);

  const c2 = await connectTo({ path: p });
  const r2 = new FrameReader(c2);
  await until(() => sink.connects === 2, 'second connected()');
  c2.write(encode([frameOf(100, 2)]));
  await until(() => sink.frames.length === 2, 'frame after reconnect');
  assert.deepEqual(sink.frames[1], frameOf(100, 2));
  sendAll(nic, sink.pool, [frameOf(60, 3)]);
  await until(() => r2.frames.length === 1, 'frame to the new client');
  c2.destroy();
  nic.close();
});

test('listen on TCP (port 0): frames both ways, describe shows the bound address', async () => {
  const { sink, nic } = openNic({ mode: 'listen', host: '127.0.0.1', port: 0 });
  await nic.ready();
  const port = nic.boundPort!;
  assert.ok(port > 0);
  assert.equal(nic.describe().address, `127.0.0.1:${port}`);

  const c = await connectTo({ host: '127.0.0.1', port });
  const reader = new FrameReader(c);
  await until(() => sink.connects === 1, 'connected()');
  assert.equal(nic.describe().peer, `127.0.0.1:${c.localPort}`);
  const frames = Array.from({ length: 50 }, (_, i) => frameOf(60 + i * 30, i));
  c.write(encode(frames));
  await until(() => sink.frames.length === 50, '50 frames');
  assert.deepEqual(sink.frames, frames);
  sendAll(nic, sink.pool, frames);
  await until(() => reader.frames.length === 50, '50 frames at the client');
  assert.deepEqual(reader.frames, frames);
  c.end();
  await until(() => sink.disconnects === 1, 'disconnected()');
  nic.close();
});

test('listen: a peer that stops reading makes transmit drop ring-full once the backlog passes 4 MiB; nothing is lost below it', async () => {
  const p = path.join(tmp, 'stall.sock');
  const { sink, nic } = openNic({ mode: 'listen', path: p });
  await nic.ready();
  const c = await connectTo({ path: p });
  c.pause();
  await until(() => sink.connects === 1, 'connected()');

  const frames = Array.from({ length: 64 }, (_, i) => frameOf(1920, i));
  const slots = slotsOf(sink.pool, frames);
  let sent = 0;
  let calls = 0;
  for (;;) {
    const n = nic.transmit(slots, 64);
    calls++;
    if (n === 0) break;
    assert.equal(n, 64);
    sent += n;
    assert.ok(calls < 1000, 'backpressure never engaged');
  }
  freeAll(sink.pool, slots);
  assert.deepEqual(sink.drops, { 'ring-full': 64 });
  assert.ok(sent * 1924 > kMaxPendingBytes, `sent ${sent} frames before dropping`);

  const reader = new FrameReader(c);
  c.resume();
  await until(() => reader.frames.length === sent, `all ${sent} queued frames delivered`, 15000);
  assert.deepEqual(reader.frames[sent - 1], frames[63]);
  c.destroy();
  nic.close();
});

test('connect: dials until the server exists, re-connects after the server goes away and comes back, stops on close', async () => {
  const p = path.join(tmp, 'qemu-server.sock');
  const { sink, nic } = openNic({ mode: 'connect', path: p, retryMs: 30 });
  await sleep(100);
  assert.equal(sink.connects, 0);
  assert.match(String(nic.describe().lastError), /ENOENT|ECONNREFUSED/);

  let peers: net.Socket[] = [];
  const startServer = async () => {
    const srv = net.createServer((s) => {
      peers.push(s);
      s.on('error', () => {});
    });
    srv.listen(p);
    await once(srv, 'listening');
    return srv;
  };
  let srv = await startServer();
  await until(() => sink.connects === 1, 'connected()');
  await nic.ready();
  assert.equal(nic.describe().connected, true);
  const reader = new FrameReader(peers[0]);
  peers[0].write(encode([frameOf(60, 1)]));
  await until(() => sink.frames.length === 1, 'frame from the server');
  const slots = slotsOf(sink.pool, [frameOf(60, 2)]);
  assert.equal(nic.transmit(slots, 1), 1);
  await until(() => reader.frames.length === 1, 'frame at the server');

  // The peer (QEMU) goes away...
  srv.close();
  for (const s of peers) s.destroy();
  peers = [];
  await until(() => sink.disconnects === 1, 'disconnected()');
  assert.equal(nic.transmit(slots, 1), 0, 'link down: nothing sent, nothing counted');
  await sleep(150); // several failed dials
  assert.equal(sink.connects, 1);
  // ...and comes back.
  srv = await startServer();
  await until(() => sink.connects === 2, 're-connected()');
  const reader2 = new FrameReader(peers[0]);
  assert.equal(nic.transmit(slots, 1), 1);
  await until(() => reader2.frames.length === 1, 'frame after re-connect');
  assert.deepEqual(reader2.frames[0], frameOf(60, 2));
  freeAll(sink.pool, slots);

  nic.close();
  nic.close();
  assert.equal(sink.disconnects, 2, 'close lowers the link once');
  const before = peers.length;
  for (const s of peers) s.destroy();
  await sleep(150);
  assert.equal(peers.length, before, 'no dial after close');
  assert.deepEqual(sink.drops, {});
  srv.close();
});

test('connect over TCP: garbage from the peer closes the connection (counted) and the switch dials again', async () => {
  const peers: net.Socket[] = [];
  const srv = net.createServer((s) => {
    peers.push(s);
    s.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  const { sink, nic } = openNic({ mode: 'connect', host: '127.0.0.1', port, retryMs: 30 });
  await nic.ready();
  await until(() => peers.length === 1, 'first connection');
  peers[0].write(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
  await until(() => sink.connects === 2 && peers.length === 2, 'second connection');
  assert.deepEqual(sink.drops, { 'framing-error': 1 });
  assert.equal(sink.disconnects, 1);
  peers[1].write(encode([frameOf(60, 5)]));
  await until(() => sink.frames.length === 1, 'frame on the new connection');
  nic.close();
  for (const s of peers) s.destroy();
  srv.close();
});

test('VDE framing (2-byte prefix) over a listener', async () => {
  const p = path.join(tmp, 'vde.sock');
  const { sink, nic } = openNic({ mode: 'listen', path: p, framing: 'vde' });
  await nic.ready();
  const c = await connectTo({ path: p });
  const reader = new FrameReader(c, 2);
  c.write(encode([frameOf(60, 1), frameOf(1000, 2)], 2));
  await until(() => sink.frames.length === 2, '2 frames');
  assert.deepEqual(sink.frames, [frameOf(60, 1), frameOf(1000, 2)]);
  sendAll(nic, sink.pool, [frameOf(70, 3)]);
  await until(() => reader.frames.length === 1, 'frame at the client');
  assert.deepEqual(reader.frames[0], frameOf(70, 3));
  c.destroy();
  nic.close();
});

test('qemuNetdevArg prints the QEMU 7.2 -netdev value for each mode', () => {
  assert.equal(
    qemuNetdevArg({ mode: 'listen', path: '/run/x.sock' }, 'n0'),
    'stream,id=n0,server=off,addr.type=unix,addr.path=/run/x.sock',
  );
  assert.equal(
    qemuNetdevArg({ mode: 'connect', path: '/run/x.sock' }, 'n0'),
    'stream,id=n0,server=on,addr.type=unix,addr.path=/run/x.sock',
  );
  assert.equal(
    qemuNetdevArg({ mode: 'listen', port: 10001 }, 'net1'),
    'stream,id=net1,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=10001',
  );
  assert.equal(
    qemuNetdevArg({ mode: 'listen', host: '0.0.0.0', port: 10001 }, 'n0'),
    'stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=10001',
  );
  assert.equal(
    qemuNetdevArg({ mode: 'connect', host: '10.0.0.5', port: 10002 }, 'n0'),
    'stream,id=n0,server=on,addr.type=inet,addr.host=10.0.0.5,addr.port=10002',
  );
  assert.equal(
    qemuNetdevArg({ mode: 'listen', path: '/run/a,b.sock' }, 'n0'),
    'stream,id=n0,server=off,addr.type=unix,addr.path=/run/a,,b.sock',
  );
  assert.throws(() => qemuNetdevArg({ mode: 'listen', path: '/x', framing: 'vde' }, 'n0'), /vde_plug/);
  assert.throws(() => new StreamNic({ mode: 'listen' }), /exactly one/);
  assert.throws(() => new StreamNic({ mode: 'listen', path: '/x', port: 1 }), /exactly one/);
  assert.throws(() => new StreamNic({ mode: 'connect', port: 0 }), /real port/);
});

// --- QEMU on the other end ---

const qemu = '/usr/bin/qemu-system-x86_64';
const haveQemu = fs.existsSync(qemu);

/**
 * One QEMU process used as a 3-port hub (no guest: `-machine none`): a `server=on` stream the switch
 * dials, a `server=off` stream that dials the switch, and a dgram pair. A frame entering any netdev leaves
 * through the other two, so what our NICs send and receive crosses QEMU's own framing code.
 */
function startQemu(args: string[]): ChildProcess {
  const child = spawn(qemu, ['-machine', 'none', '-display', 'none', '-nodefaults', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) console.error(`qemu exited ${code}: ${err}`);
  });
  return child;
}

async function stopQemu(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, 'exit');
  child.kill('SIGTERM'); // by our own child's pid
  await gone;
}

test('QEMU 7.2 interop: both stream directions and dgram through a QEMU hub, surviving a QEMU restart', {
  skip: !haveQemu && 'qemu-system-x86_64 not installed',
  timeout: 60000,
}, async () => {
  const pool = new PacketPool({ slots: 256, slotSize: 2048 });
  const qemuServerPath = path.join(tmp, 'qemu-listens.sock');
  const switchPath = path.join(tmp, 'switch-listens.sock');
  const dialOpts: StreamNicOptions = { mode: 'connect', path: qemuServerPath, retryMs: 50 };
  const listenOpts: StreamNicOptions = { mode: 'listen', path: switchPath };
  const sDial = new RecordingSink(pool);
  const sListen = new RecordingSink(pool);
  const sUdp = new RecordingSink(pool);
  const dialer = new StreamNic(dialOpts);
  const listener = new StreamNic(listenOpts);
  const udp = new DgramNic({ localPort: 0 });
  cleanups.push(
    () => dialer.close(),
    () => listener.close(),
    () => udp.close(),
  );
  listener.open(sListen);
  udp.open(sUdp);
  await listener.ready();
  await udp.ready();
  const args = [
    '-netdev',
    qemuNetdevArg(dialOpts, 's0'),
    '-netdev',
    qemuNetdevArg(listenOpts, 's1'),
    '-netdev',
    qemuDgramNetdevArg({ localPort: udp.boundPort }, 'd0'),
    '-netdev',
    'hubport,id=h0,hubid=0,netdev=s0',
    '-netdev',
    'hubport,id=h1,hubid=0,netdev=s1',
    '-netdev',
    'hubport,id=h2,hubid=0,netdev=d0',
  ];
  let q = startQemu(args);
  cleanups.push(() => q.kill('SIGKILL'));
  dialer.open(sDial);
  await until(() => sDial.connects === 1 && sListen.connects === 1, 'QEMU connected both ways', 15000);

  const send = (nic: StreamNic | DgramNic, f: Buffer) => {
    const slots = Int32Array.of(pool.load(f));
    const n = nic.transmit(slots, 1);
    pool.free(slots[0]);
    return n;
  };
  // dialer -> QEMU -> listener + dgram
  const f1 = frameOf(60, 1);
  assert.equal(send(dialer, f1), 1);
  await until(() => sListen.frames.length === 1 && sUdp.frames.length === 1, 'f1 through QEMU');
  assert.deepEqual(sListen.frames[0], f1);
  assert.deepEqual(sUdp.frames[0], f1);
  // listener -> QEMU -> dialer + dgram (the largest frame our slots hold)
  const f2 = frameOf(1920, 2);
  assert.equal(send(listener, f2), 1);
  await until(() => sDial.frames.length === 1 && sUdp.frames.length === 2, 'f2 through QEMU');
  assert.deepEqual(sDial.frames[0], f2);
  assert.deepEqual(sUdp.frames[1], f2);
  // dgram (remote learned from QEMU's ephemeral port) -> QEMU -> both streams
  const f3 = frameOf(100, 3);
  assert.equal(send(udp, f3), 1);
  await until(() => sDial.frames.length === 2 && sListen.frames.length === 2, 'f3 through QEMU');
  assert.deepEqual(sDial.frames[1], f3);
  assert.deepEqual(sListen.frames[1], f3);

  // QEMU restarts: the dialer re-connects on its own, QEMU's client dials the listener again.
  await stopQemu(q);
  await until(() => sDial.disconnects === 1 && sListen.disconnects === 1, 'links down');
  q = startQemu(args);
  await until(() => sDial.connects === 2 && sListen.connects === 2, 'QEMU back both ways', 15000);
  const f4 = frameOf(200, 4);
  assert.equal(send(dialer, f4), 1);
  await until(() => sListen.frames.length === 3 && sUdp.frames.length === 3, 'f4 after restart');
  assert.deepEqual(sListen.frames[2], f4);
  assert.deepEqual(sUdp.frames[2], f4);
  const f5 = frameOf(300, 5);
  assert.equal(send(udp, f5), 1, "dgram re-learned QEMU's new port from f4");
  await until(() => sDial.frames.length === 3, 'f5 after restart');
  assert.deepEqual(sDial.frames[2], f5);

  for (const s of [sDial, sListen, sUdp]) assert.deepEqual(s.drops, {});
  await stopQemu(q);
  dialer.close();
  listener.close();
  udp.close();
});

// --- VDE on the other end ---

const haveVde = fs.existsSync('/usr/bin/vde_switch') && fs.existsSync('/usr/bin/vde_plug');

test('VDE interop: vde_plug through a real vde_switch, bridged onto a vde-framed listener', {
  skip: !haveVde && 'vde2 not installed',
  timeout: 30000,
}, async () => {
  const dir = path.join(tmp, 'vde-sw');
  const children: ChildProcess[] = [];
  const kill = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM'); // our own children, by pid
  };
  cleanups.push(kill);
  // vde_switch reads management commands from stdin: keep the pipe open, stop it by pid.
  children.push(
    spawn('vde_switch', ['-s', dir, '-M', path.join(tmp, 'vde-mgmt')], { stdio: ['pipe', 'ignore', 'ignore'] }),
  );
  await until(() => fs.existsSync(path.join(dir, 'ctl')), 'vde_switch control socket');

  const p = path.join(tmp, 'vde-port.sock');
  const { sink, nic } = openNic({ mode: 'listen', path: p, framing: 'vde' });
  await nic.ready();

  // Plug A: vde_switch <-> vde_plug stdio <-> our socket (what `vde_plug = socat - UNIX-CONNECT:p` does).
  const a = spawn('vde_plug', [`vde://${dir}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(a);
  const conn = await connectTo({ path: p });
  conn.on('error', () => {});
  a.stdout.pipe(conn);
  conn.pipe(a.stdin);
  // Plug B: the test's own station on the vde_switch.
  const b = spawn('vde_plug', [`vde://${dir}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(b);
  const atB = new FrameReader(b.stdout, 2);
  await until(() => sink.connects === 1, 'connected()');
  await sleep(200); // both plugs joined the switch

  const fromB = frameOf(60, 0x41);
  b.stdin.write(encode([fromB], 2));
  await until(() => sink.frames.length === 1, 'frame from vde_plug B', 10000);
  assert.deepEqual(sink.frames[0], fromB);

  const toB = frameOf(1000, 0x42);
  sendAll(nic, sink.pool, [toB]);
  await until(() => atB.frames.length === 1, 'frame at vde_plug B', 10000);
  assert.deepEqual(atB.frames[0], toB);
  assert.deepEqual(sink.drops, {});

  conn.destroy();
  nic.close();
  kill();
});
