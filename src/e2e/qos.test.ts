/**
 * End to end QoS (docs/policy.md): MaximumBandwidth is egress shaping, a cap on what the switch
 * delivers TO a port, counted in bytes of Ethernet frame (no FCS, preamble or gap); MinimumBandwidth
 * weights share a congested egress between the ports that send to it; one port's congestion never delays
 * another port's frames. Measured with iperf3 between namespace hosts on plain TAPs (no offload, so every
 * frame is at most 1514 bytes and the frame sizes below are exact).
 *
 * Design notes: README.md in this folder, section "qos.test.ts".
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason, run } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason() || (!(await hasTool('iperf3')) && 'needs iperf3');

/** TCP: frame bytes per payload byte (full-size segments: 1514-byte frames carrying 1448 bytes). */
const kTcpFramePerPayload = 1514 / 1448;
/** UDP -l 1400: 1442-byte frames carrying 1400 bytes of iperf3 payload. */
const kUdpLen = 1400;
const kUdpFramePerPayload = (kUdpLen + 8 + 20 + 14) / kUdpLen;
const M = 1e6;

async function hasTool(name: string): Promise<boolean> {
  try {
    return (await run(['sh', '-c', `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (polled every 50 ms); fail with `what` after `timeoutMs`. */
async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A started iperf3 server: `exited` resolves when it ends (after one test; the lab kills it otherwise). */
interface IperfServer {
  exited: Promise<unknown>;
}

/** Start `iperf3 -s -1` on host h, TCP/UDP port `port`, and resolve once it listens (ss shows the socket). */
async function iperfServer(lab: SwitchLab, h: LabHost, port: number): Promise<IperfServer> {
  const server = lab.lab.spawn(h.ns, ['iperf3', '-s', '-1', '-B', h.ip4, '-p', String(port)]);
  const exited = new Promise((res) => server.once('exit', res));
  await waitFor(async () => {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`iperf3 server on ${h.ns} exited`);
    const r = await lab.lab.exec(h.ns, ['ss', '-Hltn', `sport = :${port}`]);
    return r.stdout.trim() !== '';
  }, `iperf3 -s on ${h.ip4}:${port}`);
  return { exited };
}

interface IperfResult {
  /** Receiver's payload rate, bits/s. */
  received: number;
  /** Sender's payload rate, bits/s. */
  sent: number;
  json: any;
}

/** iperf3 client on host `from` toward `to`:`port` with extra args; waits for the server to exit too. */
async function iperfClient(
  lab: SwitchLab,
  from: LabHost,
  to: LabHost,
  port: number,
  args: string[],
  server: IperfServer,
): Promise<IperfResult> {
  const r = await lab.lab.exec(from.ns, ['iperf3', '-c', to.ip4, '-p', String(port), ...args, '-J'], {
    timeoutMs: 40_000,
  });
  await Promise.race([server.exited, sleep(5000)]);
  let j: any;
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 ${args.join(' ')}: no JSON (exit ${r.code}): ${r.stderr}\n${r.stdout.slice(0, 500)}`);
  }
  assert.equal(j.error, undefined, `iperf3 ${args.join(' ')}: ${j.error}`);
  return { received: j.end.sum_received.bits_per_second, sent: j.end.sum_sent.bits_per_second, json: j };
}

async function iperf(lab: SwitchLab, from: LabHost, to: LabHost, args: string[], port = 5201): Promise<IperfResult> {
  const server = await iperfServer(lab, to, port);
  return iperfClient(lab, from, to, port, args, server);
}

/** `count` pings (0.2 s apart) from a to addr: the RTTs of the replies received, in ms, sorted. */
async function pingRtts(lab: SwitchLab, a: LabHost, addr: string, count: number): Promise<number[]> {
  const r = await lab.lab.exec(a.ns, ['ping', '-4', '-n', '-c', String(count), '-i', '0.2', '-W', '2', addr], {
    timeoutMs: 60_000,
  });
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
}

const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
const mbit = (bps: number) => (bps / M).toFixed(1);

describe('QoS: MaximumBandwidth egress shaping and MinimumBandwidth weights', { skip }, () => {
  const lab = new SwitchLab();
  // minimumBandwidthMode left unset: weight is the default, and the weights test relies on it
  before(() => lab.start({ hosts: 4 }));
  after(() => lab.stop());

  /** `vswitch port policy s1 PORT FLAGS --json`: the port's policy after the change. */
  const policy = async (port: string, ...flags: string[]): Promise<Record<string, unknown>> => {
    const r = await lab.daemon.cli('port', 'policy', 's1', port, ...flags, '--json');
    assert.equal(r.code, 0, `port policy s1 ${port} ${flags.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout).policy;
  };
  const drops = (c: any, port: string, reason: string): number => c.ports[port].drops[reason] ?? 0;

  test('--max-bandwidth 50M on p2: iperf3 TCP h1 -> h2 gets 50 Mbit/s of frames (+-10 %)', async () => {
    const [h1, h2] = lab.hosts;
    assert.equal(await lab.ping(h1, h2.ip4, { count: 2 }), 0);
    assert.equal((await policy('p2', '--max-bandwidth', '50M')).maximumBandwidth, 50_000_000);
    const before = await lab.counters();
    const r = await iperf(lab, h1, h2, ['-t', '5']);
    const c = await lab.counters();
    const frameRate = r.received * kTcpFramePerPayload;
    const delayed = c.ports.p2.qosDelayed - before.ports.p2.qosDelayed;
    console.log(
      `# TCP under a 50M cap: goodput ${mbit(r.received)} Mbit/s = ${mbit(frameRate)} Mbit/s of frames; p2 qosDelayed +${delayed}, qos-queue-full +${drops(c, 'p2', 'qos-queue-full') - drops(before, 'p2', 'qos-queue-full')}`,
    );
    assert.ok(
      frameRate >= 45 * M && frameRate <= 55 * M,
      `TCP frame rate ${mbit(frameRate)} Mbit/s (goodput ${mbit(r.received)}), expected 45..55`,
    );
    assert.ok(delayed > 1000, `p2 qosDelayed grew by ${delayed}`);
    assert.equal(c.ports.p1.qosDelayed - before.ports.p1.qosDelayed, 0, 'the ACKs toward unshaped p1 are never held');
  });

  test('UDP at 100M into the 50M cap: h2 receives 50 Mbit/s of frames (+-10 %), the excess dropped as qos-queue-full', async () => {
    const [h1, h2] = lab.hosts;
    const before = await lab.counters();
    const r = await iperf(lab, h1, h2, ['-u', '-b', '100M', '-l', String(kUdpLen), '-t', '5']);
    const c = await lab.counters();
    const frameRate = r.received * kUdpFramePerPayload;
    const full = drops(c, 'p2', 'qos-queue-full') - drops(before, 'p2', 'qos-queue-full');
    const lost = r.json.end.sum_received.lost_percent;
    console.log(
      `# UDP 100M into a 50M cap: sent ${mbit(r.sent)}, received ${mbit(r.received)} Mbit/s = ${mbit(frameRate)} Mbit/s of frames (${lost?.toFixed?.(1)} % lost); p2 qos-queue-full +${full}`,
    );
    assert.ok(r.sent > 90 * M, `the sender offered ${mbit(r.sent)} Mbit/s, meant 100`);
    assert.ok(
      frameRate >= 45 * M && frameRate <= 55 * M,
      `UDP frame rate received ${mbit(frameRate)} Mbit/s, expected 45..55`,
    );
    assert.ok(full > 1000, `p2 qos-queue-full grew by ${full}`);
    assert.ok(c.ports.p2.qosDelayed - before.ports.p2.qosDelayed > 1000);
  });

  test('no head-of-line blocking: while p2 is congested, h3 -> h4 and h3 -> h2 stay fast and h3 -> h4 runs far above 50M', async () => {
    const [h1, h2, h3, h4] = lab.hosts;
    assert.equal(await lab.ping(h3, h4.ip4, { count: 2 }), 0);
    assert.equal(await lab.ping(h3, h2.ip4, { count: 2 }), 0);
    const before = await lab.counters();
    // congestion: UDP at 100M from h1 into p2's 50M cap, for longer than the measurements below
    const flood = await iperfServer(lab, h2, 5201);
    const flooding = iperfClient(lab, h1, h2, 5201, ['-u', '-b', '100M', '-l', String(kUdpLen), '-t', '10'], flood);
    try {
      await waitFor(
        async () => drops(await lab.counters(), 'p2', 'qos-queue-full') > drops(before, 'p2', 'qos-queue-full') + 100,
        "p2's shaping queue to overflow",
      );
      const [other, sameEgress, congested] = await Promise.all([
        pingRtts(lab, h3, h4.ip4, 20),
        pingRtts(lab, h3, h2.ip4, 20),
        pingRtts(lab, h1, h2.ip4, 20), // behind the UDP flood in p1's class: waits for the whole queue (or is dropped)
      ]);
      const server = await iperfServer(lab, h4, 5202);
      const tcp = await iperfClient(lab, h3, h4, 5202, ['-t', '3'], server);
      const mid = await lab.counters();
      console.log(
        `# during congestion: RTT p50 h3->h4 ${median(other)} ms (${other.length}/20), h3->h2 ${median(sameEgress)} ms (${sameEgress.length}/20), ` +
          `h1->h2 ${median(congested)} ms (${congested.length}/20); iperf3 TCP h3->h4 ${mbit(tcp.received)} Mbit/s`,
      );
      assert.equal(
        drops(mid, 'p2', 'qos-queue-full') > drops(before, 'p2', 'qos-queue-full') + 1000,
        true,
        'p2 stayed congested throughout',
      );
      assert.ok(other.length >= 18, `h3 -> h4: ${other.length} of 20 pings answered`);
      assert.ok(median(other) < 20, `h3 -> h4 RTT p50 ${median(other)} ms`);
      assert.ok(sameEgress.length >= 18, `h3 -> h2: ${sameEgress.length} of 20 pings answered`);
      assert.ok(median(sameEgress) < 20, `h3 -> h2 (same egress, own class) RTT p50 ${median(sameEgress)} ms`);
      // the queue p1's class holds at 50M: up to 256 frames of 1442 bytes = 59 ms
      if (congested.length >= 3)
        assert.ok(
          median(congested) > 25,
          `h1 -> h2 (behind the flood) RTT p50 ${median(congested)} ms: the queue is not congested?`,
        );
      assert.ok(tcp.received > 150 * M, `TCP h3 -> h4 ${mbit(tcp.received)} Mbit/s beside the congested port`);
      assert.equal(mid.ports.p4.qosDelayed - before.ports.p4.qosDelayed, 0, 'nothing toward unshaped p4 was held');
      assert.equal(drops(mid, 'p4', 'qos-queue-full'), 0);
    } finally {
      await flooding.catch(() => undefined);
    }
  });

  test('weights: p3 capped at 100M, UDP floods from h1 (weight 1) and h2 (weight 3) are received 1 : 3', async () => {
    const [h1, h2, h3] = lab.hosts;
    await policy('p2', '--max-bandwidth', '0');
    assert.equal((await policy('p3', '--max-bandwidth', '100M')).maximumBandwidth, 100_000_000);
    assert.equal((await policy('p1', '--min-weight', '1')).minimumBandwidthWeight, 1);
    assert.equal((await policy('p2', '--min-weight', '3')).minimumBandwidthWeight, 3);
    const text = await lab.daemon.cli('port', 'policy', 's1', 'p2');
    assert.match(text.stdout, /min-bandwidth weight 3/, 'the switch is in weight mode, its default');
    const before = await lab.counters();
    const [s1, s2] = await Promise.all([iperfServer(lab, h3, 5201), iperfServer(lab, h3, 5202)]);
    const args = ['-u', '-b', '100M', '-l', String(kUdpLen), '-t', '5'];
    const [r1, r2] = await Promise.all([
      iperfClient(lab, h1, h3, 5201, args, s1),
      iperfClient(lab, h2, h3, 5202, args, s2),
    ]);
    const c = await lab.counters();
    const ratio = r2.received / r1.received;
    const total = (r1.received + r2.received) * kUdpFramePerPayload;
    console.log(
      `# weights 1 : 3 into a 100M cap: h1 sent ${mbit(r1.sent)} got ${mbit(r1.received)}, h2 sent ${mbit(r2.sent)} got ${mbit(r2.received)} Mbit/s; ` +
        `ratio ${ratio.toFixed(2)}, total ${mbit(total)} Mbit/s of frames; p3 qos-queue-full +${drops(c, 'p3', 'qos-queue-full') - drops(before, 'p3', 'qos-queue-full')}`,
    );
    assert.ok(
      r1.sent > 90 * M && r2.sent > 90 * M,
      `both senders offered about 100M: ${mbit(r1.sent)}, ${mbit(r2.sent)}`,
    );
    assert.ok(ratio >= 2.4 && ratio <= 3.6, `h2 : h1 received ${ratio.toFixed(2)}, expected 2.4..3.6`);
    assert.ok(total >= 90 * M && total <= 110 * M, `together ${mbit(total)} Mbit/s of frames, expected 90..110`);
    assert.ok(c.ports.p3.qosDelayed - before.ports.p3.qosDelayed > 1000);
  });

  test('--max-bandwidth 0 lifts the cap: TCP h1 -> h3 runs far above 100M and nothing is held', async () => {
    const [h1, , h3] = lab.hosts;
    await policy('p3', '--max-bandwidth', '0');
    const before = await lab.counters();
    const r = await iperf(lab, h1, h3, ['-t', '3']);
    const c = await lab.counters();
    console.log(`# unshaped TCP h1 -> h3: ${mbit(r.received)} Mbit/s`);
    assert.ok(r.received > 150 * M, `TCP h1 -> h3 ${mbit(r.received)} Mbit/s after the cap was lifted`);
    assert.equal(c.ports.p3.qosDelayed - before.ports.p3.qosDelayed, 0);
  });
});
