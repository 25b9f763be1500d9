/**
 * End to end port mirroring (docs/design.md, docs/policy.md): h1's port is a mirror source, h3's the
 * destination, h2 is h1's peer. tcpdump writes pcap files on h1's TAP (both directions: what h1 sent,
 * before the switch, and what the switch delivered to it) and on h3's TAP (what the switch delivered to
 * h3) while h1 pings h2 and runs a short iperf3 TCP to it; the files are read back (classic pcap, as
 * control/pcap.ts describes) and compared as multisets of frame hashes.
 *
 * Design notes: README.md in this folder, section "mirror.test.ts".
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { kGlobalHeaderLen, kPcapMagic, kRecordHeaderLen } from '../control/pcap.js';
import { netnsSkipReason, run } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip =
  netnsSkipReason() ||
  (!(await hasTool('iperf3')) && 'needs iperf3') ||
  (!(await hasTool('tcpdump')) && 'needs tcpdump');

async function hasTool(name: string): Promise<boolean> {
  try {
    return (await run(['sh', '-c', `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

/** Snap length: above any frame on a plain TAP (1514); readPcap refuses a truncated frame. It also keeps
 *  tcpdump's ring slots small, so its 64 MB buffer holds tens of thousands of frames. */
const kSnap = 2048;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Frame {
  bytes: Buffer;
  /** sha256 of the frame bytes (base64). */
  hash: string;
  /** Destination MAC is a group address (broadcast or multicast). */
  group: boolean;
  /** Source MAC, aa:bb:.. */
  src: string;
}

const macText = (b: Buffer, at: number) =>
  [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** Read a classic pcap file (either byte order, micro- or nanosecond magic) of Ethernet frames. */
async function readPcap(file: string): Promise<Frame[]> {
  const buf = await readFile(file);
  assert.ok(buf.length >= kGlobalHeaderLen, `${file}: ${buf.length} bytes, no pcap header`);
  const magicLe = buf.readUInt32LE(0);
  const le = magicLe === kPcapMagic || magicLe === 0xa1b23c4d;
  const be = buf.readUInt32BE(0) === kPcapMagic || buf.readUInt32BE(0) === 0xa1b23c4d;
  assert.ok(le || be, `${file}: not a pcap file (magic ${magicLe.toString(16)})`);
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  assert.equal(u32(20), 1, `${file}: link type is not Ethernet`);
  const frames: Frame[] = [];
  let at = kGlobalHeaderLen;
  while (at + kRecordHeaderLen <= buf.length) {
    const incl = u32(at + 8);
    const orig = u32(at + 12);
    at += kRecordHeaderLen;
    if (at + incl > buf.length) break; // a record cut off by the stop: never the case after SIGINT, tolerated
    assert.equal(incl, orig, `${file}: frame ${frames.length + 1} truncated by the snap length`);
    const bytes = buf.subarray(at, at + incl);
    at += incl;
    frames.push({
      bytes,
      hash: createHash('sha256').update(bytes).digest('base64'),
      group: (bytes[0] & 1) === 1,
      src: macText(bytes, 6),
    });
  }
  return frames;
}

/** A running `tcpdump -w` on a lab host's TAP. */
interface PcapDump {
  file: string;
  /** SIGINT, wait for the exit; returns tcpdump's closing statistics (packets captured, received by the
   *  filter: more than captured when tcpdump was stopped with packets still in its buffer, dropped by kernel). */
  stop(): Promise<{ captured: number; received: number; dropped: number; stderr: string }>;
}

/**
 * `tcpdump -i TAP -n -p --immediate-mode -U -s 2048 -B 65536 [-Q dir] -w FILE` in h's namespace; resolves
 * once it listens. --immediate-mode hands each packet over as it arrives (not when a kernel block times out)
 * and -U writes it to the file at once, so a file that stops growing is complete; -B gives tcpdump a 64 MB
 * kernel buffer so an iperf3 burst is not lost.
 */
async function dump(lab: SwitchLab, h: LabHost, name: string, dir?: 'in' | 'out'): Promise<PcapDump> {
  const file = lab.daemon.path(name);
  const p = lab.lab.spawn(h.ns, [
    'tcpdump',
    '-i',
    h.tap,
    '-n',
    '-p',
    '--immediate-mode',
    '-U',
    '-s',
    String(kSnap),
    '-B',
    '65536',
    ...(dir ? ['-Q', dir] : []),
    '-w',
    file,
  ]);
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const t0 = Date.now();
  while (!err.includes('listening on')) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`tcpdump on ${h.tap} exited: ${err}`);
    if (Date.now() - t0 > 5000) {
      p.kill('SIGTERM');
      throw new Error(`tcpdump did not attach to ${h.tap} in 5 s: ${err}`);
    }
    await sleep(50);
  }
  return {
    file,
    async stop() {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGINT');
        await exited;
      }
      const captured = Number(err.match(/(\d+) packets? captured/)?.[1] ?? NaN);
      const received = Number(err.match(/(\d+) packets? received by filter/)?.[1] ?? NaN);
      const dropped = Number(err.match(/(\d+) packets? dropped by kernel/)?.[1] ?? NaN);
      return { captured, received, dropped, stderr: err };
    },
  };
}

