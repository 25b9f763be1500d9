/**
 * Micro-benchmark: nanoseconds per frame through PortAcls' ingress node ('acl-in') and admitEgress, with
 * no rules (the one typed-array read) and with 25 rules per port (the goal: a pipeline with 25 ACL entries
 * per port at >= 0.7 of the throughput without, judged by bench/pipeline.ts --compare). Not run by the tests.
 *
 *   npx tsc -p tsconfig.json && node dist/policy/acl.bench.js
 *
 * The rule sets are worst cases for the scan: the traffic matches only the last (least specific / lowest
 * weight) rule, so every frame walks all 25. 256 TCP/IPv4 frames of different flows (a full batch) are
 * cycled so the JIT cannot fold the work; aux is reset between rounds so denied frames stay in the batch.
 */
import { Clock } from '../dataplane/clock.js';
import { Counters } from '../dataplane/counters.js';
import { Batch, kMaxBatch } from '../dataplane/graph.js';
import { PacketPool } from '../dataplane/pool.js';
import { Meta } from '../dataplane/slot-meta.js';
import { buildTcp4 } from '../packet/frame.js';
import { PortAcls } from './acls.js';
import type { AclRule, ExtAclRule } from './config.js';
import { FlowKey } from './flow-key.js';

const kRounds = 28_000; // x 256 frames = ~7 M frames per case: timer noise well below 1%
const kPort = 1;

const pool = new PacketPool({ slots: 2 * kMaxBatch, slotSize: 2048 });
const counters = new Counters();
const clock = new Clock(true);
const acls = new PortAcls(pool, counters, clock);
const batch = new Batch();
for (let i = 0; i < kMaxBatch; i++) {
  const s = pool.load(
    buildTcp4({
      srcMac: '52:54:00:00:00:01',
      dstMac: '52:54:00:00:00:02',
      srcIp: '10.0.0.1',
      dstIp: `10.1.${i}.2`,
      srcPort: 40000 + i,
      dstPort: 443,
    }),
    kPort,
  );
  batch.slots[batch.count++] = s;
}

// 24 basic rules that miss (IPv4 /16../32 elsewhere, IPv6 prefixes, MACs), then 'any' allow (the match).
const basic25: AclRule[] = [];
for (let i = 0; i < 8; i++) basic25.push({ action: 'deny', direction: 'both', remoteIp: `192.168.${i}.0/24` });
for (let i = 0; i < 8; i++) basic25.push({ action: 'deny', direction: 'both', remoteIp: `2001:db8:${i}::/48` });
for (let i = 0; i < 4; i++)
  basic25.push({ action: 'deny', direction: 'both', localIp: `172.16.${i}.1`, remoteIp: '10.0.0.0/8' });
for (let i = 0; i < 4; i++) basic25.push({ action: 'deny', direction: 'both', remoteMac: `02:00:00:00:00:0${i}` });
basic25.push({ action: 'allow', direction: 'both', remoteIp: 'any' });

// 24 extended rules that miss (other ports, protocols, prefixes), then a low-weight allow-all (the match).
const ext25: ExtAclRule[] = [];
for (let i = 0; i < 12; i++)
  ext25.push({ action: 'deny', direction: 'both', weight: 100 - i, protocol: 'tcp', remotePort: `${1000 + i}` });
for (let i = 0; i < 6; i++) ext25.push({ action: 'deny', direction: 'both', weight: 80 - i, protocol: 'udp' });
for (let i = 0; i < 6; i++)
  ext25.push({ action: 'deny', direction: 'both', weight: 70 - i, remoteIp: `192.168.${i}.0/24`, localPort: '1-1023' });
ext25.push({ action: 'allow', direction: 'both', weight: 1 });

// Stateful: one stateful allow for the traffic at the top, 24 misses, deny-all inbound.
const stateful25: ExtAclRule[] = [
  { action: 'allow', direction: 'outbound', weight: 200, protocol: 'tcp', remotePort: '443', stateful: true },
];
for (let i = 0; i < 23; i++)
  stateful25.push({ action: 'deny', direction: 'both', weight: 100 - i, protocol: 'tcp', remotePort: `${1000 + i}` });
stateful25.push({ action: 'deny', direction: 'inbound', weight: 1 });

function ingressRound(): void {
  acls.ingress.process(batch);
  for (let i = 0; i < batch.count; i++) pool.meta32[(batch.slots[i]! << Meta.shift) + Meta.aux] = 0;
}
let sink = 0;
function egressRound(): void {
  for (let i = 0; i < batch.count; i++) sink += acls.admitEgress(kPort, batch.slots[i]!);
}

const kReps = 7; // best of 7: a shared (loaded) machine only ever adds time, so the minimum is the estimate
function time(name: string, round: () => void): number {
  for (let r = 0; r < kRounds / 10; r++) round(); // warm up: let the JIT optimise before timing
  let best = Infinity;
  for (let rep = 0; rep < kReps; rep++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < kRounds / kReps; r++) round();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (Math.floor(kRounds / kReps) * batch.count));
  }
  console.log(`${name.padEnd(52)} ${best.toFixed(1).padStart(6)} ns/frame`);
  return best;
}

const key = new FlowKey();

time('ingress, no rules', ingressRound);
time('FlowKey.parse alone (the floor of any rule check)', () => {
  for (let i = 0; i < batch.count; i++) sink += key.parse(pool, batch.slots[i]!) ? 1 : 0;
});
acls.set(kPort, basic25, []);
time('ingress, 25 basic ACL rules (all scanned)', ingressRound);
time('egress,  25 basic ACL rules (all scanned)', egressRound);
acls.set(kPort, [], ext25);
time('ingress, 25 extended ACL rules (all scanned)', ingressRound);
acls.set(kPort, basic25, ext25);
time('ingress, 25 basic + 25 extended', ingressRound);
acls.set(kPort, [], stateful25);
ingressRound(); // open the 256 flows
time('ingress, 25 extended, stateful flow hit', ingressRound);
time('egress,  25 extended, stateful flow hit (replies*)', egressRound);
console.log(`(* the same frames meet the inbound check: a miss on the flow table, then the rules; sink ${sink})`);
