/**
 * Dynamic VMQ tests, driven by the switch's manual clock and synthetic per-queue loads: spreading above
 * the upper threshold, coalescing below the lower one, never pushing a target past the upper threshold
 * (property), hysteresis (property), stability under constant load (property), and settings validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Clock } from '../dataplane/clock.js';
import { DynamicVmq, type DvmqSettings } from './dvmq.js';

const kEps = 2e-9; // the balancer allows kLoadEps (1e-9) of rounding slack; re-summing here adds a little more

function settings(over: Partial<DvmqSettings> = {}): DvmqSettings {
  return {
    queueCount: 4,
    workerCount: 4,
    upperThreshold: 0.8,
    lowerThreshold: 0.2,
    samplePeriodMs: 100,
    minMoveIntervalMs: 1000,
    homeWorker: 0,
    ...over,
  };
}

function workerLoads(d: DynamicVmq, loads: Float64Array): number[] {
  const out = new Array<number>(d.settings.workerCount).fill(0);
  for (let q = 0; q < loads.length; q++) out[d.assignment[q]!]! += loads[q]!;
  return out;
}

test('all queues start on the home worker', () => {
  const d = new DynamicVmq(settings({ homeWorker: 2 }));
  assert.deepEqual([...d.assignment], [2, 2, 2, 2]);
});

test('spread: an overloaded home worker moves the smallest queue that brings it under, to the next worker', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings());
  // home load 0.5 + 0.3 + 0.1 + 0.05 = 0.95 > 0.8; removing 0.1 leaves 0.85 (still over), 0.3 leaves 0.65.
  const loads = new Float64Array([0.5, 0.3, 0.1, 0.05]);
  const mv = d.step(clock.nowMs, loads).toArray();
  assert.deepEqual(mv, [{ queue: 1, from: 0, to: 1, up: true }]);
  assert.deepEqual([...d.assignment], [0, 1, 0, 0]);
  assert.equal(d.movesUp, 1);
  assert.equal(d.movesTotal, 1);
  assert.ok(Math.abs(d.workerLoad[0]! - 0.65) < kEps);
});

test('spread: when no single queue suffices, the largest that fits moves, then again until under', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 4 }));
  // 4 x 0.4 = 1.6 on home: no single removal brings it <= 0.8, so move one (0.4), then 1.2 -> one more.
  const loads = new Float64Array([0.4, 0.4, 0.4, 0.4]);
  const mv = d.step(clock.nowMs, loads).toArray();
  assert.equal(mv.length, 2);
  for (const m of mv) assert.equal(m.up, true);
  const wl = workerLoads(d, loads);
  for (const l of wl) assert.ok(l <= 0.8 + kEps, `worker load ${l} over upper`);
  // First target is worker 1 (next after home); it takes 0.4 then is full for the next 0.4 (0.8 fits exactly).
  assert.deepEqual(
    mv.map((m) => m.to),
    [1, 1],
  );
});

test('spread: skips a worker that the queue would push past upper and wraps to the next that fits', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 5, workerCount: 3, homeWorker: 1 }));
  const loads = new Float64Array([0.3, 0.3, 0.3, 0.3, 0.3]);
  const mv = d.step(clock.nowMs, loads).toArray();
  // Home 1 holds 1.5. Moves go to 2 (after 1), then 2 is full at 0.6 + 0.3 > 0.8 -> wrap to 0.
  assert.deepEqual(
    mv.map((m) => m.to),
    [2, 2, 0],
  );
  for (const l of workerLoads(d, loads)) assert.ok(l <= 0.8 + kEps);
});

test('refused: a queue heavier than upper never moves, and the refusal is counted', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 1 }));
  const mv = d.step(clock.nowMs, new Float64Array([0.95]));
  assert.equal(mv.length, 0);
  assert.equal(d.refusedForThreshold, 1);
  assert.equal(d.movesTotal, 0);
});

test('refused: when every other worker is too full, nothing moves and each overloaded worker counts a refusal', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 4, workerCount: 2, minMoveIntervalMs: 0 }));
  const loads = new Float64Array([0.7, 0.7, 0.1, 0.1]);
  d.step(clock.nowMs, loads); // q0 and q2 -> worker 1: 0.8 / 0.8
  assert.deepEqual([...d.assignment], [1, 0, 1, 0]);
  clock.advance(100);
  loads.set([0.75, 0.75, 0.1, 0.1]); // both workers 0.85, and any move would push the other past 0.8
  const refusedBefore = d.refusedForThreshold;
  assert.equal(d.step(clock.nowMs, loads).length, 0);
  assert.equal(d.refusedForThreshold - refusedBefore, 2);
});

test('coalesce: a worker below the lower threshold hands its queues back to home once hysteresis allows', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ minMoveIntervalMs: 1000 }));
  const loads = new Float64Array([0.5, 0.3, 0.1, 0.05]);
  d.step(clock.nowMs, loads); // queue 1 -> worker 1
  assert.equal(d.assignment[1], 1);
  // Traffic drops: worker 1 has 0.05 < 0.2; home has 0.3 -> room.
  loads.set([0.2, 0.05, 0.05, 0.0]);
  clock.advance(100);
  assert.equal(d.step(clock.nowMs, loads).length, 0, 'queue 1 moved 100 ms ago: held by hysteresis');
  clock.advance(900); // 1000 ms since the move
  const mv = d.step(clock.nowMs, loads).toArray();
  assert.deepEqual(mv, [{ queue: 1, from: 1, to: 0, up: false }]);
  assert.deepEqual([...d.assignment], [0, 0, 0, 0]);
  assert.equal(d.movesDown, 1);
  assert.equal(d.movesTotal, 2);
});

test('coalesce: if home is too full, queues go to the next active worker that stays within upper', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 4, workerCount: 3, minMoveIntervalMs: 0 }));
  // Home 0 holds 1.45: q0 (largest, none alone suffices) -> 1; then q1 (smallest that suffices) skips 1
  // (0.45 + 0.45 > 0.8) and lands on 2.
  const mv1 = d.step(clock.nowMs, new Float64Array([0.45, 0.45, 0.45, 0.1])).toArray();
  assert.deepEqual(
    mv1.map((m) => [m.queue, m.to]),
    [
      [0, 1],
      [1, 2],
    ],
  );
  // Worker 1 drops to 0.05 (< lower); home is at 0.8 (no room); worker 2 is active at 0.5.
  clock.advance(100);
  const mv2 = d.step(clock.nowMs, new Float64Array([0.05, 0.5, 0.7, 0.1])).toArray();
  assert.deepEqual(mv2, [{ queue: 0, from: 1, to: 2, up: false }]);
  assert.deepEqual([...d.assignment], [2, 2, 0, 0]);
});

test('coalesce: idle queues left on a worker return home; home never coalesces', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ queueCount: 3, workerCount: 3, minMoveIntervalMs: 0 }));
  const loads = new Float64Array([0.5, 0.4, 0.4]);
  d.step(clock.nowMs, loads);
  assert.ok(d.movesUp >= 1);
  for (let i = 0; i < 3; i++) {
    clock.advance(100);
    d.step(clock.nowMs, new Float64Array([0, 0, 0]));
  }
  assert.deepEqual([...d.assignment], [0, 0, 0]);
  clock.advance(100);
  assert.equal(d.step(clock.nowMs, new Float64Array([0, 0, 0])).length, 0);
});

test('sampling period: a call sooner than samplePeriodMs after the last evaluation does nothing', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ minMoveIntervalMs: 0 }));
  const loads = new Float64Array([0.4, 0.4, 0.4, 0.4]);
  d.step(clock.nowMs, new Float64Array(4)); // evaluates (first call), nothing to do
  clock.advance(50);
  assert.equal(d.step(clock.nowMs, loads).length, 0);
  assert.equal(d.periods, 1);
  clock.advance(50);
  assert.ok(d.step(clock.nowMs, loads).length > 0);
  assert.equal(d.periods, 2);
});

/** Random scenario: settings plus a sequence of (time advance, per-queue loads) samples. */
const scenario = fc
  .record({
    queueCount: fc.integer({ min: 1, max: 8 }),
    workerCount: fc.integer({ min: 1, max: 4 }),
    upper: fc.double({ min: 0.3, max: 1, noNaN: true }),
    lowerFrac: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
    samplePeriodMs: fc.integer({ min: 1, max: 200 }),
    minMoveIntervalMs: fc.integer({ min: 0, max: 2000 }),
    homeSeed: fc.nat(),
  })
  .chain((p) =>
    fc.record({
      p: fc.constant(p),
      steps: fc.array(
        fc.record({
          dt: fc.integer({ min: 0, max: 500 }),
          loads: fc.array(fc.double({ min: 0, max: 1.2, noNaN: true }), {
            minLength: p.queueCount,
            maxLength: p.queueCount,
          }),
        }),
        { minLength: 1, maxLength: 40 },
      ),
    }),
  );

