import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kDefaultFlowTableSize } from './config.js';
import { FlowTable } from './conntrack.js';
import { FlowKey } from './flow-key.js';

/** A hand-filled key: (family, protocol, src words, dst words, ports) as a parsed frame would give. */
function k(src: number, dst: number, sp: number, dp: number, proto = 6, family = 4, hi = 0): FlowKey {
  const key = new FlowKey();
  key.family = family;
  key.protocol = proto;
  key.src[0] = src;
  key.dst[0] = dst;
  key.src[3] = hi;
  key.dst[3] = hi;
  key.srcPort = sp;
  key.dstPort = dp;
  key.hasPorts = 1;
  return key;
}
/** The reply of `key`: addresses and ports swapped. */
function reply(key: FlowKey): FlowKey {
  const r = new FlowKey();
  r.family = key.family;
  r.protocol = key.protocol;
  r.src.set(key.dst);
  r.dst.set(key.src);
  r.srcPort = key.dstPort;
  r.dstPort = key.srcPort;
  r.hasPorts = key.hasPorts;
  return r;
}

test('an outbound entry is found by the inbound reply (VM view), not by other ports, protocols or peers', () => {
  const t = new FlowTable(16);
  const syn = k(0x0a000001, 0x0a000002, 40000, 80);
  const e = t.insert(3, syn, true, 100, 60, 42);
  assert.ok(e >= 0);
  assert.equal(t.tag(e), 42);
  assert.equal(t.portOf(e), 3);
  assert.equal(t.lookup(3, reply(syn), false, 100), e, 'inbound reply');
  assert.equal(t.lookup(3, syn, true, 100), e, 'the next outbound frame');
  assert.equal(t.lookup(3, syn, false, 100), -1, 'the same bytes inbound are a different flow');
  assert.equal(t.lookup(4, reply(syn), false, 100), -1, 'another port');
  assert.equal(t.lookup(3, reply(k(0x0a000001, 0x0a000002, 40000, 80, 17)), false, 100), -1, 'UDP');
  assert.equal(t.lookup(3, reply(k(0x0a000001, 0x0a000003, 40000, 80)), false, 100), -1, 'another peer');
  assert.equal(t.lookup(3, reply(k(0x0a000001, 0x0a000002, 40001, 80)), false, 100), -1, 'another local port');
  assert.equal(
    t.lookup(3, reply(k(0x0a000001, 0x0a000002, 40000, 80, 6, 6)), false, 100),
    -1,
    'IPv6 with the same words',
  );
  // an entry created by an inbound frame (server side) is found by the outbound reply
  const inSyn = k(0x0a000009, 0x0a000001, 5555, 22);
  const e2 = t.insert(3, inSyn, false, 100, 60);
  assert.equal(t.lookup(3, reply(inSyn), true, 100), e2);
  assert.deepEqual([t.active, t.created, t.expired, t.refused], [2, 2, 0, 0]);
  // inserting an existing flow refreshes it, creates nothing
  assert.equal(t.insert(3, syn, true, 101, 60, 42), e);
  assert.equal(t.created, 2);
});

test('idle timeout: alive at exactly the timeout, absent one second later (and counted as expired)', () => {
  const t = new FlowTable(8);
  const key = k(1, 2, 3, 4);
  t.insert(0, key, true, 1000, 10);
  assert.ok(t.lookup(0, reply(key), false, 1010) >= 0, 'idle 10 s of 10: alive (refreshed to 1010)');
  assert.ok(t.lookup(0, reply(key), false, 1020) >= 0, 'refreshed: alive again 10 s later');
  assert.equal(t.lookup(0, reply(key), false, 1031), -1, 'idle 11 s: gone');
  assert.deepEqual([t.active, t.expired], [0, 1]);
  // an insert over an expired entry counts the old one expired and a new one created
  t.insert(0, key, true, 2000, 5);
  const before = [t.created, t.expired];
  t.insert(0, key, true, 2010, 5);
  assert.deepEqual([t.created, t.expired], [before[0]! + 1, before[1]! + 1]);
  assert.equal(t.active, 1);
});

