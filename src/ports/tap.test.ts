/**
 * TAP addon and TapNic against the real kernel: a TAP moved into a private namespace, the namespace's
 * own IPv4 stack on the far side (ARP, ping), and the switch side driven through readBatch/writeBatch
 * or a TapNic with a small responder sink. Also the failure and teardown paths that must never crash the
 * process: missing interface, double close, interface deleted under us, worker terminate, process exit,
 * a throw inside the poll callback.
 *
 * Needs root, /dev/net/tun, iproute2 and iputils-ping; skips with the reason otherwise. Every namespace
 * and TAP is removed in `finally` (TAPs here are non-persistent: they vanish with their last fd).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { NetnsLab, netnsSkipReason } from '../testing/netns.js';
import type { NicDropReason, NicSink } from './nic.js';
import { loadTapAddon, tapAddonAvailable, type TapAddon } from './tap-native.js';
import { TapNic } from './tap.js';

const addonFile = fileURLToPath(new URL('../../build/Release/vswitch_tap.node', import.meta.url));
const skip = netnsSkipReason() || (tapAddonAvailable() ? false : 'TAP addon not built: run `npm install`');
const addon: TapAddon | null = skip === false ? loadTapAddon() : null;
const tap = (): TapAddon => addon!;

/** Peer MAC we answer with: locally administered (bit 1 of the first octet), unicast. */
const kPeerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/** Ethernet + ARP for IPv4 over Ethernet: 14 + 28 bytes, unpadded as the kernel sends it. */
const kArpFrameLen = 42;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20); // 20 ms: well under ARP's 1 s retry, cheap on 2 cores
  }
}

function ipBytes(s: string): number[] {
  return s.split('.').map(Number);
}

function macOf(s: string): number[] {
  return s.split(':').map((h) => parseInt(h, 16));
}

async function linkMac(lab: NetnsLab, ns: string, ifname: string): Promise<number[]> {
  const j = JSON.parse(await lab.ip(ns, '-j', 'link', 'show', 'dev', ifname)) as { address: string }[];
  return macOf(j[0].address);
}