function build(p: {
  queueCount: number;
  workerCount: number;
  upper: number;
  lowerFrac: number;
  samplePeriodMs: number;
  minMoveIntervalMs: number;
  homeSeed: number;
}): DynamicVmq {
  return new DynamicVmq({
    queueCount: p.queueCount,
    workerCount: p.workerCount,
    upperThreshold: p.upper,
    lowerThreshold: p.upper * p.lowerFrac,
    samplePeriodMs: p.samplePeriodMs,
    minMoveIntervalMs: p.minMoveIntervalMs,
    homeWorker: p.homeSeed % p.workerCount,
  });
}

test('property: no move ever leaves its target above the upper threshold', () => {
  fc.assert(
    fc.property(scenario, ({ p, steps }) => {
      const d = build(p);
      const clock = new Clock(true);
      for (const s of steps) {
        clock.advance(s.dt);
        const loads = Float64Array.from(s.loads);
        const mv = d.step(clock.nowMs, loads);
        const wl = workerLoads(d, loads);
        // Every target's load at the end of the period is at most its load right after the move (later
        // moves in the period only add to a target if they themselves fit, or take away).
        for (let i = 0; i < mv.length; i++) {
          const t = mv.to[i]!;
          if (wl[t]! > p.upper + kEps) return false;
        }
      }
      return true;
    }),
    { numRuns: 500 },
  );
});