test('expire(now) sweeps idle entries, keeps live ones, per-entry timeouts', () => {
  const t = new FlowTable(100);
  for (let i = 0; i < 60; i++) t.insert(1, k(i, 1000 + i, i, 80), true, 0, i % 2 === 0 ? 5 : 50);
  assert.equal(t.expire(5), 0);
  assert.equal(t.expire(6), 30);
  assert.deepEqual([t.active, t.expired], [30, 30]);
  for (let i = 0; i < 60; i++) assert.equal(t.lookup(1, k(i, 1000 + i, i, 80), true, 6) >= 0, i % 2 === 1, `flow ${i}`);
  assert.equal(t.expire(1000), 30);
  assert.equal(t.active, 0);
});

test('a table full of assured flows refuses inserts (counted) and takes them again after expiry', () => {
  const t = new FlowTable(4);
  for (let i = 0; i < 4; i++) assert.ok(t.insert(0, k(i, 9, 1, 2), true, 0, 10) >= 0);
  for (let i = 0; i < 4; i++) assert.ok(t.lookup(0, reply(k(i, 9, 1, 2)), false, 0) >= 0, 'a reply assures the flow');
  assert.equal(t.insert(0, k(99, 9, 1, 2), true, 0, 10), -1);
  assert.equal(t.insert(0, k(98, 9, 1, 2), true, 0, 10), -1);
  assert.deepEqual([t.active, t.created, t.refused], [4, 4, 2]);
  assert.ok(t.insert(0, k(2, 9, 1, 2), true, 1, 10) >= 0, 'an existing flow is still refreshed when full');
  t.expire(12);
  assert.ok(t.insert(0, k(99, 9, 1, 2), true, 12, 10) >= 0);
  assert.equal(t.refused, 2);
});

test('early drop: a full table evicts the stalest one-way flow for a new one; assured flows stay', () => {
  const t = new FlowTable(8);
  // port 1: 2 flows with replies (assured); port 2: 6 one-way flows (a scan), seen at seconds 0..5
  for (let i = 0; i < 2; i++) {
    t.insert(1, k(i, 9, 1, 2), true, 0, 100);
    t.lookup(1, reply(k(i, 9, 1, 2)), false, 0);
  }
  for (let i = 0; i < 6; i++) t.insert(2, k(100 + i, 9, 1, 2), true, i, 100);
  assert.equal(t.active, 8);
  // port 1 opens a new flow at second 6: the table is full, the stalest unassured entry (port 2's first) goes
  assert.ok(t.insert(1, k(50, 9, 1, 2), true, 6, 100) >= 0, 'the new flow is admitted');
  assert.deepEqual([t.active, t.earlyDropped, t.refused], [8, 1, 0]);
  assert.equal(t.lookup(2, k(100, 9, 1, 2), true, 6), -1, 'the stalest one-way flow was evicted');
  assert.ok(t.lookup(2, k(101, 9, 1, 2), true, 6) >= 0, 'the next one stays');
  for (let i = 0; i < 2; i++)
    assert.ok(t.lookup(1, k(i, 9, 1, 2), true, 6) >= 0, 'assured flows are never early-dropped');
  assert.deepEqual([t.countOf(1), t.countOf(2)], [3, 5]);
});

test('per-port quota: new flows beyond it are refused (counted) while other ports still get theirs', () => {
  const t = new FlowTable(64);
  t.setQuota(3, 4);
  for (let i = 0; i < 4; i++) assert.ok(t.insert(3, k(i, 9, 1, 2), true, 0, 10) >= 0);
  assert.equal(t.insert(3, k(9, 9, 1, 2), true, 0, 10), -1, 'the fifth flow of port 3 is refused');
  assert.ok(t.insert(3, k(1, 9, 1, 2), true, 1, 10) >= 0, 'an existing flow of port 3 is still refreshed');
  assert.ok(t.insert(4, k(9, 9, 1, 2), true, 0, 10) >= 0, 'port 4 is not affected');
  assert.deepEqual([t.quotaRefused, t.refused, t.countOf(3), t.countOf(4)], [1, 0, 4, 1]);
  t.removePort(3);
  assert.equal(t.countOf(3), 0, 'counts follow removals');
  assert.ok(t.insert(3, k(9, 9, 1, 2), true, 2, 10) >= 0, 'room again under the quota');
});

