/**
 * ManagedSwitch: a running switch (runtime/switch-runtime.ts) as the management side uses it. The runtime
 * runs the datapath and answers in raw rows; this adds what belongs to management: packet captures to pcap
 * files (control/capture.ts), rule ids for ACLs that came without one, and the rows turned into the
 * names and text the API and CLI show (control/datapath-text.ts).
 */
import type { PortSpec, SwitchSpec } from '../engine/spec.js';
import { SwitchRuntime, type RuntimeHooks } from '../runtime/switch-runtime.js';
import { SwitchCaptures } from './capture.js';
import { fdbEntries, flowStatuses } from './datapath-text.js';
import type { FdbEntry, FlowStatus } from './model.js';
import { withRuleIds } from './rule-ids.js';

/** Capture ring entry size: a 9216-byte jumbo frame and its tag whole; longer GSO frames are cut, their
 *  original length kept in the pcap record (as tcpdump's snaplen does). */
const kCaptureSnap = 9216 + 18;

export class ManagedSwitch extends SwitchRuntime {
  /** Packet captures of this switch's ports; a ring entry holds one pool frame. */
  readonly captures: SwitchCaptures;

  constructor(cfg: SwitchSpec, hooks: RuntimeHooks) {
    super(cfg, hooks);
    this.captures = new SwitchCaptures(cfg.name, kCaptureSnap, (req) => this.captureCall(req));
  }

  override addPort(port: PortSpec): Promise<void> {
    return super.addPort(port.policy ? { ...port, policy: withRuleIds(port.policy) } : port);
  }

  override async removePort(name: string): Promise<void> {
    await super.removePort(name);
    await this.captures.portRemoved(name);
  }

  protected override datapathLost(): void {
    void this.captures.stopAll();
  }

  override async stop(dispose = false): Promise<void> {
    await this.captures.stopAll();
    await super.stop(dispose);
  }

  async fdbShow(): Promise<FdbEntry[]> {
    return fdbEntries(await this.fdbRows(), this.portNames());
  }

  async flows(port?: string): Promise<FlowStatus[]> {
    return flowStatuses(await this.flowRows(port), this.portNames());
  }
}
