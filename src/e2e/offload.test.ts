/**
 * End to end offloads (docs/offloads.md): two hosts whose TAPs negotiate TUNSETOFFLOAD exchange 64 KB
 * GSO frames with partial checksums through the switch untouched (passthrough); toward a plain TAP host the
 * switch segments and completes checksums in software, and tshark, validating every IPv4 and TCP checksum,
 * finds no bad one and no frame over MTU + 14 among the frames the switch delivered to that host (its
 * own outgoing frames are not the switch's work and are not captured).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason, run } from '../testing/netns.js';
import { SwitchLab } from './lab.js';

const skip =
  netnsSkipReason() || (!(await hasTool('iperf3')) && 'needs iperf3') || (!(await hasTool('tshark')) && 'needs tshark');

async function hasTool(name: string): Promise<boolean> {
  try {
    return (await run(['sh', '-c', `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

/** iperf3 TCP from host `from` to host `to`: `amount` is seconds ('3') or bytes ('20M', -n). */
async function iperf(lab: SwitchLab, from: number, to: number, amount: string): Promise<number> {
  const server = lab.lab.spawn(lab.hosts[to].ns, ['iperf3', '-s', '-1', '-B', lab.hosts[to].ip4]);
  const serverExit = new Promise((res) => server.once('exit', res));
  await new Promise((r) => setTimeout(r, 500));
  const limit = amount.endsWith('M') ? ['-n', amount] : ['-t', amount];
  const r = await lab.lab.exec(lab.hosts[from].ns, ['iperf3', '-c', lab.hosts[to].ip4, ...limit, '-J'], {
    timeoutMs: 30_000,
  });
  await serverExit;
  const j = JSON.parse(r.stdout);
  assert.equal(j.error, undefined, `iperf3: ${j.error}`);
  return j.end.sum_received.bits_per_second as number;
}

describe('offloads: passthrough between offload TAPs, software LSO and checksums toward a plain TAP', { skip }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 3, offload: [true, true, false] }));
  after(() => lab.stop());

  test('iperf3 TCP between offload-capable hosts completes; GSO frames pass through', async () => {
    const before = await lab.counters();
    const bps = await iperf(lab, 0, 1, '3');
    assert.ok(bps > 0);
    const c = await lab.counters();
    const ports: Array<{ name: string; detail: { offloadCaps?: number } }> = await lab.daemon.json(
      'port',
      'list',
      's1',
    );
    assert.ok((ports.find((p) => p.name === 'p1')!.detail.offloadCaps ?? 0) & 2, 'p1 negotiated TSO');
    const avgRx = (c.ports.p1.rxBytes - before.ports.p1.rxBytes) / (c.ports.p1.rxFrames - before.ports.p1.rxFrames);
    assert.ok(avgRx > 3000, `frames from the offload host average ${avgRx.toFixed(0)} bytes: GSO frames arrive whole`);
    assert.equal(
      c.ports.p2.offSegmented - before.ports.p2.offSegmented,
      0,
      'no software segmentation toward an offload port',
    );
    console.log(`# offload passthrough iperf3: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  });

  test('toward a plain TAP: segments within MTU + 14 and every checksum valid (tshark)', async () => {
    const h3 = lab.hosts[2];
    const file = lab.daemon.path('h3.pcap');
    const dump = lab.lab.spawn(h3.ns, [
      'tcpdump',
      '-i',
      h3.tap,
      '-Q',
      'in',
      '-n',
      '-p',
      '-U',
      '-s',
      '0',
      '-w',
      file,
      'tcp',
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    const before = await lab.counters();
    const bps = await iperf(lab, 0, 2, '20M'); // 20 MB: a capture tshark checks in seconds
    assert.ok(bps > 0);
    const dumpExit = new Promise((r) => dump.once('exit', r));
    dump.kill('SIGINT');
    await dumpExit;
    const c = await lab.counters();
    assert.ok(c.ports.p3.offSegmented - before.ports.p3.offSegmented > 0, 'the switch segmented GSO frames for p3');
    assert.ok(c.ports.p3.offSegments > c.ports.p3.offSegmented);
    const fields = await run(
      [
        'tshark',
        '-r',
        file,
        '-o',
        'ip.check_checksum:TRUE',
        '-o',
        'tcp.check_checksum:TRUE',
        '-T',
        'fields',
        '-e',
        'frame.len',
        '-e',
        'ip.checksum.status',
        '-e',
        'tcp.checksum.status',
        '-e',
        'frame.number',
        '-e',
        'ip.src',
        '-e',
        'tcp.flags',
      ],
      { timeoutMs: 60_000 },
    );
    const rows = fields.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    assert.ok(rows.length > 100, `captured ${rows.length} frames`);
    const tooLong = rows.filter((r) => Number(r[0]) > 1514);
    const badIp = rows.filter((r) => r[1] !== '1'); // tshark checksum status: 0 bad, 1 good, 2 unverified
    const badTcp = rows.filter((r) => r[2] !== '1');
    assert.equal(tooLong.length, 0, `frames over 1514 bytes: ${tooLong.slice(0, 3).join(' | ')}`);
    assert.equal(badIp.length, 0, `bad IPv4 checksums: ${badIp.length}`);
    assert.equal(
      badTcp.length,
      0,
      `bad TCP checksums: ${badTcp
        .slice(0, 5)
        .map((x) => x.join(','))
        .join(' | ')}`,
    );
  });

  test('IPv6 toward the plain TAP: every checksum valid', async () => {
    const h3 = lab.hosts[2];
    const file = lab.daemon.path('h3v6.pcap');
    const dump = lab.lab.spawn(h3.ns, [
      'tcpdump',
      '-i',
      h3.tap,
      '-Q',
      'in',
      '-n',
      '-p',
      '-U',
      '-s',
      '0',
      '-w',
      file,
      'ip6 and tcp',
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    const server = lab.lab.spawn(h3.ns, ['iperf3', '-s', '-1', '-B', h3.ip6]);
    const serverExit = new Promise((res) => server.once('exit', res));
    await new Promise((r) => setTimeout(r, 500));
    const r = await lab.lab.exec(lab.hosts[0].ns, ['iperf3', '-6', '-c', h3.ip6, '-n', '20M', '-J'], {
      timeoutMs: 30_000,
    });
    await serverExit;
    assert.equal(JSON.parse(r.stdout).error, undefined);
    const dumpExit = new Promise((res) => dump.once('exit', res));
    dump.kill('SIGINT');
    await dumpExit;
    const fields = await run(
      [
        'tshark',
        '-r',
        file,
        '-o',
        'tcp.check_checksum:TRUE',
        '-T',
        'fields',
        '-e',
        'frame.len',
        '-e',
        'tcp.checksum.status',
        '-e',
        'frame.number',
        '-e',
        'ipv6.src',
        '-e',
        'tcp.flags',
      ],
      { timeoutMs: 60_000 },
    );
    const rows = fields.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    assert.ok(rows.length > 100);
    assert.equal(rows.filter((x) => Number(x[0]) > 1514).length, 0);
    const bad = rows.filter((x) => x[1] !== '1');
    assert.equal(
      bad.length,
      0,
      `bad TCP checksums: ${bad
        .slice(0, 5)
        .map((x) => x.join(','))
        .join(' | ')}`,
    );
  });
});
