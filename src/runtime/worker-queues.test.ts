/**
 * Steering and hand-over between workers, deterministically on one thread: two Engines share one pool,
 * one MAC table and one link state exactly as two worker threads do, each with its WorkerQueues over the
 * same QueueTables and rings (built by the control side, QueueControl). What is checked:
 * - steer(): VMQ filter -> the destination's queue and its worker; vRSS and filterless destinations ->
 *   the RSS bucket kRssBase + (Toeplitz hash & (size - 1)) and its worker; unhashable frames -> queue 0's
 *   worker; pinned source or destination (and unknown destinations while any port is pinned) -> worker 0;
 *   a held entry carries kHeld;
 * - engine hand-over: frames steered to the other worker wait in its ring until it drains, arrive in
 *   order, are delivered once; a held queue stays in the ring (and holds the ring behind it) on the new
 *   worker only, and the old worker still drains its own frames of that queue;
 * - the ring head is published only after delivery (what the move protocol waits for).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../dataplane/counters.js';
import { createSharedPool, PacketPool } from '../dataplane/pool.js';
import { Engine } from '../engine/engine.js';
import { buildArpRequest, buildUdp4 } from '../packet/frame.js';
import { parseMacWords } from '../packet/mac.js';
import { MemoryNic } from '../ports/memory.js';
import { Fdb } from '../switch/fdb.js';
import { QueueControl } from './queue-control.js';
import type { PortSpec } from '../engine/spec.js';
import { kHeld, kPinQ, kRssBase, kWorkerMask, QueueTables } from '../queues/queue-tables.js';
import { rssHash } from '../queues/rss.js';
import { WorkerQueues } from '../queues/worker-queues.js';

const macA = '02:00:00:00:00:0a';
const macB = '02:00:00:00:00:0b';
const macC = '02:00:00:00:00:0c';

function udp(src: string, dst: string, srcPort: number, seq = 0): Uint8Array {
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setUint32(0, seq);
  return buildUdp4({ srcMac: src, dstMac: dst, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort, dstPort: 9000, payload });
}

/** Two engines = two workers, ports a, b, c (each engine has its own MemoryNic per port: "its" reader). */
function twoWorkers(dvmq = false) {
  const slots = 1024;
  const shape = { slots, slotSize: 2048 };
  const { shared } = createSharedPool(shape);
  const fdb = new Fdb(1024);
  const linkState = new SharedArrayBuffer(256);
  const qc = new QueueControl(2, { vmqQueues: 4, rssTableSize: 8, dvmq: { enabled: dvmq } });
  const engines: Engine[] = [];
  const nics: MemoryNic[][] = [];
  for (let w = 0; w < 2; w++) {
    const e = new Engine({
      pool: new PacketPool(shape, shared),
      counters: new Counters(),
      fdb: new Fdb(1024, fdb.sab),
      linkState,
      queues: new WorkerQueues(qc.workerInit(w)),
    });
    const ns: MemoryNic[] = [];
    for (let p = 0; p < 3; p++) {
      e.addPort({ mode: 'untagged' }, 1500, p);
      const nic = new MemoryNic();
      // worker 0 hosts every NIC (owns link state); worker 1 reads and writes through its own MemoryNic
      if (w === 0) e.attach(p, nic);
      else e.attachRemote(p, nic, 0, true);
      ns.push(nic);
    }
    engines.push(e);
    nics.push(ns);
  }
  const cfgs: PortSpec[] = [
    { name: 'a', nic: { type: 'tap', name: 'ta' }, mac: macA },
    { name: 'b', nic: { type: 'tap', name: 'tb' }, mac: macB },
    { name: 'c', nic: { type: 'tap', name: 'tc' } },
  ];
  cfgs.forEach((c, i) => qc.portChanged(c, i));
  return { engines, nics, qc, cfgs, pool: engines[0]!.pool };
}

