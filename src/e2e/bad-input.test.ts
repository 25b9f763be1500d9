/**
 * End to end: a misbehaving endpoint and a careless operator against a real `vswitch run` daemon.
 *
 * Design notes: README.md in this folder, section "bad-input.test.ts".
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PortStatus } from '../control/model.js';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long "nothing else arrived" is given after a sentinel or a close: the switch answers in ~1 ms. */
const kQuietMs = 300;
const kWaitMs = 5000;
/** The dgram port's addresses on the switch namespace's own loopback. */
const kSwitchUdp = 40101;
const kPeerUdp = 40102;

const BCAST = 'ff:ff:ff:ff:ff:ff';

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replaceAll(':', ''), 'hex');
}

/** A test MAC 02:00:00:00:<group>:<n> (locally administered unicast): the group tells tests apart. */
function tmac(group: number, n: number): string {
  return `02:00:00:00:${group.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;
}

/**
 * A frame of exactly `len` bytes: dst, src, EtherType (0x88b5, local experimental, unless given), then a
 * counting payload. Frames shorter than 14 bytes are the first `len` bytes of that header.
 */
function frame(len: number, src: string, opts: { dst?: string; type?: number } = {}): Buffer {
  const full = Buffer.alloc(Math.max(len, 14));
  macBytes(opts.dst ?? BCAST).copy(full, 0);
  macBytes(src).copy(full, 6);
  full.writeUInt16BE(opts.type ?? 0x88b5, 12);
  for (let i = 14; i < full.length; i++) full[i] = i & 0xff;
  return Buffer.from(full.subarray(0, len));
}

/** A tagged (0x8100) frame of `len` bytes (< 18 means truncated). */
function taggedFrame(len: number, src: string): Buffer {
  const full = Buffer.alloc(Math.max(len, 18));
  macBytes(BCAST).copy(full, 0);
  macBytes(src).copy(full, 6);
  full.writeUInt16BE(0x8100, 12);
  full.writeUInt16BE(0x0001, 14); // PCP 0, VID 1
  full.writeUInt16BE(0x88b5, 16);
  return Buffer.from(full.subarray(0, len));
}

/** A 42-byte ARP request (what a kernel sends: never padded) from `src` asking for `targetIp`. */
function arpRequest(src: string, senderIp: string, targetIp: string): Buffer {
  const b = Buffer.alloc(42);
  macBytes(BCAST).copy(b, 0);
  macBytes(src).copy(b, 6);
  b.writeUInt16BE(0x0806, 12);
  b.writeUInt16BE(1, 14); // Ethernet
  b.writeUInt16BE(0x0800, 16); // IPv4
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(1, 20); // request
  macBytes(src).copy(b, 22);
  Buffer.from(senderIp.split('.').map(Number)).copy(b, 28);
  Buffer.from(targetIp.split('.').map(Number)).copy(b, 38);
  return b;
}

function srcOf(f: Buffer): string {
  return [...f.subarray(6, 12)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function prefixed(...frames: Buffer[]): Buffer {
  return Buffer.concat(
    frames.flatMap((f) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(f.length);
      return [h, f];
    }),
  );
}

/** A raw client of a stream port, QEMU framing: sends whatever it is told, records frames and the close. */
class RawStream {
  readonly frames: Buffer[] = [];
  private buf = Buffer.alloc(0);
  closedAt = 0;
  readonly closed: Promise<void>;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const n = this.buf.readUInt32BE(0);
        if (this.buf.length < 4 + n) break;
        this.frames.push(Buffer.from(this.buf.subarray(4, 4 + n)));
        this.buf = this.buf.subarray(4 + n);
      }
    });
    sock.on('error', () => {}); // a reset by the switch shows up as 'close'
    this.closed = new Promise((r) =>
      sock.once('close', () => {
        this.closedAt = Date.now();
        r();
      }),
    );
  }

  static connect(path: string): Promise<RawStream> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path }, () => resolve(new RawStream(s)));
      s.once('error', reject);
    });
  }

  send(...frames: Buffer[]): void {
    this.sock.write(prefixed(...frames));
  }

  raw(bytes: Buffer | string): void {
    this.sock.write(bytes);
  }

  /** Wait for a received frame that satisfies `pred` (searching from index `from`); returns its index. */
  async waitFor(pred: (f: Buffer) => boolean, from = 0, ms = kWaitMs): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const i = this.frames.findIndex((f, k) => k >= from && pred(f));
      if (i >= 0) return i;
      if (Date.now() - t0 > ms) throw new Error(`frame not received in ${ms} ms; got ${this.frames.length} frames`);
      await sleep(20);
    }
  }

  /** Resolves true if the switch closed the connection within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }

  end(): void {
    this.sock.destroy();
  }
}

/**
 * A raw dgram endpoint. It must live in the switch's namespace (the port binds that loopback), so it is a
 * small Node child there, driven over stdin ("send HEX" -> one datagram, empty HEX = 0 bytes) and
 * reporting on stdout ("recv HEX" per datagram received).
 */
const kUdpPeerScript = `
const s = require('node:dgram').createSocket('udp4');
const [lp, rp] = process.argv.slice(1).map(Number);
s.on('message', (m) => process.stdout.write('recv ' + m.toString('hex') + '\\n'));
s.bind(lp, '127.0.0.1', () => process.stdout.write('ready\\n'));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const hex = l.slice(5).trim();
  s.send(Buffer.from(hex, 'hex'), rp, '127.0.0.1', (e) => { if (e) process.stderr.write(e.message + '\\n'); });
});
`;

class UdpPeer {
  readonly frames: Buffer[] = [];
  private out = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        if (line.startsWith('recv ')) this.frames.push(Buffer.from(line.slice(5), 'hex'));
        if (line === 'ready') this.ready = true;
      }
    });
  }
  private ready = false;

  static async start(lab: SwitchLab): Promise<UdpPeer> {
    const child = lab.lab.spawn(
      lab.swNs,
      [process.execPath, '-e', kUdpPeerScript, String(kPeerUdp), String(kSwitchUdp)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const p = new UdpPeer(child);
    const t0 = Date.now();
    while (!p.ready) {
      if (child.exitCode !== null) throw new Error('udp peer exited');
      if (Date.now() - t0 > kWaitMs) throw new Error('udp peer did not bind');
      await sleep(20);
    }
    return p;
  }

  send(...frames: Buffer[]): void {
    for (const f of frames) this.child.stdin!.write(`send ${f.toString('hex')}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    process.kill(this.child.pid!, 'SIGTERM');
    await gone;
  }
}

