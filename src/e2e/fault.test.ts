/**
 * A datapath worker that dies is noticed and replaced (docs/reliability.md, "Datapath faults"). With the test-only hook
 * VSWITCH_FAULT_INJECT=1, `POST /v1/switches/s1/fault {worker}` makes a worker throw inside its next
 * breath, as a bug in a node would. The daemon must log the error with its stack, list a fault and a
 * restart in `vswitch events`, replace the switch's workers within 2 s, keep the TAP devices with their
 * addresses and neighbours (the control thread holds a dup of every TAP fd) and the configuration, count
 * the restart, and forward again. Faults that keep coming end the daemon with a non-zero code, for the
 * supervisor to restart it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from '../control/client.js';
import { netnsSkipReason } from '../testing/netns.js';
import { until } from '../testing/until.js';
import { SwitchLab, type LabHost } from './lab.js';

const skip = netnsSkipReason();
/** The recovery budget: the switch forwards again within 2 s of the fault (a restart takes about 0.5 s). */
const kRecoverMs = 2000;

interface Event {
  time: string;
  worker?: number;
  event?: 'fault' | 'restarted';
  reason: string;
}

async function datapathEvents(lab: SwitchLab): Promise<Event[]> {
  const all: Event[] = await lab.daemon.json('events');
  return all.filter((e) => e.worker !== undefined);
}

