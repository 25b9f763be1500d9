/**
 * End to end: paths and sockets are not a way in, and no path can hang the switch (docs/reliability.md).
 * A real `vswitch run` daemon (no namespace needed: unix sockets and loopback addresses only), driven by
 * the real CLI and by raw clients:
 *   - a `--listen` path under /proc, or an `api` path there, is refused at once with the reason; the switch
 *     keeps forwarding and SIGTERM still ends it within 3 s;
 *   - the runtime directory is created 0700 and the API socket 0600 under umask 000; a runtime directory
 *     owned by someone else, or writable by others, is refused naming the path, the owner and the fix;
 *   - a listen port keeps its client: a second one is closed at once and counted; a dgram port takes
 *     datagrams only from its configured remote (others: `foreign-source`);
 *   - endpoint failures fail `port add` (EADDRINUSE on UDP and TCP) and leave no port behind; a missing
 *     `--connect` path is accepted, down, with its reason in `port list`;
 *   - duplicate endpoints are refused (config start and port add) naming both ports; IPv6 endpoints work.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PortStatus } from '../control/model.js';
import { cliPath, TestDaemon, type CliResult } from '../testing/daemon.js';
import { until } from '../testing/until.js';

/** A refusal comes back in milliseconds; 10 s means "hung" even on a loaded machine. */
const kCliTimeoutMs = 10_000;
/** The shutdown budget: README promises 2 s from SIGTERM to exit; 3 s leaves room for a loaded machine. */
const kSigtermMs = 3000;

/** The CLI against `d`, killed after kCliTimeoutMs (code 'timeout'): a hang must fail the test, not stall it. */
function cli(d: TestDaemon, ...args: string[]): Promise<CliResult & { timedOut: boolean }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [cliPath, '--api', d.api, ...args],
      { timeout: kCliTimeoutMs },
      (err, stdout, stderr) => {
        const e = err as { code?: number; killed?: boolean } | null;
        res({ code: e ? (e.code ?? 1) : 0, stdout, stderr, timedOut: e?.killed === true });
      },
    );
  });
}

/** A 60-byte broadcast frame from 02:00:00:00:00:<n>, EtherType 0x88b5 (local experimental). */
function frame(n: number): Buffer {
  const b = Buffer.alloc(60);
  b.fill(0xff, 0, 6);
  b.set([2, 0, 0, 0, 0, n], 6);
  b.writeUInt16BE(0x88b5, 12);
  return b;
}

/** A QEMU-framed stream client (4-byte length prefix) over unix or TCP, recording frames and its close. */
class Client {
  readonly frames: Buffer[] = [];
  private buf = Buffer.alloc(0);
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const n = this.buf.readUInt32BE(0);
        this.frames.push(Buffer.from(this.buf.subarray(4, 4 + n)));
        this.buf = this.buf.subarray(4 + n);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => (this.closed = true));
  }
  static async connect(opts: net.NetConnectOpts): Promise<Client> {
    const s = net.createConnection(opts);
    await once(s, 'connect');
    return new Client(s);
  }
  send(f: Buffer): void {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(f.length);
    this.sock.write(Buffer.concat([h, f]));
  }
  has(n: number): boolean {
    return this.frames.some((f) => f[11] === n && f[6] === 2);
  }
  end(): void {
    this.sock.destroy();
  }
}

async function ports(d: TestDaemon, sw = 's'): Promise<PortStatus[]> {
  return d.json('port', 'list', sw);
}

async function portOf(d: TestDaemon, name: string): Promise<PortStatus | undefined> {
  return (await ports(d)).find((p) => p.name === name);
}

/** Wait until port `name` is up (or down) as the daemon reports it. */
async function linkIs(d: TestDaemon, name: string, link: 'up' | 'down'): Promise<void> {
  const t0 = Date.now();
  while ((await portOf(d, name))?.link !== link) {
    if (Date.now() - t0 > 5000) assert.fail(`port ${name} did not go ${link}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A daemon process with its own env and umask: resolves with its exit code and output, or 'running' once it serves. */
async function runDaemon(
  args: string[],
  env: NodeJS.ProcessEnv,
  umask?: number,
): Promise<{ state: 'exited' | 'running'; code: number | null; log: string; stop: () => Promise<number | null> }> {
  const old = umask === undefined ? undefined : process.umask(umask);
  const p = spawn(process.execPath, [cliPath, 'run', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (old !== undefined) process.umask(old);
  let log = '';
  p.stdout.on('data', (x: Buffer) => (log += x.toString()));
  p.stderr.on('data', (x: Buffer) => (log += x.toString()));
  const exited = once(p, 'exit');
  /** SIGTERM by PID; SIGKILL if it is still there after 5 s (a daemon stuck in a loop ignores SIGTERM). */
  const stop = async (): Promise<number | null> => {
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    return p.exitCode;
  };
  try {
    await until(() => p.exitCode !== null || log.includes('management API on'), 'the daemon to start or exit', 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${log}`);
  }
  return { state: p.exitCode !== null ? 'exited' : 'running', code: p.exitCode, log, stop };
}

