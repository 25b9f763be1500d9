/**
 * Poll window tests, without a single timing assertion: what is checked is who gets polled and what the
 * counters say. Off (0) polls nothing; on, a wake that switched frames opens a window that takes frames a
 * NIC had waiting (counted as caught work); a target that never runs dry still ends the window (the cap);
 * a window never opens inside another. The engine scenario runs real frames from a polled NIC through the
 * pipeline to another port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../dataplane/counters.js';
import { Meta } from '../dataplane/slot-meta.js';
import { MemoryNic } from '../ports/memory.js';
import type { Nic, NicSink } from '../ports/nic.js';
import { engineCounters } from './counter-layout.js';
import { Engine } from './engine.js';
import { PollWindow, type PollTarget } from './poll-window.js';

const rows = (c: Counters) => ({
  windows: c.c[engineCounters.pollWindows],
  catches: c.c[engineCounters.pollWindowCatches],
  frames: c.c[engineCounters.pollWindowFrames],
});

/** A target whose pollNics returns the next entry of `work` (0 once they run out). */
function target(work: number[]): PollTarget & { polls: number; rings: number } {
  return {
    polls: 0,
    rings: 0,
    pollNics() {
      return work[this.polls++] ?? 0;
    },
    pollRings() {
      this.rings++;
      return 0;
    },
  };
}

test('off (0): a wake that did work opens no window and polls nothing', () => {
  const c = new Counters();
  const t = target([5]);
  const w = new PollWindow(t, c);
  w.afterWork();
  assert.equal(t.polls, 0);
  assert.equal(t.rings, 0);
  assert.deepEqual(rows(c), { windows: 0, catches: 0, frames: 0 });
});

test('on: frames waiting when the wake ends are caught and counted; a window with nothing is counted too', () => {
  const c = new Counters();
  const t = target([3, 0, 2]);
  const w = new PollWindow(t, c);
  w.windowUs = 1000;
  w.afterWork();
  assert.ok(t.polls >= 3, 'polled past the last catch');
  assert.equal(t.rings, t.polls, 'rings are polled with the NICs');
  assert.deepEqual(rows(c), { windows: 1, catches: 1, frames: 5 });
  // a window that finds nothing: opened, not a catch
  w.afterWork();
  assert.deepEqual(rows(c), { windows: 2, catches: 1, frames: 5 });
});

test('bounded: a target that never runs dry still ends the window', () => {
  const c = new Counters();
  let polls = 0;
  const w = new PollWindow(
    {
      pollNics: () => {
        polls++;
        return 1;
      },
      pollRings: () => 0,
    },
    c,
  );
  w.windowUs = 50;
  w.afterWork(); // returns: the run is capped (kRunCap windows), whatever keeps arriving
  assert.ok(polls > 0);
  assert.deepEqual(rows(c), { windows: 1, catches: 1, frames: polls });
});

test('a window never opens inside another (a NIC polled in a window flushes, which ends in afterWork)', () => {
  const c = new Counters();
  let inner = 0;
  const w: PollWindow = new PollWindow(
    {
      pollNics: () => {
        inner++;
        w.afterWork(); // what a TapNic's flush inside the window does
        return inner === 1 ? 1 : 0;
      },
      pollRings: () => 0,
    },
    c,
  );
  w.windowUs = 100;
  w.afterWork();
  assert.equal(rows(c).windows, 1);
});

/** A NIC that can be polled: frames staged with `queue` are delivered only when polled. */
class PolledNic implements Nic {
  readonly kind = 'polled';
  sink: NicSink | null = null;
  polls = 0;
  private readonly waiting: Uint8Array[] = [];
  open(sink: NicSink): void {
    this.sink = sink;
    sink.connected();
  }
  queue(f: Uint8Array): void {
    this.waiting.push(f);
  }
  poll(): number {
    this.polls++;
    const sink = this.sink!;
    let n = 0;
    for (const f of this.waiting.splice(0)) {
      const s = sink.alloc();
      sink.pool.bytes.set(f, sink.pool.frameStart(s));
      sink.pool.meta32[(s << Meta.shift) + Meta.len] = f.length;
      sink.receive(s);
      n++;
    }
    if (n > 0) sink.flush();
    return n;
  }
  transmit(_slots: Int32Array, count: number): number {
    return count;
  }
  close(): void {}
  describe(): Record<string, unknown> {
    return {};
  }
}

const frame = (dst: number, src: number) => {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, dst], 0);
  f.set([0x02, 0, 0, 0, 0, src], 6);
  f[12] = 0x08;
  return f;
};

function rig(pollWindowUs: number) {
  const e = new Engine({ pollWindowUs });
  const a = new MemoryNic();
  const b = new PolledNic();
  const pa = e.addPort();
  const pb = e.addPort();
  e.attach(pa, a);
  e.attach(pb, b);
  return { e, a, b };
}

test('engine: with the window on, a frame waiting on a polled NIC after a wake is switched in the window', () => {
  const { e, a, b } = rig(1000);
  b.queue(frame(1, 2)); // B's reply is already waiting when A's frame is switched
  a.inject(frame(2, 1));
  assert.equal(a.received.length, 1, "B's frame reached A without a wake of its own");
  assert.ok(b.polls >= 2, 'polled again after the catch, until the window passed with nothing');
  assert.deepEqual(rows(e.counters), { windows: 1, catches: 1, frames: 1 });
});

test('engine: with the window off, the waiting frame stays until its own wake; nothing is polled', () => {
  const { e, a, b } = rig(0);
  b.queue(frame(1, 2));
  a.inject(frame(2, 1));
  assert.equal(b.polls, 0);
  assert.equal(a.received.length, 0);
  assert.deepEqual(rows(e.counters), { windows: 0, catches: 0, frames: 0 });
  // turned on at runtime (what setPollWindow does on a worker)
  e.window.windowUs = 200;
  a.inject(frame(2, 1));
  assert.equal(a.received.length, 1);
  assert.deepEqual(rows(e.counters), { windows: 1, catches: 1, frames: 1 });
});
