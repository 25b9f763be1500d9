/**
 * End to end: no VLAN hopping by double tagging (docs/vlans.md). Hand-made frames go out of real
 * TAPs in namespace hosts (testing/raw-send.ts) and what the switch delivers is watched by tcpdump on the
 * far hosts' TAPs and by the drop counters.
 *
 * Hosts: h1 access 30 (the attacker); h2 trunk carrying 20 with native VLAN 30 (an untagged native
 * egress is where a hop would surface: [30, 20] stripped to [20]); h3 access 20 (the victim VLAN);
 * h4 trunk carrying 10 with native 30 (an attacker behind a trunk that may not send into VLAN 20).
 *
 * Each check ends with a control frame that must arrive, sent after the attack frames on the same path:
 * per-port order is kept, so the control arriving first proves nothing of the attack got through.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { rawSend, rawSendSkipReason } from '../testing/raw-send.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason();
const kAttacker = '02:00:00:00:66:01';
const kTrunkAttacker = '02:00:00:00:66:04';
const kProbe = '02:00:00:00:66:02';
const kEtherType = 0x88b5; // IEEE local experimental: no host stack reacts to it

/** A broadcast frame from `src` with 802.1Q tags (outer first, each [pcp, vid]) and `marker` as payload. */
function frame(src: string, tags: Array<[number, number]>, marker: string): Uint8Array {
  const payload = Buffer.alloc(46);
  payload.write(marker);
  const f = Buffer.alloc(14 + 4 * tags.length + payload.length);
  f.fill(0xff, 0, 6);
  Buffer.from(src.replace(/:/g, ''), 'hex').copy(f, 6);
  tags.forEach(([pcp, vid], i) => f.writeUInt32BE(((0x8100 << 16) | (pcp << 13) | vid) >>> 0, 12 + 4 * i));
  f.writeUInt16BE(kEtherType, 12 + 4 * tags.length);
  payload.copy(f, 14 + 4 * tags.length);
  return new Uint8Array(f);
}

describe('no VLAN hopping by double tagging', { skip }, () => {
  const lab = new SwitchLab();
  let noPython: string | false = false;

  before(async () => {
    await lab.start({
      hosts: 4,
      vlans: [
        { mode: 'access', vid: 30 },
        { mode: 'trunk', allowed: [20], native: 30 },
        { mode: 'access', vid: 20 },
        { mode: 'trunk', allowed: [10], native: 30 },
      ],
    });
    noPython = await rawSendSkipReason(lab.lab, lab.hosts[0].ns);
  });
  after(() => lab.stop());

  async function drops(port: string): Promise<Record<string, number>> {
    return (await lab.counters()).ports[port].drops;
  }

  /** Poll the counters until `port` has dropped `want` more frames for each reason than in `base`. */
  async function dropsReach(port: string, base: Record<string, number>, want: Record<string, number>): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const now = await drops(port);
      if (Object.entries(want).every(([r, n]) => (now[r] ?? 0) - (base[r] ?? 0) === n)) return;
      if (Date.now() - t0 > 10_000)
        assert.fail(
          `${port} drops ${JSON.stringify(now)} never reached ${JSON.stringify(want)} over ${JSON.stringify(base)}`,
        );
      await sleep(50);
    }
  }

  /** Start tcpdump on h for frames from any of `srcs`; `first` resolves with the first one it sees (its
   *  header line: tcpdump prints the payload of an unknown EtherType as hex lines after it). */
  async function firstFrom(h: LabHost, srcs: string[]): Promise<{ first: Promise<string> }> {
    const cap = await lab.capture(h, srcs.map((s) => `ether src ${s}`).join(' or '), { count: 1, timeoutMs: 15_000 });
    const first = cap.done.then((out) => out.split('\n')[0]);
    first.catch(() => {}); // awaited by the test; one failing earlier must not leave an unhandled rejection
    return { first };
  }

  test('an access port drops [own, other], [0, other], four tags and any single tag; a bare priority tag passes', async (t) => {
    if (noPython) return t.skip(noPython);
    const [h1, h2, h3] = lab.hosts;
    const base = await drops('p1');
    const tx3 = (await lab.counters()).ports.p3.txFrames;
    const atTrunk = await firstFrom(h2, [kAttacker]);
    const atVictim = await firstFrom(h3, [kAttacker, kProbe]);
    await rawSend(lab.lab, h1.ns, h1.tap, [
      frame(
        kAttacker,
        [
          [0, 30],
          [0, 20],
        ],
        'hop own-other',
      ), // the classic double tag
      frame(
        kAttacker,
        [
          [5, 0],
          [0, 20],
        ],
        'hop priority-other',
      ), // a priority tag over a VLAN tag
      frame(
        kAttacker,
        [
          [0, 30],
          [0, 20],
          [0, 10],
          [0, 5],
        ],
        'hop four-tags',
      ),
      frame(kAttacker, [[0, 30]], 'hop own'),
      frame(kAttacker, [[0, 20]], 'hop other'),
    ]);
    await dropsReach('p1', base, { 'vlan-tagged-on-access': 4, 'vlan-double-tagged': 1 });
    await rawSend(lab.lab, h1.ns, h1.tap, [frame(kAttacker, [[5, 0]], 'control priority')]);
    // The trunk's first frame from the attacker is the control, untagged in its native VLAN 30.
    const trunkLine = await atTrunk.first;
    assert.match(trunkLine, /ethertype Unknown \(0x88b5\)/, trunkLine);
    assert.doesNotMatch(
      trunkLine,
      /802\.1Q|vlan/,
      `native VLAN 30 leaves the trunk untagged, nothing inside: ${trunkLine}`,
    );
    // VLAN 20: a probe sent on the trunk in VLAN 20 after the attack arrives first.
    await rawSend(lab.lab, h2.ns, h2.tap, [frame(kProbe, [[0, 20]], 'probe vlan 20')]);
    const victimLine = await atVictim.first;
    assert.match(
      victimLine,
      new RegExp(kProbe),
      `nothing from the attacker reached VLAN 20 before the probe: ${victimLine}`,
    );
    const c = await lab.counters();
    assert.equal(c.ports.p3.txFrames, tx3 + 1, 'the victim port sent only the probe');
    assert.equal(c.ports.p1.vlanStripped, 1, 'only the priority tag was stripped on the access port');
  });

  test('via a trunk: a priority tag over a VLAN-20 tag from a trunk without VLAN 20 is dropped', async (t) => {
    if (noPython) return t.skip(noPython);
    const [, h2, , h4] = lab.hosts;
    const base = await drops('p4');
    const atTrunk = await firstFrom(h2, [kTrunkAttacker]);
    await rawSend(lab.lab, h4.ns, h4.tap, [
      frame(
        kTrunkAttacker,
        [
          [5, 0],
          [0, 20],
        ],
        'hop via trunk',
      ),
      frame(kTrunkAttacker, [[0, 20]], 'hop not allowed'),
    ]);
    await dropsReach('p4', base, { 'vlan-double-tagged': 1, 'vlan-not-allowed': 1 });
    await rawSend(lab.lab, h4.ns, h4.tap, [frame(kTrunkAttacker, [[5, 0]], 'control priority')]);
    const line = await atTrunk.first;
    assert.doesNotMatch(
      line,
      /802\.1Q|vlan/,
      `the first frame out of the native-30 trunk is the untagged control: ${line}`,
    );
    assert.match(line, /ethertype Unknown \(0x88b5\)/, line);
  });
});
