/**
 * The test side of testing/udp-seq-tool.ts: start a sequenced UDP receiver in one namespace, run a sender
 * in another, and sum up order and loss per flow. The tool is found next to this module (dist/testing or
 * any other build directory), so the same test runs from whichever directory it was compiled into.
 *
 *   const rx = await startSeqReceiver(lab, h2.ns, { port: 7000, flows: 64 });
 *   const tx = await runSeqSender(lab, h1.ns, { dst: h2.ip4, port: 7000, flows: 64, count: 2000, pps: 30000 });
 *   const r = seqReport(tx, await rx.result);   // r.reordered, r.lost, r.text
 */
import { fileURLToPath } from 'node:url';
import type { NetnsLab } from './netns.js';
import type { RecvResult, SendResult } from './udp-seq-tool.js';

export type { RecvResult, SendResult } from './udp-seq-tool.js';

export const udpSeqToolPath = fileURLToPath(new URL('./udp-seq-tool.js', import.meta.url));

export interface SeqReceiver {
  /** The receiver's tally once it ends (stop marker and quiet, idle, timeout or stop()). */
  result: Promise<RecvResult>;
  /** The socket receive buffer the kernel granted, bytes. */
  rcvbuf: number;
  /** End it now (SIGTERM, by PID): it prints what it has. */
  stop(): void;
}

export interface SeqReceiverOptions {
  port: number;
  flows: number;
  idleMs?: number;
  timeoutMs?: number;
  rcvbuf?: number;
}

/** Start the receiver in `ns` and resolve once its socket is bound. */
export async function startSeqReceiver(lab: NetnsLab, ns: string, o: SeqReceiverOptions): Promise<SeqReceiver> {
  const args = [
    'recv',
    '--port',
    String(o.port),
    '--flows',
    String(o.flows),
    '--idle-ms',
    String(o.idleMs ?? 3000),
    '--timeout-ms',
    String(o.timeoutMs ?? 30_000),
    '--rcvbuf',
    String(o.rcvbuf ?? 4 << 20),
  ];
  const child = lab.spawn(ns, [process.execPath, udpSeqToolPath, ...args]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const result = exited.then((code) => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`udp-seq receiver in ${ns} ended (exit ${code}) without a tally: ${err || out}`);
    return JSON.parse(line) as RecvResult;
  });
  result.catch(() => {}); // awaited by the caller; a test failing elsewhere first must not leave it unhandled
  const t0 = Date.now();
  while (!/^ready \d+$/m.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`udp-seq receiver in ${ns} exited: ${err}`);
    if (Date.now() - t0 > 5000) {
      child.kill('SIGTERM');
      throw new Error(`udp-seq receiver in ${ns} not bound after 5 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const rcvbuf = Number(/^ready (\d+)$/m.exec(out)![1]);
  return {
    result,
    rcvbuf,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

export interface SeqSenderOptions {
  dst: string;
  port: number;
  flows: number;
  /** Datagrams per flow. */
  count: number;
  /** Total datagrams per second over all flows. */
  pps: number;
  sportBase?: number;
  /** UDP payload bytes (at least 12). */
  size?: number;
}

/** Run the sender in `ns` to the end; rejects when it fails. */
export async function runSeqSender(lab: NetnsLab, ns: string, o: SeqSenderOptions): Promise<SendResult> {
  const args = [
    'send',
    '--dst',
    o.dst,
    '--port',
    String(o.port),
    '--flows',
    String(o.flows),
    '--count',
    String(o.count),
    '--pps',
    String(o.pps),
    '--sport-base',
    String(o.sportBase ?? 20_000),
    '--size',
    String(o.size ?? 64),
  ];
  const expectMs = ((o.flows * o.count) / o.pps) * 1000;
  const r = await lab.exec(ns, [process.execPath, udpSeqToolPath, ...args], { timeoutMs: expectMs * 3 + 10_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || !line) throw new Error(`udp-seq sender in ${ns} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(line) as SendResult;
}

export interface SeqReport {
  sent: number;
  received: number;
  reordered: number;
  /** Attempted minus distinct sequence numbers received (send errors included; late ones are not lost). */
  lost: number;
  duplicates: number;
  /** Flows with at least one reordered datagram. */
  reorderedFlows: number[];
  /** Flows that received nothing. */
  silentFlows: number[];
  text: string;
}

/** Order and loss of one run, with a one-line summary for the test log. */
export function seqReport(tx: SendResult, rx: RecvResult): SeqReport {
  const attempted = tx.perFlow.reduce((a, b) => a + b, 0);
  let unique = 0;
  for (const f of rx.flows) unique += f.unique;
  const reorderedFlows = rx.flows.filter((f) => f.reordered > 0).map((f) => f.flow);
  const silentFlows = rx.flows.filter((f) => f.unique === 0).map((f) => f.flow);
  const lost = attempted - unique;
  const text =
    `${tx.perFlow.length} flows: sent ${tx.sent}/${attempted} at ${tx.pps} pps (${tx.errors} send errors${tx.errors ? ` ${JSON.stringify(tx.errorCodes)}` : ''}), ` +
    `received ${rx.received} (${rx.why}), reordered ${rx.reordered}${reorderedFlows.length ? ` in flows ${reorderedFlows.join(',')} e.g. ${JSON.stringify(rx.examples)}` : ''}, ` +
    `lost ${lost} (${((lost / Math.max(1, attempted)) * 100).toFixed(2)} %), duplicates ${rx.duplicates}, rcvbuf ${rx.rcvbuf}`;
  return {
    sent: tx.sent,
    received: rx.received,
    reordered: rx.reordered,
    lost,
    duplicates: rx.duplicates,
    reorderedFlows,
    silentFlows,
    text,
  };
}
