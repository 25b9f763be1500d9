/**
 * FDB tests: learning, moves, static entries, eviction of the oldest entry when full, per-port limits,
 * aging, and backward-shift deletion checked against a Map model under heavy churn (fast-check). Keys are built exactly as the datapath builds them
 * (switch/forward.ts): hi = vid << 16 | mac[0..1], lo = mac[2..5] as a signed 32-bit word, so MACs with the
 * high bit of byte 2 set give negative `lo` keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fdb, kLearnLimited, kNoPort } from './fdb.js';

/** (vid, 6 MAC bytes) -> the two key words, as LearnNode/ForwardNode compute them from a DataView. */
function key(vid: number, mac: readonly number[]): [number, number] {
  const hi = (vid << 16) | (mac[0] << 8) | mac[1];
  const lo = (mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5] | 0;
  return [hi, lo];
}

const A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
const B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
/** Byte 2 >= 0x80: lo is negative as int32. */
const N = [0x52, 0x54, 0x80, 0x12, 0x34, 0x56];
const F = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe];

test('learn then lookup; unknown and other-VLAN keys miss', () => {
  const f = new Fdb(16);
  f.learn(...key(1, A), 3, 100);
  f.learn(...key(1, N), 4, 100);
  assert.equal(f.lookup(...key(1, A)), 3);
  assert.equal(f.lookup(...key(1, N)), 4);
  assert.equal(f.lookup(...key(1, B)), kNoPort);
  assert.equal(f.lookup(...key(2, A)), kNoPort, 'the key includes the VLAN');
  assert.ok(key(1, N)[1] < 0, 'test MAC must give a negative lo word');
  // lo given unsigned (getUint32 style) finds the same entry
  assert.equal(f.lookup(key(1, N)[0], key(1, N)[1] >>> 0), 4);
  assert.deepEqual(
    { count: f.count, learned: f.learned, moved: f.moved, refused: f.refused },
    { count: 2, learned: 2, moved: 0, refused: 0 },
  );
  // re-learning on the same port refreshes, it is neither a new entry nor a move
  f.learn(...key(1, A), 3, 105);
  assert.deepEqual({ count: f.count, learned: f.learned, moved: f.moved }, { count: 2, learned: 2, moved: 0 });
  const e = f.entries(110).sort((x, y) => x.port - y.port);
  assert.deepEqual(e, [
    { vid: 1, hi: 0x0200, lo: 0x0000000a, port: 3, static: false, age: 5 },
    { vid: 1, hi: 0x5254, lo: 0x80123456, port: 4, static: false, age: 10 },
  ]);
});

test('a MAC seen on another port moves, counted once per move', () => {
  const f = new Fdb(16);
  f.learn(...key(10, A), 1, 0);
  f.learn(...key(10, A), 2, 1);
  assert.equal(f.lookup(...key(10, A)), 2);
  f.learn(...key(10, A), 2, 2);
  f.learn(...key(10, A), 1, 3);
  assert.equal(f.lookup(...key(10, A)), 1);
  assert.deepEqual({ count: f.count, learned: f.learned, moved: f.moved }, { count: 1, learned: 1, moved: 2 });
  // the same MAC in another VLAN is another entry, not a move
  f.learn(...key(20, A), 3, 3);
  assert.deepEqual({ count: f.count, learned: f.learned, moved: f.moved }, { count: 2, learned: 2, moved: 2 });
});

test('static entries never move and survive flush unless includeStatic', () => {
  const f = new Fdb(16);
  assert.equal(f.addStatic(...key(1, A), 5), true);
  f.learn(...key(1, A), 6, 50);
  assert.equal(f.lookup(...key(1, A)), 5, 'static entry must not move');
  assert.equal(f.moved, 0);
  assert.equal(f.learned, 0, 'adding a static entry is not learning');
  f.learn(...key(1, B), 5, 50);
  f.learn(...key(1, N), 6, 50);
  assert.equal(f.count, 3);

  assert.equal(f.flush(5), 1, 'flush of port 5 removes only the dynamic entry');
  assert.equal(f.lookup(...key(1, A)), 5);
  assert.equal(f.lookup(...key(1, B)), kNoPort);
  assert.equal(f.lookup(...key(1, N)), 6);
  assert.equal(f.flush(), 1, 'flush all removes dynamic N, keeps static A');
  assert.equal(f.lookup(...key(1, A)), 5);
  assert.equal(f.count, 1);
  assert.equal(f.age(1_000_000, 1), 0, 'static entries never age');
  assert.equal(f.lookup(...key(1, A)), 5);
  assert.equal(f.flush(-1, true), 1);
  assert.equal(f.lookup(...key(1, A)), kNoPort);
  assert.deepEqual({ count: f.count, flushed: f.flushed }, { count: 0, flushed: 3 });

  // a learned entry turned static stops moving; addStatic replaces the port
  f.learn(...key(1, B), 1, 0);
  assert.equal(f.addStatic(...key(1, B), 2), true);
  assert.equal(f.count, 1);
  assert.equal(f.lookup(...key(1, B)), 2);
  f.learn(...key(1, B), 3, 0);
  assert.equal(f.lookup(...key(1, B)), 2);
});

