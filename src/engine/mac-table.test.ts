/**
 * One port cannot starve the MAC table (docs/reliability.md), with real frames through the whole
 * pipeline: a port flooding random source MACs fills the table, yet a new station on another port is
 * learned (the oldest entry makes room, counted `fdbEvicted`) and its unicast is delivered to it alone
 * instead of flooding; with a per-port MAC limit the flooding port cannot fill the table at all, and
 * what it is refused is counted on it (`macLimitRefused`) while its frames still go through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock } from '../dataplane/clock.js';
import { Counters } from '../dataplane/counters.js';
import { portCounters } from '../switch/counters.js';
import { fdbCounters } from '../switch/fdb.js';
import { PacketPool } from '../dataplane/pool.js';
import { MemoryNic } from '../ports/memory.js';
import { Engine } from './engine.js';

const kTable = 256;

/** A 60-byte frame from `src` to `dst` (6-byte arrays). */
function frame(dst: number[], src: number[]): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  return f;
}

function rig(): { eng: Engine; clock: Clock; nics: MemoryNic[] } {
  const clock = new Clock(true);
  const pool = new PacketPool({ slots: 1024, slotSize: 2048 });
  const eng = new Engine({ clock, pool, macTableSize: kTable, onLink: () => {} });
  const nics = [0, 1, 2].map(() => {
    const nic = new MemoryNic();
    eng.attach(eng.addPort(), nic);
    return nic;
  });
  return { eng, clock, nics };
}

const flooder = (i: number) => [0x02, 0x66, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];
const station = [0x02, 0, 0, 0, 0, 0x51];
const peer = [0x02, 0, 0, 0, 0, 0x52];

test('a full table evicts its oldest entry: a new station is learned and its unicast is not flooded', () => {
  const { eng, clock, nics } = rig();
  for (let i = 0; i < 4 * kTable; i++) {
    nics[0].inject(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], flooder(i)));
    if (i % kTable === 0) clock.advance(1000); // the flood spans seconds: older entries go first
  }
  for (const n of nics) n.received.length = 0;
  const g = () => eng.counters.readGlobal();
  assert.equal(g().fdbEntries, kTable, 'the flood filled the table');
  assert.equal(g().fdbEvicted, 3 * kTable, 'every flood address past the size evicted an older one');
  nics[1].inject(frame(peer, station)); // the new station speaks (to an unknown peer: flooded)
  for (const n of nics) n.received.length = 0;
  nics[2].inject(frame(station, peer)); // and is answered
  assert.deepEqual(
    nics.map((n) => n.received.length),
    [0, 1, 0],
    'the answer reached the station only: it was learned although the table was full',
  );
  assert.equal(g().fdbRefused, 0);
});

test('a MAC limit keeps a flooding port to its share; the refusals are counted on it, its frames still pass', () => {
  const { eng, nics } = rig();
  eng.setMacLimit(0, 16);
  for (let i = 0; i < 1000; i++) nics[0].inject(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], flooder(i)));
  const c = eng.counters.c;
  assert.equal(eng.counters.readGlobal().fdbEntries, 16);
  assert.equal(c[Counters.port(0, portCounters.macLimitRefused)], 1000 - 16);
  assert.equal(c[Counters.global(fdbCounters.fdbEvicted)], 0, 'the table never filled');
  assert.equal(nics[1].received.length, 1000, 'frames from unlearned addresses are still forwarded');
  nics[1].inject(frame(peer, station));
  nics[2].inject(frame(station, peer));
  assert.equal(nics[1].received.length, 1001, 'the station on port 1 was learned');
  eng.setMacLimit(0, 0);
  nics[0].inject(frame(peer, flooder(5000)));
  assert.equal(eng.counters.readGlobal().fdbEntries, 19, 'limit 0: learning again');
});

test('the MAC table is resized on a running engine: entries kept, the new size in force', () => {
  const { eng, clock, nics } = rig();
  for (let i = 0; i < 100; i++) nics[0].inject(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], flooder(i)));
  clock.advance(2000);
  nics[1].inject(frame(peer, station));
  assert.equal(eng.resizeFdb(32), 101 - 32, 'a smaller table keeps the 32 most recent');
  assert.equal(eng.counters.readGlobal().fdbEntries, 32);
  for (const n of nics) n.received.length = 0;
  nics[2].inject(frame(station, peer));
  assert.deepEqual(
    nics.map((n) => n.received.length),
    [0, 1, 0],
    'the station (seen last) is still known',
  );
  assert.equal(eng.resizeFdb(1000), 0);
  for (let i = 0; i < 500; i++) nics[0].inject(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], flooder(1000 + i)));
  assert.equal(
    eng.counters.readGlobal().fdbEntries,
    32 + 500,
    "room for more after growing (the peer took an evicted entry's place)",
  );
});