describe('bad input from endpoints and operators', { skip }, () => {
  const lab = new SwitchLab();
  const dir = skip ? '' : mkdtempSync(join(tmpdir(), 'vswitch-bad-'));
  const pathA = join(dir, 'sa.sock');
  const pathB = join(dir, 'sb.sock');
  const clients: RawStream[] = [];
  let udp: UdpPeer | null = null;

  before(async () => {
    await lab.start({
      hosts: 2,
      extraPorts: [
        { name: 'sa', nic: { type: 'stream', mode: 'listen', path: pathA } },
        { name: 'sb', nic: { type: 'stream', mode: 'listen', path: pathB } },
        {
          name: 'dg',
          nic: {
            type: 'dgram',
            localHost: '127.0.0.1',
            localPort: kSwitchUdp,
            remoteHost: '127.0.0.1',
            remotePort: kPeerUdp,
          },
        },
      ],
    });
    udp = await UdpPeer.start(lab);
  });
  after(async () => {
    try {
      for (const c of clients) c.end();
      await udp?.stop();
      await lab.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  async function port(name: string): Promise<PortStatus> {
    const ports: PortStatus[] = await lab.daemon.json('port', 'list', 's1');
    const p = ports.find((x) => x.name === name);
    assert.ok(p, `port ${name} listed`);
    return p;
  }

  /** Connect a raw client to a stream port and wait until the switch has attached it (link up, new connect). */
  async function attach(name: string, path: string): Promise<RawStream> {
    const before = Number((await port(name)).detail.connects ?? 0);
    const c = await RawStream.connect(path);
    clients.push(c);
    const t0 = Date.now();
    for (;;) {
      const p = await port(name);
      if (p.link === 'up' && Number(p.detail.connects) > before) return c;
      if (Date.now() - t0 > kWaitMs) throw new Error(`port ${name} did not attach the client: ${JSON.stringify(p)}`);
      await sleep(20);
    }
  }

  /** The client leaves and the switch has noticed (link down): the port accepts the next one. */
  async function leave(c: RawStream, name: string): Promise<void> {
    c.end();
    await c.closed;
    const t0 = Date.now();
    while ((await port(name)).link !== 'down') {
      if (Date.now() - t0 > kWaitMs) assert.fail(`${name} link did not go down after its client left`);
      await sleep(20);
    }
  }

  async function drops(name: string): Promise<Record<string, number>> {
    return (await lab.counters()).ports[name].drops;
  }

  function dropDelta(before: Record<string, number>, afterD: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(afterD)])) {
      const d = (afterD[k] ?? 0) - (before[k] ?? 0);
      if (d !== 0) out[k] = d;
    }
    return out;
  }

  let a: RawStream;
  let b: RawStream;

  test('frames of 14..59 bytes are forwarded unpadded: stream -> stream, stream -> TAP, TAP -> stream, dgram <-> stream', async () => {
    a = await attach('sa', pathA);
    b = await attach('sb', pathB);
    const [h1] = lab.hosts;

    // stream -> stream: every length from 14 to 60, byte for byte
    const sent = [14, 15, 17, 18, 20, 41, 42, 59, 60].map((n) => frame(n, tmac(1, n)));
    const from = b.frames.length;
    a.send(...sent);
    for (const f of sent) {
      const i = await b.waitFor((g) => srcOf(g) === srcOf(f), from);
      assert.equal(b.frames[i].length, f.length, `a ${f.length}-byte frame arrives as ${b.frames[i].length} bytes`);
      assert.ok(b.frames[i].equals(f), `a ${f.length}-byte frame arrives unchanged`);
    }

    // stream -> TAP (and the second stream client and the dgram peer): a 42-byte ARP stays 42 bytes
    const arp = arpRequest(tmac(2, 1), '10.77.0.77', '10.77.0.250');
    const cap = await lab.capture(h1, `arp and ether src ${tmac(2, 1)}`, { count: 1, timeoutMs: kWaitMs });
    const fromB = b.frames.length;
    const fromU = udp!.frames.length;
    a.send(arp);
    const line = await cap.done;
    assert.match(
      line,
      new RegExp(
        `${tmac(2, 1)} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 42: Request who-has 10\\.77\\.0\\.250`,
      ),
      line,
    );
    const ib = await b.waitFor((g) => srcOf(g) === tmac(2, 1), fromB);
    assert.ok(b.frames[ib].equals(arp), `stream client got ${b.frames[ib].length} bytes`);
    const t0 = Date.now();
    while (!udp!.frames.slice(fromU).some((g) => srcOf(g) === tmac(2, 1)) && Date.now() - t0 < kWaitMs) await sleep(20);
    const ud = udp!.frames.slice(fromU).find((g) => srcOf(g) === tmac(2, 1));
    assert.ok(ud?.equals(arp), `dgram peer got ${ud?.length} bytes`);

    // TAP -> stream: the kernel's own ARP request (42 bytes, never padded) reaches a stream client as 42
    const fromK = b.frames.length;
    await lab.ping(h1, '10.77.0.251', { count: 1, wait: 1 });
    const ik = await b.waitFor((g) => srcOf(g) === h1.mac && g.readUInt16BE(12) === 0x0806, fromK);
    assert.equal(b.frames[ik].length, 42);

    // dgram -> stream: one datagram of 42 bytes arrives as 42 bytes
    const darp = arpRequest(tmac(2, 2), '10.77.0.78', '10.77.0.250');
    const fromD = b.frames.length;
    udp!.send(darp);
    const id = await b.waitFor((g) => srcOf(g) === tmac(2, 2), fromD);
    assert.ok(b.frames[id].equals(darp));

    const c = await lab.counters();
    for (const p of ['sa', 'sb', 'dg', 'p1', 'p2']) {
      assert.equal(c.ports[p].drops.malformed ?? 0, 0, `${p}: no short-but-whole frame counted malformed`);
    }
  });

  test('frames shorter than 14 bytes and 0-length frames: malformed on the ingress port, nothing delivered (stream and dgram)', async () => {
    const [h1] = lab.hosts;
    const saBefore = await drops('sa');
    const dgBefore = await drops('dg');
    const cap = await lab.capture(h1, 'ether[6:4] = 0x02000000 and ether[10] = 3', { timeoutMs: kWaitMs * 2 });
    const fromB = b.frames.length;
    const fromU = udp!.frames.length;
    // via stream: 0, 1, 6 and 13 bytes, then a valid sentinel on the same connection (the stream stays in step)
    const shorts = [1, 6, 13].map((n) => frame(n, tmac(3, n)));
    a.send(Buffer.alloc(0), ...shorts, frame(14, tmac(3, 0xee)));
    // via dgram: 0 and 13 bytes, then a sentinel
    udp!.send(Buffer.alloc(0), frame(13, tmac(3, 0x13)), frame(14, tmac(3, 0xef)));
    await b.waitFor((g) => srcOf(g) === tmac(3, 0xee), fromB);
    await b.waitFor((g) => srcOf(g) === tmac(3, 0xef), fromB);
    await sleep(kQuietMs);
    const seenH1 = (await cap.stop()).split('\n').filter((l) => /^\d\d:\d\d:/.test(l)); // packet lines, not hex dumps
    assert.deepEqual(
      seenH1.map((l) => l.split(' ')[1]).sort(),
      [tmac(3, 0xee), tmac(3, 0xef)],
      `the TAP host saw only the sentinels:\n${seenH1.join('\n')}`,
    );
    const gotB = b.frames.slice(fromB);
    assert.deepEqual(
      gotB.filter((g) => g.length < 14).map((g) => g.toString('hex')),
      [],
      'no short frame reached the stream client',
    );
    assert.deepEqual(
      gotB
        .filter((g) => srcOf(g).startsWith('02:00:00:00:03:'))
        .map(srcOf)
        .sort(),
      [tmac(3, 0xee), tmac(3, 0xef)],
      'only the sentinels were delivered',
    );
    const gotU = udp!.frames.slice(fromU);
    assert.deepEqual(
      gotU.filter((g) => g.length < 14).map((g) => g.toString('hex')),
      [],
      'no short frame reached the dgram peer',
    );
    assert.deepEqual(dropDelta(saBefore, await drops('sa')), { malformed: 4 }, 'stream: 0, 1, 6 and 13 bytes');
    assert.deepEqual(dropDelta(dgBefore, await drops('dg')), { malformed: 2 }, 'dgram: 0 and 13 bytes');
    assert.equal(a.closedAt, 0, 'short frames are not a framing error: the connection stays');
  });

  test('a tagged frame shorter than 18 bytes is truncated-vlan, not delivered', async () => {
    const saBefore = await drops('sa');
    const dgBefore = await drops('dg');
    const fromB = b.frames.length;
    a.send(...[14, 15, 16, 17].map((n) => taggedFrame(n, tmac(4, n))), frame(20, tmac(4, 0xee)));
    udp!.send(taggedFrame(17, tmac(4, 0x17)), frame(20, tmac(4, 0xef)));
    await b.waitFor((g) => srcOf(g) === tmac(4, 0xee), fromB);
    await b.waitFor((g) => srcOf(g) === tmac(4, 0xef), fromB);
    await sleep(kQuietMs);
    assert.deepEqual(
      b.frames
        .slice(fromB)
        .filter((g) => srcOf(g).startsWith('02:00:00:00:04:'))
        .map(srcOf)
        .sort(),
      [tmac(4, 0xee), tmac(4, 0xef)],
      'only the sentinels were delivered',
    );
    assert.deepEqual(dropDelta(saBefore, await drops('sa')), { 'truncated-vlan': 4 });
    assert.deepEqual(dropDelta(dgBefore, await drops('dg')), { 'truncated-vlan': 1 });
  });

  test('a frame longer than the egress MTU + 14 is mtu-exceeded on that port only (flood and known unicast)', async () => {
    const [, h2] = lab.hosts;
    const set = await lab.daemon.cli('port', 'mtu', 's1', 'sb', '1000');
    assert.equal(set.code, 0, set.stderr);
    try {
      assert.equal((await port('sb')).mtu, 1000);
      const sbBefore = await drops('sb');
      const p2Before = await drops('p2');
      const cap = await lab.capture(h2, `ether src ${tmac(5, 1)}`, { count: 3, timeoutMs: kWaitMs });
      const fromB = b.frames.length;
      // flooded: 1014 bytes (payload = MTU) passes; 1015 and 1100 do not fit sb
      a.send(frame(1014, tmac(5, 1)), frame(1015, tmac(5, 1)), frame(1100, tmac(5, 1)), frame(60, tmac(5, 0xee)));
      const lengths = [...(await cap.done).matchAll(/^\S+ \S+ > \S+, ethertype .*?, length (\d+):/gm)].map((m) => m[1]);
      assert.deepEqual(lengths, ['1014', '1015', '1100'], 'p2 (MTU 1500) gets all three');
      await b.waitFor((g) => srcOf(g) === tmac(5, 0xee), fromB);
      await sleep(kQuietMs);
      assert.deepEqual(
        b.frames
          .slice(fromB)
          .filter((g) => srcOf(g) === tmac(5, 1))
          .map((g) => g.length),
        [1014],
        'sb (MTU 1000) gets only the 1014-byte one',
      );

      // known unicast: sb's client speaks, so its MAC is learned on sb; a 1100-byte frame to it stops there
      b.send(frame(60, tmac(5, 0xbb)));
      const t0 = Date.now();
      for (;;) {
        const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
        if (fdb.some((e) => e.mac === tmac(5, 0xbb) && e.port === 'sb')) break;
        if (Date.now() - t0 > kWaitMs) assert.fail('sb client MAC not learned');
        await sleep(20);
      }
      const cap2 = await lab.capture(h2, `ether src ${tmac(5, 2)}`, { timeoutMs: kWaitMs });
      const fromB2 = b.frames.length;
      a.send(frame(1100, tmac(5, 2), { dst: tmac(5, 0xbb) }), frame(1014, tmac(5, 2), { dst: tmac(5, 0xbb) }));
      await b.waitFor((g) => srcOf(g) === tmac(5, 2), fromB2);
      await sleep(kQuietMs);
      assert.deepEqual(
        b.frames
          .slice(fromB2)
          .filter((g) => srcOf(g) === tmac(5, 2))
          .map((g) => g.length),
        [1014],
      );
      assert.equal(
        (await cap2.stop()).trim(),
        '',
        'known unicast to sb is not flooded to p2 when it is too big for sb',
      );
      assert.deepEqual(dropDelta(sbBefore, await drops('sb')), { 'mtu-exceeded': 3 }, 'two flooded + one unicast');
      assert.deepEqual(dropDelta(p2Before, await drops('p2')), {}, 'nothing dropped toward the MTU 1500 port');
    } finally {
      await lab.daemon.cli('port', 'mtu', 's1', 'sb', '1500');
    }
  });

  test('garbage and impossible length prefixes are framing-error: the switch closes that connection; the next client works', async () => {
    const events0: unknown[] = await lab.daemon.json('events');
    // HTTP on a QEMU socket: 'GET ' read as a length is 1195725856
    const saBefore = await drops('sa');
    // one client at a time (as QEMU's server): the first leaves before the next is accepted
    await leave(a, 'sa');
    const http = await attach('sa', pathA);
    http.raw('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await http.closesWithin(2000), true, 'the switch closed the HTTP connection');
    assert.deepEqual(dropDelta(saBefore, await drops('sa')), { 'framing-error': 1 });
    const t0 = Date.now();
    while ((await port('sa')).link !== 'down') {
      if (Date.now() - t0 > kWaitMs) assert.fail('sa link did not go down after the close');
      await sleep(20);
    }

    // a new client on the same port works
    const c2 = await attach('sa', pathA);
    let fromB = b.frames.length;
    c2.send(arpRequest(tmac(6, 1), '10.77.0.79', '10.77.0.250'));
    await b.waitFor((g) => srcOf(g) === tmac(6, 1), fromB);

    // a length of 69633 (one over QEMU's NET_BUFSIZE), sent after a good frame in the same write
    const before2 = await drops('sa');
    const big = Buffer.alloc(4);
    big.writeUInt32BE(69633);
    fromB = b.frames.length;
    c2.raw(Buffer.concat([prefixed(frame(60, tmac(6, 2))), big, Buffer.alloc(64)]));
    assert.equal(await c2.closesWithin(2000), true, 'the switch closed the connection at length 69633');
    await b.waitFor((g) => srcOf(g) === tmac(6, 2), fromB); // the frame before the bad prefix still went through
    assert.deepEqual(dropDelta(before2, await drops('sa')), { 'framing-error': 1 });

    // 69632 is a length QEMU can send: too big for a switch buffer, skipped, the connection stays in step
    const c3 = await attach('sa', pathA);
    const before3 = await drops('sa');
    const huge = frame(69632, tmac(6, 3));
    fromB = b.frames.length;
    c3.send(huge, frame(60, tmac(6, 4)));
    await b.waitFor((g) => srcOf(g) === tmac(6, 4), fromB);
    assert.equal(
      b.frames.slice(fromB).some((g) => srcOf(g) === tmac(6, 3)),
      false,
    );
    assert.equal(await c3.closesWithin(kQuietMs), false, 'oversize is not fatal');
    assert.deepEqual(dropDelta(before3, await drops('sa')), { oversize: 1 });

    // a client that dies in the middle of a frame: the partial frame is malformed, never delivered
    await leave(c3, 'sa');
    const c4 = await attach('sa', pathA);
    const before4 = await drops('sa');
    const part = prefixed(frame(100, tmac(6, 5))).subarray(0, 4 + 50);
    c4.raw(part);
    await sleep(kQuietMs);
    c4.end();
    const t1 = Date.now();
    while ((await port('sa')).link !== 'down') {
      if (Date.now() - t1 > kWaitMs) assert.fail('sa link did not go down after the client left');
      await sleep(20);
    }
    assert.deepEqual(dropDelta(before4, await drops('sa')), { malformed: 1 });
    assert.equal(
      b.frames.some((g) => srcOf(g) === tmac(6, 5)),
      false,
    );

    const events1: Array<{ port: string; link: string; reason: string }> = await lab.daemon.json('events');
    const sa = events1
      .slice(events0.length)
      .filter((e) => e.port === 'sa')
      .map((e) => `${e.link}/${e.reason}`);
    assert.ok(sa.includes('down/nic-disconnected') && sa.includes('up/nic-connected'), sa.join(', '));
  });

  test('afterwards the daemon still answers and the TAP hosts still ping each other', async () => {
    const r = await lab.daemon.cli('switch', 'list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^s1\s/m);
    assert.equal(lab.daemon.proc?.exitCode, null, 'daemon alive');
    const [h1, h2] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0);
    assert.equal(await lab.ping(h2, h1.ip4, { count: 3 }), 0);
    const c = await lab.counters();
    for (const p of ['p1', 'p2'])
      assert.deepEqual(c.ports[p].drops['mtu-exceeded'] ?? 0, 0, `${p} drops: ${JSON.stringify(c.ports[p].drops)}`);
  });

  describe('bad CLI input', () => {
    let config0 = '';
    const x = () => join(dir, 'x.sock');

    before(async () => {
      const r = await lab.daemon.cli('config', 'show');
      assert.equal(r.code, 0, r.stderr);
      config0 = r.stdout;
    });

    async function refused(args: string[], ...mustSay: RegExp[]): Promise<string> {
      const r = await lab.daemon.cli(...args);
      assert.equal(r.code, 2, `vswitch ${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}, stdout: ${r.stdout}`);
      assert.equal(r.stdout, '', 'nothing on stdout');
      for (const re of mustSay) assert.match(r.stderr, re, `vswitch ${args.join(' ')}`);
      const now = await lab.daemon.cli('config', 'show');
      assert.equal(now.stdout, config0, 'running configuration unchanged');
      return r.stderr;
    }

    test('an access VID out of range names the value and the range', async () => {
      await refused(['port', 'vlan', 's1', 'p1', 'access', '5000'], /5000/, /1.*4094/);
    });

    test('a backwards trunk range is refused with the right order', async () => {
      await refused(['port', 'vlan', 's1', 'p1', 'trunk', '30-20'], /30-20/, /low-high/);
    });

    test('a TAP name over 15 bytes is refused', async () => {
      const name = 'abcdefghijklmnopqrst';
      await refused(['port', 'add', 's1', 'x', '--tap', name], new RegExp(name), /15/);
    });

    // The next two are refused by the daemon (HTTP 400), not by the CLI's own checks: they exit 2 as well.
    test('a duplicate port name is refused and nothing is opened', async () => {
      await refused(['port', 'add', 's1', 'p1', '--listen', x()], /p1/, /already/);
      assert.equal(existsSync(x()), false, 'no socket was created for the refused port');
    });

    test("a TAP name the host's namespace already has is refused in words, not as raw ip output; no TAP is left", async () => {
      const h = lab.hosts[0];
      await lab.lab.ip(h.ns, 'link', 'add', 'dupx0', 'type', 'veth', 'peer', 'name', 'dupx1'); // no dummy module here
      try {
        // the TAP is opened inside its namespace, where the kernel refuses the name: the addon says why in words
        await refused(
          ['port', 'add', 's1', 'dx', '--tap', 'dupx0', '--netns', h.ns],
          /dupx0: Invalid argument \(an interface of that name exists but is not a TAP/,
        );
        const left = await lab.lab.exec(lab.swNs, ['ip', 'link', 'show', 'dev', 'dupx0']);
        assert.notEqual(left.code, 0, 'the TAP made for the refused port is gone');
      } finally {
        await lab.lab.ip(h.ns, 'link', 'del', 'dupx0');
      }
    });

    test('an MTU out of range names the value and the range', async () => {
      await refused(['port', 'mtu', 's1', 'p1', '99999'], /99999/, /68 to 9216/);
    });

    test('a change to a port that does not exist is refused', async () => {
      await refused(['port', 'mtu', 's1', 'nope', '1000'], /no port named 'nope'/);
    });

    test('a bad switch name is refused', async () => {
      await refused(['switch', 'add', 'bad name!'], /bad name!/);
    });

    test('a bad MAC in fdb add names the MAC and the format', async () => {
      await refused(
        ['fdb', 'add', 's1', 'zz:zz:zz:zz:zz:zz', '1', 'p1'],
        /zz:zz:zz:zz:zz:zz/,
        /hex pairs like [0-9a-f]{2}(:[0-9a-f]{2}){5}/,
      );
    });

    test('an unknown command points at --help', async () => {
      await refused(['frobnicate', 'now'], /unknown command 'frobnicate now'/, /--help/);
    });

    test('no daemon on --api: a hint to start one (exit 1: not a usage error)', async () => {
      const r = await lab.daemon.cli('--api', '/nonexistent.sock', 'switch', 'list');
      // TestDaemon.cli puts its own --api first; a later --api wins in parseArgs
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no vswitch daemon answers on \/nonexistent\.sock/);
      assert.match(r.stderr, /vswitch run/);
    });
  });
});