test('full table: the least recently seen dynamic entry makes room, counted as evicted; statics never go', () => {
  const f = new Fdb(4);
  const macs = [0, 1, 2, 3, 4, 5, 6].map((i) => [0x02, 0, 0, 0, 0, i]);
  for (let i = 0; i < 4; i++) f.learn(...key(1, macs[i]), i, i); // seen 0, 1, 2, 3
  f.learn(...key(1, macs[4]), 4, 4);
  assert.equal(f.lookup(...key(1, macs[0])), kNoPort, 'seen 0: the oldest, evicted');
  assert.equal(f.lookup(...key(1, macs[4])), 4, 'the newcomer is learned');
  f.learn(...key(1, macs[1]), 1, 5); // refreshed: now the newest
  f.learn(...key(1, macs[5]), 5, 5);
  assert.equal(f.lookup(...key(1, macs[2])), kNoPort, 'seen 2 went, not the refreshed seen-1 entry');
  assert.equal(f.lookup(...key(1, macs[1])), 1);
  assert.deepEqual(
    { count: f.count, learned: f.learned, evicted: f.evicted, refused: f.refused },
    { count: 4, learned: 6, evicted: 2, refused: 0 },
  );
  f.learn(...key(1, macs[4]), 7, 6); // a move when full needs no room
  assert.equal(f.lookup(...key(1, macs[4])), 7);
  assert.equal(f.addStatic(...key(1, macs[0]), 9), true, 'a static entry evicts the oldest dynamic one (seen 3)');
  assert.equal(f.lookup(...key(1, macs[3])), kNoPort);
  assert.equal(f.evicted, 3);
  // a table of static entries only: nothing to evict
  const g = new Fdb(2);
  g.addStatic(...key(1, macs[0]), 1);
  g.addStatic(...key(1, macs[1]), 1);
  g.learn(...key(1, macs[2]), 2, 0);
  assert.deepEqual({ count: g.count, refused: g.refused, evicted: g.evicted }, { count: 2, refused: 1, evicted: 0 });
  assert.equal(g.addStatic(...key(1, macs[2]), 2), false);
  assert.throws(() => new Fdb(0), RangeError);
  assert.throws(() => new Fdb(1.5), RangeError);
});

test('a flood of new addresses from one port cannot keep a newcomer out, and does not evict a busy station', () => {
  const f = new Fdb(1024);
  const station = key(1, [0x02, 0, 0, 0, 0xaa, 0xaa]);
  f.learn(...station, 2, 0);
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    if (i % 1000 === 0) f.learn(...station, 2, ++now); // the station talks every second; the flood is faster
    f.learn(...key(1, [0x02, 0x66, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0]), 0, now);
  }
  assert.equal(f.lookup(...station), 2, 'the busy station stayed');
  assert.equal(f.count, 1024);
  assert.ok(f.evicted >= 20_000 - 1024, `flood entries evicted each other: ${f.evicted}`);
  const newcomer = key(7, [0x02, 0, 0, 0, 0xbb, 0xbb]);
  f.learn(...newcomer, 3, now);
  assert.equal(f.lookup(...newcomer), 3, 'a new station is learned while the table is full');
  assert.equal(f.refused, 0);
});