/** Addresses on a host's TAP and the host's neighbour entry for the other host (the state a VM would lose). */
async function hostState(
  lab: SwitchLab,
  h: LabHost,
  other: LabHost,
): Promise<{ addrs: string[]; ifindex: number; neigh: string }> {
  const link = JSON.parse(await lab.lab.ip(h.ns, '-j', 'addr', 'show', 'dev', h.tap))[0];
  const neigh = (await lab.lab.ip(h.ns, 'neigh', 'show', other.ip4, 'dev', h.tap)).trim();
  return {
    addrs: link.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`).sort(),
    ifindex: link.ifindex,
    neigh,
  };
}

/**
 * Arm the fault hook of a worker. Background frames (IPv6 router solicitations, MLD) may trip the fault
 * before the worker's reply reaches the daemon's main thread; the call then fails with the fault itself.
 */
async function arm(api: ApiClient, worker: number): Promise<void> {
  const r = await api.call('POST', '/switches/s1/fault', { worker }).catch((err: Error) => err.message);
  if (typeof r === 'string') assert.match(r, /datapath worker \d+ failed \(injected datapath fault/);
  else assert.deepEqual(r, { armed: true });
}

/** Send a few frames from a to b without waiting for answers: the breath that trips the armed fault. */
function poke(lab: SwitchLab, a: LabHost, b: LabHost): void {
  void lab.lab
    .exec(a.ns, ['ping', '-4', '-c', '3', '-i', '0.2', '-W', '1', b.ip4], { timeoutMs: 10_000 })
    .catch(() => {});
}

describe('a datapath worker that dies is replaced', { skip }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 2, switch: { workers: 2 }, env: { VSWITCH_FAULT_INJECT: '1' } }));
  after(() => lab.stop());

  test('fault in worker 0: logged with its stack, restarted within 2 s, TAPs, addresses, neighbours and config intact, ping resumes', async (t) => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    assert.equal(await lab.ping(h1, h2.ip4), 0);
    const before1 = await hostState(lab, h1, h2);
    const before2 = await hostState(lab, h2, h1);
    assert.match(before1.neigh, /lladdr/, 'h1 has resolved h2');
    const config = await lab.daemon.json('config', 'show');
    const rxBefore: number = (await lab.counters()).ports.p1.rxFrames;

    const api = new ApiClient(lab.daemon.api);
    await arm(api, 0);
    poke(lab, h1, h2);
    await until(() => lab.daemon.log.includes('datapath restarted'), 'the daemon to log a datapath restart', 15_000);

    const events = await datapathEvents(lab);
    const fault = events.find((e) => e.event === 'fault');
    const restarted = events.find((e) => e.event === 'restarted');
    assert.ok(fault && restarted, JSON.stringify(events));
    assert.equal(fault.worker, 0);
    assert.match(fault.reason, /injected datapath fault/);
    const took = Date.parse(restarted.time) - Date.parse(fault.time);
    t.diagnostic(`workers replaced ${took} ms after the fault (${restarted.reason})`);
    assert.ok(took <= kRecoverMs, `restarted ${took} ms after the fault (limit ${kRecoverMs})`);
    // the cause is in the daemon's log with its stack (a frame of the graph that threw)
    assert.match(lab.daemon.log, /datapath fault: switch s1 worker 0: Error: injected datapath fault[^\n]*\n\s+at /);

    // the same devices (same ifindex), with their addresses and neighbours: nothing was recreated
    assert.deepEqual(await hostState(lab, h1, h2), before1);
    assert.deepEqual(await hostState(lab, h2, h1), before2);
    assert.deepEqual(await lab.daemon.json('config', 'show'), config);
    const ports: Array<{ name: string; link: string }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(
      ports.map((p) => [p.name, p.link]),
      [
        ['p1', 'up'],
        ['p2', 'up'],
      ],
    );
    const status = await api.call<{ datapath: { workers: number; restarts: number } }>('GET', '/switches/s1');
    assert.equal(status.datapath.workers, 2);
    assert.equal(status.datapath.restarts, 1);
    assert.equal((await lab.counters()).datapath.restarts, 1);
    assert.match((await lab.daemon.cli('counters', 's1')).stdout, /Datapath: workers replaced 1 time after a fault/);
    const shown = (await lab.daemon.cli('events')).stdout;
    assert.match(shown, /s1 datapath fault worker 0 \(injected datapath fault/);
    assert.match(shown, /s1 datapath restarted worker 0 \(2 workers replaced in \d+ ms\)/);

    assert.equal(await lab.ping(h1, h2.ip4), 0, 'IPv4 forwards again');
    assert.ok((await lab.counters()).ports.p1.rxFrames > rxBefore, 'port counters keep their totals');
    assert.equal(await lab.ping(h2, h1.ip6), 0, 'IPv6 forwards again');
  });

  test('a TAP deleted and brought back by port connect is the one a later worker restart re-attaches', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    await lab.lab.ip(h1.ns, 'link', 'del', 'dev', h1.tap);
    const link = async () =>
      (await lab.daemon.json<Array<{ name: string; link: string }>>('port', 'list', 's1')).find((p) => p.name === 'p1')!
        .link;
    await until(async () => (await link()) === 'down', 'the switch to see the TAP go', 15_000);
    const r = await lab.daemon.cli('port', 'connect', 's1', 'p1');
    assert.equal(r.code, 0, r.stderr);
    await lab.lab.ip(h1.ns, 'addr', 'add', `${h1.ip4}/24`, 'dev', h1.tap);
    await lab.lab.ip(h1.ns, 'link', 'set', h1.tap, 'up');
    assert.equal(await lab.ping(h1, h2.ip4), 0, 'the re-created TAP carries traffic');
    const restarts = (await lab.counters()).datapath.restarts as number;
    await arm(new ApiClient(lab.daemon.api), 0);
    poke(lab, h1, h2);
    await until(
      async () => (await lab.counters()).datapath.restarts === restarts + 1,
      'a second datapath restart',
      15_000,
    );
    // the kept copy of the fd follows the revived device: the restart re-attaches to the new TAP, not the dead one
    assert.equal(
      await lab.ping(h1, h2.ip4),
      0,
      'the revived TAP still carries traffic after the workers were replaced',
    );
  });

  test('without VSWITCH_FAULT_INJECT the hook does not exist', async () => {
    const other = new SwitchLab();
    try {
      await other.start({ hosts: 1 });
      const r = await new ApiClient(other.daemon.api).call('POST', '/switches/s1/fault', { worker: 0 }).then(
        () => 'accepted',
        (err: Error) => err.message,
      );
      assert.match(r, /no such API path/);
    } finally {
      await other.stop();
    }
  });
});

describe('multi-queue TAPs survive a fault', { skip }, () => {
  const lab = new SwitchLab();
  before(() =>
    lab.start({
      hosts: 2,
      multiQueue: true,
      switch: { workers: 2, dvmq: { enabled: false } },
      env: { VSWITCH_FAULT_INJECT: '1' },
    }),
  );
  after(() => lab.stop());

  test('each worker takes its own kernel queue back: numqueues 2, addresses kept, ping resumes', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    assert.equal(await lab.ping(h1, h2.ip4), 0);
    const before1 = await hostState(lab, h1, h2);
    const api = new ApiClient(lab.daemon.api);
    // the kernel may steer the ping to either queue: arm both workers, the first breath trips
    await Promise.all([arm(api, 0), arm(api, 1)]);
    poke(lab, h1, h2);
    await until(() => lab.daemon.log.includes('datapath restarted'), 'the daemon to log a datapath restart', 15_000);
    // a listing during or right after the restart answers with the new workers
    const ports: Array<{ name: string; link: string }> = await lab.daemon.json('port', 'list', 's1');
    assert.deepEqual(
      ports.map((p) => [p.name, p.link]),
      [
        ['p1', 'up'],
        ['p2', 'up'],
      ],
    );
    for (const h of [h1, h2])
      assert.match(await lab.lab.ip(h.ns, '-d', 'link', 'show', 'dev', h.tap), /multi_queue numqueues 2\b/);
    assert.deepEqual(await hostState(lab, h1, h2), before1);
    assert.equal(await lab.ping(h1, h2.ip4), 0);
    assert.equal(await lab.ping(h2, h1.ip4), 0);
  });
});

describe('a datapath that keeps failing ends the daemon', { skip }, () => {
  const lab = new SwitchLab();
  before(() => lab.start({ hosts: 2, switch: { workers: 1 }, env: { VSWITCH_FAULT_INJECT: '1' } }));
  after(() => lab.stop());

  test('5 faults within 60 s: the daemon exits non-zero (for systemd Restart= to take over)', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const proc = lab.daemon.proc!;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const api = new ApiClient(lab.daemon.api);
    for (let i = 1; i <= 5; i++) {
      await arm(api, 0);
      poke(lab, h1, h2);
      if (i < 5)
        await until(() => (lab.daemon.log.match(/datapath restarted/g) ?? []).length === i, `restart ${i}`, 15_000);
    }
    const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 15_000))]);
    assert.equal(code, 70, `exit code (log:\n${lab.daemon.log})`);
    assert.match(lab.daemon.log, /5 datapath faults within 60 s/);
  });
});
