/**
 * udp-seq-tool: a sequenced UDP sender and receiver for order and loss tests through the switch, run as a
 * separate process inside a host namespace (`ip netns exec NS node udp-seq-tool.js send|recv ...`); the
 * test side is testing/udp-seq.ts.
 *
 * Design notes: README.md in this folder, section "udp-seq-tool.ts".
 */
import { createSocket, type Socket } from 'node:dgram';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const kMagic = 0x56535551; // 'VSUQ'
export const kStopFlow = 0xffff;
const kHeader = 12; // magic u32, flow u16, reserved u16, seq u32
/** Examples of reordering kept for the report. */
const kExamples = 10;
/** The receiver ends this long after the stop marker once nothing arrives (stragglers of other flows). */
const kAfterStopMs = 300;

export interface RecvFlow {
  flow: number;
  /** Datagrams in order (each above the last seen). */
  inOrder: number;
  /** Datagrams whose number was not above the last seen (late or duplicate). */
  reordered: number;
  /** Distinct sequence numbers received (late ones included, duplicates not). */
  unique: number;
  /** Highest sequence number seen, -1 for none. */
  last: number;
}

export interface RecvResult {
  rcvbuf: number;
  received: number;
  reordered: number;
  /** Datagrams whose sequence number had been received before. */
  duplicates: number;
  stopSeen: boolean;
  /** ms from the first datagram to the last. */
  spanMs: number;
  flows: RecvFlow[];
  /** A few reorderings: [flow, seq, last seen before it]. */
  examples: Array<[number, number, number]>;
  /** Datagrams that were not ours (wrong magic or length). */
  foreign: number;
  why: 'stop' | 'idle' | 'timeout' | 'signal';
}

export interface SendResult {
  /** Datagrams handed to the kernel successfully. */
  sent: number;
  /** Per flow, the datagrams attempted (sequence numbers 0..n-1). */
  perFlow: number[];
  errors: number;
  errorCodes: Record<string, number>;
  elapsedMs: number;
  /** Achieved rate, datagrams/s. */
  pps: number;
}

function recv(a: Record<string, string | undefined>): void {
  const port = Number(a.port);
  const flows = Number(a.flows ?? 1);
  const idleMs = Number(a['idle-ms'] ?? 3000);
  const timeoutMs = Number(a['timeout-ms'] ?? 30_000);
  const rcvbuf = Number(a.rcvbuf ?? 4 << 20);
  const last = new Float64Array(flows).fill(-1);
  const inOrder = new Float64Array(flows);
  const reordered = new Float64Array(flows);
  const unique = new Float64Array(flows);
  /** Per flow, one byte per sequence number seen (grown on demand). */
  const seen: Uint8Array[] = Array.from({ length: flows }, () => new Uint8Array(4096));
  let duplicates = 0;
  const examples: Array<[number, number, number]> = [];
  let received = 0;
  let reorderedTotal = 0;
  let foreign = 0;
  let stopSeen = false;
  let first = 0;
  let lastAt = 0;
  const t0 = Date.now();
  const sock = createSocket({ type: 'udp4', recvBufferSize: rcvbuf });
  sock.on('message', (msg) => {
    const now = Date.now();
    if (msg.length < kHeader || msg.readUInt32BE(0) !== kMagic) {
      foreign++;
      return;
    }
    const flow = msg.readUInt16BE(4);
    if (flow === kStopFlow) {
      stopSeen = true;
      return;
    }
    if (flow >= flows) {
      foreign++;
      return;
    }
    if (first === 0) first = now;
    lastAt = now;
    received++;
    const seq = msg.readUInt32BE(8);
    let bits = seen[flow]!;
    if (seq >= bits.length) {
      const grown = new Uint8Array(Math.max(bits.length * 2, seq + 1));
      grown.set(bits);
      seen[flow] = bits = grown;
    }
    if (bits[seq] === 0) {
      bits[seq] = 1;
      unique[flow]++;
    } else duplicates++;
    if (seq > last[flow]!) {
      last[flow] = seq;
      inOrder[flow]++;
    } else {
      reordered[flow]++;
      reorderedTotal++;
      if (examples.length < kExamples) examples.push([flow, seq, last[flow]!]);
    }
  });
  let done = false;
  const finish = (why: RecvResult['why']) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    const out: RecvResult = {
      rcvbuf: sock.getRecvBufferSize(),
      received,
      reordered: reorderedTotal,
      duplicates,
      stopSeen,
      spanMs: first ? lastAt - first : 0,
      flows: Array.from({ length: flows }, (_, f) => ({
        flow: f,
        inOrder: inOrder[f]!,
        reordered: reordered[f]!,
        unique: unique[f]!,
        last: last[f]!,
      })),
      examples,
      foreign,
      why,
    };
    process.stdout.write(JSON.stringify(out) + '\n', () => {
      sock.close();
      process.exit(0);
    });
  };
  const timer = setInterval(() => {
    const now = Date.now();
    const quiet = now - (lastAt || t0);
    if (stopSeen && quiet > kAfterStopMs) finish('stop');
    else if (first !== 0 && quiet > idleMs) finish('idle');
    else if (now - t0 > timeoutMs) finish('timeout');
  }, 20);
  process.on('SIGTERM', () => finish('signal'));
  sock.bind(port, () => process.stdout.write(`ready ${sock.getRecvBufferSize()}\n`));
}