test('evictions within one second are spread over the table: probe chains stay short', () => {
  const f = new Fdb(1024);
  let x = 7;
  for (let i = 0; i < 20_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    f.learn(...key(1, [0x02, 0x66, (x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff]), 0, 5);
  }
  assert.ok(f.evicted > 18_000);
  assert.ok(longestRun(f) < 64, `longest probe run ${longestRun(f)} of ${f.capacity} slots`);
});

/** The longest run of occupied slots (a probe chain), wrapping around the end. */
function longestRun(f: Fdb): number {
  let best = 0;
  let run = 0;
  for (let n = 0; n < 2 * f.capacity; n++) {
    run = f.keyHi[n & (f.capacity - 1)] !== 0 ? run + 1 : 0;
    best = Math.max(best, Math.min(run, f.capacity));
  }
  return best;
}

test('port limit (port security): excess addresses refused on that port only; moves count; statics do not', () => {
  const f = new Fdb(100);
  const m = (i: number) => key(1, [0x02, 0, 0, 0, 1, i]);
  f.setLimit(1, 2);
  assert.equal(f.learn(...m(1), 1, 0), 0);
  assert.equal(f.learn(...m(2), 1, 0), 0);
  assert.equal(f.learn(...m(3), 1, 0), kLearnLimited, 'third address on port 1');
  assert.equal(f.lookup(...m(3)), kNoPort);
  assert.equal(f.learn(...m(2), 1, 1), 0, 'a known address still refreshes');
  assert.equal(f.learn(...m(3), 2, 0), 0, 'other ports are unaffected');
  assert.equal(f.learn(...m(3), 1, 1), kLearnLimited, 'a move onto a port at its limit is refused too');
  assert.equal(f.lookup(...m(3)), 2);
  assert.equal(f.learn(...m(1), 2, 1), 0, 'moving away frees a place');
  assert.deepEqual([f.portMacs[1], f.portMacs[2]], [1, 2]);
  assert.equal(f.learn(...m(3), 1, 2), 0);
  assert.deepEqual([f.portMacs[1], f.portMacs[2]], [2, 1]);
  assert.equal(f.addStatic(...m(9), 1), true, 'static entries are configuration, not counted');
  assert.equal(f.portMacs[1], 2);
  assert.equal(f.addStatic(...m(3), 1), true, 'a learned address made static leaves the count');
  assert.equal(f.portMacs[1], 1);
  assert.equal(f.flush(1), 1);
  assert.equal(f.portMacs[1], 0);
  f.setLimit(1, 0);
  for (let i = 10; i < 20; i++) assert.equal(f.learn(...m(i), 1, 3), 0, 'limit 0: unlimited');
  assert.equal(f.limitOf(1), 0);
  assert.equal(f.count, 3 + 10, 'm1 on port 2, the statics m3 and m9, ten new (m2 was flushed)');
});

test('aging: removes dynamic entries not refreshed for agingSeconds; 0 disables', () => {
  const f = new Fdb(64);
  f.learn(...key(1, A), 1, 100);
  f.learn(...key(1, B), 2, 100);
  f.learn(...key(1, N), 3, 100);
  f.addStatic(...key(1, F), 4);
  assert.equal(f.age(101, 2), 0);
  f.learn(...key(1, B), 2, 101); // refresh B
  assert.equal(f.age(1000, 0), 0, 'agingSeconds 0 never ages');
  assert.equal(f.age(102, 2), 2, 'A and N were last seen 2 s ago');
  assert.equal(f.lookup(...key(1, A)), kNoPort);
  assert.equal(f.lookup(...key(1, N)), kNoPort);
  assert.equal(f.lookup(...key(1, B)), 2);
  assert.equal(f.lookup(...key(1, F)), 4);
  assert.equal(f.age(103, 2), 1);
  assert.equal(f.lookup(...key(1, B)), kNoPort);
  assert.deepEqual({ count: f.count, aged: f.aged, flushed: f.flushed }, { count: 1, aged: 3, flushed: 0 });
});

test('remove returns whether an entry existed', () => {
  const f = new Fdb(8);
  assert.equal(f.remove(...key(1, A)), false);
  f.learn(...key(1, A), 1, 0);
  assert.equal(f.remove(...key(1, A)), true);
  assert.equal(f.remove(...key(1, A)), false);
  assert.equal(f.count, 0);
});

// ---- model-based churn ----

type Op =
  | { t: 'learn'; k: number; port: number; now: number }
  | { t: 'static'; k: number; port: number }
  | { t: 'remove'; k: number }
  | { t: 'flush'; port: number; all: boolean }
  | { t: 'age'; now: number; aging: number }
  | { t: 'limit'; port: number; n: number };

interface ModelEntry {
  port: number;
  isStatic: boolean;
  seen: number;
}

/** A universe of keys: few enough to collide and churn, spread over VLANs, with negative-lo MACs. */
function universe(n: number, rnd: () => number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const mac = [0x02, 0, 0, 0, 0, 0].map(() => Math.floor(rnd() * 256));
    mac[0] &= 0xfe; // unicast
    if (out.length % 2 === 0) mac[2] |= 0x80; // half with lo < 0
    const vid = 1 + Math.floor(rnd() * 4094);
    const k = key(vid, mac);
    const s = k.join(',');
    if (!seen.has(s)) {
      seen.add(s);
      out.push(k);
    }
  }
  return out;
}