/**
 * Wait for a table change that goes through a fence (pinning): the two engines play their workers' part,
 * acknowledging the epoch and draining their rings, until the control side releases.
 */
async function settle(change: Promise<void>, engines: Engine[]): Promise<void> {
  let done = false;
  void change.then(() => (done = true));
  while (!done) {
    for (const e of engines) e.drainRings();
    await new Promise((r) => setTimeout(r, 1));
  }
}

function steerOf(e: Engine, frame: Uint8Array, port: number): { w: number; q: number } {
  e.mq!.flush(); // a breath boundary: the worker notices table changes (and drops its steering cache) here
  const pool = e.pool;
  const s = pool.load(frame, port);
  const w = e.mq!.steer(pool, e.ports, e.fdb, s, port);
  const q = e.mq!.queue;
  pool.free(s);
  return { w, q };
}

test('steer: VMQ filter, vRSS, RSS buckets, unhashable frames, pinned ports, held entries', async () => {
  const { engines, qc, cfgs } = twoWorkers();
  const e = engines[0]!;
  // dvmq off: queue q starts on worker q % 2; a got queue 1, b queue 2
  assert.equal(e.mq!.tables.queueOf(0), 1);
  assert.equal(e.mq!.tables.queueOf(1), 2);
  assert.equal(e.mq!.tables.queueOf(2), 0, 'no mac: no queue');
  assert.deepEqual(steerOf(e, udp(macA, macB, 1000), 0), { w: 0, q: 2 }, 'to b: b’s queue 2 on worker 0');
  assert.deepEqual(steerOf(e, udp(macB, macA, 1000), 1), { w: 1, q: 1 }, 'to a: a’s queue 1 on worker 1');
  // filterless destination: RSS bucket of the Toeplitz hash
  const f = udp(macA, macC, 1234);
  const pool = e.pool;
  const s = pool.load(f, 0);
  const h = rssHash(pool, s);
  pool.free(s);
  const bucket = kRssBase + (h & 7);
  assert.deepEqual(steerOf(e, f, 0), { w: e.mq!.tables.entry(bucket) & kWorkerMask, q: bucket });
  // ARP (not IP): no hash -> queue 0's worker
  const arp = buildArpRequest({ srcMac: macA, srcIp: '10.0.0.1', targetIp: '10.0.0.3' });
  assert.deepEqual(steerOf(e, arp, 0), { w: 0, q: 0 });
  // vRSS on b: its queue is spread by RSS
  qc.portChanged({ ...cfgs[1]!, rss: true }, 1);
  assert.equal(steerOf(e, udp(macA, macB, 1000), 0).q >= kRssBase, true);
  qc.portChanged(cfgs[1]!, 1);
  // pinned destination (a stateful ACL), then pinned source; unknown destinations go to worker 0 too
  await settle(qc.portChanged({ ...cfgs[0]!, policy: { stormLimit: 100 } }, 0), engines);
  assert.deepEqual(steerOf(e, udp(macB, macA, 1000), 1), { w: 0, q: kPinQ }, 'to a pinned port');
  assert.equal(steerOf(e, udp(macA, macB, 1000), 0).w, 0, 'from a pinned port');
  assert.equal(steerOf(e, udp(macB, macC, 1000), 1).w, 0, 'unknown destination while a port is pinned');
  await settle(qc.portChanged(cfgs[0]!, 0), engines);
  assert.equal(qc.fencesForced, 0);
  // a held entry: the steer result carries kHeld; only the named worker holds
  e.mq!.tables.setEntry(2, 1 | kHeld);
  assert.equal(steerOf(e, udp(macA, macB, 1000), 0).w, 1 | kHeld);
  assert.equal(engines[1]!.mq!.held(2), true);
  assert.equal(engines[0]!.mq!.held(2), false, 'the old worker drains what it has');
});

