/**
 * End to end StormLimit (docs/policy.md, policy/storm.ts): h1 floods unknown-unicast frames (echo
 * requests to a static neighbour whose MAC the switch has never seen) and then broadcasts (ping -b) at
 * ~1000 frames/s for a few seconds. Without a limit h2 receives every one; with `--storm-limit 200` on p1
 * it receives 200/s x duration plus the 100 ms burst (20), within 20%, the rest is counted `storm-limit`,
 * and known unicast h1 -> h2 meanwhile is untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason();
const kLimit = 200;
const kBurst = kLimit / 10; // storm.ts: bucket depth = 100 ms of the rate
const kGhostIp = '10.77.0.99';
const kGhostMac = '02:00:00:00:00:99';
const kBroadcast = '10.77.0.255';

describe('storm limit on flooded traffic from a port', { skip }, () => {
  const lab = new SwitchLab();
  before(async () => {
    await lab.start({ hosts: 3 });
    const h1 = lab.hosts[0];
    // every echo request to the ghost floods: the switch never learns a destination
    await lab.lab.ip(h1.ns, 'neigh', 'replace', kGhostIp, 'lladdr', kGhostMac, 'dev', h1.tap, 'nud', 'permanent');
  });
  after(() => lab.stop());

  /** h1 sends echo requests to `addr` every `interval` s for `seconds`; returns how many and over how long (ms). */
  async function blast(
    h: LabHost,
    addr: string,
    seconds: number,
    interval = 0.001,
  ): Promise<{ sent: number; ms: number }> {
    const b = addr === kBroadcast ? ['-b'] : [];
    // with no replies ping sleeps 10 ms between sends (100/s); a preload of 10 lets it catch up in bursts
    const r = await lab.lab.exec(
      h.ns,
      ['ping', '-4', '-q', ...b, '-l', '10', '-i', String(interval), '-w', String(seconds), addr],
      { timeoutMs: (seconds + 10) * 1000 },
    );
    const m = r.stdout.match(/(\d+) packets transmitted, \d+ received.*time (\d+)ms/);
    assert.ok(m, `ping ${addr}: ${r.stdout}${r.stderr}`);
    return { sent: Number(m[1]), ms: Number(m[2]) };
  }

  /** Frames matching `filter` that h2 receives while `work` runs (capture stopped once delivery settles). */
  async function received(filter: string, work: () => Promise<void>): Promise<number> {
    const dump = await lab.capture(lab.hosts[1], filter);
    await work();
    await new Promise((r) => setTimeout(r, 300)); // the last frames are still on their way to the TAP
    const out = await dump.stop();
    return out.split('\n').filter((l) => l.trim()).length;
  }

  const stormDrops = async () => (await lab.counters()).ports.p1.drops['storm-limit'] ?? 0;

  test('without a limit every flooded frame arrives', async () => {
    let b = { sent: 0, ms: 0 };
    const got = await received(`icmp and dst host ${kGhostIp}`, async () => {
      b = await blast(lab.hosts[0], kGhostIp, 1, 0.002);
    });
    assert.ok(b.sent > 100, `sent ${b.sent}`);
    assert.ok(got >= b.sent - 2, `h2 received ${got} of ${b.sent} unknown-unicast frames`);
    assert.equal(await stormDrops(), 0);
  });

  test(`--storm-limit ${kLimit}: unknown unicast reaches h2 at the limit; known unicast is unaffected`, async () => {
    const [h1, h2] = lab.hosts;
    const r = await lab.daemon.cli('port', 'policy', 's1', 'p1', '--storm-limit', String(kLimit));
    assert.equal(r.code, 0, r.stderr);
    const shown: { policy: { stormLimit?: number } } = await lab.daemon.json('port', 'policy', 's1', 'p1');
    assert.equal(shown.policy.stormLimit, kLimit);
    assert.equal(await lab.ping(h1, h2.ip4, { count: 1 }), 0); // ARP resolved and both MACs learned before the storm

    const before = await lab.counters();
    let b = { sent: 0, ms: 0 };
    let loss = -1;
    const got = await received(`icmp and dst host ${kGhostIp}`, async () => {
      const storm = blast(h1, kGhostIp, 3);
      await new Promise((res) => setTimeout(res, 300));
      loss = await lab.ping(h1, h2.ip4, { count: 10 }); // 2 s of known unicast inside the 3 s storm
      b = await storm;
    });
    const afterC = await lab.counters();
    const expected = kBurst + (kLimit * b.ms) / 1000;
    const dropped = afterC.ports.p1.drops['storm-limit'] - (before.ports.p1.drops['storm-limit'] ?? 0);
    const flooded = afterC.ports.p2.txFlood - before.ports.p2.txFlood;
    console.log(
      `# storm: sent ${b.sent} in ${b.ms} ms, h2 got ${got} (expected ${expected.toFixed(0)}), storm-limit drops ${dropped}, p2 txFlood ${flooded}`,
    );
    assert.ok(b.sent > 2 * expected, `the storm must exceed the limit: sent ${b.sent} in ${b.ms} ms`);
    assert.ok(
      got >= expected * 0.8 && got <= expected * 1.2,
      `h2 received ${got} flooded frames, expected ${expected.toFixed(0)} +-20%`,
    );
    assert.ok(
      dropped >= b.sent - got - 5 && dropped <= b.sent + 10,
      `storm-limit drops ${dropped}, sent ${b.sent}, passed ${got}`,
    );
    assert.ok(flooded >= got && flooded <= got + 20, `p2 txFlood ${flooded} vs ${got} captured`);
    assert.equal(loss, 0, 'known unicast h1 -> h2 during the storm');
  });

  test(`--storm-limit ${kLimit}: broadcast is limited too`, async () => {
    const h1 = lab.hosts[0];
    const d0 = await stormDrops();
    let b = { sent: 0, ms: 0 };
    const got = await received(`icmp and dst host ${kBroadcast}`, async () => {
      b = await blast(h1, kBroadcast, 2);
    });
    const dropped = (await stormDrops()) - d0;
    const expected = kBurst + (kLimit * b.ms) / 1000;
    console.log(
      `# broadcast storm: sent ${b.sent} in ${b.ms} ms, h2 got ${got} (expected ${expected.toFixed(0)}), storm-limit drops ${dropped}`,
    );
    assert.ok(b.sent > 2 * expected, `sent ${b.sent} in ${b.ms} ms`);
    assert.ok(
      got >= expected * 0.8 && got <= expected * 1.2,
      `h2 received ${got} broadcasts, expected ${expected.toFixed(0)} +-20%`,
    );
    assert.ok(
      dropped >= b.sent - got - 5 && dropped <= b.sent + 10,
      `storm-limit drops ${dropped}, sent ${b.sent}, passed ${got}`,
    );
  });

  test('--storm-limit 0 turns it off again', async () => {
    const r = await lab.daemon.cli('port', 'policy', 's1', 'p1', '--storm-limit', '0');
    assert.equal(r.code, 0, r.stderr);
    const d0 = await stormDrops();
    let b = { sent: 0, ms: 0 };
    const got = await received(`icmp and dst host ${kGhostIp}`, async () => {
      b = await blast(lab.hosts[0], kGhostIp, 1, 0.002);
    });
    assert.ok(got >= b.sent - 2, `h2 received ${got} of ${b.sent}`);
    assert.equal(await stormDrops(), d0);
  });
});