type Stats = { learned: number; moved: number; refused: number; evicted: number; flushed: number; aged: number };

/** Dynamic entries of `port` in the model. */
function macsOf(m: Map<number, ModelEntry>, port: number): number {
  let n = 0;
  for (const e of m.values()) if (!e.isStatic && e.port === port) n++;
  return n;
}

/** The model's side of an eviction: the least recently seen dynamic entries are all candidates (seconds
 *  tie); exactly one of them must be gone from the table. False when there is no dynamic entry. */
function evictOne(f: Fdb, m: Map<number, ModelEntry>, keys: Array<[number, number]>, stats: Stats): boolean {
  let oldest = Infinity;
  for (const e of m.values()) if (!e.isStatic) oldest = Math.min(oldest, e.seen);
  if (oldest === Infinity) return false;
  const gone = [...m].filter(([k, e]) => !e.isStatic && e.seen === oldest && f.lookup(...keys[k]) === kNoPort);
  assert.equal(gone.length, 1, `one of the oldest (seen ${oldest}) evicted`);
  m.delete(gone[0][0]);
  stats.evicted++;
  return true;
}

/** `clock`: learning times never go back (the datapath clock is monotonic), so "least recently seen" is
 *  well defined; op.now only ever moves it forward. */
function applyBoth(
  f: Fdb,
  m: Map<number, ModelEntry>,
  keys: Array<[number, number]>,
  op: Op,
  max: number,
  stats: Stats,
  limits: number[],
  clock: { now: number },
): void {
  switch (op.t) {
    case 'learn': {
      const now = (clock.now = Math.max(clock.now, op.now));
      const r = f.learn(...keys[op.k], op.port, now);
      const e = m.get(op.k);
      const full = limits[op.port] > 0 && macsOf(m, op.port) >= limits[op.port];
      if (e) {
        if (e.port !== op.port) {
          if (e.isStatic) break;
          assert.equal(r, full ? kLearnLimited : 0);
          if (full) break;
          e.port = op.port;
          stats.moved++;
        }
        e.seen = now;
      } else if (full) assert.equal(r, kLearnLimited);
      else if (m.size >= max && !evictOne(f, m, keys, stats)) stats.refused++;
      else {
        m.set(op.k, { port: op.port, isStatic: false, seen: now });
        stats.learned++;
      }
      break;
    }
    case 'static': {
      const ok = f.addStatic(...keys[op.k], op.port);
      const e = m.get(op.k);
      const expect = e !== undefined || m.size < max || evictOne(f, m, keys, stats);
      assert.equal(ok, expect);
      if (expect) m.set(op.k, { port: op.port, isStatic: true, seen: 0 });
      break;
    }
    case 'limit':
      f.setLimit(op.port, op.n);
      limits[op.port] = op.n;
      break;
    case 'remove':
      assert.equal(f.remove(...keys[op.k]), m.delete(op.k));
      break;
    case 'flush': {
      const n = f.flush(op.port, op.all);
      let expect = 0;
      for (const [k, e] of m) {
        if ((op.port >= 0 && e.port !== op.port) || (e.isStatic && !op.all)) continue;
        m.delete(k);
        expect++;
      }
      assert.equal(n, expect);
      stats.flushed += n;
      break;
    }
    case 'age': {
      const n = f.age(op.now, op.aging);
      let expect = 0;
      for (const [k, e] of m) {
        if (op.aging <= 0 || e.isStatic || op.now - e.seen < op.aging) continue;
        m.delete(k);
        expect++;
      }
      assert.equal(n, expect);
      stats.aged += n;
      break;
    }
  }
}

function agree(f: Fdb, m: Map<number, ModelEntry>, keys: Array<[number, number]>, stats: object): void {
  for (let k = 0; k < keys.length; k++) {
    const e = m.get(k);
    assert.equal(f.lookup(...keys[k]), e ? e.port : kNoPort, `lookup of key #${k}`);
  }
  assert.equal(f.count, m.size);
  let occupied = 0;
  for (let i = 0; i < f.capacity; i++) if (f.keyHi[i] !== 0) occupied++;
  assert.equal(occupied, m.size, 'occupied slots = entries');
  for (let p = 0; p < 9; p++) assert.equal(f.portMacs[p], macsOf(m, p), `dynamic entries of port ${p}`);
  assert.deepEqual(
    { learned: f.learned, moved: f.moved, refused: f.refused, evicted: f.evicted, flushed: f.flushed, aged: f.aged },
    stats,
  );
}