test('property: a queue never moves twice within minMoveIntervalMs; counters add up', () => {
  fc.assert(
    fc.property(scenario, ({ p, steps }) => {
      const d = build(p);
      const clock = new Clock(true);
      const lastMove = new Map<number, number>();
      let seen = 0;
      for (const s of steps) {
        clock.advance(s.dt);
        const mv = d.step(clock.nowMs, Float64Array.from(s.loads));
        const inPeriod = new Set<number>();
        for (let i = 0; i < mv.length; i++) {
          const q = mv.queue[i]!;
          if (inPeriod.has(q)) return false;
          inPeriod.add(q);
          const last = lastMove.get(q);
          if (last !== undefined && clock.nowMs - last < p.minMoveIntervalMs) return false;
          lastMove.set(q, clock.nowMs);
        }
        seen += mv.length;
      }
      return d.movesTotal === seen && d.movesUp + d.movesDown === d.movesTotal;
    }),
    { numRuns: 500 },
  );
});

test('property: constant load settles (no moves after a few periods, so no ping-pong)', () => {
  fc.assert(
    fc.property(
      fc.record({
        queueCount: fc.integer({ min: 1, max: 8 }),
        workerCount: fc.integer({ min: 1, max: 4 }),
        upper: fc.double({ min: 0.3, max: 1, noNaN: true }),
        lowerFrac: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        samplePeriodMs: fc.constant(100),
        minMoveIntervalMs: fc.integer({ min: 0, max: 500 }),
        homeSeed: fc.nat(),
      }),
      fc.array(fc.double({ min: 0, max: 0.6, noNaN: true }), { minLength: 8, maxLength: 8 }),
      (p, all) => {
        const d = build(p);
        const clock = new Clock(true);
        const loads = Float64Array.from(all.slice(0, p.queueCount));
        // Each queue can move at most a bounded number of times; 4 * queues periods past hysteresis is ample.
        const settle = 4 * p.queueCount * (1 + Math.ceil(p.minMoveIntervalMs / 100));
        for (let i = 0; i < settle; i++) {
          d.step(clock.nowMs, loads);
          clock.advance(100);
        }
        const settled = d.movesTotal;
        for (let i = 0; i < 50; i++) {
          d.step(clock.nowMs, loads);
          clock.advance(100);
        }
        return d.movesTotal === settled;
      },
    ),
    { numRuns: 500 },
  );
});

