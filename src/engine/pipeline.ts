/**
 * The pipeline, in order, in one place (docs/design.md; Hyper-V's ingress and egress paths, VPP's
 * l2-input and l2-output). A batch received from the ports runs the ingress graph, which ends by
 * replicating each frame into one vector per destination port; each vector then walks the egress list to
 * its NIC. Nothing returns to a hub between stages: a graph node marks drops in the slot's `aux` and the graph
 * compacts; an egress node hands what survives to the next. A new stage (a VXLAN encap, a forwarding
 * extension) is one entry in one of the two lists below.
 *
 * Node names are counter rows (`nodes` in the API and CLI), ingress graph first, then the egress list.
 */
import type { Clock } from '../dataplane/clock.js';
import { type Counters, kMaxNodes } from '../dataplane/counters.js';
import { type Batch, Graph } from '../dataplane/graph.js';
import type { PacketPool } from '../dataplane/pool.js';
import { TapInNode, TapOutNode } from '../dataplane/tap.js';
import { TxQueues } from '../dataplane/txq.js';
import { VectorChain } from '../dataplane/vector-chain.js';
import { OffloadNode } from '../offload/egress.js';
import type { MinimumBandwidthMode } from '../policy/config.js';
import { PortAcls } from '../policy/acls.js';
import { GuardNode } from '../policy/guards.js';
import { Mirror } from '../policy/mirror.js';
import { ShaperNode } from '../policy/shaper-node.js';
import { EgressShaper } from '../policy/shaper.js';
import { StormNode } from '../policy/storm.js';
import { EgressNode } from '../switch/egress.js';
import type { Fdb } from '../switch/fdb.js';
import { ForwardNode, kFlood, LearnNode } from '../switch/forward.js';
import { IngressNode } from '../switch/ingress.js';
import type { PortTable } from '../switch/port-table.js';
import { CaptureTap } from './capture.js';
import { AttachedNode, type NicTable, TransmitNode } from './transmit.js';

export interface PipelineParts {
  pool: PacketPool;
  counters: Counters;
  clock: Clock;
  fdb: Fdb;
  ports: PortTable;
  nics: NicTable;
  minimumBandwidthMode: MinimumBandwidthMode;
  flowTableSize: number;
}

export class Pipeline {
  /** The features a control operation configures (port policy, captures, RSC). */
  readonly capture: CaptureTap;
  readonly mirror: Mirror;
  readonly guards: GuardNode;
  readonly acls: PortAcls;
  readonly storm: StormNode;
  readonly shaper: ShaperNode;
  readonly offload: OffloadNode;
  /** Ingress: a source batch in, one vector per destination port (`txq`) out. */
  readonly ingress: Graph;
  readonly txq = new TxQueues();
  /** Egress: each destination's vector, to its NIC. */
  readonly egress: VectorChain;

  constructor(x: PipelineParts) {
    const { pool, counters, clock, ports } = x;
    this.capture = new CaptureTap(pool, clock);
    this.mirror = new Mirror(pool, counters);
    const taps = [this.capture, this.mirror];
    this.guards = new GuardNode(pool);
    this.acls = new PortAcls(pool, counters, clock, x.flowTableSize);
    this.storm = new StormNode(pool, clock, kFlood);
    this.shaper = new ShaperNode(new EgressShaper(pool, clock, x.minimumBandwidthMode), pool, counters, clock);
    this.offload = new OffloadNode(pool, counters, ports.caps, ports.mtu);
    const attached = new AttachedNode(x.nics, pool, counters);

    this.ingress = new Graph(pool, counters)
      .add(new TapInNode(taps)) // capture and mirror, as received (tag still on)
      .add(new IngressNode(pool, ports, counters)) // length, VLAN classification, tag strip
      .add(this.guards) // MAC spoofing, DHCP guard, router guard, priority tag
      .add(this.acls.ingress) // outbound ACLs and extended ACLs of the source port
      .add(new LearnNode(pool, x.fdb, clock, counters))
      .add(new ForwardNode(pool, x.fdb))
      .add(this.storm) // flooded frames over the source's StormLimit
      .add(new EgressNode(pool, ports, this.txq, counters, this.acls)); // replicate: per destination link,
    // VLAN, private VLAN, inbound ACLs, MTU, tag insert
    this.egress = new VectorChain(
      [
        this.shaper, // MaximumBandwidth and MinimumBandwidth shares
        attached, // a NIC on this worker, or link-down
        this.offload, // segmentation, checksum completion, RSC
        new TapOutNode(taps, attached), // capture and mirror, as delivered; mirror copies enter at `attached`
        new TransmitNode(x.nics, pool, counters),
      ],
      counters,
      this.ingress.nodes.length,
    );
    if (this.ingress.nodes.length + this.egress.nodes.length > kMaxNodes)
      throw new Error('too many pipeline nodes for the counter block');
  }

  /** Node names in counter-row order. */
  nodeNames(): string[] {
    return [...this.ingress.nodes, ...this.egress.nodes].map((n) => n.name);
  }

  /** One batch, ports to ports. */
  run(batch: Batch): void {
    this.ingress.run(batch);
    this.egress.run(this.txq);
  }
}
