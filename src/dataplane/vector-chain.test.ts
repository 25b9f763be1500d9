/**
 * The egress walk: each vector goes through the nodes in list order with one call per node, a node that
 * holds frames sends them on at flush, the node rows count what entered each node, and a new stage is one
 * more entry in the list (here a stage that drops odd slots, inserted before the last).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counters } from './counters.js';
import { TxQueues } from './txq.js';
import { VectorChain, VectorNode } from './vector-chain.js';

/** Logs each vector and passes it on; the last node of a list (`tx`) only logs. */
class Passing extends VectorNode {
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {
    super();
  }
  protected push(port: number, slots: Int32Array, n: number): void {
    this.log.push(`${this.name} ${port}: ${Array.from(slots.subarray(0, n)).join(',')}`);
    if (this.name !== 'tx') this.emit(port, slots, n);
  }
}

/** Holds everything until flush. */
class Holding extends VectorNode {
  readonly name = 'hold';
  private readonly held: Array<[number, number[]]> = [];
  protected push(port: number, slots: Int32Array, n: number): void {
    this.held.push([port, Array.from(slots.subarray(0, n))]);
  }
  override flush(): void {
    for (const [p, s] of this.held.splice(0)) this.emit(p, Int32Array.from(s), s.length);
  }
}

/** The inserted stage: drops odd slots. */
class EvenOnly extends VectorNode {
  readonly name = 'even';
  private readonly out = new Int32Array(16);
  protected push(port: number, slots: Int32Array, n: number): void {
    let k = 0;
    for (let i = 0; i < n; i++) if ((slots[i] & 1) === 0) this.out[k++] = slots[i];
    this.emit(port, this.out, k);
  }
}

function queue(txq: TxQueues, port: number, slots: number[]): void {
  for (const s of slots) assert.ok(txq.push(port, s));
}

test('vectors walk the list in order, held frames go on at flush, node rows count what entered', () => {
  const log: string[] = [];
  const counters = new Counters();
  const chain = new VectorChain([new Passing('a', log), new Holding(), new Passing('tx', log)], counters, 3);
  const txq = new TxQueues();
  queue(txq, 5, [1, 2, 3]);
  queue(txq, 2, [4]);
  chain.run(txq);
  assert.deepEqual(log, ['a 5: 1,2,3', 'a 2: 4', 'tx 5: 1,2,3', 'tx 2: 4']);
  assert.equal(txq.dirtyCount, 0);
  assert.deepEqual(
    [3, 4, 5].map((r) => counters.c[Counters.nodePackets(r)]),
    [4, 4, 4],
  );
});

test('a new stage is one entry in the list', () => {
  const log: string[] = [];
  const counters = new Counters();
  const chain = new VectorChain([new Passing('a', log), new EvenOnly(), new Passing('tx', log)], counters, 0);
  const txq = new TxQueues();
  queue(txq, 1, [1, 2, 3, 4]);
  queue(txq, 3, [5]);
  chain.run(txq);
  assert.deepEqual(log, ['a 1: 1,2,3,4', 'tx 1: 2,4', 'a 3: 5'], 'an emptied vector goes no further');
  assert.deepEqual(
    [0, 1, 2].map((r) => counters.c[Counters.nodePackets(r)]),
    [5, 5, 2],
  );
});