/** Internet checksum (RFC 1071) over bytes[start, start+len). */
function inetChecksum(b: Uint8Array, start: number, len: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (b[start + i] << 8) | b[start + i + 1];
  if (len & 1) sum += b[start + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const isArp = (f: Uint8Array) => f.length >= kArpFrameLen && f[12] === 0x08 && f[13] === 0x06;
const isIcmpEcho = (f: Uint8Array) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 1 && f[34] === 8;

/** ARP reply from (peerMac, peerIp) to (dstMac, dstIp), golden layout of RFC 826. */
function arpReply(peerMac: number[], peerIp: number[], dstMac: number[], dstIp: number[]): Uint8Array {
  return Uint8Array.from([
    ...dstMac,
    ...peerMac,
    0x08,
    0x06, // Ethernet: dst, src, EtherType ARP
    0x00,
    0x01,
    0x08,
    0x00,
    6,
    4,
    0x00,
    0x02, // htype Ethernet, ptype IPv4, hlen, plen, op reply
    ...peerMac,
    ...peerIp,
    ...dstMac,
    ...dstIp,
  ]);
}

/** Poll readBatch (no uv_poll) until `match` accepts a frame; returns that frame (copied). */
async function readUntil(fd: number, match: (f: Uint8Array) => boolean, what: string): Promise<Uint8Array> {
  const slotBytes = 2048; // > 1514-byte frames of a 1500 MTU
  const bytes = new Uint8Array(new SharedArrayBuffer(16 * slotBytes)); // SAB-backed, like the pool
  const offsets = Int32Array.from({ length: 16 }, (_, i) => i * slotBytes);
  const lens = new Int32Array(16);
  return waitFor(what, () => {
    const n = tap().readBatch(fd, bytes, offsets, slotBytes, lens, 16);
    assert.ok(n >= 0, `readBatch failed: ${n}`);
    for (let i = 0; i < n; i++) {
      const f = bytes.slice(offsets[i], offsets[i] + lens[i]);
      if (match(f)) return f;
    }
    return null;
  });
}

test('addon: kernel ARP request via readBatch, ARP reply via writeBatch fills the neighbour table', {
  skip,
}, async () => {
  const lab = new NetnsLab();
  let fd = -1;
  try {
    const ns = await lab.addNs('arp');
    const name = lab.ifname('a0');
    const h = tap().open(name, { create: true });
    fd = h.fd;
    assert.equal(h.name, name);
    await lab.moveLink(name, ns); // the fd keeps working after the move
    await lab.ip(ns, 'addr', 'add', '10.77.0.1/24', 'dev', name);
    await lab.ip(ns, 'link', 'set', 'dev', name, 'up');
    const tapMac = await linkMac(lab, ns, name);
    const ping = lab.exec(ns, ['ping', '-n', '-c', '1', '-W', '2', '10.77.0.2']);

    const req = await readUntil(
      fd,
      (f) => isArp(f) && f.slice(38, 42).join('.') === '10.77.0.2',
      'ARP who-has 10.77.0.2',
    );
    assert.equal(req.length, kArpFrameLen);
    assert.deepEqual([...req.slice(0, 6)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'broadcast');
    assert.deepEqual([...req.slice(6, 12)], tapMac, 'source is the TAP');
    assert.deepEqual(
      [...req.slice(12, 22)],
      [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01],
      'ARP request header',
    );
    assert.deepEqual([...req.slice(22, 28)], tapMac, 'sender MAC');
    assert.deepEqual([...req.slice(28, 32)], ipBytes('10.77.0.1'), 'sender IP');
    assert.deepEqual([...req.slice(38, 42)], ipBytes('10.77.0.2'), 'target IP');

    const reply = arpReply(kPeerMac, ipBytes('10.77.0.2'), tapMac, ipBytes('10.77.0.1'));
    const out = new Uint8Array(new SharedArrayBuffer(256));
    out.set(reply, 64); // not at 0: the offset must be honoured
    assert.equal(tap().writeBatch(fd, out, Int32Array.of(64), Int32Array.of(reply.length), 1), 1);

    const echo = await readUntil(fd, isIcmpEcho, 'ICMP echo request after the ARP reply');
    assert.deepEqual([...echo.slice(0, 6)], kPeerMac, 'echo goes to the MAC we announced');
    assert.deepEqual([...echo.slice(30, 34)], ipBytes('10.77.0.2'));
    const neigh = await lab.ip(ns, 'neigh', 'show', '10.77.0.2', 'dev', name);
    assert.match(neigh, /lladdr 02:00:00:00:00:02/);
    assert.doesNotMatch(neigh, /FAILED|INCOMPLETE/);
    assert.notEqual((await ping).code, 0, 'nobody answered the echo in this test');
  } finally {
    if (fd >= 0) tap().close(fd);
    await lab.cleanup();
  }
});

test('addon: argument checks throw before touching the fd; an idle TAP reads 0', { skip }, () => {
  const h = tap().open(new NetnsLab().ifname('g0'), {});
  try {
    const bytes = new Uint8Array(4096);
    const lens = new Int32Array(4);
    assert.throws(() => tap().readBatch(h.fd, bytes, Int32Array.of(4000), 2048, lens, 1), {
      name: 'RangeError',
      message: /offsets\[0\]=4000 \+ capacity 2048 exceeds bytes length 4096/,
    });
    assert.throws(() => tap().readBatch(h.fd, bytes, Int32Array.of(0), 2048, lens, 2), RangeError); // max > offsets
    assert.throws(
      () => tap().readBatch(h.fd, bytes, new Uint32Array(1) as unknown as Int32Array, 2048, lens, 1),
      TypeError,
    );
    assert.throws(() => tap().writeBatch(h.fd, bytes, Int32Array.of(4090), Int32Array.of(60), 1), RangeError);
    assert.equal(tap().readBatch(h.fd, bytes, Int32Array.of(0, 2048), 2048, lens, 2), 0, 'down TAP: EAGAIN at once');
    assert.throws(() => tap().open('x'.repeat(16), {}), /must be 1-15 bytes/);
  } finally {
    tap().close(h.fd);
  }
});

test('addon: create:false on a missing name fails clearly; attach rules for single and multi-queue', {
  skip,
}, async () => {
  const lab = new NetnsLab();
  const missing = lab.ifname('none');
  assert.throws(
    () => tap().open(missing, { create: false }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ENODEV');
      assert.match(err.message, new RegExp(`^open ${missing}: no such interface .*create: false`));
      return true;
    },
  );
  assert.equal(existsSync(`/sys/class/net/${missing}`), false, 'create:false created nothing');
  assert.throws(
    () => new TapNic({ name: missing, create: false }).open(nullSink(new PacketPool({ slots: 64, slotSize: 2048 }))),
    /no such interface/,
  );

  // A single-queue TAP takes one fd: a second attach is refused with a message naming the call.
  const single = lab.ifname('s0');
  const a = tap().open(single, {});
  try {
    assert.throws(
      () => tap().open(single, { create: false }),
      /^Error: TUNSETIFF .*: Device or resource busy \(already attached/,
    );
  } finally {
    tap().close(a.fd);
  }
  // Multi-queue: the second open of the same name is a second queue of the same interface.
  const mq = lab.ifname('m0');
  const q0 = tap().open(mq, { multiQueue: true });
  try {
    const q1 = tap().open(mq, { multiQueue: true, create: false });
    assert.notEqual(q1.fd, q0.fd);
    assert.equal(q1.name, mq);
    tap().close(q1.fd);
  } finally {
    tap().close(q0.fd);
  }
  await waitFor(
    'non-persistent TAPs to vanish on close',
    () => !existsSync(`/sys/class/net/${single}`) && !existsSync(`/sys/class/net/${mq}`),
  );
});

test('addon and TapNic: setCarrier(false) shows NO-CARRIER, true clears it', { skip }, async () => {
  const lab = new NetnsLab();
  const pool = new PacketPool({ slots: 128, slotSize: 2048 });
  const nic = new TapNic({ name: lab.ifname('c0') });
  try {
    const ns = await lab.addNs('car');
    nic.open(nullSink(pool));
    await lab.moveLink(nic.name, ns);
    await lab.ip(ns, 'link', 'set', 'dev', nic.name, 'up');
    const flags = async () => (await lab.ip(ns, 'link', 'show', 'dev', nic.name)).split('\n')[0];
    assert.doesNotMatch(await flags(), /NO-CARRIER/);
    assert.equal(nic.setCarrier(false), true);
    await waitFor('NO-CARRIER', async () => /NO-CARRIER/.test(await flags()));
    assert.equal(tap().setCarrier(nic.fd, true), true);
    await waitFor('carrier back', async () => !/NO-CARRIER/.test(await flags()) && /LOWER_UP/.test(await flags()));
  } finally {
    nic.close();
    await lab.cleanup();
  }
});

test('addon and TapNic: close and unpoll twice are harmless; closing deletes the TAP', { skip }, async () => {
  const lab = new NetnsLab();
  const h = tap().open(lab.ifname('d0'), {});
  const id = tap().poll(h.fd, () => {});
  assert.throws(() => tap().poll(h.fd, () => {}), /already polled/);
  assert.equal(tap().unpoll(id), true);
  assert.equal(tap().unpoll(id), false);
  assert.equal(tap().close(h.fd), true);
  assert.equal(tap().close(h.fd), false, 'second close is a no-op, not a stray close of a reused fd');
  await waitFor('TAP gone after close', () => !existsSync(`/sys/class/net/${h.name}`));

  const pool = new PacketPool({ slots: 128, slotSize: 2048 });
  const sink = new ResponderSink(pool, [0, 0, 0, 0]);
  const nic = new TapNic({ name: lab.ifname('d1') });
  nic.open(sink);
  const name = nic.name;
  assert.ok(existsSync(`/sys/class/net/${name}`));
  assert.deepEqual(nic.describe(), {
    name,
    fd: nic.fd,
    vnetHdr: false,
    multiQueue: false,
    offload: false,
    offloadCaps: 0,
  });
  nic.close();
  nic.close();
  assert.equal(nic.fd, -1);
  assert.deepEqual([sink.connects, sink.disconnects], [1, 1]);
  assert.equal(pool.available, pool.slots, 'refill slots returned to the pool');
  await waitFor('TapNic TAP gone after close', () => !existsSync(`/sys/class/net/${name}`));
});

for (const vnetHdr of [false, true]) {
  test(`TapNic${vnetHdr ? ' with vnet_hdr' : ''}: ping across the TAP answered by a responder sink`, {
    skip,
  }, async () => {
    const lab = new NetnsLab();
    const pool = new PacketPool({ slots: 256, slotSize: 2048 });
    const sink = new ResponderSink(pool, ipBytes('10.78.0.2'));
    const nic = new TapNic({ name: lab.ifname(vnetHdr ? 'v0' : 'p0'), vnetHdr });
    sink.nic = nic;
    try {
      const ns = await lab.addNs(vnetHdr ? 'vnet' : 'ping');
      nic.open(sink);
      assert.equal(nic.describe().vnetHdr, vnetHdr);
      await lab.moveLink(nic.name, ns);
      await lab.ip(ns, 'addr', 'add', '10.78.0.1/24', 'dev', nic.name);
      await lab.ip(ns, 'link', 'set', 'dev', nic.name, 'up');
      const r = await lab.exec(ns, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.2']);
      assert.equal(r.code, 0, `ping failed: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /3 packets transmitted, 3 received/);
      assert.equal(sink.arpLen, kArpFrameLen, 'ARP request delivered at the frame start with its exact length');
      assert.equal(sink.echoes, 3);
      assert.ok(sink.flushes >= 1 && sink.flushes <= sink.received, 'one flush per wake, not per frame');
      assert.deepEqual(sink.drops, {}, 'nothing dropped');
    } finally {
      nic.close();
      await lab.cleanup();
    }
    assert.equal(pool.available, pool.slots, 'no slot leaked');
  });
}

test('TapNic: a frame longer than the slot is counted as oversize, never delivered truncated', { skip }, async () => {
  const lab = new NetnsLab();
  const pool = new PacketPool({ slots: 128, slotSize: 2048 }); // room for 2048 - 128 = 1920 bytes
  const sink = new ResponderSink(pool, ipBytes('10.81.0.2'));
  const nic = new TapNic({ name: lab.ifname('o0') });
  sink.nic = nic;
  try {
    const ns = await lab.addNs('big');
    nic.open(sink);
    await lab.moveLink(nic.name, ns);
    await lab.ip(ns, 'link', 'set', 'dev', nic.name, 'mtu', '3000');
    await lab.ip(ns, 'addr', 'add', '10.81.0.1/24', 'dev', nic.name);
    await lab.ip(ns, 'link', 'set', 'dev', nic.name, 'up');
    // 2500 bytes of payload: one 2542-byte frame, longer than the 1920 a slot holds.
    const r = await lab.exec(ns, ['ping', '-n', '-c', '1', '-W', '1', '-s', '2500', '10.81.0.2']);
    assert.notEqual(r.code, 0);
    assert.equal(sink.echoes, 0, 'the big echo request never reached the sink');
    assert.ok((sink.drops.oversize ?? 0) >= 1, `oversize counted: ${JSON.stringify(sink.drops)}`);
    assert.equal(sink.arpLen, kArpFrameLen, 'small frames on the same TAP still flow');
  } finally {
    nic.close();
    await lab.cleanup();
  }
  assert.equal(pool.available, pool.slots, 'the refused slot was reused, not leaked');
});

test('TapNic: interface deleted under it -> link down, no spin, close still fine', { skip }, async () => {
  const lab = new NetnsLab();
  const pool = new PacketPool({ slots: 128, slotSize: 2048 });
  const sink = new ResponderSink(pool, [0, 0, 0, 0]);
  const nic = new TapNic({ name: lab.ifname('x0') });
  try {
    const ns = await lab.addNs('del');
    nic.open(sink);
    await lab.moveLink(nic.name, ns);
    await lab.ip(ns, 'link', 'del', 'dev', nic.name);
    await waitFor('disconnected()', () => sink.disconnects === 1);
    assert.equal(nic.describe().lastErrno, 77, 'EBADFD: the fd lost its device'); // 77 = EBADFD on Linux
    const cpu = process.cpuUsage();
    await sleep(300);
    const used = process.cpuUsage(cpu);
    // A level-triggered poll left on a dead fd would burn ~300 ms of CPU here; idle is a few ms.
    assert.ok(
      used.user + used.system < 100_000,
      `poll stopped: no busy loop on a dead fd (${used.user + used.system} us CPU)`,
    );
  } finally {
    nic.close();
    await lab.cleanup();
  }
  assert.equal(sink.disconnects, 1, 'close after loss does not report a second link down');
});

test('worker that opens and polls a TAP, then is terminated mid-traffic: process survives, TAP is closed', {
  skip,
}, async () => {
  const lab = new NetnsLab();
  let worker: Worker | null = null;
  try {
    const ns = await lab.addNs('wrk');
    const name = lab.ifname('w0');
    worker = new Worker(workerSource, { eval: true, workerData: { addonFile, name } });
    const messages: { ready?: boolean; wakes?: number }[] = [];
    worker.on('message', (m) => messages.push(m));
    await waitFor('worker ready', () => messages.some((m) => m.ready));
    await lab.moveLink(name, ns);
    await lab.ip(ns, 'addr', 'add', '10.79.0.1/24', 'dev', name);
    await lab.ip(ns, 'link', 'set', 'dev', name, 'up');
    const flood = lab.spawn(ns, ['ping', '-n', '-i', '0.002', '-c', '2000', '10.79.0.2']);
    await waitFor('the worker poll to fire on its own loop', () => messages.some((m) => (m.wakes ?? 0) > 0));
    const exitCode = await worker.terminate();
    worker = null;
    assert.equal(exitCode, 1, 'terminate() reports exit code 1');
    await waitFor(
      'the worker teardown to close the fd (TAP gone)',
      async () => (await lab.exec(ns, ['ip', 'link', 'show', 'dev', name])).code !== 0,
    );
    flood.kill();

    // The same from the worker's own exit path, with the poll still active.
    const w2 = new Worker(workerSource, {
      eval: true,
      workerData: { addonFile, name: lab.ifname('w1'), exitAfterReady: true },
    });
    const code2 = await new Promise<number>((resolve) => w2.once('exit', resolve));
    assert.equal(code2, 7, 'worker ran to process.exit(7) with a live poll');
    await waitFor('second TAP gone', () => !existsSync(`/sys/class/net/${lab.ifname('w1')}`));
  } finally {
    await worker?.terminate();
    await lab.cleanup();
  }
});

test('process exit with a live poll is clean; a throw in onReadable is an uncaught exception', { skip }, async () => {
  const lab = new NetnsLab();
  try {
    const exitChild = await runNode(`
      const t = require(${JSON.stringify(addonFile)});
      const h = t.open(${JSON.stringify(lab.ifname('e0'))}, {});
      t.poll(h.fd, () => {});
      setTimeout(() => process.exit(0), 50);`);
    assert.deepEqual([exitChild.code, exitChild.signal, exitChild.stderr], [0, null, '']);

    const ns = await lab.addNs('thr');
    const name = lab.ifname('t0');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `
      const t = require(${JSON.stringify(addonFile)});
      const h = t.open(${JSON.stringify(name)}, {});
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); process.exit(3); });
      t.poll(h.fd, () => { throw new Error('boom'); });
      console.log('ready');`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    await waitFor('child ready', () => out.includes('ready'));
    await lab.moveLink(name, ns);
    await lab.ip(ns, 'addr', 'add', '10.80.0.1/24', 'dev', name);
    await lab.ip(ns, 'link', 'set', 'dev', name, 'up');
    await lab.exec(ns, ['ping', '-n', '-c', '1', '-W', '1', '10.80.0.2']); // its ARP request wakes the poll
    assert.equal(await exited, 3);
    assert.match(out, /caught boom/);
  } finally {
    await lab.cleanup();
  }
});

/* ---------------------------------------------------------------------------------------------- */

/** Worker body (CommonJS eval): open + poll a TAP, report wakes, optionally exit with a live poll. */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const t = require(workerData.addonFile);
const h = t.open(workerData.name, {});
const bytes = new Uint8Array(new SharedArrayBuffer(16 * 2048));
const offsets = Int32Array.from({ length: 16 }, (_, i) => i * 2048);
const lens = new Int32Array(16);
let wakes = 0;
t.poll(h.fd, () => {
  wakes++;
  while (t.readBatch(h.fd, bytes, offsets, 2048, lens, 16) === 16);
  if ((wakes & 15) === 1) parentPort.postMessage({ wakes });
});
parentPort.postMessage({ ready: true });
if (workerData.exitAfterReady) setTimeout(() => process.exit(7), 20);
`;

function runNode(src: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** A sink that keeps nothing: for tests that only need open()/close(). */
function nullSink(pool: PacketPool): NicSink {
  return new ResponderSink(pool, [0, 0, 0, 0]);
}

/**
 * A one-port "switch": answers ARP for `ip` and ICMP echo to `ip` by rewriting the frame in place and
 * transmitting it back through the NIC at flush(), like the engine's egress would; frees every slot.
 */
class ResponderSink implements NicSink {
  nic: TapNic | null = null;
  connects = 0;
  disconnects = 0;
  received = 0;
  flushes = 0;
  echoes = 0;
  arpLen = 0;
  drops: Partial<Record<NicDropReason, number>> = {};
  private readonly batch = new Int32Array(1024);
  private readonly tx = new Int32Array(1024);
  private n = 0;

  constructor(
    readonly pool: PacketPool,
    private readonly ip: number[],
  ) {}

  alloc(): number {
    return this.pool.alloc();
  }
  receive(slot: number): void {
    this.received++;
    this.batch[this.n++] = slot;
  }
  drop(reason: NicDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
  connected(): void {
    this.connects++;
  }
  disconnected(): void {
    this.disconnects++;
  }
  flush(): void {
    this.flushes++;
    const p = this.pool;
    let t = 0;
    for (let i = 0; i < this.n; i++) {
      const s = this.batch[i];
      const start = p.frameStart(s);
      const f = p.bytes.subarray(start, start + p.meta32[(s << Meta.shift) + Meta.len]);
      if (isArp(f) && f[21] === 1 && f.slice(38, 42).join('.') === this.ip.join('.')) {
        this.arpLen = p.meta32[(s << Meta.shift) + Meta.len];
        f.copyWithin(32, 22, 32); // target := sender (MAC + IP)
        f.copyWithin(0, 6, 12); // Ethernet dst := requester
        f.set(kPeerMac, 6);
        f[21] = 2; // op reply
        f.set(kPeerMac, 22);
        f.set(this.ip, 28);
        this.tx[t++] = s;
      } else if (isIcmpEcho(f) && f.slice(30, 34).join('.') === this.ip.join('.')) {
        this.echoes++;
        f.copyWithin(0, 6, 12);
        f.set(kPeerMac, 6);
        const src = f.slice(26, 30);
        f.copyWithin(26, 30, 34);
        f.set(src, 30); // swapping addresses keeps the IPv4 header checksum valid
        const ihl = (f[14] & 0x0f) * 4;
        const icmp = 14 + ihl;
        const icmpLen = ((f[16] << 8) | f[17]) - ihl;
        f[icmp] = 0; // echo reply
        f[icmp + 2] = f[icmp + 3] = 0;
        const c = inetChecksum(f, icmp, icmpLen);
        f[icmp + 2] = c >>> 8;
        f[icmp + 3] = c & 0xff;
        this.tx[t++] = s;
      }
    }
    if (t > 0 && this.nic) assert.equal(this.nic.transmit(this.tx, t), t);
    for (let i = 0; i < this.n; i++) p.free(this.batch[i]);
    this.n = 0;
  }
}