function opArb(nKeys: number): fc.Arbitrary<Op> {
  const k = fc.integer({ min: 0, max: nKeys - 1 });
  const port = fc.integer({ min: 0, max: 5 });
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({ t: fc.constant('learn' as const), k, port, now: fc.integer({ min: 0, max: 20 }) }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('static' as const), k, port }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('remove' as const), k }) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('flush' as const),
        port: fc.integer({ min: -1, max: 5 }),
        all: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('age' as const),
        now: fc.integer({ min: 0, max: 25 }),
        aging: fc.integer({ min: 0, max: 10 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('limit' as const), port, n: fc.integer({ min: 0, max: 4 }) }) },
  );
}

test('property: random learn/static/remove/flush/age sequences agree with a Map model', () => {
  // maxEntries 8 -> capacity 16: probe chains collide, cluster and wrap around the end of the table
  const nKeys = 40;
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 1, max: 12 }),
      fc.array(opArb(nKeys), { minLength: 20, maxLength: 400, size: 'max' }),
      (seed, max, ops) => {
        let x = seed >>> 0 || 1;
        const rnd = () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
        const keys = universe(nKeys, rnd);
        const f = new Fdb(max);
        const m = new Map<number, ModelEntry>();
        const stats = { learned: 0, moved: 0, refused: 0, evicted: 0, flushed: 0, aged: 0 };
        const limits = new Array<number>(9).fill(0);
        const clock = { now: 0 };
        for (const op of ops) {
          applyBoth(f, m, keys, op, max, stats, limits, clock);
          agree(f, m, keys, stats);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('heavy churn: 200k random ops on a 1024-entry table stay consistent with the model', () => {
  let x = 12345;
  const rnd = () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  const nKeys = 3000;
  const keys = universe(nKeys, rnd);
  const max = 1024;
  const f = new Fdb(max);
  const m = new Map<number, ModelEntry>();
  const stats = { learned: 0, moved: 0, refused: 0, evicted: 0, flushed: 0, aged: 0 };
  const limits = new Array<number>(9).fill(0);
  limits[7] = 100;
  f.setLimit(7, 100);
  const clock = { now: 0 };
  let now = 0;
  for (let i = 0; i < 200_000; i++) {
    const r = rnd();
    const k = Math.floor(rnd() * nKeys);
    let op: Op;
    if (r < 0.67) op = { t: 'learn', k, port: Math.floor(rnd() * 8), now };
    else if (r < 0.97) op = { t: 'remove', k };
    else if (r < 0.985) op = { t: 'static', k, port: Math.floor(rnd() * 8) };
    else if (r < 0.995) op = { t: 'age', now: (now += 1), aging: 30 };
    else op = { t: 'flush', port: Math.floor(rnd() * 9) - 1, all: rnd() < 0.2 };
    applyBoth(f, m, keys, op, max, stats, limits, clock);
    if (i % 5000 === 0) agree(f, m, keys, stats);
  }
  agree(f, m, keys, stats);
  assert.ok(
    stats.learned > 50_000 && stats.evicted > 0,
    `churn exercised learning and eviction: ${JSON.stringify(stats)}`,
  );
});

test('resized: statics first, then the most recently seen; limits follow; the old table is untouched', () => {
  const f = new Fdb(16);
  const m = (i: number) => key(1, [0x02, 0, 0, 0, 2, i]);
  for (let i = 0; i < 10; i++) f.learn(...m(i), i % 3, i); // seen 0..9
  f.addStatic(...m(20), 5);
  f.setLimit(2, 7);
  const { table, dropped } = f.resized(4);
  assert.equal(dropped, 7);
  assert.deepEqual(
    table
      .entries(9)
      .map((e) => [e.lo & 0xff, e.static])
      .sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [7, false],
      [8, false],
      [9, false],
      [20, true],
    ],
  );
  assert.equal(table.limitOf(2), 7);
  assert.deepEqual(
    [table.portMacs[0], table.portMacs[1], table.portMacs[2]],
    [1, 1, 1],
    'entries 9, 7, 8 on ports 0, 1, 2',
  );
  assert.equal(f.count, 11, 'the old table still serves lookups until every worker has adopted the new one');
  const g = f.resized(64).table;
  assert.equal(g.count, 11);
  for (let i = 0; i < 10; i++) assert.equal(g.lookup(...m(i)), i % 3);
  // a view adopting the new buffer sees it whole
  const view = new Fdb(16, f.sab);
  view.adopt(64, g.sab);
  assert.equal(view.lookup(...m(20)), 5);
  assert.equal(view.capacity, 128);
});