test('hand-over: frames for the other worker arrive in order, once; a held queue waits in the ring', () => {
  const { engines, nics, qc } = twoWorkers();
  const [e0, e1] = engines as [Engine, Engine];
  const t = e0.mq!.tables;
  // learn a and b on ports 0 and 1
  nics[0]![0]!.inject(udp(macA, macB, 1));
  nics[0]![1]!.inject(udp(macB, macA, 1));
  e1.drainRings();
  for (const n of nics.flat()) n.received.length = 0;
  // a's queue 1 is on worker 1: frames b -> a read by worker 0 wait in worker 1's ring
  const frames = Array.from({ length: 50 }, (_, i) => udp(macB, macA, 7, i));
  nics[0]![1]!.injectBatch(frames);
  assert.equal(
    nics[0]![0]!.received.length + nics[1]![0]!.received.length,
    0,
    'nothing delivered before worker 1 drains',
  );
  assert.equal(e1.mq!.waiting(), 50);
  assert.equal(e1.drainRings(), 50);
  const got = nics[1]![0]!.received.map((f) => new DataView(f.buffer, f.byteOffset).getUint32(42));
  assert.deepEqual(
    got,
    frames.map((_, i) => i),
    'delivered by worker 1, in order, once',
  );
  assert.equal(nics[0]![0]!.received.length, 0);
  // hold queue 1 on worker 1 (a move to it in progress): its frames stay in the ring until released
  t.setEntry(1, 1 | kHeld);
  nics[0]![1]!.injectBatch(frames.slice(0, 10));
  assert.equal(e1.drainRings(), 0, 'held');
  assert.equal(e1.mq!.waiting(), 10);
  t.setEntry(1, 1);
  assert.equal(e1.drainRings(), 10);
  // the old worker keeps switching frames of a queue held for another (they were steered before the move)
  t.setEntry(1, 1 | kHeld);
  assert.equal(e0.mq!.held(1), false);
  assert.equal(e1.mq!.held(1), true);
  t.setEntry(1, 1);
  void qc;
});

test('the ring head moves only after the batch was delivered', () => {
  const { engines, nics } = twoWorkers();
  const [, e1] = engines as [Engine, Engine];
  nics[0]![0]!.inject(udp(macA, macB, 1));
  nics[0]![1]!.inject(udp(macB, macA, 1));
  e1.drainRings();
  const ring = e1.mq!.in[0]!;
  const before = ring.publishedHead();
  let deliveredAtHead = -1;
  const nic = nics[1]![0]!;
  const orig = nic.transmit.bind(nic);
  nic.transmit = (slots, n) => {
    deliveredAtHead = ring.publishedHead();
    return orig(slots, n);
  };
  nics[0]![1]!.injectBatch([udp(macB, macA, 9, 1), udp(macB, macA, 9, 2)]);
  e1.drainRings();
  assert.equal(deliveredAtHead, before, 'head not yet published while delivering');
  assert.equal(ring.publishedHead() - before, 2);
  nic.transmit = orig;
});

test('shared MAC table: learning on either worker is seen by both; one entry count', () => {
  const { engines, nics } = twoWorkers();
  const [e0, e1] = engines as [Engine, Engine];
  nics[0]![0]!.inject(udp(macA, macC, 1)); // worker 0 reads it; whichever worker its bucket names learns a
  e1.drainRings();
  const { hi16, lo32 } = parseMacWords(macA);
  assert.equal(e1.fdb.lookup((1 << 16) | hi16, lo32), 0, 'worker 1 sees what worker 0 learned');
  assert.equal(e0.fdb.count, e1.fdb.count);
});

