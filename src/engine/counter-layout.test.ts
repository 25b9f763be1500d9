/**
 * The counter registry: every row the CLI and API showed before the registry keeps its name and index,
 * a second claim on an index fails at load, and the MAC table and flow table count in place (a learn is
 * in the shared block at once, with no breath to copy it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counters, declaredRows, declareDrops, declarePortCounters } from '../dataplane/counters.js';
import { FlowTable } from '../policy/conntrack.js';
import { FlowKey } from '../policy/flow-key.js';
import { PacketPool } from '../dataplane/pool.js';
import { buildUdp4 } from '../packet/frame.js';
import { Engine } from './engine.js';
import './counter-layout.js';

const names = (kind: 'drop' | 'port' | 'switch') => declaredRows(kind).map((r) => `${r.index}:${r.name}`);

test('every existing row keeps its name and index', () => {
  assert.deepEqual(
    names('drop'),
    [
      ...[
        'malformed',
        'truncated-vlan',
        'src-multicast',
        'vlan-not-allowed',
        'same-port',
        'link-down',
        'mtu-exceeded',
        'no-buffer',
        'ring-full',
        'tx-error',
      ],
      ...[
        'framing-error',
        'oversize',
        'bad-vnet-hdr',
        'gso-unsupported',
        'gso-malformed',
        'acl-deny',
        'mac-spoofing',
        'dhcp-guard',
        'router-guard',
      ],
      ...['storm-limit', 'pvlan-isolated', 'qos-queue-full'],
      // rows added after the registry: new codes at the end
      ...['vlan-tagged-on-access', 'vlan-double-tagged', 'foreign-source'],
    ].map((n, i) => `${i + 1}:${n}`),
  );
  assert.deepEqual(
    names('port'),
    [
      ...[
        'rxFrames',
        'rxBytes',
        'txFrames',
        'txBytes',
        'txUnicast',
        'txFlood',
        'vlanStripped',
        'vlanInserted',
        'linkChanges',
      ],
      ...['offSegmented', 'offSegments', 'offCsum', 'offCoalesced', 'mirrorCopies', 'qosDelayed'],
      ...['macLimitRefused'],
    ].map((n, i) => `${i}:${n}`),
  );
  assert.deepEqual(
    names('switch'),
    [
      ...['fdbEntries', 'fdbLearned', 'fdbAged', 'fdbMoved', 'fdbRefused', 'fdbFlushed', 'breaths', 'frames'],
      ...['flowsActive', 'flowsCreated', 'flowsExpired', 'flowsRefused'],
      ...['fdbEvicted', 'flowsEarlyDropped', 'flowsQuotaRefused'],
      // the poll window and the worker's GC (engine/poll-window.ts, engine/gc-watch.ts)
      ...[
        'pollWindows',
        'pollWindowCatches',
        'pollWindowFrames',
        'gcMinor',
        'gcMajor',
        'gcPauseUs',
        'gcMaxPauseUs',
        'gcLongPauses',
      ],
    ].map((n, i) => `${i}:${n}`),
  );
});

test('a second feature claiming a taken index, or a taken name, fails at load with both names', () => {
  assert.throws(
    () => declareDrops('test', [[16, 'my-deny', 'x']] as const),
    /test: drop reason code 16 for 'my-deny' is already 'acl-deny'/,
  );
  assert.throws(
    () => declarePortCounters('test', [[20, 'rxFrames', 'x']] as const),
    /'rxFrames' is already declared as per-port counter 0/,
  );
  assert.throws(() => declareDrops('test', [[0, 'none', 'x']] as const), /outside 1\.\.32/);
  declareDrops('switch', [[1, 'malformed', 'the same row again']] as const); // re-declaring a row as it is is harmless
});

test('the MAC table counts in place: a learn, a move and a flush show in the block at once, no breath', () => {
  const e = new Engine();
  const p0 = e.addPort();
  const p1 = e.addPort();
  e.fdb.learn((1 << 16) | 0x0200, 0x01, p0, 0);
  let g = e.counters.readGlobal();
  assert.deepEqual([g.fdbEntries, g.fdbLearned], [1, 1]);
  e.fdb.learn((1 << 16) | 0x0200, 0x01, p1, 0);
  e.fdbFlush(p1);
  g = e.counters.readGlobal();
  assert.deepEqual([g.fdbEntries, g.fdbLearned, g.fdbMoved, g.fdbFlushed], [0, 1, 1, 1]);
});

test('the flow table counts in place into the block it was given', () => {
  const counters = new Counters();
  const flows = new FlowTable(1);
  flows.countInto(counters.c);
  const pool = new PacketPool({ slots: 64, slotSize: 2048 });
  const key = new FlowKey();
  const s = pool.load(
    buildUdp4({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
    }),
  );
  key.parse(pool, s);
  const first = flows.insert(0, key, true, 0, 30);
  assert.ok(first >= 0);
  key.srcPort = 9; // another flow: the table (capacity 1) is full of an unassured flow, which makes room
  assert.ok(flows.insert(0, key, true, 0, 30) >= 0);
  let g = counters.readGlobal();
  assert.deepEqual([g.flowsActive, g.flowsCreated, g.flowsRefused, g.flowsEarlyDropped], [1, 2, 0, 1]);
  flows.setQuota(0, 1); // port 0 holds 1 flow: its next one is over its quota
  key.srcPort = 10;
  assert.equal(flows.insert(0, key, true, 0, 30), -1);
  g = counters.readGlobal();
  assert.deepEqual([g.flowsActive, g.flowsCreated, g.flowsEarlyDropped, g.flowsQuotaRefused], [1, 2, 1, 1]);
});