test('removePort drops only that port', () => {
  const t = new FlowTable(64);
  for (let i = 0; i < 40; i++) t.insert(i % 4, k(i, 7, 1, 2), true, 0, 10);
  assert.equal(t.removePort(2), 10);
  assert.equal(t.active, 30);
  for (let i = 0; i < 40; i++) assert.equal(t.lookup(i % 4, k(i, 7, 1, 2), true, 0) >= 0, i % 4 !== 2);
  assert.equal(t.expired, 0, 'removal by rule change is not an idle expiry');
});

test('backward-shift deletion keeps every remaining entry reachable (random model check, a crowded table)', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const t = new FlowTable(48); // 64 slots at 0.75 load: long probe runs, many wrap-arounds
  const model = new Map<number, { last: number; timeout: number }>();
  let now = 0;
  for (let step = 0; step < 20000; step++) {
    const id = rnd(80);
    const key = k(id, id * 7, id, 443, 6, 6, id * 31);
    const op = rnd(10);
    const m = model.get(id);
    const live = m !== undefined && now - m.last <= m.timeout;
    if (m !== undefined && !live && op < 8) model.delete(id); // lookup/insert remove it, as the table does
    if (op < 4) {
      const e = t.lookup(5, key, true, now);
      assert.equal(e >= 0, live, `step ${step} lookup ${id}`);
      if (live) m.last = now;
    } else if (op < 8) {
      const timeout = 1 + rnd(20);
      const e = t.insert(5, key, true, now, timeout);
      if (live || model.size < 48) {
        assert.ok(e >= 0, `step ${step} insert ${id}`);
        assert.ok(t.lookup(5, reply(key), false, now) >= 0, 'its reply (assured: never early-dropped here)');
        model.set(id, { last: now, timeout });
      } else assert.equal(e, -1);
    } else if (op === 8) {
      now += rnd(4);
    } else {
      const n = t.expire(now);
      let expect = 0;
      for (const [key2, v] of model) {
        if (now - v.last <= v.timeout) continue;
        model.delete(key2);
        expect++;
      }
      assert.equal(n, expect, `step ${step} expire`);
    }
    assert.equal(t.active, model.size, `step ${step} active`);
  }
});

test('capacity: default from config, validated', () => {
  assert.equal(new FlowTable().capacity, kDefaultFlowTableSize);
  assert.equal(new FlowTable(3).slots, 4);
  assert.equal(new FlowTable(48).slots, 64);
  assert.equal(new FlowTable(1).slots, 2);
  assert.throws(() => new FlowTable(0), /capacity/);
  assert.throws(() => new FlowTable(1.5), /capacity/);
});

test('entries: every live flow in the VM view (local = the port endpoint), idle time and timeout, for `vswitch flows`', () => {
  const t = new FlowTable(16);
  t.insert(3, k(0x0a000001, 0x0a000002, 40000, 80), true, 100, 60, 2); // outbound from port 3's endpoint
  t.insert(5, k(0x0a000009, 0x0a000003, 53, 5353, 17), false, 104, 30, 0); // inbound to port 5 (local = dst)
  const e = t.entries(110).sort((a, b) => a.port - b.port);
  assert.deepEqual(e, [
    {
      port: 3,
      family: 4,
      protocol: 6,
      localPort: 40000,
      remotePort: 80,
      local: [0x0a000001, 0, 0, 0],
      remote: [0x0a000002, 0, 0, 0],
      idleSeconds: 10,
      timeoutSeconds: 60,
      rule: 2,
    },
    {
      port: 5,
      family: 4,
      protocol: 17,
      localPort: 5353,
      remotePort: 53,
      local: [0x0a000003, 0, 0, 0],
      remote: [0x0a000009, 0, 0, 0],
      idleSeconds: 6,
      timeoutSeconds: 30,
      rule: 0,
    },
  ]);
  t.removePort(3);
  assert.deepEqual(
    t.entries(110).map((x) => x.port),
    [5],
  );
});