describe('sockets and paths', () => {
  const d = new TestDaemon();
  const pathA = d.path('a.sock');
  const pathB = d.path('b.sock');
  let a: Client;
  let b: Client;

  before(async () => {
    await d.start({
      switches: [
        {
          name: 's',
          workers: 1,
          ports: [
            { name: 'a', nic: { type: 'stream', mode: 'listen', path: pathA } },
            { name: 'b', nic: { type: 'stream', mode: 'listen', path: pathB } },
          ],
        },
      ],
    });
    a = await Client.connect({ path: pathA });
    b = await Client.connect({ path: pathB });
    await linkIs(d, 'a', 'up');
    await linkIs(d, 'b', 'up');
  });
  after(async () => {
    a?.end();
    b?.end();
    await d.cleanup();
  });

  /** a -> b forwarding still works: frame n sent on a arrives on b. */
  async function forwards(n: number): Promise<void> {
    a.send(frame(n));
    await until(() => b.has(n), `frame ${n} from a at b`);
  }

  test('a --listen path under /proc is refused at once with the reason; forwarding goes on', async () => {
    const r1 = await cli(d, 'port', 'add', 's', 'p1', '--listen', '/proc/vswitch-nonexistent/x.sock');
    assert.equal(r1.timedOut, false, 'port add under a missing /proc directory hung');
    assert.equal(r1.code, 2, r1.stderr);
    assert.match(r1.stderr, /cannot create directory \/proc\/vswitch-nonexistent: ENOENT/);
    const r2 = await cli(d, 'port', 'add', 's', 'p2', '--listen', '/proc/vswitch-x.sock');
    assert.equal(r2.timedOut, false, 'port add on /proc hung');
    assert.equal(r2.code, 2, r2.stderr);
    assert.match(r2.stderr, /cannot listen on \/proc\/vswitch-x\.sock: .*EACCES/);
    assert.deepEqual(
      (await ports(d)).map((p) => p.name),
      ['a', 'b'],
      'nothing half-created',
    );
    await forwards(1);
  });

  test('an API path under /proc: the daemon refuses to start, at once, saying why', async () => {
    const cfg = join(d.dir, 'empty.json');
    writeFileSync(cfg, JSON.stringify({ switches: [] }));
    const r = await runDaemon(['--config', cfg, '--api', '/proc/vswitch-nonexistent/api.sock'], process.env);
    await r.stop();
    assert.equal(r.state, 'exited', r.log);
    assert.notEqual(r.code, 0);
    assert.match(r.log, /cannot create directory \/proc\/vswitch-nonexistent/);
  });

  test('a config with two ports on one listen path, or one UDP address, does not start; the error names both', async () => {
    const cfg = join(d.dir, 'dup.json');
    const sock = d.path('dup.sock');
    for (const [ports, re] of [
      [
        [
          { name: 'p', nic: { type: 'stream', mode: 'listen', path: sock } },
          { name: 'q', nic: { type: 'stream', mode: 'listen', path: sock } },
        ],
        /config\.switches\[0\]\.ports\[1\]\.nic\.path: listen path .*dup\.sock is already the endpoint of port 'p' \(config\.switches\[0\]\.ports\[0\]\.nic\.path\)/,
      ],
      [
        [
          { name: 'p', nic: { type: 'dgram', localPort: 40999 } },
          { name: 'q', nic: { type: 'dgram', localHost: '0.0.0.0', localPort: 40999 } },
        ],
        /ports\[1\]\.nic\.localPort: UDP local address 0\.0\.0\.0:40999 is already the endpoint of port 'p'/,
      ],
    ] as const) {
      writeFileSync(cfg, JSON.stringify({ api: d.path('dup-api.sock'), switches: [{ name: 'x', workers: 1, ports }] }));
      const r = await runDaemon(['--config', cfg], process.env);
      await r.stop();
      assert.equal(r.state, 'exited', r.log);
      assert.match(r.log, re);
    }
  });

  test('a TCP listen port keeps its client: a second is closed at once and counted; the next is accepted after the first leaves', async () => {
    const add = await cli(d, 'port', 'add', 's', 't', '--listen', '127.0.0.1:0');
    assert.equal(add.code, 0, add.stderr);
    const addr = String((await portOf(d, 't'))!.detail.address);
    const port = Number(addr.split(':').pop());
    const c1 = await Client.connect({ host: '127.0.0.1', port });
    await linkIs(d, 't', 'up');
    const c2 = await Client.connect({ host: '127.0.0.1', port });
    await until(() => c2.closed, 'the second client closed by the switch');
    assert.equal(c1.closed, false, 'the first client keeps the port');
    assert.equal((await portOf(d, 't'))!.detail.refused, 1);
    c1.send(frame(2));
    await until(() => b.has(2), 'a frame from the first client at b');
    c1.end();
    await linkIs(d, 't', 'down');
    const c3 = await Client.connect({ host: '127.0.0.1', port });
    await linkIs(d, 't', 'up');
    assert.equal(c3.closed, false);
    c3.end();
    await cli(d, 'port', 'rm', 's', 't');
  });

  test('a dgram port takes datagrams only from its configured remote; others are dropped as foreign-source', async () => {
    const peer = dgram.createSocket('udp4');
    const stranger = dgram.createSocket('udp4');
    peer.bind(0, '127.0.0.1');
    stranger.bind(0, '127.0.0.1');
    await Promise.all([once(peer, 'listening'), once(stranger, 'listening')]);
    try {
      // a configured local port (free a moment ago), so the duplicate below is judged from the config alone
      const probe = dgram.createSocket('udp4');
      probe.bind(0, '127.0.0.1');
      await once(probe, 'listening');
      const local = probe.address().port;
      probe.close();
      const add = await cli(
        d,
        'port',
        'add',
        's',
        'u',
        '--dgram',
        `127.0.0.1:${local}:127.0.0.1:${peer.address().port}`,
      );
      assert.equal(add.code, 0, add.stderr);
      stranger.send(frame(3), local, '127.0.0.1');
      peer.send(frame(4), local, '127.0.0.1');
      await until(() => b.has(4), "the configured remote's frame at b");
      const c = await d.json('counters', 's');
      assert.equal(c.ports.u.drops['foreign-source'], 1, JSON.stringify(c.ports.u));
      assert.equal(b.has(3), false, "the stranger's frame was not forwarded");
      // a second port on the same UDP address is refused before anything is opened, naming the first
      const dup = await cli(d, 'port', 'add', 's', 'u2', '--dgram', `127.0.0.1:${local}`);
      assert.equal(dup.code, 2);
      assert.match(
        dup.stderr,
        new RegExp(`UDP local address 127\\.0\\.0\\.1:${local} is already the endpoint of port s/u`),
      );
    } finally {
      peer.close();
      stranger.close();
      await cli(d, 'port', 'rm', 's', 'u');
    }
  });

  test('EADDRINUSE on UDP and on TCP fails port add with the address; no port is left behind', async () => {
    const udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    const tcp = net.createServer().listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    try {
      const up = udp.address().port;
      const tp = (tcp.address() as net.AddressInfo).port;
      const r1 = await cli(d, 'port', 'add', 's', 'x1', '--dgram', `127.0.0.1:${up}`);
      assert.equal(r1.code, 2, r1.stdout);
      assert.match(r1.stderr, new RegExp(`cannot bind 127\\.0\\.0\\.1:${up}: already in use \\(EADDRINUSE\\)`));
      const r2 = await cli(d, 'port', 'add', 's', 'x2', '--listen-tcp', `127.0.0.1:${tp}`);
      assert.equal(r2.code, 2, r2.stdout);
      assert.match(r2.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${tp}: already in use \\(EADDRINUSE\\)`));
      assert.deepEqual(
        (await ports(d)).map((p) => p.name),
        ['a', 'b'],
        'nothing half-created',
      );
      const again = await cli(d, 'port', 'add', 's', 'x2', '--listen-tcp', '127.0.0.1:0');
      assert.equal(again.code, 0, `the name is free again: ${again.stderr}`);
      await cli(d, 'port', 'rm', 's', 'x2');
    } finally {
      udp.close();
      tcp.close();
    }
  });

  test('a config file whose UDP address is in use does not start: the daemon exits with the address and EADDRINUSE', async () => {
    const udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    try {
      const cfg = join(d.dir, 'inuse.json');
      writeFileSync(
        cfg,
        JSON.stringify({
          api: d.path('inuse-api.sock'),
          switches: [
            { name: 'x', workers: 1, ports: [{ name: 'p', nic: { type: 'dgram', localPort: udp.address().port } }] },
          ],
        }),
      );
      const r = await runDaemon(['--config', cfg], process.env);
      await r.stop();
      assert.equal(r.state, 'exited', `the daemon started with a dead port:\n${r.log}`);
      assert.match(
        r.log,
        new RegExp(`cannot bind 127\\.0\\.0\\.1:${udp.address().port}: already in use \\(EADDRINUSE\\)`),
      );
    } finally {
      udp.close();
    }
  });

  test('a missing --connect path is accepted (it re-dials), down, and port list says why', async () => {
    const missing = d.path('nobody-listens.sock');
    const r = await cli(d, 'port', 'add', 's', 'c', '--connect', missing);
    assert.equal(r.code, 0, r.stderr);
    const human = await cli(d, 'port', 'list', 's');
    assert.match(human.stdout, /^port\s+link\s+vlan\s+mtu\s+endpoint\s+mac\s+worker\s+reason$/m);
    assert.match(
      human.stdout,
      new RegExp(`^c\\s+down\\s.*connecting to ${missing.replace(/[.]/g, '\\.')}: connect ENOENT`, 'm'),
    );
    assert.match(human.stdout, /^a\s+up\s.*\s-$/m, 'an up port has no reason');
    await cli(d, 'port', 'rm', 's', 'c');
  });

  test('--listen never takes a socket in use: the API socket, another port, or a foreign listener; a stale socket is replaced, a file never', async () => {
    const api = await cli(d, 'port', 'add', 's', 'y', '--listen', d.api);
    assert.equal(api.code, 2);
    assert.match(api.stderr, /is this daemon's API socket/);
    const other = await cli(d, 'port', 'add', 's', 'y', '--listen', pathA);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /listen path .*a\.sock is already the endpoint of port s\/a/);
    const foreignPath = d.path('foreign.sock');
    const foreign = net.createServer().listen(foreignPath);
    await once(foreign, 'listening');
    const taken = await cli(d, 'port', 'add', 's', 'y', '--listen', foreignPath);
    foreign.close();
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /foreign\.sock is in use: something is listening on it/);
    const file = d.path('precious');
    writeFileSync(file, 'x');
    const notSock = await cli(d, 'port', 'add', 's', 'y', '--listen', file);
    assert.equal(notSock.code, 2);
    assert.match(notSock.stderr, /precious exists and is a regular file, not a socket; it is never removed/);
    // a stale socket: its listener died without removing it
    const stale = d.path('stale.sock');
    await new Promise<void>((res) =>
      execFile(
        process.execPath,
        [
          '-e',
          `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
        ],
        () => res(),
      ),
    );
    assert.ok(statSync(stale).isSocket());
    const ok = await cli(d, 'port', 'add', 's', 'y', '--listen', stale);
    assert.equal(ok.code, 0, ok.stderr);
    const c = await Client.connect({ path: stale });
    await linkIs(d, 'y', 'up');
    c.end();
    await cli(d, 'port', 'rm', 's', 'y');
    await forwards(5);
  });

  test('IPv6 endpoints: --listen [::1]:PORT and --dgram LPORT:[::1]:RPORT carry frames', async () => {
    const add = await cli(d, 'port', 'add', 's', 't6', '--listen', '[::1]:0');
    assert.equal(add.code, 0, add.stderr);
    const addr = String((await portOf(d, 't6'))!.detail.address);
    assert.match(addr, /^\[::1\]:\d+$/);
    const c = await Client.connect({ host: '::1', port: Number(addr.split(':').pop()) });
    await linkIs(d, 't6', 'up');
    c.send(frame(6));
    await until(() => b.has(6), 'a frame from the IPv6 stream client at b');
    c.end();

    const peer = dgram.createSocket('udp6');
    peer.bind(0, '::1');
    await once(peer, 'listening');
    const got: Buffer[] = [];
    peer.on('message', (m: Buffer) => got.push(m));
    try {
      const r = await cli(d, 'port', 'add', 's', 'u6', '--dgram', `0:[::1]:${peer.address().port}`);
      assert.equal(r.code, 0, r.stderr);
      const local = String((await portOf(d, 'u6'))!.detail.local);
      assert.match(local, /^\[::1\]:\d+$/);
      peer.send(frame(7), Number(local.split(':').pop()), '::1');
      await until(() => b.has(7), 'a frame from the IPv6 dgram peer at b');
      b.send(frame(8));
      await until(() => got.some((f) => f[11] === 8), 'a frame from b at the IPv6 dgram peer');
    } finally {
      peer.close();
      await cli(d, 'port', 'rm', 's', 'u6');
      await cli(d, 'port', 'rm', 's', 't6');
    }
  });

  test('SIGTERM ends the daemon within 3 s after all of this', async () => {
    const t0 = Date.now();
    const code = await d.stop();
    const ms = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(ms < kSigtermMs, `SIGTERM took ${ms} ms`);
  });
});