test('moderation on the hand-over: the doorbell rings after N frames or once T has passed (controlled clock)', async () => {
  const qc = new QueueControl(2, {
    vmqQueues: 1,
    rssTableSize: 1,
    dvmq: { enabled: false },
    moderation: { packets: 4, timeUs: 100 },
  });
  let now = 1_000;
  const wq = new WorkerQueues(qc.workerInit(0), () => now);
  const bell = () => Atomics.load(wq.tables.a, QueueTables.doorbell(1));
  const b0 = bell();
  // three frames, published, but under N and under T: no doorbell
  for (let i = 0; i < 3; i++) assert.equal(wq.send(1, i, 0), true);
  wq.flush();
  assert.equal(bell(), b0, 'N not reached, T not passed');
  assert.equal(qc.ringsInto(1)[0]!.available(), 3, 'the frames are published all the same');
  // the fourth reaches N: the next flush rings once
  assert.equal(wq.send(1, 3, 0), true);
  wq.flush();
  assert.equal(bell(), b0 + 1);
  // one frame, then T passes with no more traffic: the pending check rings it
  assert.equal(wq.send(1, 4, 0), true);
  wq.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(bell(), b0 + 1, 'T not yet passed');
  now += 100;
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(bell(), b0 + 2, 'rung once T passed');
  // off: every flush with frames rings
  wq.setModeration({ mode: 'off' });
  wq.send(1, 5, 0);
  wq.flush();
  assert.equal(bell(), b0 + 3);
  wq.stop();
});

test('steer caches its last VMQ decision until the tables change, and forgets it at the next breath', () => {
  const { engines } = twoWorkers();
  const e = engines[0]!;
  const t = e.mq!.tables;
  const pool = e.pool;
  const s = pool.load(udp(macA, macB, 1000), 0);
  const steer = () => e.mq!.steer(pool, e.ports, e.fdb, s, 0);
  e.mq!.flush();
  assert.equal(steer(), 0, "b's queue 2 on worker 0");
  t.setEntry(2, 1); // a move completed (the control thread bumps the epoch with it)
  assert.equal(steer(), 0, 'within the breath: the cached decision (the move protocol waits for the ack)');
  e.mq!.flush();
  assert.equal(steer(), 1, 'after the breath boundary: the new table');
  assert.equal(e.mq!.queue, 2);
  pool.free(s);
});

test('pinning a port under traffic: its frames already handed to another worker are switched before the pinned ones', async () => {
  const { engines, nics, qc, cfgs } = twoWorkers();
  const [e0, e1] = engines as [Engine, Engine];
  // learn a and b; a's queue 1 is on worker 1, so b -> a frames read by worker 0 go to worker 1
  nics[0]![0]!.inject(udp(macA, macB, 1));
  nics[0]![1]!.inject(udp(macB, macA, 1));
  e1.drainRings();
  for (const n of nics.flat()) n.received.length = 0;
  nics[0]![1]!.injectBatch(Array.from({ length: 20 }, (_, i) => udp(macB, macA, 7, i)));
  assert.equal(e1.mq!.waiting(), 20, 'in worker 1’s ring');
  // pin a (a storm limit): the change waits until worker 1 switched those 20; frames read meanwhile wait
  let done = false;
  const change = qc.portChanged({ ...cfgs[0]!, policy: { stormLimit: 1000 } }, 0).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 5));
  e0.drainRings(); // worker 0 acknowledges; worker 1 has not yet switched its 20
  nics[0]![1]!.injectBatch(Array.from({ length: 10 }, (_, i) => udp(macB, macA, 7, 20 + i))); // now pinned: to worker 0, held
  assert.equal(nics[0]![0]!.received.length, 0, 'the pinned frames wait');
  assert.equal(done, false);
  await settle(change, engines);
  e0.drainRings();
  const seq = (n: MemoryNic) => n.received.map((f) => new DataView(f.buffer, f.byteOffset).getUint32(42));
  assert.deepEqual(
    seq(nics[1]![0]!),
    Array.from({ length: 20 }, (_, i) => i),
    'worker 1 delivered the first 20',
  );
  assert.deepEqual(
    seq(nics[0]![0]!),
    Array.from({ length: 10 }, (_, i) => 20 + i),
    'worker 0 the 10 after, once those were out',
  );
  assert.equal(qc.fencesForced, 0);
});