test('stability: constant moderate load spread over workers makes no moves at all', () => {
  const clock = new Clock(true);
  const d = new DynamicVmq(settings({ minMoveIntervalMs: 0 }));
  const loads = new Float64Array([0.3, 0.3, 0.3, 0.3]); // 1.2 on home: two spreads, then 0.6 / 0.6
  for (let i = 0; i < 100; i++) {
    d.step(clock.nowMs, loads);
    clock.advance(100);
  }
  assert.equal(d.movesTotal, 2, 'two spreads in the first period, none after');
  assert.deepEqual(
    workerLoads(d, loads).map((l) => Math.round(l * 10) / 10),
    [0.6, 0.6, 0, 0],
  );
});

test('validation: each bad setting is rejected with a message naming the field and the legal range', () => {
  const cases: [Partial<DvmqSettings>, RegExp][] = [
    [{ upperThreshold: 0 }, /upperThreshold must be in \(0, 1\], got 0/],
    [{ upperThreshold: 1.5 }, /upperThreshold must be in \(0, 1\], got 1.5/],
    [{ upperThreshold: NaN }, /upperThreshold/],
    [{ lowerThreshold: 0 }, /lowerThreshold must be in \(0, upperThreshold=0.8\), got 0/],
    [{ lowerThreshold: 0.8 }, /lowerThreshold must be in \(0, upperThreshold=0.8\), got 0.8/],
    [{ lowerThreshold: 0.9 }, /lowerThreshold/],
    [{ samplePeriodMs: 0 }, /samplePeriodMs must be a finite number > 0, got 0/],
    [{ samplePeriodMs: Infinity }, /samplePeriodMs/],
    [{ minMoveIntervalMs: -1 }, /minMoveIntervalMs must be a finite number >= 0, got -1/],
    [{ homeWorker: 4 }, /homeWorker must be an integer in \[0, 4\), got 4/],
    [{ homeWorker: 1.5 }, /homeWorker/],
    [{ queueCount: 0 }, /queueCount must be an integer in \[1, /],
    [{ workerCount: 0 }, /workerCount must be an integer in \[1, /],
  ];
  for (const [over, re] of cases) assert.throws(() => new DynamicVmq(settings(over)), re, JSON.stringify(over));
  const d = new DynamicVmq(settings());
  assert.throws(() => d.step(0, new Float64Array(3)), /queueLoads must have queueCount=4 entries, got 3/);
  assert.throws(() => d.step(0, new Float64Array([0, -0.1, 0, 0])), /queueLoads\[1\] must be a finite number >= 0/);
  assert.throws(() => d.step(0, new Float64Array([0, 0, NaN, 0])), /queueLoads\[2\]/);
});