test('a datapath worker that never answers its stop cannot keep the daemon alive: SIGTERM ends it within 3 s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vswitch-hang-'));
  try {
    const cfg = join(dir, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        api: join(dir, 'api.sock'),
        switches: [
          {
            name: 's',
            workers: 2,
            ports: [{ name: 'a', nic: { type: 'stream', mode: 'listen', path: join(dir, 'a.sock') } }],
          },
        ],
      }),
    );
    const r = await runDaemon(['--config', cfg], { ...process.env, VSWITCH_FAULT_INJECT: 'worker-stop-hang' });
    assert.equal(r.state, 'running', r.log);
    const t0 = Date.now();
    const code = await r.stop();
    const ms = Date.now() - t0;
    assert.ok(ms < kSigtermMs, `SIGTERM took ${ms} ms`);
    assert.equal(code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("the runtime directory and the API socket are the owner's alone", () => {
  const base = mkdtempSync(join(tmpdir(), 'vswitch-rt-'));
  const cfg = join(base, 'config.json');
  after(() => rmSync(base, { recursive: true, force: true }));

  /** A daemon with XDG_RUNTIME_DIR=`xdg` and the default API path, one port in the runtime directory. */
  function start(xdg: string, umask?: number) {
    writeFileSync(
      cfg,
      JSON.stringify({
        switches: [
          {
            name: 's',
            workers: 1,
            ports: [{ name: 'a', nic: { type: 'stream', mode: 'listen', path: join(xdg, 'vswitch', 'a.sock') } }],
          },
        ],
      }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: xdg };
    delete env.VSWITCH_API;
    return runDaemon(['--config', cfg], env, umask);
  }

  test('created 0700 with the API socket 0600 under umask 000', async () => {
    const xdg = join(base, 'fresh');
    mkdirSync(xdg);
    const r = await start(xdg, 0);
    try {
      assert.equal(r.state, 'running', r.log);
      assert.equal(statSync(join(xdg, 'vswitch')).mode & 0o777, 0o700, 'runtime directory mode');
      assert.equal(statSync(join(xdg, 'vswitch', 'api.sock')).mode & 0o777, 0o600, 'API socket mode');
    } finally {
      await r.stop();
    }
  });

  test('owned by another user: refused, naming the path, the owner and the fix', async () => {
    const xdg = join(base, 'foreign');
    mkdirSync(join(xdg, 'vswitch'), { recursive: true, mode: 0o700 });
    chownSync(join(xdg, 'vswitch'), 65534, 65534);
    const r = await start(xdg);
    await r.stop();
    assert.equal(r.state, 'exited', `the daemon trusted a directory owned by uid 65534:\n${r.log}`);
    assert.match(
      r.log,
      new RegExp(
        `runtime directory ${join(xdg, 'vswitch')} is owned by uid 65534, not by this user \\(uid \\d+\\).*rm -r`,
      ),
    );
  });

  test('writable by everyone: refused with the mode and the chmod that fixes it', async () => {
    const xdg = join(base, 'open');
    mkdirSync(join(xdg, 'vswitch'), { recursive: true });
    chmodSync(join(xdg, 'vswitch'), 0o777);
    const r = await start(xdg);
    await r.stop();
    assert.equal(r.state, 'exited', `the daemon trusted a world-writable directory:\n${r.log}`);
    assert.match(r.log, /is writable by everyone \(mode 0777\).*chmod 700/);
  });
});