/**
 * Wait until the files stop growing: unchanged for 5 polls 100 ms apart (tcpdump -U writes every packet as
 * it takes it, so a still file means tcpdump has caught up and the last mirror copies have landed).
 */
async function settle(files: string[], timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  let last = '';
  let still = 0;
  while (still < 5) {
    assert.ok(Date.now() - t0 < timeoutMs, `capture files still growing after ${timeoutMs} ms`);
    await sleep(100);
    const sizes = (await Promise.all(files.map((f) => stat(f)))).map((s) => s.size).join(',');
    still = sizes === last ? still + 1 : 0;
    last = sizes;
  }
}

/**
 * TX drops of h's TAP as the kernel counts them: frames h sent that the TAP's queue refused because the
 * switch had not read the ones before yet. tcpdump on the TAP saw them (the packet tap runs before the
 * driver's queue), the switch never did, so they cannot be mirrored.
 */
async function tapTxDropped(lab: SwitchLab, h: LabHost): Promise<number> {
  const j = JSON.parse(await lab.lab.ip(h.ns, '-s', '-j', 'link', 'show', 'dev', h.tap));
  return j[0].stats64.tx.dropped;
}

/** Multiset of hashes: hash -> count. */
function multiset(frames: Frame[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of frames) m.set(f.hash, (m.get(f.hash) ?? 0) + 1);
  return m;
}

/** Compare two multisets of frames: what `want` has that `got` lacks, and what `got` has beyond `want`. */
function diff(want: Frame[], got: Frame[]): { missing: Frame[]; extra: Frame[] } {
  const have = multiset(got);
  const missing: Frame[] = [];
  for (const f of want) {
    const n = have.get(f.hash) ?? 0;
    if (n === 0) missing.push(f);
    else have.set(f.hash, n - 1);
  }
  const extra = got.filter((f) => {
    const n = have.get(f.hash) ?? 0;
    if (n === 0) return false;
    have.set(f.hash, n - 1);
    return true;
  });
  return { missing, extra };
}

const describeFrames = (fs: Frame[]) =>
  fs
    .slice(0, 5)
    .map((f) => `${f.bytes.length}B ${f.src} -> ${macText(f.bytes, 0)} type ${f.bytes.readUInt16BE(12).toString(16)}`)
    .join('; ');

