/**
 * End to end packet capture: a real daemon, namespace hosts on TAP ports, a scripted trunk endpoint, and
 * the files read back by the real tshark. Checks: a `both` capture of a ping shows the echo requests and
 * replies with the right MACs; the trunk's frames are captured as on its wire (802.1Q tag, VLAN 10, in
 * both directions); --count stops after exactly N; --seconds on a silent port ends with 0 frames; one
 * capture per port; validation messages; a relative -w name lands in the daemon's capture directory,
 * existing files and symlinks are refused (--force overwrites a regular file); Ctrl-C stops a
 * waiting capture and prints the summary; and the switch keeps switching afterwards.
 *
 * Hosts: h1, h2 untagged (VLAN 1); h3 access 10; `trunk` (StreamPeer, trunk 10, answers 10.77.0.100);
 * `quiet`: a stream port nobody connects to.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliPath } from '../testing/daemon.js';
import { netnsSkipReason } from '../testing/netns.js';
import { StreamPeer } from '../testing/stream-peer.js';
import { SwitchLab } from './lab.js';

const skip = netnsSkipReason();
const kTrunkIp = '10.77.0.100';
const kTrunkMac = '02:00:00:00:01:00';
/** ICMP echo of ping's default 56 data bytes: 14 Ethernet + 20 IPv4 + 8 ICMP + 56. */
const kEchoFrameLen = 98;

interface Row {
  len: number;
  src: string;
  dst: string;
  icmp: string;
  vlan: string;
}

/** `tshark -r FILE -T fields` -> rows (frame.len, eth.src, eth.dst, icmp.type, vlan.id). */
function tshark(file: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'tshark',
      [
        '-r',
        file,
        '-T',
        'fields',
        '-e',
        'frame.len',
        '-e',
        'eth.src',
        '-e',
        'eth.dst',
        '-e',
        'icmp.type',
        '-e',
        'vlan.id',
      ],
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`tshark -r ${file}: ${err.message}\n${stderr}`));
        resolve(
          stdout
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => {
              const [len, src, dst, icmp, vlan] = l.split('\t');
              return { len: Number(len), src, dst, icmp: icmp ?? '', vlan: vlan ?? '' };
            }),
        );
      },
    );
  });
}

