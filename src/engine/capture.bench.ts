/**
 * Micro-benchmark: what packet capture costs the datapath per frame, off and on. Not run by the tests.
 *
 *   npx tsc -p tsconfig.json && node dist/engine/capture.bench.js
 *
 * Design notes: README.md in this folder, section "capture.bench.ts".
 */
import { FrameRing } from '../dataplane/ring.js';
import { buildIcmpEcho } from '../packet/frame.js';
import { MemoryNic } from '../ports/memory.js';
import { createCaptureShared, kCaptureIn, kCaptureOut, kCaptureRingSize, kMeta } from './capture.js';
import { Engine } from './engine.js';

const kBatch = 256; // one full breath (dataplane/graph.ts kMaxBatch)
const kBatches = 1000; // 256 k frames per round: tens of ms, well above timer noise
const kRounds = 15;

function frames(size: number): Uint8Array[] {
  const payload = new Uint8Array(size - 14 - 20 - 8);
  const out: Uint8Array[] = [];
  for (let i = 0; i < kBatch; i++)
    out.push(
      buildIcmpEcho({
        srcMac: '02:00:00:00:00:0a',
        dstMac: '02:00:00:00:00:0b',
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        seq: i,
        payload,
      }),
    );
  return out;
}

type Variant = 'off' | 'in' | 'in+out' | 'ring-full';
const kVariants: Variant[] = ['off', 'in', 'in+out', 'ring-full'];

/** One engine set up for a variant; `round()` returns ns per frame over kBatches breaths. */
function rig(variant: Variant, size: number): () => number {
  const e = new Engine();
  const a = e.addPort();
  const b = e.addPort();
  const na = new MemoryNic({ capture: false });
  const nb = new MemoryNic({ capture: false });
  e.attach(a, na);
  e.attach(b, nb);
  const batch = frames(size);
  // teach the switch where B is, so the bench measures known unicast, not flooding
  nb.inject(
    buildIcmpEcho({ srcMac: '02:00:00:00:00:0b', dstMac: '02:00:00:00:00:0a', srcIp: '10.0.0.2', dstIp: '10.0.0.1' }),
  );
  const shared = createCaptureShared(e.pool.maxFrame);
  const reader = new FrameRing(kCaptureRingSize, shared.capacity, shared.ring, kMeta.count);
  const scratch = new Uint8Array(shared.capacity);
  if (variant !== 'off') e.capture.start(a, kCaptureIn, 1, shared);
  if (variant === 'in+out') e.capture.start(b, kCaptureOut, 2, shared);
  if (variant === 'ring-full') for (let i = 0; i < kCaptureRingSize / kBatch + 1; i++) na.injectBatch(batch); // fill it once
  const drain = () => {
    // the reader's work, off the clock (the control thread does it on its own core)
    const n = reader.available();
    for (let i = 0; i < n; i++) reader.pop(scratch, 0);
    reader.release();
  };
  return () => {
    let ns = 0;
    for (let k = 0; k < kBatches; k++) {
      const t0 = process.hrtime.bigint();
      na.injectBatch(batch);
      ns += Number(process.hrtime.bigint() - t0);
      if (variant !== 'ring-full') drain();
    }
    return ns / (kBatches * kBatch);
  };
}

for (const size of [98, 1514]) {
  const rigs = kVariants.map((v) => rig(v, size));
  const best = kVariants.map(() => Infinity);
  // interleave the variants round by round, so a burst of other load hits them all alike
  for (let r = 0; r < kRounds; r++) rigs.forEach((round, i) => (best[i] = Math.min(best[i], round())));
  const off = best[0];
  console.log(
    `${size} B frames: ` +
      kVariants
        .map((v, i) =>
          i === 0 ? `off ${off.toFixed(0)} ns/frame` : `${v} ${best[i].toFixed(0)} (+${(best[i] - off).toFixed(0)})`,
        )
        .join(', '),
  );
}