async function send(a: Record<string, string | undefined>): Promise<void> {
  const dst = a.dst!;
  const port = Number(a.port);
  const flows = Number(a.flows ?? 1);
  const count = Number(a.count ?? 1000);
  const pps = Number(a.pps ?? 10_000);
  const sportBase = Number(a['sport-base'] ?? 20_000);
  const size = Math.max(kHeader, Number(a.size ?? 64));
  const socks: Socket[] = [];
  for (let f = 0; f < flows; f++) {
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(sportBase + f, () => s.connect(port, dst, () => res()));
    });
    socks.push(s);
  }
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let pending = 0;
  let drained: (() => void) | null = null;
  const onSent = (err: Error | null) => {
    pending--;
    if (err) {
      errors++;
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    } else sent++;
    if (pending === 0 && drained) drained();
  };
  const datagram = (flow: number, seq: number): Buffer => {
    const b = Buffer.alloc(size);
    b.writeUInt32BE(kMagic, 0);
    b.writeUInt16BE(flow, 4);
    b.writeUInt32BE(seq, 8);
    return b;
  };
  const total = flows * count;
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * pps) + 1);
    for (; i < due; i++) {
      const f = i % flows;
      pending++;
      socks[f]!.send(datagram(f, Math.floor(i / flows)), onSent);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  if (pending > 0) await new Promise<void>((r) => (drained = r));
  const elapsedMs = performance.now() - t0;
  for (let k = 0; k < 3; k++) {
    await new Promise<void>((r) => socks[0]!.send(datagram(kStopFlow, k), () => r()));
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const s of socks) s.close();
  const out: SendResult = {
    sent,
    perFlow: new Array<number>(flows).fill(count),
    errors,
    errorCodes,
    elapsedMs: Math.round(elapsedMs),
    pps: Math.round((total / elapsedMs) * 1000),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: Object.fromEntries(
      ['port', 'flows', 'idle-ms', 'timeout-ms', 'rcvbuf', 'dst', 'count', 'pps', 'sport-base', 'size'].map((k) => [
        k,
        { type: 'string' as const },
      ]),
    ),
  });
  const mode = positionals[0];
  if (mode === 'recv') recv(values);
  else if (mode === 'send')
    send(values).catch((err: unknown) => {
      process.stderr.write(`udp-seq-tool send: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  else {
    process.stderr.write(
      'usage: udp-seq-tool.js recv --port P --flows F ... | send --dst IP --port P --flows F --count N --pps R ...\n',
    );
    process.exit(2);
  }
}
