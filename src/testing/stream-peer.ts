/**
 * A scripted endpoint on a QEMU-stream port for end-to-end tests: it connects to the switch's unix socket
 * exactly as QEMU does (4-byte big-endian length + frame), sends crafted frames (tagged ones too, which
 * host 8021q interfaces cannot produce here) and can answer ARP and ICMP echo for addresses it owns, in
 * whichever VLAN the question came, so a trunk port can be tested against real kernel stacks.
 */
import { connect, type Socket } from 'node:net';
import * as arp from '../packet/arp.js';
import { EtherType } from '../packet/ethernet.js';
import { buildArpReply, buildIcmpEcho, parseFrame, type ParsedFrame } from '../packet/frame.js';
import * as icmp from '../packet/icmp.js';
import * as ipv4 from '../packet/ipv4.js';

export interface SeenRequest {
  vid: number | null;
  kind: 'arp' | 'echo';
  from: string;
}

export class StreamPeer {
  private sock!: Socket;
  private buf = Buffer.alloc(0);
  readonly frames: Uint8Array[] = [];
  /** Requests answered, with the tag they arrived with (null = untagged). */
  readonly answered: SeenRequest[] = [];
  private owned: { ip: string; mac: string } | null = null;

  constructor(readonly path: string) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock = connect(this.path, () => resolve());
      this.sock.once('error', reject);
      this.sock.on('data', (d: Buffer) => this.onData(d));
    });
  }

  /** Answer ARP and ICMP echo for ip (with mac) in any VLAN, replying with the request's tag. */
  respondAs(ip: string, mac: string): void {
    this.owned = { ip, mac };
  }

  send(frame: Uint8Array): void {
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32BE(frame.length);
    this.sock.write(Buffer.concat([hdr, frame]));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve();
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      const frame = new Uint8Array(this.buf.subarray(4, 4 + n));
      this.buf = this.buf.subarray(4 + n);
      this.frames.push(frame);
      if (this.owned) this.answer(frame);
    }
  }

  private answer(frame: Uint8Array): void {
    const me = this.owned!;
    let f: ParsedFrame;
    try {
      f = parseFrame(frame);
    } catch {
      return;
    }
    const vlan = f.vlan ? { vid: f.vlan.vid, pcp: f.vlan.pcp } : undefined;
    if (f.ethertype === EtherType.arp) {
      const a = arp.parse(f.payload);
      if (a.operation !== arp.ArpOp.request || a.targetIp !== me.ip) return;
      this.answered.push({ vid: f.vlan?.vid ?? null, kind: 'arp', from: a.senderIp });
      this.send(buildArpReply({ srcMac: me.mac, srcIp: me.ip, dstMac: a.senderMac, dstIp: a.senderIp, vlan }));
    } else if (f.ethertype === EtherType.ipv4) {
      const ip = ipv4.parse(f.payload);
      if (ip.dst !== me.ip || ip.protocol !== 1) return;
      const m = icmp.parse(ip.payload);
      if (m.type !== icmp.IcmpType.echoRequest) return;
      this.answered.push({ vid: f.vlan?.vid ?? null, kind: 'echo', from: ip.src });
      this.send(
        buildIcmpEcho({
          srcMac: me.mac,
          dstMac: f.src,
          srcIp: me.ip,
          dstIp: ip.src,
          reply: true,
          id: m.rest >>> 16,
          seq: m.rest & 0xffff,
          payload: m.payload,
          vlan,
        }),
      );
    }
  }
}