describe('port mirroring: source h1, destination h3', { skip }, () => {
  const lab = new SwitchLab();
  let n = 0;

  const policy = async (port: string, ...flags: string[]) => {
    const r = await lab.daemon.cli('port', 'policy', 's1', port, ...flags);
    assert.equal(r.code, 0, `port policy s1 ${port} ${flags.join(' ')}: ${r.stderr}`);
  };
  const drops = (c: any, port: string, reason: string): number => c.ports[port].drops[reason] ?? 0;

  /** Make sure both MACs are learned (no unknown-unicast flood reaches h3 during a capture). */
  const warm = async () => {
    const [h1, h2] = lab.hosts;
    assert.equal(await lab.ping(h2, h1.ip4, { count: 1 }), 0);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 1 }), 0);
    const fdb: Array<{ mac: string; port: string }> = await lab.daemon.json('fdb', 'show', 's1');
    assert.equal(fdb.find((e) => e.mac === h1.mac)?.port, 'p1');
    assert.equal(fdb.find((e) => e.mac === h2.mac)?.port, 'p2');
  };

  /**
   * Capture on h1 (both directions) and h3 (frames delivered to it) around `traffic`, wait until both
   * files have stopped growing (the last copies are in flight when the traffic ends), read the counters
   * and h1's TAP drops, stop tcpdump and read both files.
   */
  const session = async (traffic: () => Promise<void>) => {
    const [h1, , h3] = lab.hosts;
    await warm();
    n++;
    const src = await dump(lab, h1, `h1-${n}.pcap`);
    const dst = await dump(lab, h3, `h3-${n}.pcap`, 'in');
    const before = await lab.counters();
    const tapDropsBefore = await tapTxDropped(lab, h1);
    await traffic();
    // the last copies are delivered within a few ms; after that nothing talks (permanent neighbours)
    await settle([src.file, dst.file]);
    const c = await lab.counters();
    const tapDrops = (await tapTxDropped(lab, h1)) - tapDropsBefore;
    const s1 = await src.stop();
    const s3 = await dst.stop();
    const h1Frames = await readPcap(src.file);
    const h3Frames = await readPcap(dst.file);
    assert.equal(
      s1.dropped,
      0,
      `tcpdump on h1 lost ${s1.dropped} frames: the comparison would be meaningless (${s1.stderr})`,
    );
    assert.equal(s3.dropped, 0, `tcpdump on h3 lost ${s3.dropped} frames (${s3.stderr})`);
    assert.equal(h1Frames.length, s1.captured);
    assert.equal(h3Frames.length, s3.captured);
    const delta = (port: string, f: string) => c.ports[port][f] - before.ports[port][f];
    const losses =
      `p3 ring-full +${drops(c, 'p3', 'ring-full') - drops(before, 'p3', 'ring-full')}, p3 tx-error +${drops(c, 'p3', 'tx-error') - drops(before, 'p3', 'tx-error')}, ` +
      `p1 no-buffer +${drops(c, 'p1', 'no-buffer') - drops(before, 'p1', 'no-buffer')}, p1 mirrorCopies +${delta('p1', 'mirrorCopies')}, p3 txFrames +${delta('p3', 'txFrames')}; ` +
      `tcpdump h1 ${s1.captured} captured of ${s1.received}, h3 ${s3.captured} of ${s3.received}; h1 TAP tx dropped +${tapDrops}`;
    return { h1Frames, h3Frames, delta, losses, tapDrops, c, before };
  };

  before(async () => {
    await lab.start({ hosts: 3 });
    const [h1, h2] = lab.hosts;
    await lab.lab.ip(h1.ns, 'neigh', 'replace', h2.ip4, 'lladdr', h2.mac, 'dev', h1.tap, 'nud', 'permanent');
    await lab.lab.ip(h2.ns, 'neigh', 'replace', h1.ip4, 'lladdr', h1.mac, 'dev', h2.tap, 'nud', 'permanent');
    await policy('p1', '--mirror', 'source');
    await policy('p3', '--mirror', 'destination');
  });
  after(() => lab.stop());

  test('both directions: every unicast frame seen on h1 reaches h3 exactly once, byte for byte, and nothing else', async () => {
    const [h1, h2] = lab.hosts;
    const shown = JSON.stringify(await lab.daemon.json('port', 'policy', 's1', 'p1'));
    assert.match(shown, /"mirror":"source"/);
    const { h1Frames, h3Frames, delta, losses, tapDrops } = await session(async () => {
      assert.equal(await lab.ping(h1, h2.ip4, { count: 20 }), 0);
      const server = lab.lab.spawn(h2.ns, ['iperf3', '-s', '-1', '-B', h2.ip4]);
      const serverExit = new Promise((res) => server.once('exit', res));
      const t0 = Date.now();
      while ((await lab.lab.exec(h2.ns, ['ss', '-Hltn', 'sport = :5201'])).stdout.trim() === '') {
        assert.ok(Date.now() - t0 < 10_000, 'iperf3 server did not start');
        await sleep(50);
      }
      const r = await lab.lab.exec(h1.ns, ['iperf3', '-c', h2.ip4, '-t', '2', '-J'], { timeoutMs: 30_000 });
      await Promise.race([serverExit, sleep(5000)]);
      const j = JSON.parse(r.stdout);
      assert.equal(j.error, undefined, `iperf3: ${j.error}`);
      console.log(
        `# iperf3 TCP h1 -> h2 while mirrored: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s`,
      );
    });
    const uni1 = h1Frames.filter((f) => !f.group);
    const uni3 = h3Frames.filter((f) => !f.group);
    const sent = uni1.filter((f) => f.src === h1.mac).length;
    console.log(
      `# h1 captured ${h1Frames.length} frames (${uni1.length} unicast, ${sent} sent by h1), h3 ${h3Frames.length} (${uni3.length} unicast); ${losses}`,
    );
    assert.ok(uni1.length > 1000, `h1 saw ${uni1.length} unicast frames: iperf3 ran`);
    assert.ok(sent > 20 && uni1.length - sent > 20, 'frames in both directions');
    const { missing, extra } = diff(uni1, uni3);
    assert.equal(
      extra.length,
      0,
      `h3 got ${extra.length} unicast frames that are not copies of h1's (duplicates or others; ${losses}): ${describeFrames(extra)}`,
    );
    // The only frames allowed to be missing are those the kernel dropped at h1's TAP queue before the
    // switch read them (seen by tcpdump, never by the switch): frames h1 sent, as many as the TAP counts.
    const missingDelivered = missing.filter((f) => f.src !== h1.mac);
    assert.equal(
      missingDelivered.length,
      0,
      `${missingDelivered.length} frames the switch delivered to h1 were not mirrored (${losses}): ${describeFrames(missingDelivered)}`,
    );
    assert.equal(
      missing.length,
      tapDrops,
      `${missing.length} of ${uni1.length} unicast frames seen on h1 never reached h3, while h1's TAP dropped ${tapDrops} before the switch (${losses}); e.g. ${describeFrames(missing)}`,
    );
    // group-addressed frames (h3 gets them as floods anyway, and a mirror copy besides) are not compared:
    // IPv6 ND/MLD from the hosts come at any time, also while a capture is being stopped
    assert.ok(
      delta('p1', 'mirrorCopies') >= uni3.length,
      `p1 mirrorCopies +${delta('p1', 'mirrorCopies')} < ${uni3.length} unicast copies h3 received`,
    );
  });

  test('--mirror none on the source stops the copies; the switch keeps switching', async () => {
    const [h1, h2] = lab.hosts;
    await policy('p1', '--mirror', 'none');
    const { h1Frames, h3Frames, delta } = await session(async () => {
      assert.equal(await lab.ping(h1, h2.ip4, { count: 20 }), 0);
    });
    assert.ok(h1Frames.filter((f) => !f.group).length >= 40, 'the pings went through');
    assert.deepEqual(describeFrames(h3Frames.filter((f) => !f.group)), '', 'h3 got no unicast frame');
    assert.equal(delta('p1', 'mirrorCopies'), 0);
    const c = await lab.counters();
    assert.ok(c.ports.p1.mirrorCopies > 0, 'the earlier copies stay counted');
  });

  for (const dir of ['ingress', 'egress'] as const) {
    test(`--mirror-direction ${dir}: h3 gets copies of exactly the frames h1 ${dir === 'ingress' ? 'sent' : 'was delivered'}`, async () => {
      const [h1, h2] = lab.hosts;
      await policy('p1', '--mirror', 'source', '--mirror-direction', dir);
      try {
        const { h1Frames, h3Frames, delta, losses } = await session(async () => {
          assert.equal(await lab.ping(h1, h2.ip4, { count: 20 }), 0);
          assert.equal(await lab.ping(h2, h1.ip4, { count: 10 }), 0);
        });
        const uni1 = h1Frames.filter((f) => !f.group);
        const want = uni1.filter((f) => (dir === 'ingress' ? f.src === h1.mac : f.src !== h1.mac));
        const uni3 = h3Frames.filter((f) => !f.group);
        assert.equal(
          want.length,
          30,
          `h1 ${dir === 'ingress' ? 'sent' : 'received'} 20 requests + 10 replies: ${want.length} (${describeFrames(uni1)})`,
        );
        const { missing, extra } = diff(want, uni3);
        assert.equal(
          missing.length,
          0,
          `${missing.length} frames not mirrored (${losses}): ${describeFrames(missing)}`,
        );
        assert.equal(
          extra.length,
          0,
          `h3 got ${extra.length} frames it should not have (${losses}): ${describeFrames(extra)}`,
        );
        assert.ok(delta('p1', 'mirrorCopies') >= 30);
      } finally {
        await policy('p1', '--mirror-direction', 'both');
      }
    });
  }

  test('--mirror none also turns off a source that has a direction set', async () => {
    const [h1, h2] = lab.hosts;
    await policy('p1', '--mirror', 'source', '--mirror-direction', 'ingress');
    await policy('p1', '--mirror', 'none'); // the stored direction must not make the switch refuse this
    const shown = JSON.stringify(await lab.daemon.json('port', 'policy', 's1', 'p1'));
    assert.doesNotMatch(shown, /"mirror":"source"/);
    const { h3Frames, delta } = await session(async () => {
      assert.equal(await lab.ping(h1, h2.ip4, { count: 10 }), 0);
    });
    assert.deepEqual(describeFrames(h3Frames.filter((f) => !f.group)), '', 'h3 got no unicast frame');
    assert.equal(delta('p1', 'mirrorCopies'), 0);
  });
});