describe('packet capture to pcap files', { skip }, () => {
  const lab = new SwitchLab();
  let trunk: StreamPeer;
  const file = (name: string) => lab.daemon.path(name);

  before(async () => {
    await lab.start({
      hosts: 3,
      vlans: [undefined, undefined, { mode: 'access', vid: 10 }],
      trunkPath: true,
    });
    const q = await lab.daemon.cli('port', 'add', 's1', 'quiet', '--listen', lab.daemon.path('quiet.sock'));
    assert.equal(q.code, 0, q.stderr);
    trunk = new StreamPeer(lab.trunkPath);
    await trunk.connect();
    trunk.respondAs(kTrunkIp, kTrunkMac);
    const r = await lab.daemon.cli('port', 'vlan', 's1', 'trunk', 'trunk', '10');
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await trunk?.close();
    await lab.stop();
  });

  test('both directions of a port while pinging 10 times: tshark sees every request and reply with the right MACs', async () => {
    const [h1, h2] = lab.hosts;
    const f = file('p1.pcap');
    const st = await lab.daemon.json('capture', 's1', 'p1', '-w', f, '--direction', 'both', '--no-wait');
    assert.equal(st.state, 'running');
    assert.equal(st.file, f);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 10 }), 0);
    const listed = await lab.daemon.json('capture', 'list', 's1');
    assert.deepEqual(
      listed.map((c: { port: string }) => c.port),
      ['p1'],
    );
    const r = await lab.daemon.json('capture', 'stop', 's1', 'p1');
    assert.equal(r.state, 'done');
    assert.equal(r.reason, 'stopped');
    assert.equal(r.captureLost, 0);
    const rows = await tshark(f);
    assert.equal(rows.length, r.framesWritten, 'the file holds every frame the summary counts');
    const requests = rows.filter((x) => x.icmp === '8');
    const replies = rows.filter((x) => x.icmp === '0');
    assert.equal(requests.length, 10, 'echo requests, as received from h1');
    assert.equal(replies.length, 10, 'echo replies, as delivered to h1');
    for (const q of requests) assert.deepEqual([q.len, q.src, q.dst, q.vlan], [kEchoFrameLen, h1.mac, h2.mac, '']);
    for (const a of replies) assert.deepEqual([a.len, a.src, a.dst, a.vlan], [kEchoFrameLen, h2.mac, h1.mac, '']);
  });

  test('a trunk port is captured as on its wire: the 802.1Q tag of VLAN 10 in both directions', async () => {
    const h3 = lab.hosts[2];
    const f = file('trunk.pcap');
    await lab.daemon.json('capture', 's1', 'trunk', '-w', f, '--no-wait');
    assert.equal(await lab.ping(h3, kTrunkIp, { count: 5 }), 0);
    const r = await lab.daemon.json('capture', 'stop', 's1', 'trunk');
    const rows = (await tshark(f)).filter((x) => x.icmp !== '');
    const out = rows.filter((x) => x.icmp === '8');
    const inn = rows.filter((x) => x.icmp === '0');
    assert.equal(out.length, 5, 'echo requests delivered to the trunk (tag inserted by egress)');
    assert.equal(inn.length, 5, 'echo replies received from the trunk (tag not yet stripped)');
    for (const x of rows) {
      assert.equal(x.vlan, '10');
      assert.equal(x.len, kEchoFrameLen + 4);
    }
    for (const x of out) assert.deepEqual([x.src, x.dst], [h3.mac, kTrunkMac]);
    assert.ok(r.framesWritten >= 10);
  });

  test('--count stops after exactly N frames; the CLI waits for it and prints the summary', async () => {
    const [h1, h2] = lab.hosts;
    const f = file('count.pcap');
    const capture = lab.daemon.cli('capture', 's1', 'p2', '-w', f, '--direction', 'in', '--count', '5', '--json');
    const ping = lab.ping(h2, h1.ip4, { count: 20 });
    const r = await capture;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual([summary.reason, summary.framesWritten, summary.captureLost], ['count', 5, 0]);
    assert.equal((await tshark(f)).length, 5);
    assert.equal(await ping, 0, 'traffic went on while and after the capture ended');
  });

  test('--seconds 1 on a port with no traffic ends with 0 frames', async () => {
    const f = file('quiet.pcap');
    const t0 = Date.now();
    const r = await lab.daemon.cli('capture', 's1', 'quiet', '-w', f, '--seconds', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 >= 1000);
    assert.match(r.stdout, /ended \(time limit reached\): 0 frames written to .*quiet\.pcap, 0 lost/);
    assert.match(r.stderr, /capturing s1\/quiet both -> .*quiet\.pcap \(1 s\); Ctrl-C stops/);
    assert.deepEqual(await tshark(f), []);
  });

  test('a second capture on the same port is refused, naming the file of the first', async () => {
    const first = file('first.pcap');
    assert.equal((await lab.daemon.cli('capture', 's1', 'p3', '-w', first, '--no-wait')).code, 0);
    const r = await lab.daemon.cli('capture', 's1', 'p3', '-w', file('second.pcap'), '--no-wait');
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(`port 'p3' of switch 's1' is already being captured to ${first.replace(/[.]/g, '\\.')}`),
    );
    assert.match(r.stderr, /vswitch capture stop s1 p3/);
    assert.equal(existsSync(file('second.pcap')), false, 'the refused capture created no file');
    const stopped = await lab.daemon.json('capture', 'stop', 's1', 'p3');
    assert.equal(stopped.state, 'done');
    const again = await lab.daemon.cli('capture', 'stop', 's1', 'p3');
    assert.match(again.stderr, /no capture is running on port 'p3'/);
  });

  test('validation: direction, count, seconds, the file, the port', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['capture', 's1', 'p1', '-w', file('x.pcap'), '--direction', 'sideways'],
        /--direction must be one of in, out, both, got 'sideways'/,
      ],
      [['capture', 's1', 'p1', '-w', file('x.pcap'), '--count', '0'], /count: must be an integer from 1 to 1000000000/],
      [
        ['capture', 's1', 'p1', '-w', file('x.pcap'), '--seconds', '86401'],
        /seconds: must be an integer from 1 to 86400/,
      ],
      [['capture', 's1', 'p1'], /capture needs the file to write: -w FILE/],
      [['capture', 's1', 'nope', '-w', file('x.pcap'), '--seconds', '1'], /switch 's1' has no port named 'nope'/],
      [
        ['capture', 's1', 'p1', '-w', '/nonexistent-vswitch-dir/x.pcap', '--seconds', '1'],
        /cannot create capture file \/nonexistent-vswitch-dir\/x\.pcap: .*ENOENT/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await lab.daemon.cli(...args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.deepEqual(await lab.daemon.json('capture', 'list', 's1'), [], 'nothing was left running');
  });

  test("a relative -w name lands in the daemon's capture directory (made 0700); an existing file is refused unless --force; a symlink never", async () => {
    const cfg = await lab.daemon.json<{ captureDir: string }>('config', 'show');
    const dir = cfg.captureDir;
    const name = `relative-${process.pid}-${Date.now()}.pcap`;
    const full = join(dir, name);
    try {
      const r = await lab.daemon.json('capture', 's1', 'quiet', '-w', name, '--seconds', '1');
      assert.equal(r.file, full);
      assert.ok(existsSync(full));
      assert.equal(statSync(dir).mode & 0o777, 0o700, 'capture directory mode');
      assert.equal(statSync(full).mode & 0o777, 0o600, 'capture file mode');
      writeFileSync(full, 'precious');
      const again = await lab.daemon.cli('capture', 's1', 'quiet', '-w', name, '--seconds', '1');
      assert.equal(again.code, 2);
      assert.match(again.stderr, /already exists; choose another name, or pass --force/);
      assert.equal(readFileSync(full, 'utf8'), 'precious');
      const forced = await lab.daemon.json('capture', 's1', 'quiet', '-w', name, '--seconds', '1', '--force');
      assert.equal(forced.reason, 'seconds');
      assert.notEqual(readFileSync(full, 'utf8'), 'precious', 'overwritten with --force');
      const target = file('not-a-capture');
      writeFileSync(target, 'keep');
      const link = file('link.pcap');
      symlinkSync(target, link);
      const viaLink = await lab.daemon.cli('capture', 's1', 'quiet', '-w', link, '--seconds', '1', '--force');
      assert.equal(viaLink.code, 2);
      assert.match(viaLink.stderr, /is a symbolic link; captures never follow links/);
      assert.equal(readFileSync(target, 'utf8'), 'keep');
      const up = await lab.daemon.cli('capture', 's1', 'quiet', '-w', '../escape.pcap');
      assert.equal(up.code, 2);
      assert.match(up.stderr, /cannot leave it with '\.\.'/);
    } finally {
      rmSync(full, { force: true });
    }
  });

  test('Ctrl-C stops a waiting capture and prints how many frames were written and lost', async () => {
    const [h1, h2] = lab.hosts;
    const f = file('sigint.pcap');
    const cli = spawn(process.execPath, [cliPath, '--api', lab.daemon.api, 'capture', 's1', 'p1', '-w', f], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
    try {
      const t0 = Date.now();
      while (!stderr.includes('Ctrl-C stops')) {
        assert.ok(Date.now() - t0 < 10_000, `the CLI did not start the capture: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await lab.ping(h1, h2.ip4, { count: 3 }), 0);
      cli.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    }
    const m = stdout.match(/ended \(stopped\): (\d+) frames written to .*sigint\.pcap, 0 lost/);
    assert.ok(m, stdout);
    assert.ok(Number(m[1]) >= 6, `3 requests and 3 replies at least, got ${m[1]}`);
    assert.equal((await tshark(f)).filter((x) => x.icmp !== '').length, 6);
    assert.deepEqual(await lab.daemon.json('capture', 'list', 's1'), []);
  });

  test('after all that the switch still switches and the daemon still answers', async () => {
    const [h1, h2, h3] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 5 }), 0);
    assert.equal(await lab.ping(h3, kTrunkIp, { count: 2 }), 0);
    const sw = await lab.daemon.json('switch', 'list');
    assert.equal(sw[0].name, 's1');
    const c = await lab.counters();
    assert.equal(c.ports.p1.drops['no-buffer'] ?? 0, 0);
  });
});
