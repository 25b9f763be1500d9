/**
 * Interrupt moderation tests on a deterministic microsecond clock: N-th packet before T signals,
 * T signals when fewer than N came, 'off' signals every packet, adaptive climbs and descends the presets
 * as the rate changes, shared vectors coalesce queues, and bad settings fail with clear messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Moderator, VectorTable, kPresets, kAdaptWindowUs, type ModerationSettings } from './moderation.js';

test('presets are as documented', () => {
  assert.deepEqual(kPresets.off, { packets: 1, timeUs: 0 });
  assert.deepEqual(kPresets.low, { packets: 4, timeUs: 25 });
  assert.deepEqual(kPresets.medium, { packets: 16, timeUs: 100 });
  assert.deepEqual(kPresets.high, { packets: 64, timeUs: 250 });
});

test('the N-th packet before T signals; the batch then starts over', () => {
  const m = new Moderator({ mode: 'medium' }); // 16 / 100 us
  for (let i = 0; i < 15; i++) assert.equal(m.onPacket(1000 + i), false, `packet ${i + 1}`);
  assert.equal(m.nextDeadline(), 1100);
  assert.equal(m.onPacket(1015), true, '16th packet, 15 us after the first');
  assert.equal(m.nextDeadline(), Infinity);
  assert.equal(m.onTimer(1100), false, 'nothing pending at the old deadline');
  assert.equal(m.onPacket(1020), false);
  assert.equal(m.nextDeadline(), 1120, 'deadline counts from the first unsignalled packet');
  assert.equal(m.signals, 1);
});

test('fewer than N packets: signalled at T after the first, not before', () => {
  const m = new Moderator({ mode: 'low' }); // 4 / 25 us
  assert.equal(m.onPacket(500), false);
  assert.equal(m.onPacket(510), false);
  assert.equal(m.onTimer(524), false);
  assert.equal(m.nextDeadline(), 525);
  assert.equal(m.onTimer(525), true);
  assert.equal(m.unsignalled, 0);
  // A late packet past T (timer missed) signals on arrival.
  assert.equal(m.onPacket(600), false);
  assert.equal(m.onPacket(630), true);
});

test("'off' signals every packet", () => {
  const m = new Moderator({ mode: 'off' });
  for (let i = 0; i < 10; i++) assert.equal(m.onPacket(i * 3), true);
  assert.equal(m.signals, 10);
  assert.equal(m.nextDeadline(), Infinity);
});

test('custom N/T; property: never more than N unsignalled, and no packet waits past T once the timer runs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 0, max: 500 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
      (n, t, gaps) => {
        const m = new Moderator({ packets: n, timeUs: t });
        let now = 0;
        let signals = 0;
        for (const g of gaps) {
          // Run the timer for every deadline that falls inside the gap, as the engine would.
          while (m.nextDeadline() <= now + g) {
            const d = m.nextDeadline();
            if (!m.onTimer(d)) return false;
            signals++;
          }
          now += g;
          if (m.onPacket(now)) signals++;
          if (m.unsignalled >= n) return false;
          if (m.unsignalled > 0 && m.nextDeadline() - now > t) return false;
        }
        return m.signals === signals;
      },
    ),
    { numRuns: 300 },
  );
});

test('adaptive: climbs the presets as the rate rises and falls back when it drops', () => {
  const m = new Moderator({ mode: 'adaptive' });
  assert.equal(m.preset, 'off');
  let now = 0;
  /** Send packets at `gapUs` spacing for `windows` adaptation windows; returns the preset then. */
  const run = (gapUs: number, windows: number): string => {
    const end = now + windows * kAdaptWindowUs;
    while (now < end) {
      m.onPacket(now);
      now += gapUs;
    }
    return m.preset;
  };
  assert.equal(run(100, 3), 'off'); // 10k pkt/s
  assert.equal(run(20, 3), 'low'); // 50k pkt/s
  assert.equal(run(5, 3), 'medium'); // 200k pkt/s
  assert.equal(run(1, 3), 'high'); // 1M pkt/s
  assert.equal(m.packets, 64);
  assert.equal(run(20, 3), 'low');
  assert.equal(run(100, 3), 'off');
  assert.equal(m.presetSwitches, 5);
});

test('adaptive: after a silence the first packet is signalled at once', () => {
  const m = new Moderator({ mode: 'adaptive' });
  let now = 0;
  for (; now < 3 * kAdaptWindowUs; now += 1) m.onPacket(now);
  assert.equal(m.preset, 'high');
  now += 1_000_000; // a second of nothing
  assert.equal(m.onPacket(now), true);
  assert.equal(m.preset, 'off');
});

test('shared vector: queues on one worker coalesce into one moderator; remap moves future packets only', () => {
  const v = new VectorTable(3, 2, { packets: 4, timeUs: 100 });
  assert.deepEqual([...v.vectorOf], [0, 0, 0]);
  assert.equal(v.onPacket(0, 10), -1);
  assert.equal(v.onPacket(1, 11), -1);
  assert.equal(v.onPacket(2, 12), -1);
  assert.equal(v.onPacket(0, 13), 0, 'fourth packet across three queues of worker 0');
  v.remap(2, 1);
  assert.equal(v.onPacket(2, 20), -1);
  assert.equal(v.moderators[1]!.unsignalled, 1);
  assert.equal(v.moderators[0]!.unsignalled, 0);
  assert.equal(v.onTimer(1, 119), false);
  assert.equal(v.onTimer(1, 120), true);
  assert.throws(() => v.remap(0, 2), /worker must be an integer in \[0, 2\), got 2/);
});

test('validation: bad N, T or mode are rejected with clear messages', () => {
  const bad: [unknown, RegExp][] = [
    [{ packets: 0, timeUs: 10 }, /packets \(N\) must be an integer >= 1, got 0/],
    [{ packets: 2.5, timeUs: 10 }, /packets \(N\) must be an integer >= 1, got 2.5/],
    [{ packets: 4, timeUs: -1 }, /timeUs \(T\) must be a finite number >= 0, got -1/],
    [{ packets: 4, timeUs: NaN }, /timeUs \(T\)/],
    [{ mode: 'turbo' }, /unknown mode "turbo"; expected one of off, low, medium, high, adaptive/],
    [{ mode: 'toString' }, /unknown mode "toString"/],
  ];
  for (const [s, re] of bad) assert.throws(() => new Moderator(s as ModerationSettings), re, JSON.stringify(s));
  assert.throws(() => new VectorTable(0, 1, { mode: 'off' }), /queueCount must be an integer >= 1, got 0/);
  assert.throws(() => new VectorTable(1, 1, { mode: 'off' }, 1), /homeWorker must be an integer in \[0, 1\), got 1/);
});
