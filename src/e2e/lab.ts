/**
 * A switch lab for end-to-end tests: a vswitch daemon in its own namespace, N hosts in theirs, each
 * attached by a TAP the switch creates and moves into the host namespace, with IPv4 10.77.0.N/24 and IPv6
 * fd77::N/64. Built on testing/netns.ts (per-run prefix, cleanup by PID and namespace).
 */
import type { PortConfig, PortPolicy, SwitchConfig, VlanConfig } from '../control/model.js';
import { TestDaemon } from '../testing/daemon.js';
import { NetnsLab, runPrefix } from '../testing/netns.js';

export interface LabHost {
  ns: string;
  port: string;
  tap: string;
  ip4: string;
  ip6: string;
  mac: string;
}

/** A running tcpdump on a lab host's TAP (see SwitchLab.capture). */
export interface Capture {
  /** Resolves with tcpdump's output (one line per packet) once it has printed `count` packets; rejects
   *  after the timeout, or if tcpdump ends without printing any. */
  done: Promise<string>;
  /** Stop tcpdump now (SIGTERM, by PID) and return what it printed so far. */
  stop(): Promise<string>;
}

export interface LabOptions {
  hosts: number;
  vlans?: Array<VlanConfig | undefined>;
  /** Per host: open its TAP with TUNSETOFFLOAD (GSO and partial checksums). */
  offload?: boolean[];
  /** Per host: the port's policy from the start (set more later with `vswitch port policy`, lab.daemon.cli). */
  policy?: Array<PortPolicy | undefined>;
  extraPorts?: PortConfig[];
  /** Per host: the port's `mac` (its VMQ filter and MacAddressSpoofing check); the host's interface gets the
   *  same MAC before it comes up. */
  mac?: Array<string | undefined>;
  /** Open every host's TAP with IFF_MULTI_QUEUE (one kernel queue per datapath worker). */
  multiQueue?: boolean;
  /** Add a port named 'trunk': a QEMU-stream listener at `trunkPath` for a scripted endpoint. */
  trunkPath?: boolean;
  switch?: Partial<SwitchConfig>;
  /** Environment variables for the daemon (test hooks such as VSWITCH_FAULT_INJECT). */
  env?: Record<string, string>;
}

export class SwitchLab {
  readonly lab = new NetnsLab(runPrefix());
  daemon!: TestDaemon;
  readonly hosts: LabHost[] = [];
  swNs = '';
  trunkPath = '';

  async start(opts: LabOptions): Promise<void> {
    this.swNs = await this.lab.addNs('sw');
    this.daemon = new TestDaemon(this.swNs);
    const ports: PortConfig[] = [];
    for (let i = 1; i <= opts.hosts; i++) {
      const ns = await this.lab.addNs(`h${i}`);
      const tap = this.lab.ifname(`t${i}`);
      const port = `p${i}`;
      const vlan = opts.vlans?.[i - 1];
      const offload = {
        ...(opts.offload?.[i - 1] ? { offload: true } : {}),
        ...(opts.multiQueue ? { multiQueue: true } : {}),
      };
      const policy = opts.policy?.[i - 1];
      const mac = opts.mac?.[i - 1];
      ports.push({
        name: port,
        nic: { type: 'tap', name: tap, netns: ns, ...offload },
        ...(vlan ? { vlan } : {}),
        ...(policy ? { policy } : {}),
        ...(mac ? { mac } : {}),
      });
      this.hosts.push({ ns, port, tap, ip4: `10.77.0.${i}`, ip6: `fd77::${i}`, mac: '' });
    }
    ports.push(...(opts.extraPorts ?? []));
    if (opts.trunkPath) {
      this.trunkPath = this.daemon.path('trunk.sock');
      ports.push({ name: 'trunk', nic: { type: 'stream', mode: 'listen', path: this.trunkPath } });
    }
    await this.daemon.start({ switches: [{ name: 's1', ...opts.switch, ports }] }, undefined, opts.env);
    for (const [i, h] of this.hosts.entries()) {
      const mac = opts.mac?.[i];
      if (mac) await this.lab.ip(h.ns, 'link', 'set', 'dev', h.tap, 'address', mac);
      await this.lab.ip(h.ns, 'addr', 'add', `${h.ip4}/24`, 'dev', h.tap);
      await this.lab.ip(h.ns, '-6', 'addr', 'add', `${h.ip6}/64`, 'dev', h.tap, 'nodad');
      await this.lab.ip(h.ns, 'link', 'set', h.tap, 'up');
      h.mac = JSON.parse(await this.lab.ip(h.ns, '-j', 'link', 'show', h.tap))[0].address;
    }
  }

  /** ping from host a to an address; returns the loss percentage (100 when ping failed to run). */
  async ping(a: LabHost, addr: string, opts: { count?: number; size?: number; wait?: number } = {}): Promise<number> {
    const v6 = addr.includes(':');
    const r = await this.lab.exec(
      a.ns,
      [
        'ping',
        ...(v6 ? ['-6'] : ['-4']),
        '-c',
        String(opts.count ?? 3),
        '-i',
        '0.2',
        '-W',
        String(opts.wait ?? 2),
        '-s',
        String(opts.size ?? 56),
        addr,
      ],
      { timeoutMs: 30_000 },
    );
    const m = r.stdout.match(/([\d.]+)% packet loss/);
    return m ? Number(m[1]) : 100;
  }

  /**
   * Start `tcpdump -i TAP -n -l -p -e [-c count] FILTER` in host h's namespace and resolve once it is attached
   * (so a frame sent after this returns is seen). `done` settles at `count` packets or after `timeoutMs`
   * (default 30 s); `stop()` ends it early. The lab kills it on cleanup in any case.
   */
  async capture(h: LabHost, filter: string, opts: { count?: number; timeoutMs?: number } = {}): Promise<Capture> {
    const args = [
      'tcpdump',
      '-i',
      h.tap,
      '-n',
      '-l',
      '-p',
      '-e',
      ...(opts.count ? ['-c', String(opts.count)] : []),
      filter,
    ];
    const dump = this.lab.spawn(h.ns, args);
    let out = '';
    let err = '';
    dump.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    dump.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => dump.once('exit', () => r()));
    const t0 = Date.now();
    while (!err.includes('listening on')) {
      if (dump.exitCode !== null || dump.signalCode !== null) throw new Error(`tcpdump exited: ${err}`);
      if (Date.now() - t0 > 5000) {
        dump.kill('SIGTERM');
        throw new Error(`tcpdump did not attach to ${h.tap} in 5 s: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const stop = async (): Promise<string> => {
      if (dump.exitCode === null && dump.signalCode === null) {
        dump.kill('SIGTERM');
        await exited;
      }
      return out;
    };
    const done = new Promise<string>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        dump.kill('SIGTERM');
      }, timeoutMs);
      void exited.then(() => {
        clearTimeout(timer);
        if (timedOut)
          reject(
            new Error(
              `tcpdump '${filter}' on ${h.tap}: ${opts.count ?? 'any'} packets not seen in ${timeoutMs} ms; got:\n${out}`,
            ),
          );
        else if (out.trim()) resolve(out.trim());
        else reject(new Error(`tcpdump on ${h.tap} ended without a capture: ${err}`));
      });
    });
    done.catch(() => {}); // the caller awaits it; a test that fails elsewhere first must not leave an unhandled rejection
    return { done, stop };
  }

  counters(): Promise<any> {
    return this.daemon.json('counters', 's1');
  }

  async stop(): Promise<void> {
    try {
      if (this.daemon) await this.daemon.cleanup();
    } finally {
      await this.lab.cleanup();
    }
  }
}
